"""The checks run before timing: every contender computes the reference's output.

Every contender's output (or the part of it that ``check_output`` selects) is
compared with the row's reference contender's:

* ``same_noise=True``: the draws coincide (same key, same ``jax.random`` call),
  so the outputs must agree to float tolerance: on every leaf,
  ``max |a - b| <= EXACT_RTOL * max |b|``;
* ``same_noise=False``: the outputs are Monte Carlo estimates of the same
  quantity; each contender is called with ``mc_keys`` independent keys and every
  component's two means are compared by Welch's t-test, Bonferroni-corrected
  over the components at a family-wise false-positive rate of ``MC_ALPHA``.

A contender that fails its check is not timed, and the run fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

__all__ = ["EXACT_RTOL", "MC_ALPHA", "check_row"]

EXACT_RTOL = 1e-4
MC_ALPHA = 1e-3


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


def _checked(contender: Any, executable: Callable) -> Callable[..., Any]:
    """``executable`` (``contender.fn`` compiled) followed by ``check_output``."""
    select = contender.check_output
    return executable if select is None else lambda *a: select(executable(*a))


def check_row(
    row: Any,
    settings: Any,
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
        if c.same_noise and row.exact_at_proxy and row.check_proxy is not None:
            proxy = row.check_proxy()
            mine, theirs = (proxy.contender(n) for n in (c.name, proxy.reference))
            results[c.name] = _exact(
                _checked(mine, jax.jit(mine.fn))(*proxy.args),
                _checked(theirs, jax.jit(theirs.fn))(*proxy.args),
            )
            results[c.name]["detail"] += f" (checked at {proxy.size})"
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
