"""Workload 3: implicit reparameterization gradients of Gamma, Beta, Dirichlet draws.

The rows are :mod:`benchmarks.implicit_gradients`'s (the families' owner's:
jaxreparam, hand-written ``jax.random.gamma`` / ``beta`` / ``dirichlet``,
numpyro and TFP, concentrations log-uniform on ``[0.1, 100]``); this module
keeps only the Gamma row in quick mode, which CI runs.
"""

from __future__ import annotations

from benchmarks import implicit_gradients
from benchmarks.harness import Row

__all__ = ["rows"]


def rows(mode: str) -> list[Row]:
    """``implicit_gradients.rows(mode)``; in quick mode the first (Gamma) alone."""
    theirs = list(implicit_gradients.rows(mode))
    return theirs[:1] if mode == "quick" else theirs
