"""The doubly-reparameterized (DReG) surrogate of the IWAE and Renyi bounds."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.objectives import _common


def doubly_reparameterized(
    where: str,
    key: ArrayLike,
    params: Any,
    family: Family,
    log_target: _common.LogTarget,
    *,
    num_samples: int,
    num_estimates: int,
    alpha: float,
) -> Array:
    """The doubly-reparameterized surrogate of the Renyi bound (IWAE at 0).

    Per estimate, with ``log w_k`` computed with the params stopped inside
    ``log q`` and ``v_k = softmax((1 - alpha) log w)_k``, the surrogate is::

        renyi(log w(sg z)) + sum_k sg(alpha v_k + (1 - alpha) v_k^2)
                                  * (log w_k(z_k) - log w_k(sg z_k)).

    The first term is the bound's value, and gives whatever ``log_target``
    closes over (a decoder) its usual gradient ``sum_k v_k grad log w_k``; the
    second is zero in value, cancels exactly in that gradient, and gives the
    params the pathwise term ``sum_k c_k d log w_k / dz_k dz_k / dparams``.
    Under a mesh the draws are split across its devices.
    """
    shape = (num_estimates, num_samples)
    z = _common.sharded(family).sample(key, params, shape)

    def one(z: Array) -> Array:
        z_stop = jax.lax.stop_gradient(z)
        log_w_stop = _common.log_weights(
            where, family, params, log_target, z_stop, stop_params=True
        )
        log_w = _common.log_weights(
            where, family, params, log_target, z, stop_params=True
        )
        v = jax.nn.softmax((1.0 - alpha) * jax.lax.stop_gradient(log_w_stop))
        coefficients = alpha * v + (1.0 - alpha) * v**2
        pathwise = jnp.sum(coefficients * (log_w - log_w_stop))
        return _common.renyi_value(log_w_stop, alpha) + pathwise

    return jnp.mean(jax.vmap(one)(z))
