"""float32 tails of the inverse-CDF samplers: the extreme noise values stay finite.

jax's ``uniform`` gives multiples of ``2^-23`` in ``[0, 1 - 2^-23]`` (float32),
and ``normal`` about ``|eps| < 5.4``; a sampler must turn every such value (and
``tiny``, the lower end some samplers ask for) into a finite draw, a finite fused
log-density and finite gradients. The noise is replaced by those extremes through
``monkeypatch``, so every value is hit deterministically rather than with
probability ``2^-23``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr

TINY = float(np.finfo(np.float32).tiny)
# 0 and 1 - 2^-23 are jax's extremes; 1 - 2^-24 is the largest float32 below 1.
UNIFORMS = [0.0, TINY, 2.0**-23, 1e-3, 0.5, 1 - 1e-3, 1 - 2.0**-23, 1 - 2.0**-24]
NORMALS = [0.0, 1e-30, -1e-30, 5.4, -5.4, 40.0, -40.0]

CASES = {
    "uniform": [{"low": 0.0, "high": 1.0}, {"low": -1e3, "high": 1e3}],
    "exponential": [{"rate": 1e-3}, {"rate": 1.0}, {"rate": 1e3}],
    "half_normal": [{"scale": 1e-3}, {"scale": 1.0}, {"scale": 1e3}],
    "weibull": [{"scale": 1.0, "concentration": c} for c in (0.1, 0.5, 1.0, 5.0, 50.0)],
    # concentration0 from 0.5, the end of its documented range (below, float32
    # draws round to 1, where log_prob is -inf and its gradient not finite).
    "kumaraswamy": [
        {"concentration1": a, "concentration0": b}
        for a, b in [(0.1, 0.5), (1.0, 1.0), (5.0, 0.5), (0.2, 5.0), (20.0, 20.0)]
    ],
    "pareto": [{"scale": 1.0, "concentration": c} for c in (0.3, 1.0, 5.0, 50.0)],
}
# Support of the stored params (``to_natural``: exp(log(x)) may move x by an ulp).
SUPPORT = {
    "uniform": lambda z, nat: (z >= nat["low"]) & (z <= nat["high"]),
    "exponential": lambda z, nat: z >= 0,
    "half_normal": lambda z, nat: z >= 0,
    "weibull": lambda z, nat: z >= 0,
    "kumaraswamy": lambda z, nat: (z >= 0) & (z <= 1),
    "pareto": lambda z, nat: z >= nat["scale"],
}


def _fake_uniform(key, shape=(), dtype=float, minval=0.0, maxval=1.0):
    del key
    values = jnp.asarray(UNIFORMS, dtype)
    assert shape == values.shape, shape
    # jax.random.uniform's own affine map and lower clamp.
    return jnp.maximum(minval, values * (maxval - minval) + minval)


def _fake_normal(key, shape=(), dtype=float):
    del key
    values = jnp.asarray(NORMALS, dtype)
    assert shape == values.shape, shape
    return values


@pytest.fixture
def extreme_noise(monkeypatch):
    monkeypatch.setattr(jax.random, "uniform", _fake_uniform)
    monkeypatch.setattr(jax.random, "normal", _fake_normal)


@pytest.mark.usefixtures("extreme_noise")
@pytest.mark.parametrize("name", list(CASES))
def test_extreme_noise_gives_finite_draws_densities_and_gradients(name):
    module = getattr(jr, name)
    num = len(NORMALS if name == "half_normal" else UNIFORMS)
    for nat in CASES[name]:
        nat32 = {k: jnp.float32(v) for k, v in nat.items()}
        params = module.init(**nat32)
        z, log_q = module.sample_and_log_prob(jax.random.key(0), params, (num,))
        assert z.dtype == jnp.float32
        assert np.all(np.isfinite(z)), (nat, z)
        stored = module.to_natural(params)
        assert np.all(np.asarray(SUPPORT[name](z, stored))), (nat, z)
        assert np.all(np.isfinite(log_q)), (nat, z, log_q)
        # The density recomputed from z may be +-inf where z rounded onto the
        # edge of the support, but never NaN.
        assert not np.any(np.isnan(module.log_prob(params, z))), (nat, z)

        def total(nat32, use_log_prob):
            p = module.init(**nat32)
            z, log_q = module.sample_and_log_prob(jax.random.key(0), p, (num,))
            return jnp.sum(log_q) if use_log_prob else jnp.sum(z)

        for use_log_prob in (False, True):
            grads = jax.grad(total)(nat32, use_log_prob)
            for k, g in grads.items():
                assert np.isfinite(g), (nat, k, use_log_prob, g)


@pytest.mark.parametrize("name", list(CASES))
def test_icdf_at_the_largest_uniform_is_finite(name):
    module = getattr(jr, name)
    for nat in CASES[name]:
        params = module.init(**{k: jnp.float32(v) for k, v in nat.items()})
        top = module.icdf(params, jnp.float32(1 - 2.0**-24))
        assert np.isfinite(top), (nat, top)
