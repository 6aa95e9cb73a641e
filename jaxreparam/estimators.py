"""Gradient estimators of ``E_q[f(z)]``, written as surrogate objectives.

An estimator turns ``(key, params, f, family)`` into a scalar *surrogate*: its
value is the Monte Carlo estimate ``mean_s f(z_s)`` over ``num_samples`` draws
``z_s ~ q(. | params)``, and its ``jax.grad`` with respect to ``params`` is that
estimator's gradient of ``E_q[f(z)]``. Changing estimator is changing one
function; everything else (``jax.grad``, ``jax.jit``, ``jax.vmap``, optax) stays.

Arguments follow the library's order, key -> params -> data -> options:
``estimator(key, params, f, family, *, num_samples=1)``, so the gradient with
respect to the params is ``jax.grad(estimator, argnums=1)``, as for
``family.sample(key, params)``. ``f`` and ``family`` are configuration: close
over them (``functools.partial``) or mark them static before ``jax.jit``.

``f`` maps **one** draw, an array of shape ``batch_shape + event_shape``, to a
scalar; the estimators ``jax.vmap`` it over the draws. A draw's log-density is
the sum of ``family.log_prob`` over the batch dimensions, the density of the
whole draw, so a family with a batch of ``D`` independent Normals is a
diagonal Gaussian in ``D`` dimensions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Family

__all__ = ["pathwise", "score_function"]


def _check_num_samples(where: str, num_samples: Any) -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, int):
        raise TypeError(
            f"{where}: num_samples must be a Python int, got "
            f"{type(num_samples).__name__} {num_samples!r}"
        )
    if num_samples < 1:
        raise ValueError(f"{where}: num_samples must be >= 1, got {num_samples}")
    return num_samples


def _evaluate(where: str, f: Callable[[Array], ArrayLike], z: Array) -> Array:
    """``f`` applied to each of the draws ``z``, checked to give one scalar each."""
    values = jax.vmap(f)(z)
    if jnp.ndim(values) != 1:
        raise ValueError(
            f"{where}: f must map one draw of shape {z.shape[1:]} to a scalar, "
            f"got values of shape {jnp.shape(values)[1:]} per draw"
        )
    return jnp.asarray(values)


def pathwise(
    key: ArrayLike,
    params: Any,
    f: Callable[[Array], ArrayLike],
    family: Family,
    *,
    num_samples: int = 1,
) -> Array:
    """The pathwise (reparameterization) estimator of ``E_q[f(z)]``.

    Draws ``z_s = g(eps_s, params)`` with ``family.sample`` and returns
    ``mean_s f(z_s)``. Its gradient, ``mean_s grad_params f(g(eps_s, params))``,
    flows through the sample itself, so ``f`` must be differentiable.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: the family's params; the gradient is taken with respect to them.
        f: maps one draw, of shape ``batch_shape + event_shape``, to a scalar;
            differentiable in its argument.
        family: the ``Family`` bundle of ``params``; must be reparameterized.
        num_samples: the number of draws averaged, a positive Python int.

    Returns:
        A scalar whose value is the Monte Carlo estimate and whose gradient
        with respect to ``params`` is the pathwise gradient estimate.

    Raises:
        ValueError: ``family`` is not reparameterized, ``num_samples < 1``, or
            ``f`` does not return a scalar.
        TypeError: ``num_samples`` is not an int.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> grad = jax.grad(jr.estimators.pathwise, argnums=1)
        >>> params = jr.normal.init(loc=1.0, scale=1.0)
        >>> g = grad(jax.random.key(0), params, lambda z: z**2, jr.normal.family,
        ...          num_samples=4000)
        >>> bool(abs(g.loc - 2.0) < 0.2)  # d/d loc E[z^2] = 2 loc
        True

    References:
        Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """
    where = "estimators.pathwise"
    num_samples = _check_num_samples(where, num_samples)
    if not family.reparameterized:
        raise ValueError(
            f"{where}: family {family.name!r} is not reparameterized; use "
            "estimators.score_function"
        )
    z = family.sample(key, params, (num_samples,))
    return jnp.mean(_evaluate(where, f, z))


def score_function(
    key: ArrayLike,
    params: Any,
    f: Callable[[Array], ArrayLike],
    family: Family,
    *,
    num_samples: int = 1,
) -> Array:
    """The score-function (REINFORCE, likelihood-ratio) estimator of ``E_q[f(z)]``.

    Draws ``z_s ~ q`` with no gradient through the draw and returns the surrogate
    ``mean_s [f(z_s) + sg(f(z_s)) (log q(z_s) - sg(log q(z_s)))]``, where ``sg``
    is ``jax.lax.stop_gradient``. The second term is exactly zero, so the value is
    ``mean_s f(z_s)``; its gradient is ``mean_s f(z_s) grad_params log q(z_s)``.
    ``f`` need not be differentiable, and the family need not be
    reparameterized. Gradients of ``f`` with respect to anything else it closes
    over (model parameters, say) still flow through the first term.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: the family's params; the gradient is taken with respect to them.
        f: maps one draw, of shape ``batch_shape + event_shape``, to a scalar.
        family: the ``Family`` bundle of ``params``.
        num_samples: the number of draws averaged, a positive Python int.

    Returns:
        A scalar whose value is the Monte Carlo estimate and whose gradient
        with respect to ``params`` is the score-function gradient estimate.

    Raises:
        ValueError: ``num_samples < 1`` or ``f`` does not return a scalar.
        TypeError: ``num_samples`` is not an int.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> grad = jax.grad(jr.estimators.score_function, argnums=1)
        >>> params = jr.normal.init(loc=1.0, scale=1.0)
        >>> g = grad(jax.random.key(0), params, lambda z: z**2, jr.normal.family,
        ...          num_samples=4000)
        >>> bool(abs(g.loc - 2.0) < 0.5)  # d/d loc E[z^2] = 2 loc
        True

    References:
        Williams, "Simple statistical gradient-following algorithms for
        connectionist reinforcement learning", Machine Learning 8, 1992.
    """
    where = "estimators.score_function"
    num_samples = _check_num_samples(where, num_samples)
    z = jax.lax.stop_gradient(family.sample(key, params, (num_samples,)))
    values = _evaluate(where, f, z)
    log_q = family.log_prob(params, z)
    log_q = jnp.sum(log_q, axis=tuple(range(1, log_q.ndim)))  # density of a draw
    score = log_q - jax.lax.stop_gradient(log_q)  # zero; gradient grad log q
    return jnp.mean(values + jax.lax.stop_gradient(values) * score)
