"""Permutations of the last axis: ``permute(permutation)`` and ``reverse``.

``y = x[..., permutation]`` moves coordinates and leaves volumes alone, so the
log-determinant is 0. Between coupling or autoregressive layers, a permutation
lets every coordinate be transformed in turn; ``reverse`` (``y = x[..., ::-1]``)
is the usual choice and works for any event size.

Examples:
    >>> x = jnp.array([10.0, 20.0, 30.0])
    >>> params = jr.bijectors.reverse.init()
    >>> y, log_det = jr.bijectors.reverse.forward(params, x)
    >>> y.tolist(), float(log_det)
    ([30.0, 20.0, 10.0], 0.0)
    >>> rotate = jr.bijectors.permute([2, 0, 1])  # y = x[[2, 0, 1]]
    >>> rotate.forward(rotate.init(), x)[0].tolist()
    [30.0, 10.0, 20.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors._raw import check_event, empty_init


class PermuteParams(NamedTuple):
    """No params (the permutation is configuration, closed over).

    Examples:
        >>> b = jr.bijectors.permute([1, 0])
        >>> b.init()  # the permutation lives in the bundle, not in the params
        PermuteParams()
    """


class ReverseParams(NamedTuple):
    """No params.

    Examples:
        >>> jr.bijectors.reverse.init()
        ReverseParams()
    """


def _zeros(x: Array) -> Array:
    return jnp.zeros(x.shape[:-1], x.dtype)


def _last_axis(where: str, name: str, x: ArrayLike) -> Array:
    x = jnp.asarray(x)
    if x.ndim == 0:
        raise ValueError(f"{where}: {name} must have shape (..., D), got ()")
    return x


def permute(permutation: Sequence[int]) -> Bijector:
    """The bijector ``y = x[..., permutation]`` on the last axis.

    Args:
        permutation: a permutation of ``range(D)`` (a sequence or 1-D integer
            array, concrete), where ``D`` is the event size: ``y[..., i] =
            x[..., permutation[i]]``.

    Returns:
        A ``Bijector`` with ``event_ndims=1`` and empty ``PermuteParams``;
        its ``inverse`` applies the inverse permutation. Both log-determinants
        are 0, of shape ``x.shape[:-1]``.

    Raises:
        ValueError: ``permutation`` is not a permutation of ``range(D)`` (the
            error names it), or ``x``'s last axis is not ``D``.

    Examples:
        >>> swap = jr.bijectors.permute([2, 0, 1])
        >>> y, log_det = swap.forward(swap.init(), jnp.array([10.0, 11.0, 12.0]))
        >>> y, float(log_det)
        (Array([12., 10., 11.], dtype=float32), 0.0)
        >>> swap.inverse((), y)[0]
        Array([10., 11., 12.], dtype=float32)
    """
    where = "bijectors.permute"
    try:
        order = np.asarray(permutation)
    except Exception:  # noqa: BLE001 - a value numpy cannot read is no permutation
        order = None
    if (
        order is None
        or order.ndim != 1
        or order.size == 0
        or not (
            np.issubdtype(order.dtype, np.integer)
            and np.array_equal(np.sort(order), np.arange(order.size))
        )
    ):
        raise ValueError(
            f"{where}: permutation must be a permutation of range(D), a 1-D "
            f"sequence of the ints 0, ..., D - 1 each once, got {permutation!r}"
        )
    order = order.astype(np.int64)
    undo = np.argsort(order)
    dim = int(order.size)

    def forward(params: PermuteParams, x: ArrayLike) -> tuple[Array, Array]:
        del params
        x = check_event(where, "x", _last_axis(where, "x", x), dim)
        return x[..., order], _zeros(x)

    def inverse(params: PermuteParams, y: ArrayLike) -> tuple[Array, Array]:
        del params
        y = check_event(where, "y", _last_axis(where, "y", y), dim)
        return y[..., undo], _zeros(y)

    return Bijector(
        f"permute({order.tolist()})",
        PermuteParams,
        empty_init(PermuteParams),
        forward,
        inverse,
        event_ndims=1,
    )


def reverse_forward(params: ReverseParams, x: ArrayLike) -> tuple[Array, Array]:
    """``(x[..., ::-1], 0)``: the last axis reversed, any event size.

    Args:
        params: ``ReverseParams()``.
        x: real values of shape ``(..., D)``.

    Returns:
        ``y`` of the shape of ``x`` and zeros of shape ``x.shape[:-1]``.

    Examples:
        >>> y, log_det = jr.bijectors.reverse.forward((), jnp.array([1.0, 2.0, 3.0]))
        >>> y
        Array([3., 2., 1.], dtype=float32)
    """
    del params
    x = _last_axis("bijectors.reverse", "x", x)
    return x[..., ::-1], _zeros(x)


def reverse_inverse(params: ReverseParams, y: ArrayLike) -> tuple[Array, Array]:
    """``(y[..., ::-1], 0)``: reversing is its own inverse."""
    del params
    y = _last_axis("bijectors.reverse", "y", y)
    return y[..., ::-1], _zeros(y)


reverse = Bijector(
    "reverse",
    ReverseParams,
    empty_init(ReverseParams),
    reverse_forward,
    reverse_inverse,
    event_ndims=1,
)
