"""The Cholesky scale's log-determinant: a custom derivative (a mask, not a scatter).

``log det cov = 2 tr(raw)``; its value is the sum of ``jnp.diagonal`` as before
(bitwise, see the golden test), and its derivatives, forward and reverse, of any
order, are ``2 tr(d raw)``, batched.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr
from jaxreparam.distributions import _multivariate_normal as _mvn

TRANSFORMS = {"eager": lambda f: f, "jit": jax.jit}


def _params(raw):
    return jr.distributions.MultivariateNormalTrilParams(jnp.zeros(raw.shape[-1]), raw)


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(TRANSFORMS["eager"], id="eager", marks=pytest.mark.slow),
        pytest.param(TRANSFORMS["jit"], id="jit"),
    ],
)
def test_log_det_value_and_derivatives(transform):
    with jax.enable_x64(True):
        raw = jax.random.normal(jax.random.key(0), (2, 3, 4, 4), jnp.float64)
        log_det = _mvn.log_det_covariance
        value = transform(log_det)(_params(raw))
        expected = 2 * np.trace(np.asarray(raw), axis1=-2, axis2=-1)
        np.testing.assert_array_equal(
            value, 2 * np.sum(np.diagonal(raw, axis1=-2, axis2=-1), -1)
        )
        np.testing.assert_allclose(value, expected, rtol=1e-14)
        grad = transform(jax.grad(lambda r: jnp.sum(log_det(_params(r)))))(raw)
        np.testing.assert_array_equal(grad, np.broadcast_to(2 * np.eye(4), raw.shape))
        direction = jax.random.normal(jax.random.key(1), raw.shape, jnp.float64)
        _, tangent = transform(
            lambda r, d: jax.jvp(lambda x: log_det(_params(x)), (r,), (d,))
        )(raw, direction)
        np.testing.assert_allclose(
            tangent, 2 * np.trace(np.asarray(direction), axis1=-2, axis2=-1), rtol=1e-13
        )

    @jax.jit
    def hessian(r):
        return jax.hessian(lambda x: log_det(_params(x))[0, 0])(r)

    with jax.enable_x64(True):
        np.testing.assert_array_equal(hessian(raw), 0.0)


@pytest.mark.slow  # test_multivariate_normal.py checks the gradients too
def test_log_prob_gradient_matches_finite_differences_in_float64():
    with jax.enable_x64(True):
        raw = 0.3 * jax.random.normal(jax.random.key(2), (3, 3), jnp.float64)
        z = jax.random.normal(jax.random.key(3), (5, 3), jnp.float64)

        def f(r):
            return jnp.sum(jr.multivariate_normal_tril.log_prob(_params(r), z))

        grad = jax.jit(jax.grad(f))(raw)
        step = 1e-6
        for i, j in [(0, 0), (1, 0), (2, 2), (2, 1)]:
            e = jnp.zeros_like(raw).at[i, j].set(step)
            numeric = (f(raw + e) - f(raw - e)) / (2 * step)
            np.testing.assert_allclose(grad[i, j], numeric, rtol=1e-7, atol=1e-9)
