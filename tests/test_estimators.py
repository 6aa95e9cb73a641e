"""Tests of the surrogate gradient estimators (``jaxreparam.estimators``)."""

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr

ESTIMATORS = {
    "pathwise": jr.estimators.pathwise,
    "score_function": jr.estimators.score_function,
}
NUM_KEYS = 4000  # independent gradient estimates per check
LOC = np.array([0.5, -1.0, 2.0], np.float32)
SCALE = np.array([1.0, 0.5, 1.5], np.float32)


def _square(z):
    return z**2


def _sum_of_squares(z):
    return jnp.sum(z**2)


def _gradient_draws(estimator, key, loc, scale, f, num_samples):
    """``NUM_KEYS`` independent estimates of the gradient w.r.t. (loc, scale)."""

    def surrogate(key, loc, scale):
        params = jr.normal.init(loc=loc, scale=scale)
        return estimator(key, params, f, jr.normal.family, num_samples=num_samples)

    grad = jax.jit(jax.vmap(jax.grad(surrogate, argnums=(1, 2)), (0, None, None)))
    return grad(jax.random.split(key, NUM_KEYS), loc, scale)


def _assert_mean_within(draws, expected, k=5.0):
    draws = np.asarray(draws, np.float64)
    mean = draws.mean(axis=0)
    standard_error = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    assert np.all(standard_error > 0)
    np.testing.assert_array_less(np.abs(mean - expected), k * standard_error)


@pytest.mark.parametrize("num_samples", [1, 3])
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_gradient_of_square_matches_closed_form_scalar(key, name, num_samples):
    # E[z^2] = loc^2 + scale^2: d/dloc = 2 loc, d/dscale = 2 scale.
    loc, scale = jnp.float32(0.7), jnp.float32(1.3)
    g_loc, g_scale = _gradient_draws(
        ESTIMATORS[name], key, loc, scale, _square, num_samples
    )
    assert g_loc.shape == g_scale.shape == (NUM_KEYS,)
    _assert_mean_within(g_loc, 2 * 0.7)
    _assert_mean_within(g_scale, 2 * 1.3)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_gradient_of_sum_of_squares_over_a_batch(key, name):
    # One draw is the whole batch (a diagonal Gaussian); f sums over it, and the
    # score function must use the joint log-density of the draw.
    g_loc, g_scale = _gradient_draws(
        ESTIMATORS[name], key, LOC, SCALE, _sum_of_squares, 2
    )
    assert g_loc.shape == g_scale.shape == (NUM_KEYS, 3)
    _assert_mean_within(g_loc, 2 * LOC)
    _assert_mean_within(g_scale, 2 * SCALE)


def test_score_function_has_larger_variance_than_pathwise_here(key):
    # Not a theorem in general, but for f(z) = z^2 under N(0.7, 1.3^2) the
    # pathwise variance of d/dloc is 4 scale^2 ~ 6.8 and the score-function one is
    # far larger; a check that the two estimators are not the same code.
    keys = jax.random.split(key, 2)
    loc, scale = jnp.float32(0.7), jnp.float32(1.3)
    path = _gradient_draws(jr.estimators.pathwise, keys[0], loc, scale, _square, 1)
    score = _gradient_draws(
        jr.estimators.score_function, keys[1], loc, scale, _square, 1
    )
    assert np.var(path[0]) < np.var(score[0])


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_value_equals_plain_monte_carlo_estimate(key, name):
    params = jr.normal.init(loc=LOC, scale=SCALE)
    z = jr.normal.sample(jax.random.clone(key), params, (5,))
    expected = jnp.mean(jax.vmap(_sum_of_squares)(z))
    value = ESTIMATORS[name](
        key, params, _sum_of_squares, jr.normal.family, num_samples=5
    )
    assert value.shape == ()
    np.testing.assert_array_equal(value, expected)  # exactly, not approximately


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_jit_and_grad_match_eager(key, name):
    estimator = ESTIMATORS[name]
    params = jr.normal.init(loc=LOC, scale=SCALE)
    args = (_sum_of_squares, jr.normal.family)
    for fun in (estimator, jax.grad(estimator, argnums=1)):
        eager = fun(jax.random.clone(key), params, *args, num_samples=4)
        jitted = jax.jit(fun, static_argnums=(2, 3), static_argnames="num_samples")
        compiled = jitted(jax.random.clone(key), params, *args, num_samples=4)
        jax.tree.map(
            functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6),
            compiled,
            eager,
        )


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_vmap_over_keys_matches_a_loop(key, name):
    estimator = ESTIMATORS[name]
    params = jr.normal.init(loc=LOC, scale=SCALE)
    grad = jax.grad(estimator, argnums=1)
    keys = jax.random.split(key, 4)
    batched = jax.vmap(
        lambda k: grad(k, params, _sum_of_squares, jr.normal.family, num_samples=2)
    )(jax.random.clone(keys))
    for i in range(4):
        one = grad(keys[i], params, _sum_of_squares, jr.normal.family, num_samples=2)
        np.testing.assert_allclose(batched.loc[i], one.loc, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            batched.log_scale[i], one.log_scale, rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_signature_is_key_params_f_family_then_options(name):
    parameters = inspect.signature(ESTIMATORS[name]).parameters
    assert list(parameters)[:4] == ["key", "params", "f", "family"]
    assert parameters["num_samples"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_bad_arguments_raise_with_their_name(key, name):
    estimator = ESTIMATORS[name]
    params = jr.normal.init()
    with pytest.raises(ValueError, match="num_samples"):
        estimator(key, params, _square, jr.normal.family, num_samples=0)
    with pytest.raises(TypeError, match="num_samples"):
        estimator(key, params, _square, jr.normal.family, num_samples=2.0)
    params = jr.normal.init(loc=LOC, scale=SCALE)
    with pytest.raises(ValueError, match="f must map one draw"):
        estimator(key, params, _square, jr.normal.family, num_samples=2)


def test_pathwise_refuses_a_family_that_is_not_reparameterized(key):
    family = jr.normal.family._replace(reparameterized=False)
    with pytest.raises(ValueError, match="score_function"):
        jr.estimators.pathwise(key, jr.normal.init(), _square, family)
    # The score function needs no reparameterization.
    jr.estimators.score_function(key, jr.normal.init(), _square, family)


def test_score_function_passes_gradients_of_what_f_closes_over(key):
    # d/dtheta E[theta * z] = E[z] = loc, through f itself, not the score.
    params = jr.normal.init(loc=0.7, scale=1.3)

    def surrogate(theta):
        f = lambda z: theta * z
        return jr.estimators.score_function(
            jax.random.clone(key), params, f, jr.normal.family, num_samples=1000
        )

    z = jr.normal.sample(jax.random.clone(key), params, (1000,))
    np.testing.assert_allclose(jax.grad(surrogate)(2.0), jnp.mean(z), rtol=1e-5)
