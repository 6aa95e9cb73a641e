"""The pathwise (reparameterization) estimator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.estimators import _common


def pathwise(
    key: ArrayLike,
    params: Any,
    family: Family,
    f: Callable[[Array], ArrayLike],
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
        family: the ``Family`` bundle of ``params``; must be reparameterized.
        f: maps one draw, of shape ``batch_shape + event_shape``, to a scalar;
            differentiable in its argument.
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
        >>> g = grad(jax.random.key(0), params, jr.normal, lambda z: z**2,
        ...          num_samples=4000)
        >>> bool(abs(g.loc - 2.0) < 0.2)  # d/d loc E[z^2] = 2 loc
        True

    References:
        Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """
    where = "estimators.pathwise"
    num_samples = _common.check_num_samples(where, num_samples)
    _common.check_reparameterized(where, family, "score_function")
    z = family.sample(key, params, (num_samples,))
    return jnp.mean(_common.evaluate(where, f, z))
