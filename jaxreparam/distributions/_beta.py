"""The beta family on ``(0, 1)``, reparameterized through two gamma variates.

Density: ``q(z) = z^(c1 - 1) (1 - z)^(c0 - 1) / B(c1, c0)``, with
``concentration1 = c1`` and ``concentration0 = c0`` (scipy's ``beta(c1, c0)``).
Sampling: ``z = x / (x + y)`` for independent ``x ~ Gamma(c1)``, ``y ~ Gamma(c0)``,
computed in log space as ``z = sigmoid(log x - log y)``, so nothing underflows
on the way (see :mod:`jaxreparam.distributions._standard_gamma`).
Gradients: each gamma variate is implicitly reparameterized, and ``z`` is a
smooth function of them. This transport differs from the inverse-CDF one (it
also moves with the other variate) but is equally valid: both carry ``q`` to
its perturbation, so ``d/dc E[f(z)] = E[f'(z) dz/dc]`` for every ``f``.
In float32 (float64) a sample within ``1e-38`` (``1e-308``) of 0, or rounding to
1, is returned as the nearest float inside ``(0, 1)``, so ``log_prob`` stays
finite; for concentrations below about 0.1, sample ``(log z, log(1 - z))``
exactly with :mod:`.log_dirichlet` and concentration ``[c1, c0]``.
Params store ``log_concentration1`` and ``log_concentration0``.

Examples:
    >>> params = jr.beta.init(concentration1=2.0, concentration0=3.0)
    >>> z = jr.beta.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.beta.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.beta.mean(params)), 3)  # a / (a + b)
    0.4
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc, betaln, digamma, xlog1py, xlogy

from jaxreparam.base import Array, ArrayLike
from jaxreparam.base import scalar_batch_shape as batch_shape
from jaxreparam.distributions import _bundle, _common, _standard_gamma


class BetaParams(NamedTuple):
    """Params of a beta: ``log_concentration1`` and ``log_concentration0``.

    Examples:
        >>> params = jr.beta.init(concentration1=2.0, concentration0=3.0)
        >>> params._fields
        ('log_concentration1', 'log_concentration0')
        >>> natural = jr.beta.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'concentration1': 2.0, 'concentration0': 3.0}
    """

    log_concentration1: Array
    log_concentration0: Array


def _concentrations(params: BetaParams) -> tuple[Array, Array]:
    c1, c0 = jnp.exp(params.log_concentration1), jnp.exp(params.log_concentration0)
    c1, c0 = jnp.broadcast_arrays(c1, c0)
    return c1, c0


def sample(key: ArrayLike, params: BetaParams, sample_shape=()) -> Array:
    """Draws ``z = sigmoid(log x - log y)``, ``x ~ Gamma(c1)``, ``y ~ Gamma(c0)``."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    both = jnp.stack(_concentrations(params))  # one sampler call for x and y
    both = both.reshape((2,) + (1,) * (len(shape) - both.ndim + 1) + both.shape[1:])
    log_xy = _standard_gamma.log_sample(key, both, (2,) + shape)
    z = jax.nn.sigmoid(log_xy[0] - log_xy[1])
    finfo = jnp.finfo(dtype)
    return jnp.clip(z, finfo.tiny, 1 - finfo.epsneg)


def log_prob(params: BetaParams, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` outside ``[0, 1]``; of the broadcast shape."""
    c1, c0 = _concentrations(params)

    def log_density(z):
        return xlogy(c1 - 1, z) + xlog1py(c0 - 1, -z) - betaln(c1, c0)

    return _common.log_prob_on_support(log_density, z, (z >= 0) & (z <= 1), 0.5)


def entropy(params: BetaParams) -> Array:
    """``log B - (c1 - 1) psi(c1) - (c0 - 1) psi(c0) + (c1 + c0 - 2) psi(c1 + c0)``."""
    c1, c0 = _concentrations(params)
    return (
        betaln(c1, c0)
        - (c1 - 1) * digamma(c1)
        - (c0 - 1) * digamma(c0)
        + (c1 + c0 - 2) * digamma(c1 + c0)
    )


def mean(params: BetaParams) -> Array:
    """``c1 / (c1 + c0)``, of the batch shape."""
    return jax.nn.sigmoid(params.log_concentration1 - params.log_concentration0)


def variance(params: BetaParams) -> Array:
    """``c1 c0 / ((c1 + c0)^2 (c1 + c0 + 1))``, of the batch shape."""
    c1, c0 = _concentrations(params)
    total = c1 + c0
    return c1 * c0 / (total**2 * (total + 1))


def cdf(params: BetaParams, z: ArrayLike) -> Array:
    """``P(Z <= z)``, the regularized incomplete beta function."""
    c1, c0 = _concentrations(params)
    return betainc(c1, c0, jnp.clip(z, 0, 1))


_NATURAL = (
    _bundle.positive("concentration1", range=(1e-10, 1e30)),
    _bundle.positive("concentration0", range=(1e-10, 1e30)),
)
_FUNCTIONS = sample, log_prob, entropy, mean, variance, cdf
beta = _bundle.family("beta", BetaParams, *_FUNCTIONS, natural_args=_NATURAL)
