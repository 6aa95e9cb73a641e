"""Workload: a Bernoulli log-likelihood and its gradient, from logits and from probs.

The likelihood of a VAE's decoder on binary images: ``sum_pixels log q(x | logits)``
for ``S`` images of 784 pixels, and its gradient with respect to the decoder's
output (the logits, or the probabilities ``sigmoid(t)`` of pre-activations ``t``).
Hand-written JAX is the formula a user types, ``x * l - jax.nn.softplus(l)``
(``x log p + (1 - x) log1p(-p)`` from probs); numpyro's, distrax's and TFP's
``Bernoulli`` are the peers. jaxreparam's ``log_prob`` also returns ``-inf`` for
an ``x`` outside ``{0, 1}`` and is exact at ``p = 0, 1``; numpyro's returns a
finite number for ``x = 0.3``, and clamps ``p`` away from 0 and 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import jaxreparam as jr
from benchmarks.harness import Contender, Row
from benchmarks.peers import distrax, numpyro_dist, tfd

__all__ = ["make", "rows"]

WORKLOAD = "Bernoulli log-likelihood and gradient"
PIXELS = 784
SIZES = {
    "quick": [("logits", 1_280), ("probs", 1_280)],
    "full": [("logits", 128), ("logits", 12_800), ("probs", 128), ("probs", 12_800)],
}


def _from_logits(log_prob):
    """``value_and_grad`` of the summed log-likelihood in the logits."""

    def total(logits, x):
        return jnp.sum(log_prob(logits, x))

    def run(key, logits, x):
        del key
        return jax.value_and_grad(total)(logits, x)

    return run


def _from_probs(log_prob):
    """The same, the probabilities being ``sigmoid`` of pre-activations ``t``."""

    def total(t, x):
        return jnp.sum(log_prob(jax.nn.sigmoid(t), x))

    def run(key, t, x):
        del key
        return jax.value_and_grad(total)(t, x)

    return run


LOGITS = {
    "hand-written": lambda l, x: x * l - jax.nn.softplus(l),
    "jaxreparam": lambda l, x: jr.bernoulli.log_prob(jr.bernoulli.init(logits=l), x),
    "numpyro": lambda l, x: numpyro_dist().BernoulliLogits(logits=l).log_prob(x),
    "distrax": lambda l, x: distrax().Bernoulli(logits=l).log_prob(x),
    "tfp": lambda l, x: tfd().Bernoulli(logits=l).log_prob(x),
}

PROBS = {
    "hand-written": lambda p, x: x * jnp.log(p) + (1 - x) * jnp.log1p(-p),
    "jaxreparam": lambda p, x: jr.bernoulli.log_prob(jr.bernoulli.init(probs=p), x),
    "numpyro": lambda p, x: numpyro_dist().BernoulliProbs(probs=p).log_prob(x),
    "distrax": lambda p, x: distrax().Bernoulli(probs=p).log_prob(x),
    "tfp": lambda p, x: tfd().Bernoulli(probs=p).log_prob(x),
}


def make(form: str, images: int) -> Row:
    """The row for ``images`` images, the decoder giving ``form``."""
    k1, k2 = jax.random.split(jax.random.key(4))
    t = 2.0 * jax.random.normal(k1, (images, PIXELS))
    x = jax.random.bernoulli(k2, 0.3, (images, PIXELS)).astype(jnp.float32)
    wrap, table = (_from_logits, LOGITS) if form == "logits" else (_from_probs, PROBS)
    contenders = [Contender(name, wrap(f)) for name, f in table.items()]
    return Row(
        workload=WORKLOAD,
        size=f"from {form}, S={images} x {PIXELS}",
        elements=images * PIXELS,
        args=(jax.random.key(0), t, x),
        contenders=contenders,
        notes="jaxreparam also checks the support (-inf off {0, 1})",
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    return [make(form, images) for form, images in SIZES[mode]]
