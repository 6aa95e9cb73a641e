"""Stick breaking: ``R^(K-1)`` onto the open simplex of ``K`` probabilities (Stan's).

For ``k = 0, ..., K-2``, ``z_k = sigmoid(x_k - log(K - 1 - k))`` is the fraction
of the remaining stick broken off: ``y_k = r_k z_k`` with ``r_k = 1 - sum_{j<k}
y_j = prod_{j<k} (1 - z_j)``, and ``y_{K-1} = r_{K-1}``. The offsets make ``x = 0``
the centre of the simplex, ``y = 1/K``. The map from ``x`` to the first ``K - 1``
coordinates of ``y`` (the last is fixed by the others) is lower triangular, with
``log|det| = sum_k [log r_k + log z_k + log(1 - z_k)]``; everything is computed in
log space, from ``log_sigmoid``.

Examples:
    >>> params = jr.bijectors.stick_breaking.init()
    >>> y, log_det = jr.bijectors.stick_breaking.forward(params, jnp.zeros(2))
    >>> y.shape, log_det.shape  # (K - 1,) -> (K,), one log-determinant
    ((3,), ())
    >>> round(float(y.sum()), 3)
    1.0
    >>> x, _ = jr.bijectors.stick_breaking.inverse(params, y)
    >>> [round(float(v), 3) for v in x]
    [0.0, 0.0]

References:
    Stan Reference Manual, "Unit simplex" transform.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Bijector


class StickBreakingParams(NamedTuple):
    """No params.

    Examples:
        >>> jr.bijectors.stick_breaking.init()
        StickBreakingParams()
    """


def init(key: ArrayLike = None) -> StickBreakingParams:
    """The (empty) params; ``key`` is accepted and ignored."""
    del key
    return StickBreakingParams()


def _offsets(n: int, dtype) -> Array:
    """``log(K - 1 - k)`` for ``k < K - 1 = n``."""
    return jnp.log(jnp.arange(n, 0, -1, dtype=dtype))


def forward(params: StickBreakingParams, x: ArrayLike) -> tuple[Array, Array]:
    """The point of the simplex for ``x`` and ``log|det|``.

    Args:
        params: ``StickBreakingParams()``.
        x: real values of shape ``(..., K - 1)``.

    Returns:
        ``y`` of shape ``(..., K)``, positive and summing to 1, and the
        log-determinant of shape ``(...)``.

    Examples:
        >>> y, _ = jr.bijectors.stick_breaking.forward((), jnp.zeros(3))
        >>> y
        Array([0.25, 0.25, 0.25, 0.25], dtype=float32)
    """
    del params
    x = jnp.asarray(x)
    if x.ndim == 0:
        raise ValueError(
            "bijectors.stick_breaking: x must have shape (..., K - 1), got ()"
        )
    t = x - _offsets(x.shape[-1], x.dtype)
    log_z, log_rest = jax.nn.log_sigmoid(t), jax.nn.log_sigmoid(-t)
    log_r = jnp.cumsum(log_rest, axis=-1)  # log r_{k+1}, k = 0..K-2
    log_r_before = log_r - log_rest  # log r_k
    log_y = jnp.concatenate([log_r_before + log_z, log_r[..., -1:]], axis=-1)
    return jnp.exp(log_y), jnp.sum(log_r_before + log_z + log_rest, axis=-1)


def inverse(params: StickBreakingParams, y: ArrayLike) -> tuple[Array, Array]:
    """``x`` of shape ``(..., K - 1)`` for ``y`` on the simplex, and ``log|det|``.

    With ``r_k = sum_{j>=k} y_j`` (summed from the end, which keeps small
    remainders accurate), ``x_k = log y_k - log r_{k+1} + log(K - 1 - k)``.
    """
    del params
    y = jnp.asarray(y)
    if y.ndim == 0 or y.shape[-1] < 2:
        raise ValueError(
            f"bijectors.stick_breaking: y must have shape (..., K >= 2), got {y.shape}"
        )
    log_r = jnp.log(jnp.flip(jnp.cumsum(jnp.flip(y, -1), axis=-1), -1))  # log r_k
    log_y = jnp.log(y[..., :-1])
    x = log_y - log_r[..., 1:] + _offsets(y.shape[-1] - 1, y.dtype)
    forward_log_det = jnp.sum(log_y + log_r[..., 1:] - log_r[..., :-1], axis=-1)
    return x, -forward_log_det


def forward_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """``(..., K - 1) -> (..., K)``."""
    return (*shape[:-1], shape[-1] + 1)


def inverse_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """``(..., K) -> (..., K - 1)``."""
    return (*shape[:-1], shape[-1] - 1)


stick_breaking = Bijector(
    "stick_breaking",
    StickBreakingParams,
    init,
    forward,
    inverse,
    event_ndims=1,
    forward_shape=forward_shape,
    inverse_shape=inverse_shape,
)
