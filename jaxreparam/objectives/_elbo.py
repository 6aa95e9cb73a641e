"""The evidence lower bound (ELBO) and its loss factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from jaxreparam import estimators
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.objectives import _common, _losses

Estimator = _common.Estimator
LogTarget = _common.LogTarget
GRADIENTS = ("standard", "stl")


def elbo(
    key: ArrayLike,
    params: Any,
    family: Family,
    log_target: LogTarget,
    *,
    num_samples: int = 1,
    estimator: Estimator = estimators.pathwise,
    gradient: str = "standard",
    prior: Any = None,
    entropy: str = "monte_carlo",
) -> Array:
    """The evidence lower bound ``E_q[log_target(z) - log q(z)]``, maximised.

    By default the whole integrand is estimated by Monte Carlo over
    ``num_samples`` draws. With ``entropy="analytic"`` the bound is
    ``E_q[log_target(z)] + H(q)``, the entropy in closed form (Stan's ADVI),
    so ``f = log_target`` does not depend on the params, as control-variate
    estimators require. With ``prior`` (params whose type has an analytic KL
    against ``params``' type in :mod:`jaxreparam.kl`), ``log_target`` is the
    log-likelihood ``log p(x | z)`` and the bound is ``E_q[log_target(z)] -
    KL(q || prior)``, the KL in closed form.

    Args:
        key: a PRNG key.
        params: the variational family's params (the gradient is taken w.r.t.
            them); a draw has shape ``batch_shape + event_shape``, its
            log-density summed over the batch.
        family: the ``Family`` bundle of ``params``.
        log_target: maps one draw to a scalar: ``log p(x, z)`` up to a
            constant, or ``log p(x | z)`` when ``prior`` is given.
        num_samples: draws averaged, a positive Python int.
        estimator: an estimator of ``E_q[f(z)]`` (``estimators.pathwise``,
            ``estimators.score_function``, ...).
        gradient: ``"standard"`` or ``"stl"`` (the params stopped inside
            ``log q``: zero variance when ``q`` is the exact posterior);
            ``"stl"`` needs the Monte Carlo entropy: no ``prior``, no
            analytic ``entropy``.
        prior: params of the prior for an analytic KL, or ``None``.
        entropy: ``"monte_carlo"`` or ``"analytic"`` (the family's closed-form
            entropy, summed over the batch); not with ``prior``, whose KL
            already holds the entropy.

    Returns:
        A scalar: the ELBO estimate, its gradient the chosen estimator's.

    Raises:
        TypeError: ``family`` is not a ``Family``, ``log_target`` or
            ``estimator`` is not callable, ``num_samples`` is not an int.
        ValueError: an unknown ``gradient`` or ``entropy``, ``"stl"`` with a
            closed-form term, ``prior`` with ``entropy="analytic"``, a family
            without an entropy, a KL whose shape is not ``q``'s batch shape,
            ``num_samples < 1``.
        NotImplementedError: no analytic KL between ``params`` and ``prior``.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> log_target = lambda z: jr.normal.log_prob(jr.normal.init(), z)
        >>> params = jr.normal.init(loc=0.0, scale=1.0)  # q = the target
        >>> value = jr.objectives.elbo(jax.random.key(0), params, jr.normal,
        ...                            log_target, num_samples=8)
        >>> bool(abs(value) < 1e-5)  # log Z = 0 and the bound is tight
        True

    References:
        Roeder, Wu & Duvenaud, "Sticking the landing: simple, lower-variance
        gradient estimators for variational inference", NeurIPS 2017.
    """
    where = "objectives.elbo"
    _common.check_common(where, family, log_target, estimator)
    num_samples = _common.check_count(where, "num_samples", num_samples)
    gradient = _common.check_choice(where, "gradient", gradient, GRADIENTS)
    entropy = _common.check_choice(where, "entropy", entropy, _common.ENTROPIES)
    if prior is not None and entropy == "analytic":
        raise ValueError(
            f"{where}: prior=... makes the whole KL analytic, entropy included; "
            "leave entropy='monte_carlo'"
        )
    if prior is not None or entropy == "analytic":
        if gradient == "stl":
            raise ValueError(
                f"{where}: gradient='stl' drops the score of the Monte Carlo "
                "entropy term, which a closed-form KL or entropy does not have"
            )
        q = _common.sharded(family)
        value = estimator(key, params, q, log_target, num_samples=num_samples)
        return value + _common.closed_form_term(where, params, family, prior)

    stop = gradient == "stl"
    if estimator is estimators.pathwise and not stop:
        shape = (num_samples,)
        log_w = _common.fused_log_weights(where, key, params, family, log_target, shape)
        return jnp.mean(log_w)

    def integrand(z: Array) -> Array:
        log_w = _common.log_weights(
            where, family, params, log_target, z[None], stop_params=stop
        )
        return log_w[0]

    q = _common.sharded(family)
    return estimator(key, params, q, integrand, num_samples=num_samples)


def make_elbo_loss(
    family: Family,
    log_target: LogTarget | None = None,
    *,
    log_prior: LogTarget | None = None,
    log_likelihood: _losses.LogLikelihood | None = None,
    num_data: int | None = None,
    **options: Any,
) -> Callable[..., Array]:
    """The negative ELBO as a loss to minimise, for ``jax.grad`` and ``jr.fit``.

    The loss takes its target in one of two ways:

    * ``log_target``: ``loss(key, params)``, the whole target at once.
    * ``log_likelihood(z, x)``, the log-likelihood of **one** data point ``x``
      (a slice of the leading axis of every leaf of the batch), with
      ``num_data``, the size ``N`` of the whole data set, and ``log_prior(z)``:
      ``loss(key, params, batch)``, whose target for a minibatch of ``B``
      points is ``log_prior(z) + N / B * sum_{i in batch} log_likelihood(z,
      x_i)``. The likelihood is scaled to the data set's size, the prior is
      not, so the target is an unbiased estimate of the full data set's
      ``log p(x_1..N, z)``. Ready for ``jr.fit(key, params, data, loss=loss,
      batch_size=B, ...)``; with ``batch_size=None`` (``B = N``) it is the
      full-data loss.

    The ELBO is linear in the log-likelihood, so the minibatch loss is an
    unbiased estimate of the full-data loss, under the same draws. With the
    ``prior`` option (a closed-form KL) leave ``log_prior`` out: the target is
    the scaled log-likelihood and ``KL(q || prior)`` is not scaled.

    Args:
        family: the variational family.
        log_target: ``log p(x, z)`` of one draw, up to a constant; or ``None``
            with ``log_likelihood``.
        log_prior: ``log p(z)`` of one draw, with ``log_likelihood``.
        log_likelihood: ``log p(x | z)`` of one draw and one data point.
        num_data: the number of data points ``N`` of the whole data set, a
            positive Python int, with ``log_likelihood``.
        **options: the options of :func:`elbo` (``num_samples``,
            ``estimator``, ``gradient``, ``prior``, ``entropy``), checked here
            once.

    Returns:
        ``loss(key, params)`` given ``log_target``, else ``loss(key, params,
        batch)``: ``-elbo``, ready for ``jax.jit(jax.value_and_grad(loss,
        argnums=1))`` and ``jr.fit``.

    Raises:
        TypeError: a bad ``family``, a function that is not callable, an
            unknown option or a count that is not an int.
        ValueError: both or neither of ``log_target`` and ``log_likelihood``,
            ``log_prior`` or ``num_data`` without ``log_likelihood``,
            ``log_prior`` with ``prior``, a bad option value; at the call, a
            batch larger than ``num_data``.

    Examples:
        >>> import jax, jax.numpy as jnp, jaxreparam as jr
        >>> data = jnp.arange(8.0)  # x_i ~ N(z, 1), z ~ N(0, 1)
        >>> loss = jr.objectives.make_elbo_loss(
        ...     jr.normal,
        ...     log_prior=lambda z: jr.normal.log_prob(jr.normal.init(), z),
        ...     log_likelihood=lambda z, x: jr.normal.log_prob(
        ...         jr.normal.init(loc=z), x),
        ...     num_data=8, num_samples=4)
        >>> params = jr.normal.init(loc=1.0, scale=0.5)
        >>> k1, k2, k3 = (jax.random.key(0) for _ in range(3))  # the same draws
        >>> halves = [loss(k1, params, data[:4]), loss(k2, params, data[4:])]
        >>> bool(jnp.isclose((halves[0] + halves[1]) / 2, loss(k3, params, data)))
        True
    """
    targets = _losses.Targets(log_target, log_prior, log_likelihood, num_data)
    where = "objectives.make_elbo_loss"
    return _losses.make_loss(where, elbo, family, targets, options, GRADIENTS)
