"""The score-function (REINFORCE) estimator with a constant baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.estimators import _common


def score_function(
    key: ArrayLike,
    params: Any,
    family: Family,
    f: Callable[[Array], ArrayLike],
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

    Baselines that adapt are in :mod:`jaxreparam.estimators`:
    :func:`score_function_moving_average` (state carried explicitly) and
    :func:`score_function_leave_one_out` (from the other draws).

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: the family's params; the gradient is taken with respect to them.
        family: the ``Family`` bundle of ``params``.
        f: maps one draw, of shape ``batch_shape + event_shape``, to a scalar.
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
        >>> g = grad(jax.random.key(0), params, jr.normal, lambda z: z**2,
        ...          num_samples=4000)
        >>> bool(abs(g.loc - 2.0) < 0.5)  # d/d loc E[z^2] = 2 loc
        True

    References:
        Williams, "Simple statistical gradient-following algorithms for
        connectionist reinforcement learning", Machine Learning 8, 1992.
    """
    where = "estimators.score_function"
    num_samples = _common.check_num_samples(where, num_samples)
    if jnp.ndim(baseline) != 0:
        raise ValueError(
            f"{where}: baseline must be a scalar, got shape {jnp.shape(baseline)}"
        )
    values, log_q = _common.stopped_draws(where, key, params, family, f, num_samples)
    return _common.score_surrogate(values, baseline, log_q)
