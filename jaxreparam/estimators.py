"""Gradient estimators of ``E_q[f(z)]``, written as surrogate objectives.

An estimator turns ``(key, params, f, family)`` into a scalar *surrogate*: its
value is the Monte Carlo estimate ``mean_s f(z_s)`` over ``num_samples`` draws
``z_s ~ q(. | params)``, and its ``jax.grad`` with respect to ``params`` is that
estimator's gradient of ``E_q[f(z)]``. Changing estimator is changing one
function; everything else (``jax.grad``, ``jax.jit``, ``jax.vmap``, optax) stays.

Arguments follow the library's order, key -> params -> data -> options:
``estimator(key, params, f, family, *, num_samples=1)``, so the gradient with
respect to the params is ``jax.grad(estimator, argnums=1)``, as for
``family.sample(key, params)``. ``f`` and ``family`` are configuration: close
over them (``functools.partial``) or mark them static before ``jax.jit``.

``f`` maps **one** draw, an array of shape ``batch_shape + event_shape``, to a
scalar; the estimators ``jax.vmap`` it over the draws. A draw's log-density is
the sum of ``family.log_prob`` over the batch dimensions, the density of the
whole draw, so a family with a batch of ``D`` independent Normals is a
diagonal Gaussian in ``D`` dimensions.

This module defines the two basic estimators and gathers the others:

* :func:`pathwise` and :func:`score_function` (with a constant ``baseline``);
* from :mod:`jaxreparam.control_variates`, the score function with a moving
  average baseline in explicit state (:func:`score_function_moving_average`,
  :class:`BaselineState`, :func:`init_baseline`), with the leave-one-out
  baseline (:func:`score_function_leave_one_out`), and with a control variate
  whose expectation is differentiated pathwise
  (:func:`score_function_control_variate`);
* from :mod:`jaxreparam.measure_valued`, the coupled measure-valued derivative
  for Gaussians (:func:`measure_valued`);
* from :mod:`jaxreparam.rebar`, REBAR and RELAX for Bernoulli and Categorical
  latents (:func:`rebar`, :func:`relax`, :func:`relax_variance_loss`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam import _estimation
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.control_variates import (
    BaselineState,
    init_baseline,
    score_function_control_variate,
    score_function_leave_one_out,
    score_function_moving_average,
    taylor_control_variate,
)
from jaxreparam.measure_valued import measure_valued
from jaxreparam.rebar import (
    RebarParams,
    init_rebar,
    rebar,
    rebar_control_variate,
    relax,
    relax_variance_loss,
)

__all__ = [
    "BaselineState",
    "RebarParams",
    "init_baseline",
    "init_rebar",
    "measure_valued",
    "pathwise",
    "rebar",
    "rebar_control_variate",
    "relax",
    "relax_variance_loss",
    "score_function",
    "score_function_control_variate",
    "score_function_leave_one_out",
    "score_function_moving_average",
    "taylor_control_variate",
]


def pathwise(
    key: ArrayLike,
    params: Any,
    f: Callable[[Array], ArrayLike],
    family: Family,
    *,
    num_samples: int = 1,
) -> Array:
    """The pathwise (reparameterization) estimator of ``E_q[f(z)]``.

    Draws ``z_s = g(eps_s, params)`` with ``family.sample`` and returns
    ``mean_s f(z_s)``. Its gradient, ``mean_s grad_params f(g(eps_s, params))``,
    flows through the sample itself, so ``f`` must be differentiable.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: the family's params; the gradient is taken with respect to them.
        f: maps one draw, of shape ``batch_shape + event_shape``, to a scalar;
            differentiable in its argument.
        family: the ``Family`` bundle of ``params``; must be reparameterized.
        num_samples: the number of draws averaged, a positive Python int.

    Returns:
        A scalar whose value is the Monte Carlo estimate and whose gradient
        with respect to ``params`` is the pathwise gradient estimate.

    Raises:
        ValueError: ``family`` is not reparameterized, ``num_samples < 1``, or
            ``f`` does not return a scalar.
        TypeError: ``num_samples`` is not an int.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> grad = jax.grad(jr.estimators.pathwise, argnums=1)
        >>> params = jr.normal.init(loc=1.0, scale=1.0)
        >>> g = grad(jax.random.key(0), params, lambda z: z**2, jr.normal.family,
        ...          num_samples=4000)
        >>> bool(abs(g.loc - 2.0) < 0.2)  # d/d loc E[z^2] = 2 loc
        True

    References:
        Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """
    where = "estimators.pathwise"
    num_samples = _estimation.check_num_samples(where, num_samples)
    _estimation.check_reparameterized(where, family, "score_function")
    z = family.sample(key, params, (num_samples,))
    return jnp.mean(_estimation.evaluate(where, f, z))


def score_function(
    key: ArrayLike,
    params: Any,
    f: Callable[[Array], ArrayLike],
    family: Family,
    *,
    num_samples: int = 1,
    baseline: ArrayLike = 0.0,
) -> Array:
    """The score-function (REINFORCE, likelihood-ratio) estimator of ``E_q[f(z)]``.

    Draws ``z_s ~ q`` with no gradient through the draw and returns the surrogate
    ``mean_s [f(z_s) + sg(f(z_s) - b) (log q(z_s) - sg(log q(z_s)))]``, where
    ``sg`` is ``jax.lax.stop_gradient`` and ``b`` the constant ``baseline``. The
    second term is exactly zero, so the value is ``mean_s f(z_s)``; its gradient
    is ``mean_s (f(z_s) - b) grad_params log q(z_s)``, unbiased for any ``b``
    that does not depend on the draws, since ``E_q[grad log q] = 0``.
    ``f`` need not be differentiable, and the family need not be
    reparameterized. Gradients of ``f`` with respect to anything else it closes
    over (model parameters, say) still flow through the first term.

    Baselines that adapt are in :mod:`jaxreparam.control_variates`:
    :func:`score_function_moving_average` (state carried explicitly) and
    :func:`score_function_leave_one_out` (from the other draws).

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: the family's params; the gradient is taken with respect to them.
        f: maps one draw, of shape ``batch_shape + event_shape``, to a scalar.
        family: the ``Family`` bundle of ``params``.
        num_samples: the number of draws averaged, a positive Python int.
        baseline: a scalar subtracted from ``f`` in the score term only (it may
            be a traced value, but must not depend on the draws).

    Returns:
        A scalar whose value is the Monte Carlo estimate and whose gradient
        with respect to ``params`` is the score-function gradient estimate.

    Raises:
        ValueError: ``num_samples < 1``, ``baseline`` is not a scalar, or ``f``
            does not return a scalar.
        TypeError: ``num_samples`` is not an int.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> grad = jax.grad(jr.estimators.score_function, argnums=1)
        >>> params = jr.normal.init(loc=1.0, scale=1.0)
        >>> g = grad(jax.random.key(0), params, lambda z: z**2, jr.normal.family,
        ...          num_samples=4000)
        >>> bool(abs(g.loc - 2.0) < 0.5)  # d/d loc E[z^2] = 2 loc
        True

    References:
        Williams, "Simple statistical gradient-following algorithms for
        connectionist reinforcement learning", Machine Learning 8, 1992.
    """
    where = "estimators.score_function"
    num_samples = _estimation.check_num_samples(where, num_samples)
    if jnp.ndim(baseline) != 0:
        raise ValueError(
            f"{where}: baseline must be a scalar, got shape {jnp.shape(baseline)}"
        )
    z = jax.lax.stop_gradient(family.sample(key, params, (num_samples,)))
    values = _estimation.evaluate(where, f, z)
    log_q = _estimation.draw_log_prob(family, params, z)
    weights = jax.lax.stop_gradient(values - baseline)
    return jnp.mean(values + _estimation.score_term(weights, log_q))
