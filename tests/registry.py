"""The registry of every family under test: one ``Case`` each.

The contract tests (``test_contract.py``) run every generic check over ``CASES``;
the univariate tests (``test_univariate.py``) also compare each case that has a
``scipy`` reference against scipy.stats, sample by sample and gradient by
gradient.

To put a new family under test, write its ``Case`` in the family's own test file,
``tests/distributions/test_<name>.py``, as ``CASE = Case(...)`` (``Case`` from
``tests.distributions.case``), next to its specific tests: the registry gathers it
from there (:func:`_gather`), so this file does not change. The cases below
predate that, and the combinator families (``independent``) are built here.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate, special

import jaxreparam as jr
from jaxreparam.base import Family
from tests.distributions.case import FUNCTIONS as FUNCTIONS
from tests.distributions.case import Case as Case
from tests.distributions.case import floats
from tests.distributions.von_mises_reference import wrapped_von_mises

_a = floats


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
        jr.normal,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.norm(loc, scale),
    ),
    "exponential": Case(
        jr.exponential,
        {"rate": _a(1.5, 0.3)},
        scipy=lambda rate: st.expon(scale=1.0 / rate),
    ),
    "half_normal": Case(
        jr.half_normal,
        {"scale": _a(1.5, 0.3)},
        scipy=lambda scale: st.halfnorm(scale=scale),
    ),
    "uniform": Case(
        jr.uniform,
        {"low": _a(0.5, -1.0), "high": _a(2.0, 0.3)},
        scipy=lambda low, high: st.uniform(low, high - low),
        invalid=(({"low": 5.0, "high": 1.0}, "high"),),
        ordered=("low", "high"),
    ),
    "weibull": Case(
        jr.weibull,
        {"scale": _a(1.5, 0.7), "concentration": _a(2.0, 0.8)},
        scipy=lambda scale, concentration: st.weibull_min(c=concentration, scale=scale),
    ),
    "kumaraswamy": Case(
        jr.kumaraswamy,
        {"concentration1": _a(2.0, 0.8), "concentration0": _a(3.0, 1.5)},
        scipy=lambda concentration1, concentration0: kumaraswamy_reference(
            concentration1, concentration0
        ),
    ),
    # concentration > 4, so that E[z^2] and its gradient's variance are finite.
    "pareto": Case(
        jr.pareto,
        {"scale": _a(1.5, 0.5), "concentration": _a(5.0, 6.5)},
        scipy=lambda scale, concentration: st.pareto(b=concentration, scale=scale),
    ),
    "lognormal": Case(
        jr.lognormal,
        {"loc": _a(0.2, -0.5), "scale": _a(0.5, 0.3)},
        scipy=lambda loc, scale: st.lognorm(s=scale, scale=np.exp(loc)),
    ),
    "laplace": Case(
        jr.laplace,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.laplace(loc, scale),
    ),
    "logistic": Case(
        jr.logistic,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.logistic(loc, scale),
    ),
    # No mean: E[z] and E[z^2] are undefined, so only E[sin z] is tested.
    "cauchy": Case(
        jr.cauchy,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.cauchy(loc, scale),
        test_functions=("sin",),
    ),
    "gumbel": Case(
        jr.gumbel,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        scipy=lambda loc, scale: st.gumbel_r(loc, scale),
    ),
}


class _RelaxedBernoulliReference(st.rv_continuous):
    """RelaxedBernoulli on (0, 1) through its logit, Logistic(logits / t, 1 / t).

    Built on scipy's logistic; moments by quadrature over the logit, where the
    integrand is smooth (on (0, 1) the density is singular at the ends if t < 1).
    """

    def _argcheck(self, temperature, logits):
        return (temperature > 0) & np.isfinite(logits)

    def _logpdf(self, x, temperature, logits):
        logit = special.logit(x)
        log_jacobian = -np.log(x) - np.log1p(-x)
        return st.logistic.logpdf(logit, logits / temperature, 1 / temperature) + (
            log_jacobian
        )

    def _pdf(self, x, temperature, logits):
        return np.exp(self._logpdf(x, temperature, logits))

    def _cdf(self, x, temperature, logits):
        return st.logistic.cdf(special.logit(x), logits / temperature, 1 / temperature)

    def _ppf(self, q, temperature, logits):
        return special.expit(st.logistic.ppf(q, logits / temperature, 1 / temperature))

    @staticmethod
    @np.vectorize
    def _munp(n, temperature, logits):
        logit = st.logistic(logits / temperature, 1 / temperature)
        return integrate.quad(
            lambda x: special.expit(x) ** n * logit.pdf(x),
            -np.inf,
            np.inf,
            epsabs=1e-14,
            epsrel=1e-13,
            limit=200,
        )[0]


relaxed_bernoulli_reference = _RelaxedBernoulliReference(
    a=0.0, b=1.0, name="relaxed_bernoulli"
)


class _NormalMixtureReference(st.rv_continuous):
    """A mixture of three Normals from scipy.stats.norm (scipy has no mixtures).

    Shapes: logits ``l0, l1, l2``, means ``m0, m1, m2``, scales ``s0, s1, s2``.
    Mean and variance from the components' moments; the rest generic.
    """

    def _argcheck(self, *args):
        ok = np.all([np.isfinite(a) for a in args], axis=0)
        return ok & np.all([s > 0 for s in args[6:]], axis=0)

    @staticmethod
    def _parts(args):
        logits, locs, scales = (np.stack(args[i : i + 3], -1) for i in (0, 3, 6))
        return special.log_softmax(logits, axis=-1), locs, scales

    def _logpdf(self, x, *args):
        log_w, locs, scales = self._parts(args)
        terms = log_w + st.norm.logpdf(np.asarray(x)[..., None], locs, scales)
        return special.logsumexp(terms, axis=-1)

    def _pdf(self, x, *args):
        return np.exp(self._logpdf(x, *args))

    def _cdf(self, x, *args):
        log_w, locs, scales = self._parts(args)
        cdfs = st.norm.cdf(np.asarray(x)[..., None], locs, scales)
        return np.sum(np.exp(log_w) * cdfs, axis=-1)

    def _stats(self, *args):
        log_w, locs, scales = self._parts(args)
        w = np.exp(log_w)
        mean = np.sum(w * locs, -1)
        return mean, np.sum(w * (scales**2 + locs**2), -1) - mean**2, None, None


normal_mixture_reference = _NormalMixtureReference(
    name="normal_mixture", shapes="l0, l1, l2, m0, m1, m2, s0, s1, s2"
)


def _normal_mixture(mixture_logits, loc, scale):
    """The reference frozen at natural values with a trailing axis of 3 components."""
    parts = (
        np.moveaxis(np.asarray(v, np.float64), -1, 0)
        for v in (mixture_logits, loc, scale)
    )
    return normal_mixture_reference(*(x for p in parts for x in p))


CASES.update(
    {
        "mixture_normal": Case(
            jr.mixture_normal,
            {
                "mixture_logits": np.array([[0.3, -0.2, 0.5], [0.0, 1.0, -1.0]]),
                "loc": np.array([[-1.5, 0.5, 2.0], [0.0, 1.0, 3.0]]),
                "scale": np.array([[0.7, 1.2, 0.5], [1.0, 0.4, 0.8]]),
            },
            scipy=_normal_mixture,
        ),
        # A mixture of three diagonal Gaussians on R^2 (loc, scale: batch + (D, K)).
        "mixture_independent_normal": Case(
            jr.mixture_independent_normal,
            {
                "mixture_logits": np.array([[0.3, -0.2, 0.5], [0.0, 1.0, -1.0]]),
                "loc": np.array([[[-1.5, 0.5, 2.0], [1.0, -1.0, 0.0]]] * 2),
                "scale": np.array([[[0.7, 1.2, 0.5], [1.0, 0.4, 0.8]]] * 2),
            },
        ),
        # temperature first: the generic broadcast check concatenates the first
        # argument; temperatures below and above 1 (density singular / not at ends).
        "relaxed_bernoulli": Case(
            jr.relaxed_bernoulli,
            {"temperature": _a(1.5, 0.6), "logits": _a(0.5, -1.0)},
            scipy=lambda temperature, logits: relaxed_bernoulli_reference(
                temperature, logits
            ),
        ),
        "relaxed_one_hot_categorical": Case(
            jr.relaxed_one_hot_categorical,
            {
                "temperature": _a(0.7, 1.5),
                "logits": np.array([[0.5, -1.0, 0.2], [0.0, 1.0, -0.5]]),
            },
            positive=("temperature",),
        ),
    }
)


#: Pairs ``(name, family_p, natural_p, family_q, natural_q)`` with an analytic KL,
#: checked against a Monte Carlo estimate in ``test_kl.py``. Every registered pair
#: must appear here at least once.
KL_CASES: list[tuple[str, Family, dict, Family, dict]] = [
    (
        "normal-normal",
        jr.normal,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        jr.normal,
        {"loc": _a(0.0, 0.2), "scale": _a(1.0, 0.7)},
    ),
    (
        "exponential-exponential",
        jr.exponential,
        {"rate": _a(1.5, 0.3)},
        jr.exponential,
        {"rate": _a(1.0, 0.7)},
    ),
    (
        "half_normal-half_normal",
        jr.half_normal,
        {"scale": _a(1.5, 0.3)},
        jr.half_normal,
        {"scale": _a(1.0, 0.7)},
    ),
    (  # p's support inside q's (the KL is +inf otherwise)
        "uniform-uniform",
        jr.uniform,
        {"low": _a(0.5, -1.0), "high": _a(2.0, 0.3)},
        jr.uniform,
        {"low": _a(0.0, -2.0), "high": _a(3.0, 0.3)},
    ),
    (
        "weibull-weibull",
        jr.weibull,
        {"scale": _a(1.5, 0.7), "concentration": _a(2.0, 0.8)},
        jr.weibull,
        {"scale": _a(1.0, 1.2), "concentration": _a(1.5, 1.1)},
    ),
    (  # scale_p >= scale_q (the KL is +inf otherwise); equal in the second
        "pareto-pareto",
        jr.pareto,
        {"scale": _a(1.5, 0.5), "concentration": _a(5.0, 6.5)},
        jr.pareto,
        {"scale": _a(1.0, 0.5), "concentration": _a(3.0, 8.0)},
    ),
    (
        "lognormal-lognormal",
        jr.lognormal,
        {"loc": _a(0.2, -0.5), "scale": _a(0.5, 0.3)},
        jr.lognormal,
        {"loc": _a(0.0, 0.1), "scale": _a(0.8, 0.4)},
    ),
    (  # |loc_p - loc_q| both above and below scale_p
        "laplace-laplace",
        jr.laplace,
        {"loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
        jr.laplace,
        {"loc": _a(0.0, 0.2), "scale": _a(1.0, 0.7)},
    ),
]


# The multivariate normal's three scales: batch shape (2,), event size 3.
_MVN_LOC = np.array([[0.5, -1.0, 0.2], [0.0, 0.3, -0.4]])
_MVN = {
    "diag": {
        "loc": _MVN_LOC,
        "scale_diag": np.array([[1.5, 0.3, 0.8], [1.0, 0.6, 2.0]]),
    },
    "tril": {
        "loc": _MVN_LOC,
        "scale_tril": np.array(
            [
                [[1.2, 0.0, 0.0], [0.4, 0.7, 0.0], [-0.3, 0.5, 0.9]],
                [[0.8, 0.0, 0.0], [-0.6, 1.1, 0.0], [0.2, 0.1, 0.5]],
            ]
        ),
    },
    "low_rank": {
        "loc": _MVN_LOC,
        "cov_factor": np.array(
            [
                [[0.8, -0.2], [0.3, 0.5], [-0.4, 0.6]],
                [[0.1, 0.9], [-0.7, 0.2], [0.5, 0.4]],
            ]
        ),
        "cov_diag": np.array([[0.5, 0.9, 0.3], [1.2, 0.4, 0.7]]),
    },
}
# A second set for the KL pairs' q.
_MVN_Q = {
    "diag": {
        "loc": _MVN_LOC[::-1],
        "scale_diag": np.array([[0.9, 1.1, 0.7], [1.3, 0.8, 1.6]]),
    },
    "tril": {
        "loc": _MVN_LOC[::-1],
        "scale_tril": np.array(
            [
                [[1.0, 0.0, 0.0], [-0.2, 0.9, 0.0], [0.3, 0.4, 1.1]],
                [[1.4, 0.0, 0.0], [0.5, 0.8, 0.0], [-0.1, 0.3, 0.9]],
            ]
        ),
    },
    "low_rank": {
        "loc": _MVN_LOC[::-1],
        "cov_factor": np.array([[[0.5], [-0.3], [0.6]], [[0.2], [0.7], [-0.4]]]),
        "cov_diag": np.array([[0.8, 1.0, 0.6], [0.9, 0.5, 1.1]]),
    },
}
_LOWER_BAD_DIAGONAL = np.array([[1.0, 0.0, 0.0], [0.5, -1.0, 0.0], [0.1, 0.2, 1.0]])
_LOWER_INF = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [np.inf, 0.2, 1.0]])
_FACTOR_INF = np.array([[0.5, 0.1], [np.inf, 0.2], [0.3, 0.4]])
CASES.update(
    {
        "multivariate_normal_diag": Case(
            jr.multivariate_normal_diag,
            _MVN["diag"],
            invalid=(({"scale_diag": _a(1.0, -1.0, 1.0)}, "scale_diag"),),
        ),
        "multivariate_normal_tril": Case(
            jr.multivariate_normal_tril,
            _MVN["tril"],
            invalid=(
                ({"scale_tril": -1.0}, "scale_tril"),
                ({"scale_tril": _LOWER_BAD_DIAGONAL}, "scale_tril"),
                ({"scale_tril": _LOWER_INF}, "scale_tril"),
            ),
        ),
        "multivariate_normal_low_rank": Case(
            jr.multivariate_normal_low_rank,
            _MVN["low_rank"],
            invalid=(
                ({"cov_diag": _a(1.0, 0.0, 1.0)}, "cov_diag"),
                ({"cov_factor": _FACTOR_INF}, "cov_factor"),
            ),
        ),
    }
)
KL_CASES += [
    (
        f"multivariate_normal_{p}-multivariate_normal_{q}",
        jr.FAMILIES[f"multivariate_normal_{p}"],
        _MVN[p],
        jr.FAMILIES[f"multivariate_normal_{q}"],
        _MVN_Q[q],
    )
    for p in _MVN
    for q in _MVN
]


# The von Mises samples live on [-pi, pi): only periodic f have a pathwise
# gradient of E[f(z)] (a non-periodic f jumps where samples wrap), so "sin" only;
# distributions/test_von_mises.py checks cos. Means and variances are not the family's
# (circular) ones, so the family has none.
CASES.update(
    {
        "von_mises": Case(
            jr.von_mises,
            {"loc": _a(0.5, -2.5), "concentration": _a(2.0, 0.5)},
            scipy=lambda loc, concentration: wrapped_von_mises(concentration, loc),
            test_functions=("sin",),
        ),
        "truncated_normal": Case(
            jr.truncated_normal,
            {
                "loc": _a(0.5, -1.0),
                "scale": _a(1.5, 0.3),
                "low": _a(-1.0, -1.2),
                "high": _a(2.0, -0.4),
            },
            scipy=lambda loc, scale, low, high: st.truncnorm(
                (low - loc) / scale, (high - loc) / scale, loc=loc, scale=scale
            ),
            invalid=(({"low": 3.0}, "low"), ({"high": -np.inf}, "high")),
            ordered=("low", "high"),
        ),
    }
)
KL_CASES.append(
    (
        "von_mises-von_mises",
        jr.von_mises,
        {"loc": _a(0.5, -2.5), "concentration": _a(2.0, 0.5)},
        jr.von_mises,
        {"loc": _a(0.0, 2.9), "concentration": _a(0.7, 3.0)},
    )
)

# Discrete families (not reparameterized): no scipy reference here, so the
# univariate scipy checks skip them; distributions/test_discrete.py checks them instead.
CASES.update(
    {
        "bernoulli": Case(  # logits of +-inf are the probabilities 1 and 0
            jr.bernoulli,
            {"logits": _a(0.3, -1.2)},
            upper_bounds=("logits",),
            lower_bounds=("logits",),
        ),
        "categorical": Case(
            jr.categorical,
            {"logits": np.array([[0.5, -1.0, 0.2], [0.0, 1.5, -0.3]])},
        ),
    }
)

# The gamma family and the families built on its sampler (test_gamma_family.py
# checks their implicit gradients, small concentrations and peers).
CASES.update(
    {
        "gamma": Case(
            jr.gamma,
            {"concentration": _a(2.5, 0.4), "rate": _a(1.5, 0.7)},
            scipy=lambda concentration, rate: st.gamma(concentration, scale=1 / rate),
        ),
        "log_gamma": Case(
            jr.log_gamma,
            {"concentration": _a(2.5, 0.4), "rate": _a(1.5, 0.7)},
            scipy=lambda concentration, rate: st.loggamma(
                concentration, loc=-np.log(rate)
            ),
        ),
        "chi2": Case(
            jr.chi2,
            {"df": _a(3.0, 0.8)},
            scipy=lambda df: st.chi2(df),
        ),
        "inverse_gamma": Case(
            jr.inverse_gamma,
            {"concentration": _a(4.5, 2.5), "scale": _a(1.5, 0.7)},
            scipy=lambda concentration, scale: st.invgamma(concentration, scale=scale),
        ),
        "beta": Case(
            jr.beta,
            {"concentration1": _a(2.5, 0.4), "concentration0": _a(1.5, 0.7)},
            scipy=lambda concentration1, concentration0: st.beta(
                concentration1, concentration0
            ),
        ),
        "student_t": Case(
            jr.student_t,
            {"df": _a(5.0, 3.5), "loc": _a(0.5, -1.0), "scale": _a(1.5, 0.3)},
            scipy=lambda df, loc, scale: st.t(df, loc, scale),
        ),
        # Multivariate: test_gamma_family.py checks gradients of expectations
        # and the continuity equation of the Dirichlet's transport.
        "dirichlet": Case(
            jr.dirichlet,
            {"concentration": np.array([[0.5, 1.5, 2.0], [3.0, 0.7, 1.2]])},
        ),
        "log_dirichlet": Case(
            jr.log_dirichlet,
            {"concentration": np.array([[0.5, 1.5, 2.0], [3.0, 0.7, 1.2]])},
        ),
    }
)
_DIRICHLET_P = np.array([[0.5, 1.5, 2.0], [3.0, 0.7, 1.2]])
_DIRICHLET_Q = np.array([[1.0, 1.0, 1.0], [2.0, 2.5, 0.4]])
KL_CASES += [
    (
        "gamma-gamma",
        jr.gamma,
        {"concentration": _a(2.5, 0.4), "rate": _a(1.5, 0.7)},
        jr.gamma,
        {"concentration": _a(1.0, 0.9), "rate": _a(0.8, 2.0)},
    ),
    (
        "log_gamma-log_gamma",
        jr.log_gamma,
        {"concentration": _a(2.5, 0.4), "rate": _a(1.5, 0.7)},
        jr.log_gamma,
        {"concentration": _a(1.0, 0.9), "rate": _a(0.8, 2.0)},
    ),
    (
        "beta-beta",
        jr.beta,
        {"concentration1": _a(2.5, 0.4), "concentration0": _a(1.5, 0.7)},
        jr.beta,
        {"concentration1": _a(1.0, 0.9), "concentration0": _a(3.0, 0.5)},
    ),
    (
        "dirichlet-dirichlet",
        jr.dirichlet,
        {"concentration": _DIRICHLET_P},
        jr.dirichlet,
        {"concentration": _DIRICHLET_Q},
    ),
    (
        "log_dirichlet-log_dirichlet",
        jr.log_dirichlet,
        {"concentration": _DIRICHLET_P},
        jr.log_dirichlet,
        {"concentration": _DIRICHLET_Q},
    ),
]

# Combinator families over another family's params (not registered for dispatch):
# batch axes read as event axes. A univariate base (batch (2,), event (3,)) and a
# multivariate one (batch (), event (2, 3)).
CASES.update(
    {
        "independent_normal": Case(
            jr.independent(jr.normal, 1),
            {
                "loc": np.array([[0.5, -1.0, 0.2], [0.0, 0.3, -0.4]]),
                "scale": np.array([[1.5, 0.3, 0.8], [1.0, 0.6, 2.0]]),
            },
        ),
        "independent_multivariate_normal_diag": Case(
            jr.independent(jr.multivariate_normal_diag, 1),
            _MVN["diag"],
            invalid=(({"scale_diag": _a(1.0, -1.0, 1.0)}, "scale_diag"),),
        ),
    }
)


def _gather() -> None:
    """Adds the ``CASE`` of ``tests/distributions/test_<name>.py`` for each
    registered family that has no case above.

    Those test files import ``Case`` from ``tests.distributions.case``, never this
    registry (which imports them). A family with neither is reported by
    ``test_contract.test_every_family_is_under_test``.
    """
    under_test = {case.family.name for case in CASES.values()}
    for name, family in jr.FAMILIES.items():
        if name in under_test:
            continue
        module_name = f"tests.distributions.test_{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        case = getattr(module, "CASE", None)
        if case is None:
            continue
        if case.family is not family:
            raise ValueError(
                f"{module_name}.CASE is a case of {case.family.name!r}, not {name!r}"
            )
        CASES[name] = case


_gather()


#: One case per way of building a family, whose compiled checks (jit, vmap, grad,
#: checkify) the default run of ``test_contract.py`` makes; the other cases get
#: them in the slow run (``pytest -m slow``, which CI runs), their eager checks in
#: both, and each family's own test file keeps default checks of what is
#: particular to it. The set was fourteen families; it is the six below since
#: the Bayesian-network and VAE suites joined the default run (which must stay
#: near ten minutes on two cores): a location-scale family, an implicit one, a
#: multivariate one, a relaxation, a discrete one and a combinator.
CORE = frozenset(
    {
        "normal",  # location-scale
        "gamma",  # implicit, shared standard gamma
        "multivariate_normal_tril",  # multivariate
        "relaxed_one_hot_categorical",  # relaxation
        "bernoulli",  # discrete
        "independent_normal",  # combinator
    }
)


def core_then_slow(names: list[str]) -> list:
    """``names`` as pytest params, those not in ``CORE`` marked slow."""
    return slow_except(names, CORE)


def slow_except(values: Any, keep: Any, ids: Any = None) -> list:
    """``values`` as pytest params; those not in ``keep`` marked slow (CI runs them).

    The default run keeps one representative of each way a check can go wrong,
    so that it stays near ten minutes on two cores; ``pytest -m slow`` runs the
    rest. ``ids`` names the values (default: the values themselves); a tuple
    value fills several argument names.
    """
    names = list(values) if ids is None else list(ids)
    return [
        pytest.param(
            *(v if isinstance(v, tuple) else (v,)),
            id=str(n),
            marks=() if n in keep else pytest.mark.slow,
        )
        for v, n in zip(values, names, strict=True)
    ]
