"""Monotone rational-quadratic splines (Durkan et al. 2019), elementwise.

On ``[-bound, bound]`` the map is a spline of ``num_bins`` bins with knots
``(x_k, y_k)`` and derivatives ``d_k`` at the knots; outside it is the
identity (``log|dy/dx| = 0``). The end derivatives are 1, so the map is
continuously differentiable everywhere. In bin ``k``, with ``w = x_{k+1} -
x_k``, ``h = y_{k+1} - y_k``, ``s = h / w`` and ``t = (x - x_k) / w``,

``y = y_k + h (s t^2 + d_k t (1 - t)) / (s + (d_{k+1} + d_k - 2 s) t (1 - t))``

and ``dy/dx = s^2 (d_{k+1} t^2 + 2 s t (1 - t) + d_k (1 - t)^2) / (s + (d_{k+1}
+ d_k - 2 s) t (1 - t))^2`` (their eqs. 4 and 5, appendix A). The inverse
solves a quadratic for ``t`` in the stable form ``t = 2c / (-b - sqrt(b^2 -
4ac))`` (their eqs. 6-8). The map is increasing for any positive widths,
heights and derivatives, which come from unconstrained numbers:

- bin widths ``2 bound (m + (1 - m K) softmax(raw_widths))`` (``m`` is the
  ``min_bin_size``, a fraction of the interval), likewise the heights;
- interior derivatives ``1 + (1 - min_derivative) elu(raw)``: at least
  ``min_derivative``, linear in large ``raw`` (as a softplus would be), and
  exactly 1 at ``raw = 0``.

So any real raw numbers give an invertible map, and raw numbers all zero give
equal bins with slope 1 everywhere: the identity, bitwise (in such a bin the
value is ``x`` and the log-derivative 0, selected, with the gradients of the
formulas above).

``spline_transformer(...)`` is the ``Transformer`` of coupling and
autoregressive layers (``3 num_bins - 1`` raw numbers per coordinate);
``rational_quadratic_spline`` is the elementwise bijector with its own
learnable ``SplineParams``. Values outside ``[-bound, bound]`` pass through
exactly, with finite gradients (the spline is evaluated at 0 there and its
result discarded), so a flow can see any real input.

Examples:
    >>> spline = jr.bijectors.rational_quadratic_spline
    >>> params = spline.init(jax.random.key(0), shape=(2,))  # near the identity
    >>> x = jnp.array([0.5, 5.0])
    >>> y, log_det = spline.forward(params, x)
    >>> y.shape, log_det.shape, float(y[1])  # outside [-3, 3]: the identity
    ((2,), (2,), 5.0)
    >>> x_back, _ = spline.inverse(params, y)
    >>> bool(jnp.allclose(x_back, x, atol=1e-5))
    True

References:
    Durkan, Bekasov, Murray & Papamakarios (2019), Neural Spline Flows,
    NeurIPS, section 3 and appendix A.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Bijector, Shape
from jaxreparam.bijectors._autoregressive import masked_autoregressive
from jaxreparam.bijectors._coupling import coupling
from jaxreparam.bijectors._transformer import Transformer

__all__ = [
    "SplineParams",
    "rational_quadratic_spline",
    "spline_autoregressive",
    "spline_coupling",
    "spline_transformer",
]

#: The smallest bin, as a fraction of the interval ``2 bound``.
MIN_BIN_SIZE = 1e-3
#: The smallest derivative at an interior knot.
MIN_DERIVATIVE = 1e-3


# Everything keeps the bins on the last axis, as the conditioner's output
# comes. The knots are summed one bin at a time (a ``cumsum`` over a short axis
# is slow on CPU); the bin is a count of comparisons with the knots, and each
# of the six knot quantities is one ``take_along_axis`` (XLA fuses each gather
# into the elementwise loop that reads it; one gather of a stacked table was
# slower). Only the paper's closed forms are evaluated: the exact identity at
# raw = 0 and the identity tails are one select each.


def _knots(raw: Array, bound: Array, min_bin_size: float) -> Array:
    """The ``K + 1`` knots, ``-bound`` to ``bound``, from ``K`` raw sizes (last axis).

    ``bound`` has a trailing axis of 1. The knots are summed one bin at a time.
    """
    num_bins = raw.shape[-1]
    exps = jnp.exp(raw - jnp.max(raw, axis=-1, keepdims=True))
    scale = 2.0 * bound * (1.0 - min_bin_size * num_bins)
    sizes = 2.0 * bound * min_bin_size + scale / jnp.sum(exps, -1, keepdims=True) * exps
    ends = jnp.broadcast_to(bound, sizes.shape[:-1] + (1,))
    knots = [-ends]
    for j in range(num_bins - 1):
        knots.append(knots[-1] + sizes[..., j : j + 1])
    return jnp.concatenate([*knots, ends], axis=-1)


def _derivatives(raw: Array, min_derivative: float) -> Array:
    """The ``K + 1`` knot derivatives: 1 at the ends, the interior from ``raw``.

    ``1 + (1 - min_derivative) elu(raw)``: exactly 1 at ``raw = 0``, at least
    ``min_derivative``, growing linearly.
    """
    one = jnp.ones((*raw.shape[:-1], 1), raw.dtype)
    inner = 1.0 + (1.0 - min_derivative) * jax.nn.elu(raw)
    return jnp.concatenate([one, inner, one], axis=-1)


@functools.partial(
    jax.jit, static_argnames=("num_bins", "min_bin_size", "min_derivative", "inverse")
)  # one compilation for eager calls
def _spline(
    v: Array,
    raw: Array,
    bound: Array,
    num_bins: int,
    min_bin_size: float,
    min_derivative: float,
    inverse: bool,
) -> tuple[Array, Array]:
    """The spline (or its inverse) at ``v`` and ``log|dy/dx|`` (or ``log|dx/dy|``).

    ``raw`` holds on its last axis the ``K`` raw widths, the ``K`` raw heights
    and the ``K - 1`` raw interior derivatives; its other axes and ``bound``'s
    broadcast with ``v``'s. Equal widths and heights with unit derivatives
    give ``y = x`` and a log-derivative of 0, bitwise.
    """
    k = num_bins
    v = jnp.asarray(v, jnp.result_type(v, raw))
    raw = jnp.asarray(raw, v.dtype)
    bound = jnp.asarray(bound, v.dtype)
    xs = _knots(raw[..., :k], bound[..., None], min_bin_size)
    ys = _knots(raw[..., k : 2 * k], bound[..., None], min_bin_size)
    ds = _derivatives(raw[..., 2 * k :], min_derivative)
    inside = (v >= -bound) & (v <= bound)
    v_in = jnp.where(inside, v, jnp.zeros_like(v))  # finite gradients outside

    # The last bin whose left knot is <= v (the knots increase), then the bin's
    # knots by one gather each (their gradients scatter-adds).
    search = ys if inverse else xs
    index = jnp.sum((v_in[..., None] >= search[..., 1:k]).astype(jnp.int32), -1)
    shape = jnp.broadcast_shapes(v.shape, xs.shape[:-1])
    index = jnp.broadcast_to(index, shape)[..., None]

    def at(knots: Array, i: int) -> Array:
        knots = jnp.broadcast_to(knots, (*shape, knots.shape[-1]))
        return jnp.take_along_axis(knots, index + i, axis=-1)[..., 0]

    x0, x1, y0, y1, d0, d1 = (
        at(xs, 0),
        at(xs, 1),
        at(ys, 0),
        at(ys, 1),
        at(ds, 0),
        at(ds, 1),
    )
    w, h = x1 - x0, y1 - y0
    s = h / w

    # The paper's forms with t and u = 1 - t, sums of positive terms, accurate
    # in float32 near both ends of a bin.
    if inverse:  # solve a t^2 + b t + c = 0 for t in [0, 1], their eqs. 6-8
        slack = d1 + d0 - 2.0 * s
        dy = v_in - y0
        a = h * (s - d0) + dy * slack
        b = h * d0 - dy * slack
        c = -s * dy
        root = b + jnp.sqrt(jnp.maximum(b * b - 4.0 * a * c, 0.0))
        ratio = 2.0 * h / root  # (x - x0) / (y - y0): t = 2 s dy / root = -2c / root
        t = dy * ratio / w
        u = 1.0 - t
        out = x0 + dy * ratio
    else:
        t, u = (v_in - x0) / w, (x1 - v_in) / w
        out = y0 + h * t * (s * t + d0 * u) / (s * (t * t + u * u) + (d0 + d1) * t * u)
    numerator = d1 * t * t + 2.0 * s * t * u + d0 * u * u
    denominator = s * (t * t + u * u) + (d0 + d1) * t * u
    log_det = 2.0 * jnp.log(s) + jnp.log(numerator) - 2.0 * jnp.log(denominator)
    if inverse:
        log_det = -log_det

    # `exact`: this bin is the identity (equal knots, slope 1 and unit
    # derivatives, as at raw = 0), where the forms above are only right up to
    # rounding. There the value is `v` and the log-derivative 0, bitwise, plus
    # `f - stop_gradient(f)` (exactly 0) so that the gradients stay the forms'.
    exact = (x0 == y0) & (s == 1.0) & (d0 == 1.0) & (d1 == 1.0)
    sg = jax.lax.stop_gradient
    out = jnp.where(exact, sg(v_in) + (out - sg(out)), out)
    log_det = jnp.where(exact, log_det - sg(log_det), log_det)
    # Outside: the identity, exactly; `0 * out` keeps NaN params NaN.
    y = jnp.where(inside, out, v + 0.0 * out)
    log_det = jnp.where(inside, log_det, 0.0 * log_det)
    return y, log_det


# --------------------------------------------------------------------------- #
# The transformer of coupling and autoregressive layers.


def spline_transformer(
    num_bins: int = 8,
    bound: float = 3.0,
    min_bin_size: float = MIN_BIN_SIZE,
    min_derivative: float = MIN_DERIVATIVE,
) -> Transformer:
    """The rational-quadratic spline as a ``Transformer`` (``3 num_bins - 1`` params).

    ``raw[..., :K]`` are the unnormalised bin widths, ``raw[..., K:2K]`` the
    heights and ``raw[..., 2K:]`` the ``K - 1`` interior derivatives (see the
    module docstring); ``raw = 0`` is the identity. Outside ``[-bound,
    bound]`` the map is the identity.

    Args:
        num_bins: the number of bins ``K``, at least 1.
        bound: the interval's half-width, positive.
        min_bin_size: the smallest bin width and height, as a fraction of
            ``2 bound``, in ``[0, 1 / num_bins)``.
        min_derivative: the smallest interior derivative, in ``[0, 1)``.

    Returns:
        A ``Transformer`` named ``spline``.

    Raises:
        TypeError: ``num_bins`` is not an int.
        ValueError: an argument is out of its range.

    Examples:
        >>> spline = jr.bijectors.spline_transformer(num_bins=4)
        >>> spline.num_params
        11
        >>> y, log_det = spline.forward(jnp.zeros((2, 11)), jnp.array([0.5, 5.0]))
        >>> y, log_det  # raw = 0: the identity
        (Array([0.5, 5. ], dtype=float32), Array([0., 0.], dtype=float32))
    """
    where = "bijectors.spline_transformer"
    num_bins = _check_num_bins(where, num_bins)
    bound = float(bound)
    if not (math.isfinite(bound) and bound > 0):
        raise ValueError(f"{where}: bound must be finite and positive, got {bound}")
    if not 0.0 <= min_bin_size < 1.0 / num_bins:
        raise ValueError(
            f"{where}: min_bin_size must be in [0, 1 / num_bins), got {min_bin_size}"
        )
    if not 0.0 <= min_derivative < 1.0:
        raise ValueError(
            f"{where}: min_derivative must be in [0, 1), got {min_derivative}"
        )
    num_params = 3 * num_bins - 1

    def check(raw: Array) -> Array:
        if raw.shape[-1] != num_params:
            raise ValueError(
                f"{where}: raw must have {num_params} numbers on its last axis "
                f"(3 num_bins - 1), got shape {raw.shape}"
            )
        return raw

    def forward(raw: Array, x: Array) -> tuple[Array, Array]:
        raw = check(jnp.asarray(raw))
        return _spline(
            x, raw, bound, num_bins, min_bin_size, min_derivative, inverse=False
        )

    def inverse(raw: Array, y: Array) -> tuple[Array, Array]:
        raw = check(jnp.asarray(raw))
        return _spline(
            y, raw, bound, num_bins, min_bin_size, min_derivative, inverse=True
        )

    return Transformer("spline", num_params, forward, inverse)


def _check_num_bins(where: str, num_bins: Any) -> int:
    if isinstance(num_bins, bool) or not isinstance(num_bins, int | np.integer):
        raise TypeError(
            f"{where}: num_bins must be an int, got {type(num_bins).__name__}"
        )
    if num_bins < 1:
        raise ValueError(f"{where}: num_bins must be at least 1, got {num_bins}")
    return int(num_bins)


# --------------------------------------------------------------------------- #
# The elementwise bijector with learnable params.


class SplineParams(NamedTuple):
    """Params of ``rational_quadratic_spline``: raw numbers and the fixed bound.

    Attributes:
        widths: unnormalised bin widths, shape ``shape + (num_bins,)``.
        heights: unnormalised bin heights, shape ``shape + (num_bins,)``.
        derivatives: unconstrained interior derivatives, ``shape +
            (num_bins - 1,)``.
        bound: the interval's half-width, shape ``shape``; fixed (``forward``
            stops its gradient, so an optimizer leaves it unchanged).

    Examples:
        >>> p = jr.bijectors.rational_quadratic_spline.init(num_bins=4)
        >>> p.widths.shape, p.heights.shape, p.derivatives.shape, float(p.bound)
        ((4,), (4,), (3,), 3.0)
    """

    widths: Array
    heights: Array
    derivatives: Array
    bound: Array


def _knots_valid(bound: Array) -> Any:
    """Elementwise: finite, first ``-bound``, last ``bound``, bins large enough."""

    def valid(knots: Any) -> Any:
        xp = np if isinstance(knots, np.ndarray) else jnp
        b = xp.asarray(bound)[..., None]
        index = xp.arange(knots.shape[-1])
        previous = xp.concatenate([knots[..., :1], knots[..., :-1]], axis=-1)
        ok = xp.where(
            index == 0, knots == -b, knots - previous > 2.0 * b * MIN_BIN_SIZE
        )
        ok = xp.where(index == knots.shape[-1] - 1, ok & (knots == b), ok)
        return xp.isfinite(knots) & ok

    return valid


def _raw_sizes(knots: Array, bound: Array, min_bin_size: float) -> Array:
    """The raw numbers whose ``_knots`` are ``knots``: log of the free shares."""
    num_bins = knots.shape[-1] - 1
    shares = (jnp.diff(knots, axis=-1) / (2.0 * bound[..., None]) - min_bin_size) / (
        1.0 - min_bin_size * num_bins
    )
    return jnp.log(shares)


def _raw_derivatives(derivatives: Array, min_derivative: float) -> Array:
    """The raw numbers whose ``_derivatives`` are ``derivatives`` (interior)."""
    e = (derivatives - 1.0) / (1.0 - min_derivative)  # elu(raw), > -1
    return jnp.where(e > 0, e, jnp.log1p(jnp.minimum(e, 0.0)))


def init(
    key: ArrayLike = None,
    *,
    num_bins: int | None = None,
    bound: ArrayLike = 3.0,
    shape: Shape = (),
    knots: tuple[ArrayLike, ArrayLike, ArrayLike] | None = None,
) -> SplineParams:
    """Params of an elementwise spline on ``[-bound, bound]``, broadcast to ``shape``.

    Without a key or knots, the identity (all raw numbers 0); with a key,
    small random raw numbers (normal, standard deviation 0.1): a spline near
    the identity, different for every coordinate. ``knots`` sets the spline
    by hand (and the key is then ignored); the stored raw numbers reproduce
    them up to rounding.

    Args:
        key: a PRNG key for a random start, or ``None``.
        num_bins: the number of bins (default 8, or the number the knots
            give).
        bound: the interval's half-width, finite and positive, broadcast with
            ``shape``.
        shape: the shape of the params (without the bins' axis).
        knots: ``(x_knots, y_knots, derivatives)``: the ``num_bins + 1``
            knots' positions and values on the last axis, strictly increasing
            from ``-bound`` to ``bound`` exactly, every bin wider and taller
            than ``2 bound MIN_BIN_SIZE``, and the ``num_bins - 1`` derivatives
            at the interior knots, larger than ``MIN_DERIVATIVE`` (the end
            derivatives are 1). Their leading axes broadcast with ``shape``.

    Returns:
        ``SplineParams``.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype, or
            ``num_bins`` is not an int.
        ValueError: a concrete argument is out of its domain (naming it and
            its first offending value), or shapes do not fit. Under
            ``jax.jit`` invalid knots give NaN params (NaN outputs); under
            ``jr.checking()`` a checkify error.

    Examples:
        >>> jb = jr.bijectors
        >>> params = jb.rational_quadratic_spline.init(
        ...     knots=([-3.0, -1.0, 3.0], [-3.0, 0.0, 3.0], [0.5])
        ... )
        >>> y, _ = jb.rational_quadratic_spline.forward(params, jnp.array([-1.0, 7.0]))
        >>> jnp.round(y, 4)  # the knot (-1, 0), and the identity outside
        Array([0., 7.], dtype=float32)
    """
    where = "bijectors.rational_quadratic_spline.init"
    shape = tuple(int(n) for n in shape)
    bound = _checks.positive(where, "bound", bound)
    if knots is None:
        num_bins = _check_num_bins(where, 8 if num_bins is None else num_bins)
        shape = _checks.broadcast_shapes(where, shape=shape, bound=bound.shape)
        dtype = jnp.result_type(bound, float)
        bound = jnp.broadcast_to(bound.astype(dtype), shape)
        sizes = [(*shape, num_bins), (*shape, num_bins), (*shape, num_bins - 1)]
        if key is None:
            raw = [jnp.zeros(size, dtype) for size in sizes]
        else:
            keys = jax.random.split(_checks.check_key(key), 3)
            raw = [
                0.1 * jax.random.normal(k, size, dtype)
                for k, size in zip(keys, sizes, strict=True)
            ]
        widths, heights, derivatives = raw
        return SplineParams(widths, heights, derivatives, bound)
    return _from_knots(where, num_bins, bound, shape, knots)


def _from_knots(
    where: str, num_bins: Any, bound: Array, shape: Shape, knots: Any
) -> SplineParams:
    if not (isinstance(knots, tuple | list) and len(knots) == 3):
        raise TypeError(
            f"{where}: knots must be a tuple (x_knots, y_knots, derivatives), "
            f"got {type(knots).__name__}"
        )
    names = ("x_knots", "y_knots", "derivatives")
    arrays = [_checks.as_float(where, n, v) for n, v in zip(names, knots, strict=True)]
    if any(a.ndim == 0 for a in arrays):
        raise ValueError(f"{where}: knots must have the bins on their last axis")
    x_knots, y_knots, derivatives = arrays
    count = x_knots.shape[-1] - 1
    if num_bins is not None and _check_num_bins(where, num_bins) != count:
        raise ValueError(
            f"{where}: num_bins is {num_bins} but x_knots has {count + 1} knots"
        )
    if count < 1 or y_knots.shape[-1] != count + 1:
        raise ValueError(
            f"{where}: x_knots and y_knots need the same number (at least 2) of "
            f"knots, got shapes {x_knots.shape} and {y_knots.shape}"
        )
    if derivatives.shape[-1] != count - 1:
        raise ValueError(
            f"{where}: derivatives holds the {count - 1} interior knots' "
            f"derivatives (the ends' are 1), got shape {derivatives.shape}"
        )
    shape = _checks.broadcast_shapes(
        where,
        shape=tuple(shape),
        bound=bound.shape,
        x_knots=x_knots.shape[:-1],
        y_knots=y_knots.shape[:-1],
        derivatives=derivatives.shape[:-1],
    )
    bound, x_knots, y_knots, derivatives = _checks.same_dtype(
        bound, x_knots, y_knots, derivatives
    )
    bound = jnp.broadcast_to(bound, shape)
    x_knots, y_knots, derivatives = (
        jnp.broadcast_to(a, (*shape, a.shape[-1]))
        for a in (x_knots, y_knots, derivatives)
    )
    tie = jnp.zeros_like(bound)[..., None]  # traced when the bound is
    requirement = (
        "strictly increasing from -bound to bound, each step larger than "
        f"2 bound MIN_BIN_SIZE ({MIN_BIN_SIZE})"
    )
    x_knots, y_knots = (
        _checks.check_value(where, name, value + tie, _knots_valid(bound), requirement)
        for name, value in (("x_knots", x_knots), ("y_knots", y_knots))
    )
    derivatives = _checks.check_value(
        where,
        "derivatives",
        derivatives + tie,
        lambda d: (
            (np.isfinite(d) if isinstance(d, np.ndarray) else jnp.isfinite(d))
            & (d > MIN_DERIVATIVE)
        ),
        f"finite and larger than MIN_DERIVATIVE ({MIN_DERIVATIVE})",
    )
    return SplineParams(
        _raw_sizes(x_knots, bound, MIN_BIN_SIZE),
        _raw_sizes(y_knots, bound, MIN_BIN_SIZE),
        _raw_derivatives(derivatives, MIN_DERIVATIVE),
        bound,
    )


def forward(params: SplineParams, x: ArrayLike) -> tuple[Array, Array]:
    """The spline at ``x`` and ``log dy/dx``, elementwise; the identity outside.

    Args:
        params: ``SplineParams``.
        x: real values, broadcastable with the params' ``shape``.

    Returns:
        ``y`` and ``log dy/dx``, both of the broadcast shape.
    """
    return _spline(
        jnp.asarray(x),
        jnp.concatenate([params.widths, params.heights, params.derivatives], -1),
        jax.lax.stop_gradient(params.bound),
        params.widths.shape[-1],
        MIN_BIN_SIZE,
        MIN_DERIVATIVE,
        inverse=False,
    )


def inverse(params: SplineParams, y: ArrayLike) -> tuple[Array, Array]:
    """The inverse spline at ``y`` and ``log dx/dy``; the identity outside."""
    return _spline(
        jnp.asarray(y),
        jnp.concatenate([params.widths, params.heights, params.derivatives], -1),
        jax.lax.stop_gradient(params.bound),
        params.widths.shape[-1],
        MIN_BIN_SIZE,
        MIN_DERIVATIVE,
        inverse=True,
    )


rational_quadratic_spline = Bijector(
    "rational_quadratic_spline", SplineParams, init, forward, inverse
)


# --------------------------------------------------------------------------- #
# Coupling and autoregressive layers of splines (RQ-NSF (C) and (AR)).


def spline_coupling(
    dim: int, *, num_bins: int = 8, bound: float = 3.0, **kwargs: Any
) -> Bijector:
    """A coupling layer of rational-quadratic splines: RQ-NSF (C), Durkan et al.

    ``coupling(spline_transformer(num_bins, bound), dim, **kwargs)``: the
    moved coordinates go through splines on ``[-bound, bound]`` (the identity
    outside) whose ``3 num_bins - 1`` raw numbers per coordinate the
    conditioner computes from the others. The default conditioner's last
    layer starts at zero, so the layer starts at the identity, exactly.

    Args:
        dim: the event size.
        num_bins: the number of bins per coordinate.
        bound: the half-width of the splines' interval, positive.
        **kwargs: ``mask``, ``hidden_sizes``, ``context_size``,
            ``conditioner``, as for ``coupling``.

    Returns:
        The ``Bijector`` named ``spline_coupling`` (event_ndims 1).

    Examples:
        >>> layer = jr.bijectors.spline_coupling(4, num_bins=4, hidden_sizes=(8,))
        >>> params = layer.init(jax.random.key(0))
        >>> x = jnp.array([[0.5, -1.0, 2.0, 7.0]])
        >>> y, log_det = layer.forward(params, x)
        >>> bool(jnp.all(y == x)), float(log_det[0])  # the identity at the start
        (True, 0.0)
    """
    return coupling(spline_transformer(num_bins, bound), dim, **kwargs)


def spline_autoregressive(
    dim: int, *, num_bins: int = 8, bound: float = 3.0, **kwargs: Any
) -> Bijector:
    """A masked autoregressive layer of splines: RQ-NSF (AR), Durkan et al.

    ``masked_autoregressive(spline_transformer(num_bins, bound), dim,
    **kwargs)``: coordinate ``i`` goes through a spline whose raw numbers a
    MADE network computes from the coordinates before it. ``inverse`` (the
    density direction) is one network pass, ``forward`` (sampling) ``dim``
    passes; ``invert(spline_autoregressive(...))`` is the inverse-autoregressive
    version. Starts at the identity.

    Args:
        dim: the event size.
        num_bins: the number of bins per coordinate.
        bound: the half-width of the splines' interval, positive.
        **kwargs: ``hidden_sizes``, ``context_size``, ``conditioner``, as for
            ``masked_autoregressive``.

    Returns:
        The ``Bijector`` named ``spline_autoregressive`` (event_ndims 1).

    Examples:
        >>> layer = jr.bijectors.spline_autoregressive(3, hidden_sizes=(8,))
        >>> params = layer.init(jax.random.key(0))
        >>> x, log_det = layer.inverse(params, jnp.ones((2, 3)))
        >>> x.shape, log_det.shape
        ((2, 3), (2,))
    """
    return masked_autoregressive(spline_transformer(num_bins, bound), dim, **kwargs)
