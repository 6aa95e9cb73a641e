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

All use the same keys and must return the same params and losses.
"""

from __future__ import annotations

import jax
import optax

from benchmarks import fit_loop
from benchmarks.harness import Contender, Row

__all__ = ["make", "rows"]

WORKLOAD = "fit loop (Adam)"
SIZES = {"quick": [("tiny", 2_000)], "full": [("tiny", 20_000), ("logistic", 2_000)]}
NAMES = {
    "scan": "hand-written",
    "python loop": "hand-written (python loop)",
    "fit": "jaxreparam",
    "fit, progress": "jaxreparam (progress)",
    "fit, uneven chunks": "jaxreparam (uneven chunks)",
}


def _call(run):
    return lambda key: run()


def make(problem: str, num_steps: int) -> Row:
    """The row fitting ``problem`` for ``num_steps`` steps."""
    loss, params, data, _ = fit_loop.problems()[problem]
    runs = fit_loop.contenders(loss, params, data, num_steps, optax.adam(0.01))
    return Row(
        workload=WORKLOAD,
        size=f"{problem}, {num_steps} steps",
        elements=num_steps,
        args=(jax.random.key(0),),
        contenders=[
            Contender(NAMES.get(name, name), _call(run), jit=False)
            for name, run in runs.items()
        ],
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    return [make(problem, steps) for problem, steps in SIZES[mode]]
