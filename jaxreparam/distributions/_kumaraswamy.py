"""The Kumaraswamy family on ``(0, 1)``, reparameterized by its inverse CDF.

Density: ``q(z) = a b z^(a - 1) (1 - z^a)^(b - 1)`` for ``0 < z < 1``, with
``a = concentration1`` and ``b = concentration0`` (numpyro's and TFP's names). It
resembles ``Beta(a, b)`` but has a closed-form CDF, ``1 - (1 - z^a)^b``.
Reparameterization: ``u ~ U(0, 1)``,
``z = (1 - (1 - u)^(1/b))^(1/a)``, computed in log space as
``log(w) = log(-expm1(log1p(-u) / b))``, ``z = exp(log(w) / a)``: no
cancellation near either end. The uniform is drawn in ``[tiny, 1)``, and where
``log1p(-u) / b`` underflows ``log(w)`` comes from ``log(-log1p(-u)) - log(b)``,
so ``log(w)``, the fused density and every gradient stay finite in float32.
Params store ``log_concentration1`` and ``log_concentration0``.

Examples:
    >>> params = jr.kumaraswamy.init(concentration1=2.0, concentration0=3.0)
    >>> z = jr.kumaraswamy.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.kumaraswamy.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.kumaraswamy.cdf(params, 0.5)), 3)  # 1 - (1 - 0.5^2)^3
    0.578

References:
    Kumaraswamy, "A generalized probability density function for double-bounded
    random processes", Journal of Hydrology 46 (1980).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import betaln, digamma, xlogy

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common
from jaxreparam.distributions._common import EULER_GAMMA


class KumaraswamyParams(NamedTuple):
    """Params of a Kumaraswamy: ``log_concentration1``, ``log_concentration0``.

    Examples:
        >>> params = jr.kumaraswamy.init(concentration1=2.0, concentration0=3.0)
        >>> params._fields
        ('log_concentration1', 'log_concentration0')
        >>> natural = jr.kumaraswamy.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'concentration1': 2.0, 'concentration0': 3.0}
    """

    log_concentration1: Array
    log_concentration0: Array


def _log1mexp(x: Array) -> Array:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate at both ends."""
    return jnp.where(x > -math.log(2), jnp.log(-jnp.expm1(x)), jnp.log1p(-jnp.exp(x)))


def _log_w(params: KumaraswamyParams, log1m_u: Array) -> Array:
    """``log(z^a) = log(1 - (1 - u)^(1/b)) = log(-expm1(x))``, ``x = log1p(-u) / b``.

    Near ``u = 0``, ``x`` can underflow (``u = tiny``, ``b > 1``) and
    ``-expm1(x)`` with it; there ``log(-expm1(x)) = log(-x) + x/2 + O(x^2)``, and
    ``log(-x) = log(-log1p(-u)) - log(b)`` is finite, as are its gradients.
    """
    log_neg_x = jnp.log(-log1m_u) - params.log_concentration0
    x = -jnp.exp(log_neg_x)
    small = x > -math.sqrt(jnp.finfo(x.dtype).eps)  # dropped x^2/24 < eps
    large_x = jnp.where(small, -1.0, x)  # no inf on the branch not taken
    return jnp.where(small, log_neg_x + 0.5 * x, _log1mexp(large_x))


def _log1m_u(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """``log1p(-u)`` for ``u ~ U[tiny, 1)``: in ``[log(2^-23), -tiny]`` (float32)."""
    u = _common.draw(
        jax.random.uniform, key, shape, dtype, minval=jnp.finfo(dtype).tiny
    )
    return jnp.log1p(-u)


def sample(key: ArrayLike, params: KumaraswamyParams, sample_shape=()) -> Array:
    """Draws ``z = (1 - (1 - u)^(1/b))^(1/a)``, ``u ~ U(0, 1)``, in ``[0, 1]``."""
    log_w = _log_w(params, _common.noise(_log1m_u, key, params, sample_shape))
    return jnp.exp(log_w * jnp.exp(-params.log_concentration1))


def log_prob(params: KumaraswamyParams, z: ArrayLike) -> Array:
    """``log q(z)``; ``-inf`` outside ``[0, 1]``."""
    a = jnp.exp(params.log_concentration1)
    b = jnp.exp(params.log_concentration0)

    def log_density(z):
        log1m_za = _log1mexp(a * jnp.log(z))  # log(1 - z^a)
        normalizer = params.log_concentration1 + params.log_concentration0
        # (b - 1) log(1 - z^a), taken as 0 when b = 1 even at z = 1, like xlogy.
        tail = jnp.where(b == 1, 0.0, (b - 1) * log1m_za)
        return normalizer + xlogy(a - 1, z) + tail

    return _common.log_prob_on_support(log_density, z, (z >= 0) & (z <= 1), 0.5)


def sample_and_log_prob(
    key: ArrayLike, params: KumaraswamyParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise.

    With ``w = z^a`` and ``1 - w = (1 - u)^(1/b)``:
    ``log q(z) = log(a b) + (1 - 1/a) log(w) + (1 - 1/b) log1p(-u)``.
    """
    log1m_u = _common.noise(_log1m_u, key, params, sample_shape)
    log_w = _log_w(params, log1m_u)
    inv_a = jnp.exp(-params.log_concentration1)
    inv_b = jnp.exp(-params.log_concentration0)
    log_ab = params.log_concentration1 + params.log_concentration0
    log_q = log_ab + (1 - inv_a) * log_w + (1 - inv_b) * log1m_u
    return jnp.exp(log_w * inv_a), log_q


def entropy(params: KumaraswamyParams) -> Array:
    """``(1 - 1/b) + (1 - 1/a) H_b - log(a b)``, ``H_b`` the harmonic number."""
    inv_a = jnp.exp(-params.log_concentration1)
    b = jnp.exp(params.log_concentration0)
    harmonic = digamma(b + 1) + EULER_GAMMA
    return (
        (1 - 1 / b)
        + (1 - inv_a) * harmonic
        - params.log_concentration1
        - params.log_concentration0
    )


def _log_moment(params: KumaraswamyParams, n: int) -> Array:
    """``log E[z^n] = log(b B(1 + n/a, b))``."""
    inv_a = jnp.exp(-params.log_concentration1)
    b = jnp.exp(params.log_concentration0)
    return params.log_concentration0 + betaln(1 + n * inv_a, b)


def mean(params: KumaraswamyParams) -> Array:
    """``b B(1 + 1/a, b)``."""
    return jnp.exp(_log_moment(params, 1))


def variance(params: KumaraswamyParams) -> Array:
    """``E[z^2] - E[z]^2``, as ``E[z]^2 expm1(log E[z^2] - 2 log E[z])``."""
    log_first = _log_moment(params, 1)
    return jnp.exp(2 * log_first) * jnp.expm1(_log_moment(params, 2) - 2 * log_first)


def cdf(params: KumaraswamyParams, z: ArrayLike) -> Array:
    """``1 - (1 - z^a)^b``, for ``z`` clipped to ``[0, 1]``."""
    a = jnp.exp(params.log_concentration1)
    b = jnp.exp(params.log_concentration0)
    log1m_za = _log1mexp(a * jnp.log(jnp.clip(z, 0.0, 1.0)))
    return -jnp.expm1(b * log1m_za)


def icdf(params: KumaraswamyParams, u: ArrayLike) -> Array:
    """``(1 - (1 - u)^(1/b))^(1/a)``."""
    log_w = _log_w(params, jnp.log1p(-jnp.asarray(u)))
    return jnp.exp(log_w * jnp.exp(-params.log_concentration1))


_NATURAL = (
    _bundle.positive("concentration1", range=(0.1, 1e6)),
    _bundle.positive("concentration0", range=(0.5, 1e15)),
)
_FUNCTIONS = sample, log_prob, sample_and_log_prob, entropy, mean, variance, cdf, icdf
kumaraswamy = _bundle.family(
    "kumaraswamy", KumaraswamyParams, *_FUNCTIONS, natural_args=_NATURAL
)
