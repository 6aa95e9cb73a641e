"""The affine sigmoid, ``y = low + (high - low) sigmoid(x)``: reals onto an interval.

``log|dy/dx| = log(high - low) + log_sigmoid(x) + log_sigmoid(-x)``. The inverse
is ``x = log(u) - log1p(-u)`` with ``u = (y - low) / (high - low)``. In float32,
``sigmoid(x)`` rounds to 1 above ``x`` of about 17, where ``y`` reaches ``high``:
keep unconstrained values moderate (a variational guide's are, near its mean).

Examples:
    >>> params = jr.bijectors.sigmoid.init(low=-1.0, high=1.0)
    >>> y, log_det = jr.bijectors.sigmoid.forward(params, jnp.array([0.0, 100.0]))
    >>> [round(float(v), 3) for v in y]  # onto (low, high)
    [0.0, 1.0]
    >>> round(float(log_det[0]), 3)  # log((high - low) / 4)
    -0.693
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Bijector


class SigmoidParams(NamedTuple):
    """Params: the interval's ends ``low < high``, broadcastable with the values.

    Examples:
        >>> params = jr.bijectors.sigmoid.init(low=-1.0, high=1.0)
        >>> params._fields, float(params.low), float(params.high)  # fixed, not learnt
        (('low', 'high'), -1.0, 1.0)
    """

    low: Array
    high: Array


def init(
    key: ArrayLike = None, *, low: ArrayLike = 0.0, high: ArrayLike = 1.0
) -> SigmoidParams:
    """Params of the map onto ``(low, high)``.

    Args:
        key: accepted and ignored (the interval is fixed, not learned).
        low: the lower end, finite.
        high: the upper end, finite and greater than ``low``, broadcastable
            with it.

    Returns:
        ``SigmoidParams``.

    Raises:
        TypeError: an argument has an integer, bool or complex dtype.
        ValueError: a concrete argument is non-finite, ``high <= low``, or the
            shapes do not broadcast.

    Examples:
        >>> jr.bijectors.sigmoid.init(low=-1.0, high=2.0)
        SigmoidParams(low=Array(-1., ...), high=Array(2., ...))
    """
    del key
    where = "bijectors.sigmoid.init"
    low = _checks.real(where, "low", low)
    high = _checks.real(where, "high", high)
    _checks.broadcast_shapes(where, low=low.shape, high=high.shape)
    low, high = _checks.same_dtype(low, high)
    width = _checks.check_value(
        where, "high - low", high - low, lambda w: w > 0, "positive"
    )
    return SigmoidParams(low, low + width)


def forward(params: SigmoidParams, x: ArrayLike) -> tuple[Array, Array]:
    """``y = low + (high - low) sigmoid(x)`` and ``log|dy/dx|``, elementwise.

    Args:
        params: ``SigmoidParams``.
        x: real values, broadcastable with the params.

    Returns:
        ``y`` and ``log|dy/dx|``, both of the broadcast shape.

    Examples:
        >>> params = jr.bijectors.sigmoid.init(low=2.0, high=4.0)
        >>> y, _ = jr.bijectors.sigmoid.forward(params, 0.0)
        >>> float(y)
        3.0
    """
    x = jnp.asarray(x)
    width = params.high - params.low
    y = params.low + width * jax.nn.sigmoid(x)
    log_det = jnp.log(width) + jax.nn.log_sigmoid(x) + jax.nn.log_sigmoid(-x)
    return y, log_det


def inverse(params: SigmoidParams, y: ArrayLike) -> tuple[Array, Array]:
    """``x = logit((y - low) / (high - low))`` and ``log|dx/dy|``; NaN outside."""
    width = params.high - params.low
    u = (jnp.asarray(y) - params.low) / width
    log_u, log_v = jnp.log(u), jnp.log1p(-u)
    return log_u - log_v, -(jnp.log(width) + log_u + log_v)


sigmoid = Bijector("sigmoid", SigmoidParams, init, forward, inverse)
