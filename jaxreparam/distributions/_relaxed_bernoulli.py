"""The RelaxedBernoulli (binary Concrete) family on ``(0, 1)``.

Reparameterization: ``L ~ Logistic(0, 1)``, ``x = (logits + L) / temperature``,
``z = sigmoid(x)``. As the temperature goes to 0, ``z`` tends to the Bernoulli
variable ``1[logits + L > 0]``, which is 1 with probability ``sigmoid(logits)``;
``z > 1/2`` has exactly that probability at every temperature.

Density, on ``(0, 1)`` with respect to Lebesgue measure (Maddison et al. 2017,
eq. 22): with ``lam`` the temperature and ``alpha = exp(logits)``::

    q(z) = lam alpha z^(-lam-1) (1-z)^(-lam-1) / (alpha z^(-lam) + (1-z)^(-lam))^2,

computed through the logit ``x = log z - log1p(-z)``, which is
``Logistic(logits / lam, 1 / lam)``: ``log q(z) = log lam + u - 2 softplus(u)
- log z - log1p(-z)`` with ``u = logits - lam x``. The CDF is
``sigmoid(lam logit(z) - logits)``.

Params store ``logits`` and ``log_temperature``: the temperature is a learnable
parameter that no optimizer step can make negative.

Range: ``logits`` finite, so the probability ``sigmoid(logits)`` lies strictly
inside ``(0, 1)``. At a probability of exactly 0 or 1 the relaxed variable is the
point mass at 0 or 1, which has no density on ``(0, 1)``: ``init`` refuses an
infinite logit like any bad value (a ``ValueError`` eagerly, NaN under jit, a
raise in checking mode). ``jr.bernoulli`` takes those ends.

Low temperatures: in float32 a sample whose logit exceeds about 17 in absolute
value rounds to exactly 0 or 1, off the open support, where ``log_prob`` is
``-inf`` (and ``log1p(-z)`` loses precision well before). As Maddison et al.
(2017, appendix C) advise, work with the logit instead: :func:`sample_logit` and
:func:`logit_log_prob` (the ``Logistic(logits / lam, 1 / lam)`` density of ``x``)
stay finite and exact at any temperature; ``sigmoid(x)`` is the sample.

``jr.straight_through(jr.relaxed_bernoulli)`` draws ``1[z > 1/2]`` forward and
the relaxed gradient backward (Bengio et al. 2013; Jang et al. 2017).

Examples:
    >>> params = jr.relaxed_bernoulli.init(temperature=0.5, logits=0.0)
    >>> z = jr.relaxed_bernoulli.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.relaxed_bernoulli.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.relaxed_bernoulli.cdf(params, 0.5)), 3)  # symmetric at logits 0
    0.5

References:
    Maddison, Mnih and Teh. The Concrete Distribution. ICLR 2017.
    Jang, Gu and Poole. Categorical Reparameterization with Gumbel-Softmax. ICLR 2017.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike
from jaxreparam.base import scalar_batch_shape as batch_shape
from jaxreparam.distributions import _bundle, _common


class RelaxedBernoulliParams(NamedTuple):
    """Params of a RelaxedBernoulli: ``logits`` and ``log_temperature``.

    Examples:
        >>> params = jr.relaxed_bernoulli.init(temperature=0.5, logits=0.0)
        >>> params._fields
        ('logits', 'log_temperature')
        >>> natural = jr.relaxed_bernoulli.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'temperature': 0.5, 'logits': 0.0}
    """

    logits: Array
    log_temperature: Array


def sample_logit(key: ArrayLike, params: RelaxedBernoulliParams, sample_shape=()):
    """Draws the logit ``x = (logits + L) / temperature`` of a sample, ``L`` logistic.

    ``sigmoid(x)`` is the :func:`sample` drawn with the same key. With
    :func:`logit_log_prob`, the way to work at low temperatures.
    """
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    noise = _common.draw(jax.random.logistic, key, shape, dtype)
    return (params.logits + noise) * jnp.exp(-params.log_temperature)


def logit_log_prob(params: RelaxedBernoulliParams, x: ArrayLike) -> Array:
    """The log-density of the logit ``x``, ``Logistic(logits / lam, 1 / lam)``.

    ``log lam + u - 2 softplus(u)`` with ``u = logits - lam x``: finite for every
    finite ``x``. It equals ``log_prob(params, sigmoid(x)) + log z + log(1 - z)``.
    """
    u = params.logits - jnp.exp(params.log_temperature) * jnp.asarray(x)
    return params.log_temperature + u - 2 * jax.nn.softplus(u)


def sample(key: ArrayLike, params: RelaxedBernoulliParams, sample_shape=()) -> Array:
    """Draws ``z = sigmoid((logits + L) / temperature)``, ``L ~ Logistic(0, 1)``."""
    return jax.nn.sigmoid(sample_logit(key, params, sample_shape))


def log_prob(params: RelaxedBernoulliParams, z: ArrayLike) -> Array:
    """``log q(z)`` on ``(0, 1)``; ``-inf`` outside, including at 0 and 1."""
    z = jnp.asarray(z)

    def density(z: Array) -> Array:
        log_z, log_1mz = jnp.log(z), jnp.log1p(-z)
        return logit_log_prob(params, log_z - log_1mz) - log_z - log_1mz

    return _common.log_prob_on_support(density, z, (z > 0) & (z < 1), 0.5)


def cdf(params: RelaxedBernoulliParams, z: ArrayLike) -> Array:
    """``P(Z <= z) = sigmoid(temperature logit(z) - logits)``."""
    z = jnp.clip(jnp.asarray(z), 0, 1)
    logit = jnp.log(z) - jnp.log1p(-z)
    return jax.nn.sigmoid(jnp.exp(params.log_temperature) * logit - params.logits)


def icdf(params: RelaxedBernoulliParams, u: ArrayLike) -> Array:
    """The quantile function, ``sigmoid((logits + logit(u)) / temperature)``."""
    u = jnp.asarray(u)
    logit = jnp.log(u) - jnp.log1p(-u)
    return jax.nn.sigmoid((params.logits + logit) * jnp.exp(-params.log_temperature))


_NATURAL = _bundle.positive("temperature"), _bundle.real("logits", 0.0)
_FUNCTIONS = sample, log_prob, cdf, icdf
relaxed_bernoulli = _bundle.family(
    "relaxed_bernoulli", RelaxedBernoulliParams, *_FUNCTIONS, natural_args=_NATURAL
)
