"""The loss of amortized inference: one bound per data point, from an encoder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.objectives import _common


def make_amortized_loss(
    objective: Callable[..., Array],
    family: Family,
    encoder: Callable[[Any, Any], Any],
    log_joint: Callable[[Any, Any, Array], ArrayLike],
    **options: Any,
) -> Callable[[ArrayLike, Any, Any], Array]:
    """A loss for amortized inference: ``loss(key, params, data)``.

    ``loss = -mean_i objective(key_i, encoder(params, x_i), family,
    lambda z: log_joint(params, x_i, z), **options)`` over the data points
    ``x_i`` (the leading axis of every leaf of ``data``), one key each, under
    ``jax.vmap``. ``params`` holds the encoder's and the model's (decoder's)
    parameters in any pytree; with ``gradient="dreg"`` or ``"stl"`` the
    encoder gets the modified gradient through the variational params, the
    decoder the objective's usual one. Under a mesh (``jr.fit(..., mesh=...)``
    splits the batch) the data points are split across the devices, and each
    point's draws stay on its device.

    Args:
        objective: :func:`elbo`, :func:`iwae` or :func:`renyi_bound`.
        family: the variational family.
        encoder: ``encoder(params, x) -> family params`` for one data point.
        log_joint: ``log_joint(params, x, z) -> scalar``, ``log p(x, z)`` (or
            ``log p(x | z)`` with an ``elbo`` ``prior``) for one data point.
        **options: the objective's keyword options.

    Returns:
        ``loss(key, params, data)``, minimised: the negated mean bound.

    Examples:
        >>> import jax, jax.numpy as jnp, jaxreparam as jr
        >>> def encoder(params, x):
        ...     return jr.distributions.NormalParams(params["w"] * x, jnp.zeros_like(x))
        >>> def log_joint(params, x, z):
        ...     return jnp.sum(jr.normal.log_prob(jr.normal.init(), z)
        ...                    + jr.normal.log_prob(jr.normal.init(loc=z), x))
        >>> loss = jr.objectives.make_amortized_loss(
        ...     jr.objectives.iwae, jr.normal, encoder, log_joint,
        ...     num_samples=5, gradient="dreg")
        >>> data = jnp.ones((16, 3))  # 16 data points of 3 coordinates
        >>> grad = jax.jit(jax.grad(loss, argnums=1))
        >>> grad(jax.random.key(0), {"w": 0.5}, data)["w"].shape
        ()
    """
    where = "objectives.make_amortized_loss"
    _common.check_callable(where, "objective", objective)
    _common.check_family(where, family)
    _common.check_callable(where, "encoder", encoder)
    _common.check_callable(where, "log_joint", log_joint)

    def loss(key: ArrayLike, params: Any, data: Any) -> Array:
        key = _checks.check_key(key)
        keys = jax.random.split(key, _common.leading_size(where, data))

        def one(key: Array, x: Any) -> Array:
            return objective(
                key,
                encoder(params, x),
                family,
                lambda z: log_joint(params, x, z),
                **options,
            )

        with _common.per_data_point():  # the data axis is the one to shard
            return -jnp.mean(jax.vmap(one)(keys, data))

    return loss
