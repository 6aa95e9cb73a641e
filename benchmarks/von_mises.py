"""Workload 3 (von Mises): implicit reparameterization gradients of von Mises draws.

``grad_(loc, log_concentration) sum_i f(z_i)``, ``z_i ~ VonMises(loc_i, k_i)``,
``f(z) = sin z + cos z``, for ``N`` independent draws whose concentrations
spread log-uniformly over ``[0.1, 100]`` (every regime of the sampler and of the
derivative). ``jax.random`` has no von Mises sampler, so nothing is
hand-written: the reference is TFP on JAX, and distrax (a port of TFP's) the
other peer; numpyro's ``VonMises`` is not reparameterized in its concentration.
Each library draws its own noise, so they are checked within Monte Carlo error
(at ``N = 10^4`` for the larger rows).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from benchmarks.harness import Contender, Row
from benchmarks.peers import distrax, tfd

__all__ = ["PENDING", "make", "rows"]

WORKLOAD = "von Mises implicit gradient"
SIZES = {"quick": [1_000], "full": [1_000, 10_000, 100_000, 1_000_000]}

try:
    from jaxreparam.distributions import _von_mises as von_mises
except ImportError:  # the family is being written
    von_mises = None
PENDING = "jaxreparam.distributions.von_mises not present" if von_mises is None else ""


def _f(z):
    return jnp.sum(jnp.sin(z) + jnp.cos(z))


def _jaxreparam(key, loc, log_concentration):
    params = von_mises.VonMisesParams(loc, log_concentration)
    return von_mises.sample(key, params)


def _tfp(key, loc, log_concentration):
    return tfd().VonMises(loc, jnp.exp(log_concentration)).sample(seed=key)


def _distrax(key, loc, log_concentration):
    q = distrax().VonMises(loc, jnp.exp(log_concentration))
    return q.sample(seed=key)


def _gradient(sample):
    def objective(loc, log_concentration, key):
        return _f(sample(key, loc, log_concentration))

    def grad(key, loc, log_concentration):
        return jax.grad(objective, argnums=(0, 1))(loc, log_concentration, key)

    return grad


def make(size: int) -> Row:
    """The row of ``size`` draws."""
    loc = jnp.linspace(-3.0, 3.0, size)
    log_concentration = jnp.linspace(jnp.log(0.1), jnp.log(100.0), size)
    log_concentration = jax.random.permutation(jax.random.key(7), log_concentration)
    return Row(
        workload=WORKLOAD,
        size=f"N={size}",
        elements=size,
        args=(jax.random.key(0), loc, log_concentration),
        contenders=[
            Contender("jaxreparam", _gradient(_jaxreparam), same_noise=False),
            Contender("tfp", _gradient(_tfp)),
            Contender("distrax", _gradient(_distrax), same_noise=False),
        ],
        check_proxy=(lambda: make(10_000)) if size > 10_000 else None,
        reference="tfp",
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``); none without the family."""
    return [] if von_mises is None else [make(n) for n in SIZES[mode]]
