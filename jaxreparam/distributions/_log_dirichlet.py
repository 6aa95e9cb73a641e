"""The log-Dirichlet family: ``y = log p`` for ``p ~ Dirichlet(a)``, in log space.

For small concentrations most Dirichlet (and beta) components are smaller than
any float, so they become exactly 0 (or the others exactly 1) and ``log_prob`` is
infinite. Sampling ``y = log p = log x - logsumexp(log x)`` from log-space gamma
variates (:mod:`jaxreparam.distributions._standard_gamma`) never underflows.
With ``k = 2`` and concentration ``[c1, c0]`` it samples ``(log z, log(1 - z))``
for ``z ~ Beta(c1, c0)``.

Density: ``y`` lives on ``{sum_i exp(y_i) = 1}``, a ``(k - 1)``-dimensional
surface; ``log_prob`` is its density with respect to Lebesgue measure on the
additive log-ratio coordinates ``y_i - y_k`` (``i < k``; Aitchison's measure on the
simplex, symmetric in the categories)::

    log q(y) = sum_i a_i y_i - log B(a),

that is the Dirichlet's ``log_prob(p) + sum_i log p_i``. It is finite for every
finite ``y`` and equals the density of ``(y_1 - y_k, ..., y_(k-1) - y_k)``, so
KL divergences and ELBOs between log-Dirichlets are those of the Dirichlets.
Gradients: the implicit gradients of the gamma variates, through ``log_softmax``.
Params: ``DirichletParams`` of :mod:`.dirichlet` would clash in dispatch, so this
family has its own ``LogDirichletParams`` (``log_concentration``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax.scipy.special import digamma, polygamma

from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _dirichlet as dirichlet


class LogDirichletParams(NamedTuple):
    """Params of a log-Dirichlet: ``log_concentration``, batch shape + ``(k,)``."""

    log_concentration: Array


def init(*, concentration: ArrayLike) -> LogDirichletParams:
    """Params of ``log p``, ``p ~ Dirichlet(concentration)`` (last axis: categories).

    Args:
        concentration: ``a``, finite and positive, of shape batch + ``(k,)``.

    Returns:
        ``LogDirichletParams`` with batch shape ``concentration.shape[:-1]``.

    Raises:
        TypeError: ``concentration`` has an integer, bool or complex dtype.
        ValueError: a concrete ``concentration`` is non-finite or not positive.

    Examples:
        >>> import jaxreparam as jr
        >>> jr.log_dirichlet.init(concentration=[0.01, 0.01]).log_concentration.shape
        (2,)
    """
    params = dirichlet.checked_init("log_dirichlet.init", concentration)
    return LogDirichletParams(params.log_concentration)


def to_natural(params: LogDirichletParams) -> dict[str, Array]:
    """``{"concentration": ...}``, the inverse of :func:`init`."""
    return {"concentration": jnp.exp(params.log_concentration)}


def _as_dirichlet(params: LogDirichletParams) -> dirichlet.DirichletParams:
    return dirichlet.DirichletParams(params.log_concentration)


def sample(key: ArrayLike, params: LogDirichletParams, sample_shape=()) -> Array:
    """Draws ``y = log p``, pathwise differentiable in ``params``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``LogDirichletParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape + (k,)``, finite, with
        ``logsumexp(y, -1) = 0``.

    Examples:
        >>> import jax, jax.numpy as jnp, jaxreparam as jr
        >>> params = jr.log_dirichlet.init(concentration=[1e-3, 1e-3, 1e-3])
        >>> y = jr.log_dirichlet.sample(jax.random.key(0), params, (100,))
        >>> bool(jnp.all(jnp.isfinite(jr.log_dirichlet.log_prob(params, y))))
        True
    """
    return dirichlet.log_sample(key, _as_dirichlet(params), sample_shape)


def log_prob(params: LogDirichletParams, z: ArrayLike) -> Array:
    """``sum_i a_i y_i - log B(a)`` at ``y = z`` (shape ... + ``(k,)``).

    Returns:
        An array of the broadcast of ``z.shape[:-1]`` and the batch shape.
    """
    a = jnp.exp(params.log_concentration)
    return jnp.sum(a * jnp.asarray(z), -1) - dirichlet.log_beta(_as_dirichlet(params))


def sample_and_log_prob(
    key: ArrayLike, params: LogDirichletParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``."""
    y = sample(key, params, sample_shape)
    return y, log_prob(params, y)


def entropy(params: LogDirichletParams) -> Array:
    """``log B(a) - sum_i a_i (psi(a_i) - psi(a0))``, of the batch shape."""
    a = jnp.exp(params.log_concentration)
    total = jnp.sum(a, -1, keepdims=True)
    expected_log = jnp.sum(a * (digamma(a) - digamma(total)), -1)
    return dirichlet.log_beta(_as_dirichlet(params)) - expected_log


def mean(params: LogDirichletParams) -> Array:
    """``E[log p_i] = psi(a_i) - psi(a0)``, of shape batch + ``(k,)``."""
    a = jnp.exp(params.log_concentration)
    return digamma(a) - digamma(jnp.sum(a, -1, keepdims=True))


def variance(params: LogDirichletParams) -> Array:
    """``Var[log p_i] = psi'(a_i) - psi'(a0)``, of shape batch + ``(k,)``."""
    a = jnp.exp(params.log_concentration)
    return polygamma(1, a) - polygamma(1, jnp.sum(a, -1, keepdims=True))


log_dirichlet = register_family(
    Family(
        name="log_dirichlet",
        params_type=LogDirichletParams,
        init=init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=to_natural,
        batch_shape=dirichlet.batch_shape,
        event_shape=dirichlet.event_shape,
        entropy=entropy,
        mean=mean,
        variance=variance,
    )
)
