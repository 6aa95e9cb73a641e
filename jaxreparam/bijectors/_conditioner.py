"""The conditioner of coupling and autoregressive layers: the default or the user's.

A layer's raw transformer params come from a conditioner network. By default
the layer builds a ``jaxreparam.nn`` network and calls it without
concatenating its inputs (``first_layer`` splits the weight instead). A user's
conditioner is a ``jaxreparam.nn.Network`` or any function ``(params, inputs)
-> outputs`` (a flax ``module.apply``, an equinox model rebuilt with
``eqx.combine``); it sees the conditioning inputs with the context
concatenated on the last axis, and its output size is checked at trace time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.nn._mlp import Network


class Conditioner(NamedTuple):
    """A resolved conditioner: how to make its params and how to run it."""

    init: Callable[[Any, Any], Any]  # (key, conditioner_params) -> params
    apply: Callable[[Any, Array, Array | None], Array]  # (params, x, context)


def check_size(where: str, name: str, value: Any, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be at least {minimum}, got {value}")
    return value


def resolve(
    where: str,
    conditioner: Any,
    default: Network,
    default_apply: Callable[[Any, Array, Array | None], Array],
    out_size: int,
    what: str,
) -> Conditioner:
    """The layer's conditioner: ``default`` when ``conditioner`` is ``None``.

    Args:
        where: the layer's name for errors.
        conditioner: ``None``, a ``Network`` or a function ``(params, inputs)
            -> outputs``.
        default: the network the layer builds (its ``init``).
        default_apply: the default network's fast ``(params, x, context)``.
        out_size: the size of the outputs' last axis the layer needs.
        what: what the outputs are, for the size error.
    """
    if conditioner is None:
        network, apply = default, default_apply
    elif isinstance(conditioner, Network):
        network, apply = conditioner, _concatenated(conditioner.apply)
    elif callable(conditioner):
        network, apply = None, _concatenated(conditioner)
    else:
        raise TypeError(
            f"{where}: conditioner must be a jaxreparam.nn.Network or a function "
            f"(params, inputs) -> outputs, got {type(conditioner).__name__}"
        )

    def init(key: ArrayLike, conditioner_params: Any) -> Any:
        if conditioner_params is not None:
            if conditioner is None:
                _check_like(where, conditioner_params, default.init)
            return conditioner_params
        if network is None:
            raise ValueError(
                f"{where}: the conditioner is a plain function, so init needs its "
                "params: init(conditioner_params=...)"
            )
        if key is None:
            raise ValueError(
                f"{where}: init needs a key for the conditioner's random weights "
                "(or its params: init(conditioner_params=...))"
            )
        return network.init(_checks.check_key(key))

    def checked_apply(params: Any, x: Array, context: Array | None) -> Array:
        outputs = apply(params, x, context)
        shape = jnp.shape(outputs)
        if conditioner is not None and shape[-1:] != (out_size,):
            raise ValueError(
                f"{where}: the conditioner must return {out_size} outputs on its "
                f"last axis ({what}), got outputs of shape {shape} for inputs of "
                f"shape {x.shape[:-1] + (_in_size(x, context),)}"
            )
        return outputs

    return Conditioner(init, checked_apply)


def _in_size(x: Array, context: Array | None) -> int:
    return x.shape[-1] + (0 if context is None else context.shape[-1])


def _concatenated(function: Callable[[Any, Array], Array]) -> Callable[..., Array]:
    def apply(params: Any, x: Array, context: Array | None) -> Array:
        if context is None:
            return function(params, x)
        context = jnp.broadcast_to(context, x.shape[:-1] + context.shape[-1:])
        return function(params, jnp.concatenate([x, context], axis=-1))

    return apply


def _check_like(where: str, params: Any, init: Callable[[Any], Any]) -> None:
    """``params`` has the structure and shapes of the default network's."""
    expected = jax.eval_shape(init, jax.random.key(0))
    want = [tuple(leaf.shape) for leaf in jax.tree.leaves(expected)]
    got = [tuple(jnp.shape(leaf)) for leaf in jax.tree.leaves(params)]
    if jax.tree.structure(params) != jax.tree.structure(expected) or got != want:
        raise ValueError(
            f"{where}: conditioner_params must have the default network's "
            f"structure {jax.tree.structure(expected)} with shapes {want}, got "
            f"{jax.tree.structure(params)} with shapes {got}"
        )


def check_inputs(
    where: str,
    name: str,
    x: ArrayLike,
    dim: int,
    context_size: int,
    context: Any,
) -> tuple[Array, Array | None]:
    """``x`` (event size ``dim``) and the context, with their batch axes broadcast.

    ``x`` is broadcast to the joint batch shape only when the context has
    more batch axes (a copy otherwise avoided); the context keeps its shape.
    """
    x = jnp.asarray(x)
    if x.ndim < 1 or x.shape[-1] != dim:
        raise ValueError(
            f"{where}: {name} must have shape (..., {dim}) (event size {dim}), "
            f"got shape {x.shape}"
        )
    if not context_size:
        if context is not None:
            raise ValueError(
                f"{where}: the layer is not conditional (context_size=0), so it "
                "takes no context"
            )
        return x, None
    if context is None:
        raise ValueError(
            f"{where}: the layer is conditional, so it needs a context of shape "
            f"(..., {context_size})"
        )
    context = jnp.asarray(context)
    if context.ndim < 1 or context.shape[-1] != context_size:
        raise ValueError(
            f"{where}: context must have shape (..., {context_size}) (context_size "
            f"{context_size}), got shape {context.shape}"
        )
    batch = _checks.broadcast_shapes(
        where, x_batch=x.shape[:-1], context_batch=context.shape[:-1]
    )
    if batch != x.shape[:-1]:
        x = jnp.broadcast_to(x, (*batch, dim))
    return x, context
