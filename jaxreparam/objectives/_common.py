"""Helpers of the variational objectives (private).

The objectives in :mod:`jaxreparam.objectives` share a few pieces: checks of
their static options, the log importance weights ``log w_k = log_target(z_k) -
log q(z_k)`` of ``K`` draws, the variational Renyi value of those weights (IWAE
at ``alpha = 0``, the ELBO at ``alpha = 1``), the family of ``K`` independent
draws taken as one draw (so that any estimator of ``E_q[f(z)]`` applies to a
bound over ``K`` samples), and the doubly-reparameterized surrogate.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from jaxreparam import _checks, estimators
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


def check_count(where: str, name: str, value: Any) -> int:
    """``value`` as a Python int of at least one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{where}: {name} must be a Python int, got {type(value).__name__} "
            f"{value!r}"
        )
    if value < 1:
        raise ValueError(f"{where}: {name} must be >= 1, got {value}")
    return value


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


def draw_log_prob(family: Family, params: Any, z: Array, num_axes: int = 1) -> Array:
    """The log-density of each whole draw in ``z``.

    ``z`` has ``num_axes`` leading axes of draws; ``family.log_prob`` reduces the
    event dimensions and the batch dimensions are summed here, so a batch of
    independent variables is one joint draw.
    """
    log_q = family.log_prob(params, z)
    return jnp.sum(log_q, axis=tuple(range(num_axes, log_q.ndim)))


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
    return log_p - draw_log_prob(family, q_params, z)


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
    """
    _estimation.check_reparameterized("estimators.pathwise", family, "score_function")
    z, log_q = family.sample_and_log_prob(key, params, sample_shape)
    num_axes = len(sample_shape)
    log_q = jnp.sum(log_q, axis=tuple(range(num_axes, log_q.ndim)))
    return _per_draw(where, log_target, z, sample_shape) - log_q


def _per_draw(
    where: str, f: LogTarget, z: Array, sample_shape: tuple[int, ...]
) -> Array:
    """``f`` over the leading ``sample_shape`` axes of ``z``: one scalar per draw.

    An axis of one draw is indexed, not vmapped: under an outer ``jax.vmap``
    (one bound per data point) a vmapped singleton axis leaves the model's
    weight gradients contracting over two axes, one of size 1, which XLA's CPU
    backend served with a transposed copy of the cotangent (the ELBO step of a
    784-32-20 VAE ran 1.11x the hand-written step).
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
    if sample_shape[0] == 1:
        return _mapped(f, z[0], rest)[None]
    return jax.vmap(lambda draw: _mapped(f, draw, rest))(z)


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
    """

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
        name=f"iid_{num}_{family.name}",
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


def doubly_reparameterized(
    where: str,
    key: ArrayLike,
    params: Any,
    family: Family,
    log_target: LogTarget,
    *,
    num_samples: int,
    num_estimates: int,
    alpha: float,
) -> Array:
    """The doubly-reparameterized surrogate of the Renyi bound (IWAE at 0).

    Per estimate, with ``log w_k`` computed with the params stopped inside
    ``log q`` and ``v_k = softmax((1 - alpha) log w)_k``, the surrogate is::

        renyi(log w(sg z)) + sum_k sg(alpha v_k + (1 - alpha) v_k^2)
                                  * (log w_k(z_k) - log w_k(sg z_k)).

    The first term is the bound's value, and gives whatever ``log_target``
    closes over (a decoder) its usual gradient ``sum_k v_k grad log w_k``; the
    second is zero in value, cancels exactly in that gradient, and gives the
    params the pathwise term ``sum_k c_k d log w_k / dz_k dz_k / dparams``.
    """
    z = family.sample(key, params, (num_estimates, num_samples))

    def one(z: Array) -> Array:
        z_stop = jax.lax.stop_gradient(z)
        log_w_stop = log_weights(
            where, family, params, log_target, z_stop, stop_params=True
        )
        log_w = log_weights(where, family, params, log_target, z, stop_params=True)
        v = jax.nn.softmax((1.0 - alpha) * jax.lax.stop_gradient(log_w_stop))
        coefficients = alpha * v + (1.0 - alpha) * v**2
        pathwise = jnp.sum(coefficients * (log_w - log_w_stop))
        return renyi_value(log_w_stop, alpha) + pathwise

    return jnp.mean(jax.vmap(one)(z))


def check_common(where: str, family: Any, log_target: Any, estimator: Any) -> None:
    """Checks the arguments every objective shares."""
    check_family(where, family)
    check_callable(where, "log_target", log_target)
    check_callable(where, "estimator", estimator)


def bound(
    where: str,
    key: ArrayLike,
    params: Any,
    family: Family,
    log_target: LogTarget,
    *,
    alpha: float,
    num_samples: int,
    num_estimates: int,
    estimator: Estimator,
    gradient: str,
) -> Array:
    """The Renyi bound of order ``alpha`` (IWAE at 0), checked, as a surrogate."""
    check_common(where, family, log_target, estimator)
    num_samples = check_count(where, "num_samples", num_samples)
    num_estimates = check_count(where, "num_estimates", num_estimates)
    gradient = check_choice(where, "gradient", gradient, GRADIENTS)
    if gradient == "dreg":
        if estimator is not estimators.pathwise:
            raise ValueError(
                f"{where}: gradient='dreg' is its own pathwise estimator; leave "
                "estimator at its default, estimators.pathwise"
            )
        if not family.reparameterized:
            raise ValueError(
                f"{where}: gradient='dreg' needs a reparameterized family, and "
                f"{family.name!r} is not; use gradient='standard' with "
                "estimators.score_function"
            )
        return doubly_reparameterized(
            where,
            key,
            params,
            family,
            log_target,
            num_samples=num_samples,
            num_estimates=num_estimates,
            alpha=alpha,
        )
    stop = gradient == "stl"
    if estimator is estimators.pathwise and not stop:
        shape = (num_estimates, num_samples)
        log_w = fused_log_weights(where, key, params, family, log_target, shape)
        return jnp.mean(jax.vmap(lambda w: renyi_value(w, alpha))(log_w))

    def bound(z: Array) -> Array:
        log_w = log_weights(where, family, params, log_target, z, stop_params=stop)
        return renyi_value(log_w, alpha)

    product = iid(family, num_samples)
    return estimator(key, params, bound, product, num_samples=num_estimates)


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
