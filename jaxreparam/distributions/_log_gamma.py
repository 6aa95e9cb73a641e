"""The log-gamma family: ``y = log z`` for ``z ~ Gamma(a, r)``, sampled in log space.

For small concentrations a gamma sample is often smaller than any float (at
``a = 1e-2`` in float32 about 40% of them), so it becomes 0, its ``log_prob`` is
infinite and gradients through it are NaN. Sampling ``log z`` directly never
underflows: ``log z = log x' + log(u) / a - log r`` with ``x' ~ Gamma(a + 1, 1)``
(see :mod:`jaxreparam.distributions._standard_gamma`), finite for any ``a > 0``.

Density (scipy's ``loggamma(a, loc=-log r)``; TFP's ``ExpGamma``)::

    q(y) = exp(a (y + log r) - exp(y + log r)) / Gamma(a),  y real.

Gradients: ``dy/dlog(r) = -1`` and ``dy/da = (dx/da) / x`` at ``x = r exp(y)``,
the implicit gradient of the gamma family computed from ``log x`` (never from
``x``), so it stays finite and accurate when ``x`` underflows.
Params store ``log_concentration`` and ``log_rate``.

Examples:
    >>> params = jr.log_gamma.init(concentration=0.05)
    >>> z = jr.log_gamma.sample(jax.random.key(0), params, (1000,))
    >>> z.shape, jr.log_gamma.log_prob(params, z).shape
    ((1000,), (1000,))
    >>> round(float(jr.log_gamma.mean(params)), 3)  # digamma(a) - log(rate)
    -20.498
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax.scipy.special import digamma, gammainc, gammaln, polygamma

from jaxreparam.base import Array, ArrayLike
from jaxreparam.base import scalar_batch_shape as batch_shape
from jaxreparam.distributions import _bundle, _common, _standard_gamma


class LogGammaParams(NamedTuple):
    """Params of a log-gamma: ``log_concentration`` and ``log_rate``.

    Examples:
        >>> params = jr.log_gamma.init(concentration=0.05)
        >>> params._fields
        ('log_concentration', 'log_rate')
        >>> natural = jr.log_gamma.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'concentration': 0.05, 'rate': 1.0}
    """

    log_concentration: Array
    log_rate: Array


def sample(key: ArrayLike, params: LogGammaParams, sample_shape=()) -> Array:
    """Draws ``y = log x - log r``, ``x ~ Gamma(a, 1)``: finite for every ``a``.

    Examples:
        >>> params = jr.log_gamma.init(concentration=1e-3)
        >>> y = jr.log_gamma.sample(jax.random.key(0), params, (1000,))
        >>> bool(jnp.all(jnp.isfinite(jr.log_gamma.log_prob(params, y))))
        True
    """
    key, shape, _ = _common.prepare(key, params, sample_shape, batch_shape(params))
    a = jnp.exp(params.log_concentration)
    return _standard_gamma.log_sample(key, a, shape) - params.log_rate


def log_prob(params: LogGammaParams, z: ArrayLike) -> Array:
    """``log q(y)`` at ``y = z``, of the broadcast of ``z`` and the batch shape."""
    a = jnp.exp(params.log_concentration)
    shifted = jnp.asarray(z) + params.log_rate  # log of the standard gamma variate
    return a * shifted - jnp.exp(shifted) - gammaln(a)


def entropy(params: LogGammaParams) -> Array:
    """``log Gamma(a) + a - a digamma(a)``, of the batch shape (rate-free)."""
    a = jnp.exp(params.log_concentration)
    value = gammaln(a) + a - a * digamma(a)
    return jnp.broadcast_to(value, batch_shape(params))


def mean(params: LogGammaParams) -> Array:
    """``digamma(a) - log r``, of the batch shape."""
    return digamma(jnp.exp(params.log_concentration)) - params.log_rate


def variance(params: LogGammaParams) -> Array:
    """``trigamma(a)``, of the batch shape."""
    a = jnp.exp(params.log_concentration)
    return jnp.broadcast_to(polygamma(1, a), batch_shape(params))


def cdf(params: LogGammaParams, z: ArrayLike) -> Array:
    """``P(Y <= y) = P(a, r exp(y))``."""
    a = jnp.exp(params.log_concentration)
    return gammainc(a, jnp.exp(jnp.asarray(z) + params.log_rate))


_NATURAL = (
    _bundle.positive("concentration", range=(1e-10, 1e30)),
    _bundle.positive("rate", 1.0, range=(1e-30, 1e30)),
)
_FUNCTIONS = sample, log_prob, entropy, mean, variance, cdf
log_gamma = _bundle.family(
    "log_gamma", LogGammaParams, *_FUNCTIONS, natural_args=_NATURAL
)
