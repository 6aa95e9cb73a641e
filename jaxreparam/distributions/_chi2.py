"""The chi-squared family, ``z = 2 x`` for ``x ~ Gamma(df / 2, 1)``.

Density: ``q(z) = z^(df/2 - 1) exp(-z / 2) / (2^(df/2) Gamma(df/2))`` for
``z > 0``, with ``df > 0`` degrees of freedom (any positive real).
Sampling and gradients: the gamma family's exact sampler and implicit
reparameterization gradient (:mod:`jaxreparam.distributions._standard_gamma`),
``dz/d(df) = dx/da`` at ``a = df / 2``. Samples below the smallest normal float
are returned as that float (see :mod:`.gamma`).
Params store ``log_df``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
from jax.scipy.special import digamma, gammainc, gammaln, xlogy

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common, _standard_gamma

_LOG2 = math.log(2.0)


class Chi2Params(NamedTuple):
    """Params of a chi-squared: ``log_df`` (unconstrained)."""

    log_df: Array


def init(*, df: ArrayLike) -> Chi2Params:
    """Params of ``Chi2(df)`` from the degrees of freedom.

    Args:
        df: degrees of freedom, finite and positive (need not be an integer).

    Returns:
        ``Chi2Params`` with batch shape ``df``'s shape.

    Raises:
        TypeError: ``df`` has an integer, bool or complex dtype.
        ValueError: a concrete ``df`` is non-finite or not positive.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.chi2.init(df=4.0)
        Chi2Params(log_df=Array(1.3862944, dtype=float32...))
    """
    df = _checks.positive("chi2.init", "df", df)
    return Chi2Params(jnp.log(df))


def to_natural(params: Chi2Params) -> dict[str, Array]:
    """``{"df": ...}``, the inverse of :func:`init`."""
    return {"df": jnp.exp(params.log_df)}


def sample(key: ArrayLike, params: Chi2Params, sample_shape=()) -> Array:
    """Draws ``z ~ Chi2(df)``, pathwise differentiable in ``df``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``Chi2Params``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, positive.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> jr.chi2.sample(jax.random.key(0), jr.chi2.init(df=3.0), (2,)).shape
        (2,)
    """
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    log_x = _standard_gamma.log_sample(key, 0.5 * jnp.exp(params.log_df), shape)
    return jnp.maximum(jnp.exp(log_x + _LOG2), jnp.finfo(dtype).tiny)


def log_prob(params: Chi2Params, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` for ``z < 0``; of the broadcast shape."""
    half = 0.5 * jnp.exp(params.log_df)

    def log_density(z):
        return xlogy(half - 1, z) - 0.5 * z - half * _LOG2 - gammaln(half)

    return _common.log_prob_on_support(log_density, z, z >= 0, 1.0)


def sample_and_log_prob(
    key: ArrayLike, params: Chi2Params, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``."""
    z = sample(key, params, sample_shape)
    return z, log_prob(params, z)


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


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

chi2 = register_family(
    Family(
        name="chi2",
        params_type=Chi2Params,
        init=init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=to_natural,
        entropy=entropy,
        mean=mean,
        variance=variance,
        cdf=cdf,
    )
)
