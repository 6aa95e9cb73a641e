"""The Exponential family, reparameterized by its inverse CDF.

Density: ``q(z) = rate exp(-rate z)`` for ``z >= 0``.
Reparameterization: ``u ~ U[0, 1)``, ``z = -log1p(-u) / rate``; ``1 - u`` lies in
``(0, 1]``, so the noise ``-log1p(-u)`` is always finite (at most
``23 log 2 ~ 15.9`` for float32 draws, whose spacing is ``2^-23``) and ``z`` is a
pathwise-differentiable function of ``rate``.
Params store ``log_rate``, so no optimizer step can make the rate negative.

Examples:
    >>> params = jr.exponential.init(rate=2.0)
    >>> z = jr.exponential.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.exponential.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.exponential.mean(params)), 3)  # 1 / rate
    0.5
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common


class ExponentialParams(NamedTuple):
    """Params of an Exponential: ``log_rate`` (unconstrained).

    Examples:
        >>> params = jr.exponential.init(rate=2.0)
        >>> params._fields
        ('log_rate',)
        >>> natural = jr.exponential.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'rate': 2.0}
    """

    log_rate: Array


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """Standard exponential noise ``-log1p(-u)``, ``u ~ U[0, 1)``: finite."""
    return -jnp.log1p(-_common.draw(jax.random.uniform, key, shape, dtype))


def sample(key: ArrayLike, params: ExponentialParams, sample_shape=()) -> Array:
    """Draws ``z = -log1p(-u) / rate`` with ``u ~ U[0, 1)``, non-negative, finite."""
    e = _common.noise(_noise, key, params, sample_shape)
    return e * jnp.exp(-params.log_rate)


def log_prob(params: ExponentialParams, z: ArrayLike) -> Array:
    """``log q(z) = log(rate) - rate z``; ``-inf`` for ``z < 0``."""
    return _common.log_prob_on_support(
        lambda z: params.log_rate - jnp.exp(params.log_rate) * z, z, z >= 0, 0.0
    )


def sample_and_log_prob(
    key: ArrayLike, params: ExponentialParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``: ``log(rate) - e`` for ``z = e / rate``."""
    e = _common.noise(_noise, key, params, sample_shape)
    return e * jnp.exp(-params.log_rate), params.log_rate - e


def entropy(params: ExponentialParams) -> Array:
    """``1 - log(rate)``."""
    return 1.0 - params.log_rate


def mean(params: ExponentialParams) -> Array:
    """``1 / rate``."""
    return jnp.exp(-params.log_rate)


def variance(params: ExponentialParams) -> Array:
    """``1 / rate^2``."""
    return jnp.exp(-2 * params.log_rate)


def cdf(params: ExponentialParams, z: ArrayLike) -> Array:
    """``-expm1(-rate z)``; zero for ``z < 0``."""
    return -jnp.expm1(-jnp.exp(params.log_rate) * jnp.maximum(z, 0))


def icdf(params: ExponentialParams, u: ArrayLike) -> Array:
    """``-log1p(-u) / rate``."""
    return -jnp.log1p(-u) * jnp.exp(-params.log_rate)


_NATURAL = (_bundle.positive("rate", 1.0, range=(1e-30, 1e30)),)
_FUNCTIONS = sample, log_prob, sample_and_log_prob, entropy, mean, variance, cdf, icdf
exponential = _bundle.family(
    "exponential", ExponentialParams, *_FUNCTIONS, natural_args=_NATURAL
)
