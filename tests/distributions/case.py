"""``Case``, one family under test, and the test functions ``FUNCTIONS``.

A module of its own, imported both by ``tests/registry.py`` and by the test file
of each family that holds its own case (``tests/distributions/test_<name>.py``
defines ``CASE = Case(...)``): the registry imports those test files, so they
must not import the registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxreparam.base import Family

# The Case fields that a family declaring ``natural_args`` states once, there.
_FROM_FAMILY = ("positive", "upper_bounds", "lower_bounds", "params_event_ndims")


@dataclasses.dataclass(frozen=True)
class Case:
    """One family under test.

    When the family declares ``natural_args`` (``jaxreparam.NaturalArg``: the
    domain and event axes of each argument of ``init``), ``positive``,
    ``upper_bounds``, ``lower_bounds`` and ``params_event_ndims`` are read from
    it and must not be restated here; otherwise the case states them.

    Attributes:
        family: the family bundle.
        natural: natural values for ``family.init`` with a non-trivial batch shape
            (numpy float64; the tests cast them).
        scipy: ``**natural -> frozen scipy.stats distribution`` (univariate only),
            the independent reference for densities, CDFs, moments and gradients.
        positive: natural arguments that must be strictly positive.
        invalid: more invalid inputs: ``(overrides, substring of the message)``.
        test_functions: names of ``FUNCTIONS`` whose expectation's gradient is
            checked against scipy (only those with a finite expectation).
        params_event_ndims: ``(name, n)`` for each natural value whose last ``n``
            axes are not batch axes (a mixture's component axis); others have 0.
        upper_bounds: natural arguments for which ``+inf`` is valid (an upper
            bound); the contract checks that ``-inf`` is rejected instead.
        lower_bounds: natural arguments for which ``-inf`` is valid (a lower
            bound).
        ordered: natural arguments that must increase in this order (a
            uniform's ``("low", "high")``); ``test_parameter_ends.py`` moves the
            others along when it moves one to an end of its range.
    """

    family: Family
    natural: dict[str, np.ndarray]
    scipy: Callable[..., Any] | None = None
    positive: tuple[str, ...] = ()
    invalid: tuple[tuple[dict[str, Any], str], ...] = ()
    test_functions: tuple[str, ...] = ("linear", "quadratic", "sin")
    params_event_ndims: tuple[tuple[str, int], ...] = ()
    upper_bounds: tuple[str, ...] = ()
    lower_bounds: tuple[str, ...] = ()
    ordered: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        declared = self.family.natural_args
        if not declared:
            return
        restated = [name for name in _FROM_FAMILY if getattr(self, name)]
        if restated:
            raise ValueError(
                f"Case({self.family.name}): {', '.join(restated)} come from the "
                "family's natural_args; do not restate them in the case"
            )
        derived = {
            "positive": tuple(a.name for a in declared if a.domain == "positive"),
            "upper_bounds": tuple(
                a.name for a in declared if a.domain == "upper_bound"
            ),
            "lower_bounds": tuple(
                a.name for a in declared if a.domain == "lower_bound"
            ),
            "params_event_ndims": tuple(
                (a.name, a.event_ndims) for a in declared if a.event_ndims
            ),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)


#: Functions ``f`` whose ``grad E[f(z)]`` is tested: name -> (jax f, numpy f).
FUNCTIONS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "linear": (lambda z: 2.0 * z - 1.0, lambda z: 2.0 * z - 1.0),
    "quadratic": (lambda z: z**2, lambda z: z**2),
    "sin": (jnp.sin, np.sin),
}


def floats(*values: float) -> np.ndarray:
    """``values`` as a float64 numpy array, for ``Case.natural``."""
    return np.asarray(values, dtype=np.float64)
