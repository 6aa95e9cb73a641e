"""Elementwise affine bijectors with learnable params: ``shift``, ``scale``, ``affine``.

``affine``: ``y = loc + exp(log_scale) x``, with ``log|dy/dx| = log_scale`` for
each coordinate; ``shift`` fixes ``log_scale = 0`` (a log-determinant of 0) and
``scale`` fixes ``loc = 0``. The scale is stored as its logarithm, so an optax
step can never make it zero or negative: the map stays invertible for any
params. ``init`` starts at the given natural values (the identity by default);
the key is accepted for the bijector contract and not needed, as the identity
is the usual start of a flow's layer.

Examples:
    >>> params = jr.bijectors.affine.init(loc=1.0, scale=2.0)
    >>> y, log_det = jr.bijectors.affine.forward(params, jnp.array([0.0, 1.0]))
    >>> y.tolist(), [round(float(v), 3) for v in log_det]  # loc + scale x, log(scale)
    ([1.0, 3.0], [0.693, 0.693])
    >>> jr.bijectors.affine.inverse(params, y)[0].tolist()
    [0.0, 1.0]
    >>> float(jr.bijectors.shift.forward(jr.bijectors.shift.init(loc=1.0), 2.0)[0])
    3.0
    >>> float(jr.bijectors.scale.forward(jr.bijectors.scale.init(scale=3.0), 2.0)[0])
    6.0
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Bijector, Shape


class ShiftParams(NamedTuple):
    """Params of ``y = x + loc``.

    Examples:
        >>> params = jr.bijectors.shift.init(loc=jnp.array([1.0, -1.0]))
        >>> params._fields, params.loc.tolist()
        (('loc',), [1.0, -1.0])
    """

    loc: Array


class ScaleParams(NamedTuple):
    """Params of ``y = exp(log_scale) x``.

    Examples:
        >>> params = jr.bijectors.scale.init(scale=2.0)
        >>> params._fields, round(float(params.log_scale), 3)
        (('log_scale',), 0.693)
    """

    log_scale: Array


class AffineParams(NamedTuple):
    """Params of ``y = loc + exp(log_scale) x``.

    Examples:
        >>> params = jr.bijectors.affine.init(loc=1.0, scale=2.0, shape=(3,))
        >>> params._fields, params.loc.shape
        (('loc', 'log_scale'), (3,))
        >>> round(float(params.log_scale[0]), 3)  # log(2), unconstrained
        0.693
    """

    loc: Array
    log_scale: Array


def _natural(where: str, shape: Shape, **values: ArrayLike) -> list[Array]:
    checked = [
        _checks.positive(where, k, v) if k == "scale" else _checks.real(where, k, v)
        for k, v in values.items()
    ]
    shape = tuple(int(n) for n in shape)
    shapes = {k: v.shape for k, v in zip(values, checked, strict=True)}
    shape = _checks.broadcast_shapes(where, shape=shape, **shapes)
    return [jnp.broadcast_to(v, shape) for v in _checks.same_dtype(*checked)]


def shift_init(
    key: ArrayLike = None, *, loc: ArrayLike = 0.0, shape: Shape = ()
) -> ShiftParams:
    """Params of ``y = x + loc``, ``loc`` broadcast to ``shape``.

    Args:
        key: accepted and ignored (the start is ``loc``).
        loc: the shift, finite.
        shape: the shape of the params, broadcast with ``loc``'s.

    Returns:
        ``ShiftParams``.

    Raises:
        TypeError: ``loc`` has an integer, bool or complex dtype.
        ValueError: a concrete ``loc`` is not finite, or shapes do not broadcast.

    Examples:
        >>> jr.bijectors.shift.init(shape=(2,))
        ShiftParams(loc=Array([0., 0.], dtype=float32))
    """
    del key
    (loc,) = _natural("bijectors.shift.init", shape, loc=loc)
    return ShiftParams(loc)


def shift_forward(params: ShiftParams, x: ArrayLike) -> tuple[Array, Array]:
    """``(x + loc, 0)``, elementwise, broadcast with the params."""
    y = jnp.asarray(x) + params.loc
    return y, jnp.zeros_like(y)


def shift_inverse(params: ShiftParams, y: ArrayLike) -> tuple[Array, Array]:
    """``(y - loc, 0)``."""
    x = jnp.asarray(y) - params.loc
    return x, jnp.zeros_like(x)


def scale_init(
    key: ArrayLike = None, *, scale: ArrayLike = 1.0, shape: Shape = ()
) -> ScaleParams:
    """Params of ``y = scale * x``, stored as ``log_scale``, broadcast to ``shape``.

    Args:
        key: accepted and ignored (the start is ``scale``).
        scale: the factor, finite and positive.
        shape: the shape of the params, broadcast with ``scale``'s.

    Returns:
        ``ScaleParams``.

    Raises:
        TypeError: ``scale`` has an integer, bool or complex dtype.
        ValueError: a concrete ``scale`` is not finite and positive, or shapes
            do not broadcast.

    Examples:
        >>> params = jr.bijectors.scale.init(scale=2.0)
        >>> y, log_det = jr.bijectors.scale.forward(params, 3.0)
        >>> float(y), round(float(log_det), 4)  # log 2
        (6.0, 0.6931)
    """
    del key
    (scale,) = _natural("bijectors.scale.init", shape, scale=scale)
    return ScaleParams(jnp.log(scale))


def _broadcast_log_det(log_scale: Array, y: Array) -> Array:
    return jnp.broadcast_to(log_scale, y.shape).astype(y.dtype)


def scale_forward(params: ScaleParams, x: ArrayLike) -> tuple[Array, Array]:
    """``(exp(log_scale) x, log_scale)``, elementwise, broadcast with the params."""
    y = jnp.exp(params.log_scale) * jnp.asarray(x)
    return y, _broadcast_log_det(params.log_scale, y)


def scale_inverse(params: ScaleParams, y: ArrayLike) -> tuple[Array, Array]:
    """``(exp(-log_scale) y, -log_scale)``."""
    x = jnp.exp(-params.log_scale) * jnp.asarray(y)
    return x, _broadcast_log_det(-params.log_scale, x)


def affine_init(
    key: ArrayLike = None,
    *,
    loc: ArrayLike = 0.0,
    scale: ArrayLike = 1.0,
    shape: Shape = (),
) -> AffineParams:
    """Params of ``y = loc + scale * x``, broadcast together and to ``shape``.

    Args:
        key: accepted and ignored (the start is ``loc`` and ``scale``).
        loc: the shift, finite.
        scale: the factor, finite and positive.
        shape: the shape of the params, broadcast with the others'.

    Returns:
        ``AffineParams(loc, log_scale)``.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is out of its domain, or shapes do not
            broadcast.

    Examples:
        >>> params = jr.bijectors.affine.init(loc=1.0, scale=2.0, shape=(3,))
        >>> y, log_det = jr.bijectors.affine.forward(params, jax.numpy.ones(3))
        >>> y
        Array([3., 3., 3.], dtype=float32)
    """
    del key
    loc, scale = _natural("bijectors.affine.init", shape, loc=loc, scale=scale)
    return AffineParams(loc, jnp.log(scale))


def affine_forward(params: AffineParams, x: ArrayLike) -> tuple[Array, Array]:
    """``(loc + exp(log_scale) x, log_scale)``, elementwise, broadcast."""
    y = params.loc + jnp.exp(params.log_scale) * jnp.asarray(x)
    return y, _broadcast_log_det(params.log_scale, y)


def affine_inverse(params: AffineParams, y: ArrayLike) -> tuple[Array, Array]:
    """``(exp(-log_scale) (y - loc), -log_scale)``."""
    x = jnp.exp(-params.log_scale) * (jnp.asarray(y) - params.loc)
    return x, _broadcast_log_det(-params.log_scale, x)


shift = Bijector("shift", ShiftParams, shift_init, shift_forward, shift_inverse)
scale = Bijector("scale", ScaleParams, scale_init, scale_forward, scale_inverse)
affine = Bijector("affine", AffineParams, affine_init, affine_forward, affine_inverse)
