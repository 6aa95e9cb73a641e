"""jaxreparam: pathwise gradients through random samples, as pure JAX functions.

Every family is a ``Family`` of pure functions (``jr.normal.sample(key,
params)``); estimators, objectives and the fitting loop take it as itself.
"""

from jaxreparam import bijectors as bijectors
from jaxreparam import distributions as distributions
from jaxreparam import estimators as estimators
from jaxreparam import flows as flows
from jaxreparam import kl as kl
from jaxreparam import nn as nn
from jaxreparam import objectives as objectives
from jaxreparam import train as train
from jaxreparam import vae as vae
from jaxreparam._checks import checked as checked
from jaxreparam._checks import checking as checking
from jaxreparam.base import Bijector as Bijector
from jaxreparam.base import Family as Family
from jaxreparam.base import NaturalArg as NaturalArg
from jaxreparam.base import family_of as family_of
from jaxreparam.base import register_family as register_family
from jaxreparam.bijectors import transformed as transformed

# Every family (jr.normal, ...), its params type, the combinators (jr.mixture,
# jr.independent, jr.straight_through), FAMILIES and the dispatching functions
# (jr.sample, jr.log_prob, ...): exactly jaxreparam.distributions.__all__, so that
# adding a family needs no line here.
from jaxreparam.distributions import *  # noqa: F403
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
