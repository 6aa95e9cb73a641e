"""The chi-squared family, ``z = 2 x`` for ``x ~ Gamma(df / 2, 1)``.

Density: ``q(z) = z^(df/2 - 1) exp(-z / 2) / (2^(df/2) Gamma(df/2))`` for
``z > 0``, with ``df > 0`` degrees of freedom (any positive real).
Sampling and gradients: the gamma family's exact sampler and implicit
reparameterization gradient (:mod:`jaxreparam.distributions._standard_gamma`),
``dz/d(df) = dx/da`` at ``a = df / 2``. Samples below the smallest normal float
are returned as that float (see :mod:`.gamma`).
Params store ``log_df``.

Examples:
    >>> params = jr.chi2.init(df=3.0)
    >>> z = jr.chi2.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.chi2.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.chi2.mean(params)), 3)  # df
    3.0
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
from jax.scipy.special import digamma, gammainc, gammaln, xlogy

from jaxreparam.base import Array, ArrayLike
from jaxreparam.base import scalar_batch_shape as batch_shape
from jaxreparam.distributions import _bundle, _common, _standard_gamma

_LOG2 = math.log(2.0)


class Chi2Params(NamedTuple):
    """Params of a chi-squared: ``log_df`` (unconstrained).

    Examples:
        >>> params = jr.chi2.init(df=3.0)
        >>> params._fields
        ('log_df',)
        >>> natural = jr.chi2.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'df': 3.0}
    """

    log_df: Array


def sample(key: ArrayLike, params: Chi2Params, sample_shape=()) -> Array:
    """Draws ``z = 2 x``, ``x ~ Gamma(df / 2, 1)``, differentiable in ``df``."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    log_x = _standard_gamma.log_sample(key, 0.5 * jnp.exp(params.log_df), shape)
    return jnp.maximum(jnp.exp(log_x + _LOG2), jnp.finfo(dtype).tiny)


def log_prob(params: Chi2Params, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` for ``z < 0``; of the broadcast shape."""
    half = 0.5 * jnp.exp(params.log_df)

    def log_density(z):
        return xlogy(half - 1, z) - 0.5 * z - half * _LOG2 - gammaln(half)

    return _common.log_prob_on_support(log_density, z, z >= 0, 1.0)


def entropy(params: Chi2Params) -> Array:
    """``df/2 + log(2 Gamma(df/2)) + (1 - df/2) digamma(df/2)``."""
    half = 0.5 * jnp.exp(params.log_df)
    return half + _LOG2 + gammaln(half) + (1 - half) * digamma(half)


def mean(params: Chi2Params) -> Array:
    """``df``, of the batch shape."""
    return jnp.exp(params.log_df)


def variance(params: Chi2Params) -> Array:
    """``2 df``, of the batch shape."""
    return 2 * jnp.exp(params.log_df)


def cdf(params: Chi2Params, z: ArrayLike) -> Array:
    """``P(Z <= z) = P(df/2, z/2)``."""
    return gammainc(0.5 * jnp.exp(params.log_df), 0.5 * jnp.maximum(z, 0))


_NATURAL = (_bundle.positive("df", range=(1e-10, 1e30)),)
_FUNCTIONS = sample, log_prob, entropy, mean, variance, cdf
chi2 = _bundle.family("chi2", Chi2Params, *_FUNCTIONS, natural_args=_NATURAL)
