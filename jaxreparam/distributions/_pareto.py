"""The Pareto family, reparameterized by its inverse CDF.

Density: ``q(z) = c s^c / z^(c + 1)`` for ``z >= s``, with scale ``s`` (the lower
end of the support) and concentration ``c`` (the tail index; TFP's names, scipy's
``pareto(b=c, scale=s)``).
Reparameterization: ``u ~ U[0, 1)``, ``e = -log1p(-u)`` (standard exponential),
``z = s exp(e / c)``. ``1 - u`` lies in ``(0, 1]``, so ``e`` is finite (at most
``23 log 2 ~ 15.9`` for float32 draws) and so is ``z``.
Params store ``log_scale`` and ``log_concentration``.

The mean is finite only for ``c > 1`` and the variance only for ``c > 2``;
:func:`mean` and :func:`variance` return ``inf`` otherwise, as scipy does.

Examples:
    >>> params = jr.pareto.init(scale=1.0, concentration=3.0)
    >>> z = jr.pareto.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.pareto.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.pareto.mean(params)), 3)  # a scale / (a - 1)
    1.5
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common, _location_scale


class ParetoParams(NamedTuple):
    """Params of a Pareto: ``log_scale`` and ``log_concentration``.

    Examples:
        >>> params = jr.pareto.init(scale=1.0, concentration=3.0)
        >>> params._fields
        ('log_scale', 'log_concentration')
        >>> natural = jr.pareto.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'scale': 1.0, 'concentration': 3.0}
    """

    log_scale: Array
    log_concentration: Array


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """Standard exponential noise ``-log1p(-u)``, ``u ~ U[0, 1)``: finite."""
    return -jnp.log1p(-_common.draw(jax.random.uniform, key, shape, dtype))


def sample(key: ArrayLike, params: ParetoParams, sample_shape=()) -> Array:
    """Draws ``z = s (1 - u)^(-1/c)`` with ``u ~ U[0, 1)``, at least ``s``, finite."""
    e = _common.noise(_noise, key, params, sample_shape)
    return _location_scale.log_scale_power(params, e)


def log_prob(params: ParetoParams, z: ArrayLike) -> Array:
    """``log q(z) = log(c / s) - (c + 1) log(z / s)``; ``-inf`` for ``z < s``."""
    scale = jnp.exp(params.log_scale)
    c = jnp.exp(params.log_concentration)

    def log_density(z):
        log_c_over_s = params.log_concentration - params.log_scale
        return log_c_over_s - (c + 1) * (jnp.log(z) - params.log_scale)

    # Either form of ``z >= s``: a user's ``z == s`` passes the second (``log``
    # is what init applied), a draw at ``u = 0`` (``z = exp(log s)``) the first.
    inside = (z >= scale) | (jnp.log(z) >= params.log_scale)
    return _common.log_prob_on_support(log_density, z, inside, scale)


def sample_and_log_prob(
    key: ArrayLike, params: ParetoParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``: ``log(c / s) - (1 + 1/c) e``."""
    e = _common.noise(_noise, key, params, sample_shape)
    inv_c = jnp.exp(-params.log_concentration)
    log_q = params.log_concentration - params.log_scale - (1 + inv_c) * e
    return _location_scale.log_scale_power(params, e), log_q


def entropy(params: ParetoParams) -> Array:
    """``log(s / c) + 1/c + 1``."""
    inv_c = jnp.exp(-params.log_concentration)
    return params.log_scale - params.log_concentration + inv_c + 1


def mean(params: ParetoParams) -> Array:
    """``c s / (c - 1)`` for ``c > 1``, ``inf`` otherwise."""
    c = jnp.exp(params.log_concentration)
    finite = c > 1
    safe = jnp.where(finite, c, 2.0)  # keeps the gradient finite where inf
    value = jnp.exp(params.log_scale) * safe / (safe - 1)
    return jnp.where(finite, value, jnp.inf)


def variance(params: ParetoParams) -> Array:
    """``s^2 c / ((c - 1)^2 (c - 2))`` for ``c > 2``, ``inf`` otherwise."""
    c = jnp.exp(params.log_concentration)
    finite = c > 2
    safe = jnp.where(finite, c, 3.0)  # keeps the gradient finite where inf
    value = jnp.exp(2 * params.log_scale) * safe / ((safe - 1) ** 2 * (safe - 2))
    return jnp.where(finite, value, jnp.inf)


def cdf(params: ParetoParams, z: ArrayLike) -> Array:
    """``1 - (s / z)^c = -expm1(-c log(z / s))``; zero for ``z < s``."""
    log_ratio = jnp.maximum(jnp.log(jnp.maximum(z, 0)) - params.log_scale, 0)
    return -jnp.expm1(-jnp.exp(params.log_concentration) * log_ratio)


def icdf(params: ParetoParams, u: ArrayLike) -> Array:
    """``s (1 - u)^(-1/c) = s exp(-log1p(-u) / c)``."""
    return _location_scale.log_scale_power(params, -jnp.log1p(-u))


_NATURAL = (
    _bundle.positive("scale", 1.0, range=(1e-30, 1e30)),
    _bundle.positive("concentration", range=(0.1, 1e30)),
)
_FUNCTIONS = sample, log_prob, sample_and_log_prob, entropy, mean, variance, cdf, icdf
pareto = _bundle.family("pareto", ParetoParams, *_FUNCTIONS, natural_args=_NATURAL)
