"""The Rayleigh family, reparameterized by its inverse CDF.

Density: ``q(z) = z / s^2 exp(-z^2 / (2 s^2))`` for ``z >= 0``, with scale ``s``:
the length of a 2-D vector of independent ``N(0, s^2)`` coordinates (scipy's
``rayleigh(scale=s)``; the Weibull with concentration 2 and scale ``s sqrt 2``).
Reparameterization: ``u ~ U(0, 1)``, ``e = -log1p(-u)`` (standard exponential),
``z = s sqrt(2 e)``, which solves ``F(z) = 1 - exp(-z^2 / (2 s^2)) = u``. The
uniform is drawn in ``[tiny, 1)``, so ``z > 0`` and ``log z`` is finite.
Params store ``log_scale``, so no optimizer step can make the scale negative.

Examples:
    >>> params = jr.rayleigh.init(scale=1.0)
    >>> z = jr.rayleigh.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.rayleigh.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.rayleigh.mean(params)), 3)  # scale sqrt(pi / 2)
    1.253
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common

_EULER_GAMMA = 0.5772156649015329
_HALF_LOG_TWO = 0.5 * math.log(2.0)


class RayleighParams(NamedTuple):
    """Params of a Rayleigh: ``log_scale`` (unconstrained).

    Examples:
        >>> params = jr.rayleigh.init(scale=1.0)
        >>> params._fields
        ('log_scale',)
        >>> natural = jr.rayleigh.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'scale': 1.0}
    """

    log_scale: Array


def _noise(key: ArrayLike, params: RayleighParams, sample_shape) -> Array:
    """``e = -log1p(-u)``, standard exponential, ``u ~ U[tiny, 1)``: ``e > 0``."""
    batch = _common.scalar_batch_shape(params)
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch)
    u = _common.draw(
        jax.random.uniform, key, shape, dtype, minval=jnp.finfo(dtype).tiny
    )
    return -jnp.log1p(-u)


def _from_noise(params: RayleighParams, e: Array) -> Array:
    return jnp.exp(params.log_scale) * jnp.sqrt(2 * e)


def sample(key: ArrayLike, params: RayleighParams, sample_shape=()) -> Array:
    """Draws ``z = scale sqrt(-2 log1p(-u))``, ``u ~ U(0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``RayleighParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, positive, pathwise
        differentiable in ``params`` (``dz / d log_scale = z``).

    Examples:
        >>> z = jr.rayleigh.sample(jax.random.key(0), jr.rayleigh.init(), (3,))
        >>> z.shape
        (3,)
    """
    return _from_noise(params, _noise(key, params, sample_shape))


def log_prob(params: RayleighParams, z: ArrayLike) -> Array:
    """``log q(z) = log(x) - log(s) - x^2 / 2``, ``x = z / s``; ``-inf`` for ``z < 0``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """

    def log_density(z):
        x = z * jnp.exp(-params.log_scale)
        return jnp.log(x) - params.log_scale - 0.5 * x**2

    return _common.log_prob_on_support(log_density, z, z >= 0, 1.0)


def sample_and_log_prob(
    key: ArrayLike, params: RayleighParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise.

    With ``x = z / s = sqrt(2 e)``: ``log q(z) = log(2 e) / 2 - log(s) - e``.
    """
    e = _noise(key, params, sample_shape)
    log_q = _HALF_LOG_TWO + 0.5 * jnp.log(e) - params.log_scale - e
    return _from_noise(params, e), log_q


def entropy(params: RayleighParams) -> Array:
    """``1 + log(s / sqrt 2) + gamma / 2`` (``gamma``: Euler's constant)."""
    return params.log_scale + (1 - _HALF_LOG_TWO + 0.5 * _EULER_GAMMA)


def mean(params: RayleighParams) -> Array:
    """``s sqrt(pi / 2)``, of the batch shape."""
    return jnp.exp(params.log_scale) * math.sqrt(math.pi / 2)


def variance(params: RayleighParams) -> Array:
    """``s^2 (4 - pi) / 2``, of the batch shape."""
    return jnp.exp(2 * params.log_scale) * ((4 - math.pi) / 2)


def cdf(params: RayleighParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = -expm1(-z^2 / (2 s^2))``; zero for ``z < 0``."""
    x = jnp.maximum(z, 0) * jnp.exp(-params.log_scale)
    return -jnp.expm1(-0.5 * x**2)


def icdf(params: RayleighParams, u: ArrayLike) -> Array:
    """The quantile function, ``s sqrt(-2 log1p(-u))`` (accurate for small ``u``)."""
    return _from_noise(params, -jnp.log1p(-jnp.asarray(u)))


_NATURAL = (_bundle.positive("scale", 1.0, range=(1e-30, 1e30)),)
_FUNCTIONS = sample, log_prob, sample_and_log_prob, entropy, mean, variance, cdf, icdf
rayleigh = _bundle.family(
    "rayleigh", RayleighParams, *_FUNCTIONS, natural_args=_NATURAL
)
