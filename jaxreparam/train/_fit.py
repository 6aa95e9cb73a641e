"""Fitting variational parameters with optax: the loop around a pure step.

``jr.make_step(loss, optimizer)`` (in ``_step.py``) returns a pure, jittable
``step(key, params, opt_state, batch=None) -> (params, opt_state, metrics)`` for
the user's own loop. ``jr.fit`` runs that step under ``jax.lax.scan`` in chunks
of ``chunk_size`` steps: each chunk is one call of one compiled function, and
between chunks it reports progress, records the history, calls an optional
``callback`` every ``callback_every`` steps and evaluates an optional
validation loss for early stopping. Nothing in the compiled step calls back to
the host: the callback runs in Python between chunks, and the chunks are cut
so that it runs exactly every ``callback_every`` steps.

Keys: step ``t`` uses the key ``fold_in(fold_in(key, 0), t)`` and minibatches of
epoch ``e`` come from the permutation drawn with ``fold_in(fold_in(key, 1), e)``.
Everything a step does is a function of ``(key, t, params, opt_state)``, so a fit
resumed from a saved state at step ``t`` (``start_step=t``, ``opt_state=...``)
gives the result of an uninterrupted one. ``key`` is only folded, never split,
so passing the same key to the resumed fit is intended.

Constraints: params are unconstrained in this library (a Normal stores
``log_scale``), so whatever optax does to them, they stay in their domain.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import jax
import numpy as np
import optax

from jaxreparam import _checks
from jaxreparam.base import ArrayLike
from jaxreparam.train import _progress, _step, parallel
from jaxreparam.train._step import Loss

Callback = Callable[[int, Any, dict[str, np.ndarray]], Mapping[str, Any] | None]
_RESERVED = ("loss", "validation_loss", "validation_step", "callback_step")


class FitResult(NamedTuple):
    """What :func:`fit` returns.

    Attributes:
        params: the params after the last step run (with ``return_best``, the
            ones with the lowest validation loss).
        opt_state: the optimizer state that goes with ``params``.
        history: ``{"loss": (n,), <metric>: (n, ...), ...}`` over the ``n``
            steps run, as numpy arrays; with a validation loss also
            ``"validation_loss"`` and ``"validation_step"``, the step count at
            which each value was taken; with a callback also
            ``"callback_step"``, the step counts at which it was called, and
            each metric it returned, ``<name>: (calls, ...)``.
        step: the number of steps that produced ``params``, counted from the
            start of the first fit: pass it as ``start_step`` to resume.

    Examples:
        >>> import optax
        >>> def loss(key, params):
        ...     return (params["w"] - 3.0) ** 2
        ...
        >>> result = jr.fit(jax.random.key(0), {"w": 0.0}, loss=loss,
        ...     optimizer=optax.sgd(0.25), num_steps=20)
        >>> type(result).__name__, result._fields
        ('FitResult', ('params', 'opt_state', 'history', 'step'))
        >>> round(float(result.params["w"]), 3), result.step
        (3.0, 20)
        >>> result.history["loss"].shape  # one loss per step
        (20,)
    """

    params: Any
    opt_state: Any
    history: dict[str, np.ndarray]
    step: int


def _check_data(data: Any, batch_size: int | None) -> None:
    leaves = jax.tree.leaves(data)
    if data is None:
        if batch_size is not None:
            raise ValueError("fit: batch_size needs data")
        return
    sizes = {np.shape(x)[0] if np.ndim(x) else -1 for x in leaves}
    if not leaves or len(sizes) != 1 or -1 in sizes:
        raise ValueError(
            "fit: data must be a pytree of arrays sharing a leading axis of "
            f"examples, got leaves of shapes {[np.shape(x) for x in leaves]}"
        )
    (size,) = sizes
    if batch_size is not None and not 1 <= batch_size <= size:
        raise ValueError(f"fit: batch_size must be in [1, {size}], got {batch_size}")


def _data_sharding(data: Any, batch_size: int | None, mesh: jax.sharding.Mesh):
    """Split along the examples for full batches that divide evenly; else copies.

    Minibatches are gathered from a copy on every device, so that each device
    takes its own share of the batch's indices without communicating.
    """
    leaves = jax.tree.leaves(data)
    if batch_size is None and leaves and leaves[0].shape[0] % mesh.size == 0:
        return parallel.batch_sharding(mesh)
    return parallel.replicated(mesh)


def fit(
    key: ArrayLike,
    params: Any,
    data: Any = None,
    *,
    loss: Loss,
    optimizer: optax.GradientTransformation,
    num_steps: int,
    batch_size: int | None = None,
    chunk_size: int | None = None,
    opt_state: Any = None,
    start_step: int = 0,
    callback: Callback | None = None,
    callback_every: int | None = None,
    validation_loss: Callable[[Any], ArrayLike] | None = None,
    patience: int | None = None,
    return_best: bool = False,
    progress: bool | None = None,
    mesh: jax.sharding.Mesh | None = None,
) -> FitResult:
    """Minimises ``loss`` over ``params`` with ``optimizer``, in compiled chunks.

    Args:
        key: a PRNG key; folded with the step number, never consumed, so a
            resumed fit takes the same key.
        params: a pytree of arrays, the starting point.
        data: optional in-memory data set, a pytree of arrays sharing a leading
            axis of ``N`` examples. Without ``batch_size`` every step gets all of
            it; with one, each epoch is a fresh permutation cut into
            ``N // batch_size`` minibatches (the remainder is left out).
        loss: ``loss(key, params)`` without data, ``loss(key, params, batch)``
            with data, returning a scalar or ``(scalar, dict of metrics)``. A
            minibatch loss should scale its likelihood by ``N / batch_size``
            itself. A loss that declares a parameter ``step`` is also given
            the step number (an int32 scalar, counted from the start of the
            first fit, so a resumed fit carries on): for KL warm-up and other
            schedules.
        optimizer: any optax ``GradientTransformation``.
        num_steps: the number of steps to run in this call.
        batch_size: examples per step, or ``None`` for the whole data set.
        chunk_size: steps per compiled chunk; progress, history and validation
            happen between chunks. Default: all steps in one chunk when nothing
            reports between chunks, otherwise about 1/20 of ``num_steps``.
        opt_state: the optimizer state to resume from (default
            ``optimizer.init(params)``).
        start_step: the step count of ``params`` and ``opt_state``, for resuming.
        callback: ``callback(step, params, metrics) -> None or dict``, called
            in Python after every step count ``step`` that is a multiple of
            ``callback_every`` (counted like ``start_step``, so a resumed fit
            calls it where an uninterrupted one would), with the params after
            that step and the metrics of the steps since the previous call,
            ``{"loss": (n,), <metric>: (n, ...)}`` as numpy arrays. A dict it
            returns (evaluation metrics, say) is recorded in the history, one
            row per call, under ``"callback_step"`` and its own names. The
            chunks are cut at those steps; the fit itself is unchanged.
        callback_every: the number of steps between calls of ``callback``, a
            positive int; required with ``callback``.
        validation_loss: ``validation_loss(params) -> scalar``, evaluated at
            the start and after each chunk of ``chunk_size`` steps and recorded
            in the history; close over a fixed key if it is random.
        patience: with ``validation_loss``, stop after this many evaluations
            without improvement (early stopping).
        return_best: with ``validation_loss``, return the params (and their
            optimizer state and step) with the lowest validation loss seen,
            instead of the last ones.
        progress: a bar (tqdm, or printed lines) between chunks. ``None``: only
            on a terminal outside CI (numpyro's rule); ``True``/``False``: on/off.
        mesh: a ``jax.sharding.Mesh`` to run data-parallel on: params and
            optimizer state replicated, the batch (and any draws the loss passes
            through ``parallel.shard_leading``) split along the leading axis.

    Returns:
        A :class:`FitResult`.

    Raises:
        TypeError: ``loss`` does not take ``(key, params)`` (without data) or
            ``(key, params, batch)`` (with data), ``optimizer`` is not an optax
            ``GradientTransformation``, ``callback`` is not callable, or it
            returns something other than ``None`` or a dict.
        ValueError: a bad step count, chunk or batch size, ``data`` without a
            shared leading axis, options that need another one
            (``patience``/``return_best`` without ``validation_loss``,
            ``callback`` without ``callback_every``), or callback metrics
            that clash with the history's names.

    The compiled chunk is cached by ``(loss, optimizer, chunk size, ...)``: pass
    the same ``loss`` and ``optimizer`` objects to a resumed fit, and it starts
    without compiling. A loss built anew for each call compiles each time.

    Examples:
        >>> import jax, jax.numpy as jnp, optax
        >>> import jaxreparam as jr
        >>> def loss(key, params, batch):
        ...     return jnp.mean((batch["x"] * params["w"] - batch["y"]) ** 2)
        >>> x = jnp.linspace(-1.0, 1.0, 64)
        >>> result = jr.fit(jax.random.key(0), {"w": 0.0}, {"x": x, "y": 2 * x},
        ...     loss=loss, optimizer=optax.adam(0.1), num_steps=300, batch_size=16)
        >>> round(float(result.params["w"]), 2), result.step
        (2.0, 300)

        A callback every 100 steps, returning a metric that the history keeps:

        >>> def callback(step, params, metrics):
        ...     return {"w": params["w"], "mean_loss": metrics["loss"].mean()}
        >>> result = jr.fit(jax.random.key(0), {"w": 0.0}, {"x": x, "y": 2 * x},
        ...     loss=loss, optimizer=optax.adam(0.1), num_steps=300, batch_size=16,
        ...     callback=callback, callback_every=100)
        >>> result.history["callback_step"].tolist()
        [100, 200, 300]
        >>> bool(result.history["w"][-1] == result.params["w"])
        True
    """
    _checks.check_key(key)  # first: params given in its place get a clear error
    _check_options(
        loss, optimizer, data, num_steps, batch_size, chunk_size, start_step,
        callback, callback_every, validation_loss, patience, return_best,
    )  # fmt: skip
    if opt_state is None:
        opt_state = _step.compiled_init(optimizer)(params)
    reporting = _progress.wanted(progress) or validation_loss is not None
    if chunk_size is None:
        chunk_size = max(1, math.ceil(num_steps / 20)) if reporting else num_steps
    chunk_size = max(1, min(chunk_size, num_steps))
    plan = list(_plan(start_step, num_steps, chunk_size, callback_every))
    length = min(chunk_size, callback_every or chunk_size)
    stops = [start_step] + [stop for stop, _, _ in plan]
    masked = any(b - a != length for a, b in itertools.pairwise(stops))
    chunk = _step.compiled_chunk(loss, optimizer, length, masked, batch_size)
    if mesh is not None:
        mesh = parallel.auto_mesh(mesh)
    context = jax.set_mesh(mesh) if mesh is not None else contextlib.nullcontext()
    with context:
        if mesh is not None:
            params, opt_state = jax.device_put(
                (params, opt_state), parallel.replicated(mesh)
            )
            data = jax.device_put(data, _data_sharding(data, batch_size, mesh))
        validate = jax.jit(validation_loss) if validation_loss is not None else None
        bar = _progress.Progress(progress, num_steps)
        state = (params, opt_state, start_step)
        hooks = _Hooks(validate, patience, return_best, callback, bar)
        return _loop(key, state, data, plan, chunk, hooks)


def _positive(name: str, value: Any, *, zero: bool = False) -> None:
    """Raises unless ``value`` is a Python int ``>= 1`` (``>= 0`` with ``zero``)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"fit: {name} must be an int, got {value!r}")
    if value < (0 if zero else 1):
        raise ValueError(f"fit: {name} must be >= {0 if zero else 1}, got {value}")


def _check_options(loss, optimizer, data, num_steps, batch_size, chunk_size,
                   start_step, callback, callback_every, validation_loss, patience,
                   return_best):  # fmt: skip
    """The checks of :func:`fit`'s arguments, before anything is traced."""
    _check_data(data, batch_size)
    _step.check_loss("fit", loss, with_data=data is not None)
    init, update = getattr(optimizer, "init", None), getattr(optimizer, "update", None)
    if not (callable(init) and callable(update)):
        raise TypeError(
            "fit: optimizer must be an optax GradientTransformation (with init "
            f"and update), got {optimizer!r}"
        )
    _positive("num_steps", num_steps, zero=True)
    _positive("start_step", start_step, zero=True)
    if chunk_size is not None:
        _positive("chunk_size", chunk_size)
    if patience is not None and validation_loss is None:
        raise ValueError("fit: patience needs validation_loss")
    if return_best and validation_loss is None:
        raise ValueError("fit: return_best=True needs validation_loss")
    if callback is None and callback_every is not None:
        raise ValueError(f"fit: callback_every={callback_every!r} needs a callback")
    if callback is not None:
        if not callable(callback):
            raise TypeError(f"fit: callback must be callable, got {callback!r}")
        if callback_every is None:
            raise ValueError("fit: callback needs callback_every, a number of steps")
        _positive("callback_every", callback_every)


def _plan(start: int, num_steps: int, chunk_size: int, every: int | None
          ) -> Iterator[tuple[int, bool, bool]]:  # fmt: skip
    """``(stop, validate, call)`` for each compiled call, in order.

    A call runs the steps up to ``stop``; chunks of ``chunk_size`` steps from
    ``start`` end where validation happens, multiples of ``every`` where the
    callback is called, and calls end at both, so a callback changes where
    calls end but not where validation happens.
    """
    end, step = start + num_steps, start
    while step < end:
        chunk_end = min(end, start + ((step - start) // chunk_size + 1) * chunk_size)
        stop = chunk_end
        if every is not None:
            stop = min(stop, (step // every + 1) * every)
        yield stop, stop == chunk_end, every is not None and stop % every == 0
        step = stop


class _Hooks(NamedTuple):
    """What runs between the chunks of :func:`fit`."""

    validate: Callable[[Any], Any] | None
    patience: int | None
    return_best: bool
    callback: Callback | None
    bar: _progress.Progress


class _Calls:
    """The callback's calls: the metrics since the last one, and what it returned."""

    def __init__(self, callback: Callback | None) -> None:
        self.callback, self.since = callback, 0
        self.steps: list[int] = []
        self.returned: list[dict[str, np.ndarray]] = []

    def __call__(self, step: int, params: Any, chunks: list[dict]) -> None:
        """Calls the callback with the metrics of ``chunks`` since the last call."""
        recent = _concatenate(chunks[self.since :])
        self.since = len(chunks)
        if self.callback is None:
            return
        out = self.callback(step, params, recent)
        if out is None:
            out = {}
        if not isinstance(out, Mapping):
            raise TypeError(
                "fit: callback must return None or a dict of metrics, got "
                f"{type(out).__name__} at step {step}"
            )
        taken = set(_RESERVED) | set(recent)
        clash = [k for k in out if not isinstance(k, str) or k in taken]
        if clash:
            raise ValueError(
                f"fit: the callback's metric names {clash} clash with the "
                f"history's {sorted(taken)}: rename them"
            )
        if self.returned and set(out) != set(self.returned[0]):
            raise ValueError(
                f"fit: the callback returned metrics {sorted(out)} at step {step}, "
                f"but {sorted(self.returned[0])} at step {self.steps[0]}: "
                "return the same names at every call"
            )
        self.steps.append(step)
        self.returned.append({k: np.asarray(v) for k, v in out.items()})

    def history(self) -> dict[str, np.ndarray]:
        """``callback_step`` and each returned metric, one row per call."""
        history = {"callback_step": np.array(self.steps, dtype=np.int64)}
        for name in self.returned[0] if self.returned else ():
            values = [r[name] for r in self.returned]
            if len({v.shape for v in values}) > 1:
                raise ValueError(
                    f"fit: the callback's metric {name!r} changed shape between "
                    f"calls: {sorted({v.shape for v in values})}"
                )
            history[name] = np.stack(values)
        return history


def _concatenate(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not chunks:
        return {"loss": np.zeros(0)}
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def _loop(key, state, data, plan, chunk, hooks: _Hooks) -> FitResult:
    """The chunks of :func:`fit`, with its history, callback, validation, progress.

    A chunk's metrics are read back (and the callback called) while the next
    chunk runs, so that the host's work between chunks overlaps the device's;
    only validation waits for the chunk it validates.
    """
    params, opt_state, start = state
    validate, bar = hooks.validate, hooks.bar
    step = start
    chunks: list[dict[str, np.ndarray]] = []
    checks: list[tuple[int, float]] = []
    calls = _Calls(hooks.callback)
    best, waited, pending = state, 0, None

    def record(metrics: dict, done: int, upto: int, params: Any, call: bool) -> None:
        chunks.append({k: np.asarray(m)[:done] for k, m in metrics.items()})
        bar.update(upto - start, chunks[-1]["loss"])
        if call:
            calls(upto, params, chunks)

    def improved() -> bool:  # validates the current params; whether they are best
        assert validate is not None  # called only when validating
        checks.append((step, float(validate(params))))
        return checks[-1][1] < min((v for _, v in checks[:-1]), default=math.inf)

    if validate is not None:
        improved()
    try:
        for stop, validating, calling in plan:
            params, opt_state, metrics = chunk(key, params, opt_state, data, step, stop)
            done, step = stop - step, stop
            if pending is not None:
                record(*pending)
            pending = (metrics, done, step, params, calling)
            if validate is None or not validating:
                continue
            record(*pending)
            pending = None
            if improved():
                best, waited = (params, opt_state, step), 0
            else:
                waited += 1
                if hooks.patience is not None and waited >= hooks.patience:
                    break
        if pending is not None:
            record(*pending)
    finally:
        bar.close()
    history = _concatenate(chunks)
    if hooks.callback is not None:
        history |= calls.history()
    if validate is not None:
        history["validation_step"] = np.array([s for s, _ in checks])
        history["validation_loss"] = np.array([v for _, v in checks])
    if hooks.return_best:
        return FitResult(best[0], best[1], history, best[2])
    return FitResult(params, opt_state, history, step)
