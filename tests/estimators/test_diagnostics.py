"""Tests of ``jaxreparam.diagnostics``: gradient mean, variance and SNR over keys."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr

NUM_KEYS = 2000


def _square(z):
    return z**2


def _sum_of_squares(z):
    return jnp.sum(z**2)


PATHWISE = functools.partial(
    jr.estimators.pathwise, f=_sum_of_squares, family=jr.normal
)
SCORE = functools.partial(
    jr.estimators.score_function, f=_sum_of_squares, family=jr.normal
)
PARAMS = jr.normal.init(
    loc=jnp.array([1.0, -0.5, 2.0]), scale=jnp.array([1.0, 0.5, 2.0])
)


def test_statistics_match_the_draws_computed_one_by_one(key):
    stats = jr.diagnostics.gradient_statistics(
        PATHWISE, jax.random.clone(key), PARAMS, num_keys=50
    )
    keys = jax.random.split(key, 50)
    loop = [jax.grad(PATHWISE, argnums=1)(keys[i], PARAMS) for i in range(50)]
    for name in ("loc", "log_scale"):
        draws = np.stack([getattr(g, name) for g in loop])
        np.testing.assert_allclose(
            getattr(stats.mean, name), draws.mean(0), rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            getattr(stats.variance, name), draws.var(0, ddof=1), rtol=1e-4
        )
        np.testing.assert_allclose(
            getattr(stats.snr, name),
            np.abs(draws.mean(0)) / draws.std(0, ddof=1),
            rtol=1e-4,
        )
    assert stats.num_keys == 50


def test_pathwise_snr_of_a_quadratic_is_known(key):
    # d/dloc of z^2 is 2 z, z ~ N(loc, scale^2): mean 2 loc, variance 4 scale^2,
    # so SNR = |loc| / scale = (1, 1, 1) here.
    stats = jr.diagnostics.gradient_statistics(PATHWISE, key, PARAMS, num_keys=NUM_KEYS)
    loc = np.asarray(PARAMS.loc)
    scale = np.exp(np.asarray(PARAMS.log_scale))
    se = stats.standard_error()
    np.testing.assert_array_less(np.abs(stats.mean.loc - 2 * loc), 5 * se.loc)
    # The sample variance of a Gaussian has standard error var sqrt(2 / (n - 1)).
    np.testing.assert_array_less(
        np.abs(stats.variance.loc - 4 * scale**2),
        5 * 4 * scale**2 * np.sqrt(2 / (NUM_KEYS - 1)),
    )
    np.testing.assert_allclose(stats.snr.loc, np.abs(loc) / scale, rtol=0.15)


def test_one_compilation_for_repeated_calls(key):
    traces = []

    def surrogate(key, params):
        traces.append(None)  # runs only while tracing
        return PATHWISE(key, params)

    keys = jax.random.split(key, 3)
    for k in keys:
        jr.diagnostics.gradient_statistics(surrogate, k, PARAMS, num_keys=64)
    assert len(traces) == 1


def test_has_aux_for_a_stateful_estimator(key):
    state = jr.estimators.init_baseline()

    def surrogate(key, params):
        return jr.estimators.score_function_moving_average(
            key, params, state, jr.normal, _sum_of_squares
        )

    stats = jr.diagnostics.gradient_statistics(
        surrogate, key, PARAMS, num_keys=64, has_aux=True
    )
    assert stats.mean.loc.shape == (3,)
    draws = jr.diagnostics.gradient_draws(
        surrogate, jax.random.key(1), PARAMS, num_keys=64, has_aux=True
    )
    assert draws.loc.shape == (64, 3)


def test_compare_uses_the_same_keys_and_prints_a_table(key):
    table = jr.diagnostics.compare(
        {"pathwise": PATHWISE, "score function": SCORE}, key, PARAMS, num_keys=500
    )
    assert list(table) == ["pathwise", "score function"]
    alone = jr.diagnostics.gradient_statistics(
        SCORE, jax.random.key(0), PARAMS, num_keys=500
    )
    np.testing.assert_allclose(table["score function"].mean.loc, alone.mean.loc)
    # On this quadratic the score function is the noisier of the two.
    for leaf in ("loc", "log_scale"):
        assert np.all(
            getattr(table["score function"].variance, leaf)
            > getattr(table["pathwise"].variance, leaf)
        )
    text = jr.diagnostics.summary_table(table)
    lines = text.splitlines()
    assert len(lines) == 1 + 2 * 2
    row = lines[1].split()
    assert row[:3] == ["pathwise", "loc", "3"]
    mean_abs, variance = float(row[3]), float(row[4])
    np.testing.assert_allclose(
        mean_abs, np.mean(np.abs(table["pathwise"].mean.loc)), rtol=1e-3
    )
    np.testing.assert_allclose(
        variance, np.mean(table["pathwise"].variance.loc), rtol=1e-3
    )


def test_bad_arguments(key):
    with pytest.raises(ValueError, match="num_keys"):
        jr.diagnostics.gradient_statistics(PATHWISE, key, PARAMS, num_keys=1)
    with pytest.raises(TypeError, match="num_keys"):
        jr.diagnostics.gradient_statistics(PATHWISE, key, PARAMS, num_keys=10.0)
    with pytest.raises(ValueError, match="vmap"):
        jr.diagnostics.gradient_statistics(
            PATHWISE, jax.random.split(key, 2), PARAMS, num_keys=10
        )
