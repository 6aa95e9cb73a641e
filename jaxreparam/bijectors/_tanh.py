"""The hyperbolic tangent, ``y = tanh(x)``: the real line onto ``(-1, 1)``.

``dy/dx = 1 - tanh(x)^2``, computed in log space as ``log(1 - tanh(x)^2) =
2 (log 2 - x - softplus(-2 x))``, which stays finite (and has finite gradients)
for every finite ``x``, even where ``tanh(x)`` rounds to ``+-1`` (from
``|x| = 8`` in float32): at ``x = 50`` it is ``-98.6``, not ``-inf``.

The inverse is ``x = arctanh(y)`` with ``log|dx/dy| = -log1p(-y) - log1p(y)``.
At ``y = +-1`` it gives ``x = +-inf`` and a log-determinant of ``+inf`` (the
ends are not in the image); for ``|y| > 1`` both are NaN. So a forward value
that rounded to ``+-1`` does not invert back: keep the pre-image moderate, or
use ``sigmoid`` with a wider interval.

Examples:
    >>> params = jr.bijectors.tanh.init()
    >>> y, log_det = jr.bijectors.tanh.forward(params, jnp.array([0.0, 50.0]))
    >>> y.tolist(), bool(jnp.isfinite(log_det[1]))  # finite even where tanh(x) == 1
    ([0.0, 1.0], True)
    >>> float(log_det[0])
    0.0
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors._raw import empty_init

_LOG_TWO = math.log(2.0)


class TanhParams(NamedTuple):
    """No params.

    Examples:
        >>> jr.bijectors.tanh.init()
        TanhParams()
    """


def forward(params: TanhParams, x: ArrayLike) -> tuple[Array, Array]:
    """``(tanh(x), log(1 - tanh(x)^2))``, elementwise, finite for large ``|x|``.

    Args:
        params: ``TanhParams()``.
        x: real values, any shape.

    Returns:
        ``y`` and ``log|dy/dx|``, both of the shape of ``x``.

    Examples:
        >>> y, log_det = jr.bijectors.tanh.forward((), jnp.array([0.0, 50.0]))
        >>> y
        Array([0., 1.], dtype=float32)
        >>> log_det  # log 1 and 2 (log 2 - 50): finite, though tanh(50) == 1
        Array([  0.     , -98.61371], dtype=float32)
    """
    del params
    x = jnp.asarray(x)
    log_det = 2.0 * (_LOG_TWO - x - jax.nn.softplus(-2.0 * x))
    return jnp.tanh(x), log_det


def inverse(params: TanhParams, y: ArrayLike) -> tuple[Array, Array]:
    """``(arctanh(y), -log(1 - y^2))``; ``+-inf`` at ``y = +-1``, NaN beyond.

    Args:
        params: ``TanhParams()``.
        y: values in ``(-1, 1)``, any shape.

    Returns:
        ``x`` and ``log|dx/dy|``, both of the shape of ``y``.

    Examples:
        >>> x, log_det = jr.bijectors.tanh.inverse((), jnp.array([0.5, 1.0, 2.0]))
        >>> x
        Array([0.54930615,        inf,        nan], dtype=float32)
    """
    del params
    y = jnp.asarray(y)
    return jnp.arctanh(y), -(jnp.log1p(-y) + jnp.log1p(y))


tanh = Bijector("tanh", TanhParams, empty_init(TanhParams), forward, inverse)
