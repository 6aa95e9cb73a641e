"""``transformed(base, bijector)``: the family of ``y = f(x)``, ``x`` from ``base``.

The density of ``y`` is the change of variables ``log q(y) = log q_base(x) -
log|det df/dx|`` at ``x = f^-1(y)``. A draw is ``f`` of a base draw, so it is
reparameterized whenever the base family is, and ``sample_and_log_prob`` needs
no inverse: one forward pass gives ``y`` and its log-density (the way an IAF
flow samples). ``log_prob`` of a given ``y`` runs the inverse.

Event axes: the transformed family's event has ``max(len(base event shape),
bijector.event_ndims)`` axes. A bijector acting on more axes than the base's
event (``stick_breaking`` on a batch of normals) turns the base's trailing
batch axes into event axes, whose base log-densities are summed; an
elementwise bijector on a multivariate base has its log-determinant summed over
the base's event axes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from jaxreparam.base import Array, ArrayLike, Bijector, Family
from jaxreparam.bijectors._chain import apply, check_bijector, sum_trailing
from jaxreparam.distributions import _guard


class TransformedParams(NamedTuple):
    """Params of a transformed family: the base family's and the bijector's.

    ``context`` is the context of a conditional bijector (``None`` for an
    unconditional one): an array whose last axis is the context vector, with
    batch axes that broadcast against the draws' (one context per data point
    in amortized inference, one per row in conditional density estimation).
    An encoder that returns ``TransformedParams(base, flow_params, context=h)``
    makes the flow an amortized posterior ``q(z | x)``.

    Examples:
        >>> log_normal = jr.transformed(jr.normal, jr.bijectors.exp)
        >>> params = log_normal.init(base={"loc": 0.0, "scale": 1.0})
        >>> params._fields
        ('base', 'bijector', 'context')
        >>> type(params.base).__name__, params.bijector, params.context
        ('NormalParams', ExpParams(), None)
    """

    base: Any
    bijector: Any
    context: Any = None


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(n, int) for n in value)


def transformed(base: Family, bijector: Bijector) -> Family:
    """The family of ``bijector.forward(params.bijector, x)`` for ``x`` from ``base``.

    Its params are ``TransformedParams(base=..., bijector=...)``; both parts
    are learnable (a flow's layers through ``bijector``). Every estimator,
    objective and ``jaxreparam.fit`` accept it as any other family: pathwise
    gradients flow through the base's draw and the bijector; ``gradient="stl"``
    and ``"dreg"`` evaluate ``log_prob`` (the inverse) with stopped params.
    It has no closed-form entropy, mean or variance.

    Args:
        base: a ``Family`` bundle, such as ``jaxreparam.normal``.
        bijector: a ``Bijector`` bundle, such as ``jaxreparam.bijectors.exp`` or
            a ``chain``.

    Returns:
        A ``Family``. ``init(*, base=None, bijector=None, key=None,
        context=None)`` takes the base's natural values as a dict (or its
        params), the bijector's params (by default ``bijector.init(key)``) and
        a conditional bijector's context; ``to_natural`` gives ``{"base": ...,
        "bijector": ...}`` back.

    Raises:
        TypeError: ``base`` is not a ``Family`` or ``bijector`` not a
            ``Bijector``.

    Examples:
        >>> log_normal = jr.transformed(jr.normal, jr.bijectors.exp)
        >>> params = log_normal.init(base={"loc": 0.0, "scale": 1.0})
        >>> z, log_q = log_normal.sample_and_log_prob(jax.random.key(0), params)
        >>> bool(z > 0), bool(abs(log_q - log_normal.log_prob(params, z)) < 1e-5)
        (True, True)
    """
    where = "transformed"
    if not isinstance(base, Family):
        raise TypeError(
            f"{where}: base must be a jaxreparam Family bundle (such as "
            f"jaxreparam.normal), got {type(base).__name__}"
        )
    check_bijector(where, "bijector", bijector)
    ndims = bijector.event_ndims
    base_family, the_bijector = base, bijector  # init's keywords shadow them

    def axes(params: TransformedParams) -> tuple[int, int]:
        """Trailing axes summed: of the base's log q, of the log-determinant."""
        base_ndims = len(base.event_shape(params.base))
        event_ndims = max(base_ndims, ndims)
        return event_ndims - base_ndims, event_ndims - ndims

    def init(
        *,
        base: Any = None,
        bijector: Any = None,
        key: ArrayLike = None,
        context: Any = None,
    ) -> TransformedParams:
        if base is None:
            base_params = base_family.init()
        elif isinstance(base, base_family.params_type):
            base_params = base
        elif isinstance(base, dict):
            base_params = base_family.init(**base)
        else:
            raise TypeError(
                f"{where}.init: base must be a dict of {base_family.name}'s natural "
                f"values or its params, got {type(base).__name__}"
            )
        if bijector is None:
            bijector = the_bijector.init(key)
        if context is not None and not the_bijector.conditional:
            raise ValueError(
                f"{where}.init: context given, but bijector {the_bijector.name} "
                "is not conditional"
            )
        return TransformedParams(base_params, bijector, context)

    def forward(params: TransformedParams, x: Array) -> tuple[Array, Array]:
        return apply(bijector, bijector.forward, params.bijector, x, params.context)

    def sample(key: ArrayLike, params: TransformedParams, sample_shape=()) -> Array:
        x = base.sample(key, params.base, sample_shape)
        return forward(params, x)[0]

    def sample_and_log_prob(
        key: ArrayLike, params: TransformedParams, sample_shape=()
    ) -> tuple[Array, Array]:
        x, log_q = base.sample_and_log_prob(key, params.base, sample_shape)
        y, log_det = forward(params, x)
        base_axes, det_axes = axes(params)
        return y, sum_trailing(log_q, base_axes) - sum_trailing(log_det, det_axes)

    def log_prob(params: TransformedParams, y: ArrayLike) -> Array:
        x, log_det = apply(
            bijector, bijector.inverse, params.bijector, y, params.context
        )
        log_q = base.log_prob(params.base, x)
        base_axes, det_axes = axes(params)
        return sum_trailing(log_q, base_axes) + sum_trailing(log_det, det_axes)

    def to_natural(params: TransformedParams) -> dict[str, Any]:
        return {"base": base.to_natural(params.base), "bijector": params.bijector}

    def batch_shape(params: TransformedParams) -> tuple[int, ...]:
        shape = tuple(base.batch_shape(params.base))
        extra = axes(params)[0]
        return shape[: len(shape) - extra]

    def event_shape(params: TransformedParams) -> Any:
        full = tuple(base.batch_shape(params.base)) + tuple(
            base.event_shape(params.base)
        )
        num_batch = len(batch_shape(params))
        shape = bijector.forward_shape(full)
        return jax.tree.map(lambda s: tuple(s[num_batch:]), shape, is_leaf=_is_shape)

    made = Family(
        name=f"transformed({base.name}, {bijector.name})",
        params_type=TransformedParams,
        init=init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=to_natural,
        batch_shape=batch_shape,
        event_shape=event_shape,
        reparameterized=base.reparameterized,
    )
    return _guard.guard(made)
