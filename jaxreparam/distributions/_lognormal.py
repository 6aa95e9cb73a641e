"""The LogNormal family, reparameterized as ``z = exp(loc + scale * eps)``.

Density: ``q(z) = exp(-(log z - loc)^2 / (2 scale^2)) / (z scale sqrt(2 pi))``
for ``z > 0``: ``log z`` is ``N(loc, scale^2)``.
Reparameterization: ``eps ~ N(0, 1)``, ``z = exp(loc + scale * eps)``.
Params store ``loc`` and ``log_scale``, so no optimizer step can make the scale
negative.

Examples:
    >>> params = jr.lognormal.init(loc=0.0, scale=1.0)
    >>> z = jr.lognormal.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.lognormal.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.lognormal.mean(params)), 3)  # exp(loc + scale^2 / 2)
    1.649
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr, ndtri

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common, _location_scale


class LogNormalParams(NamedTuple):
    """Params of a LogNormal: ``loc`` and ``log_scale`` of ``log z``.

    Examples:
        >>> params = jr.lognormal.init(loc=0.0, scale=1.0)
        >>> params._fields
        ('loc', 'log_scale')
        >>> natural = jr.lognormal.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'loc': 0.0, 'scale': 1.0}
    """

    loc: Array
    log_scale: Array


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """``eps ~ N(0, 1)``."""
    return _common.draw(jax.random.normal, key, shape, dtype)


def _log_density(x: Array, log_scale: Array, log_z: Array) -> Array:
    """``log q(z)`` at ``x = (log z - loc) / scale``."""
    return -0.5 * x**2 - log_scale - log_z - _checks.HALF_LOG_TWO_PI


def sample(key: ArrayLike, params: LogNormalParams, sample_shape=()) -> Array:
    """Draws ``z = exp(loc + scale * eps)`` with ``eps ~ N(0, 1)``, positive."""
    return jnp.exp(_location_scale.sample(_noise, key, params, sample_shape))


def log_prob(params: LogNormalParams, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` for ``z <= 0``."""

    def on_support(z):
        log_z = jnp.log(z)
        x = _location_scale.standardize(params, log_z)
        return _log_density(x, params.log_scale, log_z)

    return _common.log_prob_on_support(on_support, z, z > 0, 1.0)


def sample_and_log_prob(
    key: ArrayLike, params: LogNormalParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    eps = _common.noise(_noise, key, params, sample_shape)
    log_z = _location_scale.affine(params, eps)
    log_q = _log_density(eps, params.log_scale, log_z)
    return jnp.exp(log_z), log_q


def entropy(params: LogNormalParams) -> Array:
    """``loc + 0.5 log(2 pi e scale^2)``."""
    c = 0.5 * math.log(2 * math.pi * math.e)
    return _common.broadcast(params.loc + params.log_scale + c, params)


def mean(params: LogNormalParams) -> Array:
    """``exp(loc + scale^2 / 2)``."""
    return jnp.exp(params.loc + 0.5 * jnp.exp(2 * params.log_scale))


def variance(params: LogNormalParams) -> Array:
    """``(exp(scale^2) - 1) exp(2 loc + scale^2)``."""
    scale2 = jnp.exp(2 * params.log_scale)
    return jnp.expm1(scale2) * jnp.exp(2 * params.loc + scale2)


def cdf(params: LogNormalParams, z: ArrayLike) -> Array:
    """``Phi((log z - loc) / scale)``; zero for ``z <= 0``."""
    z = jnp.asarray(z)
    positive = z > 0
    log_z = jnp.log(jnp.where(positive | jnp.isnan(z), z, 1.0))
    inside = ndtr(_location_scale.standardize(params, log_z))
    return jnp.where(positive | jnp.isnan(inside), inside, 0.0)


def icdf(params: LogNormalParams, u: ArrayLike) -> Array:
    """``exp(loc + scale * Phi^{-1}(u))``."""
    return jnp.exp(_location_scale.affine(params, ndtri(u)))


_NATURAL = (
    _bundle.real("loc", 0.0, range=(-60.0, 60.0)),
    _bundle.positive("scale", 1.0, range=(1e-30, 10.0)),
)
_FUNCTIONS = sample, log_prob, sample_and_log_prob, entropy, mean, variance, cdf, icdf
lognormal = _bundle.family(
    "lognormal", LogNormalParams, *_FUNCTIONS, natural_args=_NATURAL
)
