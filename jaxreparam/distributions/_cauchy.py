"""The Cauchy family, reparameterized by its inverse CDF.

Density: ``q(z) = 1 / (pi scale (1 + x^2))`` with ``x = (z - loc) / scale``.
Reparameterization: ``u ~ U[eps_f, 1)`` (``eps_f`` the machine epsilon, the grid
spacing of the draw), ``z = loc + scale * tan(pi (u - 1/2))``. Both ends are
excluded, so the noise is finite, at most ``1 / tan(pi eps_f)``, about 2.7e6 in
float32. In each tail (``|u - 1/2| > 1/4``) the tangent is computed as
``sign(u - 1/2) / tan(pi min(u, 1 - u))``, whose argument is exact, so the float32 tails
keep full relative precision; elsewhere it is ``tan(pi (u - 1/2))``. The uniform
is the one ``jax.random.cauchy`` (and so numpyro) draws from the same key.
The Cauchy has no mean and no variance: ``family.has("mean")`` is ``False``.
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

_LOG_PI = math.log(math.pi)


class CauchyParams(NamedTuple):
    """Params of a Cauchy: ``loc`` and ``log_scale`` (unconstrained)."""

    loc: Array
    log_scale: Array


def init(*, loc: ArrayLike = 0.0, scale: ArrayLike = 1.0) -> CauchyParams:
    """Params of ``Cauchy(loc, scale)`` from natural values.

    Differentiable in ``loc`` and ``scale``.

    Args:
        loc: the location (median), any shape, finite.
        scale: the half width at half maximum, finite and positive,
            broadcastable with ``loc``.

    Returns:
        ``CauchyParams`` with batch shape the broadcast of the two shapes.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is non-finite, ``scale <= 0``, or the
            shapes do not broadcast.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.cauchy.init(loc=1.0, scale=2.0)
        CauchyParams(loc=Array(1., dtype=float32...), log_scale=Array(0.6931472, ...))
    """
    loc = _checks.real("cauchy.init", "loc", loc)
    scale = _checks.positive("cauchy.init", "scale", scale)
    _checks.broadcast_shapes("cauchy.init", loc=loc.shape, scale=scale.shape)
    loc, scale = _checks.same_dtype(loc, scale)
    return CauchyParams(loc, jnp.log(scale))


def to_natural(params: CauchyParams) -> dict[str, Array]:
    """``{"loc": ..., "scale": ...}``, the inverse of :func:`init`."""
    return {"loc": params.loc, "scale": jnp.exp(params.log_scale)}


def _standard_quantile(u: Array) -> Array:
    """``tan(pi (u - 1/2))``, accurate in both tails."""
    centred = u - 0.5
    distance = jnp.minimum(u, 1 - u)  # to the nearer end, exact for u in (0, 1)
    in_tail = distance < 0.25
    middle = jnp.tan(math.pi * jnp.where(in_tail, 0.0, centred))
    tail = jnp.sign(centred) / jnp.tan(math.pi * jnp.where(in_tail, distance, 0.25))
    return jnp.where(in_tail, tail, middle)


def _log1p_square(x: Array) -> Array:
    """``log(1 + x^2)`` without overflow for large ``|x|``."""
    a = jnp.abs(x)
    small = jnp.minimum(a, 1.0)
    large = jnp.maximum(a, 1.0)
    return jnp.where(
        a <= 1.0, jnp.log1p(small**2), 2 * jnp.log(large) + jnp.log1p(large**-2)
    )


def _noise(key: ArrayLike, params: CauchyParams, sample_shape) -> Array:
    """Standard Cauchy noise from one uniform draw on ``[eps_f, 1)``."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    eps_f = float(jnp.finfo(dtype).eps)
    u = _common.draw(jax.random.uniform, key, shape, dtype, minval=eps_f, maxval=1.0)
    return _standard_quantile(u)


def sample(key: ArrayLike, params: CauchyParams, sample_shape=()) -> Array:
    """Draws ``z = loc + scale * tan(pi (u - 1/2))`` with ``u`` uniform.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``CauchyParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, finite, pathwise
        differentiable in ``params``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> z = jr.cauchy.sample(jax.random.key(0), jr.cauchy.init(), (3,))
        >>> z.shape
        (3,)
    """
    eps = _noise(key, params, sample_shape)
    return params.loc + jnp.exp(params.log_scale) * eps


def log_prob(params: CauchyParams, z: ArrayLike) -> Array:
    """``log q(z) = -log(pi scale) - log(1 + x^2)``, ``x = (z - loc) / scale``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """
    x = (z - params.loc) * jnp.exp(-params.log_scale)
    return -_LOG_PI - params.log_scale - _log1p_square(x)


def sample_and_log_prob(
    key: ArrayLike, params: CauchyParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise."""
    eps = _noise(key, params, sample_shape)
    z = params.loc + jnp.exp(params.log_scale) * eps
    return z, -_LOG_PI - params.log_scale - _log1p_square(eps)


def entropy(params: CauchyParams) -> Array:
    """``log(4 pi scale)``, of the batch shape."""
    return jnp.broadcast_to(
        math.log(4 * math.pi) + params.log_scale, batch_shape(params)
    )


def cdf(params: CauchyParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = atan2(1, -x) / pi``, equal to ``1/2 + atan(x) / pi``.

    The ``atan2`` form keeps full relative precision in the lower tail.
    """
    x = (z - params.loc) * jnp.exp(-params.log_scale)
    return jnp.arctan2(jnp.ones_like(x), -x) / math.pi


def icdf(params: CauchyParams, u: ArrayLike) -> Array:
    """The quantile function, ``loc + scale * tan(pi (u - 1/2))``."""
    return params.loc + jnp.exp(params.log_scale) * _standard_quantile(jnp.asarray(u))


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

cauchy = register_family(
    Family(
        name="cauchy",
        params_type=CauchyParams,
        init=init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=to_natural,
        entropy=entropy,
        cdf=cdf,
        icdf=icdf,
    )
)
