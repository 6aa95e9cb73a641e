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

Examples:
    >>> params = jr.laplace.init(loc=0.0, scale=1.0)
    >>> z = jr.laplace.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.laplace.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.laplace.variance(params)), 3)  # 2 scale^2
    2.0
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _common, _location_scale
from jaxreparam.distributions._common import LOG_TWO


class LaplaceParams(NamedTuple):
    """Params of a Laplace: ``loc`` and ``log_scale`` (unconstrained).

    Examples:
        >>> params = jr.laplace.init(loc=0.0, scale=1.0)
        >>> params._fields
        ('loc', 'log_scale')
        >>> natural = jr.laplace.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'loc': 0.0, 'scale': 1.0}
    """

    loc: Array
    log_scale: Array


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """Standard Laplace noise from one uniform draw on ``[-1 + epsneg, 1)``."""
    low = -1.0 + float(jnp.finfo(dtype).epsneg)
    u = _common.draw(jax.random.uniform, key, shape, dtype, minval=low, maxval=1.0)
    return jnp.sign(u) * jnp.log1p(-jnp.abs(u))


def _log_density(x: Array, log_scale: Array) -> Array:
    """``log q(z) = -|x| - log(2 scale)`` at ``x = (z - loc) / scale``."""
    return -jnp.abs(x) - log_scale - LOG_TWO


def entropy(params: LaplaceParams) -> Array:
    """``1 + log(2 scale)``."""
    return _common.broadcast(1.0 + LOG_TWO + params.log_scale, params)


def mean(params: LaplaceParams) -> Array:
    """``loc``."""
    return _common.broadcast(params.loc, params)


def variance(params: LaplaceParams) -> Array:
    """``2 scale^2``."""
    return _common.broadcast(2 * jnp.exp(2 * params.log_scale), params)


def cdf(params: LaplaceParams, z: ArrayLike) -> Array:
    """``1/2 - sign(x) expm1(-|x|) / 2``, ``x = (z - loc) / scale``.

    Each tail is computed as ``exp(-|x|) / 2`` without cancellation.
    """
    x = _location_scale.standardize(params, z)
    return 0.5 - 0.5 * jnp.sign(x) * jnp.expm1(-jnp.abs(x))


def icdf(params: LaplaceParams, u: ArrayLike) -> Array:
    """``loc - scale sign(u - 1/2) log1p(-2 |u - 1/2|)``."""
    centred = jnp.asarray(u) - 0.5
    eps = -jnp.sign(centred) * jnp.log1p(-2 * jnp.abs(centred))
    return _location_scale.affine(params, eps)


_CLOSED_FORMS = entropy, mean, variance, cdf, icdf
laplace = _location_scale.family(
    "laplace", LaplaceParams, _noise, _log_density, *_CLOSED_FORMS
)
