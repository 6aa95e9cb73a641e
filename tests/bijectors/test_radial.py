"""Tests of the radial flow (Rezende & Mohamed 2015): constraint, exact inverse."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxreparam as jr
from tests.bijectors.case import Case

jb = jr.bijectors


def _random(dim, scale=1.0):
    """Random raw params, far from the identity (any real values are valid)."""

    def init(key):
        z0_key, raw_key = jax.random.split(key)
        raw = scale * jax.random.normal(raw_key, (2,))
        return jb.RadialParams(jax.random.normal(z0_key, (dim,)), raw[0], raw[1])

    return init


CASES = {
    "radial": Case(jb.radial, _random(3), (4, 3)),
    "radial_batch": Case(jb.radial, _random(2, 2.0), (2, 3, 2)),
    "radial_1d": Case(jb.radial, _random(1), (6, 1)),
    "radial_init": Case(jb.radial, functools.partial(jb.radial.init, dim=4), (5, 4)),
}


def _natural(params):
    alpha = jax.nn.softplus(params.raw_alpha)
    return alpha, jax.nn.softplus(params.raw_beta) - alpha


def test_hand_given_values_are_honoured():
    with jax.enable_x64(True):
        z0 = jnp.array([1.0, -0.5, 2.0])
        params = jb.radial.init(z0=z0, alpha=0.7, beta=-0.4)
        alpha, beta = _natural(params)
        np.testing.assert_allclose([alpha, beta], [0.7, -0.4], rtol=1e-14)
        x = jnp.array([0.3, 0.1, -0.7])
        y, log_det = jb.radial.forward(params, x)
        r = float(jnp.linalg.norm(x - z0))
        h = 1 / (0.7 + r)
        np.testing.assert_allclose(y, x - 0.4 * h * (x - z0), rtol=1e-14)
        expected = 2 * np.log(1 - 0.4 * h) + np.log(1 - 0.4 * h + 0.4 * h * h * r)
        np.testing.assert_allclose(log_det, expected, rtol=1e-13)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0.0}, r"alpha must be positive, got 0\.0"),
        ({"alpha": -1.0}, r"alpha must be positive, got -1\.0"),
        (
            {"alpha": 1.0, "beta": -1.5},
            r"beta must be at least -alpha \(alpha = 1\.0\).*-1\.5",
        ),
        ({"alpha": 2.0, "beta": -2.01}, r"beta .*not invertible.*-2\.00999"),
        ({"z0": [np.nan, 0.0]}, "z0 must be finite"),
        ({"z0": [0.0, 0.0], "dim": 3}, "dim is 3"),
        ({"beta": [0.0, 1.0]}, "beta must be a scalar"),
        ({"z0": 0.0}, r"z0 must have shape \(dim,\)"),
    ],
)
def test_init_errors(kwargs, match):
    kwargs = {k: np.asarray(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=match):
        jb.radial.init(**kwargs)


def test_beta_at_minus_alpha_is_accepted():
    params = jb.radial.init(z0=jnp.zeros(2), alpha=1.5, beta=-1.5)
    assert float(params.raw_beta) == -np.inf
    y, log_det = jb.radial.forward(params, jnp.array([[1.0, 1.0], [3.0, -2.0]]))
    assert bool(jnp.all(jnp.isfinite(y)))
    assert bool(jnp.all(jnp.isfinite(log_det)))


def test_invalid_under_jit_is_nan_and_checked_mode_raises():
    def f(beta):
        params = jb.radial.init(z0=jnp.zeros(2), alpha=1.0, beta=beta)
        return jb.radial.forward(params, jnp.ones(2))

    y, log_det = jax.jit(f)(-2.0)
    assert bool(jnp.all(jnp.isnan(y)))
    assert bool(jnp.isnan(log_det))
    with pytest.raises(checkify.JaxRuntimeError, match="beta must be at least -alpha"):
        jr.checked(jax.jit(f))(-2.0)
    y, _ = jr.checked(jax.jit(f))(0.5)
    assert bool(jnp.all(jnp.isfinite(y)))


def test_default_init_is_the_identity_and_keyed_init_is_random():
    params = jb.radial.init(dim=3)
    x = jnp.array([[0.3, -1.0, 2.0]])
    y, log_det = jb.radial.forward(params, x)
    np.testing.assert_allclose(y, x, atol=1e-6)
    np.testing.assert_allclose(log_det, 0.0, atol=1e-6)
    first, second = jax.random.split(jax.random.key(0))
    a, b = jb.radial.init(first, dim=3), jb.radial.init(second, dim=3)
    assert a.z0.shape == (3,)
    assert a.raw_alpha.shape == a.raw_beta.shape == ()
    assert not np.allclose(a.z0, b.z0)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        jb.radial.inverse(a, jnp.ones((2, 2)))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_at_the_centre(dtype):
    """y = z0: x = z0, log|det| = d log((alpha + beta) / alpha), finite gradients."""
    with jax.enable_x64(dtype == jnp.float64):
        z0 = jnp.array([0.5, -1.0, 2.0], dtype)
        params = jb.radial.init(z0=z0, alpha=jnp.asarray(0.8, dtype), beta=0.6)
        x, log_det = jb.radial.inverse(params, z0)
        np.testing.assert_array_equal(x, z0)
        np.testing.assert_allclose(log_det, -3 * np.log(1.4 / 0.8), rtol=1e-6)
        y, forward_log_det = jb.radial.forward(params, z0)
        np.testing.assert_array_equal(y, z0)
        np.testing.assert_allclose(forward_log_det, -log_det, rtol=1e-6)

        def loss(p, v):
            x, log_det = jb.radial.inverse(p, v)
            return x.sum() + log_det + jb.radial.forward(p, v)[1]

        grads = jax.jit(jax.grad(loss, argnums=(0, 1)))(params, z0)
        for leaf in jax.tree.leaves(grads):
            assert bool(jnp.all(jnp.isfinite(leaf)))
        # dx/dy at the centre is alpha / (alpha + beta) times the identity
        jacobian = jax.jacobian(lambda v: jb.radial.inverse(params, v)[0])(z0)
        np.testing.assert_allclose(jacobian, 0.8 / 1.4 * np.eye(3), rtol=1e-6)


def test_round_trip_in_float64_to_rounding():
    with jax.enable_x64(True):
        for seed, scale in enumerate((0.3, 1.0, 4.0)):
            params = _random(4, scale)(jax.random.key(seed))
            params = jax.tree.map(lambda a: a.astype(jnp.float64), params)
            x = params.z0 + jnp.logspace(-8, 2, 40)[:, None] * jax.random.normal(
                jax.random.key(10 + seed), (40, 4), jnp.float64
            )
            y, log_det = jb.radial.forward(params, x)
            x_back, inverse_log_det = jax.jit(jb.radial.inverse)(params, y)
            np.testing.assert_allclose(x_back, x, rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(
                inverse_log_det, -log_det, rtol=1e-12, atol=1e-13
            )


def test_inverse_jacobian_is_the_inverse_of_forwards_in_float64():
    with jax.enable_x64(True):
        params = jax.tree.map(
            lambda a: a.astype(jnp.float64), _random(3, 1.5)(jax.random.key(4))
        )
        y = jnp.array([0.4, -1.3, 2.2], jnp.float64)
        x = jb.radial.inverse(params, y)[0]
        forward_jacobian = jax.jacobian(lambda v: jb.radial.forward(params, v)[0])(x)
        inverse_jacobian = jax.jacobian(lambda v: jb.radial.inverse(params, v)[0])(y)
        np.testing.assert_allclose(
            inverse_jacobian, np.linalg.inv(forward_jacobian), rtol=1e-12, atol=1e-14
        )


def test_near_beta_minus_alpha_values_and_gradients_stay_finite_in_float32():
    """beta = -alpha + 1e-6: the map nearly collapses the ball around z0."""
    z0 = jnp.array([1.0, -1.0], jnp.float32)
    params = jb.radial.init(z0=z0, alpha=2.0, beta=-2.0 + 1e-6)
    x = z0 + jnp.array([[0.0, 0.0], [1e-7, 0.0], [1e-3, -1e-3], [0.5, 1.0], [30, 4]])
    y, log_det = jb.radial.forward(params, x)
    assert bool(jnp.all(jnp.isfinite(y)))
    assert bool(jnp.all(jnp.isfinite(log_det)))
    np.testing.assert_allclose(log_det[0], 2 * np.log(1e-6 / 2.0), rtol=1e-2)
    x_back, inverse_log_det = jb.radial.inverse(params, y)
    assert bool(jnp.all(jnp.isfinite(x_back)))
    assert bool(jnp.all(jnp.isfinite(inverse_log_det)))
    np.testing.assert_allclose(x_back[3:], x[3:], rtol=1e-5, atol=1e-6)

    def loss(p, v):
        return jb.radial.forward(p, v)[1].sum() + jb.radial.inverse(p, v)[1].sum()

    grads = jax.jit(jax.grad(loss, argnums=(0, 1)))(params, x)
    for leaf in jax.tree.leaves(grads):
        assert bool(jnp.all(jnp.isfinite(leaf)))
