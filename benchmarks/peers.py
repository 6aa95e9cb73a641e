"""The peers, imported lazily, and the Normal written in each library.

numpyro, distrax and TensorFlow Probability on JAX are benchmark-only
dependencies; they are imported on first use (TFP's substrate is the slow one).
flowjax (with equinox) is optional: only the flow workload uses it.
Every Normal below is parameterized as jaxreparam's is, by ``loc`` and
``log_scale``, so that every contender differentiates with respect to the same
numbers; the peers build ``scale = exp(log_scale)`` as a user of theirs would.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import jaxreparam as jr

__all__ = [
    "NORMAL",
    "PEERS",
    "distrax",
    "flowjax",
    "numpyro_dist",
    "tfd",
    "versions",
]

PEERS = ("numpyro", "distrax", "tfp", "flowjax")
HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


@functools.cache
def numpyro_dist() -> Any:
    """``numpyro.distributions``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import numpyro.distributions

    return numpyro.distributions


@functools.cache
def distrax() -> Any:
    """The ``distrax`` module."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import distrax

    return distrax


@functools.cache
def flowjax() -> Any:
    """The ``flowjax`` module, with ``bijections`` and ``distributions`` loaded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import flowjax
        import flowjax.bijections
        import flowjax.distributions

    return flowjax


@functools.cache
def tfd() -> Any:
    """``tensorflow_probability.substrates.jax.distributions``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tensorflow_probability.substrates import jax as tfp

    return tfp.distributions


def versions() -> dict[str, str]:
    """The versions of jax, jaxlib, jaxreparam, the peers, optax and numpy."""
    out = {}
    for package in ("jax", "jaxlib", "jaxreparam", "numpyro", "distrax"):
        out[package] = importlib.metadata.version(package)
    out["tfp"] = importlib.metadata.version("tfp-nightly")
    try:  # optional
        out["flowjax"] = importlib.metadata.version("flowjax")
    except importlib.metadata.PackageNotFoundError:
        pass
    for package in ("optax", "numpy"):
        out[package] = importlib.metadata.version(package)
    return out


# --------------------------------------------------------------------------- #
# The Normal, ``N(loc, exp(log_scale)^2)``, in each library:
# ``sample(key, loc, log_scale, shape) -> z`` and
# ``sample_and_log_prob(key, loc, log_scale, shape) -> (z, elementwise log q)``.


def _hand_sample(key, loc, log_scale, shape):
    eps = jax.random.normal(key, tuple(shape) + loc.shape, loc.dtype)
    return loc + jnp.exp(log_scale) * eps


def _hand_sample_and_log_prob(key, loc, log_scale, shape):
    eps = jax.random.normal(key, tuple(shape) + loc.shape, loc.dtype)
    z = loc + jnp.exp(log_scale) * eps
    return z, -0.5 * eps**2 - log_scale - HALF_LOG_TWO_PI


def _jr_sample(key, loc, log_scale, shape):
    return jr.normal.sample(key, jr.distributions.NormalParams(loc, log_scale), shape)


def _jr_sample_and_log_prob(key, loc, log_scale, shape):
    params = jr.distributions.NormalParams(loc, log_scale)
    return jr.normal.sample_and_log_prob(key, params, shape)


def _numpyro_sample(key, loc, log_scale, shape):
    return numpyro_dist().Normal(loc, jnp.exp(log_scale)).rsample(key, shape)


def _numpyro_sample_and_log_prob(key, loc, log_scale, shape):
    q = numpyro_dist().Normal(loc, jnp.exp(log_scale))
    z = q.rsample(key, shape)
    return z, q.log_prob(z)


def _distrax_sample(key, loc, log_scale, shape):
    q = distrax().Normal(loc, jnp.exp(log_scale))
    return q.sample(seed=key, sample_shape=shape)


def _distrax_sample_and_log_prob(key, loc, log_scale, shape):
    q = distrax().Normal(loc, jnp.exp(log_scale))
    return q.sample_and_log_prob(seed=key, sample_shape=shape)


def _tfp_sample(key, loc, log_scale, shape):
    return tfd().Normal(loc, jnp.exp(log_scale)).sample(shape, seed=key)


def _tfp_sample_and_log_prob(key, loc, log_scale, shape):
    q = tfd().Normal(loc, jnp.exp(log_scale))
    return q.experimental_sample_and_log_prob(shape, seed=key)


#: By contender: ``(sample, sample_and_log_prob)``. All draw the same noise.
NORMAL: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "hand-written": (_hand_sample, _hand_sample_and_log_prob),
    "jaxreparam": (_jr_sample, _jr_sample_and_log_prob),
    "numpyro": (_numpyro_sample, _numpyro_sample_and_log_prob),
    "distrax": (_distrax_sample, _distrax_sample_and_log_prob),
    "tfp": (_tfp_sample, _tfp_sample_and_log_prob),
}
