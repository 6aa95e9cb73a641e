"""The Normal (Gaussian) family, reparameterized as ``z = loc + scale * eps``.

Density: ``q(z) = exp(-(z - loc)^2 / (2 scale^2)) / (scale sqrt(2 pi))``.
Reparameterization: ``eps ~ N(0, 1)``, ``z = loc + scale * eps``.
Params store ``log_scale``, so no optimizer step can make the scale negative.

Examples:
    >>> params = jr.normal.init(loc=1.0, scale=2.0)
    >>> z = jr.normal.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.normal.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.normal.variance(params)), 3)  # scale^2
    4.0
    >>> def loss(params):  # a Monte Carlo estimate of E[z^2], differentiable in params
    ...     return jnp.mean(jr.normal.sample(jax.random.key(1), params, (1000,)) ** 2)
    ...
    >>> grad = jax.grad(loss)(params)  # pathwise; the exact d/dloc is 2 loc = 2
    >>> type(grad).__name__, abs(float(grad.loc) - 2.0) < 0.5
    ('NormalParams', True)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr, ndtri

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _common, _location_scale


class NormalParams(NamedTuple):
    """Params of a Normal: ``loc`` and ``log_scale`` (unconstrained).

    Examples:
        >>> params = jr.normal.init(loc=1.0, scale=2.0)
        >>> params._fields
        ('loc', 'log_scale')
        >>> round(float(params.log_scale), 3)  # log(2), unconstrained
        0.693
        >>> jr.family_of(params) is jr.normal  # the params type names its family
        True
    """

    loc: Array
    log_scale: Array


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """``eps ~ N(0, 1)``."""
    return _common.draw(jax.random.normal, key, shape, dtype)


def _log_density(x: Array, log_scale: Array) -> Array:
    """``log q(z)`` at ``x = (z - loc) / scale``."""
    return -0.5 * x**2 - log_scale - _checks.HALF_LOG_TWO_PI


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
    "normal", NormalParams, _noise, _log_density, *_CLOSED_FORMS
)
