"""The LogNormal family, reparameterized as ``z = exp(loc + scale * eps)``.

Density: ``q(z) = exp(-(log z - loc)^2 / (2 scale^2)) / (z scale sqrt(2 pi))``
for ``z > 0``: ``log z`` is ``N(loc, scale^2)``.
Reparameterization: ``eps ~ N(0, 1)``, ``z = exp(loc + scale * eps)``.
Params store ``loc`` and ``log_scale``, so no optimizer step can make the scale
negative.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr, ndtri

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common


class LogNormalParams(NamedTuple):
    """Params of a LogNormal: ``loc`` and ``log_scale`` of ``log z``."""

    loc: Array
    log_scale: Array


def init(*, loc: ArrayLike = 0.0, scale: ArrayLike = 1.0) -> LogNormalParams:
    """Params of ``LogNormal(loc, scale)``, where ``log z ~ N(loc, scale^2)``.

    Differentiable in ``loc`` and ``scale``.

    Args:
        loc: the mean of ``log z``, any shape, finite.
        scale: the standard deviation of ``log z``, finite and positive,
            broadcastable with ``loc``.

    Returns:
        ``LogNormalParams`` with batch shape the broadcast of the two shapes.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is non-finite, ``scale <= 0``, or the
            shapes do not broadcast.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.lognormal.init(loc=1.0, scale=2.0)
        LogNormalParams(loc=Array(1., dtype=float32...), log_scale=Array(0.69..., ...))
    """
    loc = _checks.real("lognormal.init", "loc", loc)
    scale = _checks.positive("lognormal.init", "scale", scale)
    _checks.broadcast_shapes("lognormal.init", loc=loc.shape, scale=scale.shape)
    loc, scale = _checks.same_dtype(loc, scale)
    return LogNormalParams(loc, jnp.log(scale))


def to_natural(params: LogNormalParams) -> dict[str, Array]:
    """``{"loc": ..., "scale": ...}``, the inverse of :func:`init`."""
    return {"loc": params.loc, "scale": jnp.exp(params.log_scale)}


def _noise(key: ArrayLike, params: LogNormalParams, sample_shape) -> Array:
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    return _common.draw(jax.random.normal, key, shape, dtype)


def sample(key: ArrayLike, params: LogNormalParams, sample_shape=()) -> Array:
    """Draws ``z = exp(loc + scale * eps)`` with ``eps ~ N(0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``LogNormalParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, positive, pathwise
        differentiable in ``params``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> z = jr.lognormal.sample(jax.random.key(0), jr.lognormal.init(), (3,))
        >>> z.shape
        (3,)
    """
    eps = _noise(key, params, sample_shape)
    return jnp.exp(params.loc + jnp.exp(params.log_scale) * eps)


def log_prob(params: LogNormalParams, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` for ``z <= 0``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """

    def on_support(z):
        log_z = jnp.log(z)
        standardized = (log_z - params.loc) * jnp.exp(-params.log_scale)
        return (
            -0.5 * standardized**2 - params.log_scale - log_z - _checks.HALF_LOG_TWO_PI
        )

    return _common.log_prob_on_support(on_support, z, z > 0, 1.0)


def sample_and_log_prob(
    key: ArrayLike, params: LogNormalParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    eps = _noise(key, params, sample_shape)
    log_z = params.loc + jnp.exp(params.log_scale) * eps
    lp = -0.5 * eps**2 - params.log_scale - log_z - _checks.HALF_LOG_TWO_PI
    return jnp.exp(log_z), lp


def entropy(params: LogNormalParams) -> Array:
    """``loc + 0.5 log(2 pi e scale^2)``, of the batch shape."""
    return jnp.broadcast_to(
        params.loc + params.log_scale + 0.5 * math.log(2 * math.pi * math.e),
        batch_shape(params),
    )


def mean(params: LogNormalParams) -> Array:
    """``exp(loc + scale^2 / 2)``, of the batch shape."""
    return jnp.exp(params.loc + 0.5 * jnp.exp(2 * params.log_scale))


def variance(params: LogNormalParams) -> Array:
    """``(exp(scale^2) - 1) exp(2 loc + scale^2)``, of the batch shape."""
    scale2 = jnp.exp(2 * params.log_scale)
    return jnp.expm1(scale2) * jnp.exp(2 * params.loc + scale2)


def cdf(params: LogNormalParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = Phi((log z - loc) / scale)``; zero for ``z <= 0``."""
    z = jnp.asarray(z)
    positive = z > 0
    log_z = jnp.log(jnp.where(positive | jnp.isnan(z), z, 1.0))
    inside = ndtr((log_z - params.loc) * jnp.exp(-params.log_scale))
    return jnp.where(positive | jnp.isnan(inside), inside, 0.0)


def icdf(params: LogNormalParams, u: ArrayLike) -> Array:
    """The quantile function, ``exp(loc + scale * Phi^{-1}(u))``."""
    return jnp.exp(params.loc + jnp.exp(params.log_scale) * ndtri(u))


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

lognormal = register_family(
    Family(
        name="lognormal",
        params_type=LogNormalParams,
        init=init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=to_natural,
        entropy=entropy,
        mean=mean,
        variance=variance,
        cdf=cdf,
        icdf=icdf,
    )
)
