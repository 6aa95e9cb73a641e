"""What the loss factories share: options checked once, and minibatch targets.

``make_elbo_loss``, ``make_iwae_loss`` and ``make_renyi_loss`` close over the
configuration and return a loss of arrays only. Given ``log_target`` the loss is
``loss(key, params)``. Given a per-data-point ``log_likelihood`` with the data
set's size ``num_data``, it is ``loss(key, params, batch)``, and its target for
a minibatch of ``B`` points is::

    log_prior(z) + (num_data / B) * sum_{i in batch} log_likelihood(z, x_i),

whose expectation over minibatches drawn without replacement is the full data
set's ``log p(x_1..N, z)``: the likelihood is scaled to the data set's size,
the prior is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.objectives import _common

LogLikelihood = Callable[[Array, Any], ArrayLike]


class Targets(NamedTuple):
    """The target arguments of a loss factory, as the user gave them."""

    log_target: _common.LogTarget | None
    log_prior: _common.LogTarget | None
    log_likelihood: LogLikelihood | None
    num_data: int | None


def make_loss(
    where: str,
    objective: Callable[..., Array],
    family: Family,
    targets: Targets,
    options: dict[str, Any],
    gradients: tuple[str, ...],
) -> Callable[..., Array]:
    """``-objective`` as a loss of ``(key, params)`` or ``(key, params, batch)``."""
    log_target, log_prior, log_likelihood, num_data = targets
    _common.check_family(where, family)
    _common.check_callable(where, "estimator", options.get("estimator", callable))
    _common.check_options(where, objective, options, gradients)
    if log_likelihood is None:
        if log_prior is not None or num_data is not None:
            raise ValueError(
                f"{where}: log_prior and num_data go with log_likelihood (a "
                f"minibatch loss); got log_likelihood=None, log_prior="
                f"{log_prior!r}, num_data={num_data!r}"
            )
        _common.check_callable(where, "log_target", log_target)

        def loss(key: ArrayLike, params: Any) -> Array:
            return -objective(key, params, family, log_target, **options)

        return loss

    if log_target is not None:
        raise ValueError(
            f"{where}: pass either log_target (loss(key, params)) or "
            "log_likelihood with num_data (loss(key, params, batch)), not both"
        )
    _common.check_callable(where, "log_likelihood", log_likelihood)
    num_data = _common.check_count(where, "num_data", num_data)
    analytic_kl = options.get("prior") is not None
    if analytic_kl and log_prior is not None:
        raise ValueError(
            f"{where}: prior=... gives KL(q || prior) in closed form; leave "
            "log_prior out"
        )
    if not analytic_kl:
        _common.check_callable(where, "log_prior", log_prior)

    def batch_loss(key: ArrayLike, params: Any, batch: Any) -> Array:
        target = minibatch_target(
            where, log_prior, log_likelihood, batch, num_data=num_data
        )
        return -objective(key, params, family, target, **options)

    return batch_loss


def minibatch_target(
    where: str,
    log_prior: _common.LogTarget | None,
    log_likelihood: LogLikelihood,
    batch: Any,
    *,
    num_data: int,
) -> _common.LogTarget:
    """``z -> log_prior(z) + num_data / B * sum_i log_likelihood(z, x_i)``.

    ``B`` is the size of the leading axis of ``batch``, at most ``num_data``;
    without ``log_prior`` (a closed-form KL) the target is the scaled
    log-likelihood alone.
    """
    batch_size = _common.leading_size(where, batch)
    if batch_size > num_data:
        raise ValueError(
            f"{where}: the batch holds {batch_size} data points, more than "
            f"num_data={num_data}"
        )
    scale = num_data / batch_size

    def log_target(z: Array) -> Array:
        values = jax.vmap(log_likelihood, (None, 0))(z, batch)
        if jnp.shape(values) != (batch_size,):
            raise ValueError(
                f"{where}: log_likelihood must map one draw and one data point "
                f"to a scalar, got values of shape {jnp.shape(values)[1:]} per "
                "data point"
            )
        value = scale * jnp.sum(values)
        return value if log_prior is None else log_prior(z) + value

    return log_target
