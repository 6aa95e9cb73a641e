"""Argument checks: static ones at trace time, value ones on concrete values.

Three layers, from cheapest to most thorough:

1. Static checks (key type and rank, dtypes, broadcastable shapes) run in Python
   whenever a function is called or traced, and raise ``TypeError``/``ValueError``.
2. Value checks (``scale > 0``, finite values) run eagerly on concrete inputs and
   raise a ``ValueError`` naming the argument and the offending value.
3. Under ``jax.jit`` values are tracers and cannot be inspected. By default an
   invalid value is then turned into NaN, so that it can never produce plausible
   finite samples or densities. Inside :func:`checking` (or through
   :func:`checked`) the same checks become ``checkify`` checks that raise with the
   argument's name; the flag is part of jit's cache key, so enabling it retraces.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

__all__ = ["checked", "checking"]

_CHECKING = jax.make_user_context(False)
_F = TypeVar("_F", bound=Callable[..., Any])


@contextlib.contextmanager
def checking(enabled: bool = True) -> Iterator[None]:
    """Turns value checks on traced (jitted) values into ``checkify`` checks.

    Functions traced inside this context carry the checks; run them through
    ``jax.experimental.checkify.checkify`` (or use :func:`checked`, which does
    both). The flag is part of jit's cache key, so a function jitted earlier is
    retraced rather than silently reused without checks.

    Examples:
        >>> import jax
        >>> from jax.experimental import checkify
        >>> import jaxreparam as jr
        >>> f = jax.jit(lambda s: jr.normal.init(loc=0.0, scale=s))
        >>> with jr.checking():
        ...     err, _ = checkify.checkify(f)(-1.0)
        >>> print(err.get().split(" (")[0])
        normal.init: scale must be finite and positive, got -1.0
    """
    with _CHECKING(enabled):
        yield


def checked(fun: _F) -> _F:
    """Wraps ``fun`` (jitted or not) so that invalid traced values raise.

    ``checked(jax.jit(f))(x)`` traces ``f`` with checks enabled, runs it under
    ``checkify`` and raises ``jax.experimental.checkify.JaxRuntimeError`` naming
    the argument and value when a check fails.

    Examples:
        >>> init = jr.checked(jax.jit(lambda scale: jr.normal.init(scale=scale)))
        >>> round(float(init(2.0).log_scale), 3)
        0.693
        >>> try:
        ...     init(-1.0)  # jitted alone, this would give NaN params
        ... except Exception as error:
        ...     print(type(error).__name__, str(error).split(" (")[0])
        JaxRuntimeError normal.init: scale must be finite and positive, got -1.0
    """

    @functools.wraps(fun)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with checking():
            err, out = checkify.checkify(fun, errors=checkify.user_checks)(
                *args, **kwargs
            )
        err.throw()
        return out

    return wrapper  # type: ignore[return-value]


def is_concrete(x: Any) -> bool:
    """Whether ``x`` holds values that can be read now (not a tracer)."""
    return not isinstance(x, jax.core.Tracer)


# --------------------------------------------------------------------------- #
# Keys and shapes.


#: What a key-taking function's call looks like, for the errors of :func:`check_key`.
KEY_FIRST = (
    "the key comes first: sample(key, params, sample_shape), as in "
    "sample_and_log_prob and every estimator and objective (key, params, family, ...)"
)


def check_key(key: Any, name: str = "key", usage: str = KEY_FIRST) -> jax.Array:
    """Accepts one typed key (``jax.random.key``) or one legacy uint32 key.

    Anything else raises a ``TypeError`` saying what was given; params (a
    ``NamedTuple``, any other pytree or a float array) are taken for swapped
    arguments and the error says ``usage``: where the key goes.
    """
    if isinstance(key, jax.Array) and jax.dtypes.issubdtype(
        key.dtype, jax.dtypes.prng_key
    ):
        if key.ndim != 0:
            raise ValueError(
                f"{name} must be a single PRNG key, got a batch of keys of shape "
                f"{key.shape}; to draw with many keys use jax.vmap over {name}"
            )
        return key
    dtype = getattr(key, "dtype", None)
    if dtype != jnp.uint32:
        raise TypeError(_not_a_key(key, name, usage))
    expected = _legacy_key_shape()
    if key.shape != expected:
        if key.shape[-len(expected) :] == expected:
            raise ValueError(
                f"{name} must be a single PRNG key, got a batch of legacy keys of "
                f"shape {key.shape}; to draw with many keys use jax.vmap over {name}"
            )
        raise ValueError(
            f"{name} has shape {key.shape}, but a legacy PRNG key has shape {expected}"
        )
    return key


def _not_a_key(value: Any, name: str, usage: str) -> str:
    """The message for a ``value`` that is no key: what it is, what to do."""
    expected = "where a PRNG key was expected"
    make = "make one with jax.random.key(seed)"
    if isinstance(value, bool | int | np.integer):
        return f"{name}: got the int {value!r} {expected}; {make}"
    named = isinstance(value, tuple) and hasattr(value, "_fields")  # a NamedTuple
    if named or hasattr(type(value), "tree_flatten"):  # or a pytree class
        return f"{name}: got {type(value).__name__} {expected} - {usage}"
    if isinstance(value, dict | list | tuple):
        return f"{name}: got a {type(value).__name__} (params?) {expected} - {usage}"
    dtype = getattr(value, "dtype", None)
    if isinstance(value, float) or (
        dtype is not None and jnp.issubdtype(dtype, jnp.inexact)
    ):
        shape = f" of shape {tuple(np.shape(value))}" if np.ndim(value) else ""
        kind = type(value).__name__ if dtype is None else f"{dtype} array{shape}"
        return f"{name}: got a {kind} (params?) {expected} - {usage}"
    return (
        f"{name} must be a PRNG key from jax.random.key (or a legacy "
        f"jax.random.PRNGKey), got {type(value).__name__} with dtype {dtype}; "
        f"{make}"
    )


@functools.cache
def _legacy_key_shape() -> tuple[int, ...]:
    data = jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0)))
    return tuple(data.shape)


def check_sample_shape(sample_shape: Any) -> tuple[int, ...]:
    """``sample_shape`` as a tuple of non-negative ints."""
    if isinstance(sample_shape, int | np.integer):
        sample_shape = (sample_shape,)
    try:
        shape = tuple(int(d) for d in sample_shape)
    except TypeError:
        raise TypeError(
            f"sample_shape must be a tuple of ints, got {sample_shape!r}"
        ) from None
    if any(d < 0 for d in shape):
        raise ValueError(f"sample_shape must be non-negative, got {shape}")
    return shape


def broadcast_shapes(where: str, **shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of ``shapes``; a ``ValueError`` naming them if none exists."""
    try:
        return tuple(jnp.broadcast_shapes(*shapes.values()))
    except ValueError:
        listed = ", ".join(f"{k} with shape {v}" for k, v in shapes.items())
        raise ValueError(f"{where}: cannot broadcast {listed}") from None


# --------------------------------------------------------------------------- #
# Values.


def as_float(where: str, name: str, value: Any) -> jax.Array:
    """``value`` as a floating array; integer, bool and complex arrays are refused.

    Python ints and floats are accepted and take the default float dtype.
    """
    if isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be a float, got bool {value}")
    if isinstance(value, int | float):
        return jnp.asarray(float(value))  # weakly typed: takes the others' dtype
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        value = np.asarray(value)
        dtype = value.dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(
            f"{where}: {name} must have a floating dtype, got {dtype}; "
            f"convert it, e.g. with jnp.asarray({name}, jnp.float32)"
        )
    return jnp.asarray(value)


def _first_bad(value: np.ndarray, bad: np.ndarray) -> str:
    if value.ndim == 0:
        return f"{value.item()!r}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{value[index].item()!r} at index {index} (shape {value.shape})"


def check_value(
    where: str,
    name: str,
    value: jax.Array,
    valid: Callable[[Any], Any],
    requirement: str,
    *,
    nan_under_jit: bool = True,
) -> jax.Array:
    """Checks ``valid(value)`` elementwise; see the module docstring for how.

    Returns ``value``, or under tracing without checking mode, ``value`` with NaN
    wherever it is invalid; with ``nan_under_jit=False``, ``value`` as it is
    there, for a caller that puts the NaN in its result itself (where a select
    it makes anyway costs less than one on ``value``).
    """
    if is_concrete(value):
        array = np.asarray(value)
        bad = ~np.asarray(valid(array), dtype=bool)
        if bad.any():
            raise ValueError(
                f"{where}: {name} must be {requirement}, got {_first_bad(array, bad)}"
            )
        return value
    ok = valid(value)
    if _CHECKING.value:
        checkify.check(
            jnp.all(ok),
            f"{where}: {name} must be {requirement}, got {{value}}",
            value=value,
        )
    return jnp.where(ok, value, jnp.nan) if nan_under_jit else value


def real(where: str, name: str, value: Any) -> jax.Array:
    """A finite real parameter."""
    value = as_float(where, name, value)
    return check_value(where, name, value, _finite, "finite")


def positive(where: str, name: str, value: Any) -> jax.Array:
    """A finite, strictly positive parameter."""
    value = as_float(where, name, value)
    return check_value(where, name, value, _finite_positive, "finite and positive")


def _finite(x: Any) -> Any:
    return jnp.isfinite(x) if isinstance(x, jax.Array) else np.isfinite(x)


def _finite_positive(x: Any) -> Any:
    return _finite(x) & (x > 0)


def same_dtype(*arrays: jax.Array) -> tuple[jax.Array, ...]:
    """``arrays`` cast to the floating dtype they promote to together."""
    dtype = jnp.result_type(*arrays)
    return tuple(jnp.asarray(a, dtype) for a in arrays)


HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
