"""Straight-through samplers of the relaxed families (Bengio et al. 2013)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, Family


def _bernoulli(soft: Array) -> Array:
    return jnp.where(soft > 0.5, 1.0, 0.0).astype(soft.dtype)


def _one_hot(soft: Array) -> Array:
    return jax.nn.one_hot(jnp.argmax(soft, axis=-1), soft.shape[-1], dtype=soft.dtype)


_HARDEN = {"relaxed_bernoulli": _bernoulli, "relaxed_one_hot_categorical": _one_hot}


def straight_through(family: Family) -> Family:
    """The relaxed ``family`` with hard draws forward, relaxed gradients backward.

    ``sample`` returns exactly discrete values (``1[z > 1/2]`` for the relaxed
    Bernoulli, ``one_hot(argmax z)`` for the relaxed one-hot categorical: draws
    of the discrete distribution, whatever the temperature), and its derivative
    is that of the relaxed ``z`` drawn with the same key: the (biased)
    straight-through Gumbel-softmax estimator (Jang et al. 2017). ``log_prob``
    and the density of ``sample_and_log_prob`` stay the relaxed family's, the
    latter evaluated at the relaxed draw behind the hard value.

    Args:
        family: ``relaxed_bernoulli`` or ``relaxed_one_hot_categorical``.

    Returns:
        A ``Family`` over the same params type (not registered for dispatch).

    Raises:
        ValueError: ``family`` has no straight-through sampler.

    Examples:
        >>> hard = jr.straight_through(jr.relaxed_bernoulli)
        >>> params = jr.relaxed_bernoulli.init(temperature=0.5, logits=[8.0, -8.0])
        >>> [float(v) for v in hard.sample(jax.random.key(0), params)]
        [1.0, 0.0]
    """
    try:
        harden = _HARDEN[family.name]
    except (KeyError, AttributeError):
        raise ValueError(
            f"straight_through: family must be one of {', '.join(_HARDEN)}, got "
            f"{getattr(family, 'name', family)!r}"
        ) from None

    def straight(soft: Array) -> Array:
        # hard + 0 in value (exactly), d soft in derivative; a NaN stays NaN.
        return harden(soft) + (soft - jax.lax.stop_gradient(soft))

    def sample(key: Any, params: Any, sample_shape=()) -> Array:
        return straight(family.sample(key, params, sample_shape))

    def sample_and_log_prob(key: Any, params: Any, sample_shape=()):
        soft, log_prob = family.sample_and_log_prob(key, params, sample_shape)
        return straight(soft), log_prob

    return family._replace(
        name=f"straight_through({family.name})",
        sample=sample,
        sample_and_log_prob=sample_and_log_prob,
    )
