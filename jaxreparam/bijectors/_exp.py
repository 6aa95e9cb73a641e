"""The exponential bijector, ``y = exp(x)``: the real line onto ``(0, inf)``.

``log|dy/dx| = x``. Its inverse is ``x = log y``, with ``log|dx/dy| = -log y``.
In float32, ``exp`` underflows to 0 below ``x`` of about -103 and overflows above
88; ``softplus`` grows only linearly, which keeps gradients tamer when a
positive value is fitted.

Examples:
    >>> params = jr.bijectors.exp.init()
    >>> y, log_det = jr.bijectors.exp.forward(params, jnp.array([0.0, 1.0]))
    >>> [round(float(v), 3) for v in y], log_det.tolist()
    ([1.0, 2.718], [0.0, 1.0])
    >>> x, log_det = jr.bijectors.exp.inverse(params, y)
    >>> [round(float(v), 3) for v in x]
    [0.0, 1.0]
    >>> log_normal = jr.transformed(jr.normal, jr.bijectors.exp)  # a family of exp(z)
    >>> log_normal.name
    'transformed(normal, exp)'
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors._raw import empty_init


class ExpParams(NamedTuple):
    """No params.

    Examples:
        >>> jr.bijectors.exp.init()
        ExpParams()
    """


def forward(params: ExpParams, x: ArrayLike) -> tuple[Array, Array]:
    """``(exp(x), x)``, elementwise.

    Args:
        params: ``ExpParams()``.
        x: real values, any shape.

    Returns:
        ``y`` and ``log|dy/dx|``, both of the shape of ``x``.

    Examples:
        >>> y, log_det = jr.bijectors.exp.forward(jr.bijectors.exp.init(), 0.0)
        >>> float(y), float(log_det)
        (1.0, 0.0)
    """
    del params
    x = jnp.asarray(x)
    return jnp.exp(x), x


def inverse(params: ExpParams, y: ArrayLike) -> tuple[Array, Array]:
    """``(log y, -log y)``, elementwise; NaN for ``y < 0``."""
    del params
    x = jnp.log(y)
    return x, -x


exp = Bijector("exp", ExpParams, empty_init(ExpParams), forward, inverse)
