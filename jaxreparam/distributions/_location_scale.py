"""Location-scale families: a standard noise and an affine map (private).

A location-scale family is the law of ``z = loc + scale * eps`` for one fixed
standard noise ``eps``, so ``q(z) = p(x) / scale`` at ``x = (z - loc) / scale``.
Its params are ``loc`` and ``log_scale``. A family module states what is its
own (its noise, its log-density, its closed forms) and takes the rest from here:

- ``noise(key, shape, dtype)`` draws ``eps``;
- ``log_density(x, log_scale)`` is ``log q`` at the standardized point ``x``,
  ``- log_scale`` included: each family keeps its own order of the terms, which
  the golden test (``tests/distributions/test_golden.py``) pins bit for bit.

:func:`family` then builds ``sample`` (``z = loc + scale * eps``), ``log_prob``
(at ``x = standardize(z)``) and ``sample_and_log_prob`` (at ``x = eps``, no
division).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.distributions import _bundle, _common

Noise = Callable[[jax.Array, tuple[int, ...], Any], Array]
LogDensity = Callable[[Array, Array], Array]


def affine(params: Any, eps: ArrayLike) -> Array:
    """``loc + scale * eps``."""
    return params.loc + jnp.exp(params.log_scale) * eps


def standardize(params: Any, z: ArrayLike) -> Array:
    """``(z - loc) / scale``, as ``(z - loc) * exp(-log_scale)``."""
    return (z - params.loc) * jnp.exp(-params.log_scale)


def sample(noise: Noise, key: ArrayLike, params: Any, sample_shape: Any) -> Array:
    """``loc + scale * eps`` with ``eps = noise(key, shape, dtype)``."""
    return affine(params, _common.noise(noise, key, params, sample_shape))


def log_scale_power(params: Any, t: ArrayLike) -> Array:
    """``scale exp(t / concentration)``: ``log z = log(scale) + t / concentration``.

    The map of the log-location-scale families with params ``log_scale`` and
    ``log_concentration`` (Weibull: ``t = log e``, Pareto: ``t = e``, ``e``
    standard exponential).
    """
    return jnp.exp(params.log_scale + t * jnp.exp(-params.log_concentration))


def family(
    name: str,
    params_type: type,
    noise: Noise,
    log_density: LogDensity,
    *closed_forms: Callable,
) -> Family:
    """The registered ``Family`` of a location-scale family (see the module).

    ``closed_forms`` are bundled under their names, as by :func:`_bundle.family`.
    """

    def sample(key: ArrayLike, params: Any, sample_shape=()) -> Array:
        return affine(params, _common.noise(noise, key, params, sample_shape))

    sample.__doc__ = f"Draws ``z = loc + scale * eps``; ``eps``: {noise.__doc__}"

    def log_prob(params: Any, z: ArrayLike) -> Array:
        """``log q(z) = log_density((z - loc) / scale, log_scale)``."""
        return log_density(standardize(params, z), params.log_scale)

    def sample_and_log_prob(
        key: ArrayLike, params: Any, sample_shape=()
    ) -> tuple[Array, Array]:
        """``sample`` and its ``log_prob``, the density computed from the noise."""
        eps = _common.noise(noise, key, params, sample_shape)
        return affine(params, eps), log_density(eps, params.log_scale)

    natural = (
        _bundle.real("loc", 0.0),
        _bundle.positive("scale", 1.0, range=(1e-30, 1e30)),
    )
    functions = sample, log_prob, sample_and_log_prob, *closed_forms
    return _bundle.family(name, params_type, *functions, natural_args=natural)
