"""Workload 1: the pathwise gradient of a Monte Carlo expectation, diagonal Normal.

``grad_(loc, log_scale) mean_s f(z_s)``, ``z_s = loc + exp(log_scale) * eps_s``
with ``eps_s`` of shape ``(D,)``, ``S`` draws and ``f(z) = |z|^2 / 2``: the
quadratic keeps the arithmetic per element small, so the large sizes measure
drawing the noise and passing over it. jaxreparam is
``jax.grad(estimators.pathwise)`` with the Normal family; the others draw with
their Normal and average ``f`` themselves. Every contender draws the same noise.
The floor draws the noise (flat, the fastest way XLA draws it) and sums it: one
pass.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import jaxreparam as jr
from benchmarks.harness import Contender, Row
from benchmarks.peers import NORMAL

__all__ = ["make", "rows"]

WORKLOAD = "normal pathwise gradient"
SIZES = {
    "quick": [(10, 10), (1_000, 1_000)],
    "full": [(10, 10), (100, 1_000), (1_000, 10_000), (10_000, 10_000)],
}


def _f(z):
    return 0.5 * jnp.sum(z**2)


def _grad_with(sample, num_samples):
    def loss(loc, log_scale, key):
        z = sample(key, loc, log_scale, (num_samples,))
        return jnp.mean(jax.vmap(_f)(z))

    def grad(key, loc, log_scale):
        return jax.grad(loss, argnums=(0, 1))(loc, log_scale, key)

    return grad


def _jaxreparam(num_samples):
    pathwise = jax.grad(jr.estimators.pathwise, argnums=1)

    def grad(key, loc, log_scale):
        params = jr.distributions.NormalParams(loc, log_scale)
        g = pathwise(key, params, jr.normal, _f, num_samples=num_samples)
        return g.loc, g.log_scale

    return grad


def make(num_samples: int, dims: int) -> Row:
    """The row at ``num_samples`` draws of ``dims`` dimensions."""
    k1, k2 = jax.random.split(jax.random.key(1))
    loc = jax.random.normal(k1, (dims,))
    log_scale = 0.3 * jax.random.normal(k2, (dims,))
    contenders = [Contender("jaxreparam", _jaxreparam(num_samples))]
    for name, (sample, _) in NORMAL.items():
        if name != "jaxreparam":
            contenders.append(Contender(name, _grad_with(sample, num_samples)))

    def floor(key, loc, log_scale):  # drawn flat: XLA's fastest way to this noise
        return jnp.sum(jax.random.normal(key, (num_samples * dims,)))

    return Row(
        workload=WORKLOAD,
        size=f"S={num_samples} D={dims}",
        elements=num_samples * dims,
        args=(jax.random.key(0), loc, log_scale),
        contenders=contenders,
        floor=floor,
        memory_bound=num_samples * dims >= 1_000_000,
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    return [make(s, d) for s, d in SIZES[mode]]
