"""The RelaxedOneHotCategorical (Concrete, Gumbel-softmax) family.

Reparameterization: ``g_k ~ Gumbel(0, 1)`` independently,
``z = softmax((logits + g) / temperature)``, a point of the open simplex with ``K``
coordinates. ``argmax z = argmax (logits + g)`` is a Categorical(``softmax(logits)``)
draw at every temperature (the Gumbel-max trick), and as the temperature goes to 0
``z`` tends to its one-hot vector.

Density, with respect to Lebesgue measure on the first ``K - 1`` coordinates of the
simplex (Maddison et al. 2017, eq. 12; ``lam`` the temperature)::

    log q(z) = log (K-1)! + (K-1) log lam + sum_k (logits_k - (lam+1) log z_k)
               - K logsumexp_k(logits_k - lam log z_k).

For ``K = 2`` it is the RelaxedBernoulli density of ``z_1`` with logits
``logits_1 - logits_0``. :func:`sample_and_log_prob` evaluates it at ``log z`` from
the log-softmax, so it stays finite where a coordinate of ``z`` underflows to 0.

Params store ``logits`` (shape ``batch_shape + (K,)``; event shape ``(K,)``) and
``log_temperature`` (broadcasting with ``batch_shape``), so the temperature is a
learnable parameter that no optimizer step can make negative.

Range: ``logits`` finite, every class of positive probability. A class of
probability 0 would put the relaxed draw on a face of the simplex, where the
density above (with respect to Lebesgue measure on ``K - 1`` coordinates) does
not exist; ``init`` refuses an infinite logit like any bad value (a
``ValueError`` eagerly, NaN under jit, a raise in checking mode).
``jr.categorical`` takes zero-probability classes.

``jr.straight_through(jr.relaxed_one_hot_categorical)`` draws ``one_hot(argmax z)``
forward and the relaxed gradient backward (Jang et al. 2017).

Examples:
    >>> params = jr.relaxed_one_hot_categorical.init(
    ...     temperature=0.5, logits=jnp.array([0.0, 1.0, 2.0]))
    >>> z = jr.relaxed_one_hot_categorical.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.relaxed_one_hot_categorical.log_prob(params, z).shape
    ((4, 3), (4,))
    >>> bool(jnp.allclose(z.sum(-1), 1.0))  # points of the simplex
    True

References:
    Maddison, Mnih and Teh. The Concrete Distribution. ICLR 2017.
    Jang, Gu and Poole. Categorical Reparameterization with Gumbel-Softmax. ICLR 2017.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common


class RelaxedOneHotCategoricalParams(NamedTuple):
    """Params: ``logits`` (``batch_shape + (K,)``) and ``log_temperature``.

    Examples:
        >>> params = jr.relaxed_one_hot_categorical.init(
        ...     temperature=0.5, logits=jnp.zeros(3))
        >>> params._fields
        ('logits', 'log_temperature')
        >>> params.logits.shape, round(float(jnp.exp(params.log_temperature)), 3)
        ((3,), 0.5)
    """

    logits: Array
    log_temperature: Array


def init(
    *, temperature: ArrayLike, logits: ArrayLike
) -> RelaxedOneHotCategoricalParams:
    """Params of ``RelaxedOneHotCategorical(temperature, logits)``.

    ``temperature`` is positive and broadcasts with ``logits.shape[:-1]``;
    ``logits`` (finite) has shape ``batch_shape + (K,)``, a scalar one category.

    Examples:
        >>> params = jr.relaxed_one_hot_categorical.init(
        ...     temperature=0.5, logits=[0.0, 1.0, -1.0])
        >>> jr.relaxed_one_hot_categorical.event_shape(params)
        (3,)
    """
    where = "relaxed_one_hot_categorical.init"
    temperature = _checks.positive(where, "temperature", temperature)
    logits = jnp.atleast_1d(_checks.real(where, "logits", logits))
    _checks.broadcast_shapes(
        where, temperature=temperature.shape, logits=logits.shape[:-1]
    )
    logits, temperature = _checks.same_dtype(logits, temperature)
    return RelaxedOneHotCategoricalParams(logits, jnp.log(temperature))


batch_shape = _bundle.vector_batch_shape
event_shape = _bundle.vector_event_shape


def _log_sample(key: ArrayLike, params: RelaxedOneHotCategoricalParams, sample_shape):
    """``log z = log_softmax((logits + g) / temperature)``."""
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    gumbel = _common.draw(jax.random.gumbel, key, shape + event_shape(params), dtype)
    scaled = (params.logits + gumbel) * jnp.exp(-params.log_temperature)[..., None]
    return jax.nn.log_softmax(scaled, axis=-1)


def sample(
    key: ArrayLike, params: RelaxedOneHotCategoricalParams, sample_shape=()
) -> Array:
    """Draws ``z = softmax((logits + g) / temperature)``, ``g`` i.i.d. Gumbel(0, 1).

    Examples:
        >>> params = jr.relaxed_one_hot_categorical.init(
        ...     temperature=0.5, logits=[0.0, 1.0, -1.0])
        >>> z = jr.relaxed_one_hot_categorical.sample(jax.random.key(0), params, (4,))
        >>> z.shape
        (4, 3)
    """
    return jnp.exp(_log_sample(key, params, sample_shape))


def _log_density(params: RelaxedOneHotCategoricalParams, log_z: Array) -> Array:
    num = log_z.shape[-1]
    temperature = jnp.exp(params.log_temperature)[..., None]
    terms = params.logits - temperature * log_z
    return (
        gammaln(jnp.asarray(num, log_z.dtype))
        + (num - 1) * params.log_temperature
        + jnp.sum(params.logits - (temperature + 1) * log_z, axis=-1)
        - num * jax.nn.logsumexp(terms, axis=-1)
    )


def log_prob(params: RelaxedOneHotCategoricalParams, z: ArrayLike) -> Array:
    """``log q(z)``, event axis reduced; ``-inf`` where a coordinate is ``<= 0``.

    The simplex constraint ``sum_k z_k = 1`` is not checked.
    """
    z = jnp.asarray(z)
    inside = jnp.all(z > 0, axis=-1, keepdims=True) | jnp.isnan(z)
    value = _log_density(params, jnp.log(jnp.where(inside, z, 1.0)))
    return jnp.where(inside.all(-1) | jnp.isnan(value), value, -jnp.inf)


def sample_and_log_prob(
    key: ArrayLike, params: RelaxedOneHotCategoricalParams, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density evaluated at ``log z``."""
    log_z = _log_sample(key, params, sample_shape)
    return jnp.exp(log_z), _log_density(params, log_z)


_FUNCTIONS = (init, sample, log_prob, sample_and_log_prob)
relaxed_one_hot_categorical = _bundle.vector_family(
    "relaxed_one_hot_categorical", RelaxedOneHotCategoricalParams, *_FUNCTIONS
)
