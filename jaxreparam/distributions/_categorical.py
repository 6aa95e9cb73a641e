"""The Categorical family over ``K`` categories, drawn as one-hot vectors.

Mass: ``q(e_k) = softmax(logits)_k``, so ``log q(z) = <z, log_softmax(logits)>``
for a one-hot ``z``. Sampling is the Gumbel-max trick: ``g_k ~ Gumbel(0, 1)``,
``z = one_hot(argmax_k (logits_k + g_k))``.

Draws are one-hot vectors of the params' float dtype (as TFP's
``OneHotCategorical``), event shape ``(K,)``: the mean is then the probability
vector, ``f`` takes a draw as it would take a relaxed one (the Concrete
relaxation of ``RelaxedOneHotCategorical`` lives in the same space), and
``jnp.argmax(z, -1)`` gives the index. A discrete draw has no pathwise gradient:
``reparameterized=False``, so ``estimators.pathwise`` refuses it; use the score
function, REBAR or RELAX. Params store ``logits`` of shape
``batch_shape + (K,)``; every real value is valid, and adding a constant along
the last axis changes nothing.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common


class CategoricalParams(NamedTuple):
    """Params of a Categorical: ``logits`` of shape ``batch_shape + (K,)``."""

    logits: Array


def init(
    *, logits: ArrayLike | None = None, probs: ArrayLike | None = None
) -> CategoricalParams:
    """Params of ``Categorical`` from finite ``logits`` or positive ``probs``.

    Either has shape ``batch_shape + (K,)`` (a scalar is one category) and is
    normalized along its last axis (``logits = log(probs)``).

    Examples:
        >>> params = jr.categorical.init(probs=[0.25, 0.75])
        >>> jr.categorical.mean(params).round(4)
        Array([0.25, 0.75], dtype=float32)
    """
    where = "categorical.init"
    if (logits is None) == (probs is None):
        raise ValueError(f"{where}: give exactly one of logits or probs")
    if probs is not None:
        logits = jnp.log(_checks.positive(where, "probs", probs))
    else:
        logits = _checks.real(where, "logits", logits)
    return CategoricalParams(logits[None] if logits.ndim == 0 else logits)


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


def log_prob(params: CategoricalParams, z: ArrayLike) -> Array:
    """``<z, log_softmax(logits)>`` for one-hot ``z``; ``-inf`` off the one-hots."""
    z = jnp.asarray(z)
    log_p = jax.nn.log_softmax(params.logits, axis=-1)
    one_hot = jnp.all((z == 0) | (z == 1), axis=-1) & (jnp.sum(z, axis=-1) == 1)
    keep = one_hot | jnp.any(jnp.isnan(z), axis=-1)  # NaN in stays NaN out
    first = jax.nn.one_hot(0, log_p.shape[-1], dtype=log_p.dtype)
    value = jnp.sum(jnp.where(keep[..., None], z, first) * log_p, axis=-1)
    return jnp.where(keep | jnp.isnan(value), value, -jnp.inf)


def entropy(params: CategoricalParams) -> Array:
    """``-sum_k p_k log p_k``, of the batch shape."""
    log_p = jax.nn.log_softmax(params.logits, axis=-1)
    return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)


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
