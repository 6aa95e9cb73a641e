"""The mean, variance and signal-to-noise ratio of any estimator's gradient.

A *surrogate* is any ``surrogate(key, params) -> scalar`` whose ``jax.grad`` with
respect to ``params`` is a stochastic gradient: an estimator from
:mod:`jaxreparam.estimators` with ``f`` and the family closed over, a loss built
from one, or anything else. :func:`gradient_statistics` draws that gradient
under ``num_keys`` independent keys, in one jitted call that maps the gradient
over the keys with ``jax.vmap``, and summarises it per parameter: the mean, the
variance and the signal-to-noise ratio ``|mean| / std`` (Rainforth et al. 2018).
:func:`compare` does the same for several surrogates with the same keys, and
:func:`summary_table` prints them side by side.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike

__all__ = [
    "GradientStatistics",
    "compare",
    "gradient_draws",
    "gradient_statistics",
    "summary_table",
]


class GradientStatistics(NamedTuple):
    """Per-parameter statistics of a stochastic gradient over independent keys.

    Attributes:
        mean: the mean gradient, a pytree like ``params``.
        variance: the unbiased sample variance (``ddof=1``), like ``params``.
        snr: the signal-to-noise ratio ``|mean| / sqrt(variance)``, like
            ``params``; ``inf`` where the variance is zero and the mean is not,
            ``nan`` where both are.
        num_keys: the number of independent gradients drawn.

    Examples:
        >>> import functools
        >>> f = lambda z: z**2
        >>> pathwise = functools.partial(jr.estimators.pathwise, family=jr.normal, f=f)
        >>> stats = jr.diagnostics.gradient_statistics(
        ...     pathwise, jax.random.key(0), jr.normal.init(loc=1.0), num_keys=1000)
        >>> type(stats).__name__, stats.num_keys, stats.mean.loc.shape
        ('GradientStatistics', 1000, ())
        >>> bool(0.8 < stats.snr.loc < 1.2)  # exactly |2 loc| / (2 scale) = 1
        True
        >>> bool(abs(stats.mean.loc - 2.0) < 5 * stats.standard_error().loc)
        True
    """

    mean: Any
    variance: Any
    snr: Any
    num_keys: int

    def standard_error(self) -> Any:
        """The standard error of :attr:`mean`, ``sqrt(variance / num_keys)``."""
        return jax.tree.map(lambda v: jnp.sqrt(v / self.num_keys), self.variance)


def _check_num_keys(num_keys: Any) -> int:
    if isinstance(num_keys, bool) or not isinstance(num_keys, int):
        raise TypeError(f"num_keys must be a Python int, got {num_keys!r}")
    if num_keys < 2:
        raise ValueError(f"num_keys must be >= 2 for a variance, got {num_keys}")
    return num_keys


@functools.partial(jax.jit, static_argnames=("surrogate", "num_keys", "has_aux"))
def _draws(surrogate, key, params, num_keys, has_aux):
    grad = jax.grad(surrogate, argnums=1, has_aux=has_aux)
    grads = jax.vmap(grad, in_axes=(0, None))(jax.random.split(key, num_keys), params)
    return grads[0] if has_aux else grads


@functools.partial(jax.jit, static_argnames=("surrogate", "num_keys", "has_aux"))
def _statistics(surrogate, key, params, num_keys, has_aux):
    grads = _draws(surrogate, key, params, num_keys, has_aux)
    mean = jax.tree.map(lambda g: jnp.mean(g, axis=0), grads)
    variance = jax.tree.map(lambda g: jnp.var(g, axis=0, ddof=1), grads)
    snr = jax.tree.map(lambda m, v: jnp.abs(m) / jnp.sqrt(v), mean, variance)
    return mean, variance, snr


def gradient_draws(
    surrogate: Callable[..., Any],
    key: ArrayLike,
    params: Any,
    *,
    num_keys: int = 1000,
    has_aux: bool = False,
) -> Any:
    """``num_keys`` independent gradients of ``surrogate``, stacked.

    Args:
        surrogate: ``surrogate(key, params) -> scalar`` (or ``(scalar, aux)``
            with ``has_aux``, the aux discarded). It is a static argument of
            the jitted call: pass the same function object to reuse the
            compilation.
        key: a PRNG key, split into ``num_keys`` keys.
        params: the params to differentiate with respect to.
        num_keys: how many independent gradients to draw, at least 2.
        has_aux: whether ``surrogate`` returns ``(scalar, aux)``.

    Returns:
        A pytree like ``params`` whose leaves have a leading axis of ``num_keys``.

    Raises:
        ValueError: ``num_keys < 2``, or ``key`` is a batch of keys.
        TypeError: ``num_keys`` is not an int, or ``key`` is not a key.

    Examples:
        >>> import functools
        >>> f = lambda z: z**2
        >>> pathwise = functools.partial(jr.estimators.pathwise, family=jr.normal, f=f)
        >>> grads = jr.diagnostics.gradient_draws(
        ...     pathwise, jax.random.key(0), jr.normal.init(loc=1.0), num_keys=100)
        >>> grads.loc.shape, grads.log_scale.shape  # one gradient per key, stacked
        ((100,), (100,))
    """
    key = _checks.check_key(key)
    return _draws(surrogate, key, params, _check_num_keys(num_keys), has_aux)


def gradient_statistics(
    surrogate: Callable[..., Any],
    key: ArrayLike,
    params: Any,
    *,
    num_keys: int = 1000,
    has_aux: bool = False,
) -> GradientStatistics:
    """The per-parameter mean, variance and SNR of ``surrogate``'s gradient.

    Args:
        surrogate: ``surrogate(key, params) -> scalar``; see
            :func:`gradient_draws`.
        key: a PRNG key, split into ``num_keys`` keys.
        params: the params to differentiate with respect to.
        num_keys: how many independent gradients to draw, at least 2.
        has_aux: whether ``surrogate`` returns ``(scalar, aux)``.

    Returns:
        A :class:`GradientStatistics` whose fields are pytrees like ``params``.

    Examples:
        >>> import functools, jax, jaxreparam as jr
        >>> surrogate = functools.partial(
        ...     jr.estimators.pathwise, f=lambda z: z**2, family=jr.normal)
        >>> stats = jr.diagnostics.gradient_statistics(
        ...     surrogate, jax.random.key(0), jr.normal.init(loc=1.0), num_keys=500)
        >>> bool(abs(stats.mean.loc - 2.0) < 5 * stats.standard_error().loc)
        True
    """
    key = _checks.check_key(key)
    num_keys = _check_num_keys(num_keys)
    mean, variance, snr = _statistics(surrogate, key, params, num_keys, has_aux)
    return GradientStatistics(mean, variance, snr, num_keys)


def compare(
    surrogates: Mapping[str, Callable[..., Any]],
    key: ArrayLike,
    params: Any,
    *,
    num_keys: int = 1000,
) -> dict[str, GradientStatistics]:
    """:func:`gradient_statistics` of each surrogate, all with the same keys.

    Args:
        surrogates: name -> ``surrogate(key, params) -> scalar``.
        key: a PRNG key; each surrogate sees the same ``num_keys`` keys split
            from it (common random numbers, where the estimators draw alike).
        params: the params to differentiate with respect to.
        num_keys: how many independent gradients per surrogate, at least 2.

    Returns:
        name -> :class:`GradientStatistics`, in the order of ``surrogates``.

    Examples:
        >>> import functools
        >>> f = lambda z: z**2
        >>> pathwise = functools.partial(jr.estimators.pathwise, family=jr.normal, f=f)
        >>> score = functools.partial(jr.estimators.score_function, family=jr.normal,
        ...     f=f)
        >>> stats = jr.diagnostics.compare({"pathwise": pathwise, "score": score},
        ...     jax.random.key(0), jr.normal.init(loc=1.0), num_keys=200)
        >>> list(stats)
        ['pathwise', 'score']
        >>> bool(stats["pathwise"].variance.loc < stats["score"].variance.loc)
        True
    """
    key = _checks.check_key(key)
    return {
        name: gradient_statistics(
            surrogate, jax.random.clone(key), params, num_keys=num_keys
        )
        for name, surrogate in surrogates.items()
    }


def _leaves(tree: Any) -> list[tuple[str, Array]]:
    paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [
        (jax.tree_util.keystr(path, simple=True, separator=".") or "params", leaf)
        for path, leaf in paths
    ]


def summary_table(statistics: Mapping[str, GradientStatistics]) -> str:
    """A text table: one row per estimator and params leaf.

    Columns: the leaf's size, and averaged over its elements the absolute mean
    gradient, the variance and the SNR (elements with an undefined SNR left
    out, as are infinite ones).

    Args:
        statistics: name -> :class:`GradientStatistics`, as from :func:`compare`.

    Returns:
        The table, one line per row, with a header.

    Examples:
        >>> stats = {"pathwise": jr.diagnostics.GradientStatistics(  # from compare
        ...     mean={"w": jnp.array([2.0, -2.0])},
        ...     variance={"w": jnp.array([4.0, 1.0])},
        ...     snr={"w": jnp.array([1.0, 2.0])}, num_keys=1000)}
        >>> print(jr.diagnostics.summary_table(stats))  # leaf averages
        estimator leaf size |mean| variance snr
        pathwise  w    2    2      2.5      1.5
    """
    rows = [
        f"{'estimator':<32} {'leaf':<14} {'size':>6} {'|mean|':>11} "
        f"{'variance':>11} {'snr':>9}"
    ]
    for name, stats in statistics.items():
        means = _leaves(stats.mean)
        variances = dict(_leaves(stats.variance))
        snrs = dict(_leaves(stats.snr))
        for leaf, mean in means:
            snr = snrs[leaf]
            mean_snr = jnp.nanmean(jnp.where(jnp.isinf(snr), jnp.nan, snr))
            rows.append(
                f"{name:<32} {leaf:<14} {mean.size:>6} "
                f"{float(jnp.mean(jnp.abs(mean))):>11.4g} "
                f"{float(jnp.mean(variances[leaf])):>11.4g} {float(mean_snr):>9.3g}"
            )
    return "\n".join(rows)
