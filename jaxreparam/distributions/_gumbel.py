"""The Gumbel (maximum) family, reparameterized by its inverse CDF.

Density: ``q(z) = exp(-(x + e^{-x})) / scale`` with ``x = (z - loc) / scale``.
Reparameterization: ``u ~ U(0, 1)``, ``z = loc - scale * log(-log u)``. The
uniform is drawn with ``minval`` the smallest positive normal number, so
``log u`` is finite, and it is at most ``1 - 2^-23`` in float32 (``1 - 2^-52`` in
float64), so ``log u < 0``: the noise is always finite, within about
``[-4.47, 15.9]`` in float32. The same ``u`` and noise as ``jax.random.gumbel``
in its default ``"low"`` mode (and so numpyro) draw from the same key.
Params store ``loc`` and ``log_scale``, so no optimizer step can make the scale
negative.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common

_EULER_GAMMA = float(np.euler_gamma)


class GumbelParams(NamedTuple):
    """Params of a Gumbel: ``loc`` and ``log_scale`` (unconstrained)."""

    loc: Array
    log_scale: Array


def init(*, loc: ArrayLike = 0.0, scale: ArrayLike = 1.0) -> GumbelParams:
    """Params of ``Gumbel(loc, scale)`` from natural values.

    Differentiable in ``loc`` and ``scale``.

    Args:
        loc: the location (mode), any shape, finite.
        scale: the scale, finite and positive, broadcastable with ``loc``.

    Returns:
        ``GumbelParams`` with batch shape the broadcast of the two shapes.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is non-finite, ``scale <= 0``, or the
            shapes do not broadcast.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.gumbel.init(loc=1.0, scale=2.0)
        GumbelParams(loc=Array(1., dtype=float32...), log_scale=Array(0.6931472, ...))
    """
    loc = _checks.real("gumbel.init", "loc", loc)
    scale = _checks.positive("gumbel.init", "scale", scale)
    _checks.broadcast_shapes("gumbel.init", loc=loc.shape, scale=scale.shape)
    loc, scale = _checks.same_dtype(loc, scale)
    return GumbelParams(loc, jnp.log(scale))


def to_natural(params: GumbelParams) -> dict[str, Array]:
    """``{"loc": ..., "scale": ...}``, the inverse of :func:`init`."""
    return {"loc": params.loc, "scale": jnp.exp(params.log_scale)}


def _noise(key: ArrayLike, params: GumbelParams, sample_shape) -> Array:
    """Standard Gumbel noise ``-log(-log u)`` from one uniform draw on ``(0, 1)``."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    tiny = float(jnp.finfo(dtype).tiny)
    u = _common.draw(jax.random.uniform, key, shape, dtype, minval=tiny, maxval=1.0)
    return -jnp.log(-jnp.log(u))


def _log_density(x: Array, log_scale: Array) -> Array:
    return -x - jnp.exp(-x) - log_scale


def sample(key: ArrayLike, params: GumbelParams, sample_shape=()) -> Array:
    """Draws ``z = loc - scale * log(-log u)`` with ``u ~ U(0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``GumbelParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, finite, pathwise
        differentiable in ``params``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> z = jr.gumbel.sample(jax.random.key(0), jr.gumbel.init(), (3,))
        >>> z.shape
        (3,)
    """
    eps = _noise(key, params, sample_shape)
    return params.loc + jnp.exp(params.log_scale) * eps


def log_prob(params: GumbelParams, z: ArrayLike) -> Array:
    """``log q(z) = -x - exp(-x) - log(scale)``, ``x = (z - loc) / scale``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """
    x = (z - params.loc) * jnp.exp(-params.log_scale)
    return _log_density(x, params.log_scale)


def sample_and_log_prob(
    key: ArrayLike, params: GumbelParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    eps = _noise(key, params, sample_shape)
    z = params.loc + jnp.exp(params.log_scale) * eps
    return z, _log_density(eps, params.log_scale)


def entropy(params: GumbelParams) -> Array:
    """``log(scale) + gamma + 1`` (``gamma``: Euler's constant)."""
    return jnp.broadcast_to(params.log_scale + _EULER_GAMMA + 1.0, batch_shape(params))


def mean(params: GumbelParams) -> Array:
    """``loc + gamma scale``, of the batch shape."""
    return params.loc + _EULER_GAMMA * jnp.exp(params.log_scale)


def variance(params: GumbelParams) -> Array:
    """``pi^2 scale^2 / 6``, broadcast to the batch shape."""
    return jnp.broadcast_to(
        (math.pi**2 / 6) * jnp.exp(2 * params.log_scale), batch_shape(params)
    )


def cdf(params: GumbelParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = exp(-exp(-x))``, ``x = (z - loc) / scale``."""
    return jnp.exp(-jnp.exp(-(z - params.loc) * jnp.exp(-params.log_scale)))


def icdf(params: GumbelParams, u: ArrayLike) -> Array:
    """The quantile function, ``loc - scale * log(-log u)``."""
    return params.loc - jnp.exp(params.log_scale) * jnp.log(-jnp.log(u))


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

gumbel = register_family(
    Family(
        name="gumbel",
        params_type=GumbelParams,
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
