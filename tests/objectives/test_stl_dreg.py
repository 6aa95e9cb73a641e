"""Sticking the landing (Roeder et al. 2017) and DReG (Tucker et al. 2019).

On the conjugate Gaussian model of ``test_objectives`` (posterior known in closed
form). At ``q = p(z | x)`` the log weight ``log p(x, z) - log q(z) = log p(x)``
is constant in ``z``, so every path derivative vanishes: STL and DReG give a
gradient of exactly zero (up to float error) for every draw, while the standard
estimators keep the score term, whose variance is known: for ``z = m + s eps``,
``-d log q / dm = -eps / s`` (variance ``1 / s^2``) and ``-d log q / d log s =
1 - eps^2`` (variance 2). Away from the posterior the paired checks (the same
keys) hold each mean within 5 standard errors of the paired differences.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr
from tests.objectives.test_objectives import (
    FAMILY,
    POSTERIOR_LOC,
    POSTERIOR_PRECISION,
    POSTERIOR_SCALE,
    PRIOR_SCALE,
    Q_LOC,
    Q_SCALE,
    _assert_mean_within,
    _draws,
    _f32,
    _params,
    elbo_closed_form,
    log_joint,
    log_likelihood,
)
from tests.registry import slow_except

NUM_KEYS = 4000


def test_stl_elbo_gradient_is_unbiased(key):
    objective = functools.partial(
        jr.objectives.elbo, family=FAMILY, log_target=log_joint, gradient="stl"
    )
    values, grads = _draws(objective, key, _params(Q_LOC, Q_SCALE), NUM_KEYS)
    value, d_loc, d_log_scale = elbo_closed_form(Q_LOC, Q_SCALE)
    _assert_mean_within(values, value)
    _assert_mean_within(grads.loc, d_loc)
    _assert_mean_within(grads.log_scale, d_log_scale)


def _assert_variance_within(draws, expected, k=5.0):
    """The sample variance within k standard errors (those of the squares)."""
    squares = (draws - draws.mean(axis=0)) ** 2
    error = squares.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    np.testing.assert_array_less(np.abs(squares.mean(axis=0) - expected), k * error)


def _at_posterior(objective, key, **options):
    objective = functools.partial(
        objective, family=FAMILY, log_target=log_joint, **options
    )
    return _draws(objective, key, _params(POSTERIOR_LOC, POSTERIOR_SCALE), NUM_KEYS)


@pytest.mark.parametrize("num_samples", [1, 3])
def test_stl_elbo_has_zero_variance_at_the_posterior(key, num_samples):
    keys = jax.random.split(key)
    _, stl = _at_posterior(
        jr.objectives.elbo, keys[0], gradient="stl", num_samples=num_samples
    )
    for leaf in (stl.loc, stl.log_scale):
        np.testing.assert_allclose(leaf, 0.0, atol=1e-5)
    _, standard = _at_posterior(jr.objectives.elbo, keys[1], num_samples=num_samples)
    _assert_mean_within(standard.loc, 0.0)
    _assert_variance_within(standard.loc, POSTERIOR_PRECISION / num_samples)
    _assert_variance_within(standard.log_scale, 2.0 / num_samples)


@pytest.mark.parametrize(
    ("objective", "options"),
    slow_except(
        [
            (jr.objectives.iwae, {"gradient": "stl"}),
            (jr.objectives.iwae, {"gradient": "dreg"}),
            (jr.objectives.renyi_bound, {"gradient": "dreg", "alpha": 0.5}),
            (jr.objectives.renyi_bound, {"gradient": "dreg", "alpha": 2.0}),
        ],
        {"iwae-dreg", "renyi-2-dreg"},
        ids=["iwae-stl", "iwae-dreg", "renyi-0.5-dreg", "renyi-2-dreg"],
    ),
)
def test_bounds_have_zero_variance_at_the_posterior(key, objective, options):
    keys = jax.random.split(key)
    _, modified = _at_posterior(objective, keys[0], num_samples=5, **options)
    for leaf in jax.tree.leaves(modified):
        np.testing.assert_allclose(leaf, 0.0, atol=1e-5)
    options = {**options, "gradient": "standard"}
    _, standard = _at_posterior(objective, keys[1], num_samples=5, **options)
    for leaf in jax.tree.leaves(standard):
        assert np.all(leaf.std(axis=0) > 0.1)


def _value_and_grad(objective, key, params, theta, **options):
    """The bound and its gradient w.r.t. q's params and the model's prior loc."""

    def bound(params, theta):
        def log_target(z):
            prior = jr.normal.init(loc=theta, scale=_f32(PRIOR_SCALE))
            return jnp.sum(jr.normal.log_prob(prior, z)) + log_likelihood(z)

        return objective(key, params, FAMILY, log_target, **options)

    return jax.jit(jax.value_and_grad(bound, argnums=(0, 1)))(params, theta)


THETA = _f32([0.3, -0.7, 0.2])


def _assert_trees_close(a, b, tol=1e-5):
    jax.tree.map(
        lambda x, y: np.testing.assert_allclose(x, y, rtol=tol, atol=tol), a, b
    )


def test_dreg_at_one_sample_is_stl(key):
    params = _params(Q_LOC, Q_SCALE)
    stl = _value_and_grad(
        jr.objectives.elbo, jax.random.clone(key), params, THETA, gradient="stl"
    )
    for alpha in (0.0, 0.5):
        dreg = _value_and_grad(
            jr.objectives.renyi_bound,
            jax.random.clone(key),
            params,
            THETA,
            alpha=alpha,
            gradient="dreg",
        )
        _assert_trees_close(dreg, stl)


def test_dreg_of_the_renyi_bound_at_alpha_one_is_stl(key):
    # alpha v + (1 - alpha) v^2 = 1/K at alpha = 1: STL's weights.
    params = _params(Q_LOC, Q_SCALE)
    results = [
        _value_and_grad(
            jr.objectives.renyi_bound,
            jax.random.clone(key),
            params,
            THETA,
            alpha=1.0,
            num_samples=6,
            gradient=gradient,
        )
        for gradient in ("stl", "dreg")
    ]
    _assert_trees_close(*results)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_model_gradient_is_the_standard_one(key, alpha):
    # STL and DReG change the variational params' gradient only: what log_target
    # closes over gets sum_k v_k grad log w_k, draw for draw.
    params = _params(Q_LOC, Q_SCALE)
    results = {
        gradient: _value_and_grad(
            jr.objectives.renyi_bound,
            jax.random.clone(key),
            params,
            THETA,
            alpha=alpha,
            num_samples=6,
            num_estimates=2,
            gradient=gradient,
        )
        for gradient in ("standard", "stl", "dreg")
    }
    standard_value, (standard_q, standard_theta) = results["standard"]
    for gradient in ("stl", "dreg"):
        value, (q_grad, theta_grad) = results[gradient]
        np.testing.assert_allclose(value, standard_value, rtol=1e-6)
        np.testing.assert_allclose(theta_grad, standard_theta, rtol=1e-5, atol=1e-6)
        assert not np.allclose(q_grad.loc, standard_q.loc)


def _paired(objective, key, **options):
    """Paired gradient draws of the standard, STL and DReG estimators."""
    params = _params(Q_LOC, Q_SCALE)

    def gradients(key):
        return {
            gradient: jax.grad(objective, argnums=1)(
                jax.random.clone(key),
                params,
                FAMILY,
                log_joint,
                gradient=gradient,
                **options,
            )
            for gradient in ("standard", "stl", "dreg")
        }

    draws = jax.jit(jax.vmap(gradients))(jax.random.split(key, NUM_KEYS))
    return {
        name: np.concatenate([g.loc, g.log_scale], axis=1).astype(np.float64)
        for name, g in draws.items()
    }


def _paired_z(a, b):
    difference = a - b
    return difference.mean(axis=0) / (
        difference.std(axis=0, ddof=1) / np.sqrt(difference.shape[0])
    )


@pytest.mark.parametrize(
    ("objective", "options"),
    slow_except(
        [
            (jr.objectives.iwae, {"num_samples": 8}),
            (jr.objectives.renyi_bound, {"num_samples": 8, "alpha": 0.5}),
        ],
        {"iwae"},
        ids=["iwae", "renyi-0.5"],
    ),
)
def test_dreg_is_unbiased_and_stl_is_not_for_k_above_one(key, objective, options):
    draws = _paired(objective, key, **options)
    np.testing.assert_array_less(
        np.abs(_paired_z(draws["dreg"], draws["standard"])), 5.0
    )
    stl_z = _paired_z(draws["stl"], draws["standard"])
    assert np.sqrt(np.mean(stl_z**2)) > 5.0, stl_z
    # And DReG is the lower-variance one for every component here.
    np.testing.assert_array_less(
        draws["dreg"].var(axis=0), draws["standard"].var(axis=0)
    )
