"""The inverse-gamma family, ``z = scale / x`` for ``x ~ Gamma(a, 1)``.

Density: ``q(z) = scale^a z^(-a - 1) exp(-scale / z) / Gamma(a)`` for ``z > 0``
(scipy's ``invgamma(a, scale=scale)``).
Sampling and gradients: ``log z = log(scale) - log x`` with ``log x`` from the
gamma family's exact log-space sampler and its implicit reparameterization
gradient (:mod:`jaxreparam.distributions._standard_gamma`), so ``dz/da = -z
dlog(x)/da`` and ``dz/dscale = z / scale``. For small ``a`` the tail is so heavy
that samples exceed the largest float; they are returned as the largest finite
float, so that samples, ``log_prob`` and gradients stay finite.
Params store ``log_concentration`` and ``log_scale``.

Examples:
    >>> params = jr.inverse_gamma.init(concentration=3.0, scale=2.0)
    >>> z = jr.inverse_gamma.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.inverse_gamma.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.inverse_gamma.mean(params)), 3)  # scale / (a - 1)
    1.0
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma, gammaincc, gammaln

from jaxreparam.base import Array, ArrayLike
from jaxreparam.base import scalar_batch_shape as batch_shape
from jaxreparam.distributions import _bundle, _common, _standard_gamma


class InverseGammaParams(NamedTuple):
    """Params of an inverse gamma: ``log_concentration`` and ``log_scale``.

    Examples:
        >>> params = jr.inverse_gamma.init(concentration=3.0, scale=2.0)
        >>> params._fields
        ('log_concentration', 'log_scale')
        >>> natural = jr.inverse_gamma.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'concentration': 3.0, 'scale': 2.0}
    """

    log_concentration: Array
    log_scale: Array


def sample(key: ArrayLike, params: InverseGammaParams, sample_shape=()) -> Array:
    """Draws ``z = scale / x``, ``x ~ Gamma(a, 1)``, at most the largest float."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    a = jnp.exp(params.log_concentration)
    log_z = params.log_scale - _standard_gamma.log_sample(key, a, shape)
    # Clamped before exp, so that a clamped sample has a zero gradient, not NaN.
    log_max = np.nextafter(np.log(np.finfo(dtype).max), 0).astype(dtype)
    return jnp.exp(jnp.minimum(log_z, log_max))


def log_prob(params: InverseGammaParams, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` for ``z <= 0``; of the broadcast shape."""
    a = jnp.exp(params.log_concentration)

    def log_density(z):
        log_z = jnp.log(z)
        scaled = jnp.exp(params.log_scale - log_z)
        return a * params.log_scale - (a + 1) * log_z - scaled - gammaln(a)

    return _common.log_prob_on_support(log_density, z, z > 0, 1.0)


def entropy(params: InverseGammaParams) -> Array:
    """``a + log(scale Gamma(a)) - (1 + a) digamma(a)``, of the batch shape."""
    a = jnp.exp(params.log_concentration)
    return a + params.log_scale + gammaln(a) - (1 + a) * digamma(a)


def mean(params: InverseGammaParams) -> Array:
    """``scale / (a - 1)`` for ``a > 1``, else ``inf``."""
    a = jnp.exp(params.log_concentration)
    value = jnp.exp(params.log_scale) / (a - 1)
    return jnp.where(a > 1, value, jnp.inf)


def variance(params: InverseGammaParams) -> Array:
    """``scale^2 / ((a - 1)^2 (a - 2))`` for ``a > 2``, else ``inf``."""
    a = jnp.exp(params.log_concentration)
    value = jnp.exp(2 * params.log_scale) / ((a - 1) ** 2 * (a - 2))
    return jnp.where(a > 2, value, jnp.inf)


def cdf(params: InverseGammaParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = Q(a, scale / z)``, the upper regularized incomplete gamma."""
    a = jnp.exp(params.log_concentration)
    z = jnp.asarray(z)
    inverse = jnp.exp(params.log_scale) / jnp.where(z > 0, z, 1)
    return jnp.where(z > 0, gammaincc(a, inverse), 0.0)


_NATURAL = (
    _bundle.positive("concentration", range=(1e-10, 1e30)),
    _bundle.positive("scale", 1.0, range=(1e-30, 1e30)),
)
_FUNCTIONS = sample, log_prob, entropy, mean, variance, cdf
inverse_gamma = _bundle.family(
    "inverse_gamma", InverseGammaParams, *_FUNCTIONS, natural_args=_NATURAL
)
