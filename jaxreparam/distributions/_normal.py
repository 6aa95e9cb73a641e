"""The Normal (Gaussian) family, reparameterized as ``z = loc + scale * eps``.

Density: ``q(z) = exp(-(z - loc)^2 / (2 scale^2)) / (scale sqrt(2 pi))``.
Reparameterization: ``eps ~ N(0, 1)``, ``z = loc + scale * eps``.
Params store ``log_scale``, so no optimizer step can make the scale negative.
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


class NormalParams(NamedTuple):
    """Params of a Normal: ``loc`` and ``log_scale`` (unconstrained)."""

    loc: Array
    log_scale: Array


def init(*, loc: ArrayLike = 0.0, scale: ArrayLike = 1.0) -> NormalParams:
    """Params of ``N(loc, scale^2)`` from natural values.

    Differentiable in ``loc`` and ``scale``, so ``jax.grad`` of a function that
    calls ``init`` gives gradients with respect to the natural values.

    Args:
        loc: the mean, any shape, finite.
        scale: the standard deviation, finite and positive, broadcastable with
            ``loc``.

    Returns:
        ``NormalParams`` with batch shape the broadcast of the two shapes.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is non-finite, ``scale <= 0``, or the
            shapes do not broadcast.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.normal.init(loc=1.0, scale=2.0)
        NormalParams(loc=Array(1., dtype=float32...), log_scale=Array(0.6931472, ...))
    """
    loc = _checks.real("normal.init", "loc", loc)
    scale = _checks.positive("normal.init", "scale", scale)
    _checks.broadcast_shapes("normal.init", loc=loc.shape, scale=scale.shape)
    loc, scale = _checks.same_dtype(loc, scale)
    return NormalParams(loc, jnp.log(scale))


def to_natural(params: NormalParams) -> dict[str, Array]:
    """``{"loc": ..., "scale": ...}``, the inverse of :func:`init`."""
    return {"loc": params.loc, "scale": jnp.exp(params.log_scale)}


def sample(key: ArrayLike, params: NormalParams, sample_shape=()) -> Array:
    """Draws ``z = loc + scale * eps`` with ``eps ~ N(0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``NormalParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, pathwise
        differentiable in ``params``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> z = jr.normal.sample(jax.random.key(0), jr.normal.init(), (3,))
        >>> z.shape
        (3,)
    """
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    eps = _common.draw(jax.random.normal, key, shape, dtype)
    return params.loc + jnp.exp(params.log_scale) * eps


def log_prob(params: NormalParams, z: ArrayLike) -> Array:
    """``log q(z)``, of shape the broadcast of ``z`` and the batch shape."""
    standardized = (z - params.loc) * jnp.exp(-params.log_scale)
    return -0.5 * standardized**2 - params.log_scale - _checks.HALF_LOG_TWO_PI


def sample_and_log_prob(
    key: ArrayLike, params: NormalParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    eps = _common.draw(jax.random.normal, key, shape, dtype)
    z = params.loc + jnp.exp(params.log_scale) * eps
    return z, -0.5 * eps**2 - params.log_scale - _checks.HALF_LOG_TWO_PI


def entropy(params: NormalParams) -> Array:
    """``0.5 log(2 pi e scale^2)``, of the batch shape."""
    return jnp.broadcast_to(
        params.log_scale + 0.5 * math.log(2 * math.pi * math.e),
        batch_shape(params),
    )


def mean(params: NormalParams) -> Array:
    """``loc``, broadcast to the batch shape."""
    return jnp.broadcast_to(params.loc, batch_shape(params))


def variance(params: NormalParams) -> Array:
    """``scale^2``, broadcast to the batch shape."""
    return jnp.broadcast_to(jnp.exp(2 * params.log_scale), batch_shape(params))


def cdf(params: NormalParams, z: ArrayLike) -> Array:
    """``P(Z <= z)``."""
    return ndtr((z - params.loc) * jnp.exp(-params.log_scale))


def icdf(params: NormalParams, u: ArrayLike) -> Array:
    """The quantile function, ``loc + scale * Phi^{-1}(u)``."""
    return params.loc + jnp.exp(params.log_scale) * ndtri(u)


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

normal = register_family(
    Family(
        name="normal",
        params_type=NormalParams,
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
