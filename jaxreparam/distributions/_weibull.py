"""The Weibull family, reparameterized by its inverse CDF.

Density: ``q(z) = (c / s) (z / s)^(c - 1) exp(-(z / s)^c)`` for ``z >= 0``, with
scale ``s`` and concentration ``c`` (numpyro's names; scipy's ``weibull_min(c,
scale=s)``).
Reparameterization: ``u ~ U(0, 1)``, ``e = -log1p(-u)`` (standard exponential),
``z = s e^(1/c) = s exp(log(e) / c)``. The uniform is drawn in ``[tiny, 1)``, so
``e`` lies in ``[tiny, ~16]`` (float32) and ``log(e)`` is finite: the gradient
in ``c``, ``-z log(e) / c^2``, never becomes ``0 * inf``.
Params store ``log_scale`` and ``log_concentration``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, xlogy

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common

_EULER_GAMMA = 0.5772156649015329


class WeibullParams(NamedTuple):
    """Params of a Weibull: ``log_scale`` and ``log_concentration``."""

    log_scale: Array
    log_concentration: Array


def init(*, scale: ArrayLike = 1.0, concentration: ArrayLike) -> WeibullParams:
    """Params of ``Weibull(scale, concentration)`` from natural values.

    Differentiable in both arguments.

    Args:
        scale: the scale ``s``, finite and positive.
        concentration: the shape ``c``, finite and positive, broadcastable with
            ``scale``. ``c = 1`` is the exponential with mean ``s``.

    Returns:
        ``WeibullParams`` with batch shape the broadcast of the two shapes.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is non-finite or not positive, or the
            shapes do not broadcast.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.weibull.init(scale=1.0, concentration=2.0)
        WeibullParams(log_scale=Array(0., ...), log_concentration=Array(0.6931472, ...))
    """
    scale = _checks.positive("weibull.init", "scale", scale)
    concentration = _checks.positive("weibull.init", "concentration", concentration)
    _checks.broadcast_shapes(
        "weibull.init", scale=scale.shape, concentration=concentration.shape
    )
    scale, concentration = _checks.same_dtype(scale, concentration)
    return WeibullParams(jnp.log(scale), jnp.log(concentration))


def to_natural(params: WeibullParams) -> dict[str, Array]:
    """``{"scale": ..., "concentration": ...}``, the inverse of :func:`init`."""
    return {
        "scale": jnp.exp(params.log_scale),
        "concentration": jnp.exp(params.log_concentration),
    }


def _log_noise(key: ArrayLike, params: WeibullParams, sample_shape) -> Array:
    """``log(e)`` for standard exponential ``e = -log1p(-u)``, ``u ~ U[tiny, 1)``."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    u = _common.draw(
        jax.random.uniform, key, shape, dtype, minval=jnp.finfo(dtype).tiny
    )
    return jnp.log(-jnp.log1p(-u))


def _from_log_noise(params: WeibullParams, log_noise: Array) -> Array:
    return jnp.exp(params.log_scale + log_noise * jnp.exp(-params.log_concentration))


def sample(key: ArrayLike, params: WeibullParams, sample_shape=()) -> Array:
    """Draws ``z = scale (-log1p(-u))^(1 / concentration)``, ``u ~ U(0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``WeibullParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, non-negative and
        finite, pathwise differentiable in ``params`` with finite gradients.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> params = jr.weibull.init(scale=1.0, concentration=2.0)
        >>> jr.weibull.sample(jax.random.key(0), params, (3,)).shape
        (3,)
    """
    return _from_log_noise(params, _log_noise(key, params, sample_shape))


def log_prob(params: WeibullParams, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` for ``z < 0``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """
    c = jnp.exp(params.log_concentration)

    def log_density(z):
        scaled = z * jnp.exp(-params.log_scale)
        return (
            params.log_concentration
            - params.log_scale
            + xlogy(c - 1, scaled)
            - scaled**c
        )

    return _common.log_prob_on_support(log_density, z, z >= 0, 1.0)


def sample_and_log_prob(
    key: ArrayLike, params: WeibullParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise.

    With ``(z / s)^c = e``: ``log q(z) = log(c / s) + (1 - 1/c) log(e) - e``.
    """
    log_noise = _log_noise(key, params, sample_shape)
    inv_c = jnp.exp(-params.log_concentration)
    log_q = (
        params.log_concentration
        - params.log_scale
        + (1 - inv_c) * log_noise
        - jnp.exp(log_noise)
    )
    return _from_log_noise(params, log_noise), log_q


def entropy(params: WeibullParams) -> Array:
    """``gamma (1 - 1/c) + log(s / c) + 1`` (``gamma``: Euler's constant)."""
    inv_c = jnp.exp(-params.log_concentration)
    return _EULER_GAMMA * (1 - inv_c) + params.log_scale - params.log_concentration + 1


def mean(params: WeibullParams) -> Array:
    """``s Gamma(1 + 1/c)``, of the batch shape."""
    inv_c = jnp.exp(-params.log_concentration)
    return jnp.exp(params.log_scale + gammaln(1 + inv_c))


def variance(params: WeibullParams) -> Array:
    """``s^2 (Gamma(1 + 2/c) - Gamma(1 + 1/c)^2)``, of the batch shape.

    Computed as ``mean^2 expm1(lgamma(1 + 2/c) - 2 lgamma(1 + 1/c))``, which keeps
    the relative accuracy of the difference for large ``c``.
    """
    inv_c = jnp.exp(-params.log_concentration)
    log_first = gammaln(1 + inv_c)
    return jnp.exp(2 * (params.log_scale + log_first)) * jnp.expm1(
        gammaln(1 + 2 * inv_c) - 2 * log_first
    )


def cdf(params: WeibullParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = -expm1(-(z / s)^c)``; zero for ``z < 0``."""
    scaled = jnp.maximum(z, 0) * jnp.exp(-params.log_scale)
    return -jnp.expm1(-(scaled ** jnp.exp(params.log_concentration)))


def icdf(params: WeibullParams, u: ArrayLike) -> Array:
    """The quantile function, ``s (-log1p(-u))^(1/c)``."""
    return _from_log_noise(params, jnp.log(-jnp.log1p(-u)))


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

weibull = register_family(
    Family(
        name="weibull",
        params_type=WeibullParams,
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
