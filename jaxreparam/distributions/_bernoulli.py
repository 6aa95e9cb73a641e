"""The Bernoulli family on ``{0, 1}``, parameterized by its logits.

Mass: ``q(1) = sigmoid(logits)``, ``q(0) = 1 - sigmoid(logits)``, so
``log q(z) = -softplus((1 - 2 z) logits)`` for ``z`` in ``{0, 1}``, and ``-inf``
for any other ``z``. Sampling: ``u ~ U[0, 1)``, ``z = 1[u < sigmoid(logits)]``,
returned as a float (of the params' dtype) so that ``f(z)`` and ``log_prob`` take
it directly.

Closed boundaries. ``probs`` may be exactly 0 or 1 and ``logits`` may be
``-inf`` or ``+inf``, as a decoder's ``sigmoid`` saturating in float32 (from a
logit of about 17) gives: ``log_prob(1 | p = 1) = 0`` and ``log_prob(0 | p = 1) =
-inf`` exactly, and every gradient is finite where the value is. ``log_prob`` is
written as ``-softplus((1 - 2 z) logits)`` (not ``z logits - softplus(logits)``,
which is ``inf - inf`` at an infinite logit), with the support as a cap inside
it rather than a select on the value: see :func:`log_prob` for why that is
also the fast form.

Data in ``[0, 1]`` that are not binary (greyscale pixels) have ``log_prob =
-inf`` here, which is the mathematics: use ``jr.continuous_bernoulli``, the
normalized density on ``[0, 1]`` (Loaiza-Ganem & Cunningham 2019), or
``jr.checking()`` to have such values raise.

A discrete draw has no pathwise gradient: ``reparameterized=False`` in the
family bundle, so ``estimators.pathwise`` refuses it, and the gradient of
``E_q[f(z)]`` comes from the score function (with a baseline) or from REBAR and
RELAX (``estimators.rebar``, ``estimators.relax``). The gradient of ``sample``
itself is zero. Params store ``logits``.

Examples:
    >>> params = jr.bernoulli.init(probs=jnp.array([0.0, 0.3, 1.0]))
    >>> z = jr.bernoulli.sample(jax.random.key(0), params, (4,))
    >>> z.shape, z.dtype
    ((4, 3), dtype('float32'))
    >>> log_q = jr.bernoulli.log_prob(params, jnp.array([0.0, 1.0, 1.0]))
    >>> [round(float(v), 3) for v in log_q]  # log 1, log 0.3, log 1
    [0.0, -1.204, 0.0]
    >>> float(jr.bernoulli.log_prob(params, jnp.array([1.0, 1.0, 0.0]))[0])
    -inf
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
    """Params of a Bernoulli: ``logits``, the log-odds of 1.

    Examples:
        >>> jr.bernoulli.init(probs=jnp.array([0.5, 1.0])).logits.tolist()
        [0.0, inf]
    """

    logits: Array


def _valid_logits(logits):
    return ~(logits != logits)  # every value but NaN: -inf and +inf are p = 0, 1


def _valid_probs(probs):
    return (probs >= 0) & (probs <= 1)


@jax.custom_jvp
def _logit(probs: Array) -> Array:
    """``log(p / (1 - p))``: ``-inf`` at 0, ``+inf`` at 1.

    One ``log`` of the ratio rather than ``log(p) - log1p(-p)`` (about half
    the cost on XLA's CPU backend): ``1 - p`` is exact for ``p >= 1/2`` and
    within half an ulp of 1 below it, so the logit is within about 2e-7
    (float32) of the exact one, and exact in the tails' relative terms.
    """
    return jnp.log(probs / (1 - probs))


@_logit.defjvp
def _logit_jvp(primals, tangents):
    """``dp / (p (1 - p))``, held finite at ``p = 0, 1``.

    The derivative is infinite there; what multiplies it downstream (the
    derivative of ``log_prob`` in the logits, ``sigmoid(-|logits|)``) is 0, so
    the product is taken as 0 rather than ``0 * inf = NaN``. A saturated
    ``sigmoid`` also has ``dp = 0`` there.
    """
    (p,), (dp,) = primals, tangents
    tiny = jnp.finfo(p.dtype).tiny
    return _logit(p), dp / jnp.maximum(p * (1 - p), tiny)


def init(
    *, logits: ArrayLike | None = None, probs: ArrayLike | None = None
) -> BernoulliParams:
    """Params of ``Bernoulli`` from its log-odds or its probability of 1.

    ``logits`` in ``[-inf, inf]`` or ``probs`` in ``[0, 1]`` (both ends
    included: ``p = 1`` is ``logits = inf``); with neither, ``logits = 0``.
    NaN is refused (eagerly a ``ValueError``, under jit a NaN).

    Examples:
        >>> jr.bernoulli.init(probs=0.5)
        BernoulliParams(logits=Array(0., dtype=float32...))
        >>> jr.bernoulli.init(probs=1.0)
        BernoulliParams(logits=Array(inf, dtype=float32...))
    """
    where = "bernoulli.init"
    if logits is not None and probs is not None:
        raise ValueError(f"{where}: give logits or probs, not both")
    if probs is not None:
        probs = _checks.as_float(where, "probs", probs)
        probs = _checks.check_value(where, "probs", probs, _valid_probs, "in [0, 1]")
        return BernoulliParams(_logit(probs))
    logits = _checks.as_float(where, "logits", 0.0 if logits is None else logits)
    return BernoulliParams(
        _checks.check_value(where, "logits", logits, _valid_logits, "not NaN")
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


@jax.custom_jvp
def softplus(x: Array) -> Array:
    """``log(1 + e^x)`` as ``max(x, 0) + log1p(e^-|x|)``, its derivative ``sigmoid``.

    Exact at ``x = +-inf`` and about 2.5x faster than ``jax.nn.softplus`` on
    XLA's CPU backend (no selects); the custom derivative keeps ``sigmoid(0) =
    1/2`` at the kink of ``max`` and ``abs``.
    """
    return jnp.maximum(x, 0) + jnp.log1p(jnp.exp(-jnp.abs(x)))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return softplus(x), jax.nn.sigmoid(x) * dx


@jax.custom_jvp
def _minus_sigmoid(y: Array, head: Array) -> Array:
    """``-sigmoid(y)`` from ``e = e^-|y|`` and ``head = min(-y, cap)``.

    ``-1 / (1 + e)`` where ``head < 0`` (``y > 0``, or off the support, where
    any finite slope does), ``-e / (1 + e)`` elsewhere: ``-1/2`` at ``y = 0``,
    ``-1`` and ``0`` at ``y = +inf`` and ``-inf``. Both ``e`` and ``head`` are
    the value's own (XLA makes each once). The derivative ``-e / (1 + e)^2`` is
    written out, so that second derivatives are right at ``y = 0`` too, where
    ``abs`` and the branch have none.
    """
    e = jnp.exp(-jnp.abs(y))
    return jnp.where(head < 0, -1.0, -e) / (1 + e)


@_minus_sigmoid.defjvp
def _minus_sigmoid_jvp(primals, tangents):
    (y, head), (dy, _) = primals, tangents
    e = jnp.exp(-jnp.abs(y))
    return _minus_sigmoid(y, head), -e / jnp.square(1 + e) * dy


@jax.custom_jvp
def _capped_log_sigmoid(y: Array, cap: Array) -> Array:
    """``min(-y, cap) - log1p(e^-|y|)``: ``-softplus(y)`` if ``cap = 0``, else ``-inf``.

    ``cap`` is 0 or ``-inf``, a constant (its tangent is ignored). The
    derivative in ``y`` is ``-sigmoid(y)``, finite everywhere (also off the
    support).
    """
    return jnp.minimum(-y, cap) - jnp.log1p(jnp.exp(-jnp.abs(y)))


@_capped_log_sigmoid.defjvp
def _capped_log_sigmoid_jvp(primals, tangents):
    (y, cap), (dy, _) = primals, tangents
    head = jnp.minimum(-y, cap)
    value = head - jnp.log1p(jnp.exp(-jnp.abs(y)))
    return value, _minus_sigmoid(y, head) * dy


def log_prob(params: BernoulliParams, z: ArrayLike) -> Array:
    """``-softplus((1 - 2 z) logits)`` on ``{0, 1}``; ``-inf`` for any other ``z``.

    Written as ``min(-y, cap) - log1p(e^-|y|)`` with ``y = (1 - 2 z) logits``
    and ``cap`` 0 on ``{0, 1}``, ``-inf`` elsewhere: exact at infinite logits
    (``0`` and ``-inf``, never ``inf - inf``), ``-inf`` off the support whatever
    the logit, NaN for NaN in ``z`` or ``logits`` (and where ``(1 - 2 z)
    logits`` is ``0 * inf``: ``z = 1/2`` with an infinite logit, an infinite
    ``z`` with a zero one). The derivative is ``-(1 - 2 z) sigmoid(y)``,
    finite everywhere. The support goes into the ``min`` (whose ``cap`` depends
    on ``z`` only) and the derivative reuses the value's ``e^-|y|``: XLA's CPU
    backend then reduces ``log1p`` inside the summing kernel and makes
    ``e^-|y|`` once, no select on the value (a select there keeps ``log1p`` out
    of that kernel, at about 2x its cost).
    """
    z = jnp.asarray(z)
    dtype = jnp.result_type(params.logits, z)
    on_support = (z == 0) | (z == 1)
    cap = jnp.where(on_support, jnp.zeros((), dtype), jnp.asarray(-jnp.inf, dtype))
    return _capped_log_sigmoid((1 - 2 * z) * params.logits, cap)


def entropy(params: BernoulliParams) -> Array:
    """``softplus(logits) - sigmoid(logits) logits``; 0 at infinite logits."""
    logits = params.logits
    finite = jnp.where(jnp.isinf(logits), 0.0, logits)
    value = jax.nn.softplus(finite) - jax.nn.sigmoid(finite) * finite
    return jnp.where(jnp.isinf(logits), jnp.zeros_like(value), value)


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
