"""The importance-weighted (IWAE) and variational Renyi bounds, and their losses.

Both are one computation, the Renyi bound of order ``alpha`` over ``K`` draws
(IWAE at ``alpha = 0``); its gradient is the chosen estimator's over the ``K``
draws taken as one draw, the fused pathwise one, or DReG (:mod:`._dreg`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam import estimators
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.objectives import _common, _dreg, _losses

Estimator = _common.Estimator
LogTarget = _common.LogTarget
GRADIENTS = ("standard", "stl", "dreg")


def renyi_bound(
    key: ArrayLike,
    params: Any,
    family: Family,
    log_target: LogTarget,
    *,
    alpha: float,
    num_samples: int = 1,
    num_estimates: int = 1,
    estimator: Estimator = estimators.pathwise,
    gradient: str = "standard",
) -> Array:
    """The variational Renyi bound over ``K = num_samples`` draws, maximised.

    ``1/(1 - alpha) log (1/K) sum_k w_k^(1 - alpha)`` with ``w_k =
    exp(log_target(z_k)) / q(z_k)``, averaged over ``num_estimates``
    independent sets of ``K`` draws. Its expectation is a lower bound on
    ``log Z`` for ``alpha >= 0``, increasing as ``alpha`` falls to 0 (IWAE) and
    as ``K`` grows; ``alpha = 1`` gives the ELBO over ``K`` draws.

    Args:
        key: a PRNG key.
        params: the variational family's params.
        family: the ``Family`` bundle of ``params``.
        log_target: maps one draw to ``log p(x, z)`` up to a constant.
        alpha: the order, a finite Python float.
        num_samples: ``K``, the importance samples inside the logarithm.
        num_estimates: independent bound estimates averaged outside it.
        estimator: an estimator of ``E_q[f(z)]``; it sees the ``K`` draws as
            one draw of the ``K``-fold product family. Ignored by ``"dreg"``.
        gradient: ``"standard"``; ``"stl"`` (the params stopped inside
            ``log q``; biased unless ``alpha = 1`` or ``K = 1``); or ``"dreg"``
            (doubly reparameterized, pathwise only; unbiased: the params get
            ``sum_k (alpha v_k + (1 - alpha) v_k^2) d log w_k / dparams`` through
            the draws, ``v`` the normalized weights ``w^(1 - alpha)``).

    Returns:
        A scalar: the bound estimate, its gradient the chosen estimator's.

    Raises:
        TypeError: a bad ``family``, ``log_target``, ``estimator``, ``alpha``
            or count type.
        ValueError: an unknown ``gradient``; ``"dreg"`` with another
            estimator than ``estimators.pathwise`` or a family that is not
            reparameterized; a count below 1.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> log_target = lambda z: jr.normal.log_prob(jr.normal.init(), z) + 2.0
        >>> params = jr.normal.init(loc=0.0, scale=1.0)
        >>> value = jr.objectives.renyi_bound(jax.random.key(0), params,
        ...     jr.normal, log_target, alpha=0.5, num_samples=4)
        >>> round(float(value), 4)  # w = e^2 for every draw
        2.0

    References:
        Li & Turner, "Renyi divergence variational inference", NeurIPS 2016.
        Tucker, Lawson, Gu & Maddison, "Doubly reparameterized gradient
        estimators for Monte Carlo objectives", ICLR 2019.
    """
    return _bound(
        "objectives.renyi_bound",
        key,
        params,
        family,
        log_target,
        alpha=_common.check_alpha("objectives.renyi_bound", alpha),
        num_samples=num_samples,
        num_estimates=num_estimates,
        estimator=estimator,
        gradient=gradient,
    )


def iwae(
    key: ArrayLike,
    params: Any,
    family: Family,
    log_target: LogTarget,
    *,
    num_samples: int = 1,
    num_estimates: int = 1,
    estimator: Estimator = estimators.pathwise,
    gradient: str = "standard",
) -> Array:
    """The importance-weighted bound ``log (1/K) sum_k w_k``, maximised.

    :func:`renyi_bound` at ``alpha = 0``: ``K = num_samples`` draws
    ``z_k ~ q``, ``w_k = exp(log_target(z_k)) / q(z_k)``, averaged over
    ``num_estimates`` independent sets. Equal to the ELBO at ``K = 1`` (the
    same key gives the same value), its expectation rises to ``log Z`` as ``K``
    grows. ``gradient="dreg"`` gives the params ``sum_k v_k^2 d log w_k /
    dparams`` through the draws, ``v`` the normalized weights; whatever
    ``log_target`` closes over keeps the IWAE gradient ``sum_k v_k grad log
    w_k``. Arguments, returns and errors as :func:`renyi_bound`.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> log_target = lambda z: jr.normal.log_prob(jr.normal.init(), z)
        >>> params = jr.normal.init(loc=0.5, scale=1.5)
        >>> bound = lambda k: jr.objectives.iwae(jax.random.key(0), params,
        ...     jr.normal, log_target, num_samples=k, num_estimates=2000)
        >>> bool(bound(1) < bound(10) < 0.0)  # rises towards log Z = 0
        True

    References:
        Burda, Grosse & Salakhutdinov, "Importance weighted autoencoders",
        ICLR 2016.
    """
    return _bound(
        "objectives.iwae",
        key,
        params,
        family,
        log_target,
        alpha=0.0,
        num_samples=num_samples,
        num_estimates=num_estimates,
        estimator=estimator,
        gradient=gradient,
    )


def _bound(
    where: str,
    key: ArrayLike,
    params: Any,
    family: Family,
    log_target: LogTarget,
    *,
    alpha: float,
    num_samples: int,
    num_estimates: int,
    estimator: Estimator,
    gradient: str,
) -> Array:
    """The Renyi bound of order ``alpha`` (IWAE at 0), checked, as a surrogate."""
    _common.check_common(where, family, log_target, estimator)
    num_samples = _common.check_count(where, "num_samples", num_samples)
    num_estimates = _common.check_count(where, "num_estimates", num_estimates)
    gradient = _common.check_choice(where, "gradient", gradient, GRADIENTS)
    if gradient == "dreg":
        if estimator is not estimators.pathwise:
            raise ValueError(
                f"{where}: gradient='dreg' is its own pathwise estimator; leave "
                "estimator at its default, estimators.pathwise"
            )
        if not family.reparameterized:
            raise ValueError(
                f"{where}: gradient='dreg' needs a reparameterized family, and "
                f"{family.name!r} is not; use gradient='standard' with "
                "estimators.score_function"
            )
        return _dreg.doubly_reparameterized(
            where,
            key,
            params,
            family,
            log_target,
            num_samples=num_samples,
            num_estimates=num_estimates,
            alpha=alpha,
        )
    stop = gradient == "stl"
    if estimator is estimators.pathwise and not stop:
        shape = (num_estimates, num_samples)
        log_w = _common.fused_log_weights(where, key, params, family, log_target, shape)
        return jnp.mean(jax.vmap(lambda w: _common.renyi_value(w, alpha))(log_w))

    def bound(z: Array) -> Array:
        log_w = _common.log_weights(
            where, family, params, log_target, z, stop_params=stop
        )
        return _common.renyi_value(log_w, alpha)

    product = _common.iid(family, num_samples)
    return estimator(key, params, product, bound, num_samples=num_estimates)


def make_iwae_loss(
    family: Family,
    log_target: LogTarget | None = None,
    *,
    log_prior: LogTarget | None = None,
    log_likelihood: _losses.LogLikelihood | None = None,
    num_data: int | None = None,
    **options: Any,
) -> Callable[..., Array]:
    """``-iwae(key, params, family, log_target, **options)`` as a loss to minimise.

    The arguments are those of :func:`jaxreparam.objectives.make_elbo_loss`,
    the options those of :func:`iwae`: ``loss(key, params)`` given
    ``log_target``, ``loss(key, params, batch)`` given ``log_prior``,
    ``log_likelihood`` and ``num_data`` (the batch's log-likelihood scaled by
    ``num_data / B``, the prior not). The bound is not linear in the
    log-likelihood, so the minibatch loss is not an unbiased estimate of the
    full-data loss; with the whole data set as the batch it is the full-data
    loss.

    Examples:
        >>> log_target = lambda z: jr.normal.log_prob(jr.normal.init(loc=1.0), z)
        >>> loss = jr.objectives.make_iwae_loss(jr.normal, log_target, num_samples=16)
        >>> exact = jr.normal.init(loc=1.0, scale=1.0)  # q = the target: a tight bound
        >>> bool(abs(loss(jax.random.key(0), exact)) < 1e-5)  # -log Z = 0
        True
        >>> grad = jax.grad(loss, argnums=1)(jax.random.key(1), jr.normal.init(loc=0.0))
        >>> type(grad).__name__, bool(jnp.isfinite(grad.loc))
        ('NormalParams', True)
    """
    targets = _losses.Targets(log_target, log_prior, log_likelihood, num_data)
    where = "objectives.make_iwae_loss"
    return _losses.make_loss(where, iwae, family, targets, options, GRADIENTS)


def make_renyi_loss(
    family: Family,
    log_target: LogTarget | None = None,
    *,
    log_prior: LogTarget | None = None,
    log_likelihood: _losses.LogLikelihood | None = None,
    num_data: int | None = None,
    **options: Any,
) -> Callable[..., Array]:
    """``-renyi_bound(key, params, family, log_target, ...)`` as a loss to minimise.

    The arguments are those of :func:`jaxreparam.objectives.make_elbo_loss`,
    the options (``alpha`` required) those of :func:`renyi_bound`. As for
    :func:`make_iwae_loss`, the minibatch loss is an unbiased estimate of the
    full-data loss only at ``alpha = 1`` (the ELBO).

    Examples:
        >>> log_target = lambda z: jr.normal.log_prob(jr.normal.init(loc=1.0), z)
        >>> loss = jr.objectives.make_renyi_loss(jr.normal, log_target, alpha=0.5,
        ...     num_samples=16)
        >>> exact = jr.normal.init(loc=1.0, scale=1.0)  # q = the target: a tight bound
        >>> bool(abs(loss(jax.random.key(0), exact)) < 1e-5)
        True
        >>> grad = jax.grad(loss, argnums=1)(jax.random.key(1), jr.normal.init(loc=0.0))
        >>> type(grad).__name__, bool(jnp.isfinite(grad.loc))
        ('NormalParams', True)
    """
    targets = _losses.Targets(log_target, log_prior, log_likelihood, num_data)
    where = "objectives.make_renyi_loss"
    return _losses.make_loss(where, renyi_bound, family, targets, options, GRADIENTS)
