"""Helpers for bijector params: empty ones, unconstrained ones, and checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike


def empty_init(params_type: type) -> Callable[..., Any]:
    """The ``init`` of a bijector without params: ``params_type()``, key ignored."""

    def init(key: ArrayLike = None) -> Any:
        """The (empty) params; ``key`` is accepted and ignored."""
        del key
        return params_type()

    return init


def softplus_inverse(y: Array) -> Array:
    """``x`` with ``softplus(x) = y``, for ``y >= 0`` (``-inf`` at 0, NaN below).

    Written as ``y + log(-expm1(-y))``, which neither overflows for large ``y``
    nor loses precision for small ``y``.
    """
    return y + jnp.log(-jnp.expm1(-y))


def log_softplus(x: Array) -> Array:
    """``log(softplus(x))``, finite for very negative ``x`` (where it is ``x``)."""
    small = x < -20.0
    safe = jnp.where(small, 0.0, x)
    return jnp.where(small, x, jnp.log(jax.nn.softplus(safe)))


def check_event(where: str, name: str, value: Array, dim: int) -> Array:
    """``value`` if its last axis has length ``dim``, else a ``ValueError``."""
    if value.ndim == 0 or value.shape[-1] != dim:
        raise ValueError(
            f"{where}: {name} must have shape (..., {dim}) to match the params, "
            f"got {value.shape}"
        )
    return value


def check_dim(where: str, dim: object) -> int:
    """``dim`` as a positive int, else a ``TypeError`` / ``ValueError`` naming it."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{where}: dim must be an int, got {type(dim).__name__}")
    if dim < 1:
        raise ValueError(f"{where}: dim must be at least 1, got {dim}")
    return dim
