"""The `Family` bundle, the params-type registry and the type aliases.

A family is a module of pure functions over one params pytree (a ``NamedTuple``;
``BernoulliParams`` is a class storing ``logits`` or ``probs``). The
``Family`` bundle gathers those functions so that estimators, objectives and the
fitting loop can take "a family" as one argument, as optax's
``GradientTransformation`` bundles ``init`` and ``update``.

Params store *unconstrained* values (``log_scale`` rather than ``scale``), so an
optax step can never move a parameter out of its domain; ``init`` maps natural
values to params and is differentiable, and ``to_natural`` maps back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "Array",
    "ArrayLike",
    "Bijector",
    "Family",
    "NaturalArg",
    "PRNGKey",
    "Shape",
    "family_of",
    "register_family",
]

Array = jax.Array
ArrayLike = Any  # jax.typing.ArrayLike, kept loose for pytrees of params
PRNGKey = jax.Array
Shape = Sequence[int]


def _missing(name: str) -> Callable[..., Any]:
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"this family has no closed-form {name}")

    unavailable.__name__ = f"no_{name}"
    return unavailable


def scalar_batch_shape(params: Any) -> tuple[int, ...]:
    """The broadcast of the shapes of every leaf: a univariate family's batch."""
    return tuple(jnp.broadcast_shapes(*(jnp.shape(x) for x in params)))


def scalar_event_shape(params: Any) -> tuple[int, ...]:
    """A univariate family's event shape, ``()``."""
    del params
    return ()


#: The domains a natural argument can declare (``NaturalArg.domain``), each with
#: what ``init`` accepts elementwise; NaN is never accepted.
DOMAINS: dict[str, str] = {
    "real": "finite",
    "positive": "finite and positive",
    "lower_bound": "finite or -inf (a lower bound)",
    "upper_bound": "finite or +inf (an upper bound)",
    "lower_cholesky": "finite, lower triangular, with a positive diagonal",
}


class NaturalArg(NamedTuple):
    """What one natural argument of a family's ``init`` accepts.

    Declared once on the family (``Family.natural_args``), read by tools and
    tests instead of being restated by each: which values ``init`` must reject,
    which axes of the argument are not batch axes, and its default. A family
    declaring them without an ``init`` of its own gets one made from them.

    Attributes:
        name: the keyword of ``init``.
        domain: one of ``DOMAINS``: ``"real"``, ``"positive"``,
            ``"lower_bound"``, ``"upper_bound"`` or ``"lower_cholesky"``.
        event_ndims: how many trailing axes of the argument index within one
            member of the batch (a vector's coordinates: 1; a matrix: 2; a
            mixture's components: 1); the other axes broadcast to the batch
            shape.
        default: the value ``init`` takes when the argument is not given;
            ``None``: it must be given.
        range: the documented range ``(low, high)``, a closed interval inside
            the domain in which the family guarantees finite samples,
            log-densities and gradients in float32 and float64 (with the other
            arguments at moderate values: extremes of several arguments at once
            can still overflow); ``init`` treats a value in the domain but outside
            the range like any invalid value. For ``"lower_cholesky"`` it bounds
            the diagonal. ``None``: every value of the domain.

    Examples:
        >>> arg = jr.NaturalArg("scale", "positive", default=1.0)
        >>> arg.domain, arg.range  # finite and positive, every such value
        ('positive', None)
        >>> jr.normal.natural_args[1].range  # the scales the normal family takes
        (1e-30, 1e+30)
    """

    name: str
    domain: str = "real"
    event_ndims: int = 0
    default: float | None = None
    range: tuple[float, float] | None = None


class Family(NamedTuple):
    """The functions of one distribution family, bundled.

    Attributes:
        name: the family's name, as in ``jaxreparam.distributions.<name>``.
        params_type: the type of its params (a ``NamedTuple``, or a pytree
            class such as ``BernoulliParams``).
        init: ``init(**natural) -> params``; validates concrete values.
        sample: ``sample(key, params, sample_shape=()) -> z``, pathwise
            differentiable in ``params``; shape ``sample_shape + batch_shape +
            event_shape``.
        log_prob: ``log_prob(params, z)``; event dimensions reduced.
        sample_and_log_prob: both at once, sharing work.
        to_natural: ``params -> dict`` of natural values, the inverse of ``init``.
        batch_shape: ``params -> tuple``; by default the broadcast of the
            params' shapes (a univariate family).
        event_shape: ``params -> tuple``; by default ``()``.
        reparameterized: whether ``sample`` is fully pathwise differentiable in
            every parameter.
        entropy, mean, variance: closed forms, ``params -> array``.
        cdf, icdf: ``cdf(params, z)`` and ``icdf(params, u)`` (univariate only).
        covariance: ``params -> array`` of shape ``batch_shape + event_shape * 2``
            (multivariate only).
        natural_args: the arguments of ``init``, in order, each a
            ``NaturalArg`` (its domain and event axes); ``()`` if the family
            does not declare them.

    Examples:
        >>> family = jr.normal  # a Family: one family's name and functions
        >>> family.name, family.params_type.__name__, family.reparameterized
        ('normal', 'NormalParams', True)
        >>> params = family.init(loc=0.0, scale=1.0)
        >>> z, log_q = family.sample_and_log_prob(jax.random.key(0), params, (3,))
        >>> z.shape, log_q.shape, family.batch_shape(params), family.event_shape(params)
        ((3,), (3,), (), ())
        >>> family.has("entropy"), jr.von_mises.has("mean")  # which closed forms it has
        (True, False)
    """

    name: str
    params_type: type
    init: Callable[..., Any]
    sample: Callable[..., Array]
    log_prob: Callable[..., Array]
    sample_and_log_prob: Callable[..., tuple[Array, Array]]
    to_natural: Callable[[Any], dict[str, Array]]
    batch_shape: Callable[[Any], tuple[int, ...]] = scalar_batch_shape
    event_shape: Callable[[Any], tuple[int, ...]] = scalar_event_shape
    reparameterized: bool = True
    entropy: Callable[..., Array] = _missing("entropy")
    mean: Callable[..., Array] = _missing("mean")
    variance: Callable[..., Array] = _missing("variance")
    cdf: Callable[..., Array] = _missing("cdf")
    icdf: Callable[..., Array] = _missing("icdf")
    covariance: Callable[..., Array] = _missing("covariance")
    natural_args: tuple[NaturalArg, ...] = ()

    def has(self, name: str) -> bool:
        """Whether the family has the closed-form function ``name``."""
        return not getattr(getattr(self, name), "__name__", "").startswith("no_")


def _same_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(shape)


class Bijector(NamedTuple):
    """The functions of one bijector, bundled, as ``Family`` bundles a family's.

    Attributes:
        name: the bijector's name, as in ``jaxreparam.bijectors.<name>``.
        params_type: the type of its params (an empty ``NamedTuple`` for a
            parameter-free bijector, ``tuple`` for a ``chain``).
        init: ``init(key=None, **config) -> params``; learnable params are
            initialised from ``key``, fixed and parameter-free bijectors accept
            a key and ignore it; concrete values are validated.
        forward: ``(params, x) -> (y, log|det dy/dx|)``; a conditional
            bijector's is ``(params, x, context=None)``.
        inverse: ``(params, y) -> (x, log|det dx/dy|)``; a conditional
            bijector's is ``(params, y, context=None)``.
        event_ndims: the number of trailing axes of ``x`` that one application
            acts on jointly: ``0`` for an elementwise bijector (the
            log-determinant has the shape of ``x``), ``1`` for one acting on
            the last axis (the log-determinant has the shape ``x.shape[:-1]``).
        forward_shape: the shape of ``y`` from the shape of ``x``.
        inverse_shape: the shape of ``x`` from the shape of ``y``.
        conditional: whether ``forward`` and ``inverse`` take a ``context``
            (an array whose last axis is the context vector, broadcast against
            the batch axes of ``x``): the conditioner's networks see it, so
            the map depends on it (amortized posteriors ``q(z | x)``,
            conditional density estimation).

    Examples:
        >>> b = jr.bijectors.softplus  # a Bijector: one map's functions
        >>> b.name, b.event_ndims, b.conditional
        ('softplus', 0, False)
        >>> y, log_det = b.forward(b.init(), jnp.array([0.0, 1.0]))
        >>> x, log_det_inverse = b.inverse(b.init(), y)
        >>> bool(jnp.allclose(x, jnp.array([0.0, 1.0]), atol=1e-6))
        True
        >>> bool(jnp.allclose(log_det, -log_det_inverse))
        True
        >>> jr.bijectors.stick_breaking.forward_shape((4, 2))  # (K - 1,) -> (K,)
        (4, 3)
    """

    name: str
    params_type: type
    init: Callable[..., Any]
    forward: Callable[[Any, Array], tuple[Array, Array]]
    inverse: Callable[[Any, Array], tuple[Array, Array]]
    event_ndims: int = 0
    forward_shape: Callable[[tuple[int, ...]], tuple[int, ...]] = _same_shape
    inverse_shape: Callable[[tuple[int, ...]], tuple[int, ...]] = _same_shape
    conditional: bool = False


_FAMILIES: dict[type, Family] = {}


def register_family(family: Family) -> Family:
    """Registers ``family`` so that ``family_of`` finds it by its params type.

    Examples:
        >>> jr.register_family(jr.normal) is jr.normal  # (again: changes nothing)
        True
        >>> jr.family_of(jr.normal.init()) is jr.normal
        True
    """
    _FAMILIES[family.params_type] = family
    return family


def family_of(params: Any) -> Family:
    """The family whose params type is ``type(params)``.

    Raises:
        TypeError: if no family has that params type.

    Examples:
        >>> params = jr.beta.init(concentration1=2.0, concentration0=3.0)
        >>> jr.family_of(params).name
        'beta'
        >>> jr.family_of({"loc": 0.0})
        Traceback (most recent call last):
            ...
        TypeError: params of type dict belong to no registered family...
    """
    try:
        return _FAMILIES[type(params)]
    except KeyError:
        known = ", ".join(sorted(t.__name__ for t in _FAMILIES))
        raise TypeError(
            f"params of type {type(params).__name__} belong to no registered "
            f"family; known params types: {known}"
        ) from None
