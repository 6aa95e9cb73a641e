"""Batch axes read as event axes: one family's log-density summed over them.

``independent(family, n)`` is the law of a whole block of independent draws of
``family``: if ``family`` has batch shape ``(..., d_1, ..., d_n)``, the new family
has batch shape ``(...)`` and event shape ``(d_1, ..., d_n) + event_shape``, and::

    log q(z) = sum over the last n batch axes of family.log_prob(params, z).

The draws are the same; only the bookkeeping changes, as numpyro's ``to_event``
and TFP's ``Independent`` do. The params are ``family``'s own params, unchanged
(``init`` is ``family.init``), so a network that outputs ``NormalParams`` can be
scored as one multivariate event without wrapping them. For that reason the new
family is not registered for dispatch: ``family_of(params)`` stays ``family``.
"""

from __future__ import annotations

import operator
from typing import Any

import jax.numpy as jnp

from jaxreparam.base import Array, Family
from jaxreparam.distributions import _guard

_MADE: dict[tuple[Family, int], Family] = {}


def _check_ndims(value: Any) -> int:
    """``value`` as a non-negative Python int (a float or a bool is refused)."""
    try:
        ndims = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        ndims = None
    if ndims is None or ndims < 0:
        raise ValueError(
            "independent: reinterpreted_batch_ndims must be a non-negative int, "
            f"got {value!r}"
        )
    return ndims


def independent(family: Family, reinterpreted_batch_ndims: int) -> Family:
    """``family`` with its last ``reinterpreted_batch_ndims`` batch axes as event axes.

    ``log_prob`` and the density of ``sample_and_log_prob`` sum ``family``'s over
    those axes; ``sample`` draws as ``family`` does (the same numbers under the
    same key); ``entropy`` sums ``family``'s, when it has one; ``mean`` and
    ``variance`` are ``family``'s, per coordinate, so nothing is summed.
    Estimators, objectives and ``fit`` take the result like any family.

    Args:
        family: any ``Family``.
        reinterpreted_batch_ndims: how many trailing batch axes become event
            axes, a non-negative int; at most the batch rank of the params it is
            used with (checked when shapes are first needed, a ``ValueError``
            naming it). ``0`` returns ``family`` itself.

    Returns:
        A ``Family`` named ``"independent(<name>, <n>)"`` over ``family``'s params
        type; the same arguments give the same family. Not registered for
        dispatch (``family_of`` finds ``family``).

    Raises:
        TypeError: ``family`` is not a ``Family``.
        ValueError: ``reinterpreted_batch_ndims`` is not a non-negative int.

    Examples:
        >>> rows = jr.independent(jr.normal, 1)
        >>> params = rows.init(loc=jax.numpy.zeros((4, 3)), scale=1.0)
        >>> rows.batch_shape(params), rows.event_shape(params)
        ((4,), (3,))
        >>> z = rows.sample(jax.random.key(0), params)
        >>> rows.log_prob(params, z).shape
        (4,)
    """
    if not isinstance(family, Family):
        raise TypeError(f"independent: family must be a Family, got {family!r}")
    ndims = _check_ndims(reinterpreted_batch_ndims)
    if ndims == 0:
        return family
    if (family, ndims) in _MADE:
        return _MADE[family, ndims]
    name = f"independent({family.name}, {ndims})"

    def base_batch_shape(params: Any) -> tuple[int, ...]:
        """``family``'s batch shape, checked to have at least ``ndims`` axes."""
        batch = tuple(family.batch_shape(params))
        if len(batch) < ndims:
            raise ValueError(
                f"{name}: reinterpreted_batch_ndims={ndims} exceeds the batch rank "
                f"{len(batch)} of the params (batch shape {batch})"
            )
        return batch

    def batch_shape(params: Any) -> tuple[int, ...]:
        batch = base_batch_shape(params)
        return batch[: len(batch) - ndims]

    def event_shape(params: Any) -> tuple[int, ...]:
        batch = base_batch_shape(params)
        return batch[len(batch) - ndims :] + tuple(family.event_shape(params))

    def reduce(params: Any, values: Array) -> Array:
        """``values`` (shape ``... + family's batch``) summed over the last axes."""
        base_batch_shape(params)
        return jnp.sum(values, axis=tuple(range(-ndims, 0)))

    def sample(key: Any, params: Any, sample_shape: Any = ()) -> Array:
        """``family.sample``: shape ``sample_shape + batch_shape + event_shape``."""
        base_batch_shape(params)
        return family.sample(key, params, sample_shape)

    def log_prob(params: Any, z: Any) -> Array:
        """``family.log_prob`` summed over the event axes it gained."""
        return reduce(params, family.log_prob(params, z))

    def sample_and_log_prob(
        key: Any, params: Any, sample_shape: Any = ()
    ) -> tuple[Array, Array]:
        """``family.sample_and_log_prob``, the density summed likewise."""
        z, log_q = family.sample_and_log_prob(key, params, sample_shape)
        return z, reduce(params, log_q)

    def entropy(params: Any) -> Array:
        """``family.entropy`` summed over the event axes it gained."""
        batch = base_batch_shape(params)
        return reduce(params, jnp.broadcast_to(family.entropy(params), batch))

    optional: dict[str, Any] = {}
    if family.has("entropy"):
        optional["entropy"] = entropy
    for closed_form in ("mean", "variance"):
        if family.has(closed_form):
            optional[closed_form] = getattr(family, closed_form)
    made = Family(
        name=name,
        params_type=family.params_type,
        init=family.init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=family.to_natural,
        batch_shape=batch_shape,
        event_shape=event_shape,
        reparameterized=family.reparameterized,
        natural_args=tuple(  # the reinterpreted axes are no batch axes
            arg._replace(event_ndims=arg.event_ndims + ndims)
            for arg in family.natural_args
        ),
        **optional,
    )
    _MADE[family, ndims] = _guard.guard(made)
    return _MADE[family, ndims]
