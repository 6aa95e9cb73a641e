"""The Bernoulli family on ``{0, 1}``, parameterized by its logits.

Mass: ``q(1) = sigmoid(logits)``, ``q(0) = 1 - sigmoid(logits)``, so
``log q(z) = z logits - softplus(logits)`` for ``z`` in ``{0, 1}``.
Sampling: ``u ~ U[0, 1)``, ``z = 1[u < sigmoid(logits)]``, returned as a float
(of the params' dtype) so that ``f(z)`` and ``log_prob`` take it directly.

A discrete draw has no pathwise gradient: ``reparameterized=False`` in the
family bundle, so ``estimators.pathwise`` refuses it, and the gradient of
``E_q[f(z)]`` comes from the score function (with a baseline) or from REBAR and
RELAX (``estimators.rebar``, ``estimators.relax``). The gradient of ``sample``
itself is zero. Params store ``logits``: every real value is valid.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.base import scalar_batch_shape as batch_shape
from jaxreparam.distributions import _bundle, _common


class BernoulliParams(NamedTuple):
    """Params of a Bernoulli: ``logits``, the log-odds of 1."""

    logits: Array


def init(
    *, logits: ArrayLike | None = None, probs: ArrayLike | None = None
) -> BernoulliParams:
    """Params of ``Bernoulli`` from its finite log-odds or its ``p`` in ``(0, 1)``.

    With neither, ``logits = 0``.

    Examples:
        >>> jr.bernoulli.init(probs=0.5)
        BernoulliParams(logits=Array(0., dtype=float32...))
    """
    where = "bernoulli.init"
    if logits is not None and probs is not None:
        raise ValueError(f"{where}: give logits or probs, not both")
    if probs is not None:
        probs = _checks.as_float(where, "probs", probs)
        probs = _checks.check_value(
            where, "probs", probs, lambda p: (p > 0) & (p < 1), "in (0, 1)"
        )
        return BernoulliParams(jnp.log(probs) - jnp.log1p(-probs))
    return BernoulliParams(
        _checks.real(where, "logits", 0.0 if logits is None else logits)
    )


def sample(key: ArrayLike, params: BernoulliParams, sample_shape=()) -> Array:
    """Draws ``z = 1[u < sigmoid(logits)]``, ``u ~ U[0, 1)``, as a float.

    NaN where ``logits`` is NaN; the gradient is zero.

    Examples:
        >>> z = jr.bernoulli.sample(jax.random.key(0), jr.bernoulli.init(), (3,))
        >>> z.shape
        (3,)
    """
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    u = _common.draw(jax.random.uniform, key, shape, dtype)
    z = (u < jax.nn.sigmoid(jax.lax.stop_gradient(params.logits))).astype(dtype)
    return jnp.where(jnp.isnan(params.logits), jnp.nan, z)


def log_prob(params: BernoulliParams, z: ArrayLike) -> Array:
    """``z logits - softplus(logits)`` on ``{0, 1}``; ``-inf`` elsewhere."""
    z = jnp.asarray(z)
    return _common.log_prob_on_support(
        lambda z: z * params.logits - jax.nn.softplus(params.logits),
        z,
        (z == 0) | (z == 1),
        0.0,
    )


def entropy(params: BernoulliParams) -> Array:
    """``softplus(logits) - sigmoid(logits) logits``, of the batch shape."""
    return (
        jax.nn.softplus(params.logits) - jax.nn.sigmoid(params.logits) * params.logits
    )


def mean(params: BernoulliParams) -> Array:
    """``sigmoid(logits)``, the probability of 1."""
    return jax.nn.sigmoid(params.logits)


def variance(params: BernoulliParams) -> Array:
    """``p (1 - p)`` with ``p = sigmoid(logits)``."""
    return jax.nn.sigmoid(params.logits) * jax.nn.sigmoid(-params.logits)


_FUNCTIONS = (init, sample, log_prob, entropy, mean, variance)
bernoulli = _bundle.family(
    "bernoulli", BernoulliParams, *_FUNCTIONS, reparameterized=False
)
