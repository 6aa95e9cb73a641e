"""The HalfNormal family, reparameterized as ``z = scale * |eps|``.

Density: ``q(z) = sqrt(2 / pi) / scale * exp(-z^2 / (2 scale^2))`` for ``z >= 0``,
the law of ``|X|`` for ``X ~ N(0, scale^2)``.
Reparameterization: ``eps ~ N(0, 1)``, ``z = scale * |eps|``.
Params store ``log_scale``, so no optimizer step can make the scale negative.

Examples:
    >>> params = jr.half_normal.init(scale=2.0)
    >>> z = jr.half_normal.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.half_normal.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.half_normal.mean(params)), 3)  # scale sqrt(2 / pi)
    1.596
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import erf, erfinv

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common

_HALF_LOG_HALF_PI = 0.5 * math.log(math.pi / 2)


class HalfNormalParams(NamedTuple):
    """Params of a HalfNormal: ``log_scale`` (unconstrained).

    Examples:
        >>> params = jr.half_normal.init(scale=2.0)
        >>> params._fields
        ('log_scale',)
        >>> natural = jr.half_normal.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'scale': 2.0}
    """

    log_scale: Array


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """``eps ~ N(0, 1)``."""
    return _common.draw(jax.random.normal, key, shape, dtype)


def _log_density(params: HalfNormalParams, x: Array) -> Array:
    """``log q(z)`` at ``x = z / scale``."""
    return -0.5 * x**2 - params.log_scale - _HALF_LOG_HALF_PI


def sample(key: ArrayLike, params: HalfNormalParams, sample_shape=()) -> Array:
    """Draws ``z = scale * |eps|`` with ``eps ~ N(0, 1)``, non-negative."""
    eps = _common.noise(_noise, key, params, sample_shape)
    return jnp.exp(params.log_scale) * jnp.abs(eps)


def log_prob(params: HalfNormalParams, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` for ``z < 0``."""
    return _common.log_prob_on_support(
        lambda z: _log_density(params, z * jnp.exp(-params.log_scale)), z, z >= 0, 0.0
    )


def sample_and_log_prob(
    key: ArrayLike, params: HalfNormalParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    eps = _common.noise(_noise, key, params, sample_shape)
    return jnp.exp(params.log_scale) * jnp.abs(eps), _log_density(params, eps)


def entropy(params: HalfNormalParams) -> Array:
    """``0.5 log(pi e scale^2 / 2)``."""
    return params.log_scale + _HALF_LOG_HALF_PI + 0.5


def mean(params: HalfNormalParams) -> Array:
    """``scale sqrt(2 / pi)``."""
    return jnp.exp(params.log_scale) * math.sqrt(2 / math.pi)


def variance(params: HalfNormalParams) -> Array:
    """``scale^2 (1 - 2 / pi)``."""
    return jnp.exp(2 * params.log_scale) * (1 - 2 / math.pi)


def cdf(params: HalfNormalParams, z: ArrayLike) -> Array:
    """``erf(z / (scale sqrt 2))``; zero for ``z < 0``."""
    return erf(jnp.maximum(z, 0) * jnp.exp(-params.log_scale) / math.sqrt(2))


def icdf(params: HalfNormalParams, u: ArrayLike) -> Array:
    """``scale sqrt(2) erfinv(u)``.

    ``erfinv`` rather than ``Phi^{-1}((1 + u) / 2)``, which rounds away the
    relative accuracy of small ``u``.
    """
    return jnp.exp(params.log_scale) * math.sqrt(2) * erfinv(u)


_NATURAL = (_bundle.positive("scale", 1.0, range=(1e-30, 1e30)),)
_FUNCTIONS = sample, log_prob, sample_and_log_prob, entropy, mean, variance, cdf, icdf
half_normal = _bundle.family(
    "half_normal", HalfNormalParams, *_FUNCTIONS, natural_args=_NATURAL
)
