"""The softplus bijector, ``y = log(1 + exp(x))``: the real line onto ``(0, inf)``.

``dy/dx = sigmoid(x)``, so ``log|dy/dx| = log_sigmoid(x)``. The inverse is
``x = log(expm1(y)) = y + log(-expm1(-y))``, written in the second form so that
it neither overflows for large ``y`` nor loses precision for small ``y``.

Examples:
    >>> params = jr.bijectors.softplus.init()
    >>> y, log_det = jr.bijectors.softplus.forward(params, 0.0)
    >>> round(float(y), 3), round(float(log_det), 3)  # log(2), log(1/2)
    (0.693, -0.693)
    >>> round(float(jr.bijectors.softplus.inverse(params, y)[0]), 3)
    0.0
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors._raw import empty_init


class SoftplusParams(NamedTuple):
    """No params.

    Examples:
        >>> jr.bijectors.softplus.init()
        SoftplusParams()
    """


def forward(params: SoftplusParams, x: ArrayLike) -> tuple[Array, Array]:
    """``(softplus(x), log_sigmoid(x))``, elementwise.

    Args:
        params: ``SoftplusParams()``.
        x: real values, any shape.

    Returns:
        ``y`` and ``log|dy/dx|``, both of the shape of ``x``.

    Examples:
        >>> y, log_det = jr.bijectors.softplus.forward((), 0.0)
        >>> round(float(y), 4), round(float(log_det), 4)  # log 2, log 1/2
        (0.6931, -0.6931)
    """
    del params
    x = jnp.asarray(x)
    return jax.nn.softplus(x), jax.nn.log_sigmoid(x)


def inverse(params: SoftplusParams, y: ArrayLike) -> tuple[Array, Array]:
    """``x = y + log(-expm1(-y))`` and ``-log(-expm1(-y))``; NaN for ``y < 0``.

    ``sigmoid(x) = 1 - exp(-y)``, so the log-determinant needs no ``x``.
    """
    del params
    y = jnp.asarray(y)
    log_slope = jnp.log(-jnp.expm1(-y))
    return y + log_slope, -log_slope


softplus = Bijector(
    "softplus", SoftplusParams, empty_init(SoftplusParams), forward, inverse
)
