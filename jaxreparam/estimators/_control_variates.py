"""The score-function estimator with baselines and control variates.

Each function here is an estimator in the sense of :mod:`jaxreparam.estimators`:
a surrogate whose value is the Monte Carlo estimate ``mean_s f(z_s)`` and whose
``jax.grad`` with respect to ``params`` is the estimator's gradient. They differ
from the plain score function only in what is subtracted from ``f`` in the score
term ``(f(z) - b) grad log q(z)``; each choice keeps the gradient unbiased.

* :func:`score_function_moving_average`: ``b`` an exponential moving average of
  past values of ``f``, carried in an explicit :class:`BaselineState` that goes in
  and comes out (``(surrogate, new_state)``), so the step stays pure and jittable;
  ``b`` is computed from earlier draws only.
* :func:`score_function_leave_one_out`: for draw ``s``, ``b`` the mean of ``f``
  over the *other* draws (Kool et al. 2019), independent of ``z_s``.
* :func:`score_function_control_variate`: subtracts a control variate ``c(z)``
  whose expectation's gradient is added back by the pathwise gradient,
  ``(f(z) - c(z)) grad log q(z) + grad_params c(g(eps, params))``: Grathwohl et
  al.'s LAX estimator. By default ``c`` is the first-order Taylor expansion of
  ``f`` around the mean of ``q``, the delta-method control variate (Paisley et
  al. 2012; Mohamed et al. 2020, section 7.4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.estimators import _common


class BaselineState(NamedTuple):
    """State of a moving-average baseline.

    Attributes:
        value: the exponential moving average of the batch means of ``f``,
            started at zero (so biased towards zero until debiased).
        count: the number of updates so far, an int32 scalar.

    Examples:
        >>> state = jr.estimators.init_baseline()
        >>> state._fields, float(state.value), int(state.count)
        (('value', 'count'), 0.0, 0)
        >>> estimator = jr.estimators.score_function_moving_average
        >>> grad = jax.grad(estimator, argnums=1, has_aux=True)
        >>> params = jr.normal.init(loc=1.0)
        >>> g, state = grad(jax.random.key(0), params, state, jr.normal, lambda z: z**2)
        >>> int(state.count), bool(state.value > 0)  # the aux output: updated
        (1, True)
    """

    value: Array
    count: Array


def init_baseline(dtype: Any = jnp.float32) -> BaselineState:
    """A fresh :class:`BaselineState`: no updates yet, so the baseline is zero.

    Examples:
        >>> state = jr.estimators.init_baseline()
        >>> float(state.value), int(state.count)  # no updates yet: the baseline is 0
        (0.0, 0)
    """
    return BaselineState(jnp.zeros((), dtype), jnp.zeros((), jnp.int32))


def _check_decay(where: str, decay: Any) -> None:
    if isinstance(decay, int | float) and not 0.0 <= decay < 1.0:
        raise ValueError(f"{where}: decay must lie in [0, 1), got {decay}")


def score_function_moving_average(
    key: ArrayLike,
    params: Any,
    state: BaselineState,
    family: Family,
    f: Callable[[Array], ArrayLike],
    *,
    num_samples: int = 1,
    decay: float = 0.9,
) -> tuple[Array, BaselineState]:
    """The score function with a moving-average baseline, state in and out.

    The baseline is the debiased moving average ``b = value / (1 - decay^count)``
    of the values of ``f`` seen in *earlier* calls (zero before the first
    update), so it is independent of this call's draws and the gradient
    ``mean_s (f(z_s) - b) grad log q(z_s)`` is unbiased. The new state folds in
    this call's mean of ``f``: ``value' = decay value + (1 - decay) mean_s f``.

    Args:
        key: a PRNG key.
        params: the family's params; the gradient is taken with respect to them.
        state: the :class:`BaselineState` from :func:`init_baseline` or from the
            previous call.
        family: the ``Family`` bundle of ``params``.
        f: maps one draw to a scalar.
        num_samples: the number of draws averaged, a positive Python int.
        decay: the moving average's decay, in ``[0, 1)``.

    Returns:
        ``(surrogate, new_state)``: differentiate with
        ``jax.grad(..., argnums=1, has_aux=True)`` to get ``(grads, new_state)``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> grad = jax.grad(jr.estimators.score_function_moving_average,
        ...                 argnums=1, has_aux=True)
        >>> params, state = jr.normal.init(loc=1.0), jr.estimators.init_baseline()
        >>> for step in range(3):
        ...     key = jax.random.fold_in(jax.random.key(0), step)
        ...     g, state = grad(key, params, state, jr.normal, lambda z: z**2)
        >>> int(state.count)
        3

    References:
        Williams, "Simple statistical gradient-following algorithms for
        connectionist reinforcement learning", Machine Learning 8, 1992.
    """
    where = "estimators.score_function_moving_average"
    num_samples = _common.check_num_samples(where, num_samples)
    _check_decay(where, decay)
    value, count = jax.tree.map(jax.lax.stop_gradient, tuple(state))
    correction = 1.0 - jnp.asarray(decay, value.dtype) ** count
    baseline = jnp.where(count > 0, value / jnp.where(count > 0, correction, 1), 0)
    values, log_q = _common.stopped_draws(where, key, params, family, f, num_samples)
    surrogate = _common.score_surrogate(values, baseline, log_q)
    batch_mean = jax.lax.stop_gradient(jnp.mean(values)).astype(value.dtype)
    new_state = BaselineState(decay * value + (1 - decay) * batch_mean, count + 1)
    return surrogate, new_state


def score_function_leave_one_out(
    key: ArrayLike,
    params: Any,
    family: Family,
    f: Callable[[Array], ArrayLike],
    *,
    num_samples: int = 2,
) -> Array:
    """The score function with the leave-one-out baseline over its draws.

    For draw ``s`` the baseline is ``b_s = mean_{j != s} f(z_j)``, independent of
    ``z_s``, so the gradient ``mean_s (f(z_s) - b_s) grad log q(z_s)`` is
    unbiased; equivalently ``S / (S - 1) mean_s (f(z_s) - mean_j f(z_j))
    grad log q(z_s)``. It needs no state and no tuning, but at least two draws.

    Args:
        key: a PRNG key.
        params: the family's params; the gradient is taken with respect to them.
        family: the ``Family`` bundle of ``params``.
        f: maps one draw to a scalar.
        num_samples: the number of draws ``S``, a Python int ``>= 2``.

    Returns:
        A scalar whose value is ``mean_s f(z_s)`` and whose gradient is the
        leave-one-out score-function estimate.

    Raises:
        ValueError: ``num_samples < 2`` or ``f`` does not return a scalar.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> g = jax.grad(jr.estimators.score_function_leave_one_out, argnums=1)(
        ...     jax.random.key(0), jr.normal.init(loc=1.0), jr.normal,
        ...     lambda z: z**2, num_samples=4000)
        >>> bool(abs(g.loc - 2.0) < 0.3)  # d/d loc E[z^2] = 2 loc
        True

    References:
        Kool, van Hoof and Welling, "Buy 4 REINFORCE samples, get a baseline for
        free!", ICLR Workshop 2019.
    """
    where = "estimators.score_function_leave_one_out"
    num_samples = _common.check_num_samples(where, num_samples, minimum=2)
    values, log_q = _common.stopped_draws(where, key, params, family, f, num_samples)
    others = (jnp.sum(values) - values) / (num_samples - 1)
    return _common.score_surrogate(values, others, log_q)


def taylor_control_variate(
    f: Callable[[Array], ArrayLike], point: Array
) -> Callable[[Array], Array]:
    """The first-order Taylor expansion of ``f`` around ``point`` (delta method).

    Args:
        f: maps one draw to a scalar; differentiable.
        point: where to expand, of the shape of one draw; held constant
            (``stop_gradient``), so ``c`` does not depend on the params.

    Returns:
        ``c(z) = f(point) + <grad f(point), z - point>``, mapping one draw to a
        scalar; under ``q`` its expectation is ``c(E_q[z])``.

    Examples:
        >>> c = jr.estimators.taylor_control_variate(
        ...     lambda z: jnp.sum(z**2), jnp.array([1.0, 2.0]))
        >>> float(c(jnp.array([1.0, 2.0]))), float(c(jnp.array([2.0, 2.0])))
        (5.0, 7.0)
        >>> f = lambda z: z**2
        >>> g = jax.grad(jr.estimators.score_function_control_variate, argnums=1)(
        ...     jax.random.key(0), jr.normal.init(loc=1.0), jr.normal, f,
        ...     control_variate=jr.estimators.taylor_control_variate(f, 1.0),
        ...     num_samples=1000)
        >>> bool(abs(g.loc - 2.0) < 0.3)  # d/d loc E[z^2] = 2 loc
        True
    """
    point = jax.lax.stop_gradient(point)
    value, slope = jax.value_and_grad(f)(point)

    def control_variate(z: Array) -> Array:
        return value + jnp.sum(slope * (z - point))

    return control_variate


def score_function_control_variate(
    key: ArrayLike,
    params: Any,
    family: Family,
    f: Callable[[Array], ArrayLike],
    *,
    num_samples: int = 1,
    control_variate: Callable[[Array], ArrayLike] | None = None,
) -> Array:
    """The score function minus a control variate added back pathwise (LAX).

    With one reparameterized draw ``z = g(eps, params)`` per sample, the gradient
    is ``mean_s [(f(z_s) - c(z_s)) grad log q(z_s) + grad_params c(g(eps_s,
    params))]``: the score function of ``f - c`` plus the pathwise gradient of
    ``E_q[c]``, unbiased for any differentiable ``c``. With ``c = f`` it is the
    pathwise estimator, with ``c = 0`` the score function. The default ``c`` is
    the first-order Taylor expansion of ``f`` around the (stopped) mean of
    ``q``, which removes the linear part of ``f`` from the score term: the
    delta-method control variate, whose expectation is known in closed form and
    whose gradient the pathwise term supplies.

    ``f`` must be differentiable for the default ``c``; ``f``'s own value is used
    without a pathwise gradient. Whatever ``c`` closes over (learned params)
    gets a zero gradient from the surrogate, but the params' gradient is
    differentiable in it, so ``c`` can be fitted by minimising the gradient's
    variance (see :func:`jaxreparam.estimators.relax_variance_loss`).

    Args:
        key: a PRNG key.
        params: the family's params; the gradient is taken with respect to them.
        family: the ``Family`` bundle of ``params``; must be reparameterized,
            and have a closed-form ``mean`` unless ``control_variate`` is given.
        f: maps one draw to a scalar.
        num_samples: the number of draws averaged, a positive Python int.
        control_variate: ``c``, mapping one draw to a scalar, differentiable,
            and not a function of ``params`` (it may close over other
            values); by default :func:`taylor_control_variate` at the mean.

    Returns:
        A scalar whose value is ``mean_s f(z_s)`` and whose gradient is the
        control-variate estimate.

    Raises:
        ValueError: ``family`` is not reparameterized or has no ``mean`` (for the
            default ``c``), ``num_samples < 1``, or ``f`` or ``c`` does not
            return a scalar.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> g = jax.grad(jr.estimators.score_function_control_variate, argnums=1)(
        ...     jax.random.key(0), jr.normal.init(loc=1.0), jr.normal,
        ...     lambda z: z**2, num_samples=4000)
        >>> bool(abs(g.loc - 2.0) < 0.3)  # d/d loc E[z^2] = 2 loc
        True

    References:
        Grathwohl, Choi, Wu, Roeder and Duvenaud, "Backpropagation through the
        void: optimizing control variates for black-box gradient estimation",
        ICLR 2018 (the LAX estimator, section 3.1).
        Mohamed, Rosca, Figurnov and Mnih, "Monte Carlo gradient estimation in
        machine learning", JMLR 21, 2020, section 7.4 (control variates;
        the delta method).
    """
    where = "estimators.score_function_control_variate"
    num_samples = _common.check_num_samples(where, num_samples)
    _common.check_reparameterized(where, family, "score_function")
    if control_variate is None and not family.has("mean"):
        raise ValueError(
            f"{where}: family {family.name!r} has no closed-form mean to "
            "expand f around; pass control_variate"
        )
    z = family.sample(key, params, (num_samples,))
    fixed = jax.lax.stop_gradient(z)
    values = _common.evaluate(where, f, fixed)
    if control_variate is None:
        control_variate = taylor_control_variate(f, family.mean(params))
    control = _common.evaluate(where, control_variate, fixed)
    log_q = _common.draw_log_prob(family, params, fixed)
    pathwise = _common.zero_with_gradient(
        lambda z: _common.evaluate(where, control_variate, z), z
    )
    return jnp.mean(values + _common.score_term(values - control, log_q) + pathwise)
