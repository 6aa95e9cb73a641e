"""The posterior predictive mean and standard deviation, by chunked Monte Carlo.

``predictive(key, apply, params, x)`` runs a stochastic network ``apply(key,
params, x)`` (a Bayesian network that draws its weights from the key, or any
function of that signature) ``num_samples`` times and returns the mean and the
standard deviation of the draws, never all the draws: ``chunk_size`` draws are
vmapped at a time and the chunks run under ``jax.lax.scan``, so memory is bounded
by the chunk size. The inputs can be chunked too (``input_chunk_size``), with
``jax.lax.map``.

Moments are merged chunk by chunk (Chan, Golub & LeVeque 1979): each chunk's
mean and sum of squared deviations are taken about the chunk's first draw, then
combined with the running ones. All terms are sums of squares, so the variance is
never negative, and a constant output gives a standard deviation of exactly 0
and a mean equal to the constant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreparam import _checks
from jaxreparam.base import ArrayLike

__all__ = ["Predictive", "predictive"]

_WHERE = "nn.predictive"
_USAGE = "the key comes first: predictive(key, apply, params, x)"


class Predictive(NamedTuple):
    """The Monte Carlo posterior predictive: mean and standard deviation.

    Attributes:
        mean: the mean of the draws, shaped (and structured) as one draw.
        std: their standard deviation (divisor ``num_samples``), same shape.

    Examples:
        >>> def apply(key, params, x):  # a random weight around params
        ...     return (params + jax.random.normal(key)) * x
        ...
        >>> out = jr.nn.predictive(jax.random.key(0), apply, 2.0, jnp.ones(3),
        ...     num_samples=100)
        >>> type(out).__name__, out._fields, out.mean.shape, out.std.shape
        ('Predictive', ('mean', 'std'), (3,), (3,))
    """

    mean: Any
    std: Any


def _count(name: str, value: Any) -> int:
    """A static int of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{_WHERE}: {name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{_WHERE}: {name} must be at least 1, got {value}")
    return int(value)


def _as_float(y: jax.Array) -> jax.Array:
    y = jnp.asarray(y)
    if jnp.issubdtype(y.dtype, jnp.inexact):
        return y
    return y.astype(jnp.promote_types(y.dtype, jnp.float32))


def _chunk_moments(draws: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean and sum of squared deviations of ``draws`` over their first axis."""
    shifted = draws - draws[0]
    offset = jnp.mean(shifted, axis=0)
    return draws[0] + offset, jnp.sum(jnp.square(shifted - offset), axis=0)


def _merge(count: jax.Array, mean: Any, m2: Any, chunk: int, chunk_mean, chunk_m2):
    """Chan et al.'s pairwise update of (count, mean, sum of squared deviations)."""
    total = count + chunk  # int32: the weights are formed in each output's dtype

    def weight(dtype: Any) -> jax.Array:
        return chunk / total.astype(dtype)  # exactly 1 on the first chunk

    def new_mean(mean, chunk_mean):
        return mean + (chunk_mean - mean) * weight(mean.dtype)

    def new_m2(mean, m2, chunk_mean, chunk_m2):
        cross = count.astype(m2.dtype) * weight(m2.dtype)  # 0 on the first chunk
        return m2 + chunk_m2 + jnp.square(chunk_mean - mean) * cross

    return (
        total,
        jax.tree.map(new_mean, mean, chunk_mean),
        jax.tree.map(new_m2, mean, m2, chunk_mean, chunk_m2),
    )


def _moments(draw: Callable[[Any], Any], keys: jax.Array, chunk_size: int):
    """Mean and std of ``draw(k)`` over ``keys``, ``chunk_size`` draws at a time."""
    num_samples = keys.shape[0]
    chunk_size = min(chunk_size, num_samples)
    num_full, remainder = divmod(num_samples, chunk_size)
    key_spec = jax.ShapeDtypeStruct(keys.shape[1:], keys.dtype)
    spec = jax.eval_shape(lambda k: jax.tree.map(_as_float, draw(k)), key_spec)
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), spec)

    def chunk_stats(chunk_keys):
        draws = jax.tree.map(_as_float, jax.vmap(draw)(chunk_keys))
        stats = jax.tree.map(_chunk_moments, draws)
        outer, inner = jax.tree.structure(draws), jax.tree.structure((0, 0))
        return jax.tree.transpose(outer, inner, stats)  # (means, sums of squares)

    def body(carry, chunk_keys):
        count, mean, m2 = carry
        return _merge(count, mean, m2, chunk_size, *chunk_stats(chunk_keys)), None

    carry = (jnp.zeros((), jnp.int32), zeros, zeros)
    if num_full:
        full_keys = keys[: num_full * chunk_size]
        full_keys = full_keys.reshape((num_full, chunk_size) + keys.shape[1:])
        carry, _ = jax.lax.scan(body, carry, full_keys)
    if remainder:
        count, mean, m2 = carry
        carry = _merge(
            count, mean, m2, remainder, *chunk_stats(keys[num_full * chunk_size :])
        )
    _, mean, m2 = carry
    std = jax.tree.map(lambda m: jnp.sqrt(m / num_samples), m2)
    return Predictive(mean, std)


def _leading(x: Any) -> int:
    """The number of examples: the leading axis shared by every array in ``x``."""
    shapes = [np.shape(leaf) for leaf in jax.tree.leaves(x)]
    sizes = {shape[0] if shape else -1 for shape in shapes}
    if len(sizes) != 1 or -1 in sizes:
        raise ValueError(
            f"{_WHERE}: with input_chunk_size, every array in x must have the same "
            f"leading (example) axis, got shapes {shapes}"
        )
    return int(sizes.pop())


def _check_rows(out: Predictive, rows: int) -> None:
    for leaf in jax.tree.leaves(out.mean):
        if leaf.ndim == 0 or leaf.shape[0] != rows:
            raise ValueError(
                f"{_WHERE}: with input_chunk_size, apply must keep the inputs' "
                f"leading axis; a chunk of {rows} inputs gave an output of shape "
                f"{leaf.shape}"
            )


def predictive(
    key: ArrayLike,
    apply: Callable[[Any, Any, Any], Any],
    params: Any,
    x: Any,
    *,
    num_samples: int = 100,
    chunk_size: int = 10,
    input_chunk_size: int | None = None,
    transform: Callable[[Any], Any] | None = None,
) -> Predictive:
    r"""The Monte Carlo predictive mean and standard deviation of a random network.

    With ``y_s = transform(apply(k_s, params, x))`` for ``s = 1..S``
    (``S = num_samples``), returns ``mean = (1/S) sum_s y_s`` and ``std =
    sqrt((1/S) sum_s (y_s - mean)^2)`` elementwise. Draw ``s`` uses the key
    ``jax.random.split(key, num_samples)[s]``, whatever the chunk sizes, so the
    result does not depend on them (up to rounding). For class probabilities pass
    ``transform=jax.nn.softmax``: the predictive probabilities are the mean of the
    softmaxes, not the softmax of the mean logits.

    Memory holds ``chunk_size`` draws at a time (vmapped; the chunks run under
    ``jax.lax.scan``, a ragged last chunk runs on its own), never all of them.
    The computation is compiled as a whole (``apply`` and ``transform`` are
    static: pass the same function objects to reuse the compilation), and works
    inside ``jax.jit`` (close over the function and the sizes, e.g. with
    ``functools.partial``), on any backend, with no host round trips.

    Args:
        key: a PRNG key.
        apply: ``apply(key, params, x) -> outputs`` (a pytree of arrays); a
            Bayesian network's apply, which draws its weights from ``key``.
        params: the network's params (a pytree of arrays), passed to ``apply``.
        x: the inputs (a pytree of arrays), passed to ``apply``.
        num_samples: the number of Monte Carlo draws, at least 1.
        chunk_size: draws vmapped at once, at least 1; it need not divide
            ``num_samples``.
        input_chunk_size: if given, the inputs are cut along their leading axis
            into chunks of this many examples (the last may be smaller), run one
            after the other with the same keys; ``apply``'s outputs must keep that
            leading axis. This equals the unchunked result when an example's
            output does not depend on the other examples in the batch (true for
            one weight draw shared by the batch; per-example noise drawn with a
            batch-shaped ``jax.random`` call changes with the chunking).
        transform: applied to each draw before averaging (default: none), e.g.
            ``jax.nn.softmax``.

    Returns:
        ``Predictive(mean, std)``, each shaped like one draw of ``transform(apply
        (...))``; integer and bool outputs are averaged as floats.

    Examples:
        >>> def apply(key, params, x):  # one random weight, drawn around params
        ...     return (params + jax.random.normal(key)) * x
        >>> out = jr.nn.predictive(
        ...     jax.random.key(0), apply, 2.0, jnp.array([1.0, -3.0]),
        ...     num_samples=1000, chunk_size=100,
        ... )
        >>> print(*(f"{v:.2f}" for v in (*out.mean, *out.std)))
        2.01 -6.03 0.96 2.88

    References:
        Chan, Golub & LeVeque (1979), Updating formulae and a pairwise algorithm
        for computing sample variances.
    """
    if not callable(apply):
        raise TypeError(
            f"{_WHERE}: apply must be a function apply(key, params, x), got "
            f"{type(apply).__name__}"
        )
    if transform is not None and not callable(transform):
        raise TypeError(
            f"{_WHERE}: transform must be a function or None, got "
            f"{type(transform).__name__}"
        )
    num_samples = _count("num_samples", num_samples)
    chunk_size = _count("chunk_size", chunk_size)
    if input_chunk_size is not None:
        input_chunk_size = _count("input_chunk_size", input_chunk_size)
    key = _checks.check_key(key, usage=_USAGE)
    if input_chunk_size is not None:
        _leading(x)
    return _predictive(
        key,
        params,
        x,
        apply=apply,
        num_samples=num_samples,
        chunk_size=chunk_size,
        input_chunk_size=input_chunk_size,
        transform=transform,
    )


@functools.partial(
    jax.jit,
    static_argnames=(
        "apply",
        "num_samples",
        "chunk_size",
        "input_chunk_size",
        "transform",
    ),
)
def _predictive(
    key: jax.Array,
    params: Any,
    x: Any,
    *,
    apply: Callable[[Any, Any, Any], Any],
    num_samples: int,
    chunk_size: int,
    input_chunk_size: int | None,
    transform: Callable[[Any], Any] | None,
) -> Predictive:
    """``predictive`` on checked arguments, compiled whole (also called eagerly)."""
    post = (lambda y: y) if transform is None else transform
    rows = None if input_chunk_size is None else _leading(x)
    keys = jax.random.split(key, num_samples)

    def moments(inputs: Any, keys: jax.Array) -> Predictive:
        return _moments(lambda k: post(apply(k, params, inputs)), keys, chunk_size)

    if rows is None or input_chunk_size is None:
        return moments(x, keys)
    num_full, remainder = divmod(rows, input_chunk_size)
    if num_full <= 1 and not (num_full == 1 and remainder):
        out = moments(x, keys)
        _check_rows(out, rows)
        return out
    # The same keys serve every chunk of inputs: clone them for each use, which
    # tells jax's key-reuse checker the reuse is meant.
    head_rows = num_full * input_chunk_size
    head = jax.tree.map(
        lambda a: jnp.reshape(
            a[:head_rows], (num_full, input_chunk_size) + a.shape[1:]
        ),
        x,
    )
    spec = jax.eval_shape(
        lambda h: moments(jax.tree.map(lambda a: a[0], h), keys), head
    )
    _check_rows(spec, input_chunk_size)
    parts = jax.lax.map(lambda xs: moments(xs, jax.random.clone(keys)), head)
    parts = jax.tree.map(lambda a: a.reshape((head_rows,) + a.shape[2:]), parts)
    if not remainder:
        return parts
    tail = moments(jax.tree.map(lambda a: a[head_rows:], x), jax.random.clone(keys))
    return jax.tree.map(lambda a, b: jnp.concatenate([a, b]), parts, tail)
