"""Checks wrapped around every family's ``log_prob`` (private).

:func:`log_prob` is applied by ``_bundle.family`` (and by the families built
outside it: ``independent``, ``transformed``) to the family's own
``log_prob``; it adds the checks of issue 16 without changing a single value
the family computes:

* **Event shapes**, statically (shapes only, when the function is called or
  traced, so at no run-time cost under ``jax.jit``): the trailing axes of ``z``
  must be the family's event shape and the axes before them must broadcast
  with its batch shape; otherwise a ``ValueError`` names the family, the
  expected shapes and the shape of ``z``.
* **Keys first** (:func:`sample`, :func:`sample_and_log_prob`, applied by
  :func:`guard` with ``log_prob``): the key is checked before anything reads
  the params, so params given where the key belongs (swapped arguments) get
  ``_checks.check_key``'s error saying that the key comes first, not a JAX
  error from deep inside the family.
* **Out-of-support values**, in checking mode only (``jr.checking()``,
  ``jr.checked(f)``): a log-density of ``-inf`` at a ``z`` without NaN raises,
  naming the family and the offending value. Outside checking mode ``-inf`` is
  returned, the mathematical answer (a density on a grid keeps working).

Only the outermost guarded call checks the support: a family evaluating
another's ``log_prob`` inside its own (a mixture's components, an independent
or transformed family's base) may get ``-inf`` from one part of a finite whole.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from jaxreparam import _checks
from jaxreparam.base import Family

#: Families whose ``z`` does not always end in ``event_shape(params)``, mapped to
#: ``(params, z) -> the event shape z must end in``, or ``None``: not checked.
#:
#: ``categorical`` takes one-hot vectors (a float ``z`` ending in ``(K,)``, its
#: ``event_shape``) and integer labels (an integer ``z`` with no event axis),
#: told apart by dtype (issue 16, point 2); its own ``log_prob`` checks both
#: forms, with messages that name them, so it is not checked here.
EVENT_SHAPE_OF_Z: dict[str, Callable[[Any, Any], tuple[int, ...] | None]] = {
    "categorical": lambda params, z: None,
}

_STATE = threading.local()  # depth: guarded log_prob calls under way (this thread)


def guard(family: Family) -> Family:
    """``family`` with ``log_prob``, ``sample`` and ``sample_and_log_prob`` guarded.

    See the module; every value is unchanged.
    """
    return family._replace(
        log_prob=log_prob(family),
        sample=sample(family),
        sample_and_log_prob=sample_and_log_prob(family),
    )


def _key_first(own: Callable) -> Callable:
    """``own(key, ...)`` with ``key`` checked before anything reads the params."""
    if getattr(own, "key_checked", False):
        return own  # guarded already (a family built on a guarded one)

    @functools.wraps(own)
    def guarded(key: Any, *args: Any, **kwargs: Any) -> Any:
        _checks.check_key(key)
        return own(key, *args, **kwargs)

    guarded.key_checked = True  # type: ignore[attr-defined]
    return guarded


def sample(family: Family) -> Callable:
    """``family.sample`` with its key checked first."""
    return _key_first(family.sample)


def sample_and_log_prob(family: Family) -> Callable:
    """``family.sample_and_log_prob`` with its key checked first."""
    return _key_first(family.sample_and_log_prob)


def log_prob(family: Family) -> Callable:
    """``family.log_prob`` with the checks above: same name, doc and values."""
    own = family.log_prob
    name = family.name

    @functools.wraps(own)
    def guarded(params: Any, z: Any) -> Any:
        check_shape(family, params, z)
        depth = getattr(_STATE, "depth", 0)
        _STATE.depth = depth + 1
        try:
            out = own(params, z)
        finally:
            _STATE.depth = depth
        if depth == 0 and _checks._CHECKING.value:
            check_support(name, family, params, z, out)
        return out

    return guarded


# --------------------------------------------------------------------------- #
# Event shapes.


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(n, int | np.integer) for n in value
    )


def _shapes(family: Family, params: Any, z: Any) -> tuple[Any, Any] | None:
    """``(event shape z must end in, batch shape)``; ``None``: nothing to check."""
    try:
        if family.name in EVENT_SHAPE_OF_Z:
            event = EVENT_SHAPE_OF_Z[family.name](params, z)
        else:
            event = family.event_shape(params)
        batch = family.batch_shape(params)
    except Exception:  # noqa: BLE001 - bad params: the family's own error follows
        return None
    if event is None or not (_is_shape(tuple(event)) and _is_shape(tuple(batch))):
        return None  # an event that is a pytree (a transformed family's)
    return tuple(int(n) for n in event), tuple(int(n) for n in batch)


def check_shape(family: Family, params: Any, z: Any) -> None:
    """Raises a ``ValueError`` when ``z`` cannot be a (batch of) event(s).

    Static: reads shapes only, so under ``jax.jit`` it runs once, at tracing.
    """
    shapes = _shapes(family, params, z)
    if shapes is None or (isinstance(z, list | tuple | dict) and not _is_flat(z)):
        return
    event, batch = shapes
    z_shape = tuple(np.shape(z))
    where = f"{family.name}.log_prob"
    split = len(z_shape) - len(event)
    if split < 0 or z_shape[split:] != event:
        raise ValueError(
            f"{where}: z must end in the event shape {event}, got z of shape {z_shape}"
        )
    try:
        np.broadcast_shapes(z_shape[:split], batch)
    except ValueError:
        raise ValueError(
            f"{where}: the batch axes {z_shape[:split]} of z (shape {z_shape}) "
            f"cannot broadcast with the batch shape {batch} of the params "
            f"(z must have shape [sample_shape +] batch_shape + event_shape, "
            f"event shape {event})"
        ) from None


def _is_flat(z: Any) -> bool:
    """Whether a list or tuple ``z`` is a nested sequence of numbers."""
    return not isinstance(z, dict) and all(
        isinstance(leaf, int | float | complex | np.number | np.ndarray | jax.Array)
        for leaf in jax.tree.leaves(z)
    )


# --------------------------------------------------------------------------- #
# Out-of-support values (checking mode).


def check_support(name: str, family: Family, params: Any, z: Any, out: Any) -> None:
    """In checking mode: raises where ``out`` is ``-inf`` at a ``z`` without NaN."""
    shapes = _shapes(family, params, z)
    if shapes is None or not isinstance(out, jax.Array | np.ndarray):
        return
    event, _ = shapes
    z = jnp.asarray(z)
    if not jnp.issubdtype(z.dtype, jnp.inexact):
        z = z.astype(jnp.result_type(out))
    event_axes = tuple(range(z.ndim - len(event), z.ndim))
    full = jnp.broadcast_shapes(out.shape, z.shape[: z.ndim - len(event)])
    nan = jnp.broadcast_to(jnp.any(jnp.isnan(z), axis=event_axes), full)
    bad = (jnp.broadcast_to(out, full) == -jnp.inf) & ~nan
    values = jnp.broadcast_to(z, full + event).reshape((-1, *event))
    message = f"{name}.log_prob: z = {{z}} has zero density under {name} (outside "
    message += "its support; -inf is returned outside checking mode)"
    if _checks.is_concrete(bad) and _checks.is_concrete(values):
        if np.any(bad):
            first = values[int(np.argmax(np.ravel(bad)))]
            where = np.unravel_index(int(np.argmax(np.ravel(bad))), full)
            at = f" at batch index {tuple(int(i) for i in where)}" if full else ""
            raise ValueError(message.format(z=str(np.asarray(first))) + at)
        return
    first = values[jnp.argmax(jnp.ravel(bad))] if values.shape[0] else values
    checkify.check(~jnp.any(bad), message, z=first)
