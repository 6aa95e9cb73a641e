"""Linear algebra of the multivariate normal's three scales (private).

Three covariance structures share one vocabulary:

- ``factors``: ``cov = F F^T + diag(g^2)``, with ``F`` of shape ``(..., n, m)``
  (or ``None``) and ``g`` of shape ``(..., n)`` (or ``None``). Diagonal scale:
  ``(None, scale_diag)``; Cholesky scale: ``(scale_tril, None)``; low rank plus
  diagonal: ``(cov_factor, sqrt(cov_diag))``.
- ``quadratic(x, g)``: ``sum_j x_j^T cov^{-1} x_j`` over the columns of ``x``
  (shape ``(..., n, m)``) plus ``sum_i g_i^2 (cov^{-1})_ii``, returned with
  ``log det cov``. With ``x = z - loc`` it is the Mahalanobis term of the
  log-density; with ``x = [F_p, loc_p - loc_q]`` and ``g = g_p`` it is the trace
  and Mahalanobis terms of ``KL(p || q)``.

No ``n x n`` matrix is built for the diagonal and low-rank structures; the
low-rank inverse and determinant go through the ``k x k`` capacitance matrix
``C = I + W^T D^{-1} W`` (Woodbury identity, matrix determinant lemma).

``DIAG``, ``TRIL`` and ``LOW_RANK`` bundle these operations for each scale; they
read the params by attribute, and ``multivariate_normal`` maps its params types
to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

from jaxreparam import _checks
from jaxreparam.distributions import _common

Array = Any


# --------------------------------------------------------------------------- #
# Shapes and checks used by the ``init`` functions.


def event_broadcast(
    where: str,
    shapes: dict[str, tuple[int, ...]],
    events: dict[str, int],
    rigid: tuple[str, ...] = (),
) -> tuple[tuple[int, ...], int]:
    """``(batch_shape, n)``, the broadcast batch shape and event size of arguments.

    ``shapes`` are the arguments' full shapes by name; ``events`` says how many
    trailing axes of each are event axes, the first of them of size ``n``
    (``loc``'s last axis, a matrix's rows). The arguments named in ``rigid`` (a
    square matrix) cannot be stretched from 1 to ``n``. A ``ValueError`` naming
    every argument and its shape says when they do not broadcast.
    """
    sizes = {k: s[len(s) - events[k]] for k, s in shapes.items()}
    try:
        batch = jnp.broadcast_shapes(
            *(s[: len(s) - events[k]] for k, s in shapes.items())
        )
        (n,) = jnp.broadcast_shapes(*((size,) for size in sizes.values()))
        if any(sizes[k] != n for k in rigid):
            raise ValueError
    except ValueError:
        listed = ", ".join(f"{k} with shape {s}" for k, s in shapes.items())
        raise ValueError(f"{where}: cannot broadcast {listed}") from None
    return tuple(batch), n


def broadcast_events(
    where: str, events: dict[str, int], **values: Array
) -> tuple[Array, ...]:
    """``values`` with their event sizes stretched to one ``n``, in one dtype.

    ``events`` gives each value's number of event axes, as in
    :func:`event_broadcast`; the first of them is stretched.
    """
    _, n = event_broadcast(where, {k: v.shape for k, v in values.items()}, events)
    return _checks.same_dtype(*(stretch(v, -events[k], n) for k, v in values.items()))


def vector(where: str, name: str, value: Any, check: Callable) -> Array:
    """``check(where, name, value)`` as at least a vector (0-d: one entry)."""
    return jnp.atleast_1d(check(where, name, value))


def stretch(value: Array, axis: int, n: int) -> Array:
    """``value`` with its event axis ``axis`` (1 or ``n`` long) made ``n`` long."""
    shape = list(value.shape)
    shape[axis] = n
    return jnp.broadcast_to(value, tuple(shape))


def nan_if_any(value: Array, event_ndim: int) -> Array:
    """Under tracing, NaN across a whole event if any of its entries is NaN.

    The value checks turn an invalid traced entry into NaN; one NaN entry of a
    covariance must spoil the whole event, never leave plausible numbers beside
    it. Concrete values were already checked and are returned unchanged. The
    entries are finite or NaN here (the checks turned infinities into NaN), so
    adding ``0 * sum`` changes nothing else, and its gradient is zero.
    """
    if _checks.is_concrete(value) or event_ndim == 0:
        return value
    # Arithmetic rather than ``jnp.where(isnan(...).any(), nan, value)``: XLA's
    # CPU backend (jax 0.10.2) returns garbage for ``exp`` of a select between a
    # NaN constant and an array under one broadcast predicate.
    axes = tuple(range(-event_ndim, 0))
    return value + 0.0 * jnp.sum(value, axes, keepdims=True)


# --------------------------------------------------------------------------- #
# Lower-triangular factors stored with the log of their diagonal.


def _with_diagonal(matrix: Array, diagonal: Array) -> Array:
    eye = jnp.eye(matrix.shape[-1], dtype=bool)
    return jnp.where(eye, diagonal[..., None, :], matrix)


def tril_from_raw(raw: Array) -> Array:
    """The Cholesky factor: ``raw``'s strict lower triangle, ``exp`` of its diagonal.

    Entries above the diagonal are ignored, so every ``raw`` is valid.
    """
    diagonal = jnp.exp(jnp.diagonal(raw, axis1=-2, axis2=-1))
    return _with_diagonal(jnp.tril(raw, -1), diagonal)


def raw_from_tril(tril: Array, diagonal: Array) -> Array:
    """The inverse of :func:`tril_from_raw`, given the (positive) diagonal."""
    return _with_diagonal(jnp.tril(tril, -1), jnp.log(diagonal))


# --------------------------------------------------------------------------- #
# Quadratic forms with the inverse covariance.


def _side_by_side(a: Array, b: Array) -> Array:
    """The columns of ``a`` then those of ``b``, their batch axes broadcast."""
    batch = jnp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return jnp.concatenate(
        [
            jnp.broadcast_to(a, batch + a.shape[-2:]),
            jnp.broadcast_to(b, batch + b.shape[-2:]),
        ],
        axis=-1,
    )


def cholesky_quadratic(tril: Array, x: Array, g: Array | None) -> Array:
    """``sum_j x_j^T (L L^T)^{-1} x_j + sum_i g_i^2 ((L L^T)^{-1})_ii``.

    One triangular solve; leading axes of ``x`` that ``tril`` does not have
    become extra right-hand sides rather than copies of ``tril``.
    """
    if g is not None:
        columns = _with_diagonal(jnp.zeros(g.shape + g.shape[-1:], g.dtype), g)
        x = _side_by_side(x, columns)
    white = solve_triangular(tril, x, lower=True)
    return jnp.sum(white**2, axis=(-2, -1))


def low_rank_whitening(cov_factor: Array, log_cov_diag: Array) -> tuple[Array, ...]:
    """``D^{-1/2}`` and ``D^{-1/2} W`` and the Cholesky factor of ``I + W^T D^-1 W``."""
    inv_sqrt_d = jnp.exp(-0.5 * log_cov_diag)
    white_factor = cov_factor * inv_sqrt_d[..., None]
    k = cov_factor.shape[-1]
    capacitance = jnp.swapaxes(white_factor, -1, -2) @ white_factor + jnp.eye(
        k, dtype=cov_factor.dtype
    )
    return inv_sqrt_d, white_factor, jnp.linalg.cholesky(capacitance)


def low_rank_log_det(log_cov_diag: Array, chol: Array) -> Array:
    """``log det(W W^T + D) = log det C + sum log d`` (determinant lemma)."""
    log_det_c = 2 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), -1)
    return log_det_c + jnp.sum(log_cov_diag, -1)


def low_rank_quadratic(
    white_factor: Array, chol: Array, u: Array, g_white: Array | None = None
) -> Array:
    """The quadratic form of ``(W W^T + D)^{-1}`` on whitened columns.

    With ``u = D^{-1/2} x`` (shape ``(..., n, m)``) and ``g_white = g D^{-1/2}``,
    Woodbury gives ``x^T cov^{-1} x = |u|^2 - |L_C^{-1} (D^{-1/2} W)^T u|^2``,
    and the ``g`` part treats ``diag(g_white)`` as ``n`` more columns without
    building it.
    """
    transposed = jnp.swapaxes(white_factor, -1, -2)
    projected = transposed @ u
    total = jnp.sum(u**2, axis=(-2, -1))
    if g_white is not None:
        projected = _side_by_side(projected, transposed * g_white[..., None, :])
        total = total + jnp.sum(g_white**2, -1)
    white = solve_triangular(chol, projected, lower=True)
    return total - jnp.sum(white**2, axis=(-2, -1))


# --------------------------------------------------------------------------- #
# What each scale does: ``z - loc`` from the noise, the quadratic form and
# log-determinant of the covariance, its factors.


class Scale(NamedTuple):
    """What one scale structure does, as functions of its params.

    Attributes:
        batch_shape: the scale's own batch shape (without ``loc``'s).
        noise_size: entries of standard normal noise per event.
        scale: ``(params, eps) -> z - loc``.
        from_noise: ``(params, eps) -> (z - loc, quadratic, log det cov)``, the
            Mahalanobis term computed from the noise.
        quadratic_and_log_det: ``(params, x, g) -> (quadratic, log det cov)``, as
            described in the module docstring.
        log_det: ``params -> log det cov``.
        factors: ``params -> (F, g)``.
        to_natural: ``params -> dict`` of natural values.
    """

    batch_shape: Callable[[Any], tuple[int, ...]]
    noise_size: Callable[[Any], int]
    scale: Callable[[Any, Array], Array]
    from_noise: Callable[[Any, Array], tuple[Array, Array, Array]]
    quadratic_and_log_det: Callable[[Any, Array, Any], tuple[Array, Array]]
    log_det: Callable[[Any], Array]
    factors: Callable[[Any], tuple[Array | None, Array | None]]
    to_natural: Callable[[Any], dict[str, Array]]


def _square_from_noise(scale: Callable, log_det: Callable, p: Any, eps: Array):
    """``from_noise`` of a square scale ``S``: the Mahalanobis term is ``|eps|^2``."""
    return scale(p, eps), jnp.sum(eps**2, -1), log_det(p)


def _diag_log_det(p: Any) -> Array:
    return 2 * jnp.sum(p.log_scale_diag, -1)


def _diag_scale(p: Any, eps: Array) -> Array:
    return jnp.exp(p.log_scale_diag) * eps


def _diag_quadratic(p, x, g):
    inverse_variance = jnp.exp(-2 * p.log_scale_diag)
    quadratic = jnp.sum(x**2 * inverse_variance[..., None], axis=(-2, -1))
    if g is not None:
        quadratic = quadratic + jnp.sum(g**2 * inverse_variance, -1)
    return quadratic, _diag_log_det(p)


DIAG = Scale(
    batch_shape=lambda p: p.log_scale_diag.shape[:-1],
    noise_size=lambda p: p.loc.shape[-1],
    scale=_diag_scale,
    from_noise=lambda p, eps: _square_from_noise(_diag_scale, _diag_log_det, p, eps),
    quadratic_and_log_det=_diag_quadratic,
    log_det=_diag_log_det,
    factors=lambda p: (None, jnp.exp(p.log_scale_diag)),
    to_natural=lambda p: {"loc": p.loc, "scale_diag": jnp.exp(p.log_scale_diag)},
)


@jax.custom_jvp
def _trace(matrix: Array) -> Array:
    """The sum of the diagonal (last two axes), its derivative a mask.

    The value is the sum of ``jnp.diagonal``; the derivative is written as a
    masked sum, whose transpose is a select rather than the scatter that
    ``jnp.diagonal``'s gather transposes to: on XLA's CPU backend the scatter
    (merged with the Cholesky factor's own diagonal) was about 20 us of a 170
    us ELBO gradient at ``n = 10``, 128 draws.
    """
    return jnp.sum(jnp.diagonal(matrix, axis1=-2, axis2=-1), -1)


@_trace.defjvp
def _trace_jvp(primals, tangents):
    (matrix,), (tangent,) = primals, tangents
    eye = jnp.eye(matrix.shape[-1], dtype=bool)
    masked = jnp.where(eye, tangent, jnp.zeros_like(tangent))
    return _trace(matrix), jnp.sum(masked, (-2, -1))


def _tril_log_det(p: Any) -> Array:
    return 2 * _trace(p.raw_scale_tril)


def _tril_scale(p: Any, eps: Array) -> Array:
    lower = tril_from_raw(p.raw_scale_tril)
    if lower.ndim > 2:  # a batch of factors: one matmul per event, broadcast
        return (eps[..., None, :] @ jnp.swapaxes(lower, -1, -2))[..., 0, :]
    if _short_ragged(eps):
        # L eps^T, as (n, n) x (m, n, 1) -> (n, m, 1): XLA then makes the noise
        # as a transposed copy with the m draws along the vectorized axis. At
        # n = 10 the gradient ran 0.77x hand-written's eps L^T (TFP's form);
        # at n = 8 it ran 1.13x and at n = 50-500 1.02-1.13x.
        flat = eps.reshape(-1, eps.shape[-1], 1)
        zt = jax.lax.dot_general(lower, flat, (((1,), (1,)), ((), ())))
        return jnp.transpose(zt, (1, 0, 2)).reshape(eps.shape)
    # eps L^T with the draws as rows: XLA makes the noise once and feeds it to
    # one matmul, whose gradient in L is one dot over the draws.
    return eps @ lower.T


def _short_ragged(eps: Array) -> bool:
    """Whether the event axis is short and not a whole number of CPU vectors.

    XLA's CPU backend vectorizes a loop along its last axis in 256-bit vectors;
    an axis of 10 float32 leaves a scalar remainder of 2 on every row. Below 64
    entries that remainder is a large share of the work. On GPU and TPU either
    form is one dot.
    """
    n = eps.shape[-1]
    lanes = max(1, 32 // eps.dtype.itemsize)
    return n < _common.SHORT_AXIS and n % lanes != 0


TRIL = Scale(
    batch_shape=lambda p: p.raw_scale_tril.shape[:-2],
    noise_size=lambda p: p.loc.shape[-1],
    scale=_tril_scale,
    from_noise=lambda p, eps: _square_from_noise(_tril_scale, _tril_log_det, p, eps),
    quadratic_and_log_det=lambda p, x, g: (
        cholesky_quadratic(tril_from_raw(p.raw_scale_tril), x, g),
        _tril_log_det(p),
    ),
    log_det=_tril_log_det,
    factors=lambda p: (tril_from_raw(p.raw_scale_tril), None),
    to_natural=lambda p: {
        "loc": p.loc,
        "scale_tril": tril_from_raw(p.raw_scale_tril),
    },
)


def _low_rank_parts(p: Any, eps: Array):
    """``(W eps1, eps2)`` from one draw ``eps = [eps1, eps2]`` of ``k + n``."""
    k = p.cov_factor.shape[-1]
    return (p.cov_factor @ eps[..., :k, None])[..., 0], eps[..., k:]


def _low_rank_scale(p: Any, eps: Array) -> Array:
    factor_part, eps2 = _low_rank_parts(p, eps)
    return factor_part + jnp.exp(0.5 * p.log_cov_diag) * eps2


def _low_rank_from_noise(p: Any, eps: Array):
    inv_sqrt_d, white_factor, chol = low_rank_whitening(p.cov_factor, p.log_cov_diag)
    factor_part, eps2 = _low_rank_parts(p, eps)
    # D^{-1/2} (z - loc), from the noise rather than from z - loc.
    white = factor_part * inv_sqrt_d + eps2
    quadratic = low_rank_quadratic(white_factor, chol, white[..., None])
    return (
        factor_part + jnp.exp(0.5 * p.log_cov_diag) * eps2,
        quadratic,
        low_rank_log_det(p.log_cov_diag, chol),
    )


def _low_rank_quadratic(p: Any, x, g):
    inv_sqrt_d, white_factor, chol = low_rank_whitening(p.cov_factor, p.log_cov_diag)
    g_white = None if g is None else g * inv_sqrt_d
    quadratic = low_rank_quadratic(
        white_factor, chol, x * inv_sqrt_d[..., None], g_white
    )
    return quadratic, low_rank_log_det(p.log_cov_diag, chol)


LOW_RANK = Scale(
    batch_shape=lambda p: jnp.broadcast_shapes(
        p.cov_factor.shape[:-2], p.log_cov_diag.shape[:-1]
    ),
    noise_size=lambda p: p.cov_factor.shape[-1] + p.loc.shape[-1],
    scale=_low_rank_scale,
    from_noise=_low_rank_from_noise,
    quadratic_and_log_det=_low_rank_quadratic,
    log_det=lambda p: low_rank_log_det(
        p.log_cov_diag,
        low_rank_whitening(p.cov_factor, p.log_cov_diag)[2],
    ),
    factors=lambda p: (p.cov_factor, jnp.exp(0.5 * p.log_cov_diag)),
    to_natural=lambda p: {
        "loc": p.loc,
        "cov_factor": p.cov_factor,
        "cov_diag": jnp.exp(p.log_cov_diag),
    },
)
