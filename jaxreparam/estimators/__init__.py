"""Gradient estimators of ``E_q[f(z)]``, written as surrogate objectives.

An estimator turns ``(key, params, family, f)`` into a scalar *surrogate*: its
value is the Monte Carlo estimate ``mean_s f(z_s)`` over ``num_samples`` draws
``z_s ~ q(. | params)``, and its ``jax.grad`` with respect to ``params`` is that
estimator's gradient of ``E_q[f(z)]``. Changing estimator is changing one
function; everything else (``jax.grad``, ``jax.jit``, ``jax.vmap``, optax) stays.

**One argument order** for every estimator and every objective: the key first
(as in ``jax.random``), then the params, then the family, then the function,
then keyword-only options::

    estimator(key, params, family, f, *, num_samples=1, ...)
    objective(key, params, family, log_target, *, num_samples=1, ...)

so the gradient with respect to the params is ``jax.grad(estimator,
argnums=1)``, as for ``family.sample(key, params)``. State that a step carries
along with the params comes right after them: the baseline state of
:func:`score_function_moving_average` (``(key, params, state, family, f)``)
and the control variate's params of :func:`relax_variance_loss` (``(key,
params, control_params, family, f)``, differentiated with ``argnums=2``).
``family`` and ``f`` are configuration: close over them
(``functools.partial``) or mark them static before ``jax.jit``.

``f`` maps **one** draw, an array of shape ``batch_shape + event_shape``, to a
scalar; the estimators ``jax.vmap`` it over the draws. A draw's log-density is
the sum of ``family.log_prob`` over the batch dimensions, the density of the
whole draw, so a family with a batch of ``D`` independent Normals is a
diagonal Gaussian in ``D`` dimensions.

This module defines the two basic estimators and gathers the others:

* :func:`pathwise` and :func:`score_function` (with a constant ``baseline``);
* from the score-function family, the score function with a moving
  average baseline in explicit state (:func:`score_function_moving_average`,
  :class:`BaselineState`, :func:`init_baseline`), with the leave-one-out
  baseline (:func:`score_function_leave_one_out`), and with a control variate
  whose expectation is differentiated pathwise
  (:func:`score_function_control_variate`);
* from the measure-valued derivatives, the coupled measure-valued derivative
  for Gaussians (:func:`measure_valued`);
* from the relaxation-based control variates, REBAR and RELAX for Bernoulli
  and Categorical latents (:func:`rebar`, :func:`relax`, :func:`relax_variance_loss`).
"""

from jaxreparam.estimators import diagnostics
from jaxreparam.estimators._control_variates import (
    BaselineState,
    init_baseline,
    score_function_control_variate,
    score_function_leave_one_out,
    score_function_moving_average,
    taylor_control_variate,
)
from jaxreparam.estimators._measure_valued import measure_valued
from jaxreparam.estimators._pathwise import pathwise
from jaxreparam.estimators._rebar import (
    RebarParams,
    init_rebar,
    rebar,
    rebar_control_variate,
    relax,
    relax_variance_loss,
)
from jaxreparam.estimators._score_function import score_function

__all__ = [
    "BaselineState",
    "RebarParams",
    "diagnostics",
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
