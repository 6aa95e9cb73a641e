"""The registry of every family under test: one ``Case`` each.

The contract tests (``test_contract.py``) run every generic check over ``CASES``;
the univariate tests (``test_univariate.py``) also compare each case that has a
``scipy`` reference against scipy.stats, sample by sample and gradient by
gradient. To put a new family under test, add one ``Case`` here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
import scipy.stats as st

import jaxreparam as jr
from jaxreparam.base import Family


@dataclasses.dataclass(frozen=True)
class Case:
    """One family under test.

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
    """

    family: Family
    natural: dict[str, np.ndarray]
    scipy: Callable[..., Any] | None = None
    positive: tuple[str, ...] = ()
    invalid: tuple[tuple[dict[str, Any], str], ...] = ()
    test_functions: tuple[str, ...] = ("linear", "quadratic", "sin")


#: Functions ``f`` whose ``grad E[f(z)]`` is tested: name -> (jax f, numpy f).
FUNCTIONS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "linear": (lambda z: 2.0 * z - 1.0, lambda z: 2.0 * z - 1.0),
    "quadratic": (lambda z: z**2, lambda z: z**2),
    "sin": (jnp.sin, np.sin),
}


def _a(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


class _KumaraswamyReference(st.rv_continuous):
    """Kumaraswamy(a, b) on (0, 1) from its textbook formulas (scipy has none).

    Moments and entropy are left to scipy's generic quadrature, so they share
    no formula with the library's closed forms.
    """

    def _pdf(self, x, a, b):
        return a * b * x ** (a - 1) * (1 - x**a) ** (b - 1)

    def _cdf(self, x, a, b):
        return 1 - (1 - x**a) ** b

    def _ppf(self, q, a, b):
        return (1 - (1 - q) ** (1 / b)) ** (1 / a)


kumaraswamy_reference = _KumaraswamyReference(a=0.0, b=1.0, name="kumaraswamy")


CASES: dict[str, Case] = {
    "normal": Case(
        jr.normal.family,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.norm(loc, scale),
        positive=("scale",),
    ),
    "exponential": Case(
        jr.exponential.family,
        {"rate": _a(1.5, 0.3)},
        scipy=lambda rate: st.expon(scale=1.0 / rate),
        positive=("rate",),
    ),
    "half_normal": Case(
        jr.half_normal.family,
        {"scale": _a(1.5, 0.3)},
        scipy=lambda scale: st.halfnorm(scale=scale),
        positive=("scale",),
    ),
    "uniform": Case(
        jr.uniform.family,
        {"low": _a(0.5, -1.0), "high": _a(2.0, 0.3)},
        scipy=lambda low, high: st.uniform(low, high - low),
        invalid=(({"low": 5.0, "high": 1.0}, "high"),),
    ),
    "weibull": Case(
        jr.weibull.family,
        {"scale": _a(1.5, 0.7), "concentration": _a(2.0, 0.8)},
        scipy=lambda scale, concentration: st.weibull_min(c=concentration, scale=scale),
        positive=("scale", "concentration"),
    ),
    "kumaraswamy": Case(
        jr.kumaraswamy.family,
        {"concentration1": _a(2.0, 0.8), "concentration0": _a(3.0, 1.5)},
        scipy=lambda concentration1, concentration0: kumaraswamy_reference(
            concentration1, concentration0
        ),
        positive=("concentration1", "concentration0"),
    ),
    # concentration > 4, so that E[z^2] and its gradient's variance are finite.
    "pareto": Case(
        jr.pareto.family,
        {"scale": _a(1.5, 0.5), "concentration": _a(5.0, 6.5)},
        scipy=lambda scale, concentration: st.pareto(b=concentration, scale=scale),
        positive=("scale", "concentration"),
    ),
    "lognormal": Case(
        jr.lognormal.family,
        {"loc": _a(0.2, -0.5), "scale": _a(0.5, 0.3)},
        scipy=lambda loc, scale: st.lognorm(s=scale, scale=np.exp(loc)),
        positive=("scale",),
    ),
    "laplace": Case(
        jr.laplace.family,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.laplace(loc, scale),
        positive=("scale",),
    ),
    "logistic": Case(
        jr.logistic.family,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.logistic(loc, scale),
        positive=("scale",),
    ),
    # No mean: E[z] and E[z^2] are undefined, so only E[sin z] is tested.
    "cauchy": Case(
        jr.cauchy.family,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.cauchy(loc, scale),
        positive=("scale",),
        test_functions=("sin",),
    ),
    "gumbel": Case(
        jr.gumbel.family,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.gumbel_r(loc, scale),
        positive=("scale",),
    ),
}


#: Pairs ``(name, family_p, natural_p, family_q, natural_q)`` with an analytic KL,
#: checked against a Monte Carlo estimate in ``test_kl.py``. Every registered pair
#: must appear here at least once.
KL_CASES: list[tuple[str, Family, dict, Family, dict]] = [
    (
        "normal-normal",
        jr.normal.family,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        jr.normal.family,
        {"loc": _a(0.0, 0.2), "scale": _a(1.0, 0.7)},
    ),
    (
        "exponential-exponential",
        jr.exponential.family,
        {"rate": _a(1.5, 0.3)},
        jr.exponential.family,
        {"rate": _a(1.0, 0.7)},
    ),
    (
        "half_normal-half_normal",
        jr.half_normal.family,
        {"scale": _a(1.5, 0.3)},
        jr.half_normal.family,
        {"scale": _a(1.0, 0.7)},
    ),
    (  # p's support inside q's (the KL is +inf otherwise)
        "uniform-uniform",
        jr.uniform.family,
        {"low": _a(0.5, -1.0), "high": _a(2.0, 0.3)},
        jr.uniform.family,
        {"low": _a(0.0, -2.0), "high": _a(3.0, 0.3)},
    ),
    (
        "weibull-weibull",
        jr.weibull.family,
        {"scale": _a(1.5, 0.7), "concentration": _a(2.0, 0.8)},
        jr.weibull.family,
        {"scale": _a(1.0, 1.2), "concentration": _a(1.5, 1.1)},
    ),
    (  # scale_p >= scale_q (the KL is +inf otherwise); equal in the second
        "pareto-pareto",
        jr.pareto.family,
        {"scale": _a(1.5, 0.5), "concentration": _a(5.0, 6.5)},
        jr.pareto.family,
        {"scale": _a(1.0, 0.5), "concentration": _a(3.0, 8.0)},
    ),
    (
        "lognormal-lognormal",
        jr.lognormal.family,
        {"loc": _a(0.2, -0.5), "scale": _a(0.5, 0.3)},
        jr.lognormal.family,
        {"loc": _a(0.0, 0.1), "scale": _a(0.8, 0.4)},
    ),
    (  # |loc_p - loc_q| both above and below scale_p
        "laplace-laplace",
        jr.laplace.family,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        jr.laplace.family,
        {"loc": _a(0.0, 0.2), "scale": _a(1.0, 0.7)},
    ),
]
