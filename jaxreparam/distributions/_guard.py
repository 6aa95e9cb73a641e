"""Checks wrapped around every family's ``log_prob`` (private).

:func:`log_prob` is applied by ``_bundle.family`` (and by the families built
outside it) to the family's own ``log_prob``; it adds the checks of issue 16
(event shapes at trace time, out-of-support values in checking mode) without
changing a single value the family computes.
"""

from __future__ import annotations

from collections.abc import Callable

from jaxreparam.base import Family


def log_prob(family: Family) -> Callable:
    """``family.log_prob`` with the checks above (for now: unchanged)."""
    return family.log_prob
