"""Analytic KL divergences ``KL(p || q)``, looked up by the pair of params types.

``register_kl(PType, QType)`` registers a closed form; :func:`kl_divergence`
finds it from ``(type(p), type(q))`` and raises a ``NotImplementedError`` naming
the pair when there is none, so that a Monte Carlo estimate is a deliberate choice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from jaxreparam.base import Array
from jaxreparam.distributions import normal

__all__ = ["kl_divergence", "register_kl", "registered_pairs"]

_KL: dict[tuple[type, type], Callable[[Any, Any], Array]] = {}


def register_kl(p_type: type, q_type: type) -> Callable[[Callable], Callable]:
    """Decorator registering ``fn(p, q) -> KL(p || q)`` for a pair of types."""

    def decorator(fn: Callable[[Any, Any], Array]) -> Callable[[Any, Any], Array]:
        _KL[(p_type, q_type)] = fn
        return fn

    return decorator


def registered_pairs() -> list[tuple[type, type]]:
    """Every ``(p_type, q_type)`` with an analytic KL."""
    return list(_KL)


def kl_divergence(p: Any, q: Any) -> Array:
    """``KL(p || q) = E_p[log p(z) - log q(z)]`` in closed form.

    Args:
        p: params of the first distribution.
        q: params of the second; batch shapes broadcast.

    Returns:
        The divergence, of the broadcast batch shape.

    Raises:
        NotImplementedError: no closed form is registered for the pair.
    """
    try:
        fn = _KL[(type(p), type(q))]
    except KeyError:
        raise NotImplementedError(
            f"no analytic KL divergence between {type(p).__name__} and "
            f"{type(q).__name__}; estimate it by Monte Carlo instead "
            f"(E_p[log p(z) - log q(z)])"
        ) from None
    return fn(p, q)


@register_kl(normal.NormalParams, normal.NormalParams)
def _kl_normal_normal(p: normal.NormalParams, q: normal.NormalParams) -> Array:
    log_ratio = p.log_scale - q.log_scale
    diff = (p.loc - q.loc) * jnp.exp(-q.log_scale)
    return 0.5 * (jnp.exp(2 * log_ratio) + diff**2 - 1.0) - log_ratio
