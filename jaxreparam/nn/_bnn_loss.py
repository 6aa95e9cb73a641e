"""The minibatch ELBO of a Bayesian network, as a loss for ``jr.fit``.

For a data set of ``N`` examples, a minibatch of ``B`` and a mean-field
posterior ``q`` over the weights, the negative ELBO is estimated by::

    -(N / B) sum_{i in batch} log p(y_i | x_i, w) + kl_weight * KL(q || prior)

with one random forward pass (``w ~ q`` shared, or per-example pre-activation
noise, as the network draws it). The loss reports it **per data point**, divided
by ``N``: ``mean_i -log p(y_i | x_i, w) + kl_weight * KL / N``, so its value
reads as an NLL in nats and an optimizer's learning rate does not depend on
the size of the data set. Multiply by ``N`` for the negative ELBO itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.nn._priors import Prior

Schedule = Callable[[Array], ArrayLike]


def linear_warmup(num_steps: int) -> Schedule:
    """A KL weight rising linearly from 0 to 1 over ``num_steps`` steps.

    ``weight(step) = min(1, step / num_steps)``: 0 at the first step, 1 from
    step ``num_steps`` on (KL annealing, Bowman et al. 2016; "warm-up",
    Sonderby et al. 2016).

    Args:
        num_steps: the length of the warm-up, a positive int.

    Returns:
        ``weight(step) -> scalar``, for ``make_bnn_loss(..., kl_weight=...)``.

    Raises:
        TypeError: ``num_steps`` is not an int.
        ValueError: ``num_steps < 1``.

    Examples:
        >>> weight = jr.nn.linear_warmup(100)
        >>> [float(weight(jnp.asarray(s))) for s in (0, 50, 100, 200)]
        [0.0, 0.5, 1.0, 1.0]
    """
    num_steps = _count("nn.linear_warmup", "num_steps", num_steps)

    def weight(step: ArrayLike) -> Array:
        return jnp.minimum(1.0, jnp.asarray(step, jnp.float32) / num_steps)

    return weight


def _count(where: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{where}: {name} must be a positive int, got {type(value).__name__} "
            f"{value!r}"
        )
    if value < 1:
        raise ValueError(f"{where}: {name} must be a positive int, got {value}")
    return int(value)


def make_bnn_loss(
    apply: Callable[[ArrayLike, Any, ArrayLike], Array],
    log_likelihood: Callable[[Array, Any], Array],
    prior: Prior,
    *,
    num_data: int,
    kl_weight: float | Schedule = 1.0,
) -> Callable[..., tuple[Array, dict[str, Array]]]:
    """The negative minibatch ELBO of a Bayesian network, per data point.

    ``loss(key, params, batch)`` with ``batch = (inputs, targets)`` (``B``
    examples on the leading axis) is ``mean_i -log_likelihood_i + kl_weight
    * KL(q || prior) / num_data``: an unbiased estimate of ``-ELBO /
    num_data`` over random minibatches and draws (see the module docstring).
    The key is split into one for ``apply`` and one for ``prior.kl`` (used
    by the scale mixture's Monte Carlo KL only).

    With a callable ``kl_weight`` (a schedule such as :func:`linear_warmup`)
    the loss is ``loss(key, params, batch, *, step)``: ``jr.fit`` and
    ``jr.make_step`` pass the step number to a loss that declares ``step``,
    counted from the start of the first fit, so a resumed fit carries on.

    Args:
        apply: ``apply(key, params, inputs) -> outputs``, a Bayesian
            network's (``bayesian_mlp(...).apply``, your own composition, or
            ``bayes_by_backprop(net.apply)`` for any network).
        log_likelihood: ``log_likelihood(outputs, targets) -> (B,)``, the
            log-likelihood of each example.
        prior: a ``Prior`` (``normal_prior``, ``scale_mixture_prior``).
        num_data: ``N``, the number of examples of the whole data set.
        kl_weight: a non-negative float (1: the ELBO; below 1: a tempered
            posterior), or ``weight(step) -> scalar``.

    Returns:
        ``loss(key, params, batch[, *, step]) -> (value, {"nll": mean NLL of
        the batch, "kl": KL(q || prior)})``.

    Raises:
        TypeError: ``apply`` or ``log_likelihood`` is not callable, ``prior``
            is not a ``Prior``, ``num_data`` is not an int.
        ValueError: ``num_data < 1``, a negative ``kl_weight``; at the call,
            a batch that is not ``(inputs, targets)``, larger than
            ``num_data``, or a log-likelihood not of shape ``(B,)``.

    Examples:
        >>> net = jr.nn.bayesian_mlp((2, 8, 1))
        >>> def log_likelihood(outputs, targets):  # Gaussian, noise scale 0.1
        ...     return jax.scipy.stats.norm.logpdf(targets, outputs[..., 0], 0.1)
        >>> loss = jr.nn.make_bnn_loss(net.apply, log_likelihood,
        ...                            jr.nn.normal_prior(), num_data=100)
        >>> batch = jnp.ones((10, 2)), jnp.zeros(10)
        >>> params = net.init(jax.random.key(0))
        >>> value, metrics = loss(jax.random.key(1), params, batch)
        >>> sorted(metrics)
        ['kl', 'nll']

    References:
        Blundell, Cornebise, Kavukcuoglu & Wierstra (2015). Weight uncertainty
        in neural networks. ICML.
    """
    where = "nn.make_bnn_loss"
    for name, function in (("apply", apply), ("log_likelihood", log_likelihood)):
        if not callable(function):
            raise TypeError(
                f"{where}: {name} must be callable, got {type(function).__name__}"
            )
    if not isinstance(prior, Prior):
        raise TypeError(
            f"{where}: prior must be a Prior (jr.nn.normal_prior(...) or "
            f"jr.nn.scale_mixture_prior(...)), got {type(prior).__name__}"
        )
    num_data = _count(where, "num_data", num_data)
    schedule = callable(kl_weight)
    if not schedule:
        if isinstance(kl_weight, bool) or not isinstance(kl_weight, int | float):
            raise TypeError(
                f"{where}: kl_weight must be a float or a function of the step, "
                f"got {type(kl_weight).__name__}"
            )
        if not (math.isfinite(kl_weight) and kl_weight >= 0):
            raise ValueError(
                f"{where}: kl_weight must be finite and non-negative, got {kl_weight}"
            )

    def value(key: ArrayLike, params: Any, batch: Any, weight: ArrayLike):
        key = _checks.check_key(key)
        if not isinstance(batch, tuple | list) or len(batch) != 2:
            raise ValueError(
                f"{where}: batch must be (inputs, targets), got {type(batch).__name__}"
            )
        inputs, targets = batch
        size = jax.tree.leaves(inputs)[0].shape[0]
        if size > num_data:
            raise ValueError(
                f"{where}: the batch has {size} examples, more than num_data={num_data}"
            )
        apply_key, kl_key = jax.random.split(key)
        outputs = apply(apply_key, params, inputs)
        log_lik = jnp.asarray(log_likelihood(outputs, targets))
        if log_lik.shape != (size,):
            raise ValueError(
                f"{where}: log_likelihood must give one value per example, shape "
                f"({size},), got {log_lik.shape}"
            )
        nll = -jnp.mean(log_lik)
        kl = prior.kl(kl_key, params)
        return nll + weight * kl / num_data, {"nll": nll, "kl": kl}

    if schedule:

        def scheduled_loss(key: ArrayLike, params: Any, batch: Any, *, step: Any):
            return value(key, params, batch, kl_weight(step))  # type: ignore[operator]

        return scheduled_loss

    def loss(key: ArrayLike, params: Any, batch: Any):
        return value(key, params, batch, kl_weight)

    return loss
