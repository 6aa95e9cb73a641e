"""Student's t family, ``z = loc + scale n / sqrt(c / df)``, ``c ~ Chi2(df)``.

Density: ``q(z) = Gamma((df+1)/2) / (Gamma(df/2) sqrt(pi df) scale)
(1 + ((z - loc)/scale)^2 / df)^(-(df+1)/2)`` (scipy's ``t(df, loc, scale)``).
Sampling: ``n ~ N(0, 1)`` and ``x ~ Gamma(df/2, 1)`` independent, ``z = loc + scale
n exp((log(df/2) - log x) / 2)``, with ``log x`` from the gamma family's exact
log-space sampler (:mod:`jaxreparam.distributions._standard_gamma`).
Gradients: ``loc`` and ``scale`` explicitly; ``df`` through the implicit gradient of
``x``. This transport (it also moves with ``n``) differs from the inverse-CDF one
but carries ``q`` to its perturbation all the same, so ``d/d df E[f(z)] =
E[f'(z) dz/d df]``. For tiny ``df`` the tail is so heavy that ``|z - loc|`` can
exceed the largest float; it is capped just below it, so samples, ``log_prob``
and gradients stay finite.
Params store ``log_df``, ``loc`` and ``log_scale``.

Examples:
    >>> params = jr.student_t.init(df=3.0, loc=0.0, scale=1.0)
    >>> z = jr.student_t.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.student_t.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.student_t.variance(params)), 3)  # df / (df - 2)
    3.0
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betainc, betaln, digamma

from jaxreparam.base import Array, ArrayLike
from jaxreparam.base import scalar_batch_shape as batch_shape
from jaxreparam.distributions import _bundle, _common, _standard_gamma

_LOG2 = math.log(2.0)


class StudentTParams(NamedTuple):
    """Params of a Student's t: ``log_df``, ``loc`` and ``log_scale``.

    Examples:
        >>> params = jr.student_t.init(df=3.0, loc=0.0, scale=1.0)
        >>> params._fields
        ('log_df', 'loc', 'log_scale')
        >>> natural = jr.student_t.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'df': 3.0, 'loc': 0.0, 'scale': 1.0}
    """

    log_df: Array
    loc: Array
    log_scale: Array


def sample(key: ArrayLike, params: StudentTParams, sample_shape=()) -> Array:
    """Draws ``z = loc + scale n sqrt(df / (2 x))``, capped below the largest float."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    key_normal, key_gamma = jax.random.split(key)
    n = _common.draw(jax.random.normal, key_normal, shape, dtype)
    half_df = 0.5 * jnp.exp(params.log_df)
    log_x = _standard_gamma.log_sample(key_gamma, half_df, shape)
    log_factor = params.log_scale + 0.5 * (params.log_df - _LOG2 - log_x)
    # |n| < 40 always, so capping the factor keeps scale n factor finite.
    cap = np.log(np.finfo(dtype).max).astype(dtype) - 4
    return params.loc + n * jnp.exp(jnp.minimum(log_factor, cap))


def log_prob(params: StudentTParams, z: ArrayLike) -> Array:
    """``log q(z)``, of the broadcast of ``z`` and the batch shape."""
    df = jnp.exp(params.log_df)
    standardized = (jnp.asarray(z) - params.loc) * jnp.exp(-params.log_scale)
    small = jnp.abs(standardized) < 1
    # log(1 + s^2/df), without overflowing s^2 for huge s.
    inner = jnp.log1p(jnp.where(small, standardized, 0) ** 2 / df)
    log_abs = jnp.log(jnp.abs(jnp.where(small, 1, standardized)))
    outer = jnp.logaddexp(0.0, 2 * log_abs - params.log_df)
    log_kernel = jnp.where(small, inner, outer)
    # Gamma((df+1)/2) / (Gamma(df/2) sqrt(pi)) = 1 / B(df/2, 1/2).
    return (
        -0.5 * (df + 1) * log_kernel
        - 0.5 * params.log_df
        - betaln(0.5 * df, 0.5)
        - params.log_scale
    )


def entropy(params: StudentTParams) -> Array:
    """``(df+1)/2 (psi((df+1)/2) - psi(df/2)) + log(sqrt(df) B(df/2, 1/2) scale)``."""
    df = jnp.exp(params.log_df)
    value = (
        0.5 * (df + 1) * (digamma(0.5 * (df + 1)) - digamma(0.5 * df))
        + 0.5 * params.log_df
        + betaln(0.5 * df, 0.5)
        + params.log_scale
    )
    return jnp.broadcast_to(value, batch_shape(params))


def mean(params: StudentTParams) -> Array:
    """``loc`` for ``df > 1``, else NaN (undefined)."""
    df = jnp.exp(params.log_df)
    value = jnp.where(df > 1, params.loc, jnp.nan)
    return jnp.broadcast_to(value, batch_shape(params))


def variance(params: StudentTParams) -> Array:
    """``scale^2 df / (df - 2)`` (df > 2), ``inf`` (1 < df <= 2), else NaN."""
    df = jnp.exp(params.log_df)
    value = jnp.exp(2 * params.log_scale) * df / (df - 2)
    value = jnp.where(df > 2, value, jnp.where(df > 1, jnp.inf, jnp.nan))
    return jnp.broadcast_to(value, batch_shape(params))


def cdf(params: StudentTParams, z: ArrayLike) -> Array:
    """``P(Z <= z)``, through the regularized incomplete beta function."""
    df = jnp.exp(params.log_df)
    s = (jnp.asarray(z) - params.loc) * jnp.exp(-params.log_scale)
    tail = 0.5 * betainc(0.5 * df, 0.5, df / (df + s**2))  # P(T > |s|)
    return jnp.where(s > 0, 1 - tail, tail)


_NATURAL = (
    _bundle.positive("df", range=(1e-10, 1e30)),
    _bundle.real("loc", 0.0),
    _bundle.positive("scale", 1.0, range=(1e-30, 1e30)),
)
_FUNCTIONS = sample, log_prob, entropy, mean, variance, cdf
student_t = _bundle.family(
    "student_t", StudentTParams, *_FUNCTIONS, natural_args=_NATURAL
)
