"""``repeat``: one bijector applied ``num_layers`` times, with a ``lax.scan``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors._chain import apply, check_bijector


def repeat(bijector: Bijector, num_layers: int, *, unroll: int | bool = 1) -> Bijector:
    """``bijector`` applied ``num_layers`` times, each time with its own params.

    The layers' params are stacked along a new leading axis (``init`` vmaps
    ``bijector.init`` over ``num_layers`` keys), and ``forward`` and
    ``inverse`` run a ``jax.lax.scan`` over them, so the compiled program and
    the compile time do not grow with the depth. ``repeat(b, 3)`` computes
    what ``chain(b, b, b)`` computes, with the three params stacked instead of
    in a tuple. Put a permutation inside the repeated bijector
    (``chain(coupling, reverse)``) to mix the coordinates between layers.

    Args:
        bijector: a ``Bijector`` whose params have the same shapes in every
            layer (every learnable bijector of this package), and whose
            ``forward_shape`` keeps the shape.
        num_layers: the number of layers, at least 1.
        unroll: ``jax.lax.scan``'s ``unroll``: 1 (a loop of one layer per
            iteration), ``k`` layers per iteration, or ``True`` (every layer
            inline). Unrolling lets XLA fuse across layers, which can pay on
            CPU for small layers (few dimensions, small batches), at the price
            of a program and a compile time that grow with the depth.

    Returns:
        A ``Bijector`` named ``repeat(<name>, <num_layers>)``, conditional
        when ``bijector`` is (every layer sees the same context).
        ``init(key=None)`` needs a key when ``bijector.init`` uses one.

    Raises:
        TypeError: ``bijector`` is not a ``Bijector``, or ``num_layers`` is not
            an int.
        ValueError: ``num_layers < 1`` or ``unroll < 1``.

    Examples:
        >>> jb = jr.bijectors
        >>> three = jb.repeat(jb.affine, 3)
        >>> params = three.init(jax.random.key(0))
        >>> params.log_scale.shape  # stacked: one row per layer
        (3,)
        >>> params = params._replace(loc=jnp.ones(3))  # three shifts by 1
        >>> y, log_det = three.forward(params, 0.5)
        >>> float(y), float(log_det)
        (3.5, 0.0)
    """
    where = "bijectors.repeat"
    check_bijector(where, "bijector", bijector)
    if isinstance(num_layers, bool) or not isinstance(num_layers, int):
        raise TypeError(
            f"{where}: num_layers must be an int, got {type(num_layers).__name__}"
        )
    if num_layers < 1:
        raise ValueError(f"{where}: num_layers must be at least 1, got {num_layers}")
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"{where}: unroll must be True or an int >= 1, got {unroll!r}")

    def init(key: ArrayLike = None) -> Any:
        if key is None:
            one = bijector.init()
            return jax.tree.map(
                lambda leaf: jnp.broadcast_to(leaf, (num_layers, *jnp.shape(leaf))),
                one,
            )
        return jax.vmap(bijector.init)(jax.random.split(key, num_layers))

    def scan(function: Any, params: Any, x: ArrayLike, context: Any, reverse: bool):
        def layer(carry: Array, layer_params: Any) -> tuple[Array, Array]:
            y, log_det = apply(bijector, function, layer_params, carry, context)
            return y, log_det

        y, log_dets = jax.lax.scan(
            layer,
            jnp.asarray(x),
            params,
            length=num_layers,
            reverse=reverse,
            unroll=unroll,
        )
        return y, jnp.sum(log_dets, axis=0)

    def forward(params: Any, x: ArrayLike, context: Any = None) -> tuple[Array, Array]:
        return scan(bijector.forward, params, x, context, reverse=False)

    def inverse(params: Any, y: ArrayLike, context: Any = None) -> tuple[Array, Array]:
        return scan(bijector.inverse, params, y, context, reverse=True)

    return Bijector(
        name=f"repeat({bijector.name}, {num_layers})",
        params_type=bijector.params_type,
        init=init,
        forward=forward,
        inverse=inverse,
        event_ndims=bijector.event_ndims,
        forward_shape=bijector.forward_shape,
        inverse_shape=bijector.inverse_shape,
        conditional=bijector.conditional,
    )
