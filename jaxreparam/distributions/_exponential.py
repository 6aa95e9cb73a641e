"""The Exponential family, reparameterized by its inverse CDF.

Density: ``q(z) = rate exp(-rate z)`` for ``z >= 0``.
Reparameterization: ``u ~ U[0, 1)``, ``z = -log1p(-u) / rate``; ``1 - u`` lies in
``(0, 1]``, so the noise ``-log1p(-u)`` is always finite (at most
``23 log 2 ~ 15.9`` for float32 draws, whose spacing is ``2^-23``) and ``z`` is a
pathwise-differentiable function of ``rate``.
Params store ``log_rate``, so no optimizer step can make the rate negative.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common


class ExponentialParams(NamedTuple):
    """Params of an Exponential: ``log_rate`` (unconstrained)."""

    log_rate: Array


def init(*, rate: ArrayLike = 1.0) -> ExponentialParams:
    """Params of ``Exponential(rate)`` (mean ``1 / rate``) from natural values.

    Differentiable in ``rate``.

    Args:
        rate: the rate (inverse scale), any shape, finite and positive.

    Returns:
        ``ExponentialParams`` with batch shape the shape of ``rate``.

    Raises:
        TypeError: ``rate`` has an integer, bool or complex dtype.
        ValueError: a concrete ``rate`` is non-finite or not positive.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.exponential.init(rate=2.0)
        ExponentialParams(log_rate=Array(0.6931472, dtype=float32...))
    """
    rate = _checks.positive("exponential.init", "rate", rate)
    return ExponentialParams(jnp.log(rate))


def to_natural(params: ExponentialParams) -> dict[str, Array]:
    """``{"rate": ...}``, the inverse of :func:`init`."""
    return {"rate": jnp.exp(params.log_rate)}


def _noise(key: ArrayLike, params: ExponentialParams, sample_shape) -> Array:
    """Standard exponential noise ``-log1p(-u)``, ``u ~ U[0, 1)``: finite."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    return -jnp.log1p(-_common.draw(jax.random.uniform, key, shape, dtype))


def sample(key: ArrayLike, params: ExponentialParams, sample_shape=()) -> Array:
    """Draws ``z = -log1p(-u) / rate`` with ``u ~ U[0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``ExponentialParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, non-negative and
        finite, pathwise differentiable in ``params``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> z = jr.exponential.sample(jax.random.key(0), jr.exponential.init(), (3,))
        >>> z.shape
        (3,)
    """
    return _noise(key, params, sample_shape) * jnp.exp(-params.log_rate)


def log_prob(params: ExponentialParams, z: ArrayLike) -> Array:
    """``log q(z) = log(rate) - rate z``; ``-inf`` for ``z < 0``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """
    return _common.log_prob_on_support(
        lambda z: params.log_rate - jnp.exp(params.log_rate) * z, z, z >= 0, 0.0
    )


def sample_and_log_prob(
    key: ArrayLike, params: ExponentialParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    noise = _noise(key, params, sample_shape)
    return noise * jnp.exp(-params.log_rate), params.log_rate - noise


def entropy(params: ExponentialParams) -> Array:
    """``1 - log(rate)``, of the batch shape."""
    return 1.0 - params.log_rate


def mean(params: ExponentialParams) -> Array:
    """``1 / rate``, of the batch shape."""
    return jnp.exp(-params.log_rate)


def variance(params: ExponentialParams) -> Array:
    """``1 / rate^2``, of the batch shape."""
    return jnp.exp(-2 * params.log_rate)


def cdf(params: ExponentialParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = -expm1(-rate z)``; zero for ``z < 0``."""
    return -jnp.expm1(-jnp.exp(params.log_rate) * jnp.maximum(z, 0))


def icdf(params: ExponentialParams, u: ArrayLike) -> Array:
    """The quantile function, ``-log1p(-u) / rate``."""
    return -jnp.log1p(-u) * jnp.exp(-params.log_rate)


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

exponential = register_family(
    Family(
        name="exponential",
        params_type=ExponentialParams,
        init=init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=to_natural,
        entropy=entropy,
        mean=mean,
        variance=variance,
        cdf=cdf,
        icdf=icdf,
    )
)
