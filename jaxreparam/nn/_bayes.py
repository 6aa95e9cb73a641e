"""Bayesian dense and convolutional layers: three gradient estimators, one argument.

A layer is a ``BayesianNetwork(init, apply)``: ``init(key) ->
MeanFieldParams(loc=Linear(weight, bias), log_scale=Linear(...))`` and
``apply(key, mf_params, x) -> outputs`` on a batch ``x`` whose leading axes are
examples. Each weight is ``N(loc, exp(log_scale)^2)``, independent of the
others. ``reparameterization`` picks how a forward pass draws the noise:

* ``"weight"`` (Bayes by backprop, Blundell et al. 2015): one draw of every
  weight, shared by the whole batch. The gradients of the examples are
  correlated through the shared draw, so their variance does not fall with
  the batch size.
* ``"local"`` (Kingma, Salimans & Welling 2015): the pre-activations are drawn
  directly, one independent draw per example: ``b = x @ mu + mu_b + sqrt(x^2 @
  s^2 + s_b^2) * eps``, the exact marginal of ``x @ W + b`` over ``W ~ q``;
  for a convolution, ``conv(x, mu)`` and ``conv(x^2, s^2)`` (exact for each
  output entry; neighbouring positions, which share weights under ``"weight"``,
  are drawn independently).
* ``"flipout"`` (Wen et al. 2018): one shared perturbation ``dW = s * eps``
  and per-example random signs ``r_in``, ``r_out``: ``x @ mu + ((x * r_in) @
  dW) * r_out``, the bias perturbation flipped by ``r_out`` too. For each
  example the perturbation ``diag(r_in) dW diag(r_out)`` has the distribution
  of ``dW``, so the outputs have exactly the weight-sampling distribution,
  while different examples' perturbations are pseudo-independent. For a
  convolution the signs are per example and channel, shared over positions.

The locs start as ``jr.nn.mlp``'s layers (uniform on ``+-1/sqrt(fan_in)``,
fan-in ``kh * kw * in_channels`` for a convolution), the scales at
``init_scale`` (see ``jr.nn.mean_field``). So ``posterior_mean`` of a
``bayesian_mlp`` is a tuple of ``Linear`` that ``jr.nn.mlp``'s apply takes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.nn import _mlp
from jaxreparam.nn._mean_field import DEFAULT_INIT_SCALE, MeanFieldParams

REPARAMETERIZATIONS = ("weight", "local", "flipout")


class BayesianNetwork(NamedTuple):
    """A Bayesian layer or network as two pure functions.

    Attributes:
        init: ``init(key) -> mf_params``, a ``MeanFieldParams`` over the
            weights (a pytree of arrays, so any optax optimizer trains it).
        apply: ``apply(key, mf_params, x) -> outputs``; one random forward
            pass of the batch ``x`` (leading axes are examples).

    Examples:
        >>> net = jr.nn.bayesian_dense(3, 2)  # or bayesian_mlp, bayesian_conv2d
        >>> isinstance(net, jr.nn.BayesianNetwork), net._fields
        (True, ('init', 'apply'))
        >>> mf_params = net.init(jax.random.key(0))
        >>> type(mf_params).__name__
        'MeanFieldParams'
        >>> net.apply(jax.random.key(1), mf_params, jnp.ones((5, 3))).shape
        (5, 2)
    """

    init: Callable[[ArrayLike], Any]
    apply: Callable[[ArrayLike, Any, ArrayLike], Array]


def _check_choice(where: str, reparameterization: Any) -> str:
    if not isinstance(reparameterization, str) or (
        reparameterization not in REPARAMETERIZATIONS
    ):
        raise ValueError(
            f"{where}: reparameterization must be one of {REPARAMETERIZATIONS}, "
            f"got {reparameterization!r}"
        )
    return reparameterization


def _check_input(where: str, x: ArrayLike, size: int, axis: str, ndim: int) -> Array:
    """``x`` as a float array whose feature axis has ``size``, free of NaN."""
    x = _checks.as_float(where, "x", x)
    if x.ndim < ndim or x.shape[-1] != size:
        raise ValueError(
            f"{where}: x must have {size} {axis} on its last axis (shape (..., "
            f"{'H, W, ' if ndim == 3 else ''}{size})), got shape {x.shape} with "
            f"{x.shape[-1] if x.ndim else 'no'} there"
        )
    return _checks.check_value(where, "x", x, _not_nan, "free of NaN")


def _not_nan(x: Any) -> Any:
    return ~(jnp.isnan(x) if isinstance(x, jax.Array) else np.isnan(x))


def _check_layer(where: str, mf_params: Any) -> tuple[_mlp.Linear, _mlp.Linear]:
    if not isinstance(mf_params, MeanFieldParams):
        raise TypeError(
            f"{where}: params must be the layer's MeanFieldParams (from its init), "
            f"got {type(mf_params).__name__}"
        )
    return _mlp.Linear(*mf_params.loc), _mlp.Linear(*mf_params.log_scale)


def _init(key: ArrayLike, shape: tuple[int, ...], fan_in: int, init_scale: Array):
    """``MeanFieldParams`` of a layer: locs as ``jr.nn.mlp``'s, scales constant."""
    weight_key, bias_key = jax.random.split(_checks.check_key(key))
    bound = 1.0 / np.sqrt(max(fan_in, 1))
    weight = jax.random.uniform(weight_key, shape, minval=-1.0) * bound
    bias = jax.random.uniform(bias_key, shape[-1:], minval=-1.0) * bound
    log_scale = jnp.log(init_scale)
    return MeanFieldParams(
        _mlp.Linear(weight, bias),
        _mlp.Linear(
            jnp.full(shape, log_scale, weight.dtype),
            jnp.full(shape[-1:], log_scale, bias.dtype),
        ),
    )


def _forward(
    key: Array,
    mf_params: Any,
    x: Array,
    linear: Callable[[Array, Array], Array],
    reparameterization: str,
    num_feature_axes: int,
) -> Array:
    """One random pass of ``x`` through the layer ``linear(x, weight) + bias``.

    ``num_feature_axes`` trailing axes of ``x`` belong to one example (1 for
    dense, 3 for a convolution's ``H, W, C``); the rest are examples.
    """
    loc, log_scale = mf_params
    if reparameterization == "local":
        # exp(2 log s) as the KL of a Normal prior writes it, so XLA makes it once
        mean = linear(x, loc.weight) + loc.bias
        variance = linear(x * x, jnp.exp(2 * log_scale.weight)) + jnp.exp(
            2 * log_scale.bias
        )
        eps = jax.random.normal(key, mean.shape, mean.dtype)
        return mean + jnp.sqrt(variance) * eps
    scale_w, scale_b = jnp.exp(log_scale.weight), jnp.exp(log_scale.bias)
    if reparameterization == "weight":
        weight_key, bias_key = jax.random.split(key)
        weight = loc.weight + scale_w * jax.random.normal(
            weight_key, loc.weight.shape, loc.weight.dtype
        )
        bias = loc.bias + scale_b * jax.random.normal(
            bias_key, loc.bias.shape, loc.bias.dtype
        )
        return linear(x, weight) + bias
    mean = linear(x, loc.weight) + loc.bias
    # flipout: signs per example and channel, broadcast over positions
    noise_key, in_key, out_key = jax.random.split(key, 3)
    examples = x.shape[: x.ndim - num_feature_axes]
    middle = (1,) * (num_feature_axes - 1)
    sign_in = jax.random.rademacher(in_key, (*examples, *middle, x.shape[-1]), x.dtype)
    sign_out = jax.random.rademacher(
        out_key, (*examples, *middle, mean.shape[-1]), mean.dtype
    )
    weight_key, bias_key = jax.random.split(noise_key)
    delta_w = scale_w * jax.random.normal(
        weight_key, loc.weight.shape, loc.weight.dtype
    )
    delta_b = scale_b * jax.random.normal(bias_key, loc.bias.shape, loc.bias.dtype)
    return mean + (linear(x * sign_in, delta_w) + delta_b) * sign_out


def _layer(
    where: str,
    shape: tuple[int, ...],
    fan_in: int,
    scale: Array,
    axis: str,
    linear: Callable[[Array, Array], Array],
    reparameterization: str,
    num_feature_axes: int,
) -> BayesianNetwork:
    """The ``BayesianNetwork`` of one layer ``linear(x, weight) + bias``.

    ``weight`` has ``shape``, its input size ``shape[-2]`` (the ``axis``,
    features or channels, on ``x``'s last axis) and its output size
    ``shape[-1]``; ``fan_in`` sets the initial locations (:func:`_init`),
    ``num_feature_axes`` is :func:`_forward`'s and the fewest axes of ``x``.
    """

    def init(key: ArrayLike) -> MeanFieldParams:
        return _init(key, shape, fan_in, scale)

    def apply(key: ArrayLike, params: MeanFieldParams, x: ArrayLike) -> Array:
        key = _checks.check_key(key)
        layer = _check_layer(where, params)
        x = _check_input(where, x, shape[-2], axis, num_feature_axes)
        return _forward(key, layer, x, linear, reparameterization, num_feature_axes)

    return BayesianNetwork(init, apply)


def _dense(x: Array, weight: Array) -> Array:
    return x @ weight


def bayesian_dense(
    in_size: int,
    out_size: int,
    *,
    reparameterization: str = "local",
    init_scale: float = DEFAULT_INIT_SCALE,
) -> BayesianNetwork:
    """A Bayesian dense layer ``x @ W + b``, every weight a Normal.

    Args:
        in_size: the size of the inputs' last axis.
        out_size: the size of the outputs' last axis.
        reparameterization: ``"weight"``, ``"local"`` or ``"flipout"`` (see
            the module docstring).
        init_scale: the initial posterior standard deviation of every weight.

    Returns:
        A ``BayesianNetwork``: ``init(key)`` gives ``MeanFieldParams`` of
        ``Linear(weight (in, out), bias (out,))``; ``apply(key, params, x)``
        maps ``x`` of shape ``(..., in_size)`` to ``(..., out_size)``.

    Raises:
        TypeError: a size is not an int.
        ValueError: a size is below 1, an unknown ``reparameterization``, an
            ``init_scale`` that is not positive; at the call, ``x`` of another
            width (also when traced) or holding NaN (eagerly; NaN outputs
            under jit, a checkify error under ``jr.checking()``).

    Examples:
        >>> layer = jr.nn.bayesian_dense(3, 2)
        >>> params = layer.init(jax.random.key(0))
        >>> params.loc.weight.shape
        (3, 2)
        >>> layer.apply(jax.random.key(1), params, jnp.ones((5, 3))).shape
        (5, 2)

    References:
        Kingma, Salimans & Welling (2015). Variational dropout and the local
        reparameterization trick. NeurIPS.
        Wen, Vicol, Ba, Tran & Grosse (2018). Flipout: efficient pseudo-
        independent weight perturbations on mini-batches. ICLR.
    """
    where = "nn.bayesian_dense"
    in_size = _mlp._size(where, "in_size", in_size, 1)
    out_size = _mlp._size(where, "out_size", out_size, 1)
    reparameterization = _check_choice(where, reparameterization)
    scale = _checks.positive(where, "init_scale", init_scale)
    shape = (in_size, out_size)
    return _layer(
        where, shape, in_size, scale, "features", _dense, reparameterization, 1
    )


def _pair(where: str, name: str, value: Any) -> tuple[int, int]:
    if isinstance(value, int | np.integer):
        value = (value, value)
    if not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(
            f"{where}: {name} must be an int or a pair of ints, got {value!r}"
        )
    first, second = value
    return _mlp._size(where, name, first, 1), _mlp._size(where, name, second, 1)


def bayesian_conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    *,
    stride: int | tuple[int, int] = 1,
    padding: str = "SAME",
    reparameterization: str = "local",
    init_scale: float = DEFAULT_INIT_SCALE,
) -> BayesianNetwork:
    """A Bayesian 2-D convolution on NHWC images, every weight a Normal.

    Args:
        in_channels: the channels of the input (its last axis).
        out_channels: the channels of the output.
        kernel_size: the kernel's height and width (an int: square).
        stride: the step between positions (an int or a pair).
        padding: ``"SAME"`` or ``"VALID"`` (``jax.lax.conv_general_dilated``'s).
        reparameterization: ``"weight"``, ``"local"`` or ``"flipout"`` (see
            the module docstring).
        init_scale: the initial posterior standard deviation of every weight.

    Returns:
        A ``BayesianNetwork``: ``init(key)`` gives ``MeanFieldParams`` of
        ``Linear(weight (kh, kw, in, out), bias (out,))``; ``apply(key,
        params, x)`` maps ``x`` of shape ``(..., H, W, in_channels)`` to
        ``(..., H', W', out_channels)``.

    Raises:
        TypeError: a size is not an int.
        ValueError: a size below 1, an unknown ``padding`` or
            ``reparameterization``; at the call, ``x`` with another number of
            channels or fewer than 3 axes, or holding NaN (as
            :func:`bayesian_dense`).

    Examples:
        A small Bayesian CNN, written by hand:

        >>> conv = jr.nn.bayesian_conv2d(1, 4, 3, stride=2)
        >>> dense = jr.nn.bayesian_dense(4 * 4 * 4, 10)
        >>> def init(key):
        ...     conv_key, dense_key = jax.random.split(key)
        ...     return conv.init(conv_key), dense.init(dense_key)
        >>> def apply(key, params, x):
        ...     conv_key, dense_key = jax.random.split(key)
        ...     h = jax.nn.relu(conv.apply(conv_key, params[0], x))
        ...     return dense.apply(dense_key, params[1], h.reshape(*h.shape[:-3], -1))
        >>> params = init(jax.random.key(0))
        >>> apply(jax.random.key(1), params, jnp.ones((2, 8, 8, 1))).shape
        (2, 10)
    """
    where = "nn.bayesian_conv2d"
    in_channels = _mlp._size(where, "in_channels", in_channels, 1)
    out_channels = _mlp._size(where, "out_channels", out_channels, 1)
    kernel = _pair(where, "kernel_size", kernel_size)
    strides = _pair(where, "stride", stride)
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"{where}: padding must be 'SAME' or 'VALID', got {padding!r}")
    reparameterization = _check_choice(where, reparameterization)
    scale = _checks.positive(where, "init_scale", init_scale)
    shape = (*kernel, in_channels, out_channels)

    def conv(x: Array, weight: Array) -> Array:
        flat = x.reshape(-1, *x.shape[-3:])
        out = jax.lax.conv_general_dilated(
            flat, weight, strides, padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        return out.reshape(*x.shape[:-3], *out.shape[1:])

    fan_in = kernel[0] * kernel[1] * in_channels
    return _layer(where, shape, fan_in, scale, "channels", conv, reparameterization, 3)


def bayesian_mlp(
    sizes: Sequence[int],
    *,
    activation: Callable[[Array], Array] = jax.nn.relu,
    reparameterization: str = "local",
    init_scale: float = DEFAULT_INIT_SCALE,
) -> BayesianNetwork:
    """A Bayesian multilayer perceptron ``sizes[0] -> ... -> sizes[-1]``.

    Dense Bayesian layers (:func:`bayesian_dense`), each hidden one followed
    by ``activation``, the last linear. ``apply`` splits its key into one per
    layer.

    Args:
        sizes: the input size, the hidden widths, the output size (at least
            two entries).
        activation: the elementwise function after each hidden layer.
        reparameterization: ``"weight"``, ``"local"`` or ``"flipout"``, for
            every layer.
        init_scale: the initial posterior standard deviation of every weight.

    Returns:
        A ``BayesianNetwork``: ``init(key)`` gives one ``MeanFieldParams``
        whose ``loc`` and ``log_scale`` are tuples of ``Linear`` (so
        ``jr.nn.posterior_mean`` gives ``jr.nn.mlp``'s params);
        ``apply(key, params, x)`` maps ``(..., sizes[0])`` to ``(...,
        sizes[-1])``.

    Raises:
        TypeError: ``sizes`` is not a sequence of ints or ``activation`` is
            not callable.
        ValueError: fewer than two sizes, a size below 1, or as
            :func:`bayesian_dense`.

    Examples:
        >>> net = jr.nn.bayesian_mlp((3, 8, 2), reparameterization="flipout")
        >>> params = net.init(jax.random.key(0))
        >>> net.apply(jax.random.key(1), params, jnp.ones((5, 3))).shape
        (5, 2)
        >>> mean = jr.nn.posterior_mean(params)  # jr.nn.mlp's params
        >>> jr.nn.mlp(3, 2, (8,)).apply(mean, jnp.ones((5, 3))).shape
        (5, 2)
    """
    where = "nn.bayesian_mlp"
    if isinstance(sizes, int | np.integer) or not isinstance(sizes, Sequence):
        raise TypeError(f"{where}: sizes must be a sequence of ints, got {sizes!r}")
    sizes = tuple(_mlp._size(where, "sizes", n, 1) for n in sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"{where}: sizes must hold the input size and the output size at least, "
            f"got {sizes}"
        )
    _mlp._check_activation(where, activation)
    reparameterization = _check_choice(where, reparameterization)
    scale = _checks.positive(where, "init_scale", init_scale)
    shapes = list(zip(sizes[:-1], sizes[1:], strict=True))

    def init(key: ArrayLike) -> MeanFieldParams:
        keys = jax.random.split(_checks.check_key(key), len(shapes))
        each = [
            _init(k, shape, shape[0], scale)
            for k, shape in zip(keys, shapes, strict=True)
        ]
        return MeanFieldParams(
            tuple(p.loc for p in each), tuple(p.log_scale for p in each)
        )

    def apply(key: ArrayLike, params: MeanFieldParams, x: ArrayLike) -> Array:
        if not isinstance(params, MeanFieldParams) or len(params.loc) != len(shapes):
            raise TypeError(
                f"{where}: params must be the network's MeanFieldParams (from its "
                f"init, {len(shapes)} layers), got {type(params).__name__}"
            )
        keys = jax.random.split(_checks.check_key(key), len(shapes))
        h = _check_input(where, x, sizes[0], "features", 1)
        for i, layer_key in enumerate(keys):
            if i:
                h = activation(h)
            layer = _check_layer(
                where, MeanFieldParams(params.loc[i], params.log_scale[i])
            )
            h = _forward(layer_key, layer, h, _dense, reparameterization, 1)
        return h

    return BayesianNetwork(init, apply)
