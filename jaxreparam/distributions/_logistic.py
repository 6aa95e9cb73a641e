"""The Logistic family, reparameterized by its inverse CDF (the logit).

Density: ``q(z) = e^{-x} / (scale (1 + e^{-x})^2)`` with ``x = (z - loc) / scale``.
Reparameterization: ``u ~ U(0, 1)``, ``eps = log(u) - log1p(-u)``,
``z = loc + scale * eps``. The uniform is drawn with ``minval`` the smallest
positive normal number, so ``u`` is never 0, and it is at most ``1 - 2^-23`` in
float32 (``1 - 2^-52`` in float64), so ``1 - u`` is never 0: ``eps`` is always
finite, within about ``[-87.3, 15.9]`` in float32. The same ``u`` and ``eps`` as
``jax.random.logistic`` (and so numpyro) draw from the same key.
Params store ``loc`` and ``log_scale``, so no optimizer step can make the scale
negative.

Examples:
    >>> params = jr.logistic.init(loc=0.0, scale=1.0)
    >>> z = jr.logistic.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.logistic.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.logistic.variance(params)), 3)  # pi^2 / 3
    3.29
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _common, _location_scale


class LogisticParams(NamedTuple):
    """Params of a Logistic: ``loc`` and ``log_scale`` (unconstrained).

    Examples:
        >>> params = jr.logistic.init(loc=0.0, scale=1.0)
        >>> params._fields
        ('loc', 'log_scale')
        >>> natural = jr.logistic.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'loc': 0.0, 'scale': 1.0}
    """

    loc: Array
    log_scale: Array


def _logit(u: Array) -> Array:
    return jnp.log(u) - jnp.log1p(-u)


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """Standard logistic noise, the logit of one uniform draw on ``(0, 1)``."""
    tiny = float(jnp.finfo(dtype).tiny)
    return _logit(
        _common.draw(jax.random.uniform, key, shape, dtype, minval=tiny, maxval=1.0)
    )


def _log_density(x: Array, log_scale: Array) -> Array:
    """``-|x| - 2 log1p(exp(-|x|)) - log(scale)``: symmetric, no tail overflows."""
    a = jnp.abs(x)
    return -a - 2 * jnp.log1p(jnp.exp(-a)) - log_scale


def entropy(params: LogisticParams) -> Array:
    """``log(scale) + 2``."""
    return _common.broadcast(params.log_scale + 2.0, params)


def mean(params: LogisticParams) -> Array:
    """``loc``."""
    return _common.broadcast(params.loc, params)


def variance(params: LogisticParams) -> Array:
    """``pi^2 scale^2 / 3``."""
    return _common.broadcast((math.pi**2 / 3) * jnp.exp(2 * params.log_scale), params)


def cdf(params: LogisticParams, z: ArrayLike) -> Array:
    """``sigmoid((z - loc) / scale)``."""
    return jax.nn.sigmoid(_location_scale.standardize(params, z))


def icdf(params: LogisticParams, u: ArrayLike) -> Array:
    """``loc + scale * (log(u) - log1p(-u))``."""
    return _location_scale.affine(params, _logit(jnp.asarray(u)))


_CLOSED_FORMS = entropy, mean, variance, cdf, icdf
logistic = _location_scale.family(
    "logistic", LogisticParams, _noise, _log_density, *_CLOSED_FORMS
)
