"""Helpers shared by the family modules (private)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam import _checks


def scalar_batch_shape(params: Any) -> tuple[int, ...]:
    """The broadcast of the shapes of every leaf (univariate families)."""
    return tuple(jnp.broadcast_shapes(*(jnp.shape(x) for x in params)))


def scalar_event_shape(params: Any) -> tuple[int, ...]:
    """A univariate family's event shape, ``()``."""
    del params
    return ()


def prepare(
    key: Any, params: Any, sample_shape: Any, batch_shape: tuple[int, ...]
) -> tuple[jax.Array, tuple[int, ...], Any]:
    """Checks ``key`` and ``sample_shape``; returns key, full shape and dtype."""
    key = _checks.check_key(key)
    shape = _checks.check_sample_shape(sample_shape) + tuple(batch_shape)
    dtype = jnp.result_type(*params)
    return key, shape, dtype


def log_prob_on_support(
    log_density: Any, z: Any, inside: jax.Array, fill: Any
) -> jax.Array:
    """``log_density(z)`` where ``inside``, ``-inf`` elsewhere; NaN stays NaN.

    Off the support ``log_density`` is evaluated at ``fill`` (a point inside), so
    that neither its value nor its gradient is NaN there; a NaN ``z`` or a NaN
    parameter (an invalid value under jit) still gives NaN.
    """
    z = jnp.asarray(z)
    keep = inside | jnp.isnan(z)
    value = log_density(jnp.where(keep, z, fill))
    return jnp.where(keep | jnp.isnan(value), value, -jnp.inf)
