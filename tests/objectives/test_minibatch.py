"""The loss factories' minibatch form: the likelihood scaled to the data set.

``make_*_loss(family, log_prior=..., log_likelihood=..., num_data=N)`` returns
``loss(key, params, batch)`` whose target is ``log_prior(z) + N / B *
sum_batch log_likelihood(z, x_i)``. The model is a Bayesian linear regression
in two weights, ``w ~ N(0, I)``, ``y_i ~ N(x_i . w, 0.5^2)``, on 12 points.
Checks in float64 with fixed draws: the ELBO's minibatch losses (and their
gradients) averaged over a partition of the data are the full-data loss,
exactly but for rounding; every bound on the whole data set as one batch is
the bound of the hand-written target; and ``jr.fit`` with ``batch_size``
recovers the exact posterior of a conjugate model.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreparam as jr
from tests.registry import slow_except

NUM_DATA, BATCH = 12, 3
NOISE = 0.5


def _data():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(NUM_DATA, 2))
    y = x @ np.array([0.8, -1.5]) + NOISE * rng.normal(size=NUM_DATA)
    return {"x": jnp.asarray(x), "y": jnp.asarray(y)}


def log_prior(w):
    return jnp.sum(jr.normal.log_prob(jr.normal.init(loc=jnp.zeros(2)), w))


def log_likelihood(w, point):
    mean = point["x"] @ w
    return jr.normal.log_prob(jr.normal.init(loc=mean, scale=NOISE), point["y"])


def _log_joint(data):
    def log_joint(w):
        one = jax.vmap(log_likelihood, (None, 0))(w, data)
        return log_prior(w) + jnp.sum(one)

    return log_joint


def _params():
    return jr.normal.init(loc=jnp.array([0.3, -0.7]), scale=jnp.array([0.4, 0.6]))


def _value_and_grad(loss, *args):
    """The loss and its gradient w.r.t. the params, flat."""
    value, grad = jax.jit(jax.value_and_grad(loss, argnums=1))(*args)
    leaves = [np.ravel(np.asarray(a, np.float64)) for a in (value, *grad)]
    return np.concatenate(leaves)


def _assert_close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


ELBO_OPTIONS = {
    "pathwise": {"num_samples": 4},
    "stl": {"num_samples": 4, "gradient": "stl"},
    "score_function": {"num_samples": 4, "estimator": jr.estimators.score_function},
    "analytic_entropy": {"num_samples": 4, "entropy": "analytic"},
}


@pytest.mark.parametrize("name", slow_except(list(ELBO_OPTIONS), {"pathwise"}))
def test_minibatch_elbo_losses_average_to_the_full_data_loss(key, name):
    options = ELBO_OPTIONS[name]
    with jax.enable_x64(True):
        data, params = _data(), _params()
        loss = jr.objectives.make_elbo_loss(
            jr.normal,
            log_prior=log_prior,
            log_likelihood=log_likelihood,
            num_data=NUM_DATA,
            **options,
        )
        full = jr.objectives.make_elbo_loss(jr.normal, _log_joint(data), **options)
        want = _value_and_grad(full, jax.random.clone(key), params)
        batches = [
            jax.tree.map(lambda a, i=i: a[i : i + BATCH], data)
            for i in range(0, NUM_DATA, BATCH)
        ]
        parts = [
            _value_and_grad(loss, jax.random.clone(key), params, b) for b in batches
        ]
        _assert_close(sum(parts) / len(parts), want)
        # One minibatch alone is a different number: the scaling is not idle.
        assert abs(parts[0][0] - want[0]) > 1e-3
        _assert_close(_value_and_grad(loss, key, params, data), want)


def test_minibatch_elbo_with_a_closed_form_kl_scales_only_the_likelihood(key):
    with jax.enable_x64(True):
        data, params = _data(), _params()
        prior = jr.normal.init(loc=jnp.zeros(2))
        loss = jr.objectives.make_elbo_loss(
            jr.normal,
            log_likelihood=log_likelihood,
            num_data=NUM_DATA,
            prior=prior,
            num_samples=4,
        )
        half = jax.tree.map(lambda a: a[:6], data)
        got = loss(jax.random.clone(key), params, half)
        draws = jr.normal.sample(key, params, (4,))
        likelihood = jax.vmap(
            lambda w: jnp.sum(jax.vmap(log_likelihood, (None, 0))(w, half))
        )(draws)
        kl = jnp.sum(jr.kl_divergence(params, prior))
        want = -(NUM_DATA / 6 * jnp.mean(likelihood) - kl)
        np.testing.assert_allclose(got, want, rtol=1e-12)


BOUNDS = {
    "iwae": (jr.objectives.make_iwae_loss, {"num_samples": 5, "num_estimates": 2}),
    "iwae_dreg": (jr.objectives.make_iwae_loss, {"num_samples": 5, "gradient": "dreg"}),
    "renyi": (jr.objectives.make_renyi_loss, {"num_samples": 5, "alpha": 0.5}),
}


@pytest.mark.parametrize("name", list(BOUNDS))
def test_bounds_on_the_whole_data_set_are_the_hand_written_ones(key, name):
    factory, options = BOUNDS[name]
    with jax.enable_x64(True):
        data, params = _data(), _params()
        loss = factory(
            jr.normal,
            log_prior=log_prior,
            log_likelihood=log_likelihood,
            num_data=NUM_DATA,
            **options,
        )
        full = factory(jr.normal, _log_joint(data), **options)
        _assert_close(
            _value_and_grad(loss, jax.random.clone(key), params, data),
            _value_and_grad(full, key, params),
        )


def test_a_minibatch_bound_uses_the_rescaled_target(key):
    with jax.enable_x64(True):
        data, params = _data(), _params()
        batch = jax.tree.map(lambda a: a[:4], data)
        loss = jr.objectives.make_iwae_loss(
            jr.normal,
            log_prior=log_prior,
            log_likelihood=log_likelihood,
            num_data=NUM_DATA,
            num_samples=5,
        )

        def target(w):
            one = jax.vmap(log_likelihood, (None, 0))(w, batch)
            return log_prior(w) + NUM_DATA / 4 * jnp.sum(one)

        want = -jr.objectives.iwae(
            jax.random.clone(key), params, jr.normal, target, num_samples=5
        )
        np.testing.assert_allclose(loss(key, params, batch), want, rtol=1e-12)


def test_minibatch_fit_recovers_the_exact_posterior(key):
    """x_i ~ N(mu, 1), mu ~ N(0, 1), 64 points in batches of 8: the posterior is
    N(sum x / 65, 1 / 65). Unscaled batches would fit N(., 1 / 9), a scale 2.7
    times too large; the fit must land within 10% of the exact scale and a
    quarter of it of the exact mean (cosine decay averages the batch noise)."""
    num_data = 64
    x = jnp.asarray(np.random.default_rng(3).normal(1.2, 1.0, num_data), jnp.float32)
    loss = jr.objectives.make_elbo_loss(
        jr.normal,
        log_prior=lambda mu: jr.normal.log_prob(jr.normal.init(), mu),
        log_likelihood=lambda mu, x: jr.normal.log_prob(jr.normal.init(loc=mu), x),
        num_data=num_data,
        num_samples=8,
    )
    result = jr.fit(
        key,
        jr.normal.init(loc=0.0, scale=1.0),
        x,
        loss=loss,
        optimizer=optax.adam(optax.cosine_decay_schedule(0.05, 3000)),
        num_steps=3000,
        batch_size=8,
        progress=False,
    )
    exact_loc, exact_scale = float(jnp.sum(x)) / 65, 65**-0.5
    loc, scale = result.params.loc, jnp.exp(result.params.log_scale)
    assert abs(loc - exact_loc) < 0.25 * exact_scale
    assert abs(np.log(scale / exact_scale)) < 0.1


def _factory(**overrides):
    arguments = {
        "log_prior": log_prior,
        "log_likelihood": log_likelihood,
        "num_data": NUM_DATA,
    }
    arguments.update(overrides)
    return jr.objectives.make_elbo_loss(jr.normal, **arguments)


def test_bad_minibatch_arguments_raise_with_their_name(key):
    with pytest.raises(ValueError, match="either log_target"):
        jr.objectives.make_elbo_loss(
            jr.normal,
            _log_joint(_data()),
            log_prior=log_prior,
            log_likelihood=log_likelihood,
            num_data=NUM_DATA,
        )
    with pytest.raises(ValueError, match="log_prior and num_data go with"):
        jr.objectives.make_iwae_loss(jr.normal, _log_joint(_data()), num_data=5)
    with pytest.raises(TypeError, match="log_target must be callable"):
        jr.objectives.make_elbo_loss(jr.normal)
    with pytest.raises(TypeError, match="num_data must be a Python int"):
        _factory(num_data=12.0)
    with pytest.raises(ValueError, match="num_data must be >= 1"):
        _factory(num_data=0)
    with pytest.raises(TypeError, match="log_prior must be callable"):
        _factory(log_prior=None)
    with pytest.raises(ValueError, match="leave log_prior out"):
        _factory(prior=jr.normal.init(loc=jnp.zeros(2)))
    loss = _factory(num_data=2)
    with pytest.raises(ValueError, match="more than num_data=2"):
        loss(key, _params(), _data())
    vector = _factory(log_likelihood=lambda w, point: point["x"] * w)
    with pytest.raises(ValueError, match="log_likelihood must map one draw"):
        vector(key, _params(), _data())
    with pytest.raises(ValueError, match="same leading"):
        _factory()(key, _params(), {"x": jnp.zeros((3, 2)), "y": jnp.zeros(4)})
