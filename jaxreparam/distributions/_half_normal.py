"""The HalfNormal family, reparameterized as ``z = scale * |eps|``.

Density: ``q(z) = sqrt(2 / pi) / scale * exp(-z^2 / (2 scale^2))`` for ``z >= 0``,
the law of ``|X|`` for ``X ~ N(0, scale^2)``.
Reparameterization: ``eps ~ N(0, 1)``, ``z = scale * |eps|``.
Params store ``log_scale``, so no optimizer step can make the scale negative.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import erf, erfinv

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common

_HALF_LOG_HALF_PI = 0.5 * math.log(math.pi / 2)


class HalfNormalParams(NamedTuple):
    """Params of a HalfNormal: ``log_scale`` (unconstrained)."""

    log_scale: Array


def init(*, scale: ArrayLike = 1.0) -> HalfNormalParams:
    """Params of ``HalfNormal(scale)``, the law of ``|N(0, scale^2)|``.

    Differentiable in ``scale``.

    Args:
        scale: the scale of the folded normal, any shape, finite and positive.

    Returns:
        ``HalfNormalParams`` with batch shape the shape of ``scale``.

    Raises:
        TypeError: ``scale`` has an integer, bool or complex dtype.
        ValueError: a concrete ``scale`` is non-finite or not positive.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.half_normal.init(scale=2.0)
        HalfNormalParams(log_scale=Array(0.6931472, dtype=float32...))
    """
    scale = _checks.positive("half_normal.init", "scale", scale)
    return HalfNormalParams(jnp.log(scale))


def to_natural(params: HalfNormalParams) -> dict[str, Array]:
    """``{"scale": ...}``, the inverse of :func:`init`."""
    return {"scale": jnp.exp(params.log_scale)}


def _noise(key: ArrayLike, params: HalfNormalParams, sample_shape) -> Array:
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    return _common.draw(jax.random.normal, key, shape, dtype)


def sample(key: ArrayLike, params: HalfNormalParams, sample_shape=()) -> Array:
    """Draws ``z = scale * |eps|`` with ``eps ~ N(0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``HalfNormalParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, non-negative,
        pathwise differentiable in ``params``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> z = jr.half_normal.sample(jax.random.key(0), jr.half_normal.init(), (3,))
        >>> z.shape
        (3,)
    """
    return jnp.exp(params.log_scale) * jnp.abs(_noise(key, params, sample_shape))


def _log_density_standardized(params: HalfNormalParams, standardized: Array) -> Array:
    return -0.5 * standardized**2 - params.log_scale - _HALF_LOG_HALF_PI


def log_prob(params: HalfNormalParams, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` for ``z < 0``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """
    return _common.log_prob_on_support(
        lambda z: _log_density_standardized(params, z * jnp.exp(-params.log_scale)),
        z,
        z >= 0,
        0.0,
    )


def sample_and_log_prob(
    key: ArrayLike, params: HalfNormalParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    eps = _noise(key, params, sample_shape)
    z = jnp.exp(params.log_scale) * jnp.abs(eps)
    return z, _log_density_standardized(params, eps)


def entropy(params: HalfNormalParams) -> Array:
    """``0.5 log(pi e scale^2 / 2)``, of the batch shape."""
    return params.log_scale + _HALF_LOG_HALF_PI + 0.5


def mean(params: HalfNormalParams) -> Array:
    """``scale sqrt(2 / pi)``, of the batch shape."""
    return jnp.exp(params.log_scale) * math.sqrt(2 / math.pi)


def variance(params: HalfNormalParams) -> Array:
    """``scale^2 (1 - 2 / pi)``, of the batch shape."""
    return jnp.exp(2 * params.log_scale) * (1 - 2 / math.pi)


def cdf(params: HalfNormalParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = erf(z / (scale sqrt 2))``; zero for ``z < 0``."""
    return erf(jnp.maximum(z, 0) * jnp.exp(-params.log_scale) / math.sqrt(2))


def icdf(params: HalfNormalParams, u: ArrayLike) -> Array:
    """The quantile function, ``scale sqrt(2) erfinv(u)``.

    ``erfinv`` rather than ``Phi^{-1}((1 + u) / 2)``, which rounds away the
    relative accuracy of small ``u``.
    """
    return jnp.exp(params.log_scale) * math.sqrt(2) * erfinv(u)


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

half_normal = register_family(
    Family(
        name="half_normal",
        params_type=HalfNormalParams,
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
