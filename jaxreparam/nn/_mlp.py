"""Multilayer perceptrons as pure functions: ``mlp`` and its masked variant (MADE).

The params are a tuple of ``Linear(weight, bias)`` layers, ``weight`` of shape
``(in, out)`` so that ``x @ weight + bias`` maps a batch of rows; ``apply``
is batched over every leading axis of ``x``. Hidden layers are followed by the
activation, the last one is linear. Weights and biases start uniform on
``(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (the common default of PyTorch and
equinox); with ``zero_last=True`` the last layer starts at zero, so the network
outputs 0 and a flow layer built on it starts at the identity (the
``Transformer`` convention: ``raw = 0`` is the identity).

``masked_mlp`` multiplies each weight by a fixed 0/1 mask (Germain et al.
2015). The masks are numpy constants closed over by ``apply``, not part of the
params, so an optimizer never sees or changes them; a masked weight entry gets
a zero gradient and never matters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike


class Linear(NamedTuple):
    """One dense layer, ``x @ weight + bias``.

    Examples:
        >>> layer = jr.nn.Linear(weight=jnp.ones((3, 2)), bias=jnp.zeros(2))
        >>> (jnp.ones(3) @ layer.weight + layer.bias).tolist()
        [3.0, 3.0]
        >>> params = jr.nn.mlp(3, 2, hidden_sizes=(8,)).init(jax.random.key(0))
        >>> type(params[0]).__name__, params[0].weight.shape, params[0].bias.shape
        ('Linear', (3, 8), (8,))
    """

    weight: Array  # (in, out)
    bias: Array  # (out,)


class Network(NamedTuple):
    """A network as two pure functions.

    Attributes:
        init: ``init(key) -> params``, a pytree of arrays.
        apply: ``apply(params, x) -> outputs``; ``x`` has the network's input
            size on its last axis and any leading batch axes, which the outputs
            keep.

    Examples:
        >>> net = jr.nn.mlp(3, 2, hidden_sizes=(8,))
        >>> isinstance(net, jr.nn.Network), net._fields
        (True, ('init', 'apply'))
        >>> params = net.init(jax.random.key(0))
        >>> net.apply(params, jnp.ones((5, 3))).shape
        (5, 2)
    """

    init: Callable[[ArrayLike], Any]
    apply: Callable[[Any, ArrayLike], Array]


def _size(where: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be at least {minimum}, got {value}")
    return int(value)


def check_sizes(where: str, hidden_sizes: Any) -> tuple[int, ...]:
    """``hidden_sizes`` as a tuple of positive ints, or a clear error."""
    if isinstance(hidden_sizes, int | np.integer) or not isinstance(
        hidden_sizes, Sequence
    ):
        raise TypeError(
            f"{where}: hidden_sizes must be a sequence of ints such as (64, 64), "
            f"got {hidden_sizes!r}"
        )
    return tuple(_size(where, "hidden_sizes", n, 1) for n in hidden_sizes)


def _check_activation(where: str, activation: Any) -> None:
    if not callable(activation):
        raise TypeError(
            f"{where}: activation must be a function such as jax.nn.relu, got "
            f"{activation!r}"
        )


def init_layers(
    key: ArrayLike,
    sizes: Sequence[int],
    zero_last: bool,
    masks: Sequence[np.ndarray] | None = None,
) -> tuple[Linear, ...]:
    """Layers ``sizes[i] -> sizes[i + 1]``, uniform with the (masked) fan-in."""
    key = _checks.check_key(key)
    count = len(sizes) - 1
    keys = jax.random.split(key, count)
    layers = []
    for i in range(count):
        shape = (sizes[i], sizes[i + 1])
        if zero_last and i == count - 1:
            layers.append(Linear(jnp.zeros(shape), jnp.zeros(shape[1])))
            continue
        fan_in = np.full(shape[1], sizes[i]) if masks is None else masks[i].sum(0)
        bound = jnp.asarray(1.0 / np.sqrt(np.maximum(fan_in, 1)))
        weight_key, bias_key = jax.random.split(keys[i])
        weight = jax.random.uniform(weight_key, shape, minval=-1.0) * bound
        bias = jax.random.uniform(bias_key, shape[1:], minval=-1.0) * bound
        layers.append(Linear(weight, bias))
    return tuple(layers)


def apply_masks(
    layers: Sequence[Linear], masks: Sequence[np.ndarray] | None
) -> tuple[Linear, ...]:
    """The layers with each weight multiplied by its mask (``None``: as given)."""
    if masks is None:
        return tuple(layers)
    return tuple(
        Linear(layer.weight * jnp.asarray(mask, layer.weight.dtype), layer.bias)
        for layer, mask in zip(layers, masks, strict=True)
    )


def first_layer(layer: Linear, x: Array, context: Array | None = None) -> Array:
    """The first layer's pre-activation of the inputs ``x`` and ``context``.

    With a context, the first ``x.shape[-1]`` rows of the weight act on ``x``
    and the rest on the context: the layer of the concatenation, without
    concatenating (the two batch shapes broadcast).
    """
    if context is None:
        return x @ layer.weight + layer.bias
    size = x.shape[-1]
    return x @ layer.weight[:size] + (context @ layer.weight[size:] + layer.bias)


def rest_layers(
    layers: Sequence[Linear], hidden: Array, activation: Callable[[Array], Array]
) -> Array:
    """The layers after the first, given the first's pre-activation."""
    for layer in layers:
        hidden = activation(hidden) @ layer.weight + layer.bias
    return hidden


def run(
    layers: Sequence[Linear],
    x: Array,
    activation: Callable[[Array], Array],
    context: Array | None = None,
) -> Array:
    """The network of (already masked) ``layers`` at ``x`` and ``context``."""
    return rest_layers(layers[1:], first_layer(layers[0], x, context), activation)


def mlp(
    in_size: int,
    out_size: int,
    hidden_sizes: Sequence[int] = (64, 64),
    *,
    activation: Callable[[Array], Array] = jax.nn.relu,
    zero_last: bool = True,
) -> Network:
    """A multilayer perceptron ``in_size -> hidden_sizes... -> out_size``.

    ``apply(params, x)`` maps ``x`` of shape ``(..., in_size)`` to
    ``(..., out_size)``: each hidden layer is ``activation(h @ weight +
    bias)``, the last is linear. The default activation is ``jax.nn.relu``: the
    cheapest per unit (a conditioner's cost is its matmuls and activations,
    and benchmarks compare flows at equal width), the default of RealNVP, MAF
    and neural spline flow implementations, and piecewise linear, so that a
    flow's log-determinant is checked exactly against ``jax.jacobian``; pass
    ``jax.nn.gelu`` or ``jnp.tanh`` for a smooth map.

    Args:
        in_size: the size of the inputs' last axis (0 for a network of its
            biases only).
        out_size: the size of the outputs' last axis, at least 1.
        hidden_sizes: the widths of the hidden layers (empty: one linear
            layer).
        activation: the elementwise function after each hidden layer.
        zero_last: start the last layer's weight and bias at zero, so that the
            network starts at the zero function (a flow layer at the identity).

    Returns:
        A ``Network``: ``init(key)`` gives a tuple of ``Linear`` layers.

    Raises:
        TypeError: a size is not an int, or ``activation`` is not callable.
        ValueError: a size is too small.

    Examples:
        >>> net = jr.nn.mlp(3, 2, hidden_sizes=(8,))
        >>> params = net.init(jax.random.key(0))
        >>> [layer.weight.shape for layer in params]
        [(3, 8), (8, 2)]
        >>> net.apply(params, jnp.ones((5, 3))).shape  # zero at the start
        (5, 2)
    """
    where = "nn.mlp"
    sizes = (
        _size(where, "in_size", in_size, 0),
        *check_sizes(where, hidden_sizes),
        _size(where, "out_size", out_size, 1),
    )
    _check_activation(where, activation)

    def init(key: ArrayLike) -> tuple[Linear, ...]:
        return init_layers(key, sizes, zero_last)

    def apply(params: Sequence[Linear], x: ArrayLike) -> Array:
        return run(params, jnp.asarray(x), activation)

    return Network(init, apply)


def made_degrees(
    dim: int, hidden_sizes: Sequence[int], context_size: int
) -> list[np.ndarray]:
    """The MADE degrees of the inputs, each hidden layer's units and the outputs.

    Input ``j`` has degree ``j + 1``; output ``i`` has degree ``i + 1`` (the
    coordinate it parameterizes); a hidden unit of degree ``m`` sees inputs
    ``0 .. m - 1``. Hidden degrees cycle over ``1 .. dim - 1``; they start at 0
    (units that see no input, only the context) when there is a context, so
    that the first coordinate's params can depend on it, and when ``dim == 1``.
    """
    low = 0 if context_size > 0 or dim == 1 else 1
    degrees = [np.arange(1, dim + 1)]
    degrees += [low + np.arange(n) % (dim - low) for n in hidden_sizes]
    degrees.append(np.arange(1, dim + 1))
    return degrees


def made_masks(
    dim: int, num_params: int, hidden_sizes: Sequence[int], context_size: int
) -> list[np.ndarray]:
    """The 0/1 masks of each layer's weight, ``(in, out)`` as the weights.

    The first mask's last ``context_size`` rows are ones (the context reaches
    every first-layer unit); the last mask repeats each output degree
    ``num_params`` times (output ``i * num_params + k`` is param ``k`` of
    coordinate ``i``).
    """
    degrees = made_degrees(dim, hidden_sizes, context_size)
    masks = []
    for i in range(len(degrees) - 1):
        inputs, outputs = degrees[i], degrees[i + 1]
        if i == len(degrees) - 2:  # to the outputs: strictly lower degrees
            mask = inputs[:, None] < np.repeat(outputs, num_params)[None, :]
        else:
            mask = inputs[:, None] <= outputs[None, :]
        if i == 0 and context_size:
            mask = np.concatenate([mask, np.ones((context_size, mask.shape[1]))])
        masks.append(mask.astype(np.float32))
    return masks


def masked_mlp(
    dim: int,
    num_params: int,
    hidden_sizes: Sequence[int] = (64, 64),
    *,
    context_size: int = 0,
    activation: Callable[[Array], Array] = jax.nn.relu,
    zero_last: bool = True,
) -> Network:
    """An autoregressive MLP (MADE): output ``i`` sees the inputs before ``i``.

    ``apply(params, inputs)`` maps ``inputs`` of shape ``(..., dim +
    context_size)`` (the ``dim`` autoregressive inputs, then the context) to
    ``(..., dim * num_params)``, where output ``i * num_params + k`` is param
    ``k`` of coordinate ``i`` (so ``reshape(..., dim, num_params)`` is free)
    and depends on the inputs ``0 .. i - 1`` and the context only. Every
    weight is multiplied by a fixed mask from the units' degrees (hidden
    degrees assigned in turn); the context inputs connect to every unit of the
    first hidden layer. Output 0 depends on the context alone (or on nothing).
    Use hidden widths of at least ``dim`` so that every degree has units.

    Args:
        dim: the number of autoregressive inputs, at least 1.
        num_params: the number of outputs per input coordinate, at least 1.
        hidden_sizes: the widths of the hidden layers, at least one.
        context_size: the number of context inputs (0: none).
        activation: the elementwise function after each hidden layer.
        zero_last: start the last layer at zero (the network at the zero
            function, a flow layer at the identity).

    Returns:
        A ``Network``: ``init(key)`` gives a tuple of ``Linear`` layers; the
        masks are constants of ``apply``, not params.

    Raises:
        TypeError: a size is not an int, or ``activation`` is not callable.
        ValueError: a size is too small, or ``hidden_sizes`` is empty.

    Examples:
        >>> net = jr.nn.masked_mlp(3, 2, hidden_sizes=(8,))
        >>> params = net.init(jax.random.key(0))
        >>> params = params[:-1] + (params[-1]._replace(bias=jnp.ones(6)),)
        >>> grad = jax.jacobian(net.apply, argnums=1)(params, jnp.ones(3))
        >>> bool(jnp.all(grad[:2] == 0))  # coordinate 0's outputs see no input
        True

    References:
        Germain, Gregor, Murray & Larochelle (2015). MADE: Masked autoencoder
        for distribution estimation. ICML.
    """
    where = "nn.masked_mlp"
    dim = _size(where, "dim", dim, 1)
    num_params = _size(where, "num_params", num_params, 1)
    context_size = _size(where, "context_size", context_size, 0)
    hidden = check_sizes(where, hidden_sizes)
    if not hidden:
        raise ValueError(f"{where}: hidden_sizes must hold at least one width")
    _check_activation(where, activation)
    masks = made_masks(dim, num_params, hidden, context_size)
    sizes = (dim + context_size, *hidden, dim * num_params)

    def init(key: ArrayLike) -> tuple[Linear, ...]:
        return init_layers(key, sizes, zero_last, masks)

    def apply(params: Sequence[Linear], inputs: ArrayLike) -> Array:
        return run(apply_masks(params, masks), jnp.asarray(inputs), activation)

    return Network(init, apply)
