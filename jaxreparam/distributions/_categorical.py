"""The Categorical family over ``K`` categories, drawn as one-hot vectors.

Mass: ``q(e_k) = softmax(logits)_k``, so ``log q(z) = <z, log_softmax(logits)>``
for a one-hot ``z``. Sampling is the Gumbel-max trick: ``g_k ~ Gumbel(0, 1)``,
``z = one_hot(argmax_k (logits_k + g_k))``.

Draws are one-hot vectors of the params' float dtype (as TFP's
``OneHotCategorical``), event shape ``(K,)``: the mean is then the probability
vector, ``f`` takes a draw as it would take a relaxed one (the Concrete
relaxation of ``RelaxedOneHotCategorical`` lives in the same space), and
``jnp.argmax(z, -1)`` gives the index.

``log_prob`` takes either form of a value, told apart by its dtype: **integer
labels** (any integer dtype, shape ``sample_shape + batch_shape``, values in
``0 .. K-1``: the convention of ``jax.random.categorical``, numpyro, TFP and
distrax) or **one-hot vectors** (a float or bool dtype, trailing axis ``K``).
A label out of range, a float vector that is not one-hot or a trailing axis
of another length is an error: eagerly a ``ValueError`` naming the shape or
value, under ``jax.jit`` NaN, and in checking mode (``jr.checking()``) a raise.

Closed boundaries: a class may have probability 0 (``probs`` 0, ``logits``
``-inf``; at least one class per row must be possible); its draws never pick
it, its ``log_prob`` is ``-inf`` and every gradient stays finite.

A discrete draw has no pathwise gradient: ``reparameterized=False``, so
``estimators.pathwise`` refuses it; use the score function, REBAR or RELAX.
Params store ``logits`` of shape ``batch_shape + (K,)``; adding a constant
along the last axis changes nothing.

Examples:
    >>> params = jr.categorical.init(probs=jnp.array([0.2, 0.3, 0.5]))
    >>> z = jr.categorical.sample(jax.random.key(0), params, (4,))
    >>> z.shape, z.sum(-1).tolist()  # one-hot draws
    ((4, 3), [1.0, 1.0, 1.0, 1.0])
    >>> jr.categorical.log_prob(params, jnp.argmax(z, -1)).shape  # labels work too
    (4,)
    >>> [round(float(p), 3) for p in jr.categorical.mean(params)]
    [0.2, 0.3, 0.5]
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common


class CategoricalParams(NamedTuple):
    """Params of a Categorical: ``logits`` of shape ``batch_shape + (K,)``.

    Examples:
        >>> params = jr.categorical.init(probs=jnp.array([0.2, 0.3, 0.5]))
        >>> params._fields, params.logits.shape
        (('logits',), (3,))
        >>> [round(float(p), 3) for p in jax.nn.softmax(params.logits)]
        [0.2, 0.3, 0.5]
    """

    logits: Array


@jax.custom_jvp
def _log(probs: Array) -> Array:
    """``log(p)``: ``-inf`` at ``p = 0``."""
    return jnp.log(probs)


@_log.defjvp
def _log_jvp(primals, tangents):
    """``dp / p``, held finite at ``p = 0``.

    The derivative is infinite there and what multiplies it downstream (the
    class's softmax weight) is 0: the product is taken as 0, not ``0 * inf =
    NaN``. So a class of probability exactly 0 gets no gradient through
    ``probs`` (its one-sided derivative, ``-1 / sum(probs)`` for the other
    classes' log-probabilities, is lost), as a saturated unit gets none.
    """
    (p,), (dp,) = primals, tangents
    return _log(p), dp / jnp.maximum(p, jnp.finfo(p.dtype).tiny)


def _some_possible(logits):
    """Each row has a class of positive probability (a finite max)."""
    return jnp.isfinite(jnp.max(logits, axis=-1, keepdims=True)) & (logits < jnp.inf)


def init(
    *, logits: ArrayLike | None = None, probs: ArrayLike | None = None
) -> CategoricalParams:
    """Params of ``Categorical`` from its ``logits`` or its ``probs``.

    Either has shape ``batch_shape + (K,)`` (a scalar is one category) and is
    normalized along its last axis (``logits = log(probs)``). ``probs`` are
    finite and non-negative, ``logits`` in ``[-inf, inf)``: a class may have
    probability 0, but every row needs one of positive probability.

    Examples:
        >>> params = jr.categorical.init(probs=[0.25, 0.75, 0.0])
        >>> jr.categorical.mean(params).round(4)
        Array([0.25, 0.75, 0.  ], dtype=float32)
    """
    where = "categorical.init"
    if (logits is None) == (probs is None):
        raise ValueError(f"{where}: give exactly one of logits or probs")
    if probs is not None:
        probs = _checks.as_float(where, "probs", probs)
        probs = _checks.check_value(
            where, "probs", probs, lambda p: (p >= 0) & (p < jnp.inf), "finite, >= 0"
        )
        name, logits = "probs", _log(probs)
    else:
        name, logits = "logits", _checks.as_float(where, "logits", logits)
    logits = logits[None] if logits.ndim == 0 else logits
    return CategoricalParams(
        _checks.check_value(
            where,
            name,
            logits,
            _some_possible,
            "such that every row has a class of positive probability"
            + (" (logits below +inf)" if name == "logits" else ""),
        )
    )


batch_shape = _bundle.vector_batch_shape
event_shape = _bundle.vector_event_shape


def sample(key: ArrayLike, params: CategoricalParams, sample_shape=()) -> Array:
    """Draws ``one_hot(argmax(logits + g))``, ``g`` standard Gumbel noise.

    All NaN where a row of ``logits`` has a NaN; the gradient is zero.

    Examples:
        >>> params = jr.categorical.init(logits=[0.0, 1.0, 2.0])
        >>> jr.categorical.sample(jax.random.key(0), params, (4,)).shape
        (4, 3)
    """
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    size = params.logits.shape[-1]
    gumbel = _common.draw(jax.random.gumbel, key, shape + (size,), dtype)
    index = jnp.argmax(jax.lax.stop_gradient(params.logits) + gumbel, axis=-1)
    z = jax.nn.one_hot(index, size, dtype=dtype)
    invalid = jnp.any(jnp.isnan(params.logits), axis=-1, keepdims=True)
    return jnp.where(invalid, jnp.nan, z)


def _labels_log_prob(log_p: Array, labels: Array) -> Array:
    """``log_p[..., label]`` for integer labels, NaN (or raise) out of range."""
    size = log_p.shape[-1]
    _checks.broadcast_shapes(
        "categorical.log_prob", z=labels.shape, batch_shape=log_p.shape[:-1]
    )
    in_range = (labels >= 0) & (labels < size)
    _check_z(in_range, labels, f"integer labels in 0 .. {size - 1}")
    shape = jnp.broadcast_shapes(labels.shape, log_p.shape[:-1])
    index = jnp.broadcast_to(jnp.clip(labels, 0, size - 1), shape)[..., None]
    log_p = jnp.broadcast_to(log_p, shape + (size,))
    value = jnp.take_along_axis(log_p, index, axis=-1)[..., 0]
    return jnp.where(in_range, value, jnp.nan)


def _check_z(valid: Array, z: Array, requirement: str) -> None:
    """A ``ValueError`` eagerly, or a checkify check, where ``valid`` is False."""
    where = "categorical.log_prob"
    if _checks.is_concrete(valid):
        bad = ~np.asarray(valid)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            value = np.asarray(z)[index]
            raise ValueError(
                f"{where}: z must be {requirement}, got {value} at index {index} "
                f"(z of shape {z.shape})"
            )
    elif _checks._CHECKING.value:
        checkify.check(jnp.all(valid), f"{where}: z must be {requirement}")


def log_prob(params: CategoricalParams, z: ArrayLike) -> Array:
    """``log q(z)`` of integer labels or one-hot vectors (see the module).

    Integer ``z``: ``log_softmax(logits)[z]``, of shape ``z``'s broadcast with
    the batch. Float (or bool) ``z``: ``<z, log_softmax(logits)>`` over the
    trailing axis of length ``K``. Invalid values raise eagerly and are NaN
    under jit; a label of a class of probability 0 has ``log_prob = -inf``.

    Examples:
        >>> params = jr.categorical.init(probs=[0.5, 0.5, 0.0])
        >>> jr.categorical.log_prob(params, jnp.array([0, 2]))
        Array([-0.6931472,       -inf], dtype=float32)
        >>> jr.categorical.log_prob(params, jnp.array([1.0, 0.0, 0.0]))
        Array(-0.6931472, dtype=float32)
    """
    log_p = jax.nn.log_softmax(params.logits, axis=-1)
    z = jnp.asarray(z)
    if jnp.issubdtype(z.dtype, jnp.integer):
        return _labels_log_prob(log_p, z)
    size = log_p.shape[-1]
    if z.shape[-1:] != (size,):
        raise ValueError(
            f"categorical.log_prob: z must be integer labels, or one-hot vectors "
            f"whose last axis has the {size} categories, got a {z.dtype} z of "
            f"shape {z.shape}"
        )
    one_hot = jnp.all((z == 0) | (z == 1), axis=-1) & (jnp.sum(z, axis=-1) == 1)
    valid = one_hot | jnp.any(jnp.isnan(z), axis=-1)  # NaN in stays NaN out
    _check_z(valid, z, "one-hot along its last axis (or integer labels)")
    value = jnp.sum(jnp.where(z == 0, 0, z * log_p), axis=-1)
    return jnp.where(valid, value, jnp.nan)


def entropy(params: CategoricalParams) -> Array:
    """``-sum_k p_k log p_k``, of the batch shape (``0 log 0 = 0``)."""
    log_p = jax.nn.log_softmax(params.logits, axis=-1)
    p = jnp.exp(log_p)
    log_p = jnp.where(p > 0, log_p, 0)  # 0 log 0 = 0, with finite gradients
    return -jnp.sum(p * log_p, axis=-1)


def mean(params: CategoricalParams) -> Array:
    """The probability vector ``softmax(logits)``, the mean of the one-hot draw."""
    return jax.nn.softmax(params.logits, axis=-1)


def variance(params: CategoricalParams) -> Array:
    """``p (1 - p)``, the variance of each coordinate of the one-hot draw."""
    p = jax.nn.softmax(params.logits, axis=-1)
    return p * (1 - p)


_FUNCTIONS = (init, sample, log_prob, entropy, mean, variance)
categorical = _bundle.vector_family(
    "categorical", CategoricalParams, *_FUNCTIONS, reparameterized=False
)
