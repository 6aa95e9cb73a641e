"""Coupling layers (RealNVP, Dinh et al. 2017): half the coordinates move the rest.

A boolean ``mask`` over the ``dim`` coordinates splits ``x`` into the
conditioning coordinates ``x_c`` (``mask`` True, left unchanged) and the
transformed ones ``x_t`` (``mask`` False), moved elementwise by a
``Transformer`` whose raw params a conditioner network computes from ``x_c``
(and the context, for a conditional layer):

    y_c = x_c,    y_t = tau(x_t; conditioner(x_c, context)).

The Jacobian is block triangular with ``dy_c/dx_c = I``, so ``log|det dy/dx|``
is the sum of the transformer's log-derivatives, and the inverse is as cheap
as the forward (``x_t = tau^-1(y_t; conditioner(y_c, context))``): both
directions are one network pass. Alternate masks (or put ``reverse`` or a
permutation between layers) so that every coordinate is moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreparam.base import Array, ArrayLike, Bijector
from jaxreparam.bijectors import _conditioner
from jaxreparam.bijectors._transformer import Transformer, affine_transformer
from jaxreparam.nn import _mlp


class CouplingParams(NamedTuple):
    """Params of a coupling layer: its conditioner network's params.

    Examples:
        >>> layer = jr.bijectors.affine_coupling(4)
        >>> params = layer.init(jax.random.key(0))
        >>> type(params).__name__, params._fields
        ('CouplingParams', ('conditioner',))
    """

    conditioner: Any


def check_transformer(where: str, transformer: Any) -> Transformer:
    """``transformer`` if it is a ``Transformer``, else a ``TypeError``."""
    if not isinstance(transformer, Transformer):
        raise TypeError(
            f"{where}: transformer must be a jaxreparam Transformer (such as "
            f"jaxreparam.bijectors.affine_transformer), got "
            f"{type(transformer).__name__}"
        )
    return transformer


def _check_mask(where: str, mask: Any, dim: int) -> np.ndarray:
    if mask is None:
        return np.arange(dim) < dim // 2
    if isinstance(mask, jax.core.Tracer):
        raise TypeError(f"{where}: mask must be a concrete array, not a traced one")
    array = np.asarray(mask)
    if array.dtype != np.bool_ or array.shape != (dim,):
        raise ValueError(
            f"{where}: mask must be a boolean array of shape ({dim},), got "
            f"{array.dtype} of shape {array.shape}"
        )
    if array.all():
        raise ValueError(
            f"{where}: mask must be False somewhere (the coordinates to move), "
            f"got {array.tolist()}"
        )
    return array


class _Split(NamedTuple):
    """How to take ``x_c`` and ``x_t`` out of ``x`` and put ``y`` back together."""

    conditioning: Any  # x -> x_c
    transformed: Any  # x -> x_t
    join: Any  # (x_c, y_t) -> y


def _split(mask: np.ndarray) -> _Split:
    """Slices when the mask is a prefix or a suffix, index gathers otherwise."""
    dim = mask.shape[0]
    count = int(mask.sum())
    if np.array_equal(mask, np.arange(dim) < count):  # conditioning first
        return _Split(
            lambda x: x[..., :count],
            lambda x: x[..., count:],
            lambda x_c, y_t: jnp.concatenate([x_c, y_t], axis=-1),
        )
    if np.array_equal(mask, np.arange(dim) >= dim - count):  # conditioning last
        return _Split(
            lambda x: x[..., dim - count :],
            lambda x: x[..., : dim - count],
            lambda x_c, y_t: jnp.concatenate([y_t, x_c], axis=-1),
        )
    if dim > 2 and np.array_equal(mask, np.arange(dim) % 2 == int(not mask[0])):
        return _alternating(dim, first=int(not mask[0]))
    conditioning, transformed = np.flatnonzero(mask), np.flatnonzero(~mask)
    order = np.argsort(np.concatenate([conditioning, transformed]))
    return _Split(
        lambda x: x[..., conditioning],
        lambda x: x[..., transformed],
        lambda x_c, y_t: jnp.concatenate([x_c, y_t], axis=-1)[..., order],
    )


def _alternating(dim: int, first: int) -> _Split:
    """Strided slices for alternating masks (XLA's gathers are ~1.4x slower).

    ``first`` is the parity of the conditioning coordinates.
    """

    def join(x_c: Array, y_t: Array) -> Array:
        evens, odds = (x_c, y_t) if first == 0 else (y_t, x_c)
        pairs = jnp.stack([evens[..., : dim // 2], odds], axis=-1)
        y = pairs.reshape(*pairs.shape[:-2], 2 * (dim // 2))
        if dim % 2:
            y = jnp.concatenate([y, evens[..., -1:]], axis=-1)
        return y

    return _Split(lambda x: x[..., first::2], lambda x: x[..., 1 - first :: 2], join)


def coupling(
    transformer: Transformer,
    dim: int,
    *,
    mask: ArrayLike | None = None,
    hidden_sizes: Sequence[int] = (64, 64),
    context_size: int = 0,
    conditioner: Any = None,
) -> Bijector:
    """A coupling layer on vectors of size ``dim`` (event_ndims 1).

    The coordinates where ``mask`` is False are moved by ``transformer``,
    whose raw params (``transformer.num_params`` per moved coordinate) a
    conditioner computes from the coordinates where ``mask`` is True and the
    context. The default conditioner is ``jaxreparam.nn.mlp`` with ReLU
    hidden layers of ``hidden_sizes`` and a last layer that starts at zero, so
    the layer starts at the identity; its ``init(key)`` draws the hidden
    weights. Any real params keep the layer invertible.

    A conditioner of your own is a ``jaxreparam.nn.Network`` (``init`` is
    then called with the key) or a function ``conditioner(params, inputs) ->
    outputs`` whose params you pass to ``init(conditioner_params=...)``: a flax
    module's ``module.apply`` with its variables, or an equinox model split by
    ``eqx.partition(model, eqx.is_array)`` and rebuilt in the function with
    ``eqx.combine`` (vmap a one-example model over the batch axes). It gets
    ``inputs`` of shape ``(..., num_conditioning + context_size)`` (the
    conditioning coordinates in order, then the context) and must return
    ``(..., num_moved * transformer.num_params)``, param ``k`` of the ``i``-th
    moved coordinate at ``i * num_params + k``; start it at zero outputs to
    start at the identity.

    Args:
        transformer: the elementwise map, such as ``affine_transformer``.
        dim: the event size, at least 1.
        mask: a boolean array of shape ``(dim,)``, True on the conditioning
            coordinates, False somewhere. Default: the first ``dim // 2``
            coordinates condition (none when ``dim == 1``: the moved
            coordinate's params then depend on the context only).
        hidden_sizes: the default conditioner's hidden widths.
        context_size: the size of the context vector (0: not conditional).
        conditioner: ``None`` (the default MLP), a ``Network`` or a function
            ``(params, inputs) -> outputs``.

    Returns:
        A ``Bijector`` named ``<transformer>_coupling`` with ``CouplingParams``
        and ``init(key=None, *, conditioner_params=None)``; ``forward(params,
        x, context=None)`` and ``inverse`` act on the last axis of ``x``, with
        any batch axes (a context's batch axes broadcast against them), and
        return log-determinants of shape ``x.shape[:-1]``; conditional when
        ``context_size > 0``.

    Raises:
        TypeError: ``transformer`` is no ``Transformer``, a size is no int, or
            ``conditioner`` is not callable.
        ValueError: a size is too small or ``mask`` is not a boolean
            ``(dim,)`` array with a False entry. When called: ``x`` has the
            wrong event size, a context is missing, unexpected or of the wrong
            size, or the conditioner returns the wrong number of outputs.

    Examples:
        >>> layer = jr.bijectors.affine_coupling(4, hidden_sizes=(16,))
        >>> params = layer.init(jax.random.key(0))
        >>> y, log_det = layer.forward(params, jnp.ones((3, 4)))
        >>> y.shape, log_det.shape
        ((3, 4), (3,))

    References:
        Dinh, Sohl-Dickstein & Bengio (2017). Density estimation using Real
        NVP. ICLR.
    """
    where = "bijectors.coupling"
    check_transformer(where, transformer)
    dim = _conditioner.check_size(where, "dim", dim, 1)
    context_size = _conditioner.check_size(where, "context_size", context_size, 0)
    mask = _check_mask(where, mask, dim)
    num_params = transformer.num_params
    num_moved = int((~mask).sum())
    out_size = num_moved * num_params
    hidden_sizes = _mlp.check_sizes(where, hidden_sizes)
    network = _mlp.mlp(int(mask.sum()) + context_size, out_size, hidden_sizes)
    split = _split(mask)

    def default_apply(params: Any, x_c: Array, context: Array | None) -> Array:
        return _mlp.run(params, x_c, jax.nn.relu, context)

    resolved = _conditioner.resolve(
        where,
        conditioner,
        network,
        default_apply,
        out_size,
        f"{num_moved} moved coordinates x {num_params} {transformer.name} params",
    )

    def init(key: ArrayLike = None, *, conditioner_params: Any = None) -> Any:
        return CouplingParams(resolved.init(key, conditioner_params))

    def run(function: Any, params: Any, x: ArrayLike, context: Any, name: str):
        x, context = _conditioner.check_inputs(
            where, name, x, dim, context_size, context
        )
        x_c = split.conditioning(x)
        outputs = resolved.apply(params.conditioner, x_c, context)
        raw = outputs.reshape(*outputs.shape[:-1], num_moved, num_params)
        y_t, log_det = function(raw, split.transformed(x))
        return split.join(x_c, y_t), jnp.sum(log_det, axis=-1)

    def forward(
        params: CouplingParams, x: ArrayLike, context: Any = None
    ) -> tuple[Array, Array]:
        return run(transformer.forward, params, x, context, "x")

    def inverse(
        params: CouplingParams, y: ArrayLike, context: Any = None
    ) -> tuple[Array, Array]:
        return run(transformer.inverse, params, y, context, "y")

    return Bijector(
        name=f"{transformer.name}_coupling",
        params_type=CouplingParams,
        init=init,
        forward=forward,
        inverse=inverse,
        event_ndims=1,
        conditional=context_size > 0,
    )


def affine_coupling(dim: int, **kwargs: Any) -> Bijector:
    """``coupling(affine_transformer, dim, **kwargs)``: RealNVP's affine layer.

    The moved coordinates become ``shift + scale * x_t`` with ``scale =
    softplus(raw + log(e - 1))`` (``affine_transformer``), shift and scale
    computed from the conditioning coordinates.

    Args:
        dim: the event size.
        **kwargs: ``mask``, ``hidden_sizes``, ``context_size``,
            ``conditioner``, as for ``coupling``.

    Returns:
        The ``Bijector`` named ``affine_coupling``.

    Examples:
        >>> layer = jr.bijectors.affine_coupling(2, context_size=3)
        >>> params = layer.init(jax.random.key(0))
        >>> x = jnp.array([[0.5, -1.0]])
        >>> y, log_det = layer.forward(params, x, context=jnp.ones(3))
        >>> bool(jnp.all(y == x)), float(log_det[0])  # the identity at the start
        (True, 0.0)
    """
    return coupling(affine_transformer, dim, **kwargs)
