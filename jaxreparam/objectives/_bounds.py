"""The ELBO, IWAE and Renyi bounds, and their loss factories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam import _checks, estimators
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.objectives import _common

Estimator = Callable[..., Array]
LogTarget = _common.LogTarget
_ELBO_GRADIENTS = ("standard", "stl")


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
    gradient = _common.check_choice(where, "gradient", gradient, _ELBO_GRADIENTS)
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
        value = estimator(key, params, log_target, family, num_samples=num_samples)
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

    return estimator(key, params, integrand, family, num_samples=num_samples)


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
    return _common.bound(
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
    return _common.bound(
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


# --------------------------------------------------------------------------- #
# Factories: close over the configuration, pass only arrays.


def make_elbo_loss(
    family: Family, log_target: LogTarget, **options: Any
) -> Callable[[ArrayLike, Any], Array]:
    """``loss(key, params) = -elbo(key, params, family, log_target, **options)``.

    The options (``num_samples``, ``estimator``, ``gradient``, ``prior``,
    ``entropy``) are those of :func:`elbo`, checked here once; the loss is
    ready for ``jax.jit(jax.value_and_grad(loss, argnums=1))`` and
    ``jaxreparam.fit``.
    """
    return _make_loss("objectives.make_elbo_loss", elbo, family, log_target, options)


def make_iwae_loss(
    family: Family, log_target: LogTarget, **options: Any
) -> Callable[[ArrayLike, Any], Array]:
    """``loss(key, params) = -iwae(key, params, family, log_target, **options)``.

    The options are those of :func:`iwae`, checked here once.
    """
    return _make_loss("objectives.make_iwae_loss", iwae, family, log_target, options)


def make_renyi_loss(
    family: Family, log_target: LogTarget, **options: Any
) -> Callable[[ArrayLike, Any], Array]:
    """``loss(key, params) = -renyi_bound(key, params, family, log_target, ...)``.

    The options (``alpha`` required) are those of :func:`renyi_bound`, checked
    here once.
    """
    return _make_loss(
        "objectives.make_renyi_loss", renyi_bound, family, log_target, options
    )


def _make_loss(
    where: str,
    objective: Callable[..., Array],
    family: Family,
    log_target: LogTarget,
    options: dict[str, Any],
) -> Callable[[ArrayLike, Any], Array]:
    _common.check_common(where, family, log_target, options.get("estimator", callable))
    gradients = _ELBO_GRADIENTS if objective is elbo else _common.GRADIENTS
    _common.check_options(where, objective, options, gradients)

    def loss(key: ArrayLike, params: Any) -> Array:
        return -objective(key, params, family, log_target, **options)

    return loss


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
    decoder the objective's usual one.

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
        >>> jax.grad(loss, argnums=1)(jax.random.key(0), {"w": 0.5}, data)["w"].shape
        ()
    """
    where = "objectives.make_amortized_loss"
    _common.check_callable(where, "objective", objective)
    _common.check_family(where, family)
    _common.check_callable(where, "encoder", encoder)
    _common.check_callable(where, "log_joint", log_joint)

    def loss(key: ArrayLike, params: Any, data: Any) -> Array:
        key = _checks.check_key(key)
        sizes = [jnp.shape(leaf)[:1] for leaf in jax.tree.leaves(data)]
        if not sizes or () in sizes or len(set(sizes)) != 1:
            raise ValueError(
                f"{where}: every leaf of data needs the same leading (batch) axis, "
                f"got leading sizes {sizes}"
            )
        keys = jax.random.split(key, sizes[0][0])

        def one(key: Array, x: Any) -> Array:
            return objective(
                key,
                encoder(params, x),
                family,
                lambda z: log_joint(params, x, z),
                **options,
            )

        return -jnp.mean(jax.vmap(one)(keys, data))

    return loss
