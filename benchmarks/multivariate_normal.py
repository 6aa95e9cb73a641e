"""Workload 2: full-covariance multivariate normal, sample and log_prob gradient.

``grad_(loc, raw) mean_s [log p(z_s) - log q(z_s)]`` with ``q = N(loc, L L^T)``,
``z_s = loc + L eps_s``, ``S = 128`` draws and ``log p(z) = -|z|^2 / 2``: the
Monte Carlo ELBO of a full-covariance Gaussian. ``raw`` is jaxreparam's
``raw_scale_tril`` (strict lower triangle of ``L`` and the log of its diagonal);
every contender builds ``L`` from it. The peers take their fused path where they
have one (distrax ``sample_and_log_prob``, TFP
``experimental_sample_and_log_prob``); numpyro has none, so it samples and then
evaluates ``log_prob`` (a triangular solve). ``jaxreparam (separate calls)``
does the same with jaxreparam, for the ratio of the fused path to it. Every
contender draws the same noise.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

import jaxreparam as jr
from benchmarks.harness import Contender, Row
from benchmarks.peers import distrax, numpyro_dist, tfd

__all__ = ["make", "rows"]

WORKLOAD = "multivariate normal (tril) ELBO gradient"
NUM_SAMPLES = 128
SIZES = {"quick": [10, 500], "full": [10, 50, 100, 200, 500]}
SEPARATE = "jaxreparam (separate calls)"


def _log_target(z):
    return -0.5 * jnp.sum(z**2, -1)


def _tril(raw):
    return jnp.tril(raw, -1) + jnp.diag(jnp.exp(jnp.diag(raw)))


def _hand_written(key, loc, raw):
    n = loc.shape[-1]
    eps = jax.random.normal(key, (NUM_SAMPLES, n), loc.dtype)
    z = loc + eps @ _tril(raw).T
    log_q = (
        -0.5 * jnp.sum(eps**2, -1)
        - jnp.sum(jnp.diag(raw))
        - 0.5 * n * math.log(2 * math.pi)
    )
    return z, log_q


def _jaxreparam(key, loc, raw):
    params = jr.distributions.MultivariateNormalTrilParams(loc, raw)
    return jr.multivariate_normal_tril.sample_and_log_prob(key, params, (NUM_SAMPLES,))


def _jaxreparam_separate(key, loc, raw):
    params = jr.distributions.MultivariateNormalTrilParams(loc, raw)
    z = jr.multivariate_normal_tril.sample(key, params, (NUM_SAMPLES,))
    return z, jr.multivariate_normal_tril.log_prob(params, z)


def _numpyro(key, loc, raw):
    q = numpyro_dist().MultivariateNormal(loc, scale_tril=_tril(raw))
    z = q.rsample(key, (NUM_SAMPLES,))
    return z, q.log_prob(z)


def _distrax(key, loc, raw):
    q = distrax().MultivariateNormalTri(loc, _tril(raw))
    return q.sample_and_log_prob(seed=key, sample_shape=(NUM_SAMPLES,))


def _tfp(key, loc, raw):
    q = tfd().MultivariateNormalTriL(loc, _tril(raw))
    return q.experimental_sample_and_log_prob((NUM_SAMPLES,), seed=key)


def _gradient(sample_and_log_prob):
    def elbo(loc, raw, key):
        z, log_q = sample_and_log_prob(key, loc, raw)
        return jnp.mean(_log_target(z) - log_q)

    def grad(key, loc, raw):
        return jax.grad(elbo, argnums=(0, 1))(loc, raw, key)

    return grad


CONTENDERS = {
    "jaxreparam": _jaxreparam,
    "hand-written": _hand_written,
    SEPARATE: _jaxreparam_separate,
    "numpyro": _numpyro,
    "distrax": _distrax,
    "tfp": _tfp,
}


def make(dims: int) -> Row:
    """The row in ``dims`` dimensions: a well-conditioned random ``L``."""
    k1, k2, k3 = jax.random.split(jax.random.key(2), 3)
    loc = jax.random.normal(k1, (dims,))
    off = jax.random.normal(k2, (dims, dims)) / math.sqrt(4 * dims)
    raw = jnp.tril(off, -1) + jnp.diag(0.2 * jax.random.normal(k3, (dims,)))
    return Row(
        workload=WORKLOAD,
        size=f"n={dims} S={NUM_SAMPLES}",
        elements=dims * NUM_SAMPLES,
        args=(jax.random.key(0), loc, raw),
        contenders=[Contender(k, _gradient(v)) for k, v in CONTENDERS.items()],
        compare={"fused/separate": ("jaxreparam", SEPARATE)},
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    return [make(n) for n in SIZES[mode]]
