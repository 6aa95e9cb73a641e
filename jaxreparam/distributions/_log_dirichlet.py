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

Examples:
    >>> params = jr.log_dirichlet.init(concentration=jnp.array([0.01, 0.02, 0.05]))
    >>> y = jr.log_dirichlet.sample(jax.random.key(0), params, (100,))
    >>> y.shape, jr.log_dirichlet.log_prob(params, y).shape
    ((100, 3), (100,))
    >>> bool(jnp.all(jnp.isfinite(y)))  # p = exp(y) would underflow to 0
    True
    >>> bool(jnp.allclose(jnp.exp(y).sum(-1), 1.0))
    True
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax.scipy.special import digamma, polygamma

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle
from jaxreparam.distributions import _dirichlet as dirichlet


class LogDirichletParams(NamedTuple):
    """Params of a log-Dirichlet: ``log_concentration``, batch shape + ``(k,)``.

    Examples:
        >>> params = jr.log_dirichlet.init(concentration=jnp.array([0.5, 0.5, 1.0]))
        >>> params._fields, params.log_concentration.shape
        (('log_concentration',), (3,))
        >>> jr.family_of(params) is jr.log_dirichlet  # not jr.dirichlet
        True
    """

    log_concentration: Array


def init(*, concentration: ArrayLike) -> LogDirichletParams:
    """Params of ``log p``, ``p ~ Dirichlet(concentration)`` (last axis: categories).

    Each concentration finite and positive, in ``[1e-15, 1e30]`` (the documented
    range).

    Examples:
        >>> jr.log_dirichlet.init(concentration=[0.01, 0.01]).log_concentration.shape
        (2,)
    """
    return LogDirichletParams(
        *dirichlet.checked_init("log_dirichlet.init", concentration)
    )


def _as_dirichlet(params: LogDirichletParams) -> dirichlet.DirichletParams:
    return dirichlet.DirichletParams(params.log_concentration)


def sample(key: ArrayLike, params: LogDirichletParams, sample_shape=()) -> Array:
    """Draws ``y = log x - logsumexp(log x)``, ``x_i ~ Gamma(a_i)``: finite.

    Examples:
        >>> params = jr.log_dirichlet.init(concentration=[1e-3, 1e-3, 1e-3])
        >>> y = jr.log_dirichlet.sample(jax.random.key(0), params, (100,))
        >>> bool(jnp.all(jnp.isfinite(jr.log_dirichlet.log_prob(params, y))))
        True
    """
    return dirichlet.log_sample(key, _as_dirichlet(params), sample_shape)


def log_prob(params: LogDirichletParams, z: ArrayLike) -> Array:
    """``sum_i a_i y_i - log B(a)`` at ``y = z`` (shape ... + ``(k,)``)."""
    a = jnp.exp(params.log_concentration)
    return jnp.sum(a * jnp.asarray(z), -1) - dirichlet.log_beta(_as_dirichlet(params))


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


log_dirichlet = _bundle.vector_family(
    "log_dirichlet",
    LogDirichletParams,
    *(init, sample, log_prob, entropy, mean, variance),
    natural_args=(dirichlet.CONCENTRATION,),
)
