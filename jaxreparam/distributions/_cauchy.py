"""The Cauchy family, reparameterized by its inverse CDF.

Density: ``q(z) = 1 / (pi scale (1 + x^2))`` with ``x = (z - loc) / scale``.
Reparameterization: ``u ~ U[eps_f, 1)`` (``eps_f`` the machine epsilon, the grid
spacing of the draw), ``z = loc + scale * tan(pi (u - 1/2))``. Both ends are
excluded, so the noise is finite, at most ``1 / tan(pi eps_f)``, about 2.7e6 in
float32. In each tail (``|u - 1/2| > 1/4``) the tangent is computed as
``sign(u - 1/2) / tan(pi min(u, 1 - u))``, whose argument is exact, so the float32 tails
keep full relative precision; elsewhere it is ``tan(pi (u - 1/2))``. The uniform
is the one ``jax.random.cauchy`` (and so numpyro) draws from the same key.
``loc`` is the median and ``scale`` the half width at half maximum.
The Cauchy has no mean and no variance: ``family.has("mean")`` is ``False``.
Params store ``loc`` and ``log_scale``, so no optimizer step can make the scale
negative.

Examples:
    >>> params = jr.cauchy.init(loc=1.0, scale=2.0)
    >>> z = jr.cauchy.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.cauchy.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.cauchy.cdf(params, 1.0)), 3)  # the median is loc
    0.5
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _common, _location_scale

_LOG_PI = math.log(math.pi)


class CauchyParams(NamedTuple):
    """Params of a Cauchy: ``loc`` and ``log_scale`` (unconstrained).

    Examples:
        >>> params = jr.cauchy.init(loc=1.0, scale=2.0)
        >>> params._fields
        ('loc', 'log_scale')
        >>> natural = jr.cauchy.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'loc': 1.0, 'scale': 2.0}
    """

    loc: Array
    log_scale: Array


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


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """Standard Cauchy noise from one uniform draw on ``[eps_f, 1)``."""
    eps_f = float(jnp.finfo(dtype).eps)
    u = _common.draw(jax.random.uniform, key, shape, dtype, minval=eps_f, maxval=1.0)
    return _standard_quantile(u)


def _log_density(x: Array, log_scale: Array) -> Array:
    """``log q(z) = -log(pi scale) - log(1 + x^2)`` at ``x = (z - loc) / scale``."""
    return -_LOG_PI - log_scale - _log1p_square(x)


def entropy(params: CauchyParams) -> Array:
    """``log(4 pi scale)``."""
    return _common.broadcast(math.log(4 * math.pi) + params.log_scale, params)


def cdf(params: CauchyParams, z: ArrayLike) -> Array:
    """``atan2(1, -x) / pi = 1/2 + atan(x) / pi``, ``x = (z - loc) / scale``.

    The ``atan2`` form keeps full relative precision in the lower tail.
    """
    x = _location_scale.standardize(params, z)
    return jnp.arctan2(jnp.ones_like(x), -x) / math.pi


def icdf(params: CauchyParams, u: ArrayLike) -> Array:
    """``loc + scale * tan(pi (u - 1/2))``."""
    return _location_scale.affine(params, _standard_quantile(jnp.asarray(u)))


cauchy = _location_scale.family(
    "cauchy", CauchyParams, _noise, _log_density, entropy, cdf, icdf
)
