"""Masked autoregressive layers: MAF (Papamakarios et al. 2017) and, inverted, IAF.

Each coordinate is moved by a ``Transformer`` whose raw params depend on the
coordinates before it, computed for all coordinates at once by a masked
network (MADE, Germain et al. 2015) of the layer's output ``x`` and the
context:

    x_i = tau(u_i; made(x_<i, context)_i),    i = 0 .. dim - 1.

The Jacobian ``dx/du`` is lower triangular, so ``log|det|`` is the sum of the
transformer's log-derivatives. ``inverse`` (data ``x`` -> noise ``u``, the
density direction) knows all of ``x``, so one network pass gives every
coordinate's params. ``forward`` (noise -> data, sampling) must build ``x``
one coordinate at a time: ``dim`` passes, in a ``lax.fori_loop``. This is the
MAF trade-off, fast densities and slow samples;
``invert(masked_autoregressive(...))`` is the IAF (Kingma et al. 2016), which
samples (and gives its samples' densities) in one pass and evaluates a given
point's density in ``dim`` passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors import _conditioner
from jaxreparam.bijectors._coupling import check_transformer
from jaxreparam.bijectors._transformer import Transformer, affine_transformer
from jaxreparam.nn import _mlp


class AutoregressiveParams(NamedTuple):
    """Params of a masked autoregressive layer: its conditioner's params.

    Examples:
        >>> layer = jr.bijectors.affine_autoregressive(3)
        >>> params = layer.init(jax.random.key(0))
        >>> type(params).__name__, params._fields
        ('AutoregressiveParams', ('conditioner',))
    """

    conditioner: Any


def masked_autoregressive(
    transformer: Transformer,
    dim: int,
    *,
    hidden_sizes: Sequence[int] = (64, 64),
    context_size: int = 0,
    conditioner: Any = None,
) -> Bijector:
    """A masked autoregressive layer (MAF) on vectors of size ``dim``.

    ``forward(params, u)`` (sampling) computes ``x_i = tau(u_i; raw_i)``,
    ``raw_i`` from ``x_0 .. x_{i-1}`` and the context, in ``dim`` passes of
    the conditioner (a ``lax.fori_loop``); ``inverse(params, x)`` (the
    density direction) computes ``u`` in one pass. For one-pass sampling use
    ``jaxreparam.bijectors.invert(masked_autoregressive(...))``, the IAF. The
    default conditioner is ``jaxreparam.nn.masked_mlp`` (ReLU, ``hidden_sizes``,
    last layer at zero, so the layer starts at the identity); the first
    coordinate's params depend on the context only (or are constants).

    A conditioner of your own is a ``jaxreparam.nn.Network`` or a function
    ``(params, inputs) -> outputs`` with ``init(conditioner_params=...)``, as
    for ``coupling``: ``inputs`` of shape ``(..., dim + context_size)`` (``x``,
    then the context), outputs ``(..., dim * transformer.num_params)`` with
    param ``k`` of coordinate ``i`` at ``i * num_params + k``, which must
    depend on ``inputs[..., :i]`` and the context only (the layer does not
    check this; a non-autoregressive conditioner makes ``forward`` wrong).

    Args:
        transformer: the elementwise map, such as ``affine_transformer``.
        dim: the event size, at least 1.
        hidden_sizes: the default conditioner's hidden widths (at least one;
            widths of at least ``dim`` give every degree units).
        context_size: the size of the context vector (0: not conditional).
        conditioner: ``None`` (the default masked MLP), a ``Network`` or a
            function ``(params, inputs) -> outputs``.

    Returns:
        A ``Bijector`` named ``<transformer>_autoregressive`` with
        ``AutoregressiveParams`` and ``init(key=None, *,
        conditioner_params=None)``; event_ndims 1, any batch axes, a context's
        batch axes broadcast against them; conditional when ``context_size >
        0``.

    Raises:
        TypeError: ``transformer`` is no ``Transformer``, a size is no int, or
            ``conditioner`` is not callable.
        ValueError: a size is too small. When called: ``x`` has the wrong
            event size, a context is missing, unexpected or of the wrong size,
            or the conditioner returns the wrong number of outputs.

    Examples:
        >>> maf = jr.bijectors.affine_autoregressive(3, hidden_sizes=(8,))
        >>> params = maf.init(jax.random.key(0))
        >>> x, log_det = maf.forward(params, jnp.ones((2, 3)))  # 3 passes
        >>> u, _ = maf.inverse(params, x)  # 1 pass
        >>> iaf = jr.bijectors.invert(maf)  # samples in 1 pass
        >>> iaf.forward(params, jnp.ones((2, 3)))[0].shape
        (2, 3)

    References:
        Papamakarios, Pavlakou & Murray (2017). Masked autoregressive flow for
        density estimation. NeurIPS.
        Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling (2016).
        Improved variational inference with inverse autoregressive flow.
        NeurIPS.
    """
    where = "bijectors.masked_autoregressive"
    check_transformer(where, transformer)
    dim = _conditioner.check_size(where, "dim", dim, 1)
    context_size = _conditioner.check_size(where, "context_size", context_size, 0)
    num_params = transformer.num_params
    hidden_sizes = _mlp.check_sizes(where, hidden_sizes)
    network = _mlp.masked_mlp(dim, num_params, hidden_sizes, context_size=context_size)
    masks = _mlp.made_masks(dim, num_params, hidden_sizes, context_size)

    def default_apply(params: Any, x: Array, context: Array | None) -> Array:
        return _mlp.run(_mlp.apply_masks(params, masks), x, jax.nn.relu, context)

    resolved = _conditioner.resolve(
        where,
        conditioner,
        network,
        default_apply,
        dim * num_params,
        f"{dim} coordinates x {num_params} {transformer.name} params",
    )

    def init(key: ArrayLike = None, *, conditioner_params: Any = None) -> Any:
        return AutoregressiveParams(resolved.init(key, conditioner_params))

    def raw_of(outputs: Array) -> Array:
        return outputs.reshape(*outputs.shape[:-1], dim, num_params)

    def inverse(
        params: AutoregressiveParams, x: ArrayLike, context: Any = None
    ) -> tuple[Array, Array]:
        x, context = _conditioner.check_inputs(
            where, "x", x, dim, context_size, context
        )
        raw = raw_of(resolved.apply(params.conditioner, x, context))
        u, log_det = transformer.inverse(raw, x)
        return u, jnp.sum(log_det, axis=-1)

    def pass_of(params: Any, context: Array | None) -> Any:
        """``x -> raw``, with what does not depend on ``x`` computed once."""
        if conditioner is not None:
            return lambda x: raw_of(resolved.apply(params, x, context))
        layers = _mlp.apply_masks(params, masks)
        first = layers[0]
        weight, constant = first.weight[:dim], first.bias
        if context is not None:
            constant = context @ first.weight[dim:] + constant
        rest = layers[1:]
        return lambda x: raw_of(
            _mlp.rest_layers(rest, x @ weight + constant, jax.nn.relu)
        )

    def forward(
        params: AutoregressiveParams, u: ArrayLike, context: Any = None
    ) -> tuple[Array, Array]:
        u, context = _conditioner.check_inputs(
            where, "u", u, dim, context_size, context
        )
        raw = pass_of(params.conditioner, context)
        # x_0 .. x_{k-1} are final after k passes; the carry has y's dtype
        dtype = jax.eval_shape(lambda: transformer.forward(raw(u), u)[0]).dtype
        x = jax.lax.fori_loop(
            0, dim - 1, lambda _, x: transformer.forward(raw(x), u)[0], u.astype(dtype)
        )
        y, log_det = transformer.forward(raw(x), u)
        return y, jnp.sum(log_det, axis=-1)

    return Bijector(
        name=f"{transformer.name}_autoregressive",
        params_type=AutoregressiveParams,
        init=init,
        forward=forward,
        inverse=inverse,
        event_ndims=1,
        conditional=context_size > 0,
    )


def affine_autoregressive(dim: int, **kwargs: Any) -> Bijector:
    """``masked_autoregressive(affine_transformer, dim, **kwargs)``: MAF's layer.

    ``x_i = shift_i + scale_i u_i`` with ``shift_i`` and ``scale_i`` from
    ``x_<i`` (``affine_transformer``); inverted it is the IAF's affine layer.

    Args:
        dim: the event size.
        **kwargs: ``hidden_sizes``, ``context_size``, ``conditioner``, as for
            ``masked_autoregressive``.

    Returns:
        The ``Bijector`` named ``affine_autoregressive``.

    Examples:
        >>> iaf = jr.bijectors.invert(jr.bijectors.affine_autoregressive(2))
        >>> params = iaf.init(jax.random.key(0))
        >>> y, log_det = iaf.forward(params, jnp.zeros(2))
        >>> y.tolist(), float(log_det)  # the identity at the start
        ([0.0, 0.0], 0.0)
    """
    return masked_autoregressive(affine_transformer, dim, **kwargs)
