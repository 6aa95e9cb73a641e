"""Workload 7: ``jaxreparam.fit.fit`` against hand-written optax loops, as rows.

The problems and loops are :mod:`benchmarks.fit_loop`'s (a Bayesian logistic
regression and a 4-dimensional Gaussian whose steps take microseconds); this
module turns them into harness rows. Each contender is one whole fit, a Python
function calling its own jitted code (so its compile time is its first call's
less a later call's):

* ``hand-written``: one ``jax.jit`` of a ``lax.scan`` over every step, the loop
  an expert writes and the bar;
* ``hand-written (python loop)``: a jitted step called from a Python loop;
* ``jaxreparam``: ``fit(..., progress=False)``;
* ``jaxreparam (progress)``: 20 chunks with a report between them;
* ``jaxreparam (uneven chunks)``: a chunk size that does not divide the steps,
  so every step runs under the ``lax.cond`` masking the last chunk.

One row passes the data as an argument, one closes the loss over them (where
``fit_loop`` has both). All use the same keys and must return the same params
and losses.
"""

from __future__ import annotations

import jax
import optax

from benchmarks import fit_loop
from benchmarks.harness import Contender, Row

__all__ = ["make", "rows"]

WORKLOAD = "fit loop (Adam)"
SIZES = {"quick": [("tiny", 2_000)], "full": [("tiny", 20_000), ("logistic", 2_000)]}
STYLES = {"scan": "data as argument", "scan, closure": "data closed over"}


def _call(run):
    return lambda key: run()


def _name(name: str, against: str) -> str:
    """``fit_loop``'s contender names in the harness's vocabulary."""
    if name == against:
        return "hand-written"
    if not name.startswith("fit"):
        return f"hand-written ({name})"
    rest = [p for p in name.split(", ")[1:] if p != "closure"]
    return "jaxreparam" + (f" ({', '.join(rest)})" if rest else "")


def make(problem: str, num_steps: int) -> list[Row]:
    """The rows fitting ``problem`` for ``num_steps`` steps, one per data style.

    ``fit_loop.contenders`` maps names to ``(run, name of the scan to compare
    with)``: the data passed as an argument or closed over by the loss.
    """
    loss, params, data, _ = fit_loop.problems()[problem]
    runs = fit_loop.contenders(loss, params, data, num_steps, optax.adam(0.01))
    groups: dict[str, list[Contender]] = {}
    for name, value in runs.items():
        run, against = value if isinstance(value, tuple) else (value, "scan")
        contender = Contender(_name(name, against), _call(run), jit=False)
        groups.setdefault(against, []).append(contender)
    return [
        Row(
            workload=WORKLOAD,
            size=f"{problem}, {num_steps} steps, {STYLES.get(against, against)}",
            elements=num_steps,
            args=(jax.random.key(0),),
            contenders=contenders,
        )
        for against, contenders in groups.items()
    ]


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    return [row for problem, steps in SIZES[mode] for row in make(problem, steps)]
