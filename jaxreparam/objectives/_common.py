"""Helpers of the variational objectives (private).

The objectives in :mod:`jaxreparam.objectives` share a few pieces: checks of
their static options, the family whose draws are split across the devices of
the current mesh, the log importance weights ``log w_k = log_target(z_k) -
log q(z_k)`` of ``K`` draws (fused with the draws when the estimator is the
pathwise one), the variational Renyi value of those weights (IWAE at
``alpha = 0``, the ELBO at ``alpha = 1``), the family of ``K`` independent
draws taken as one draw (so that any estimator of ``E_q[f(z)]`` applies to a
bound over ``K`` samples), and the closed-form KL or entropy of the ELBO.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from jaxreparam import _checks, _sharding
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.estimators import _common as _estimation
from jaxreparam.kl import kl_divergence

LogTarget = Callable[[Array], ArrayLike]
Estimator = Callable[..., Array]
GRADIENTS = ("standard", "stl", "dreg")
ENTROPIES = ("monte_carlo", "analytic")


def check_family(where: str, family: Any) -> Family:
    """``family`` if it is a ``Family`` bundle, else a ``TypeError``."""
    if not isinstance(family, Family):
        raise TypeError(
            f"{where}: family must be a jaxreparam Family bundle (such as "
            f"jaxreparam.normal), got {type(family).__name__}"
        )
    return family


def check_callable(where: str, name: str, value: Any) -> None:
    """A ``TypeError`` naming ``name`` unless ``value`` is callable."""
    if not callable(value):
        raise TypeError(f"{where}: {name} must be callable, got {type(value).__name__}")


check_count = _estimation.check_count


def check_choice(where: str, name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{where}: {name} must be one of {choices}, got {value!r}")
    return value


def check_alpha(where: str, alpha: Any) -> float:
    """``alpha`` as a finite Python float (it selects code paths, so is static)."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float):
        raise TypeError(
            f"{where}: alpha must be a Python float, got {type(alpha).__name__} "
            f"{alpha!r}"
        )
    if not math.isfinite(alpha):
        raise ValueError(f"{where}: alpha must be finite, got {alpha}")
    return float(alpha)


#: Set while an objective is traced once per data point under ``jax.vmap``.
_PER_DATA_POINT = contextvars.ContextVar("per_data_point", default=False)


@contextlib.contextmanager
def per_data_point() -> Any:
    """Leaves the draws unsharded while an objective is vmapped over the data.

    The data axis is the one a mesh splits then (``jr.fit`` shards the batch);
    a constraint on the draws inside the vmap would replicate that axis.
    """
    token = _PER_DATA_POINT.set(True)
    try:
        yield
    finally:
        _PER_DATA_POINT.reset(token)


def sharded(family: Family) -> Family:
    """``family`` with its draws split across the devices of the current mesh.

    Its ``sample`` and ``sample_and_log_prob`` pass their results through
    :func:`jaxreparam._sharding.shard_draws` over the ``sample_shape`` axes, so
    under ``jax.set_mesh`` (``jr.fit(..., mesh=...)``) each device evaluates
    ``log_target`` on its share of the draws. Without a mesh, or inside
    :func:`per_data_point`, ``family`` itself is returned, and the traced
    program is unchanged.
    """
    if jax.sharding.get_abstract_mesh().empty or _PER_DATA_POINT.get():
        return family

    def sample(key: ArrayLike, params: Any, sample_shape: Any = ()) -> Array:
        shape = _checks.check_sample_shape(sample_shape)
        return _sharding.shard_draws(family.sample(key, params, shape), len(shape))

    def sample_and_log_prob(
        key: ArrayLike, params: Any, sample_shape: Any = ()
    ) -> tuple[Array, Array]:
        shape = _checks.check_sample_shape(sample_shape)
        draws = family.sample_and_log_prob(key, params, shape)
        return _sharding.shard_draws(draws, len(shape))

    return family._replace(sample=sample, sample_and_log_prob=sample_and_log_prob)


def log_weights(
    where: str,
    family: Family,
    params: Any,
    log_target: LogTarget,
    z: Array,
    *,
    stop_params: bool,
) -> Array:
    """``log_target(z_k) - log q(z_k)`` for the draws ``z`` (leading axis ``k``).

    With ``stop_params`` the params inside ``log q`` are constants
    (``jax.lax.stop_gradient``): the draws ``z`` still carry their pathwise
    dependence on the params, the score ``grad log q(z)`` is dropped.
    """
    log_p = _per_draw(where, log_target, z, z.shape[:1])
    q_params = jax.lax.stop_gradient(params) if stop_params else params
    return log_p - _estimation.draw_log_prob(family, q_params, z)


def fused_log_weights(
    where: str,
    key: ArrayLike,
    params: Any,
    family: Family,
    log_target: LogTarget,
    sample_shape: tuple[int, ...],
) -> Array:
    """What :func:`estimators.pathwise` over :func:`log_weights` computes, fused.

    ``log w`` of draws of shape ``sample_shape`` (the last axis the ``k`` of one
    bound), ``log q`` taken from ``family.sample_and_log_prob``: the same draws
    as ``family.sample`` under the same key, and ``log q(g(eps, params);
    params)`` is the same function of the params whichever way it is
    evaluated, so value and gradient are the estimator's. What changes is the
    work: ``log q`` where the draw is made (for a Normal ``-eps^2 / 2 -
    log scale``), not a second pass over ``z`` and its gradient. Only for the
    standard gradient: ``gradient="stl"`` stops the params inside ``log q``.
    Under a mesh the draws are split across its devices (:func:`sharded`).
    """
    _estimation.check_reparameterized("estimators.pathwise", family, "score_function")
    z, log_q = sharded(family).sample_and_log_prob(key, params, sample_shape)
    num_axes = len(sample_shape)
    log_q = jnp.sum(log_q, axis=tuple(range(num_axes, log_q.ndim)))
    return _per_draw(where, log_target, z, sample_shape) - log_q


def _per_draw(
    where: str, f: LogTarget, z: Array, sample_shape: tuple[int, ...]
) -> Array:
    """``f`` over the leading ``sample_shape`` axes of ``z``: one scalar per draw.

    An axis of one draw is indexed, not vmapped (``_estimation.map_draws``).
    """
    log_p = _mapped(f, z, sample_shape)
    if jnp.shape(log_p) != sample_shape:
        raise ValueError(
            f"{where}: log_target must map one draw of shape "
            f"{z.shape[len(sample_shape) :]} to a scalar, got values of shape "
            f"{jnp.shape(log_p)[len(sample_shape) :]} per draw"
        )
    return log_p


def _mapped(f: LogTarget, z: Array, sample_shape: tuple[int, ...]) -> Array:
    if not sample_shape:
        return jnp.asarray(f(z))
    rest = sample_shape[1:]
    return _estimation.map_draws(lambda draw: _mapped(f, draw, rest), z)


def renyi_value(log_w: Array, alpha: float) -> Array:
    """``1/(1 - alpha) log mean_k w_k^(1 - alpha)``; ``mean_k log w_k`` at 1."""
    if alpha == 1.0:
        return jnp.mean(log_w)
    scaled = (1.0 - alpha) * log_w
    return (logsumexp(scaled) - math.log(log_w.shape[0])) / (1.0 - alpha)


def iid(family: Family, num: int) -> Family:
    """The family of ``num`` independent draws of ``family``, taken as one draw.

    A draw has shape ``(num,) + batch_shape + event_shape`` (all of it the event;
    the batch shape is ``()``) and its log-density is the sum over the ``num``
    draws and the batch, so an estimator of ``E_q[f(z)]`` whose ``f`` maps the
    ``num`` draws to one number (an importance-weighted bound) applies as is.
    Under a mesh its draws are split across the devices (:func:`sharded`).
    """
    base = family
    family = sharded(family)

    def reduce(params: Any, log_q: Array) -> Array:
        ndims = 1 + len(family.batch_shape(params))
        return jnp.sum(log_q, axis=tuple(range(log_q.ndim - ndims, log_q.ndim)))

    def sample(key: ArrayLike, params: Any, sample_shape: Any = ()) -> Array:
        shape = _checks.check_sample_shape(sample_shape) + (num,)
        return family.sample(key, params, shape)

    def log_prob(params: Any, z: ArrayLike) -> Array:
        return reduce(params, family.log_prob(params, z))

    def sample_and_log_prob(
        key: ArrayLike, params: Any, sample_shape: Any = ()
    ) -> tuple[Array, Array]:
        shape = _checks.check_sample_shape(sample_shape) + (num,)
        z, log_q = family.sample_and_log_prob(key, params, shape)
        return z, reduce(params, log_q)

    def event_shape(params: Any) -> tuple[int, ...]:
        return (num, *family.batch_shape(params), *family.event_shape(params))

    return Family(
        name=f"iid_{num}_{base.name}",
        params_type=family.params_type,
        init=family.init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=family.to_natural,
        batch_shape=lambda params: (),
        event_shape=event_shape,
        reparameterized=family.reparameterized,
    )


def check_common(where: str, family: Any, log_target: Any, estimator: Any) -> None:
    """Checks the arguments every objective shares."""
    check_family(where, family)
    check_callable(where, "log_target", log_target)
    check_callable(where, "estimator", estimator)


def closed_form_term(where: str, params: Any, family: Family, prior: Any) -> Array:
    """``-KL(q || prior)`` with a prior, else the entropy ``H(q)``, summed."""
    if prior is None:
        if not family.has("entropy"):
            raise ValueError(
                f"{where}: family {family.name!r} has no closed-form entropy; use "
                "entropy='monte_carlo'"
            )
        term, name = family.entropy(params), "H(q)"
    else:
        term, name = -kl_divergence(params, prior), "KL(q || prior)"
    if jnp.shape(term) != tuple(family.batch_shape(params)):
        raise ValueError(
            f"{where}: {name} has shape {jnp.shape(term)}, not q's batch shape "
            f"{tuple(family.batch_shape(params))}; the prior's batch shape must "
            "broadcast to q's"
        )
    return jnp.sum(term)


def check_options(
    where: str,
    objective: Callable[..., Array],
    options: dict[str, Any],
    gradients: tuple[str, ...],
) -> None:
    """Checks a factory's options now, so that a bad one fails before a step."""
    try:
        inspect.signature(objective).bind(None, None, None, None, **options)
    except TypeError as error:
        raise TypeError(f"{where}: {error}") from None
    for name in ("num_samples", "num_estimates"):
        if name in options:
            check_count(where, name, options[name])
    if "alpha" in options:
        check_alpha(where, options["alpha"])
    if "entropy" in options:
        check_choice(where, "entropy", options["entropy"], ENTROPIES)
    if "gradient" in options:
        check_choice(where, "gradient", options["gradient"], gradients)


def leading_size(where: str, data: Any) -> int:
    """The size of the leading (batch) axis that every leaf of ``data`` shares."""
    sizes = [jnp.shape(leaf)[:1] for leaf in jax.tree.leaves(data)]
    if not sizes or () in sizes or len(set(sizes)) != 1:
        raise ValueError(
            f"{where}: every leaf of data needs the same leading (batch) axis, "
            f"got leading sizes {sizes}"
        )
    return sizes[0][0]
