"""What every family module would otherwise write again (private).

A family module defines its params type, ``sample``, ``log_prob`` and its
closed forms, each as its own mathematics, and declares the natural arguments
of its ``init`` (``NaturalArg``: name, domain, default); :func:`family` bundles
and registers them, filling in the rest from one convention: a params field
``log_x`` stores ``log(x)`` of a positive natural value ``x``, a field ``x``
stores ``x`` itself. :func:`from_natural` checks natural values and makes
params by that convention, :func:`natural_init` is the ``init`` it gives a
family that declares its arguments, and the default ``to_natural`` inverts it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from jaxreparam import _checks, base
from jaxreparam.base import Array, ArrayLike, Family, register_family
from jaxreparam.distributions import _guard

#: The ``Family`` fields that are functions of the family's module.
_FUNCTIONS = frozenset(Family._fields) - {
    "name",
    "params_type",
    "reparameterized",
    "natural_args",
}


def from_natural(params_type: type, where: str, **natural: ArrayLike) -> Any:
    """``params_type`` from natural values named after its fields, checked.

    A value ``x`` for a field ``log_x`` must be finite and positive and is
    stored as ``log(x)``; a value for a field of its own name must be finite.
    The values are checked in the order given; several must broadcast together
    and are cast to the dtype they promote to (a single one keeps its own).
    """
    fields = params_type._fields
    checked = {
        name: (_checks.positive if f"log_{name}" in fields else _checks.real)(
            where, name, value
        )
        for name, value in natural.items()
    }
    return _store(params_type, where, checked)


def _store(params_type: type, where: str, checked: dict[str, Array]) -> Any:
    """:func:`from_natural` of values already checked."""
    fields = params_type._fields
    if len(checked) > 1:
        _checks.broadcast_shapes(where, **{k: v.shape for k, v in checked.items()})
        checked = dict(zip(checked, _checks.same_dtype(*checked.values()), strict=True))
    return params_type(
        *(
            jnp.log(checked[f[4:]]) if f.startswith("log_") else checked[f]
            for f in fields
        )
    )


def real(
    name: str,
    default: float | None = None,
    *,
    range: tuple[float, float] | None = None,
    event_ndims: int = 0,
) -> base.NaturalArg:
    """A natural argument taking finite values (in ``range``), stored as itself."""
    return base.NaturalArg(name, "real", event_ndims, default, range)


def positive(
    name: str,
    default: float | None = None,
    *,
    range: tuple[float, float] | None = None,
    event_ndims: int = 0,
) -> base.NaturalArg:
    """A natural argument taking finite positive values, stored as its log."""
    return base.NaturalArg(name, "positive", event_ndims, default, range)


def describe(arg: base.NaturalArg) -> str:
    """What ``init`` accepts for ``arg``: its domain, and its documented range."""
    if arg.range is None:
        return base.DOMAINS[arg.domain]
    low, high = arg.range
    what = "diagonal " if arg.domain == "lower_cholesky" else ""
    return f"{base.DOMAINS[arg.domain]}, {what}in [{low:g}, {high:g}]"


def in_range(
    where: str, arg: base.NaturalArg, value: Array, name: str | None = None
) -> Array:
    """``value`` (already checked for ``arg``'s domain) checked for its range.

    A value outside ``arg.range`` is treated like any invalid value
    (``_checks.check_value``): an eager ``ValueError`` naming ``name`` (default
    ``arg.name``), the value and the range; NaN under jit; a ``checkify`` error
    in checking mode. ``value`` itself when the argument has no range.
    """
    if arg.range is None:
        return value
    low, high = arg.range
    return _checks.check_value(
        where,
        arg.name if name is None else name,
        value,
        lambda x: (x >= low) & (x <= high),
        f"in [{low:g}, {high:g}], its documented range",
    )


def check(where: str, arg: base.NaturalArg, value: ArrayLike) -> Array:
    """``value`` of ``arg`` (domain ``"real"`` or ``"positive"``) checked.

    A float in the domain (``_checks.real`` or ``_checks.positive``), then in
    the documented range (:func:`in_range`).
    """
    domain_check = {"real": _checks.real, "positive": _checks.positive}[arg.domain]
    return in_range(where, arg, domain_check(where, arg.name, value))


def natural_init(name: str, params_type: type, args: tuple[base.NaturalArg, ...]):
    """``init(**natural)`` of a family from its declared natural arguments.

    Keyword-only, in the declared order, with the declared defaults; the values
    are checked for their domain and documented range (:func:`check`) and stored
    by :func:`from_natural`'s convention.
    """
    where = f"{name}.init"
    empty = inspect.Parameter.empty
    signature = inspect.Signature(
        [
            inspect.Parameter(
                a.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=empty if a.default is None else a.default,
            )
            for a in args
        ]
    )

    def init(**natural: ArrayLike) -> Any:
        try:
            bound = signature.bind(**natural)
        except TypeError as error:
            raise TypeError(f"{where}: {error}; it takes {signature}") from None
        bound.apply_defaults()
        values = bound.arguments
        checked = {a.name: check(where, a, values[a.name]) for a in args}
        return _store(params_type, where, checked)

    title = params_type.__name__.removesuffix("Params")
    described = "; ".join(
        f"``{a.name}`` {describe(a)}"
        + ("" if a.default is None else f" (default {a.default})")
        for a in args
    )
    init.__signature__ = signature  # type: ignore[attr-defined]
    init.__doc__ = (
        f"Params of ``{title}({', '.join(a.name for a in args)})``: {described}.\n\n"
        "Raises ``TypeError`` for an integer, bool or complex dtype and a\n"
        "``ValueError`` naming the argument for a concrete value out of its domain\n"
        "or its documented range (the bracketed interval above, where samples,\n"
        "log-densities and gradients are finite in float32 and float64)."
    )
    init.__qualname__ = where
    return init


def vector_batch_shape(params: Any) -> tuple[int, ...]:
    """The first param's leading axes broadcast with the other params' shapes.

    For a family whose first param carries the event axis last (logits,
    concentrations) and whose other params hold one value per batch element.
    """
    first, *rest = params
    shapes = (jnp.shape(first)[:-1], *(jnp.shape(x) for x in rest))
    return tuple(jnp.broadcast_shapes(*shapes))


def vector_event_shape(params: Any) -> tuple[int, ...]:
    """``(K,)``, the last axis of the first param."""
    return tuple(jnp.shape(params[0])[-1:])


def _default_to_natural(params_type: type, init: Callable) -> Callable:
    """``init``'s natural values from params, in ``init``'s order (see module)."""
    fields = params_type._fields
    names = [
        n
        for n in inspect.signature(init).parameters
        if n in fields or f"log_{n}" in fields
    ]
    if len(names) != len(fields):
        raise TypeError(f"{params_type.__name__}: give the family its to_natural")

    def to_natural(params: Any) -> dict[str, Array]:
        """The natural values of ``params``, the inverse of ``init``."""
        return {
            n: jnp.exp(getattr(params, f"log_{n}"))
            if f"log_{n}" in fields
            else getattr(params, n)
            for n in names
        }

    return to_natural


def _sample_then_log_prob(sample: Callable, log_prob: Callable) -> Callable:
    def sample_and_log_prob(key: Any, params: Any, sample_shape: Any = ()) -> Any:
        """``sample`` and its ``log_prob``."""
        z = sample(key, params, sample_shape)
        return z, log_prob(params, z)

    return sample_and_log_prob


def family(name: str, params_type: type, *functions: Callable, **fields: Any) -> Family:
    """The registered ``Family`` of one module's functions, each known by its name.

    ``functions`` are ``init``, ``sample`` and ``log_prob`` at least, and any
    other ``Family`` function the module has (``entropy``, ``mean``, ``variance``,
    ``cdf``, ``icdf``, ``covariance``, its own ``sample_and_log_prob`` or
    ``to_natural``), each taken by its ``__name__``; ``fields`` are given by
    keyword (any ``Family`` field, e.g. ``reparameterized=False``). Unless given,
    ``sample_and_log_prob`` is ``sample`` then ``log_prob``, ``to_natural``
    inverts :func:`from_natural`, and ``init`` is :func:`natural_init` of the
    declared ``natural_args``.
    """
    for function in functions:
        field = getattr(function, "__name__", None)
        if field not in _FUNCTIONS or field in fields:
            raise TypeError(f"{name}: {function!r} is not one more Family function")
        fields[field] = function
    if "init" not in fields and fields.get("natural_args"):
        fields["init"] = natural_init(name, params_type, fields["natural_args"])
        for arg in fields["natural_args"]:  # from_natural's storage convention
            positive = f"log_{arg.name}" in params_type._fields
            if positive != (arg.domain == "positive"):
                raise TypeError(f"{name}: {arg} does not match the params' fields")
    init, sample, log_prob = (fields.get(k) for k in ("init", "sample", "log_prob"))
    if init is None or sample is None or log_prob is None:
        raise TypeError(f"{name}: a family needs init, sample and log_prob")
    if "sample_and_log_prob" not in fields:
        fields["sample_and_log_prob"] = _sample_then_log_prob(sample, log_prob)
    if "to_natural" not in fields:
        fields["to_natural"] = _default_to_natural(params_type, init)
    made = Family(name=name, params_type=params_type, **fields)
    return register_family(_guard.guard(made))


def vector_family(*args: Any, **fields: Any) -> Family:
    """:func:`family` of a family with an event axis last (``vector_*_shape``)."""
    shapes = {"batch_shape": vector_batch_shape, "event_shape": vector_event_shape}
    return family(*args, **shapes, **fields)
