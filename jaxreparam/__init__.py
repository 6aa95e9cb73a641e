"""jaxreparam: pathwise gradients through random samples, as pure JAX functions."""

from jaxreparam import diagnostics, distributions, estimators, implicit, kl
from jaxreparam._checks import checked, checking
from jaxreparam.base import Family, family_of, register_family
from jaxreparam.distributions import (
    FAMILIES,
    cauchy,
    entropy,
    exponential,
    gumbel,
    half_normal,
    kumaraswamy,
    laplace,
    log_prob,
    logistic,
    lognormal,
    mixture,
    mixture_normal,
    normal,
    pareto,
    relaxed_bernoulli,
    relaxed_one_hot_categorical,
    sample,
    sample_and_log_prob,
    uniform,
    weibull,
)
from jaxreparam.implicit import implicit_sampler
from jaxreparam.kl import kl_divergence, register_kl

__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "Family",
    "cauchy",
    "checked",
    "checking",
    "diagnostics",
    "distributions",
    "entropy",
    "estimators",
    "exponential",
    "family_of",
    "gumbel",
    "half_normal",
    "implicit",
    "implicit_sampler",
    "kl",
    "kl_divergence",
    "kumaraswamy",
    "laplace",
    "log_prob",
    "logistic",
    "lognormal",
    "mixture",
    "mixture_normal",
    "normal",
    "pareto",
    "register_family",
    "register_kl",
    "relaxed_bernoulli",
    "relaxed_one_hot_categorical",
    "sample",
    "sample_and_log_prob",
    "uniform",
    "weibull",
]
