"""Tests of the tanh bijector: closed forms, float32 edges, the inverse's ends."""

import jax
import jax.numpy as jnp
import numpy as np

import jaxreparam as jr
from tests.bijectors.case import Case

jb = jr.bijectors

CASES = {
    "tanh": Case(jb.tanh, lambda key: jb.tanh.init(), (4, 3)),
}


def test_log_det_is_log_one_minus_tanh_squared_in_float64():
    with jax.enable_x64(True):
        x = jnp.linspace(-8.0, 8.0, 33, dtype=jnp.float64)
        y, log_det = jb.tanh.forward((), x)
        np.testing.assert_allclose(y, np.tanh(np.asarray(x)), rtol=1e-15)
        # 1 - tanh^2 = 1 / cosh^2, and cosh has no cancellation
        np.testing.assert_allclose(
            log_det, -2.0 * np.log(np.cosh(np.asarray(x))), rtol=1e-14
        )


def test_forward_log_det_and_gradient_finite_at_plus_minus_50_in_float32():
    x = jnp.array([-50.0, -20.0, 20.0, 50.0], jnp.float32)
    y, log_det = jb.tanh.forward((), x)
    assert y.dtype == log_det.dtype == jnp.float32
    np.testing.assert_array_equal(np.abs(y), 1.0)  # tanh rounds to +-1 here
    # log(1 - tanh^2) = log 4 - 2|x| - 2 log1p(exp(-2|x|)) = log 4 - 2|x| here
    np.testing.assert_allclose(log_det, np.log(4.0) - 2.0 * np.abs(x), rtol=1e-6)
    grad = jax.vmap(jax.grad(lambda v: jb.tanh.forward((), v)[1]))(x)
    # d/dx log(1 - tanh^2) = -2 tanh(x)
    np.testing.assert_allclose(grad, -2.0 * np.sign(x), rtol=1e-6)
    jitted = jax.jit(jax.grad(lambda v: jb.tanh.forward((), v)[1].sum()))(x)
    assert bool(jnp.all(jnp.isfinite(jitted)))


def test_inverse_ends_and_outside():
    x, log_det = jb.tanh.inverse((), jnp.array([-1.0, 1.0, 1.5, -2.0]))
    np.testing.assert_array_equal(x[:2], [-np.inf, np.inf])
    np.testing.assert_array_equal(log_det[:2], [np.inf, np.inf])
    assert bool(jnp.all(jnp.isnan(x[2:])))
    assert bool(jnp.all(jnp.isnan(log_det[2:])))


def test_inverse_log_det_in_float64_near_the_ends():
    with jax.enable_x64(True):
        y = jnp.array([-1 + 1e-12, -0.5, 0.0, 0.9, 1 - 1e-12], jnp.float64)
        x, log_det = jb.tanh.inverse((), y)
        np.testing.assert_allclose(jnp.tanh(x), y, rtol=1e-15)
        _, forward_log_det = jb.tanh.forward((), x)
        np.testing.assert_allclose(log_det, -forward_log_det, rtol=1e-9)


def test_grad_and_vmap_of_the_inverse():
    y = jnp.array([[-0.5, 0.2], [0.7, 0.0]])
    grad = jax.jit(jax.grad(lambda v: jb.tanh.inverse((), v)[0].sum()))(y)
    np.testing.assert_allclose(grad, 1.0 / (1.0 - y**2), rtol=1e-6)
    mapped = jax.vmap(lambda v: jb.tanh.inverse((), v))(y)
    np.testing.assert_allclose(mapped[0], jnp.arctanh(y), rtol=1e-6)


def test_forward_lands_inside_the_interval():
    x = jnp.linspace(-7.5, 7.5, 61, dtype=jnp.float32)  # tanh is +-1 from |x| = 8
    y, log_det = jb.tanh.forward((), x)
    assert bool(jnp.all((y > -1.0) & (y < 1.0)))
    assert bool(jnp.all(jnp.diff(y) > 0))
    assert bool(jnp.all(jnp.isfinite(log_det)))
