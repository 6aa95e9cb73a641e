"""The Logistic family, reparameterized by its inverse CDF (the logit).

Density: ``q(z) = e^{-x} / (scale (1 + e^{-x})^2)`` with ``x = (z - loc) / scale``.
Reparameterization: ``u ~ U(0, 1)``, ``eps = log(u) - log1p(-u)``,
``z = loc + scale * eps``. The uniform is drawn with ``minval`` the smallest
positive normal number, so ``u`` is never 0, and it is at most ``1 - 2^-23`` in
float32 (``1 - 2^-52`` in float64), so ``1 - u`` is never 0: ``eps`` is always
finite, within about ``[-87.3, 15.9]`` in float32. The same ``u`` and ``eps`` as
``jax.random.logistic`` (and so numpyro) draw from the same key.
Params store ``loc`` and ``log_scale``, so no optimizer step can make the scale
negative.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common


class LogisticParams(NamedTuple):
    """Params of a Logistic: ``loc`` and ``log_scale`` (unconstrained)."""

    loc: Array
    log_scale: Array


def init(*, loc: ArrayLike = 0.0, scale: ArrayLike = 1.0) -> LogisticParams:
    """Params of ``Logistic(loc, scale)`` from natural values.

    Differentiable in ``loc`` and ``scale``.

    Args:
        loc: the location (mean and median), any shape, finite.
        scale: the scale (variance ``pi^2 scale^2 / 3``), finite and positive,
            broadcastable with ``loc``.

    Returns:
        ``LogisticParams`` with batch shape the broadcast of the two shapes.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is non-finite, ``scale <= 0``, or the
            shapes do not broadcast.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.logistic.init(loc=1.0, scale=2.0)
        LogisticParams(loc=Array(1., dtype=float32...), log_scale=Array(0.6931472, ...))
    """
    loc = _checks.real("logistic.init", "loc", loc)
    scale = _checks.positive("logistic.init", "scale", scale)
    _checks.broadcast_shapes("logistic.init", loc=loc.shape, scale=scale.shape)
    loc, scale = _checks.same_dtype(loc, scale)
    return LogisticParams(loc, jnp.log(scale))


def to_natural(params: LogisticParams) -> dict[str, Array]:
    """``{"loc": ..., "scale": ...}``, the inverse of :func:`init`."""
    return {"loc": params.loc, "scale": jnp.exp(params.log_scale)}


def _logit(u: Array) -> Array:
    return jnp.log(u) - jnp.log1p(-u)


def _noise(key: ArrayLike, params: LogisticParams, sample_shape) -> Array:
    """Standard logistic noise, the logit of one uniform draw on ``(0, 1)``."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    tiny = float(jnp.finfo(dtype).tiny)
    return _logit(
        _common.draw(jax.random.uniform, key, shape, dtype, minval=tiny, maxval=1.0)
    )


def _log_density(x: Array, log_scale: Array) -> Array:
    """``log q`` at standardized ``x``, symmetric in ``x`` so no tail overflows."""
    a = jnp.abs(x)
    return -a - 2 * jnp.log1p(jnp.exp(-a)) - log_scale


def sample(key: ArrayLike, params: LogisticParams, sample_shape=()) -> Array:
    """Draws ``z = loc + scale * logit(u)`` with ``u ~ U(0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``LogisticParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, finite, pathwise
        differentiable in ``params``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> z = jr.logistic.sample(jax.random.key(0), jr.logistic.init(), (3,))
        >>> z.shape
        (3,)
    """
    eps = _noise(key, params, sample_shape)
    return params.loc + jnp.exp(params.log_scale) * eps


def log_prob(params: LogisticParams, z: ArrayLike) -> Array:
    """``log q(z) = -|x| - 2 log1p(exp(-|x|)) - log(scale)``, ``x = (z - loc)/scale``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """
    x = (z - params.loc) * jnp.exp(-params.log_scale)
    return _log_density(x, params.log_scale)


def sample_and_log_prob(
    key: ArrayLike, params: LogisticParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    eps = _noise(key, params, sample_shape)
    z = params.loc + jnp.exp(params.log_scale) * eps
    return z, _log_density(eps, params.log_scale)


def entropy(params: LogisticParams) -> Array:
    """``log(scale) + 2``, of the batch shape."""
    return jnp.broadcast_to(params.log_scale + 2.0, batch_shape(params))


def mean(params: LogisticParams) -> Array:
    """``loc``, broadcast to the batch shape."""
    return jnp.broadcast_to(params.loc, batch_shape(params))


def variance(params: LogisticParams) -> Array:
    """``pi^2 scale^2 / 3``, broadcast to the batch shape."""
    return jnp.broadcast_to(
        (math.pi**2 / 3) * jnp.exp(2 * params.log_scale), batch_shape(params)
    )


def cdf(params: LogisticParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = sigmoid((z - loc) / scale)``."""
    return jax.nn.sigmoid((z - params.loc) * jnp.exp(-params.log_scale))


def icdf(params: LogisticParams, u: ArrayLike) -> Array:
    """The quantile function, ``loc + scale * (log(u) - log1p(-u))``."""
    return params.loc + jnp.exp(params.log_scale) * _logit(jnp.asarray(u))


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

logistic = register_family(
    Family(
        name="logistic",
        params_type=LogisticParams,
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
