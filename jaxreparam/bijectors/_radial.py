"""The radial flow of Rezende & Mohamed (2015): ``f(z) = z + beta h(r) (z - z0)``.

``h(r) = 1 / (alpha + r)`` with ``r = |z - z0|``: each layer contracts or
expands the space around the point ``z0``. In ``d`` dimensions (their eq. 14)

``log|det df/dz| = (d - 1) log(1 + beta h) + log(1 + beta h + beta h'(r) r)``.

The map is invertible when ``alpha > 0`` and ``beta >= -alpha`` (their
appendix A): then ``|f(z) - z0| = r (1 + beta / (alpha + r))`` increases
strictly with ``r``. The params store ``alpha = softplus(raw_alpha)`` and
``beta = -alpha + softplus(raw_beta)``, so any real raw values (an optax step)
keep it invertible. With ``s = alpha + beta = softplus(raw_beta) >= 0``, the
log-determinant is computed from sums of nonnegative terms, ``1 + beta h =
(s + r) / (alpha + r)`` and ``1 + beta h + beta h' r = (r (r + 2 alpha) + s
alpha) / (alpha + r)^2``, so it keeps its precision when ``beta`` is near
``-alpha``.

The inverse is closed form: ``p = |y - z0|`` gives the quadratic ``r^2 + (s - p)
r - alpha p = 0`` in ``r``, whose nonnegative root is taken in the form that
does not cancel; then ``z = z0 + (y - z0) r / p`` (``z = z0`` at ``y = z0``).

Examples:
    >>> params = jr.bijectors.radial.init(jax.random.key(0), dim=3)
    >>> x = jax.random.normal(jax.random.key(1), (5, 3))
    >>> y, log_det = jr.bijectors.radial.forward(params, x)
    >>> y.shape, log_det.shape  # one log-determinant per row
    ((5, 3), (5,))
    >>> bool(jnp.allclose(jr.bijectors.radial.inverse(params, y)[0], x, atol=1e-4))
    True

References:
    D. J. Rezende and S. Mohamed, "Variational inference with normalizing
    flows", ICML 2015, eq. 14 and appendix A.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors._raw import check_dim, check_event, softplus_inverse


class RadialParams(NamedTuple):
    """Raw params of one radial layer (any real values give an invertible map).

    Attributes:
        z0: the centre, shape ``(dim,)``.
        raw_alpha: ``alpha = softplus(raw_alpha)``, shape ``()``.
        raw_beta: ``beta = -alpha + softplus(raw_beta)``, shape ``()``.

    Examples:
        >>> params = jr.bijectors.radial.init(jax.random.key(0), dim=3)
        >>> params._fields, params.z0.shape, params.raw_alpha.shape
        (('z0', 'raw_alpha', 'raw_beta'), (3,), ())
    """

    z0: Array
    raw_alpha: Array
    raw_beta: Array


def init(
    key: ArrayLike = None,
    *,
    z0: ArrayLike | None = None,
    alpha: ArrayLike | None = None,
    beta: ArrayLike | None = None,
    dim: int | None = None,
) -> RadialParams:
    """Params of a radial layer: random from ``key``, or from natural values.

    Without ``z0``, ``alpha`` and ``beta``: with a ``key``, random params
    (``z0`` standard normal, ``raw_alpha`` and ``raw_beta`` normal with
    standard deviation 0.5); without one, the identity (``z0 = 0``, ``alpha =
    1``, ``beta = 0``). Given any of them, the key is ignored and the missing
    ones take those identity defaults.

    Args:
        key: a PRNG key for random params, or ``None``.
        z0: the centre, shape ``(dim,)``, finite.
        alpha: a finite, positive scalar.
        beta: a finite scalar, ``beta >= -alpha`` (at ``beta = -alpha`` the
            stored ``raw_beta`` is ``-inf``, and the Jacobian at ``z0`` is
            singular).
        dim: the event size; default: ``z0``'s, else 1.

    Returns:
        ``RadialParams`` (raw).

    Raises:
        TypeError: an argument has an integer, bool or complex dtype, or
            ``dim`` is not an int.
        ValueError: a concrete value is out of its range (the error names
            ``alpha`` or ``beta`` and its value) or the shapes disagree. Under
            ``jax.jit`` invalid values give NaN params instead, and inside
            ``jr.checking()`` a checkify error.

    Examples:
        >>> params = jr.bijectors.radial.init(z0=jnp.zeros(2), alpha=1.0, beta=1.0)
        >>> y, log_det = jr.bijectors.radial.forward(params, jnp.array([1.0, 0.0]))
        >>> y  # r = 1: moved out by beta / (alpha + r) = 1/2
        Array([1.5, 0. ], dtype=float32)
    """
    where = "bijectors.radial.init"
    given = {
        k: v for k, v in (("z0", z0), ("alpha", alpha), ("beta", beta)) if v is not None
    }
    values = {k: _checks.real(where, k, v) for k, v in given.items()}
    if "z0" in values and values["z0"].ndim != 1:
        raise ValueError(
            f"{where}: z0 must have shape (dim,), got {values['z0'].shape}"
        )
    for name in ("alpha", "beta"):
        if name in values and values[name].ndim != 0:
            raise ValueError(
                f"{where}: {name} must be a scalar, got shape {values[name].shape}"
            )
    inferred = values["z0"].shape[0] if "z0" in values else None
    dim = check_dim(where, dim if dim is not None else (inferred or 1))
    if inferred is not None and inferred != dim:
        raise ValueError(f"{where}: dim is {dim}, but z0 has size {inferred}")
    if not values and key is not None:
        key = _checks.check_key(key)
        z0_key, raw_key = jax.random.split(key)
        raw = 0.5 * jax.random.normal(raw_key, (2,))
        return RadialParams(jax.random.normal(z0_key, (dim,)), raw[0], raw[1])
    dtype = jnp.result_type(*values.values()) if values else jnp.result_type(float)
    z0 = values.get("z0", jnp.zeros(dim, dtype))
    alpha = values.get("alpha", jnp.ones((), dtype))
    beta = values.get("beta", jnp.zeros((), dtype))
    z0, alpha, beta = _checks.same_dtype(z0, alpha, beta)
    alpha = _checks.check_value(where, "alpha", alpha, lambda a: a > 0, "positive")
    beta = _checks.check_value(
        where,
        "beta",
        beta,
        lambda v: v >= -alpha,
        f"at least -alpha{_value(alpha)} (the radial map is not invertible otherwise)",
    )
    return RadialParams(z0, softplus_inverse(alpha), softplus_inverse(alpha + beta))


def _value(alpha: Array) -> str:
    """`` (alpha = <alpha>)`` for a concrete ``alpha``, else nothing."""
    return f" (alpha = {float(alpha)!r})" if _checks.is_concrete(alpha) else ""


def _check(where: str, params: RadialParams, x: Array) -> Array:
    return check_event(where, "the input", x, params.z0.shape[-1])


def _norm(d: Array) -> Array:
    """``|d|`` over the last axis, with zero (not NaN) gradients at ``d = 0``."""
    square = jnp.sum(d * d, axis=-1)
    positive = square > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, square, 1.0)), 0.0)


def _log_det(alpha: Array, s: Array, r: Array, dim: int) -> Array:
    """The forward log-determinant at radius ``r``."""
    log_ar = jnp.log(alpha + r)
    return (dim - 1) * (jnp.log(s + r) - log_ar) + (
        jnp.log(r * (r + 2.0 * alpha) + s * alpha) - 2.0 * log_ar
    )


def forward(params: RadialParams, x: ArrayLike) -> tuple[Array, Array]:
    """``y = x + beta (x - z0) / (alpha + |x - z0|)`` and ``log|det dy/dx|``.

    Args:
        params: ``RadialParams``.
        x: real values of shape ``(..., dim)``.

    Returns:
        ``y`` of shape ``(..., dim)`` and the log-determinant of shape ``(...)``.

    Raises:
        ValueError: ``x``'s last axis is not ``dim``.

    Examples:
        >>> params = jr.bijectors.radial.init(jax.random.key(0), dim=3)
        >>> y, log_det = jr.bijectors.radial.forward(params, jnp.ones((4, 3)))
        >>> y.shape, log_det.shape
        ((4, 3), (4,))
    """
    x = _check("bijectors.radial.forward", params, jnp.asarray(x))
    alpha = jax.nn.softplus(params.raw_alpha)
    s = jax.nn.softplus(params.raw_beta)  # alpha + beta
    d = x - params.z0
    r = _norm(d)
    y = x + ((s - alpha) / (alpha + r))[..., None] * d
    return y, _log_det(alpha, s, r, x.shape[-1])


def inverse(params: RadialParams, y: ArrayLike) -> tuple[Array, Array]:
    """``x`` with ``forward(params, x)[0] == y`` in closed form, and its log-det.

    Args:
        params: ``RadialParams``.
        y: real values of shape ``(..., dim)``.

    Returns:
        ``x`` of shape ``(..., dim)`` and ``log|det dx/dy|`` of shape ``(...)``.

    Examples:
        >>> params = jr.bijectors.radial.init(z0=jnp.zeros(2), alpha=1.0, beta=1.0)
        >>> x, _ = jr.bijectors.radial.inverse(params, jnp.array([1.5, 0.0]))
        >>> x
        Array([1., 0.], dtype=float32)
    """
    y = _check("bijectors.radial.inverse", params, jnp.asarray(y))
    alpha = jax.nn.softplus(params.raw_alpha)
    s = jax.nn.softplus(params.raw_beta)
    d = y - params.z0
    p = _norm(d)
    # r / p, from the root of r^2 + (s - p) r - alpha p = 0 that does not cancel.
    gap = p - s
    root = jnp.sqrt(gap * gap + 4.0 * alpha * p)
    outward = gap > 0
    ratio = jnp.where(
        outward,
        (gap + root) / (2.0 * jnp.where(outward, p, 1.0)),
        2.0 * alpha / jnp.where(outward, 1.0, root - gap),
    )
    x = params.z0 + ratio[..., None] * d
    return x, -_log_det(alpha, s, ratio * p, y.shape[-1])


radial = Bijector("radial", RadialParams, init, forward, inverse, event_ndims=1)
