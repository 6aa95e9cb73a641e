"""Fitting variational parameters with optax: a pure step, and a loop around it.

``make_step(loss, optimizer)`` returns a pure, jittable
``step(key, params, opt_state, batch=None) -> (params, opt_state, metrics)`` for
the user's own loop. ``fit`` runs that step under ``jax.lax.scan`` in chunks of
``chunk_size`` steps: each chunk is one call of one compiled function, and
between chunks it reports progress, records the history and evaluates an
optional validation loss for early stopping.

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
import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxreparam.base import Array, ArrayLike
from jaxreparam.train import _progress, parallel

Loss = Callable[..., Any]


class FitResult(NamedTuple):
    """What :func:`fit` returns.

    Attributes:
        params: the fitted params (with early stopping, the best ones seen).
        opt_state: the optimizer state that goes with ``params``.
        history: ``{"loss": (n,), <metric>: (n, ...), ...}`` over the ``n``
            steps run, as numpy arrays; with a validation loss also
            ``"validation_loss"`` and ``"validation_step"``, the step count at
            which each value was taken.
        step: the number of steps that produced ``params``, counted from the
            start of the first fit: pass it as ``start_step`` to resume.
    """

    params: Any
    opt_state: Any
    history: dict[str, np.ndarray]
    step: int


def _call(loss: Loss, key: Array, params: Any, batch: Any) -> tuple[Array, dict]:
    """``loss(key, params[, batch])`` split into a checked scalar and metrics."""
    out = loss(key, params) if batch is None else loss(key, params, batch)
    value, metrics = out if isinstance(out, tuple) else (out, {})
    if not isinstance(metrics, dict) or "loss" in metrics:
        raise TypeError(
            "loss must return a scalar or (scalar, dict of metrics) with no "
            f"'loss' key, got metrics {metrics!r}"
        )
    if jnp.ndim(value) != 0:
        raise TypeError(f"loss must return a scalar, got shape {jnp.shape(value)}")
    return value, metrics


def make_step(loss: Loss, optimizer: optax.GradientTransformation) -> Callable:
    """A pure optimizer step on ``loss``, for ``jax.jit`` and the user's loop.

    Args:
        loss: ``loss(key, params)``, or ``loss(key, params, batch)`` when called
            with a batch, returning a scalar to minimise or ``(scalar, metrics)``
            with ``metrics`` a dict of arrays.
        optimizer: any optax ``GradientTransformation``.

    Returns:
        ``step(key, params, opt_state, batch=None) -> (params, opt_state,
        metrics)``, where ``metrics`` is ``{"loss": loss value, **metrics}``,
        the loss at the params before the update.

    Examples:
        >>> import jax, optax
        >>> from jaxreparam.train import make_step
        >>> loss = lambda key, params: (params - 3.0) ** 2
        >>> optimizer = optax.sgd(0.25)
        >>> step = jax.jit(make_step(loss, optimizer))
        >>> params, state, metrics = step(jax.random.key(0), 1.0, optimizer.init(1.0))
        >>> float(params), float(metrics["loss"])
        (2.0, 4.0)
    """

    def step(
        key: ArrayLike, params: Any, opt_state: Any, batch: Any = None
    ) -> tuple[Any, Any, dict[str, Array]]:
        grad = jax.value_and_grad(lambda p: _call(loss, key, p, batch), has_aux=True)
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
    step = make_step(loss, optimizer)
    loss_key, data_key = jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)

    def run(carry, t):
        params, opt_state, perm = carry
        if batch_size is None:
            batch = parallel.shard_leading(data)  # a no-op without a mesh
        else:
            batch, perm = _batch(data_key, data, perm, t, batch_size)
        step_key = jax.random.fold_in(loss_key, t)
        params, opt_state, metrics = step(step_key, params, opt_state, batch)
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


def _compiled_chunk(loss, optimizer, length, masked, batch_size) -> Callable:
    """``jax.jit`` of :func:`_chunk` for one configuration, made once and reused.

    Closing over the configuration (rather than marking it static) keeps each
    call on jit's fast path; the cache, keyed by the loss and optimizer
    objects, keeps a second (resumed) fit from recompiling. An unhashable loss
    or optimizer is compiled afresh for each fit.
    """
    return _cached(_jit_chunk, loss, optimizer, length, masked, batch_size)


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
    validation_loss: Callable[[Any], ArrayLike] | None = None,
    patience: int | None = None,
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
        loss: ``loss(key, params)``, or ``loss(key, params, batch)`` with data,
            returning a scalar or ``(scalar, dict of metrics)``. A minibatch
            loss should scale its likelihood by ``N / batch_size`` itself.
        optimizer: any optax ``GradientTransformation``.
        num_steps: the number of steps to run in this call.
        batch_size: examples per step, or ``None`` for the whole data set.
        chunk_size: steps per compiled chunk; progress, history and validation
            happen between chunks. Default: all steps in one chunk when nothing
            reports between chunks, otherwise about 1/20 of ``num_steps``.
        opt_state: the optimizer state to resume from (default
            ``optimizer.init(params)``).
        start_step: the step count of ``params`` and ``opt_state``, for resuming.
        validation_loss: ``validation_loss(params) -> scalar`` to minimise,
            evaluated at the start and after each chunk; close over a fixed key
            if it is random. The best params seen are returned.
        patience: with ``validation_loss``, stop after this many evaluations
            without improvement.
        progress: a bar (tqdm, or printed lines) between chunks. ``None``: only
            on a terminal outside CI (numpyro's rule); ``True``/``False``: on/off.
        mesh: a ``jax.sharding.Mesh`` to run data-parallel on: params and
            optimizer state replicated, the batch (and any draws the loss passes
            through ``parallel.shard_leading``) split along the leading axis.

    Returns:
        A :class:`FitResult`.

    The compiled chunk is cached by ``(loss, optimizer, chunk size, ...)``: pass
    the same ``loss`` and ``optimizer`` objects to a resumed fit, and it starts
    without compiling. A loss built anew for each call compiles each time.

    Examples:
        >>> import jax, jax.numpy as jnp, optax
        >>> from jaxreparam.train import fit
        >>> def loss(key, params, batch):
        ...     return jnp.mean((batch["x"] * params["w"] - batch["y"]) ** 2)
        >>> x = jnp.linspace(-1.0, 1.0, 64)
        >>> result = fit(jax.random.key(0), {"w": 0.0}, {"x": x, "y": 2 * x},
        ...     loss=loss, optimizer=optax.adam(0.1), num_steps=300, batch_size=16)
        >>> round(float(result.params["w"]), 2), result.step
        (2.0, 300)
    """
    _check_data(data, batch_size)
    if num_steps < 0:
        raise ValueError(f"fit: num_steps must be >= 0, got {num_steps}")
    if patience is not None and validation_loss is None:
        raise ValueError("fit: patience needs validation_loss")
    if opt_state is None:
        opt_state = _cached(_jit_init, optimizer)(params)
    reporting = _progress.wanted(progress) or validation_loss is not None
    if chunk_size is None:
        chunk_size = max(1, math.ceil(num_steps / 20)) if reporting else num_steps
    chunk_size = max(1, min(chunk_size, num_steps))
    masked = num_steps % chunk_size != 0
    chunk = _compiled_chunk(loss, optimizer, chunk_size, masked, batch_size)
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
        run = (chunk, chunk_size, validate, patience, bar)
        return _loop(key, state, data, num_steps, *run)


def _loop(key, state, data, num_steps, chunk, length, validate, patience, bar):
    """The chunks of :func:`fit`, with its history, validation and progress.

    Without validation, a chunk's metrics are read back while the next chunk
    runs, so that the host's work between chunks overlaps the device's.
    """
    params, opt_state, start = state
    end, step = start + num_steps, start
    chunks: list[dict[str, np.ndarray]] = []
    checks: list[tuple[int, float]] = []
    best, waited, pending = state, 0, None

    def record(metrics: dict, done: int, upto: int) -> None:
        chunks.append({k: np.asarray(m)[:done] for k, m in metrics.items()})
        bar.update(upto - start, chunks[-1]["loss"])

    def improved() -> bool:  # validates the current params; whether they are best
        checks.append((step, float(validate(params))))
        return checks[-1][1] < min((v for _, v in checks[:-1]), default=math.inf)

    if validate is not None:
        improved()
    try:
        while step < end:
            params, opt_state, metrics = chunk(key, params, opt_state, data, step, end)
            done = min(length, end - step)
            step += done
            if pending is not None:
                record(*pending)
            pending = (metrics, done, step)
            if validate is None:
                continue
            record(*pending)
            pending = None
            if improved():
                best, waited = (params, opt_state, step), 0
            else:
                waited += 1
                if patience is not None and waited >= patience:
                    break
        if pending is not None:
            record(*pending)
    finally:
        bar.close()
    history = {"loss": np.zeros(0)}
    if chunks:
        history = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    if validate is None:
        return FitResult(params, opt_state, history, step)
    history["validation_step"] = np.array([s for s, _ in checks])
    history["validation_loss"] = np.array([v for _, v in checks])
    return FitResult(best[0], best[1], history, best[2])
