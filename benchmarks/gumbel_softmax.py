"""Workload 4: the Gumbel-softmax (Concrete) pathwise gradient, 10 and 1000 categories.

``grad_(logits, log_temperature) sum(w * z)`` with
``z = softmax((logits + g) / temperature)``, ``g`` i.i.d. Gumbel(0, 1), for a
batch of ``B`` independent relaxed one-hot vectors of ``K`` categories and a fixed
``w``. jaxreparam is ``relaxed_one_hot_categorical.sample``; TFP's
``RelaxedOneHotCategorical`` is the only peer with the family (numpyro and
distrax have none). Every contender draws the same noise. The floor draws the
Gumbel noise and sums it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import jaxreparam as jr
from benchmarks.harness import Contender, Row
from benchmarks.peers import tfd

__all__ = ["make", "rows"]

WORKLOAD = "gumbel-softmax gradient"
SIZES = {
    "quick": [(1_000, 1_000)],
    "full": [
        (10, 10),
        (1_000, 10),
        (100_000, 10),
        (1, 1_000),
        (100, 1_000),
        (10_000, 1_000),
    ],
}


def _hand_written(key, logits, log_temperature):
    gumbel = jax.random.gumbel(key, logits.shape, logits.dtype)
    return jax.nn.softmax((logits + gumbel) / jnp.exp(log_temperature), axis=-1)


def _jaxreparam(key, logits, log_temperature):
    params = jr.distributions.RelaxedOneHotCategoricalParams(logits, log_temperature)
    return jr.relaxed_one_hot_categorical.sample(key, params)


def _tfp(key, logits, log_temperature):
    q = tfd().RelaxedOneHotCategorical(jnp.exp(log_temperature), logits=logits)
    return q.sample(seed=key)


def _gradient(sample):
    def objective(logits, log_temperature, key, w):
        return jnp.sum(w * sample(key, logits, log_temperature))

    def grad(key, logits, log_temperature, w):
        return jax.grad(objective, argnums=(0, 1))(logits, log_temperature, key, w)

    return grad


def make(batch: int, categories: int) -> Row:
    """The row with ``batch`` vectors of ``categories`` categories."""
    k1, k2 = jax.random.split(jax.random.key(4))
    logits = jax.random.normal(k1, (batch, categories))
    w = jax.random.normal(k2, (batch, categories))
    contenders = [
        Contender("jaxreparam", _gradient(_jaxreparam)),
        Contender("hand-written", _gradient(_hand_written)),
        Contender("tfp", _gradient(_tfp)),
    ]

    def floor(key, logits, log_temperature, w):
        # Drawn flat: XLA's fastest way to this noise.
        return jnp.sum(jax.random.gumbel(key, (logits.size,), logits.dtype))

    return Row(
        workload=WORKLOAD,
        size=f"K={categories} B={batch}",
        elements=batch * categories,
        args=(jax.random.key(0), logits, jnp.log(jnp.float32(0.5)), w),
        contenders=contenders,
        floor=floor,
        memory_bound=batch * categories >= 1_000_000,
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    return [make(b, k) for b, k in SIZES[mode]]
