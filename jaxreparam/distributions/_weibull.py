"""The Weibull family, reparameterized by its inverse CDF.

Density: ``q(z) = (c / s) (z / s)^(c - 1) exp(-(z / s)^c)`` for ``z >= 0``, with
scale ``s`` and concentration ``c`` (numpyro's names; scipy's ``weibull_min(c,
scale=s)``).
Reparameterization: ``u ~ U(0, 1)``, ``e = -log1p(-u)`` (standard exponential),
``z = s e^(1/c) = s exp(log(e) / c)``. The uniform is drawn in ``[tiny, 1)``, so
``e`` lies in ``[tiny, ~16]`` (float32) and ``log(e)`` is finite: the gradient
in ``c``, ``-z log(e) / c^2``, never becomes ``0 * inf``.
``c = 1`` is the exponential with mean ``s``.
Params store ``log_scale`` and ``log_concentration``.

Examples:
    >>> params = jr.weibull.init(scale=1.0, concentration=2.0)
    >>> z = jr.weibull.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.weibull.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.weibull.mean(params)), 3)  # scale Gamma(1 + 1 / a)
    0.886
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, xlogy

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common, _location_scale
from jaxreparam.distributions._common import EULER_GAMMA


class WeibullParams(NamedTuple):
    """Params of a Weibull: ``log_scale`` and ``log_concentration``.

    Examples:
        >>> params = jr.weibull.init(scale=1.0, concentration=2.0)
        >>> params._fields
        ('log_scale', 'log_concentration')
        >>> natural = jr.weibull.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'scale': 1.0, 'concentration': 2.0}
    """

    log_scale: Array
    log_concentration: Array


def _log_noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """``log(e)`` for standard exponential ``e = -log1p(-u)``, ``u ~ U[tiny, 1)``."""
    u = _common.draw(
        jax.random.uniform, key, shape, dtype, minval=jnp.finfo(dtype).tiny
    )
    return jnp.log(-jnp.log1p(-u))


def sample(key: ArrayLike, params: WeibullParams, sample_shape=()) -> Array:
    """Draws ``z = s (-log1p(-u))^(1/c)``, ``u ~ U(0, 1)``, with finite gradients."""
    log_e = _common.noise(_log_noise, key, params, sample_shape)
    return _location_scale.log_scale_power(params, log_e)


def log_prob(params: WeibullParams, z: ArrayLike) -> Array:
    """``log(c / s) + (c - 1) log(z / s) - (z / s)^c``; ``-inf`` for ``z < 0``."""
    c = jnp.exp(params.log_concentration)

    def log_density(z):
        scaled = z * jnp.exp(-params.log_scale)
        log_c_over_s = params.log_concentration - params.log_scale
        return log_c_over_s + xlogy(c - 1, scaled) - scaled**c

    return _common.log_prob_on_support(log_density, z, z >= 0, 1.0)


def sample_and_log_prob(
    key: ArrayLike, params: WeibullParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``: ``log(c / s) + (1 - 1/c) log(e) - e``."""
    log_e = _common.noise(_log_noise, key, params, sample_shape)
    inv_c = jnp.exp(-params.log_concentration)
    log_c_over_s = params.log_concentration - params.log_scale
    log_q = log_c_over_s + (1 - inv_c) * log_e - jnp.exp(log_e)
    return _location_scale.log_scale_power(params, log_e), log_q


def entropy(params: WeibullParams) -> Array:
    """``gamma (1 - 1/c) + log(s / c) + 1`` (``gamma``: Euler's constant)."""
    inv_c = jnp.exp(-params.log_concentration)
    return EULER_GAMMA * (1 - inv_c) + params.log_scale - params.log_concentration + 1


def mean(params: WeibullParams) -> Array:
    """``s Gamma(1 + 1/c)``."""
    inv_c = jnp.exp(-params.log_concentration)
    return jnp.exp(params.log_scale + gammaln(1 + inv_c))


def variance(params: WeibullParams) -> Array:
    """``s^2 (Gamma(1 + 2/c) - Gamma(1 + 1/c)^2)``.

    Computed as ``mean^2 expm1(lgamma(1 + 2/c) - 2 lgamma(1 + 1/c))``, which keeps
    the relative accuracy of the difference for large ``c``.
    """
    inv_c = jnp.exp(-params.log_concentration)
    log_first = gammaln(1 + inv_c)
    return jnp.exp(2 * (params.log_scale + log_first)) * jnp.expm1(
        gammaln(1 + 2 * inv_c) - 2 * log_first
    )


def cdf(params: WeibullParams, z: ArrayLike) -> Array:
    """``-expm1(-(z / s)^c)``; zero for ``z < 0``."""
    scaled = jnp.maximum(z, 0) * jnp.exp(-params.log_scale)
    return -jnp.expm1(-(scaled ** jnp.exp(params.log_concentration)))


def icdf(params: WeibullParams, u: ArrayLike) -> Array:
    """``s (-log1p(-u))^(1/c)``."""
    return _location_scale.log_scale_power(params, jnp.log(-jnp.log1p(-u)))


_NATURAL = (
    _bundle.positive("scale", 1.0, range=(1e-30, 1e30)),
    _bundle.positive("concentration", range=(0.1, 1e30)),
)
_FUNCTIONS = sample, log_prob, sample_and_log_prob, entropy, mean, variance, cdf, icdf
weibull = _bundle.family("weibull", WeibullParams, *_FUNCTIONS, natural_args=_NATURAL)
