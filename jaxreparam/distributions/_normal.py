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
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common, _location_scale


class NormalParams(NamedTuple):
    """Params of a Normal: ``loc`` and ``log_scale`` (unconstrained)."""

    loc: Array
    log_scale: Array


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """``eps ~ N(0, 1)``."""
    return _common.draw(jax.random.normal, key, shape, dtype)


def _log_density(x: Array, log_scale: Array) -> Array:
    """``log q(z)`` at ``x = (z - loc) / scale``."""
    return -0.5 * x**2 - log_scale - _checks.HALF_LOG_TWO_PI


def init(*, loc: ArrayLike = 0.0, scale: ArrayLike = 1.0) -> NormalParams:
    """Params of ``N(loc, scale^2)``: ``loc`` finite, ``scale`` finite and positive.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.normal.init(loc=1.0, scale=2.0)
        NormalParams(loc=Array(1., dtype=float32...), log_scale=Array(0.6931472, ...))
    """
    return _bundle.from_natural(NormalParams, "normal.init", loc=loc, scale=scale)


def sample(key: ArrayLike, params: NormalParams, sample_shape=()) -> Array:
    """Draws ``z = loc + scale * eps`` with ``eps ~ N(0, 1)``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> jr.normal.sample(jax.random.key(0), jr.normal.init(), (3,)).shape
        (3,)
    """
    return _location_scale.sample(_noise, key, params, sample_shape)


def entropy(params: NormalParams) -> Array:
    """``0.5 log(2 pi e scale^2)``."""
    c = 0.5 * math.log(2 * math.pi * math.e)
    return _common.broadcast(params.log_scale + c, params)


def mean(params: NormalParams) -> Array:
    """``loc``."""
    return _common.broadcast(params.loc, params)


def variance(params: NormalParams) -> Array:
    """``scale^2``."""
    return _common.broadcast(jnp.exp(2 * params.log_scale), params)


def cdf(params: NormalParams, z: ArrayLike) -> Array:
    """``Phi((z - loc) / scale)``."""
    return ndtr(_location_scale.standardize(params, z))


def icdf(params: NormalParams, u: ArrayLike) -> Array:
    """``loc + scale * Phi^{-1}(u)``."""
    return _location_scale.affine(params, ndtri(u))


_CLOSED_FORMS = entropy, mean, variance, cdf, icdf
normal = _location_scale.family(
    "normal", NormalParams, init, sample, _noise, _log_density, *_CLOSED_FORMS
)
