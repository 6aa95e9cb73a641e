"""Tests of the planar flow (Rezende & Mohamed 2015): constraint, inverse, gradients."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.experimental import checkify

import jaxreparam as jr
from tests.bijectors.case import Case

jb = jr.bijectors


def _random(dim, scale=1.0):
    """Random raw params, far from the identity (any real values are valid)."""

    def init(key):
        u_key, w_key, b_key = jax.random.split(key, 3)
        return jb.PlanarParams(
            scale * jax.random.normal(u_key, (dim,)),
            scale * jax.random.normal(w_key, (dim,)),
            scale * jax.random.normal(b_key, ()),
        )

    return init


# The generic log-det check compares the closed-form forward log-det with
# jax.jacobian of forward: neither uses the iterative inverse, so it keeps the
# default rtol. The round trip (inverse of forward) is checked in float32 there
# and to 1e-12 in float64 below.
CASES = {
    "planar": Case(jb.planar, _random(3), (4, 3)),
    "planar_batch": Case(jb.planar, _random(2, 2.0), (2, 3, 2)),
    "planar_1d": Case(jb.planar, _random(1), (6, 1)),
    "planar_init": Case(jb.planar, functools.partial(jb.planar.init, dim=4), (5, 4)),
}


def _u_hat(params, x):
    """u_hat from the forward map itself: y - x = u_hat tanh(w.x + b)."""
    y, _ = jb.planar.forward(params, x)
    return (y - x) / jnp.tanh(x @ params.w + params.b)


def test_hand_given_values_are_honoured():
    u, w, b = jnp.array([0.5, -2.0, 1.0]), jnp.array([1.0, 0.5, -0.3]), 0.4
    with jax.enable_x64(True):
        params = jb.planar.init(u=u.astype(float), w=w.astype(float), b=b)
        assert params.u.dtype == jnp.float64
        x = jnp.array([0.3, 0.1, -0.7])
        np.testing.assert_allclose(_u_hat(params, x), u, rtol=1e-14)
        _, log_det = jb.planar.forward(params, x)
        h_prime = 1 - np.tanh(float(x @ w) + b) ** 2
        np.testing.assert_allclose(log_det, np.log(1 + h_prime * float(w @ u)))


def test_raw_u_is_projected_to_w_dot_u_hat_above_minus_one():
    with jax.enable_x64(True):
        params = jb.PlanarParams(
            jnp.array([-8.0, 4.0]), jnp.array([2.0, 1.0]), jnp.array(0.0)
        )  # raw w.u = -12: would not be invertible as it stands
        u_hat = _u_hat(params, jnp.array([0.7, 0.1]))
        dot = float(u_hat @ params.w)
        np.testing.assert_allclose(1.0 + dot, np.log1p(np.exp(-12.0)), rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"u": [-2.0, 0.0], "w": [1.0, 0.0]}, r"w\.u must be greater than -1.*-2\.0"),
        ({"u": [-1.0, 0.0], "w": [1.0, 0.0]}, r"w\.u .*not invertible.*-1\.0"),
        ({"u": [1.0, 0.0], "w": [0.0, 0.0]}, r"\|w\|\^2 must be positive"),
        ({"u": [np.nan, 0.0]}, "u must be finite"),
        ({"b": np.inf}, "b must be finite"),
        ({"u": [1.0, 0.0], "w": [1.0, 0.0, 0.0]}, "same shape"),
        ({"u": [1.0, 0.0], "dim": 3}, "dim is 3"),
        ({"b": [0.0, 1.0]}, "b must be a scalar"),
    ],
)
def test_init_errors(kwargs, match):
    kwargs = {k: np.asarray(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=match):
        jb.planar.init(**kwargs)


def test_not_invertible_under_jit_is_nan_and_checked_mode_raises():
    def f(u):
        params = jb.planar.init(u=u, w=jnp.array([1.0, 0.0]))
        return jb.planar.forward(params, jnp.ones(2))

    y, log_det = jax.jit(f)(jnp.array([-1.5, 0.0]))
    assert bool(jnp.all(jnp.isnan(y)))
    assert bool(jnp.isnan(log_det))
    with pytest.raises(checkify.JaxRuntimeError, match=r"w\.u"):
        jr.checked(jax.jit(f))(jnp.array([-1.5, 0.0]))
    y, _ = jr.checked(jax.jit(f))(jnp.array([0.5, 0.0]))  # valid: no error
    assert bool(jnp.all(jnp.isfinite(y)))


def test_default_init_is_the_identity_and_keyed_init_is_random():
    params = jb.planar.init(dim=3)
    x = jnp.array([[0.3, -1.0, 2.0]])
    y, log_det = jb.planar.forward(params, x)
    np.testing.assert_allclose(y, x, atol=1e-6)
    np.testing.assert_allclose(log_det, 0.0, atol=1e-6)
    first, second = jax.random.split(jax.random.key(0))
    a, b = jb.planar.init(first, dim=3), jb.planar.init(second, dim=3)
    assert a.u.shape == a.w.shape == (3,)
    assert a.b.shape == ()
    assert not np.allclose(a.w, b.w)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        jb.planar.forward(a, jnp.ones((2, 2)))


def test_round_trip_in_float64_to_rounding():
    with jax.enable_x64(True):
        for seed, scale in enumerate((0.3, 1.0, 3.0)):
            params = _random(4, scale)(jax.random.key(seed))
            params = jax.tree.map(lambda a: a.astype(jnp.float64), params)
            x = 3.0 * jax.random.normal(jax.random.key(10 + seed), (50, 4), jnp.float64)
            y, log_det = jb.planar.forward(params, x)
            x_back, inverse_log_det = jax.jit(jb.planar.inverse)(params, y)
            np.testing.assert_allclose(x_back, x, rtol=1e-11, atol=1e-11)
            np.testing.assert_allclose(
                inverse_log_det, -log_det, rtol=1e-11, atol=1e-13
            )


def test_inverse_gradients_match_finite_differences_in_float64():
    with jax.enable_x64(True):
        params = jax.tree.map(
            lambda a: a.astype(jnp.float64), _random(3, 1.5)(jax.random.key(4))
        )
        y = jnp.array([0.4, -1.3, 2.2], jnp.float64)
        weights = jnp.array([1.0, -2.0, 0.5], jnp.float64)

        def objective(p, y):
            x, log_det = jb.planar.inverse(p, y)
            return x @ weights + log_det

        grads = jax.jit(jax.grad(objective, argnums=(0, 1)))(params, y)
        flat, unravel = jax.flatten_util.ravel_pytree((params, y))
        step = 1e-6
        shifts = step * np.eye(flat.size)
        at = jax.jit(jax.vmap(lambda v: objective(*unravel(v))))
        numeric = (at(flat + shifts) - at(flat - shifts)) / (2 * step)
        ours = jax.flatten_util.ravel_pytree(grads)[0]
        np.testing.assert_allclose(ours, numeric, rtol=1e-7, atol=1e-8)
        # and the Jacobian of the inverse is the inverse of forward's Jacobian
        x = jb.planar.inverse(params, y)[0]
        forward_jacobian = jax.jacobian(lambda v: jb.planar.forward(params, v)[0])(x)
        inverse_jacobian = jax.jacobian(lambda v: jb.planar.inverse(params, v)[0])(y)
        np.testing.assert_allclose(
            inverse_jacobian, np.linalg.inv(forward_jacobian), rtol=1e-12, atol=1e-14
        )


def test_near_the_constraint_values_and_gradients_stay_finite_in_float32():
    """w.u = -1 + 1e-6: the slope 1 + w.u h' nearly vanishes at w.x + b = 0."""
    w = jnp.array([1.0, 0.0], jnp.float32)
    params = jb.planar.init(u=jnp.array([-1.0 + 1e-6, 0.7]), w=w, b=0.0)
    x = jnp.array([[0.0, 0.3], [1e-3, -0.2], [-0.5, 1.0], [4.0, 4.0]], jnp.float32)
    y, log_det = jb.planar.forward(params, x)
    assert bool(jnp.all(jnp.isfinite(y)))
    assert bool(jnp.all(jnp.isfinite(log_det)))
    np.testing.assert_allclose(log_det[0], np.log(1e-6), rtol=2e-2)  # the slope at 0
    x_back, inverse_log_det = jb.planar.inverse(params, y)
    assert bool(jnp.all(jnp.isfinite(x_back)))
    assert bool(jnp.all(jnp.isfinite(inverse_log_det)))
    np.testing.assert_allclose(x_back[2:], x[2:], rtol=1e-4, atol=1e-4)

    def loss(p, v):
        return jb.planar.forward(p, v)[1].sum() + jb.planar.inverse(p, v)[1].sum()

    grads = jax.jit(jax.grad(loss, argnums=(0, 1)))(params, x)
    for leaf in jax.tree.leaves(grads):
        assert bool(jnp.all(jnp.isfinite(leaf)))


@pytest.mark.parametrize("bijector", [jb.planar, jb.radial], ids=lambda b: b.name)
def test_an_adam_step_from_large_raw_params_keeps_the_map_invertible(bijector):
    with jax.enable_x64(True):
        keys = jax.random.split(jax.random.key(5), 8)
        data = jax.random.normal(jax.random.key(6), (64, 2), jnp.float64)

        def nll(params):  # maximum likelihood under a standard normal base
            x, log_det = bijector.inverse(params, data)
            return jnp.mean(0.5 * jnp.sum(x * x, axis=-1) - log_det)

        optimizer = optax.adam(3.0)  # a huge learning rate

        @jax.jit
        def step(params):
            updates, _ = optimizer.update(
                jax.grad(nll)(params), optimizer.init(params), params
            )
            return optax.apply_updates(params, updates)

        @jax.jit
        def round_trip(params, x):
            y, log_det = bijector.forward(params, x)
            x_back, inverse_log_det = bijector.inverse(params, y)
            return x_back, inverse_log_det, log_det

        for key in keys:
            template = bijector.init(dim=2)
            leaves, tree = jax.tree.flatten(template)
            params = jax.tree.unflatten(
                tree,
                [
                    8.0 * jax.random.normal(k, jnp.shape(a), jnp.float64)
                    for k, a in zip(
                        jax.random.split(key, len(leaves)), leaves, strict=True
                    )
                ],
            )
            stepped = step(params)
            x = jax.random.normal(jax.random.key(7), (32, 2), jnp.float64)
            x_back, inverse_log_det, log_det = round_trip(stepped, x)
            np.testing.assert_allclose(x_back, x, rtol=1e-7, atol=1e-7)
            np.testing.assert_allclose(inverse_log_det, -log_det, rtol=1e-7, atol=1e-7)


@pytest.mark.slow
def test_repeat_and_vmap_of_planar_layers():
    init = jax.vmap(functools.partial(jb.planar.init, dim=2))
    flow = jb.repeat(jb.planar, 3)
    params = init(jax.random.split(jax.random.key(8), 3))
    x = jax.random.normal(jax.random.key(9), (10, 2))
    y, log_det = jax.jit(flow.forward)(params, x)
    x_back, inverse_log_det = jax.jit(flow.inverse)(params, y)
    np.testing.assert_allclose(x_back, x, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(inverse_log_det, -log_det, rtol=1e-4, atol=1e-5)
    per_point = jax.vmap(jb.planar.inverse, (None, 0))(
        jax.tree.map(lambda a: a[0], params), y
    )
    np.testing.assert_allclose(
        per_point[0],
        jb.planar.inverse(jax.tree.map(lambda a: a[0], params), y)[0],
        rtol=1e-6,
        atol=1e-6,
    )
