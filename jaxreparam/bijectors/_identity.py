"""The identity bijector, ``y = x``, for unconstrained (real) values.

Examples:
    >>> params = jr.bijectors.identity.init()
    >>> y, log_det = jr.bijectors.identity.forward(params, jnp.array([1.0, 2.0]))
    >>> y.tolist(), log_det.tolist()
    ([1.0, 2.0], [0.0, 0.0])
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors._raw import empty_init


class IdentityParams(NamedTuple):
    """No params.

    Examples:
        >>> jr.bijectors.identity.init()
        IdentityParams()
    """


def forward(params: IdentityParams, x: ArrayLike) -> tuple[Array, Array]:
    """``(x, 0)``, the log-determinant of the shape of ``x``.

    Examples:
        >>> y, log_det = jr.bijectors.identity.forward((), 2.0)
        >>> float(y), float(log_det)
        (2.0, 0.0)
    """
    del params
    x = jnp.asarray(x)
    return x, jnp.zeros_like(x)


identity = Bijector(
    "identity", IdentityParams, empty_init(IdentityParams), forward, forward
)
