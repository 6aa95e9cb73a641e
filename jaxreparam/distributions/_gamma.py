"""The gamma family, with fast implicit reparameterization gradients.

Density: ``q(z) = r^a z^(a - 1) exp(-r z) / Gamma(a)`` for ``z > 0``, with
concentration ``a`` and rate ``r`` (scipy's ``gamma(a, scale=1/r)``).
Sampling: ``z = x / r`` for ``x ~ Gamma(a, 1)`` drawn exactly (Marsaglia and Tsang,
in log space; see :mod:`jaxreparam.distributions._standard_gamma`).
Gradients: ``dz/dr = -z / r``, and ``dz/da = -(dP(a, x)/da) / p(x; a) / r`` by
implicit reparameterization through :func:`jaxreparam.implicit_sampler`, with the
derivative of the regularized incomplete gamma function ``P`` computed in a fixed
number of vectorized steps per region (series, continued fraction, Temme's
expansion): several times faster than TFP's and jax's, relative error below 1e-13
in float64, finite in float32 for any concentration.
Samples below the smallest normal float are returned as that float, where they
would otherwise flush to zero and make ``log_prob`` infinite; for concentrations
below about 0.1 in float32, sample in log space with :mod:`.log_gamma` instead.
Params store ``log_concentration`` and ``log_rate``.

Examples:
    >>> params = jr.gamma.init(concentration=2.0, rate=0.5)
    >>> z = jr.gamma.sample(jax.random.key(0), params, (3,))
    >>> z.shape, jr.gamma.log_prob(params, z).shape
    ((3,), (3,))
    >>> round(float(jr.gamma.mean(params)), 3)  # concentration / rate
    4.0
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax.scipy.special import digamma, gammainc, gammaln, xlogy

from jaxreparam.base import Array, ArrayLike
from jaxreparam.base import scalar_batch_shape as batch_shape
from jaxreparam.distributions import _bundle, _common, _standard_gamma


class GammaParams(NamedTuple):
    """Params of a gamma: ``log_concentration`` and ``log_rate`` (unconstrained).

    Examples:
        >>> params = jr.gamma.init(concentration=2.0, rate=0.5)
        >>> params._fields
        ('log_concentration', 'log_rate')
        >>> natural = jr.gamma.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'concentration': 2.0, 'rate': 0.5}
    """

    log_concentration: Array
    log_rate: Array


def sample(key: ArrayLike, params: GammaParams, sample_shape=()) -> Array:
    """Draws ``z = x / r``, ``x ~ Gamma(a, 1)``, at least the smallest normal float.

    Examples:
        >>> params = jr.gamma.init(concentration=2.0, rate=3.0)
        >>> jr.gamma.sample(jax.random.key(0), params, (3,)).shape
        (3,)
        >>> draw = lambda p: jr.gamma.sample(jax.random.key(1), p)
        >>> bool(jax.numpy.isclose(jax.grad(draw)(params).log_rate, -draw(params)))
        True
    """
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    a = jnp.exp(params.log_concentration)
    log_z = _standard_gamma.log_sample(key, a, shape) - params.log_rate
    return jnp.maximum(jnp.exp(log_z), jnp.finfo(dtype).tiny)


def log_prob(params: GammaParams, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` for ``z < 0``."""
    a = jnp.exp(params.log_concentration)

    def log_density(z):
        rate = jnp.exp(params.log_rate)
        return a * params.log_rate + xlogy(a - 1, z) - rate * z - gammaln(a)

    return _common.log_prob_on_support(log_density, z, z >= 0, 1.0)


def entropy(params: GammaParams) -> Array:
    """``a - log r + log Gamma(a) + (1 - a) digamma(a)``, of the batch shape."""
    a = jnp.exp(params.log_concentration)
    return a - params.log_rate + gammaln(a) + (1 - a) * digamma(a)


def mean(params: GammaParams) -> Array:
    """``a / r``, of the batch shape."""
    return jnp.exp(params.log_concentration - params.log_rate)


def variance(params: GammaParams) -> Array:
    """``a / r^2``, of the batch shape."""
    return jnp.exp(params.log_concentration - 2 * params.log_rate)


def cdf(params: GammaParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = P(a, r z)``, the regularized lower incomplete gamma function."""
    a = jnp.exp(params.log_concentration)
    return gammainc(a, jnp.maximum(z, 0) * jnp.exp(params.log_rate))


_NATURAL = (
    _bundle.positive("concentration", range=(1e-10, 1e30)),
    _bundle.positive("rate", 1.0, range=(1e-30, 1e30)),
)
_FUNCTIONS = sample, log_prob, entropy, mean, variance, cdf
gamma = _bundle.family("gamma", GammaParams, *_FUNCTIONS, natural_args=_NATURAL)
