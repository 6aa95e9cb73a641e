"""Transformers: the elementwise maps of coupling and autoregressive layers.

A coupling or autoregressive layer moves each coordinate ``x_i`` by a monotone
map whose params come from a conditioner network: ``y_i = tau(x_i; raw_i)``.
A ``Transformer`` bundles that map. ``raw`` holds ``num_params`` unconstrained
numbers per coordinate, the conditioner's outputs reshaped to ``x.shape +
(num_params,)``; any real ``raw`` gives an increasing map (so an optax step
keeps the layer invertible), and ``raw = 0`` gives the identity, so a
conditioner whose last layer starts at zero starts the flow at the identity.

``affine_transformer``: ``y = shift + scale x`` with ``shift = raw[..., 0]`` and
``scale = softplus(raw[..., 1] + log(e - 1))`` (1 at ``raw = 0``), as in
RealNVP (Dinh et al. 2017) with a softplus in place of ``exp`` so that the
scale grows linearly, not exponentially, with the network's output.

Examples:
    >>> affine = jr.bijectors.affine_transformer
    >>> x = jnp.array([1.0, -2.0, 0.5])
    >>> y, log_dy = affine.forward(jnp.zeros((3, 2)), x)  # raw = 0: the identity
    >>> bool(jnp.allclose(y, x)), bool(jnp.allclose(log_dy, 0.0, atol=1e-6))
    (True, True)
    >>> raw = jnp.array([[1.0, 0.0], [0.0, 3.0], [-1.0, -3.0]])
    >>> x_back, _ = affine.inverse(raw, affine.forward(raw, x)[0])
    >>> bool(jnp.allclose(x_back, x, atol=1e-6))
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array

#: ``softplus(SOFTPLUS_OF_ONE) == 1``.
SOFTPLUS_OF_ONE = math.log(math.e - 1.0)


class Transformer(NamedTuple):
    """An elementwise increasing map parameterized by unconstrained numbers.

    Attributes:
        name: the transformer's name.
        num_params: the number of raw params per coordinate.
        forward: ``(raw, x) -> (y, log dy/dx)``, ``raw`` of shape ``x.shape +
            (num_params,)``, the log-derivative of the shape of ``x``.
        inverse: ``(raw, y) -> (x, log dx/dy)``.

    Examples:
        >>> t = jr.bijectors.affine_transformer
        >>> t.name, t.num_params
        ('affine', 2)
    """

    name: str
    num_params: int
    forward: Callable[[Array, Array], tuple[Array, Array]]
    inverse: Callable[[Array, Array], tuple[Array, Array]]


def _affine_parts(raw: Array) -> tuple[Array, Array]:
    shift = raw[..., 0]
    scale = jax.nn.softplus(raw[..., 1] + SOFTPLUS_OF_ONE)
    return shift, scale


def _affine_forward(raw: Array, x: Array) -> tuple[Array, Array]:
    shift, scale = _affine_parts(raw)
    return shift + scale * x, jnp.log(scale)


def _affine_inverse(raw: Array, y: Array) -> tuple[Array, Array]:
    shift, scale = _affine_parts(raw)
    return (y - shift) / scale, -jnp.log(scale)


affine_transformer = Transformer("affine", 2, _affine_forward, _affine_inverse)
