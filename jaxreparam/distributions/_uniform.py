"""The Uniform family on ``[low, high]``, reparameterized as ``z = low + width * u``.

Density: ``q(z) = 1 / (high - low)`` for ``low <= z <= high``.
Reparameterization: ``u ~ U[0, 1)``, ``z = low + (high - low) u``.
Params store ``low`` and ``log_width = log(high - low)``, so no optimizer step can
make ``high <= low``. The stored upper end, ``low + exp(log_width)`` (what
``to_natural`` returns), can differ from the ``high`` given to ``init`` by
round-off (about one float32 ulp of the width); samples lie in ``[low, stored
high]``, and ``log_prob`` at either form of ``high`` is ``-log(high - low)``.

Examples:
    >>> params = jr.uniform.init(low=-1.0, high=1.0)
    >>> z = jr.uniform.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.uniform.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.uniform.variance(params)), 3)  # (high - low)^2 / 12
    0.333
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common


class UniformParams(NamedTuple):
    """Params of a Uniform: ``low`` and ``log_width = log(high - low)``.

    Examples:
        >>> params = jr.uniform.init(low=-1.0, high=1.0)
        >>> params._fields
        ('low', 'log_width')
        >>> natural = jr.uniform.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'low': -1.0, 'high': 1.0}
    """

    low: Array
    log_width: Array


def _noise(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    """``u ~ U[0, 1)``."""
    return _common.draw(jax.random.uniform, key, shape, dtype)


def _finite_positive(width):
    return (width > 0) & (width < float("inf"))


def init(*, low: ArrayLike = 0.0, high: ArrayLike = 1.0) -> UniformParams:
    """Params of ``Uniform(low, high)``: both finite, ``high > low``.

    Under ``jax.jit`` (outside :func:`jaxreparam.checking`) ``high <= low`` gives
    NaN params, so NaN samples and densities.

    Examples:
        >>> jr.uniform.init(low=-1.0, high=1.0)
        UniformParams(low=Array(-1., dtype=float32...), log_width=Array(0.6931472, ...))
    """
    low = _checks.real("uniform.init", "low", low)
    high = _checks.real("uniform.init", "high", high)
    _checks.broadcast_shapes("uniform.init", low=low.shape, high=high.shape)
    low, high = _checks.same_dtype(low, high)
    width = _checks.check_value(
        "uniform.init",
        "high - low",
        high - low,
        _finite_positive,
        "finite and positive (high must be greater than low)",
    )
    return UniformParams(low, jnp.log(width))


def to_natural(params: UniformParams) -> dict[str, Array]:
    """``{"low": ..., "high": ...}``, the inverse of :func:`init`."""
    return {"low": params.low, "high": params.low + jnp.exp(params.log_width)}


def sample(key: ArrayLike, params: UniformParams, sample_shape=()) -> Array:
    """Draws ``z = low + (high - low) u`` with ``u ~ U[0, 1)``, in ``[low, high)``."""
    return icdf(params, _common.noise(_noise, key, params, sample_shape))


def log_prob(params: UniformParams, z: ArrayLike) -> Array:
    """``log q(z) = -log(high - low)`` on ``[low, high]``, ``-inf`` outside."""
    # ``z <= high`` in either form: a user's ``z == high`` passes the second (as
    # ``log(high - low)`` is what init stored), a draw near ``high`` the first.
    offset = z - params.low
    below_high = (offset <= jnp.exp(params.log_width)) | (
        jnp.log(offset) <= params.log_width
    )
    inside = (z >= params.low) & below_high
    return _common.log_prob_on_support(
        lambda z: jnp.zeros_like(z) - params.log_width, z, inside, params.low
    )


def sample_and_log_prob(
    key: ArrayLike, params: UniformParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, ``-log(high - low)`` everywhere."""
    z = sample(key, params, sample_shape)
    return z, jnp.broadcast_to(-params.log_width, z.shape)


def entropy(params: UniformParams) -> Array:
    """``log(high - low)``."""
    return _common.broadcast(params.log_width, params)


def mean(params: UniformParams) -> Array:
    """``(low + high) / 2``."""
    return params.low + 0.5 * jnp.exp(params.log_width)


def variance(params: UniformParams) -> Array:
    """``(high - low)^2 / 12``."""
    return _common.broadcast(jnp.exp(2 * params.log_width) / 12, params)


def cdf(params: UniformParams, z: ArrayLike) -> Array:
    """``(z - low) / (high - low)``, clipped to ``[0, 1]``."""
    return jnp.clip((z - params.low) * jnp.exp(-params.log_width), 0.0, 1.0)


def icdf(params: UniformParams, u: ArrayLike) -> Array:
    """``low + (high - low) u``."""
    return params.low + jnp.exp(params.log_width) * u


_SAMPLING = init, to_natural, sample, log_prob, sample_and_log_prob
_CLOSED_FORMS = entropy, mean, variance, cdf, icdf
#: Both finite (every finite value, ``high > low``; with ``high - low`` finite).
_NATURAL = _bundle.real("low", 0.0), _bundle.real("high", 1.0)
uniform = _bundle.family(
    "uniform", UniformParams, *_SAMPLING, *_CLOSED_FORMS, natural_args=_NATURAL
)
