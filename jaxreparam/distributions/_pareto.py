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
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common


class ParetoParams(NamedTuple):
    """Params of a Pareto: ``log_scale`` and ``log_concentration``."""

    log_scale: Array
    log_concentration: Array


def init(*, scale: ArrayLike = 1.0, concentration: ArrayLike) -> ParetoParams:
    """Params of ``Pareto(scale, concentration)`` from natural values.

    Differentiable in both arguments.

    Args:
        scale: ``s``, the lower end of the support; finite and positive.
        concentration: ``c``, the tail index; finite and positive,
            broadcastable with ``scale``. ``E[z^k]`` is finite only for ``k < c``.

    Returns:
        ``ParetoParams`` with batch shape the broadcast of the two shapes.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is non-finite or not positive, or the
            shapes do not broadcast.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.pareto.init(scale=1.0, concentration=2.0)
        ParetoParams(log_scale=Array(0., ...), log_concentration=Array(0.6931472, ...))
    """
    scale = _checks.positive("pareto.init", "scale", scale)
    concentration = _checks.positive("pareto.init", "concentration", concentration)
    _checks.broadcast_shapes(
        "pareto.init", scale=scale.shape, concentration=concentration.shape
    )
    scale, concentration = _checks.same_dtype(scale, concentration)
    return ParetoParams(jnp.log(scale), jnp.log(concentration))


def to_natural(params: ParetoParams) -> dict[str, Array]:
    """``{"scale": ..., "concentration": ...}``, the inverse of :func:`init`."""
    return {
        "scale": jnp.exp(params.log_scale),
        "concentration": jnp.exp(params.log_concentration),
    }


def _noise(key: ArrayLike, params: ParetoParams, sample_shape) -> Array:
    """Standard exponential noise ``-log1p(-u)``, ``u ~ U[0, 1)``: finite."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    return -jnp.log1p(-_common.draw(jax.random.uniform, key, shape, dtype))


def _from_noise(params: ParetoParams, noise: Array) -> Array:
    return jnp.exp(params.log_scale + noise * jnp.exp(-params.log_concentration))


def sample(key: ArrayLike, params: ParetoParams, sample_shape=()) -> Array:
    """Draws ``z = scale (1 - u)^(-1 / concentration)`` with ``u ~ U[0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``ParetoParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape``, at least ``scale``
        and finite, pathwise differentiable in ``params``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> params = jr.pareto.init(scale=1.0, concentration=3.0)
        >>> jr.pareto.sample(jax.random.key(0), params, (3,)).shape
        (3,)
    """
    return _from_noise(params, _noise(key, params, sample_shape))


def log_prob(params: ParetoParams, z: ArrayLike) -> Array:
    """``log q(z) = log(c / s) - (c + 1) log(z / s)``; ``-inf`` for ``z < s``.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """
    scale = jnp.exp(params.log_scale)
    c = jnp.exp(params.log_concentration)

    def log_density(z):
        return (
            params.log_concentration
            - params.log_scale
            - (c + 1) * (jnp.log(z) - params.log_scale)
        )

    # Either form of ``z >= s``: a user's ``z == s`` passes the second (``log``
    # is what init applied), a draw at ``u = 0`` (``z = exp(log s)``) the first.
    inside = (z >= scale) | (jnp.log(z) >= params.log_scale)
    return _common.log_prob_on_support(log_density, z, inside, scale)


def sample_and_log_prob(
    key: ArrayLike, params: ParetoParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise.

    With ``log(z / s) = e / c``: ``log q(z) = log(c / s) - (1 + 1/c) e``.
    """
    noise = _noise(key, params, sample_shape)
    inv_c = jnp.exp(-params.log_concentration)
    log_q = params.log_concentration - params.log_scale - (1 + inv_c) * noise
    return _from_noise(params, noise), log_q


def entropy(params: ParetoParams) -> Array:
    """``log(s / c) + 1/c + 1``, of the batch shape."""
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
    """``P(Z <= z) = 1 - (s / z)^c = -expm1(-c log(z / s))``; zero for ``z < s``."""
    log_ratio = jnp.maximum(jnp.log(jnp.maximum(z, 0)) - params.log_scale, 0)
    return -jnp.expm1(-jnp.exp(params.log_concentration) * log_ratio)


def icdf(params: ParetoParams, u: ArrayLike) -> Array:
    """The quantile function, ``s (1 - u)^(-1/c) = s exp(-log1p(-u) / c)``."""
    return _from_noise(params, -jnp.log1p(-u))


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

pareto = register_family(
    Family(
        name="pareto",
        params_type=ParetoParams,
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
