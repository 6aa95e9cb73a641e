"""Distribution families: one module each, plus dispatch on the params' type.

Each family module (``normal``, ``laplace``, ...) holds pure functions over one
params ``NamedTuple`` and a ``family`` bundle. The functions below look the family
up from ``type(params)``: a convenience on top of the modules, never the only way in.
"""

from __future__ import annotations

from typing import Any

from jaxreparam.base import Array, family_of
from jaxreparam.distributions import (
    bernoulli,
    beta,
    categorical,
    cauchy,
    chi2,
    dirichlet,
    exponential,
    gamma,
    gumbel,
    half_normal,
    inverse_gamma,
    kumaraswamy,
    laplace,
    log_dirichlet,
    log_gamma,
    logistic,
    lognormal,
    mixture,
    multivariate_normal,
    normal,
    pareto,
    relaxed_bernoulli,
    relaxed_one_hot_categorical,
    student_t,
    truncated_normal,
    uniform,
    von_mises,
    weibull,
)

__all__ = [
    "FAMILIES",
    "bernoulli",
    "beta",
    "categorical",
    "cauchy",
    "chi2",
    "dirichlet",
    "entropy",
    "exponential",
    "gamma",
    "gumbel",
    "half_normal",
    "inverse_gamma",
    "kumaraswamy",
    "laplace",
    "log_dirichlet",
    "log_gamma",
    "log_prob",
    "logistic",
    "lognormal",
    "mixture",
    "mixture_independent_normal",
    "mixture_normal",
    "multivariate_normal",
    "multivariate_normal_diag",
    "multivariate_normal_low_rank",
    "multivariate_normal_tril",
    "normal",
    "pareto",
    "relaxed_bernoulli",
    "relaxed_one_hot_categorical",
    "sample",
    "sample_and_log_prob",
    "student_t",
    "truncated_normal",
    "uniform",
    "von_mises",
    "weibull",
]

#: The multivariate normal's three family bundles, by their family names.
multivariate_normal_diag = multivariate_normal.diag
multivariate_normal_tril = multivariate_normal.tril
multivariate_normal_low_rank = multivariate_normal.low_rank

#: The mixture of Normals, ``mixture.make(normal.family)``.
mixture_normal = mixture.normal
#: The mixture of diagonal Gaussians, ``mixture.make(normal.family, event_ndims=1)``.
mixture_independent_normal = mixture.independent_normal

#: Every family bundle, by name (a module contributes ``families`` or ``family``).
FAMILIES = {
    family.name: family
    for module in (
        normal,
        bernoulli,
        categorical,
        exponential,
        half_normal,
        uniform,
        weibull,
        kumaraswamy,
        pareto,
        multivariate_normal,
        lognormal,
        laplace,
        logistic,
        cauchy,
        gumbel,
        mixture,
        relaxed_bernoulli,
        relaxed_one_hot_categorical,
        von_mises,
        truncated_normal,
        gamma,
        log_gamma,
        chi2,
        inverse_gamma,
        beta,
        dirichlet,
        log_dirichlet,
        student_t,
    )
    for family in vars(module).get("families") or (vars(module)["family"],)
}


def sample(key: Any, params: Any, sample_shape=()) -> Array:
    """``sample`` of the family that ``params`` belongs to."""
    return family_of(params).sample(key, params, sample_shape)


def log_prob(params: Any, z: Any) -> Array:
    """``log_prob`` of the family that ``params`` belongs to."""
    return family_of(params).log_prob(params, z)


def sample_and_log_prob(key: Any, params: Any, sample_shape=()) -> tuple[Array, Array]:
    """``sample_and_log_prob`` of the family that ``params`` belongs to."""
    return family_of(params).sample_and_log_prob(key, params, sample_shape)


def entropy(params: Any) -> Array:
    """``entropy`` of the family that ``params`` belongs to."""
    return family_of(params).entropy(params)
