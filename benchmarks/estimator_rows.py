"""Extra workload: the score-function estimator against the same written by hand.

The functions are :mod:`benchmarks.estimator_overhead`'s: for a diagonal
Gaussian (a batch of ``D`` Normals) with ``S`` draws, the jitted gradient of
``E[f(z)]``, ``f(z) = |z|^2 / 2``, through ``jax.grad(estimators.score_function)``
(``jaxreparam``), through the same surrogate written inline (``hand-written``),
and in closed form with no autodiff (``hand-written (closed form)``). The
pathwise estimator's row is :mod:`benchmarks.normal_pathwise`. Every contender
draws the same noise. No peer has a score-function estimator.
"""

from __future__ import annotations

import jax

from benchmarks import estimator_overhead
from benchmarks.harness import Contender, Row

__all__ = ["make", "rows"]

WORKLOAD = "score-function gradient"
SIZES = {"quick": [(16, 1_000)], "full": [(16, 10), (16, 1_000), (4, 100_000)]}
NAMES = {"by hand": "hand-written", "closed form": "hand-written (closed form)"}


def make(num_samples: int, dims: int) -> Row:
    """The row at ``num_samples`` draws of ``dims`` dimensions."""
    k1, k2 = jax.random.split(jax.random.key(1))
    loc = jax.random.normal(k1, (dims,))
    log_scale = 0.3 * jax.random.normal(k2, (dims,))
    funs = estimator_overhead.contenders("score_function", num_samples)
    return Row(
        workload=WORKLOAD,
        size=f"S={num_samples} D={dims}",
        elements=num_samples * dims,
        args=(jax.random.key(0), loc, log_scale),
        contenders=[Contender(NAMES.get(k, k), f) for k, f in funs.items()],
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    return [make(s, d) for s, d in SIZES[mode]]
