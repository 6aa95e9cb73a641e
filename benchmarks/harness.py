"""The benchmark harness: contenders, rows, the gradient checks and the timings.

A *row* is one workload at one size. It holds the arguments (``args[0]`` is
always a PRNG key) and its *contenders*: pure functions ``fn(key, *data)`` of
those arguments, one per library, that compute the same thing. The reference
contender (hand-written JAX) is the one every ratio divides by.

Before anything is timed, every contender's output (or the part of it that
``check_output`` selects) is compared with the reference's:

* ``same_noise=True``: the draws coincide (same key, same ``jax.random`` call),
  so the outputs must agree to float tolerance: on every leaf,
  ``max |a - b| <= EXACT_RTOL * max |b|``;
* ``same_noise=False``: the outputs are Monte Carlo estimates of the same
  quantity; each contender is called with ``mc_keys`` independent keys and every
  component's two means are compared by Welch's t-test, Bonferroni-corrected
  over the components at a family-wise false-positive rate of ``MC_ALPHA``.

A contender that fails its check is not timed, and the run fails.

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

__all__ = [
    "Contender",
    "Row",
    "Settings",
    "check_row",
    "compile_row",
    "fingerprint",
    "measure",
    "time_row",
]

EXACT_RTOL = 1e-4
MC_ALPHA = 1e-3
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
    compare: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    notes: str = ""
    reference: str = REFERENCE

    def contender(self, name: str) -> Contender:
        return next(c for c in self.contenders if c.name == name)


@dataclasses.dataclass
class Settings:
    """How hard to measure, and with which clock.

    ``clock="cpu"`` ranks by process CPU time per call (all threads): on a
    machine shared with other work, wall-clock time mostly measures the
    scheduler. ``clock="wall"`` ranks by wall-clock time. Both are recorded.
    """

    repeats: int = 7
    compile_repeats: int = 1
    min_sample: float = 0.005
    max_calls: int = 200
    mc_keys: int = 32
    clock: str = "cpu"


# --------------------------------------------------------------------------- #
# Checks.


def _leaves(tree: Any) -> list[np.ndarray]:
    return [np.asarray(x, np.float64) for x in jax.tree.leaves(tree)]


def _exact(out: Any, ref: Any) -> dict:
    a, b = _leaves(out), _leaves(ref)
    if [x.shape for x in a] != [x.shape for x in b]:
        shapes = ([x.shape for x in a], [x.shape for x in b])
        return {"kind": "exact", "passed": False, "detail": f"shapes {shapes}"}
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        scale = float(np.max(np.abs(y))) if y.size else 0.0
        err = float(np.max(np.abs(x - y))) if y.size else 0.0
        worst = max(worst, err / scale if scale > 0 else (math.inf if err else 0.0))
    return {
        "kind": "exact",
        "passed": bool(worst <= EXACT_RTOL),
        "detail": f"max relative error {worst:.1e} (tolerance {EXACT_RTOL:.0e})",
    }


def _draws(fn: Callable, args: tuple, keys: list) -> np.ndarray:
    rows = []
    for key in keys:
        out = fn(key, *args[1:])
        rows.append(np.concatenate([x.ravel() for x in _leaves(out)]))
    return np.stack(rows)


def _monte_carlo(fn: Callable, ref: Callable, args: tuple, num_keys: int) -> dict:
    from scipy import stats

    keys = list(jax.random.split(jax.random.key(12345), 2 * num_keys))
    a = _draws(fn, args, keys[:num_keys])
    b = _draws(ref, args, keys[num_keys:])
    diff = a.mean(0) - b.mean(0)
    se = np.sqrt(a.var(0, ddof=1) / num_keys + b.var(0, ddof=1) / num_keys)
    scale = np.max(np.abs(b.mean(0))) + 1e-30
    degenerate = se <= 1e-12 * scale
    if np.any(degenerate & (np.abs(diff) > EXACT_RTOL * scale)):
        return {"kind": "monte carlo", "passed": False, "detail": "constant mismatch"}
    t = np.abs(diff[~degenerate]) / se[~degenerate]
    worst = float(t.max()) if t.size else 0.0
    p = 2 * stats.t.sf(worst, 2 * num_keys - 2) if t.size else 1.0
    bonferroni = float(min(1.0, p * max(t.size, 1)))
    return {
        "kind": "monte carlo",
        "passed": bool(bonferroni > MC_ALPHA),
        "detail": (
            f"{num_keys} keys each, {t.size} components, max |t| {worst:.2f}, "
            f"Bonferroni p {bonferroni:.2g} (reject below {MC_ALPHA:g})"
        ),
    }


def _checked(contender: Contender, executable: Callable) -> Callable[..., Any]:
    """``executable`` (``contender.fn`` compiled) followed by ``check_output``."""
    select = contender.check_output
    return executable if select is None else lambda *a: select(executable(*a))


def check_row(
    row: Row,
    settings: Settings,
    compiled: dict | None = None,
    cache: dict | None = None,
) -> dict:
    """Checks every contender of ``row`` against the reference; by name.

    Args:
        row: the row.
        settings: ``mc_keys`` is read.
        compiled: executables of the contenders' functions, by name (else
            they are jitted here).
        cache: a dict kept across rows, holding the Monte Carlo results of rows
            checked through the same ``check_proxy``.
    """
    cache = {} if cache is None else cache
    compiled = compiled or {}
    run = {
        c.name: _checked(c, compiled.get(c.name) or jax.jit(c.fn))
        for c in row.contenders
    }
    ref_out = run[row.reference](*row.args)
    results = {row.reference: {"kind": "reference", "passed": True, "detail": ""}}
    for c in row.contenders:
        if c.name == row.reference:
            continue
        if c.same_noise:
            results[c.name] = _exact(run[c.name](*row.args), ref_out)
            continue
        proxy = row if row.check_proxy is None else row.check_proxy()
        token = (proxy.workload, proxy.size, c.name)
        if token not in cache:
            fn, ref = run[c.name], run[row.reference]
            if proxy is not row:
                mine, theirs = (proxy.contender(n) for n in (c.name, proxy.reference))
                fn = _checked(mine, jax.jit(mine.fn))
                ref = _checked(theirs, jax.jit(theirs.fn))
            cache[token] = _monte_carlo(fn, ref, proxy.args, settings.mc_keys)
            if proxy is not row:
                cache[token]["detail"] += f" (checked at {proxy.size})"
        results[c.name] = cache[token]
    return results


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


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12] if text else ""


def _sample(fn: Callable, args: tuple, calls: int) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        jax.block_until_ready(fn(*args))
    wall = (time.perf_counter() - start) / calls
    return wall, (time.process_time() - cpu) / calls


def compile_row(row: Row, settings: Settings) -> tuple[dict, dict]:
    """Compiles every contender (and the floor), interleaved.

    Returns:
        ``(executables, compile seconds)``, by name.
    """
    fns = {c.name: (c.fn, c.jit) for c in row.contenders}
    if row.floor is not None:
        fns["floor"] = (row.floor, True)
    order = list(fns)
    compiled: dict[str, Any] = {}
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in order}
    for r in range(settings.compile_repeats):
        for name in order[r % len(order) :] + order[: r % len(order)]:
            fn, jit = fns[name]
            compiled[name], wall, cpu = _compile(fn, row.args, jit)
            seconds[name].append((wall, cpu))
    medians = {
        name: {
            "wall": statistics.median(w for w, _ in v),
            "cpu": statistics.median(c for _, c in v),
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
    calls = {}
    for name in order:
        jax.block_until_ready(compiled[name](*row.args))  # warm up
        once = min(_sample(compiled[name], row.args, 1)[0] for _ in range(3))
        calls[name] = max(
            1, min(settings.max_calls, math.ceil(settings.min_sample / once))
        )
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in order}
    gc.collect()
    gc.disable()
    try:
        for r in range(settings.repeats):
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
            "wall_iqr": float(np.subtract(*np.percentile(wall, [75, 25]))),
            "cpu": float(np.median(cpu)),
            "cpu_iqr": float(np.subtract(*np.percentile(cpu, [75, 25]))),
            "compile": float(compile_cpu if settings.clock == "cpu" else compile_wall),
            "compile_wall": float(compile_wall),
            "compile_cpu": float(compile_cpu),
            "calls_per_sample": calls[name],
            "samples": len(wall),
            "hlo": _hash(fingerprint(compiled[name])),
        }
    return out


def measure(row: Row, settings: Settings, cache: dict | None = None) -> dict:
    """Compiles, checks, then times ``row``: ``{"checks": ..., "times": ...}``.

    Only the contenders that pass their check are timed (none if the reference
    fails to run).
    """
    compiled, seconds = compile_row(row, settings)
    checks = check_row(row, settings, compiled, cache)
    keep = {
        name: exe
        for name, exe in compiled.items()
        if name == "floor" or checks[name]["passed"]
    }
    return {"checks": checks, "times": time_row(row, keep, seconds, settings)}
