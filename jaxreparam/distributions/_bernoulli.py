"""The Bernoulli family on ``{0, 1}``, parameterized by its logits or its probabilities.

Mass: ``q(1) = sigmoid(logits)``, ``q(0) = 1 - sigmoid(logits)``, so
``log q(z) = -softplus((1 - 2 z) logits)`` for ``z`` in ``{0, 1}``, and ``-inf``
for any other ``z``. Sampling: ``u ~ U[0, 1)``, ``z = 1[u < sigmoid(logits)]``,
returned as a float (of the params' dtype) so that ``f(z)`` and ``log_prob`` take
it directly.

Closed boundaries. ``probs`` may be exactly 0 or 1 and ``logits`` may be
``-inf`` or ``+inf``, as a decoder's ``sigmoid`` saturating in float32 (from a
logit of about 17) gives: ``log_prob(1 | p = 1) = 0`` and ``log_prob(0 | p = 1) =
-inf`` exactly, and every gradient is finite where the value is. ``log_prob`` is
written from the form the params store (:class:`BernoulliParams`): from logits
as ``-softplus((1 - 2 z) logits)`` (not ``z logits - softplus(logits)``, which
is ``inf - inf`` at an infinite logit) with the support as a cap inside it
rather than a select on the value, from probs as ``log|1 - z - p|`` with the
support as a mask under the ``log``: see :func:`log_prob` for why those are
also the fast forms.

Data in ``[0, 1]`` that are not binary (greyscale pixels) have ``log_prob =
-inf`` here, which is the mathematics: use ``jr.continuous_bernoulli``, the
normalized density on ``[0, 1]`` (Loaiza-Ganem & Cunningham 2019), or
``jr.checking()`` to have such values raise.

A discrete draw has no pathwise gradient: ``reparameterized=False`` in the
family bundle, so ``estimators.pathwise`` refuses it, and the gradient of
``E_q[f(z)]`` comes from the score function (with a baseline) or from REBAR and
RELAX (``estimators.rebar``, ``estimators.relax``). The gradient of ``sample``
itself is zero. Params store ``logits`` or ``probs``, whichever ``init`` was
given, and gradients are with respect to that one.

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

from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common


@jax.tree_util.register_pytree_with_keys_class
class BernoulliParams:
    """Params of a Bernoulli: its log-odds ``logits`` or its probability ``probs``.

    One of the two is stored, the one ``init`` was given (``logits`` by default),
    and it is the params' only leaf: a gradient with respect to the params, an
    optax update and a ``vmap`` axis are in that parameterization, as with
    numpyro's ``BernoulliProbs`` and ``BernoulliLogits``. The other one is
    computed when read. ``form`` says which is stored; a gradient's ``form`` is
    its params', so read the gradient in that form (``grads.probs`` of params
    made from ``probs``: the other attribute of a gradient means nothing).

    Which to use: ``probs`` for probabilities that a model computes (a
    decoder's ``sigmoid``), where ``log_prob`` is one ``log`` per element;
    ``logits`` for params that an optimizer updates directly, since no update
    can move logits out of their range (``[-inf, inf]``), while stored probs
    can leave ``[0, 1]``, and are then refused like any bad value.

    ``BernoulliParams(logits)`` and ``BernoulliParams(probs=p)`` store their
    argument as it is; ``jr.bernoulli.init`` also checks it.

    Examples:
        >>> params = jr.bernoulli.init(probs=jnp.array([0.5, 1.0]))
        >>> params.form, params.probs.tolist(), params.logits.tolist()
        ('probs', [0.5, 1.0], [0.0, inf])
        >>> jr.bernoulli.init(logits=0.0).form
        'logits'
    """

    __slots__ = ("_form", "_value")
    _form: str
    _value: Array

    def __init__(self, logits: Any = None, *, probs: Any = None) -> None:
        if (logits is None) == (probs is None):
            raise TypeError("BernoulliParams: give logits or probs (one of them)")
        self._form, self._value = (
            ("logits", logits) if probs is None else ("probs", probs)
        )

    @property
    def form(self) -> str:
        """``"logits"`` or ``"probs"``: which of the two is stored."""
        return self._form

    @property
    def logits(self) -> Array:
        """The log-odds of 1: stored, or ``log(p / (1 - p))`` of stored ``probs``."""
        return self._value if self._form == "logits" else _logit(self._value)

    @property
    def probs(self) -> Array:
        """The probability of 1: stored, or ``sigmoid`` of the stored ``logits``."""
        return self._value if self._form == "probs" else jax.nn.sigmoid(self._value)

    def tree_flatten(self) -> tuple[tuple[Array], str]:
        """The stored array, the only leaf; its form is static."""
        return (self._value,), self._form

    def tree_flatten_with_keys(self) -> tuple[tuple[tuple[Any, Array]], str]:
        """The stored array, keyed by its attribute (``.logits`` or ``.probs``)."""
        return ((jax.tree_util.GetAttrKey(self._form), self._value),), self._form

    @classmethod
    def tree_unflatten(cls, form: str, leaves: Any) -> BernoulliParams:
        """Params of ``form`` holding ``leaves[0]`` (any object, as JAX needs)."""
        params = object.__new__(cls)
        params._form, (params._value,) = form, leaves
        return params

    def __repr__(self) -> str:
        return f"BernoulliParams({self._form}={self._value!r})"


def batch_shape(params: BernoulliParams) -> tuple[int, ...]:
    """The shape of the stored array."""
    return tuple(jnp.shape(params._value))


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

    The params store the one given (see :class:`BernoulliParams`): gradients
    are with respect to it.

    Examples:
        >>> jr.bernoulli.init(logits=0.0)
        BernoulliParams(logits=Array(0., dtype=float32...))
        >>> params = jr.bernoulli.init(probs=1.0)
        >>> params
        BernoulliParams(probs=Array(1., dtype=float32...))
        >>> params.logits
        Array(inf, dtype=float32...)
    """
    where = "bernoulli.init"
    if logits is not None and probs is not None:
        raise ValueError(f"{where}: give logits or probs, not both")
    if probs is not None:
        probs = _checks.as_float(where, "probs", probs)
        probs = _checks.check_value(where, "probs", probs, _valid_probs, "in [0, 1]")
        return BernoulliParams(probs=probs)
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


@jax.custom_jvp
def _log_mass(probs: Array, z: Array, mask: Array) -> Array:
    """``log|1 - z - p|`` where ``mask`` is 1, ``log(mask)`` elsewhere.

    For ``z`` in ``{0, 1}``, ``|1 - z - p|`` is ``p`` or ``1 - p``: one ``log``
    for both, exact at ``p = 0, 1``. ``mask`` is 1 on the support, 0 off it
    (``-inf``) and NaN for NaN in ``z`` or ``p`` outside ``[0, 1]``; it and ``z``
    are constants (their tangents are ignored). One select feeding the ``log``
    is what XLA's CPU backend fuses best: value and gradient then make one
    intermediate array besides ``p``.
    """
    return jnp.log(jnp.where(mask == 1, jnp.abs(1 - z - probs), mask))


@_log_mass.defjvp
def _log_mass_jvp(primals, tangents):
    """``-dp / (1 - z - p)``, or 0 where the value is not finite (a NaN stopper)."""
    (probs, z, mask), (dp, _, _) = primals, tangents
    u = 1 - z - probs
    slope = jnp.where((u == 0) | (mask != 1), jnp.zeros_like(u), -1 / u)
    return _log_mass(probs, z, mask), slope * dp


def log_prob(params: BernoulliParams, z: ArrayLike) -> Array:
    """``log p`` at 1, ``log(1 - p)`` at 0; ``-inf`` for any other ``z``.

    From ``probs`` (params of form ``"probs"``): ``log|1 - z - p|`` on the
    support, one ``log`` per element, exact at ``p = 0`` and ``1``
    (``log(1 - p)`` is within half an ulp of 1 of ``log1p(-p)``, which is what
    it gives up for tiny ``p``). The derivative is ``1 / p`` at 1 and
    ``-1 / (1 - p)`` at 0, and 0 where the value is ``-inf`` (``q(z) = 0``, or
    ``z`` off the support), so that a saturated ``sigmoid`` upstream gives 0,
    not ``0 * inf = NaN``. A ``p`` outside ``[0, 1]`` (stored probs that an
    update moved out) is refused like any bad value: a ``ValueError`` eagerly,
    NaN under jit, a raise in checking mode. The support is a mask under the
    ``log`` (one select feeding it), which XLA's CPU backend fuses into one
    pass with the gradient: 0.55-0.83x hand-written ``x log p + (1 - x) log1p(-p)``.

    From ``logits``: ``-softplus((1 - 2 z) logits)``, written as
    ``min(-y, cap) - log1p(e^-|y|)`` with ``y = (1 - 2 z) logits``
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
    dtype = jnp.result_type(params._value, z)
    on_support = (z == 0) | (z == 1)
    if params.form == "probs":  # the one form that an update can move out of range
        probs = _checks.check_value(  # under jit the NaN goes into the mask
            "bernoulli.log_prob",
            "probs",
            params.probs,
            _valid_probs,
            "in [0, 1]",
            nan_under_jit=False,
        )
        defined = _valid_probs(probs) & (z == z)  # NaN for NaN z, as from logits
        mask = jnp.where(defined, on_support.astype(dtype), jnp.asarray(jnp.nan, dtype))
        return _log_mass(probs, z.astype(dtype), mask)
    cap = jnp.where(on_support, jnp.zeros((), dtype), jnp.asarray(-jnp.inf, dtype))
    return _capped_log_sigmoid((1 - 2 * z) * params.logits, cap)


def entropy(params: BernoulliParams) -> Array:
    """``softplus(logits) - sigmoid(logits) logits``; 0 at infinite logits."""
    logits = params.logits
    finite = jnp.where(jnp.isinf(logits), 0.0, logits)
    value = jax.nn.softplus(finite) - jax.nn.sigmoid(finite) * finite
    return jnp.where(jnp.isinf(logits), jnp.zeros_like(value), value)


def mean(params: BernoulliParams) -> Array:
    """``p``, the probability of 1 (``sigmoid(logits)`` from logits)."""
    return params.probs


def variance(params: BernoulliParams) -> Array:
    """``p (1 - p)`` (``sigmoid(logits) sigmoid(-logits)`` from logits)."""
    if params.form == "probs":
        return params.probs * (1 - params.probs)
    return jax.nn.sigmoid(params.logits) * jax.nn.sigmoid(-params.logits)


def to_natural(params: BernoulliParams) -> dict[str, Array]:
    """``{"logits": ...}`` or ``{"probs": ...}``: the stored one, as given."""
    return {params.form: params._value}


_FUNCTIONS = (init, sample, log_prob, entropy, mean, variance, to_natural)
bernoulli = _bundle.family(
    "bernoulli",
    BernoulliParams,
    *_FUNCTIONS,
    batch_shape=batch_shape,
    reparameterized=False,
)
