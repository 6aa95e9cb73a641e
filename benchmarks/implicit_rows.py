"""Workload 3: implicit reparameterization gradients of Gamma (Beta, Dirichlet) draws.

The rows are :mod:`benchmarks.implicit_gradients`'s (the Gamma, Beta and
Dirichlet families' owner's) when that module exists and has ``rows(mode)``.
Until then, this module measures the Gamma family alone:
``grad_(log a, log r) sum_i log(1 + z_i)``, ``z_i ~ Gamma(a_i, r_i)``, for ``N``
draws whose concentrations spread log-uniformly over ``[0.1, 100]``. Contenders:
jaxreparam (its own log-space sampler, so checked within Monte Carlo error),
hand-written ``jax.random.gamma(key, a) / r``, numpyro and distrax (both call
``jax.random.gamma``: the same draws), and TFP (its own sampler). The issue's
bar on these rows is TFP, not hand-written JAX.
"""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp

from benchmarks.harness import Contender, Row
from benchmarks.peers import distrax, numpyro_dist, tfd

try:
    implicit_gradients = importlib.import_module("benchmarks.implicit_gradients")
except ModuleNotFoundError as error:  # being written by the families' owner
    if error.name != "benchmarks.implicit_gradients":
        raise
    implicit_gradients = None
try:
    from jaxreparam.distributions import gamma
except ImportError:
    gamma = None

__all__ = ["PENDING", "make_gamma", "rows"]

WORKLOAD = "gamma implicit gradient"
SIZES = {"quick": [1_000], "full": [1_000, 10_000, 100_000, 1_000_000]}
PENDING = "" if gamma is not None else "jaxreparam.distributions.gamma not present"


def _jaxreparam(key, log_a, log_r):
    return gamma.sample(key, gamma.GammaParams(log_a, log_r))


def _hand_written(key, log_a, log_r):
    return jax.random.gamma(key, jnp.exp(log_a)) * jnp.exp(-log_r)


def _numpyro(key, log_a, log_r):
    return numpyro_dist().Gamma(jnp.exp(log_a), jnp.exp(log_r)).rsample(key)


def _distrax(key, log_a, log_r):
    return distrax().Gamma(jnp.exp(log_a), jnp.exp(log_r)).sample(seed=key)


def _tfp(key, log_a, log_r):
    return tfd().Gamma(jnp.exp(log_a), jnp.exp(log_r)).sample(seed=key)


def _gradient(sample):
    def objective(log_a, log_r, key):
        return jnp.sum(jnp.log1p(sample(key, log_a, log_r)))

    def grad(key, log_a, log_r):
        return jax.grad(objective, argnums=(0, 1))(log_a, log_r, key)

    return grad


def make_gamma(size: int) -> Row:
    """The Gamma row of ``size`` draws."""
    log_a = jnp.linspace(jnp.log(0.1), jnp.log(100.0), size)
    log_a = jax.random.permutation(jax.random.key(8), log_a)
    log_r = jnp.linspace(-1.0, 1.0, size)
    return Row(
        workload=WORKLOAD,
        size=f"N={size}",
        elements=size,
        args=(jax.random.key(0), log_a, log_r),
        contenders=[
            Contender("jaxreparam", _gradient(_jaxreparam), same_noise=False),
            Contender("hand-written", _gradient(_hand_written)),
            Contender("numpyro", _gradient(_numpyro)),
            Contender("distrax", _gradient(_distrax)),
            Contender("tfp", _gradient(_tfp), same_noise=False),
        ],
        check_proxy=(lambda: make_gamma(10_000)) if size > 10_000 else None,
        notes="the bar is TFP",
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode``: the owner's if written, else the Gamma rows here."""
    if implicit_gradients is not None and hasattr(implicit_gradients, "rows"):
        return list(implicit_gradients.rows(mode))
    return [] if gamma is None else [make_gamma(n) for n in SIZES[mode]]
