"""jaxreparam: pathwise gradients through random samples, as pure JAX functions.

Every family is a ``Family`` of pure functions (``jr.normal.sample(key,
params)``); estimators, objectives and the fitting loop take it as itself.
"""

from jaxreparam import bijectors as bijectors
from jaxreparam import distributions as distributions
from jaxreparam import estimators as estimators
from jaxreparam import kl as kl
from jaxreparam import objectives as objectives
from jaxreparam import train as train
from jaxreparam._checks import checked as checked
from jaxreparam._checks import checking as checking
from jaxreparam.base import Bijector as Bijector
from jaxreparam.base import Family as Family
from jaxreparam.base import family_of as family_of
from jaxreparam.base import register_family as register_family
from jaxreparam.distributions import FAMILIES as FAMILIES
from jaxreparam.distributions import bernoulli as bernoulli
from jaxreparam.distributions import beta as beta
from jaxreparam.distributions import categorical as categorical
from jaxreparam.distributions import cauchy as cauchy
from jaxreparam.distributions import chi2 as chi2
from jaxreparam.distributions import dirichlet as dirichlet
from jaxreparam.distributions import entropy as entropy
from jaxreparam.distributions import exponential as exponential
from jaxreparam.distributions import gamma as gamma
from jaxreparam.distributions import gumbel as gumbel
from jaxreparam.distributions import half_normal as half_normal
from jaxreparam.distributions import inverse_gamma as inverse_gamma
from jaxreparam.distributions import kumaraswamy as kumaraswamy
from jaxreparam.distributions import laplace as laplace
from jaxreparam.distributions import log_dirichlet as log_dirichlet
from jaxreparam.distributions import log_gamma as log_gamma
from jaxreparam.distributions import log_prob as log_prob
from jaxreparam.distributions import logistic as logistic
from jaxreparam.distributions import lognormal as lognormal
from jaxreparam.distributions import mixture as mixture
from jaxreparam.distributions import (
    mixture_independent_normal as mixture_independent_normal,
)
from jaxreparam.distributions import mixture_normal as mixture_normal
from jaxreparam.distributions import (
    multivariate_normal_diag as multivariate_normal_diag,
)
from jaxreparam.distributions import (
    multivariate_normal_low_rank as multivariate_normal_low_rank,
)
from jaxreparam.distributions import (
    multivariate_normal_tril as multivariate_normal_tril,
)
from jaxreparam.distributions import normal as normal
from jaxreparam.distributions import pareto as pareto
from jaxreparam.distributions import relaxed_bernoulli as relaxed_bernoulli
from jaxreparam.distributions import (
    relaxed_one_hot_categorical as relaxed_one_hot_categorical,
)
from jaxreparam.distributions import sample as sample
from jaxreparam.distributions import sample_and_log_prob as sample_and_log_prob
from jaxreparam.distributions import straight_through as straight_through
from jaxreparam.distributions import student_t as student_t
from jaxreparam.distributions import truncated_normal as truncated_normal
from jaxreparam.distributions import uniform as uniform
from jaxreparam.distributions import von_mises as von_mises
from jaxreparam.distributions import weibull as weibull
from jaxreparam.estimators import diagnostics as diagnostics
from jaxreparam.implicit import implicit_sampler as implicit_sampler
from jaxreparam.kl import kl_divergence as kl_divergence
from jaxreparam.kl import register_kl as register_kl
from jaxreparam.train import FitResult as FitResult
from jaxreparam.train import checkpoint as checkpoint
from jaxreparam.train import fit as fit
from jaxreparam.train import make_step as make_step
from jaxreparam.train import parallel as parallel
from jaxreparam.train import vi as vi

__version__ = "0.1.0"
