"""The lower-triangular affine bijector, ``y = loc + L x``, on the last axis.

``L`` is lower triangular with a positive diagonal, so ``y`` is a full-rank
linear image of ``x`` (the reparameterization of a full-covariance Gaussian,
``L L^T`` its covariance) and ``log|det dy/dx| = sum_i log L_ii``. The inverse is
a triangular solve, ``x = L^{-1} (y - loc)``.

The params store the diagonal unconstrained: ``L_ii = softplus(raw_diag_i +
log(e - 1))``, which is 1 at ``raw_diag = 0`` (the identity), as in the
coupling layers' ``affine_transformer``. A softplus rather than ``exp``: the
scale then grows linearly, not exponentially, in its raw value, so a large
optimizer step cannot blow a scale up by orders of magnitude, while any real
``raw_diag`` still gives a positive diagonal (an invertible map). The strictly
lower triangle of ``lower`` is used as is; its diagonal and upper triangle
are ignored (they get zero gradients).

Examples:
    >>> scale_tril = jnp.array([[1.0, 0.0], [0.5, 2.0]])
    >>> params = jr.bijectors.tril_affine.init(loc=jnp.zeros(2), scale_tril=scale_tril)
    >>> y, log_det = jr.bijectors.tril_affine.forward(params, jnp.ones(2))
    >>> [round(float(v), 3) for v in y], round(float(log_det), 3)  # L x, log det L
    ([1.0, 2.5], 0.693)
    >>> x, _ = jr.bijectors.tril_affine.inverse(params, y)
    >>> [round(float(v), 3) for v in x]
    [1.0, 1.0]
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors._raw import (
    check_dim,
    check_event,
    log_softplus,
    softplus_inverse,
)
from jaxreparam.bijectors._transformer import SOFTPLUS_OF_ONE


class TrilAffineParams(NamedTuple):
    """Params of ``y = loc + L x``.

    Attributes:
        loc: the shift, shape ``(dim,)``.
        raw_diag: ``L``'s diagonal is ``softplus(raw_diag + log(e - 1))``,
            shape ``(dim,)``.
        lower: ``L``'s strictly lower triangle is ``tril(lower, -1)``, shape
            ``(dim, dim)`` (the rest of ``lower`` is unused).

    Examples:
        >>> params = jr.bijectors.tril_affine.init(dim=3)  # the identity
        >>> params._fields, params.lower.shape
        (('loc', 'raw_diag', 'lower'), (3, 3))
        >>> [round(float(v), 3) for v in params.raw_diag]  # L = I
        [0.0, 0.0, 0.0]
    """

    loc: Array
    raw_diag: Array
    lower: Array


def _is_tril_with_positive_diagonal(m):
    """Elementwise: finite, zero above the diagonal, positive on it."""
    n = m.shape[-1]
    upper = np.triu(np.ones((n, n), bool), 1)
    diagonal = np.eye(n, dtype=bool)
    finite = jnp.isfinite(m) if isinstance(m, jax.Array) else np.isfinite(m)
    return finite & (~upper | (m == 0)) & (~diagonal | (m > 0))


def init(
    key: ArrayLike = None,
    *,
    loc: ArrayLike = 0.0,
    scale_tril: ArrayLike | None = None,
    dim: int | None = None,
) -> TrilAffineParams:
    """Params of ``y = loc + scale_tril x``; the identity by default.

    Args:
        key: accepted and ignored (the start is ``loc`` and ``scale_tril``).
        loc: the shift, finite, broadcast to ``(dim,)``.
        scale_tril: ``L``, a ``(dim, dim)`` lower-triangular matrix with a
            finite, positive diagonal (default: the identity).
        dim: the event size; default: ``scale_tril``'s or ``loc``'s last axis,
            else 1.

    Returns:
        ``TrilAffineParams``, whose ``forward`` is exactly ``loc +
        scale_tril x`` (up to the rounding of the softplus and its inverse).

    Raises:
        TypeError: an argument has an integer, bool or complex dtype, or
            ``dim`` is not an int.
        ValueError: a concrete ``loc`` is not finite; a concrete
            ``scale_tril`` has a nonzero entry above the diagonal or a
            diagonal entry that is not finite and positive; the shapes do not
            agree with ``dim``.

    Examples:
        >>> params = jr.bijectors.tril_affine.init(
        ...     loc=jnp.array([1.0, 0.0]),
        ...     scale_tril=jnp.array([[2.0, 0.0], [1.0, 3.0]]),
        ... )
        >>> y, log_det = jr.bijectors.tril_affine.forward(params, jnp.ones(2))
        >>> y, round(float(log_det), 4)  # [1 + 2, 1 + 3], log 2 + log 3
        (Array([3., 4.], dtype=float32), 1.7918)
    """
    del key
    where = "bijectors.tril_affine.init"
    loc = _checks.real(where, "loc", loc)
    if scale_tril is not None:
        scale_tril = _checks.as_float(where, "scale_tril", scale_tril)
        if scale_tril.ndim != 2 or scale_tril.shape[0] != scale_tril.shape[1]:
            raise ValueError(
                f"{where}: scale_tril must be a square (dim, dim) matrix, got "
                f"shape {scale_tril.shape}"
            )
    inferred = (
        scale_tril.shape[-1]
        if scale_tril is not None
        else (loc.shape[-1] if loc.ndim else None)
    )
    dim = check_dim(where, dim if dim is not None else (inferred or 1))
    if inferred is not None and inferred != dim:
        raise ValueError(f"{where}: dim is {dim}, but the given values have {inferred}")
    if loc.ndim > 1:
        raise ValueError(f"{where}: loc must have shape () or (dim,), got {loc.shape}")
    if scale_tril is None:
        scale_tril = jnp.eye(dim, dtype=loc.dtype)
    scale_tril = _checks.check_value(
        where,
        "scale_tril",
        scale_tril,
        _is_tril_with_positive_diagonal,
        "lower triangular with a finite, positive diagonal",
    )
    # Under jit, one invalid entry (even above the diagonal, which is dropped)
    # makes the whole matrix NaN.
    scale_tril = jnp.where(jnp.isnan(scale_tril).any(), jnp.nan, scale_tril)
    loc, scale_tril = _checks.same_dtype(loc, scale_tril)
    raw_diag = softplus_inverse(jnp.diagonal(scale_tril)) - SOFTPLUS_OF_ONE
    return TrilAffineParams(
        jnp.broadcast_to(loc, (dim,)), raw_diag, jnp.tril(scale_tril, -1)
    )


def _parts(params: TrilAffineParams) -> tuple[Array, Array]:
    """``L`` and ``log diag L``."""
    raw = params.raw_diag + SOFTPLUS_OF_ONE
    tril = jnp.tril(params.lower, -1) + jnp.diag(jax.nn.softplus(raw))
    return tril, log_softplus(raw)


def forward(params: TrilAffineParams, x: ArrayLike) -> tuple[Array, Array]:
    """``y = loc + L x`` on the last axis, and ``log|det L| = sum log L_ii``.

    Args:
        params: ``TrilAffineParams``.
        x: real values of shape ``(..., dim)``.

    Returns:
        ``y`` of shape ``(..., dim)`` and the log-determinant of shape ``(...)``.

    Raises:
        ValueError: ``x``'s last axis is not ``dim``.

    Examples:
        >>> params = jr.bijectors.tril_affine.init(
        ...     scale_tril=jnp.array([[1.0, 0.0], [-1.0, 0.5]])
        ... )
        >>> y, log_det = jr.bijectors.tril_affine.forward(params, jnp.ones((3, 2)))
        >>> y.shape, log_det.shape
        ((3, 2), (3,))
    """
    x = jnp.asarray(x)
    check_event("bijectors.tril_affine.forward", "x", x, params.loc.shape[-1])
    tril, log_diag = _parts(params)
    y = params.loc + jnp.einsum("ij,...j->...i", tril, x)
    return y, jnp.broadcast_to(jnp.sum(log_diag), y.shape[:-1]).astype(y.dtype)


def inverse(params: TrilAffineParams, y: ArrayLike) -> tuple[Array, Array]:
    """``x = L^{-1} (y - loc)`` by a triangular solve, and ``-sum log L_ii``.

    Args:
        params: ``TrilAffineParams``.
        y: real values of shape ``(..., dim)``.

    Returns:
        ``x`` of shape ``(..., dim)`` and the log-determinant of shape ``(...)``.

    Examples:
        >>> params = jr.bijectors.tril_affine.init(
        ...     scale_tril=jnp.array([[2.0, 0.0], [1.0, 1.0]])
        ... )
        >>> x, _ = jr.bijectors.tril_affine.inverse(params, jnp.array([2.0, 3.0]))
        >>> x
        Array([1., 2.], dtype=float32)
    """
    y = jnp.asarray(y)
    dim = params.loc.shape[-1]
    check_event("bijectors.tril_affine.inverse", "y", y, dim)
    tril, log_diag = _parts(params)
    centred = y - params.loc
    batch = centred.shape[:-1]
    flat = centred.reshape(-1, dim).T  # one column per point
    x = jax.scipy.linalg.solve_triangular(tril, flat, lower=True).T.reshape(*batch, dim)
    return x, jnp.broadcast_to(-jnp.sum(log_diag), batch).astype(x.dtype)


tril_affine = Bijector(
    "tril_affine", TrilAffineParams, init, forward, inverse, event_ndims=1
)
