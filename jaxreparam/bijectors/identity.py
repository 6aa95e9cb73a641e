"""The identity bijector, ``y = x``, for unconstrained (real) values."""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Bijector

__all__ = [
    "IdentityParams",
    "bijector",
    "forward",
    "forward_and_log_det",
    "init",
    "inverse",
    "inverse_and_log_det",
]


class IdentityParams(NamedTuple):
    """No params."""


def init() -> IdentityParams:
    """The (empty) params."""
    return IdentityParams()


def forward_and_log_det(params: IdentityParams, x: ArrayLike) -> tuple[Array, Array]:
    """``(x, 0)``, the log-determinant of the shape of ``x``.

    Examples:
        >>> import jaxreparam.bijectors as jb
        >>> y, log_det = jb.identity.forward_and_log_det(jb.identity.init(), 2.0)
        >>> float(y), float(log_det)
        (2.0, 0.0)
    """
    del params
    x = jnp.asarray(x)
    return x, jnp.zeros_like(x)


def inverse_and_log_det(params: IdentityParams, y: ArrayLike) -> tuple[Array, Array]:
    """``(y, 0)``."""
    return forward_and_log_det(params, y)


def forward(params: IdentityParams, x: ArrayLike) -> Array:
    """``x``."""
    return forward_and_log_det(params, x)[0]


def inverse(params: IdentityParams, y: ArrayLike) -> Array:
    """``y``."""
    return forward_and_log_det(params, y)[0]


bijector = Bijector(
    name="identity",
    params_type=IdentityParams,
    init=init,
    forward_and_log_det=forward_and_log_det,
    inverse_and_log_det=inverse_and_log_det,
)
