"""The Gumbel (maximum) family, reparameterized by its inverse CDF.

Density: ``q(z) = exp(-(x + e^{-x})) / scale`` with ``x = (z - loc) / scale``.
Reparameterization: ``u ~ U(0, 1)``, ``z = loc - scale * log(-log u)``. The
uniform is drawn with ``minval`` the smallest positive normal number, so
``log u`` is finite, and it is at most ``1 - 2^-23`` in float32 (``1 - 2^-52`` in
float64), so ``log u < 0``: the noise is always finite, within about
``[-4.47, 15.9]`` in float32. The same ``u`` and noise as ``jax.random.gumbel``
in its default ``"low"`` mode (and so numpyro) draw from the same key.
``loc`` is the mode.
Params store ``loc`` and ``log_scale``, so no optimizer step can make the scale
negative.

Examples:
    >>> params = jr.gumbel.init(loc=0.0, scale=1.0)
    >>> z = jr.gumbel.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.gumbel.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.gumbel.mean(params)), 3)  # Euler's constant
    0.577
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _common, _location_scale
from jaxreparam.distributions._common import EULER_GAMMA


class GumbelParams(NamedTuple):
    """Params of a Gumbel: ``loc`` and ``log_scale`` (unconstrained).

    Examples:
        >>> params = jr.gumbel.init(loc=0.0, scale=1.0)
        >>> params._fields
        ('loc', 'log_scale')
        >>> natural = jr.gumbel.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'loc': 0.0, 'scale': 1.0}
    """

    loc: Array
    log_scale: Array


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """Standard Gumbel noise ``-log(-log u)`` from one uniform draw on ``(0, 1)``."""
    tiny = float(jnp.finfo(dtype).tiny)
    u = _common.draw(jax.random.uniform, key, shape, dtype, minval=tiny, maxval=1.0)
    return -jnp.log(-jnp.log(u))


def _log_density(x: Array, log_scale: Array) -> Array:
    """``log q(z) = -x - exp(-x) - log(scale)`` at ``x = (z - loc) / scale``."""
    return -x - jnp.exp(-x) - log_scale


def entropy(params: GumbelParams) -> Array:
    """``log(scale) + gamma + 1`` (``gamma``: Euler's constant)."""
    return _common.broadcast(params.log_scale + EULER_GAMMA + 1.0, params)


def mean(params: GumbelParams) -> Array:
    """``loc + gamma scale``."""
    return params.loc + EULER_GAMMA * jnp.exp(params.log_scale)


def variance(params: GumbelParams) -> Array:
    """``pi^2 scale^2 / 6``."""
    return _common.broadcast((math.pi**2 / 6) * jnp.exp(2 * params.log_scale), params)


def cdf(params: GumbelParams, z: ArrayLike) -> Array:
    """``exp(-exp(-x))``, ``x = (z - loc) / scale``."""
    return jnp.exp(-jnp.exp(-(z - params.loc) * jnp.exp(-params.log_scale)))


def icdf(params: GumbelParams, u: ArrayLike) -> Array:
    """``loc - scale * log(-log u)``."""
    return params.loc - jnp.exp(params.log_scale) * jnp.log(-jnp.log(u))


_CLOSED_FORMS = entropy, mean, variance, cdf, icdf
gumbel = _location_scale.family(
    "gumbel", GumbelParams, _noise, _log_density, *_CLOSED_FORMS
)
