"""The extreme uniform draws of the Laplace, Logistic, Cauchy and Gumbel samplers.

``jax.random.uniform`` builds multiples of ``2^-nmant`` in ``[0, 1 - 2^-nmant]``
(``nmant`` = 23 in float32, 52 in float64) and maps them affinely onto
``[minval, maxval)``, clamped below at ``minval``. Each sampler picks ``minval``
so that its inverse CDF never sees an end of ``(0, 1)``. Here ``uniform`` is
replaced by that same map applied to the extreme grid values, so every extreme is
hit deterministically rather than with probability ``2^-23``: the draws, the
fused log-densities and the gradients must be finite, the draws strictly
monotone in the grid value (the Laplace's map, jax's, is decreasing; the others
increase), and the noise within the bounds the module docstrings state.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr

NAMES = ["laplace", "logistic", "cauchy", "gumbel"]
DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


def _grid(dtype):
    """Increasing raw grid values of jax's uniform, extremes included."""
    step = float(jnp.finfo(dtype).eps)  # 2^-nmant, the grid spacing
    raw = [0.0, step, 2 * step, 2.0**-12, 0.25, 0.5, 0.75, 1 - 2.0**-12]
    return np.asarray(raw + [1 - 2 * step, 1 - step], np.float64)


def _fake_uniform(raw):
    def uniform(key, shape=(), dtype=float, minval=0.0, maxval=1.0):
        del key
        values = jnp.asarray(raw, dtype)
        assert tuple(shape) == values.shape, shape
        minval, maxval = jnp.asarray(minval, dtype), jnp.asarray(maxval, dtype)
        return jnp.maximum(minval, values * (maxval - minval) + minval)

    return uniform


def _bounds(name, dtype):
    """The noise bounds the module docstrings state, with 1% slack."""
    finfo = jnp.finfo(dtype)
    eps, tiny = float(finfo.eps), float(finfo.tiny)
    top = -math.log(eps)  # -log(2^-nmant): 15.9 in float32
    return {
        "laplace": (
            1.01 * math.log(float(finfo.epsneg)),
            -1.01 * math.log(finfo.epsneg),
        ),
        "logistic": (1.01 * math.log(tiny), 1.01 * top),
        "cauchy": (-1.01 / math.tan(math.pi * eps), 1.01 / math.tan(math.pi * eps)),
        "gumbel": (-1.01 * math.log(-math.log(tiny)), 1.01 * top),
    }[name]


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("name", NAMES)
def test_extreme_uniforms_give_finite_draws_densities_and_gradients(
    name, dtype_name, monkeypatch
):
    dtype = DTYPES[dtype_name]
    module = getattr(jr, name)
    raw = _grid(dtype)
    with jax.enable_x64(dtype == jnp.float64):
        monkeypatch.setattr(jax.random, "uniform", _fake_uniform(raw))
        params = module.init(loc=jnp.asarray(0.0, dtype), scale=jnp.asarray(1.0, dtype))
        z, lp = module.sample_and_log_prob(jax.random.key(0), params, raw.shape)
        direct = module.log_prob(params, z)

        def total(nat):
            p = module.init(**nat)
            z, lp = module.sample_and_log_prob(jax.random.key(0), p, raw.shape)
            return jnp.sum(z) + jnp.sum(lp)

        nat = {"loc": jnp.asarray(0.3, dtype), "scale": jnp.asarray(2.0, dtype)}
        grads = jax.grad(total)(nat)
    assert z.dtype == dtype
    z, lp, direct = (np.asarray(a, np.float64) for a in (z, lp, direct))
    assert np.all(np.isfinite(z)), z
    assert np.all(np.isfinite(lp)), lp
    assert all(np.isfinite(np.asarray(g)) for g in grads.values()), grads
    # An inverse CDF (of u or of 1 - u) is strictly monotone.
    steps = np.diff(z)
    assert np.all(steps < 0) if name == "laplace" else np.all(steps > 0), z
    low, high = _bounds(name, dtype)
    assert low <= z.min(), (z.min(), low)
    assert z.max() <= high, (z.max(), high)
    # The fused density agrees with log_prob at the extremes too.
    np.testing.assert_allclose(lp, direct, rtol=1e-5 if dtype == jnp.float32 else 1e-12)
