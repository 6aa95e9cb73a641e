"""``chain``: bijectors composed in the order they are applied."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam.base import Array, ArrayLike, Bijector


def sum_trailing(a: Array, num_axes: int) -> Array:
    """``a`` summed over its last ``num_axes`` axes (none: unchanged)."""
    if num_axes <= 0:
        return a
    return jnp.sum(a, axis=tuple(range(a.ndim - num_axes, a.ndim)))


def check_bijector(where: str, name: str, value: Any) -> Bijector:
    """``value`` if it is a ``Bijector`` bundle, else a ``TypeError`` naming it."""
    if not isinstance(value, Bijector):
        raise TypeError(
            f"{where}: {name} must be a jaxreparam Bijector bundle (such as "
            f"jaxreparam.bijectors.exp), got {type(value).__name__}"
        )
    return value


def apply(
    bijector: Bijector, function: Any, params: Any, x: Any, context: Any
) -> tuple[Array, Array]:
    """``function(params, x)``, with ``context=`` when ``bijector`` is conditional.

    ``function`` is ``bijector.forward`` or ``bijector.inverse``; a context
    given to a bijector that is not conditional is a ``ValueError``.
    """
    if bijector.conditional:
        return function(params, x, context=context)
    if context is not None:
        raise ValueError(
            f"bijector {bijector.name} is not conditional, so it takes no context"
        )
    return function(params, x)


def chain(*bijectors: Bijector) -> Bijector:
    """The composition of ``bijectors``, applied left to right.

    ``chain(a, b).forward(params, x)`` is ``b(a(x))``: the first bijector acts
    first, as layers are listed in a flow and as ``optax.chain`` applies its
    transformations (distrax's and TFP's ``Chain`` apply right to left). The
    params are the tuple of each bijector's params, in the same order; the
    log-determinants add up. The chain's ``event_ndims`` is the largest of its
    bijectors'; an elementwise bijector's log-determinant is summed over the
    chain's event axes, so every log-determinant has the shape of ``x`` with
    the chain's event axes reduced. A context goes to the conditional
    bijectors only, so a conditional layer chains with a permutation; a
    context given to a chain of unconditional bijectors is an error.

    Args:
        *bijectors: one or more ``Bijector`` bundles.

    Returns:
        A ``Bijector``; its ``init(key=None)`` splits ``key`` into one key per
        bijector and returns the tuple of their params (pass your own tuple
        for bijectors with configuration, such as ``sigmoid``'s interval).

    Raises:
        TypeError: an argument is not a ``Bijector``.
        ValueError: no bijectors.

    Examples:
        >>> jb = jr.bijectors
        >>> log_normal_map = jb.chain(jb.affine, jb.exp)  # exp(loc + scale x)
        >>> params = (jb.affine.init(loc=1.0, scale=2.0), jb.exp.init())
        >>> y, log_det = log_normal_map.forward(params, 0.0)
        >>> round(float(y), 4), round(float(log_det), 4)  # e^1; log 2 + 1
        (2.7183, 1.6931)
    """
    where = "bijectors.chain"
    if not bijectors:
        raise ValueError(f"{where}: give at least one bijector")
    for i, bijector in enumerate(bijectors):
        check_bijector(where, f"bijector {i}", bijector)
    event_ndims = max(b.event_ndims for b in bijectors)
    count = len(bijectors)
    conditional = any(b.conditional for b in bijectors)

    def check_params(params: Any) -> None:
        if not isinstance(params, tuple) or len(params) != count:
            raise ValueError(
                f"{where}: params must be a tuple of {count} params, one per "
                f"bijector, got {type(params).__name__} of length "
                f"{len(params) if isinstance(params, tuple) else '-'}"
            )

    def init(key: ArrayLike = None) -> tuple[Any, ...]:
        keys = [None] * count if key is None else list(jax.random.split(key, count))
        return tuple(b.init(k) for b, k in zip(bijectors, keys, strict=True))

    def forward(
        params: tuple[Any, ...], x: ArrayLike, context: Any = None
    ) -> tuple[Array, Array]:
        check_params(params)
        total: Any = None
        for bijector, p in zip(bijectors, params, strict=True):
            given = context if bijector.conditional or not conditional else None
            x, log_det = apply(bijector, bijector.forward, p, x, given)
            log_det = sum_trailing(log_det, event_ndims - bijector.event_ndims)
            total = log_det if total is None else total + log_det
        return x, total

    def inverse(
        params: tuple[Any, ...], y: ArrayLike, context: Any = None
    ) -> tuple[Array, Array]:
        check_params(params)
        total: Any = None
        for bijector, p in zip(reversed(bijectors), reversed(params), strict=True):
            given = context if bijector.conditional or not conditional else None
            y, log_det = apply(bijector, bijector.inverse, p, y, given)
            log_det = sum_trailing(log_det, event_ndims - bijector.event_ndims)
            total = log_det if total is None else total + log_det
        return y, total

    def forward_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
        for bijector in bijectors:
            shape = bijector.forward_shape(shape)
        return tuple(shape)

    def inverse_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
        for bijector in reversed(bijectors):
            shape = bijector.inverse_shape(shape)
        return tuple(shape)

    return Bijector(
        name="chain(" + ", ".join(b.name for b in bijectors) + ")",
        params_type=tuple,
        init=init,
        forward=forward,
        inverse=inverse,
        event_ndims=event_ndims,
        forward_shape=forward_shape,
        inverse_shape=inverse_shape,
        conditional=conditional,
    )
