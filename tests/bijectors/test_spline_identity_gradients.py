"""The spline's gradients where it is the identity exactly (raw = 0).

There the value ``x`` and the log-derivative 0 are selected bitwise; their
gradients must still be the spline's own (a flow starts at raw = 0, so its
first training step depends on them), not those of the selected constants.
"""

import jax
import jax.numpy as jnp
import numpy as np

import jaxreparam as jr

jb = jr.bijectors


def test_gradients_at_raw_zero_match_finite_differences():
    with jax.enable_x64(True):
        transformer = jb.spline_transformer(num_bins=3, bound=2.0)
        raw = jnp.zeros((3, transformer.num_params), float)
        x = jnp.array([-1.5, 0.3, 1.9])

        @jax.jit
        def loss(raw):
            y, log_det = transformer.forward(raw, x)
            z, inverse_log_det = transformer.inverse(raw, 0.5 * x)
            return jnp.sum(y * y + 3.0 * log_det + z + 2.0 * inverse_log_det)

        grad = jax.grad(loss)(raw)
        assert float(jnp.max(jnp.abs(grad))) > 0.1  # the selection's would be 0
        # central differences along random directions (raw +- eps d is no
        # longer the identity, so they measure the spline's own formulas)
        directions = jax.random.normal(jax.random.key(0), (2, *raw.shape), float)
        eps = 1e-6
        for d in directions:
            numeric = (loss(raw + eps * d) - loss(raw - eps * d)) / (2 * eps)
            np.testing.assert_allclose(jnp.sum(grad * d), numeric, rtol=1e-6)


def test_derivatives_in_x_at_raw_zero_are_the_identity_s():
    with jax.enable_x64(True):
        transformer = jb.spline_transformer(num_bins=4, bound=2.0)
        raw = jnp.zeros((transformer.num_params,), float)
        x = jnp.array([-1.5, -0.2, 0.3, 1.9, 5.0])
        for function in (transformer.forward, transformer.inverse):
            derivative = jax.jit(jax.vmap(jax.jacfwd(lambda v, f=function: f(raw, v))))
            dy, dlog_det = derivative(x)
            np.testing.assert_allclose(dy, 1.0, rtol=1e-12)
            np.testing.assert_allclose(dlog_det, 0.0, atol=1e-12)
