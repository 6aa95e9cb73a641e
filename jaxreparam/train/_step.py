"""The compiled step of the fitting loop (private): one step, and a chunk of them.

:func:`make_step` is the pure optimizer step; :func:`compiled_chunk` runs it
under ``jax.lax.scan`` over a chunk of steps, jitted once per configuration.
:func:`check_loss` checks, before anything is traced, that the loss takes the
arguments the loop will pass.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxreparam.base import Array, ArrayLike
from jaxreparam.train import parallel

Loss = Callable[..., Any]

_SIGNATURES = (
    "loss(key, params) without data, loss(key, params, batch) with data, "
    "optionally with a keyword parameter step, "
    "returning a scalar or (scalar, dict of metrics)"
)


def check_loss(where: str, loss: Any, with_data: bool) -> None:
    """Raises a TypeError unless ``loss`` can be called as the loop will call it.

    Args:
        where: the caller's name, for the message (``"fit"``, ``"make_step"``).
        loss: the user's loss.
        with_data: whether it will get a batch as third argument.
    """
    if not callable(loss):
        raise TypeError(f"{where}: loss must be callable ({_SIGNATURES}), got {loss!r}")
    try:
        problem = _CHECKED(loss, with_data)
    except TypeError:  # an unhashable loss
        problem = _signature_problem(loss, with_data)
    if problem is not None:
        raise TypeError(f"{where}: {problem}; {where} expects {_SIGNATURES}")


def _signature_problem(loss: Callable, with_data: bool) -> str | None:
    """Why ``loss`` cannot take the loop's arguments, or ``None`` if it can."""
    try:
        signature = inspect.signature(loss)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return None
    arguments = ("key", "params", "batch") if with_data else ("key", "params")
    step = {"step": "step"} if _declares_step(loss) else {}
    try:
        signature.bind(*arguments, **step)
    except TypeError as error:
        called = f"loss({', '.join(arguments)})"
        because = "with data" if with_data else "without data"
        return (
            f"the loss is called as {called} {because}, but its signature is "
            f"{signature} ({error})"
        )
    return None


_CHECKED = functools.lru_cache(maxsize=64)(_signature_problem)  # fits run often


def _declares_step(loss: Callable) -> bool:
    try:
        parameters = inspect.signature(loss).parameters
    except (TypeError, ValueError):
        return False
    step = parameters.get("step")
    return step is not None and step.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


def takes_step(loss: Callable) -> bool:
    """Whether ``loss`` declares a parameter ``step`` (the loop then passes it)."""
    try:
        return _DECLARES_STEP(loss)
    except TypeError:  # an unhashable loss
        return _declares_step(loss)


_DECLARES_STEP = functools.lru_cache(maxsize=64)(_declares_step)


def _call(
    where: str, loss: Loss, key: Array, params: Any, batch: Any, count: Any = None
) -> tuple[Array, dict]:
    """``loss(key, params[, batch][, step=count])`` as a checked scalar and metrics."""
    arguments = (key, params) if batch is None else (key, params, batch)
    if takes_step(loss):
        if count is None:
            raise TypeError(
                f"{where}: the loss declares a parameter 'step', so the step needs "
                "the step number: call step(key, params, opt_state, batch, count=t)"
            )
        out = loss(*arguments, step=jnp.asarray(count, jnp.int32))
    else:
        out = loss(*arguments)
    value, metrics = out if isinstance(out, tuple) else (out, {})
    if not isinstance(metrics, dict) or "loss" in metrics:
        raise TypeError(
            f"{where}: loss must return a scalar or (scalar, dict of metrics) with "
            f"no 'loss' key, got metrics {metrics!r}"
        )
    if jnp.ndim(value) != 0:
        raise TypeError(
            f"{where}: loss must return a scalar, got shape {jnp.shape(value)}"
        )
    return value, metrics


def make_step(loss: Loss, optimizer: optax.GradientTransformation) -> Callable:
    """A pure optimizer step on ``loss``, for ``jax.jit`` and the user's loop.

    Args:
        loss: ``loss(key, params)``, or ``loss(key, params, batch)`` when called
            with a batch, returning a scalar to minimise or ``(scalar, metrics)``
            with ``metrics`` a dict of arrays. A loss that declares a parameter
            named ``step`` (say ``loss(key, params, batch, *, step)``, for a KL
            warm-up or any schedule) is also given the step number, an int32
            scalar: :func:`fit` counts it from the start of the first fit, so
            it carries on when a fit is resumed.
        optimizer: any optax ``GradientTransformation``.

    Returns:
        ``step(key, params, opt_state, batch=None, *, count=None) -> (params,
        opt_state, metrics)``, where ``metrics`` is ``{"loss": loss value,
        **metrics}``, the loss at the params before the update; ``count`` is
        the step number passed to a loss that declares ``step``.

    Raises:
        TypeError: ``loss`` is not callable; when ``step`` is traced, ``loss``
            does not take the arguments above or does not return a scalar, or
            it declares ``step`` and ``count`` is ``None``.

    Examples:
        >>> import jax, optax
        >>> import jaxreparam as jr
        >>> loss = lambda key, params: (params - 3.0) ** 2
        >>> optimizer = optax.sgd(0.25)
        >>> step = jax.jit(jr.make_step(loss, optimizer))
        >>> params, state, metrics = step(jax.random.key(0), 1.0, optimizer.init(1.0))
        >>> float(params), float(metrics["loss"])
        (2.0, 4.0)
    """
    if not callable(loss):
        check_loss("make_step", loss, with_data=False)  # raises
    return _make_step("make_step", loss, optimizer)


def _make_step(where: str, loss: Loss, optimizer: optax.GradientTransformation):
    """:func:`make_step`, its messages starting with ``where``."""

    def step(
        key: ArrayLike, params: Any, opt_state: Any, batch: Any = None, *, count=None
    ) -> tuple[Any, Any, dict[str, Array]]:
        check_loss(where, loss, with_data=batch is not None)  # at trace time
        grad = jax.value_and_grad(
            lambda p: _call(where, loss, key, p, batch, count), has_aux=True
        )
        (value, metrics), grads = grad(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (
            optax.apply_updates(params, updates),
            opt_state,
            {"loss": value, **metrics},
        )

    return step


def _batch(data_key: Array, data: Any, perm: Array, t: Array, batch_size: int):
    """The minibatch of step ``t`` and the epoch permutation it came from."""
    size = jax.tree.leaves(data)[0].shape[0]
    per_epoch = size // batch_size
    epoch, position = t // per_epoch, t % per_epoch
    perm = jax.lax.cond(
        position == 0,
        lambda: jax.random.permutation(jax.random.fold_in(data_key, epoch), size),
        lambda: perm,
    )
    index = jax.lax.dynamic_slice_in_dim(perm, position * batch_size, batch_size)
    batch = jax.tree.map(lambda x: jnp.take(x, index, axis=0), data)
    return parallel.shard_leading(batch), perm


def _chunk(key, params, opt_state, data, first, end, *, loss, optimizer, length,
           masked, batch_size):  # fmt: skip
    """Steps ``first, ..., first + length - 1`` (those ``< end`` if masked)."""
    step = _make_step("fit", loss, optimizer)
    loss_key, data_key = jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)

    def run(carry, t):
        params, opt_state, perm = carry
        if batch_size is None:
            batch = parallel.shard_leading(data)  # a no-op without a mesh
        else:
            batch, perm = _batch(data_key, data, perm, t, batch_size)
        step_key = jax.random.fold_in(loss_key, t)
        params, opt_state, metrics = step(step_key, params, opt_state, batch, count=t)
        return (params, opt_state, perm), metrics

    perm = jnp.zeros(0, jnp.int32)
    if batch_size is not None:  # the permutation of the first step's epoch
        size = jax.tree.leaves(data)[0].shape[0]
        epoch = first // (size // batch_size)
        perm = jax.random.permutation(jax.random.fold_in(data_key, epoch), size)
    body = run
    if masked:
        shapes = jax.eval_shape(run, (params, opt_state, perm), first)[1]

        def body(carry, t):
            skip = lambda: (
                carry,
                jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes),
            )
            return jax.lax.cond(t < end, lambda: run(carry, t), skip)

    steps = first + jnp.arange(length, dtype=jnp.int32)
    (params, opt_state, _), metrics = jax.lax.scan(
        body, (params, opt_state, perm), steps
    )
    return params, opt_state, metrics


def _jit_chunk(loss, optimizer, length, masked, batch_size) -> Callable:
    options = {"loss": loss, "optimizer": optimizer, "length": length}
    options |= {"masked": masked, "batch_size": batch_size}
    return jax.jit(functools.partial(_chunk, **options))


def _jit_init(optimizer: optax.GradientTransformation) -> Callable:
    return jax.jit(optimizer.init)


_CACHE = functools.lru_cache(maxsize=32)


def _cached(make: Callable, *config: Any) -> Callable:
    """``make(*config)``, memoized by ``config`` (built afresh if unhashable)."""
    try:
        return _MEMO[make](*config)
    except TypeError:  # an unhashable loss or optimizer
        return make(*config)


_MEMO = {_jit_chunk: _CACHE(_jit_chunk), _jit_init: _CACHE(_jit_init)}


def compiled_init(optimizer: optax.GradientTransformation) -> Callable:
    """``jax.jit(optimizer.init)``, made once per optimizer and reused."""
    return _cached(_jit_init, optimizer)


def compiled_chunk(loss, optimizer, length, masked, batch_size) -> Callable:
    """``jax.jit`` of :func:`_chunk` for one configuration, made once and reused.

    Closing over the configuration (rather than marking it static) keeps each
    call on jit's fast path; the cache, keyed by the loss and optimizer
    objects, keeps a second (resumed) fit from recompiling. An unhashable loss
    or optimizer is compiled afresh for each fit.
    """
    return _cached(_jit_chunk, loss, optimizer, length, masked, batch_size)
