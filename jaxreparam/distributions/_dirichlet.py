"""The Dirichlet family on the simplex, reparameterized through gamma variates.

Density: ``q(p) = prod_i p_i^(a_i - 1) / B(a)`` on ``{p_i >= 0, sum_i p_i = 1}``
(with respect to Lebesgue measure on ``p_1..p_(k-1)``), ``B(a) = prod_i
Gamma(a_i) / Gamma(sum_i a_i)``; event shape ``(k,)``.
Sampling: ``p = softmax(log x)`` for independent ``x_i ~ Gamma(a_i)`` drawn in log
space (see :mod:`jaxreparam.distributions._standard_gamma`).
Gradients: each gamma variate is implicitly reparameterized and ``p`` is a smooth
function of them. The resulting transport of ``p`` (averaged over the total
``sum_i x_i``, which is independent of ``p``) satisfies the continuity equation
``div(q v) + dq/da = 0``, so ``d/da E[f(p)] = E[grad f(p) . dp/da]`` for every
``f``. A component within the smallest normal float of 0 is returned as that
float, so ``log_prob`` stays finite; for concentrations below about 0.1, sample
``log p`` exactly with :mod:`.log_dirichlet`.
Params store ``log_concentration`` (batch shape + ``(k,)``).

Examples:
    >>> params = jr.dirichlet.init(concentration=jnp.array([1.0, 2.0, 3.0]))
    >>> z = jr.dirichlet.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.dirichlet.log_prob(params, z).shape  # event shape (3,)
    ((4, 3), (4,))
    >>> [round(float(m), 3) for m in jr.dirichlet.mean(params)]  # a / sum(a)
    [0.167, 0.333, 0.5]
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, gammaln, xlogy

from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common, _standard_gamma


class DirichletParams(NamedTuple):
    """Params of a Dirichlet: ``log_concentration``, batch shape + ``(k,)``.

    Examples:
        >>> params = jr.dirichlet.init(concentration=jnp.array([1.0, 2.0, 3.0]))
        >>> params._fields, params.log_concentration.shape
        (('log_concentration',), (3,))
        >>> jr.dirichlet.event_shape(params), jr.dirichlet.batch_shape(params)
        ((3,), ())
    """

    log_concentration: Array


#: ``concentration``: finite, positive, in its documented range.
CONCENTRATION = _bundle.positive("concentration", range=(1e-15, 1e30), event_ndims=1)


def init(*, concentration: ArrayLike) -> DirichletParams:
    """Params of ``Dirichlet(concentration)``: positive, the last axis of length ``k``.

    Each concentration in ``[1e-15, 1e30]`` (the documented range).

    A scalar is a Dirichlet over one category (``p = [1]``).

    Examples:
        >>> jr.dirichlet.init(concentration=[1.0, 2.0, 3.0]).log_concentration.shape
        (3,)
    """
    return checked_init("dirichlet.init", concentration)


def checked_init(where: str, concentration: ArrayLike) -> DirichletParams:
    """:func:`init`, naming ``where`` in its error messages."""
    a = _bundle.check(where, CONCENTRATION, concentration)
    return DirichletParams(jnp.log(jnp.atleast_1d(a)))


batch_shape = _bundle.vector_batch_shape
event_shape = _bundle.vector_event_shape


def log_beta(params: DirichletParams) -> Array:
    """``log B(a) = sum_i log Gamma(a_i) - log Gamma(sum_i a_i)``, batch shape."""
    a = jnp.exp(params.log_concentration)
    return jnp.sum(gammaln(a), -1) - gammaln(jnp.sum(a, -1))


def log_sample(key: ArrayLike, params: DirichletParams, sample_shape=()) -> Array:
    """``log p`` for ``p ~ Dirichlet(a)``: ``log x - logsumexp(log x)``."""
    shape = batch_shape(params) + event_shape(params)
    key, shape, _ = _common.prepare(key, params, sample_shape, shape)
    log_x = _standard_gamma.log_sample(key, jnp.exp(params.log_concentration), shape)
    return jax.nn.log_softmax(log_x, axis=-1)


def sample(key: ArrayLike, params: DirichletParams, sample_shape=()) -> Array:
    """Draws ``p = softmax(log x)``, ``x_i ~ Gamma(a_i)``, each ``p_i >= tiny``.

    Examples:
        >>> params = jr.dirichlet.init(concentration=[1.0, 2.0, 3.0])
        >>> p = jr.dirichlet.sample(jax.random.key(0), params, (4,))
        >>> p.shape, bool(jax.numpy.allclose(p.sum(-1), 1.0))
        ((4, 3), True)
    """
    log_p = log_sample(key, params, sample_shape)
    return jnp.maximum(jnp.exp(log_p), jnp.finfo(log_p.dtype).tiny)


def log_prob(params: DirichletParams, z: ArrayLike) -> Array:
    """``log q(p)`` at ``p = z`` (shape ... + ``(k,)``); ``-inf`` if a ``p_i < 0``."""
    a = jnp.exp(params.log_concentration)
    z = jnp.asarray(z)
    inside = jnp.all((z >= 0) | jnp.isnan(z), axis=-1)
    value = jnp.sum(xlogy(a - 1, jnp.where(z >= 0, z, 1.0)), -1) - log_beta(params)
    return jnp.where(inside | jnp.isnan(value), value, -jnp.inf)


def entropy(params: DirichletParams) -> Array:
    """``log B(a) + (a0 - k) psi(a0) - sum_i (a_i - 1) psi(a_i)``, ``a0 = sum a``."""
    a = jnp.exp(params.log_concentration)
    total = jnp.sum(a, -1)
    k = a.shape[-1]
    return (
        log_beta(params)
        + (total - k) * digamma(total)
        - jnp.sum((a - 1) * digamma(a), -1)
    )


def mean(params: DirichletParams) -> Array:
    """``a / a0``, of shape batch + ``(k,)``."""
    return jax.nn.softmax(params.log_concentration, axis=-1)


def variance(params: DirichletParams) -> Array:
    """``a_i (a0 - a_i) / (a0^2 (a0 + 1))``, of shape batch + ``(k,)``."""
    a = jnp.exp(params.log_concentration)
    total = jnp.sum(a, -1, keepdims=True)
    return a * (total - a) / (total**2 * (total + 1))


dirichlet = _bundle.vector_family(
    "dirichlet",
    DirichletParams,
    *(init, sample, log_prob, entropy, mean, variance),
    natural_args=(CONCENTRATION,),
)
