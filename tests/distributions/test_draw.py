"""The families' noise: ``_common.draw`` gives ``jax.random``'s numbers exactly.

A short last axis is drawn flat and reshaped (XLA's CPU backend runs and compiles
that faster); the numbers must be those of the plain call, bit for bit, for
every sampler the families use, in float32 and float64.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxreparam.distributions import _common

SAMPLERS = {
    "normal": jax.random.normal,
    "uniform": functools.partial(jax.random.uniform, minval=1e-30, maxval=1.0),
    "gumbel": jax.random.gumbel,
    "logistic": jax.random.logistic,
}


@pytest.mark.parametrize("name", list(SAMPLERS))
@pytest.mark.parametrize("shape", [(7,), (128, 10), (3, 5, 7), (4, 64), (2, 0, 3)])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_draw_is_the_plain_call_bit_for_bit(key, name, shape, dtype):
    sampler = SAMPLERS[name]
    with jax.enable_x64(dtype == jnp.float64):
        got = _common.draw(sampler, jax.random.clone(key), shape, dtype)
        want = sampler(key, shape, dtype)
        assert got.shape == want.shape
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_short_axes_are_drawn_flat():
    text = str(
        jax.make_jaxpr(lambda k: _common.draw(jax.random.normal, k, (128, 10)))(
            jax.random.key(0)
        )
    )
    assert "shape=(1280,)" in text
    text = str(
        jax.make_jaxpr(lambda k: _common.draw(jax.random.normal, k, (2, 64)))(
            jax.random.key(0)
        )
    )
    assert "shape=(2, 64)" in text
