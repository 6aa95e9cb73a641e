"""Workload 6: one Adam step of an importance-weighted autoencoder, K = 1, 10, 100.

The VAE of :mod:`benchmarks.vae` (hidden width 100 here) trained on the IWAE
bound ``mean_x log (1/K) sum_k p(x, z_k) / q(z_k | x)``, ``K`` draws per data
point (Burda et al. 2016). Contenders:

* ``jaxreparam``: ``objectives.make_amortized_loss(objectives.iwae,
  normal.family, ..., num_samples=K)`` under ``fit.make_step``: one key per
  data point, so its draws differ from hand-written's (checked within Monte
  Carlo error, at ``K = 10`` for ``K = 100``);
* ``jaxreparam (normal family)``: ``normal.sample_and_log_prob(key, params,
  (K,))`` in a hand-built bound, same draws as hand-written;
* hand-written, numpyro, distrax and TFP Normals, one draw of shape
  ``(K, batch, latent)``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

import jaxreparam as jr
from benchmarks import vae
from benchmarks.harness import Row
from benchmarks.peers import NORMAL

__all__ = ["make", "rows"]

WORKLOAD = "IWAE step (Adam, batch 128, 784-100-20)"
HIDDEN = 100
SIZES = {"quick": [10], "full": [1, 10, 100]}
NORMAL_FAMILY = "jaxreparam (normal family)"


def _loss_with(sample_and_log_prob, num_samples):
    def loss(key, params, x):
        mu, log_sigma = vae.encode(params, x)
        z, log_q = sample_and_log_prob(key, mu, log_sigma, (num_samples,))
        log_w = vae.log_likelihood(params, x, z) - jnp.sum(log_q, -1)
        bound = jax.nn.logsumexp(log_w, axis=0) - math.log(num_samples)
        return -jnp.mean(bound)

    return loss


def _objectives_loss(num_samples):
    def encoder(params, x):
        mu, log_sigma = vae.encode(params, x)
        return jr.distributions.NormalParams(mu, log_sigma)

    return jr.objectives.make_amortized_loss(
        jr.objectives.iwae,
        jr.normal,
        encoder,
        vae.log_likelihood,
        num_samples=num_samples,
    )


def make(num_samples: int) -> Row:
    """The row with ``K = num_samples`` draws per data point."""
    k1, k2 = jax.random.split(jax.random.key(6))
    params = vae.init_model(k1, HIDDEN)
    x = jax.random.bernoulli(k2, 0.3, (vae.BATCH, vae.INPUTS)).astype(jnp.float32)
    loss_of = {
        NORMAL_FAMILY if name == "jaxreparam" else name: _loss_with(
            pair[1], num_samples
        )
        for name, pair in NORMAL.items()
    }
    present = hasattr(jr, "objectives")
    contenders = vae.contenders(
        loss_of, _objectives_loss(num_samples) if present else None
    )
    for c in contenders:  # the library's objective is the jaxreparam contender
        if c.name == "jaxreparam (objectives)":
            c.name = "jaxreparam"
    return Row(
        workload=WORKLOAD,
        size=f"K={num_samples}",
        elements=num_samples * vae.BATCH * vae.LATENT,
        args=(jax.random.key(0), params, vae.OPTIMIZER.init(params), x),
        contenders=contenders,
        check_proxy=(lambda: make(10)) if num_samples > 10 else None,
        notes="" if present else "jaxreparam.objectives not written yet",
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    return [make(k) for k in SIZES[mode]]
