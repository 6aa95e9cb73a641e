"""Distribution families: each public name is a ``Family`` of pure functions.

Each family lives in a module of its own (``_normal.py``, ``_gamma.py``, ...),
where its sampler, density and gradient trick read as its mathematics; this
package re-exports the family bundle and its params type. The functions at the
bottom look the family up from ``type(params)``: a convenience on top of the
bundles, never the only way in.

Adding a family: its module ``_<name>.py``, one import line and its names in
``__all__`` here (``jaxreparam`` re-exports ``__all__`` at the top level), and its
test file ``tests/distributions/test_<name>.py`` holding its registry ``Case``.
"""

from __future__ import annotations

from typing import Any

from jaxreparam.base import Array, Family, family_of
from jaxreparam.distributions._bernoulli import BernoulliParams, bernoulli
from jaxreparam.distributions._beta import BetaParams, beta
from jaxreparam.distributions._categorical import CategoricalParams, categorical
from jaxreparam.distributions._cauchy import CauchyParams, cauchy
from jaxreparam.distributions._chi2 import Chi2Params, chi2
from jaxreparam.distributions._continuous_bernoulli import (
    ContinuousBernoulliParams,
    continuous_bernoulli,
)
from jaxreparam.distributions._dirichlet import DirichletParams, dirichlet
from jaxreparam.distributions._exponential import ExponentialParams, exponential
from jaxreparam.distributions._gamma import GammaParams, gamma
from jaxreparam.distributions._gumbel import GumbelParams, gumbel
from jaxreparam.distributions._half_normal import HalfNormalParams, half_normal
from jaxreparam.distributions._independent import independent
from jaxreparam.distributions._inverse_gamma import InverseGammaParams, inverse_gamma
from jaxreparam.distributions._kumaraswamy import KumaraswamyParams, kumaraswamy
from jaxreparam.distributions._laplace import LaplaceParams, laplace
from jaxreparam.distributions._log_dirichlet import LogDirichletParams, log_dirichlet
from jaxreparam.distributions._log_gamma import LogGammaParams, log_gamma
from jaxreparam.distributions._logistic import LogisticParams, logistic
from jaxreparam.distributions._lognormal import LogNormalParams, lognormal
from jaxreparam.distributions._mixture import (
    MixtureParams,
    mixture,
    mixture_independent_normal,
    mixture_normal,
)
from jaxreparam.distributions._multivariate_normal import (
    MultivariateNormalDiagParams,
    MultivariateNormalLowRankParams,
    MultivariateNormalTrilParams,
    multivariate_normal_diag,
    multivariate_normal_low_rank,
    multivariate_normal_tril,
)
from jaxreparam.distributions._normal import NormalParams, normal
from jaxreparam.distributions._pareto import ParetoParams, pareto
from jaxreparam.distributions._rayleigh import RayleighParams, rayleigh
from jaxreparam.distributions._relaxed_bernoulli import (
    RelaxedBernoulliParams,
    relaxed_bernoulli,
)
from jaxreparam.distributions._relaxed_one_hot_categorical import (
    RelaxedOneHotCategoricalParams,
    relaxed_one_hot_categorical,
)
from jaxreparam.distributions._straight_through import straight_through
from jaxreparam.distributions._student_t import StudentTParams, student_t
from jaxreparam.distributions._truncated_normal import (
    TruncatedNormalParams,
    truncated_normal,
)
from jaxreparam.distributions._uniform import UniformParams, uniform
from jaxreparam.distributions._von_mises import VonMisesParams, von_mises
from jaxreparam.distributions._weibull import WeibullParams, weibull

__all__ = [
    "FAMILIES",
    "BernoulliParams",
    "BetaParams",
    "CategoricalParams",
    "CauchyParams",
    "Chi2Params",
    "ContinuousBernoulliParams",
    "DirichletParams",
    "ExponentialParams",
    "GammaParams",
    "GumbelParams",
    "HalfNormalParams",
    "InverseGammaParams",
    "KumaraswamyParams",
    "LaplaceParams",
    "LogDirichletParams",
    "LogGammaParams",
    "LogNormalParams",
    "LogisticParams",
    "MixtureParams",
    "MultivariateNormalDiagParams",
    "MultivariateNormalLowRankParams",
    "MultivariateNormalTrilParams",
    "NormalParams",
    "ParetoParams",
    "RayleighParams",
    "RelaxedBernoulliParams",
    "RelaxedOneHotCategoricalParams",
    "StudentTParams",
    "TruncatedNormalParams",
    "UniformParams",
    "VonMisesParams",
    "WeibullParams",
    "bernoulli",
    "beta",
    "categorical",
    "cauchy",
    "chi2",
    "continuous_bernoulli",
    "dirichlet",
    "entropy",
    "exponential",
    "gamma",
    "gumbel",
    "half_normal",
    "independent",
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
    "multivariate_normal_diag",
    "multivariate_normal_low_rank",
    "multivariate_normal_tril",
    "normal",
    "pareto",
    "rayleigh",
    "relaxed_bernoulli",
    "relaxed_one_hot_categorical",
    "sample",
    "sample_and_log_prob",
    "straight_through",
    "student_t",
    "truncated_normal",
    "uniform",
    "von_mises",
    "weibull",
]

#: Every family of this package, by name.
FAMILIES: dict[str, Family] = {
    value.name: value for value in list(globals().values()) if isinstance(value, Family)
}


def sample(key: Any, params: Any, sample_shape=()) -> Array:
    """``sample`` of the family that ``params`` belongs to.

    Examples:
        >>> params = jr.gamma.init(concentration=2.0)
        >>> jr.sample(jax.random.key(0), params, (3,)).shape  # jr.gamma.sample
        (3,)
    """
    return family_of(params).sample(key, params, sample_shape)


def log_prob(params: Any, z: Any) -> Array:
    """``log_prob`` of the family that ``params`` belongs to.

    Examples:
        >>> params = jr.normal.init(loc=0.0, scale=1.0)
        >>> round(float(jr.log_prob(params, 0.0)), 3)  # -log(2 pi) / 2
        -0.919
    """
    return family_of(params).log_prob(params, z)


def sample_and_log_prob(key: Any, params: Any, sample_shape=()) -> tuple[Array, Array]:
    """``sample_and_log_prob`` of the family that ``params`` belongs to.

    Examples:
        >>> params = jr.normal.init(loc=0.0, scale=1.0)
        >>> z, log_q = jr.sample_and_log_prob(jax.random.key(0), params, (3,))
        >>> z.shape, log_q.shape
        ((3,), (3,))
    """
    return family_of(params).sample_and_log_prob(key, params, sample_shape)


def entropy(params: Any) -> Array:
    """``entropy`` of the family that ``params`` belongs to.

    Examples:
        >>> round(float(jr.entropy(jr.exponential.init(rate=1.0))), 3)  # 1 - log(rate)
        1.0
    """
    return family_of(params).entropy(params)
