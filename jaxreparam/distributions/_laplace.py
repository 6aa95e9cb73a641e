"""The Laplace family, reparameterized by its inverse CDF.

Density: ``q(z) = exp(-|z - loc| / scale) / (2 scale)``.
Reparameterization: ``u ~ U[-1 + epsneg, 1)``, ``eps = sign(u) log1p(-|u|)``,
``z = loc + scale * eps``; ``eps`` is standard Laplace because ``|u|`` is uniform
and ``sign(u)`` a fair coin, independent of it. The draw of ``u`` lies on a grid
that stops short of both ends, so ``|u| <= 1 - epsneg``: ``log(0)`` cannot happen
and ``|eps| <= -log(epsneg)``, about 16.6 in float32 (``epsneg = 2^-24``) and
36.7 in float64. The same ``u`` and ``eps`` as ``jax.random.laplace`` (and so
numpyro) draw from the same key.
Params store ``loc`` and ``log_scale``, so no optimizer step can make the scale
negative.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common

_LOG_TWO = math.log(2.0)


class LaplaceParams(NamedTuple):
    """Params of a Laplace: ``loc`` and ``log_scale`` (unconstrained)."""

    loc: Array
    log_scale: Array


def init(*, loc: ArrayLike = 0.0, scale: ArrayLike = 1.0) -> LaplaceParams:
    """Params of ``Laplace(loc, scale)`` from natural values.

    Differentiable in ``loc`` and ``scale``.

    Args:
        loc: the location (mean and median), any shape, finite.
        scale: the scale (variance ``2 scale^2``), finite and positive,
            broadcastable with ``loc``.

    Returns:
        ``LaplaceParams`` with batch shape the broadcast of the two shapes.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is non-finite, ``scale <= 0``, or the
            shapes do not broadcast.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.laplace.init(loc=1.0, scale=2.0)
        LaplaceParams(loc=Array(1., dtype=float32...), log_scale=Array(0.6931472, ...))
    """
    loc = _checks.real("laplace.init", "loc", loc)
    scale = _checks.positive("laplace.init", "scale", scale)
    _checks.broadcast_shapes("laplace.init", loc=loc.shape, scale=scale.shape)
    loc, scale = _checks.same_dtype(loc, scale)
    return LaplaceParams(loc, jnp.log(scale))


def to_natural(params: LaplaceParams) -> dict[str, Array]:
    """``{"loc": ..., "scale": ...}``, the inverse of :func:`init`."""
    return {"loc": params.loc, "scale": jnp.exp(params.log_scale)}


def _noise(key: ArrayLike, params: LaplaceParams, sample_shape) -> Array:
    """Standard Laplace noise from one uniform draw on ``[-1 + epsneg, 1)``."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    low = -1.0 + float(jnp.finfo(dtype).epsneg)
    u = _common.draw(jax.random.uniform, key, shape, dtype, minval=low, maxval=1.0)
    return jnp.sign(u) * jnp.log1p(-jnp.abs(u))


def sample(key: ArrayLike, params: LaplaceParams, sample_shape=()) -> Array:
    """Draws ``z = loc + scale * eps`` with standard Laplace ``eps``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``LaplaceParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, finite, pathwise
        differentiable in ``params``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> z = jr.laplace.sample(jax.random.key(0), jr.laplace.init(), (3,))
        >>> z.shape
        (3,)
    """
    eps = _noise(key, params, sample_shape)
    return params.loc + jnp.exp(params.log_scale) * eps


def log_prob(params: LaplaceParams, z: ArrayLike) -> Array:
    """``log q(z) = -|z - loc| / scale - log(2 scale)``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """
    standardized = (z - params.loc) * jnp.exp(-params.log_scale)
    return -jnp.abs(standardized) - params.log_scale - _LOG_TWO


def sample_and_log_prob(
    key: ArrayLike, params: LaplaceParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    eps = _noise(key, params, sample_shape)
    z = params.loc + jnp.exp(params.log_scale) * eps
    return z, -jnp.abs(eps) - params.log_scale - _LOG_TWO


def entropy(params: LaplaceParams) -> Array:
    """``1 + log(2 scale)``, of the batch shape."""
    return jnp.broadcast_to(1.0 + _LOG_TWO + params.log_scale, batch_shape(params))


def mean(params: LaplaceParams) -> Array:
    """``loc``, broadcast to the batch shape."""
    return jnp.broadcast_to(params.loc, batch_shape(params))


def variance(params: LaplaceParams) -> Array:
    """``2 scale^2``, broadcast to the batch shape."""
    return jnp.broadcast_to(2 * jnp.exp(2 * params.log_scale), batch_shape(params))


def cdf(params: LaplaceParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = 1/2 - sign(x) expm1(-|x|) / 2`` with ``x = (z - loc) / scale``.

    Each tail is computed as ``exp(-|x|) / 2`` without cancellation.
    """
    x = (z - params.loc) * jnp.exp(-params.log_scale)
    return 0.5 - 0.5 * jnp.sign(x) * jnp.expm1(-jnp.abs(x))


def icdf(params: LaplaceParams, u: ArrayLike) -> Array:
    """The quantile function, ``loc - scale sign(u - 1/2) log1p(-2 |u - 1/2|)``."""
    centred = jnp.asarray(u) - 0.5
    eps = -jnp.sign(centred) * jnp.log1p(-2 * jnp.abs(centred))
    return params.loc + jnp.exp(params.log_scale) * eps


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

laplace = register_family(
    Family(
        name="laplace",
        params_type=LaplaceParams,
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
