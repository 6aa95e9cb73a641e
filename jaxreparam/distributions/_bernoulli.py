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
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _common


class BernoulliParams(NamedTuple):
    """Params of a Bernoulli: ``logits``, the log-odds of 1."""

    logits: Array


def init(
    *, logits: ArrayLike | None = None, probs: ArrayLike | None = None
) -> BernoulliParams:
    """Params of ``Bernoulli`` from its log-odds or its probability of 1.

    Differentiable in either argument. With neither, ``logits = 0``.

    Args:
        logits: the log-odds ``log(p / (1 - p))``, any shape, finite.
        probs: instead, ``p`` itself, strictly between 0 and 1.

    Returns:
        ``BernoulliParams`` with batch shape the argument's shape.

    Raises:
        TypeError: the argument has an integer, bool or complex dtype.
        ValueError: both arguments are given, or a concrete one is invalid.

    Examples:
        >>> import jaxreparam as jr
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


def to_natural(params: BernoulliParams) -> dict[str, Array]:
    """``{"logits": ...}``, the inverse of :func:`init`."""
    return {"logits": params.logits}


def sample(key: ArrayLike, params: BernoulliParams, sample_shape=()) -> Array:
    """Draws ``z = 1[u < sigmoid(logits)]``, ``u ~ U[0, 1)``, as a float.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``BernoulliParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of zeros and ones of shape ``sample_shape + batch_shape`` and
        the params' dtype (NaN where ``logits`` is NaN); its gradient is zero.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> z = jr.bernoulli.sample(jax.random.key(0), jr.bernoulli.init(), (3,))
        >>> z.shape
        (3,)
    """
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    u = _common.draw(jax.random.uniform, key, shape, dtype)
    z = (u < jax.nn.sigmoid(jax.lax.stop_gradient(params.logits))).astype(dtype)
    return jnp.where(jnp.isnan(params.logits), jnp.nan, z)


def log_prob(params: BernoulliParams, z: ArrayLike) -> Array:
    """``z logits - softplus(logits)`` on ``{0, 1}``; ``-inf`` elsewhere.

    Returns:
        An array of shape the broadcast of ``z`` and the batch shape.
    """
    z = jnp.asarray(z)
    return _common.log_prob_on_support(
        lambda z: z * params.logits - jax.nn.softplus(params.logits),
        z,
        (z == 0) | (z == 1),
        0.0,
    )


def sample_and_log_prob(
    key: ArrayLike, params: BernoulliParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``."""
    z = sample(key, params, sample_shape)
    return z, log_prob(params, z)


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


batch_shape = _common.scalar_batch_shape
event_shape = _common.scalar_event_shape

bernoulli = register_family(
    Family(
        name="bernoulli",
        params_type=BernoulliParams,
        init=init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=to_natural,
        reparameterized=False,
        entropy=entropy,
        mean=mean,
        variance=variance,
    )
)
