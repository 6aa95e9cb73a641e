"""The benchmark harness: contenders, rows, the gradient checks and the timings.

A *row* is one workload at one size. It holds the arguments (``args[0]`` is
always a PRNG key) and its *contenders*: pure functions ``fn(key, *data)`` of
those arguments, one per library, that compute the same thing. The reference
contender (hand-written JAX) is the one every ratio divides by.

Before anything is timed, every contender's output is checked against the
reference's (:mod:`benchmarks.checks`); a contender that fails is not timed.

Timing, in one process: each contender is lowered and compiled from a fresh
function (so nothing is cached), ``compile_repeats`` times, interleaved; the
compile time is the median of ``trace + lower + compile``. Then, in each of
``repeats`` rounds, every contender (and the row's floor) is timed in turn, the
starting contender rotating round-robin; one sample is the mean over ``n``
consecutive calls, each ending in ``jax.block_until_ready``, with ``n`` chosen
so that a sample lasts at least ``min_sample`` seconds. The time per call is the
median of the samples, in process CPU time (all threads) by default, wall-clock
time with ``Settings(clock="wall")``; both are recorded.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import math
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from benchmarks.checks import EXACT_RTOL, MC_ALPHA, check_row

__all__ = [
    "EXACT_RTOL",
    "MC_ALPHA",
    "Contender",
    "Row",
    "Settings",
    "check_row",
    "compile_row",
    "fingerprint",
    "measure",
    "time_row",
]

REFERENCE = "hand-written"


@dataclasses.dataclass
class Contender:
    """One library's version of a row's computation.

    Attributes:
        name: ``"jaxreparam"``, ``"hand-written"``, ``"numpyro"``, ``"distrax"``,
            ``"tfp"``, or a variant such as ``"jaxreparam (separate calls)"``.
        fn: ``fn(key, *data) -> pytree``, the function timed (jitted here).
        same_noise: whether its draws coincide with the reference's.
        check_output: selects what is checked from ``fn``'s output, if not
            all of it: an optimizer step is timed, and its gradient checked
            (Adam's first moment after one step from zero is ``(1 - b1)``
            times the gradient).
        jit: whether ``fn`` is jitted here; ``False`` for a Python function
            that calls jitted code itself (a training loop), whose compile
            time is then its first call's less a later call's.
    """

    name: str
    fn: Callable[..., Any]
    same_noise: bool = True
    check_output: Callable[[Any], Any] | None = None
    jit: bool = True


@dataclasses.dataclass
class Row:
    """One workload at one size.

    Attributes:
        workload: the workload's name, e.g. ``"normal pathwise gradient"``.
        size: a short description of the size, e.g. ``"S=1000 D=100"``.
        elements: the number of random draws per call (to order the sizes).
        args: ``(key, *data)``.
        contenders: the contenders; one is named ``reference``.
        floor: optional ``floor(key, *data)``: drawing the noise alone and one
            pass over it, what the hardware must do anyway.
        memory_bound: whether the row should be within 2x of its floor.
        check_proxy: optional factory of a smaller row of the same workload,
            at which the Monte Carlo checks are made (for rows too costly to
            call ``2 * mc_keys`` times).
        exact_at_proxy: make the exact (same-noise) checks at ``check_proxy``
            too: for a map whose gradient jumps at points (a spline's knots),
            where at a large size some input lies within an ulp of a jump and
            the contenders' float32 roundings put it on different sides.
        compare: extra ratios to report, ``{label: (contender, contender)}``.
        notes: anything the reader should know about the row.
        reference: the contender the others are checked against and divided
            by: hand-written JAX, unless JAX has no sampler for the family.
    """

    workload: str
    size: str
    elements: int
    args: tuple
    contenders: list[Contender]
    floor: Callable[..., Any] | None = None
    memory_bound: bool = False
    check_proxy: Callable[[], Row] | None = None
    exact_at_proxy: bool = False
    compare: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    notes: str = ""
    reference: str = REFERENCE

    def contender(self, name: str) -> Contender:
        return next(c for c in self.contenders if c.name == name)


@dataclasses.dataclass
class Settings:
    """How hard to measure, and with which clock.

    Each row gets ``repeats`` timing rounds, or more (up to ``max_repeats``)
    while they fit in ``round_budget`` seconds.

    ``clock="cpu"`` ranks by process CPU time per call (all threads): on a
    machine shared with other work, wall-clock time mostly measures the
    scheduler. ``clock="wall"`` ranks by wall-clock time. Both are recorded.
    """

    repeats: int = 7
    max_repeats: int = 61
    round_budget: float = 1.0
    compile_repeats: int = 1
    min_sample: float = 0.005
    max_calls: int = 200
    mc_keys: int = 32
    clock: str = "cpu"


# --------------------------------------------------------------------------- #
# Timing.


def _compile(fn: Callable, args: tuple, jit: bool) -> tuple[Any, float, float]:
    """The executable and the wall and CPU seconds it took.

    A contender that is not jitted here (a Python loop around jitted steps) is
    its own executable; its compile time is that of the first call, from which
    :func:`time_row` later subtracts the time of a call.
    """
    start, cpu = time.perf_counter(), time.process_time()
    if jit:
        fresh = lambda *a: fn(*a)  # a new function: nothing cached from before
        compiled = jax.jit(fresh).lower(*args).compile()
    else:
        compiled = fn
        jax.block_until_ready(fn(*args))
    return compiled, time.perf_counter() - start, time.process_time() - cpu


def fingerprint(compiled: Any) -> str:
    """The optimized HLO's computations, without source locations."""
    if not hasattr(compiled, "as_text"):
        return ""
    lines = compiled.as_text().splitlines()
    keep = [ln for ln in lines if ln.lstrip().startswith(("%", "ENTRY", "ROOT", "}"))]
    return re.sub(r", metadata=\{[^}]*\}", "", "\n".join(keep))


def _iqr(values: list[float]) -> float:
    return float(np.subtract(*np.percentile(values, [75, 25])))


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12] if text else ""


def _sample(fn: Callable, args: tuple, calls: int) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        jax.block_until_ready(fn(*args))
    wall = (time.perf_counter() - start) / calls
    return wall, (time.process_time() - cpu) / calls


def compile_row(
    row: Row, settings: Settings, warm_up: bool = False
) -> tuple[dict, dict]:
    """Compiles every contender (and the floor), interleaved.

    Args:
        row: the row.
        settings: ``compile_repeats`` is read.
        warm_up: first compile every jitted contender once, untimed, so that
            one-time costs (first traces of a library's functions in the
            process) fall on no contender's compile time.

    Returns:
        ``(executables, compile seconds)``, by name; the seconds are
        ``{"wall", "cpu", "wall_samples", "cpu_samples", "jit"}``.
    """
    fns = {c.name: (c.fn, c.jit) for c in row.contenders}
    if row.floor is not None:
        fns["floor"] = (row.floor, True)
    order = list(fns)
    if warm_up:
        for fn, jit in fns.values():
            if jit:
                _compile(fn, row.args, jit)
    compiled: dict[str, Any] = {}
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in order}
    for r in range(settings.compile_repeats):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            fn, jit = fns[name]
            if not jit and name in compiled:
                continue  # its first call compiled it; later calls cannot
            compiled[name], wall, cpu = _compile(fn, row.args, jit)
            seconds[name].append((wall, cpu))
    medians = {
        name: {
            "wall": statistics.median(w for w, _ in v),
            "cpu": statistics.median(c for _, c in v),
            "wall_samples": [w for w, _ in v],
            "cpu_samples": [c for _, c in v],
            "jit": fns[name][1],
        }
        for name, v in seconds.items()
    }
    return compiled, medians


def time_row(
    row: Row, compiled: dict, compile_seconds: dict, settings: Settings
) -> dict:
    """Times the executables ``compiled`` (by name), interleaved.

    Returns, by name: ``wall`` and ``cpu``, the median wall-clock and process
    CPU (all threads) seconds per call, with their interquartile ranges
    ``wall_iqr`` and ``cpu_iqr``; ``time``, one of the two (``settings.clock``);
    ``compile``, the median seconds to trace, lower and compile, with
    ``compile_wall`` and ``compile_cpu``; ``calls_per_sample``, ``samples``,
    and ``hlo``, a hash of the optimized HLO.
    """
    order = list(compiled)
    calls, once_of = {}, {}
    for name in order:
        jax.block_until_ready(compiled[name](*row.args))  # warm up
        once = min(_sample(compiled[name], row.args, 1)[0] for _ in range(3))
        calls[name] = max(
            1, min(settings.max_calls, math.ceil(settings.min_sample / once))
        )
        once_of[name] = once
    # Cheap rows get more rounds, up to ``round_budget`` seconds in all.
    round_time = sum(calls[name] * once_of[name] for name in order)
    repeats = max(
        settings.repeats,
        min(settings.max_repeats, int(settings.round_budget / max(round_time, 1e-9))),
    )
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in order}
    gc.collect()
    gc.disable()
    try:
        for r in range(repeats):
            for name in order[r % len(order) :] + order[: r % len(order)]:
                samples[name].append(_sample(compiled[name], row.args, calls[name]))
    finally:
        gc.enable()
    out = {}
    for name in order:
        wall, cpu = (np.array(x) for x in zip(*samples[name], strict=True))
        first = compile_seconds[name]
        compile_wall = first["wall"] - (0 if first["jit"] else np.median(wall))
        compile_cpu = first["cpu"] - (0 if first["jit"] else np.median(cpu))
        out[name] = {
            "time": float(np.median(cpu if settings.clock == "cpu" else wall)),
            "wall": float(np.median(wall)),
            "wall_iqr": _iqr(wall),
            "cpu": float(np.median(cpu)),
            "cpu_iqr": _iqr(cpu),
            "compile": float(compile_cpu if settings.clock == "cpu" else compile_wall),
            "compile_wall": float(compile_wall),
            "compile_cpu": float(compile_cpu),
            "compile_iqr": _iqr(first[f"{settings.clock}_samples"]),
            "compile_samples": len(first["cpu_samples"]),
            "calls_per_sample": calls[name],
            "samples": len(wall),
            "hlo": _hash(fingerprint(compiled[name])),
        }
    return out


def measure(
    row: Row, settings: Settings, cache: dict | None = None, warm_up: bool = False
) -> dict:
    """Compiles, checks, then times ``row``: ``{"checks": ..., "times": ...}``.

    Only the contenders that pass their check are timed (none if the reference
    fails to run). ``warm_up`` is :func:`compile_row`'s (for a workload's first
    row).
    """
    compiled, seconds = compile_row(row, settings, warm_up)
    checks = check_row(row, settings, compiled, cache)
    keep = {
        name: exe
        for name, exe in compiled.items()
        if name == "floor" or checks[name]["passed"]
    }
    return {"checks": checks, "times": time_row(row, keep, seconds, settings)}
