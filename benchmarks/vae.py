"""Workload 5: one optax (Adam) training step of a VAE on the single-sample ELBO.

An MLP encoder ``x -> tanh -> (mu, log_sigma)`` and decoder ``z -> tanh ->
Bernoulli logits`` in plain ``jax.numpy``, 784-dimensional binary inputs drawn at
random (batch 128), a 20-dimensional latent with a standard normal prior, and
hidden widths from tiny to large. The loss is ``-mean_x [log p(x | z) + log p(z)
- log q(z | x)]`` with ``z ~ q(. | x)`` reparameterized. Contenders differ only
in how they draw ``z`` and evaluate ``log q``:

* ``jaxreparam``: ``fit.make_step`` on ``normal.sample_and_log_prob``;
* ``jaxreparam (objectives)``: ``objectives.make_amortized_loss(objectives.elbo,
  normal.family, ...)``, one key per data point under ``jax.vmap`` (its draws
  differ, so it is checked within Monte Carlo error);
* hand-written, numpyro, distrax and TFP Normals (same draws as hand-written).

The timed function is the whole step (gradient, Adam update, new params); what
is checked is the loss and Adam's first moment after the step, ``(1 - b1)``
times the gradient (the optimizer state starts at zero).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

import jaxreparam as jr
from benchmarks.harness import Contender, Row
from benchmarks.peers import HALF_LOG_TWO_PI, NORMAL
from jaxreparam.train import make_step

__all__ = ["decode", "encode", "init_model", "log_likelihood", "make", "rows"]

WORKLOAD = "VAE step (Adam, batch 128)"
INPUTS, LATENT, BATCH = 784, 20, 128
SIZES = {"quick": [400], "full": [32, 400, 1024]}
OPTIMIZER = optax.adam(1e-3)


def init_model(key, hidden: int, inputs: int = INPUTS, latent: int = LATENT) -> dict:
    """Encoder and decoder weights, scaled by ``1/sqrt(fan in)``."""
    shapes = {
        "enc1": (inputs, hidden),
        "enc2": (hidden, 2 * latent),
        "dec1": (latent, hidden),
        "dec2": (hidden, inputs),
    }
    keys = jax.random.split(key, len(shapes))
    params = {}
    for k, (name, (fan_in, fan_out)) in zip(keys, shapes.items(), strict=True):
        params[name] = jax.random.normal(k, (fan_in, fan_out)) / jnp.sqrt(fan_in)
        params[name + "_bias"] = jnp.zeros(fan_out)
    return params


def encode(params: dict, x):
    """``(mu, log_sigma)``, each of shape ``x.shape[:-1] + (latent,)``."""
    h = jnp.tanh(x @ params["enc1"] + params["enc1_bias"])
    out = h @ params["enc2"] + params["enc2_bias"]
    return jnp.split(out, 2, axis=-1)


def decode(params: dict, z):
    """Bernoulli logits of shape ``z.shape[:-1] + (inputs,)``."""
    h = jnp.tanh(z @ params["dec1"] + params["dec1_bias"])
    return h @ params["dec2"] + params["dec2_bias"]


def log_likelihood(params: dict, x, z):
    """``log p(x | z) + log p(z)`` with a standard normal prior; last axes summed."""
    logits = decode(params, z)
    log_px = jnp.sum(x * logits - jax.nn.softplus(logits), -1)
    return log_px + jnp.sum(-0.5 * z**2 - HALF_LOG_TWO_PI, -1)


def _loss_with(sample_and_log_prob):
    def loss(key, params, x):
        mu, log_sigma = encode(params, x)
        z, log_q = sample_and_log_prob(key, mu, log_sigma, ())
        return -jnp.mean(log_likelihood(params, x, z) - jnp.sum(log_q, -1))

    return loss


def _objectives_loss():
    def encoder(params, x):
        mu, log_sigma = encode(params, x)
        return jr.distributions.NormalParams(mu, log_sigma)

    return jr.objectives.make_amortized_loss(
        jr.objectives.elbo, jr.normal, encoder, log_likelihood
    )


def _hand_step(loss):
    def step(key, params, opt_state, x):
        value, grads = jax.value_and_grad(loss, argnums=1)(key, params, x)
        updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return step


def _jr_step(loss):
    step = make_step(loss, OPTIMIZER)

    def run(key, params, opt_state, x):
        params, opt_state, metrics = step(key, params, opt_state, x)
        return params, opt_state, metrics["loss"]

    return run


def _first_moment(out):
    """Adam's first moment after one step from zero: ``(1 - b1)`` x the gradient."""
    _, opt_state, loss = out
    return opt_state[0].mu, loss


def contenders(loss_of: dict, objectives_loss=None) -> list[Contender]:
    """The contenders of a step on the losses ``{name: loss(key, params, x)}``."""
    out = [
        Contender(
            name,
            (_jr_step if name.startswith("jaxreparam") else _hand_step)(loss),
            check_output=_first_moment,
        )
        for name, loss in loss_of.items()
    ]
    if objectives_loss is not None:
        out.append(
            Contender(
                "jaxreparam (objectives)",
                _jr_step(objectives_loss),
                same_noise=False,
                check_output=_first_moment,
            )
        )
    return out


def make(hidden: int) -> Row:
    """The row with hidden layers of width ``hidden``."""
    k1, k2 = jax.random.split(jax.random.key(5))
    params = init_model(k1, hidden)
    x = jax.random.bernoulli(k2, 0.3, (BATCH, INPUTS)).astype(jnp.float32)
    loss_of = {name: _loss_with(pair[1]) for name, pair in NORMAL.items()}
    has_objectives = hasattr(jr, "objectives")
    return Row(
        workload=WORKLOAD,
        size=f"784-{hidden}-{LATENT}",
        elements=BATCH * LATENT,
        args=(jax.random.key(0), params, OPTIMIZER.init(params), x),
        contenders=contenders(loss_of, _objectives_loss() if has_objectives else None),
        notes="" if has_objectives else "jaxreparam.objectives not present",
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    return [make(h) for h in SIZES[mode]]
