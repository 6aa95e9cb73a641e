"""RelaxedBernoulli and RelaxedOneHotCategorical: exact densities, the zero-temperature
limit, straight-through samples and gradients in the (learnable) temperature.

Contract and scipy checks (the RelaxedBernoulli's gradient in the temperature against
finite differences of a quadrature included) live in the registry tests. Monte Carlo
checks use fixed keys and pass within 5 standard errors.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate, special

import jaxreparam as jr
from jaxreparam.distributions import _relaxed_bernoulli
from tests.registry import slow_except

bernoulli = jr.relaxed_bernoulli
categorical = jr.relaxed_one_hot_categorical
LOGITS3 = np.array([0.5, -1.0, 0.2])


@functools.cache
def _tfd():
    from tensorflow_probability.substrates import jax as tfp

    return tfp.distributions


# --------------------------------------------------------------------------- #
# Densities.


def _half_mass(temperature, logits):
    """``P(Z <= 1/2)`` by quadrature of ``exp(log_prob)`` over ``t = log z``.

    The substitution removes the ends' singularity ``z^(temperature - 1)``; only
    the half near 0 is integrated, where float64 resolves ``z`` down to 1e-308.
    """
    with jax.enable_x64(True):
        params = bernoulli.init(temperature=temperature, logits=logits)
        log_q = jax.jit(lambda t: bernoulli.log_prob(params, jnp.exp(t)) + t)
        integrand = lambda t: float(np.exp(log_q(t)))
        return integrate.quad(integrand, -np.inf, np.log(0.5), epsabs=1e-13)[0]


@pytest.mark.parametrize(
    ("temperature", "logits"),
    slow_except(
        [(t, l) for t in (0.3, 1.0, 3.0) for l in (-2.0, 0.5)],
        {"0.3--2.0", "3.0-0.5"},
        ids=[f"{t}-{l}" for t in (0.3, 1.0, 3.0) for l in (-2.0, 0.5)],
    ),
)
def test_bernoulli_density_integrates_to_one(temperature, logits):
    # q(z; logits) = q(1 - z; -logits), so P(Z > 1/2) is the other half's mass
    # with the logits negated (the symmetry itself is checked below).
    total = _half_mass(temperature, logits) + _half_mass(temperature, -logits)
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    # Independent of the library: P(Z <= 1/2) = P(logits + L <= 0).
    np.testing.assert_allclose(
        _half_mass(temperature, logits), special.expit(-logits), atol=1e-9
    )
    with jax.enable_x64(True):
        z = np.linspace(0.5, 1 - 1e-6, 101)  # 1 - z is exact here (Sterbenz)
        params = bernoulli.init(temperature=temperature, logits=logits)
        mirrored = bernoulli.init(temperature=temperature, logits=-logits)
        np.testing.assert_allclose(
            bernoulli.log_prob(params, z),
            bernoulli.log_prob(mirrored, 1 - z),
            rtol=1e-9,
        )


def _simplex_rule(n=200, power=4):
    """Nodes ``(z0, z1, z2)`` and weights of a product Gauss-Legendre rule on the
    2-simplex (Duffy map ``z1 = u``, ``z2 = (1 - u) v``), with ``u`` and ``v``
    graded towards both ends, where the density may be singular at the vertices."""
    x, w = np.polynomial.legendre.leggauss(n)
    x, w = (x + 1) / 2, w / 2
    denominator = x**power + (1 - x) ** power
    a = x**power / denominator
    da = power * (x * (1 - x)) ** (power - 1) / denominator**2 * w
    u, v = np.meshgrid(a, a, indexing="ij")
    weights = np.outer(da, da) * (1 - u)
    z1, z2 = u, (1 - u) * v
    return np.stack([1 - z1 - z2, z1, z2], -1), weights


@pytest.mark.parametrize("temperature", slow_except([0.5, 1.0, 2.0], {0.5}))
def test_categorical_density_integrates_to_one(temperature):
    # K = 3; K = 2 is the RelaxedBernoulli (tested equal below). The rule's own
    # error, measured by doubling n: below 2e-8 (temperature 1/2) and 1e-13.
    z, weights = _simplex_rule()
    with jax.enable_x64(True):
        params = categorical.init(temperature=temperature, logits=LOGITS3)
        density = np.exp(np.asarray(categorical.log_prob(params, z)))
    np.testing.assert_allclose(np.sum(density * weights), 1.0, atol=1e-7)


def test_categorical_k2_is_the_bernoulli_of_the_logit_difference(key):
    with jax.enable_x64(True):
        p2 = categorical.init(temperature=0.7, logits=[[0.3, -0.4], [1.0, 2.5]])
        pb = bernoulli.init(temperature=0.7, logits=[-0.7, 1.5])
        z = categorical.sample(key, p2, (50,))
        np.testing.assert_allclose(
            categorical.log_prob(p2, z), bernoulli.log_prob(pb, z[..., 1]), rtol=1e-10
        )


@pytest.mark.slow  # run by CI after the default run
def test_log_prob_matches_tfp():
    tfd = _tfd()
    logits = np.array([[0.5, -1.0, 0.2, 1.0], [0.0, 0.3, -2.0, 0.7]])
    temperature = np.array([0.6, 1.7])
    with jax.enable_x64(True):
        params = categorical.init(temperature=temperature, logits=logits)
        z = categorical.sample(jax.random.key(1), params, (30,))
        peer = tfd.RelaxedOneHotCategorical(temperature, logits=logits)
        np.testing.assert_allclose(
            categorical.log_prob(params, z), peer.log_prob(z), rtol=1e-9
        )
        params = bernoulli.init(temperature=temperature, logits=logits[:, 0])
        z = bernoulli.sample(jax.random.key(2), params, (30,))
        peer = tfd.RelaxedBernoulli(temperature, logits=logits[:, 0])
        np.testing.assert_allclose(
            bernoulli.log_prob(params, z), peer.log_prob(z), rtol=1e-9
        )


def test_sample_and_log_prob_stays_finite_where_coordinates_underflow(key):
    # float32, temperature 0.02: most coordinates of z underflow to exactly 0.
    params = categorical.init(temperature=0.02, logits=jnp.asarray(LOGITS3))
    z, lp = categorical.sample_and_log_prob(key, params, (1000,))
    assert np.mean(np.asarray(z) == 0) > 0.3
    assert np.all(np.isfinite(lp))
    assert np.all(np.isneginf(categorical.log_prob(params, z)[np.any(z == 0, -1)]))


def test_bernoulli_logit_density_is_scipys_logistic_and_finite_when_cold():
    with jax.enable_x64(True):
        params = bernoulli.init(temperature=0.3, logits=[0.5, -1.0])
        x = np.asarray(
            _relaxed_bernoulli.sample_logit(jax.random.key(7), params, (200,))
        )
        expected = st.logistic.logpdf(x, np.array([0.5, -1.0]) / 0.3, 1 / 0.3)
        np.testing.assert_allclose(
            _relaxed_bernoulli.logit_log_prob(params, x), expected, rtol=1e-12
        )
        z = special.expit(x)
        inside = (z > 1e-12) & (z < 1 - 1e-6)  # where z itself is still accurate
        jacobian = np.log(z) + np.log1p(-z)
        np.testing.assert_allclose(
            bernoulli.log_prob(params, z)[inside],
            (expected - jacobian)[inside],
            rtol=1e-8,
        )
    # float32, temperature 0.02: half the samples round to exactly 0 or 1.
    cold = bernoulli.init(temperature=0.02, logits=jnp.array([0.5, -1.0]))
    x = _relaxed_bernoulli.sample_logit(jax.random.key(8), cold, (1000,))
    z = jax.nn.sigmoid(x)
    assert np.mean((np.asarray(z) == 0) | (np.asarray(z) == 1)) > 0.3
    assert np.all(np.isfinite(_relaxed_bernoulli.logit_log_prob(cold, x)))
    grad = jax.grad(
        lambda p: jnp.sum(
            _relaxed_bernoulli.logit_log_prob(
                p, _relaxed_bernoulli.sample_logit(jax.random.key(8), p, (1000,))
            )
        )
    )(cold)
    assert all(np.all(np.isfinite(g)) for g in grad)


# --------------------------------------------------------------------------- #
# The zero-temperature limit.


def _assert_frequencies(hits, probs, what):
    n = hits.shape[0]
    se = np.sqrt(probs * (1 - probs) / n)
    np.testing.assert_array_less(np.abs(hits.mean(0) - probs), 5 * se, what)


@pytest.mark.parametrize("temperature", slow_except([1.0, 0.1, 0.01], {0.01}))
def test_argmax_frequencies_match_the_categorical(key, temperature):
    n = 20_000
    params = categorical.init(temperature=temperature, logits=jnp.asarray(LOGITS3))
    z = np.asarray(categorical.sample(key, params, (n,)))
    hits = np.eye(3)[z.argmax(-1)]
    _assert_frequencies(hits, special.softmax(LOGITS3), temperature)
    if temperature == 0.01:  # the relaxed samples themselves are nearly one-hot
        assert np.mean(z.max(-1)) > 0.99


@pytest.mark.parametrize("temperature", slow_except([1.0, 0.1, 0.01], {0.01}))
def test_bernoulli_frequencies_match(key, temperature):
    n = 20_000
    logits = np.array([0.5, -1.0])
    params = bernoulli.init(temperature=temperature, logits=jnp.asarray(logits))
    z = np.asarray(bernoulli.sample(key, params, (n,)))
    _assert_frequencies(z > 0.5, special.expit(logits), temperature)
    if temperature == 0.01:
        assert np.mean(np.minimum(z, 1 - z)) < 0.01


# --------------------------------------------------------------------------- #
# Straight-through.


def test_categorical_straight_through_is_one_hot_with_the_relaxed_gradient():
    key = lambda: jax.random.key(3)  # the same key, fresh for each use
    params = categorical.init(temperature=0.5, logits=jnp.asarray([LOGITS3] * 2))
    hard = jr.straight_through(categorical).sample(key(), params, (500,))
    soft = categorical.sample(key(), params, (500,))
    np.testing.assert_array_equal(hard, jax.nn.one_hot(soft.argmax(-1), 3))
    jac_hard = jax.jacfwd(
        lambda p: jr.straight_through(categorical).sample(key(), p, (5,))
    )
    jac_soft = jax.jacfwd(lambda p: categorical.sample(key(), p, (5,)))
    jax.tree.map(np.testing.assert_array_equal, jac_hard(params), jac_soft(params))
    assert np.any(np.asarray(jac_hard(params).log_temperature) != 0)


def test_bernoulli_straight_through_is_binary_with_the_relaxed_gradient():
    key = lambda: jax.random.key(4)  # the same key, fresh for each use
    params = bernoulli.init(temperature=0.5, logits=jnp.asarray([0.5, -1.0]))
    hard = jr.straight_through(bernoulli).sample(key(), params, (500,))
    soft = bernoulli.sample(key(), params, (500,))
    np.testing.assert_array_equal(hard, (soft > 0.5).astype(soft.dtype))
    jac_hard = jax.jacfwd(
        lambda p: jr.straight_through(bernoulli).sample(key(), p, (5,))
    )
    jac_soft = jax.jacfwd(lambda p: bernoulli.sample(key(), p, (5,)))
    jax.tree.map(np.testing.assert_array_equal, jac_hard(params), jac_soft(params))
    assert np.any(np.asarray(jac_hard(params).log_temperature) != 0)


def test_straight_through_turns_invalid_params_into_nan():
    for module in (bernoulli, categorical):
        f = jax.jit(
            lambda t, m=module: jr.straight_through(m).sample(
                jax.random.key(0), m.init(temperature=t, logits=jnp.zeros(3)), (2,)
            )
        )
        assert np.all(np.isnan(f(jnp.float32(-1.0))))
        assert not np.any(np.isnan(f(jnp.float32(1.0))))


# --------------------------------------------------------------------------- #
# Gradients, the temperature's included.


def _logistic_expectation(f, temperature, delta):
    """``E[f(z_1)]`` for K = 2 by quadrature over the logistic noise (scipy)."""
    integrand = lambda u: (
        f(special.expit((delta + u) / temperature)) * st.logistic.pdf(u)
    )
    return integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0]


def test_k2_gradient_matches_quadrature_including_temperature(key):
    """d E[z_1^2] / d (logits, log_temperature) against finite differences."""
    n, temperature, logits = 40_000, 0.5, np.array([0.3, -0.2])
    f = lambda z1: z1**2
    with jax.enable_x64(True):
        params = categorical.init(temperature=temperature, logits=logits)
        draws = lambda p: f(categorical.sample(key, p, (n,))[:, 1])
        jac = jax.jacfwd(draws)(params)
    delta, h = logits[1] - logits[0], 1e-5
    value = lambda t, d: _logistic_expectation(f, t, d)
    d_delta = (value(temperature, delta + h) - value(temperature, delta - h)) / (2 * h)
    d_log_t = (
        value(temperature * np.exp(h), delta) - value(temperature * np.exp(-h), delta)
    ) / (2 * h)
    expected = {
        "logits": np.array([-d_delta, d_delta]),
        "log_temperature": np.array(d_log_t),
    }
    for name, want in expected.items():
        g = np.asarray(getattr(jac, name), np.float64)
        se = g.std(0) / np.sqrt(n)
        np.testing.assert_array_less(np.abs(g.mean(0) - want), 5 * se, name)


def test_k3_pathwise_gradient_agrees_with_the_score_function(key):
    """Two unbiased estimators of d E[f(z)]: the pathwise one and the score
    function built on ``log_prob``; they must agree within 5 combined SEs."""
    n = 40_000
    f = lambda z: jnp.sum(jnp.array([1.0, -2.0, 0.5]) * z**2)
    estimators = {
        "pathwise": jr.estimators.pathwise,
        "score_function": jr.estimators.score_function,
    }
    means, variances = {}, {}
    with jax.enable_x64(True):
        params = categorical.init(temperature=0.6, logits=LOGITS3)
        for name, key_e in zip(estimators, jax.random.split(key), strict=True):
            estimator, keys = estimators[name], jax.random.split(key_e, n)
            grad = jax.grad(
                lambda k, p, e=estimator: e(k, p, categorical, f), argnums=1
            )
            g = jax.vmap(grad, (0, None))(keys, params)
            leaves = [np.asarray(x, np.float64) for x in g]
            means[name] = np.concatenate([x.reshape(n, -1).mean(0) for x in leaves])
            variances[name] = np.concatenate(
                [x.reshape(n, -1).var(0) / n for x in leaves]
            )
    se = np.sqrt(variances["pathwise"] + variances["score_function"])
    gap = np.abs(means["pathwise"] - means["score_function"])
    np.testing.assert_array_less(gap, 5 * se)
    # Not vacuous: the temperature's gradient is resolved away from zero.
    assert abs(means["pathwise"][-1]) > 5 * np.sqrt(variances["pathwise"][-1])


@pytest.mark.parametrize("temperature", slow_except([1e-2, 1e-1, 1.0, 1e1, 1e2], {1e2}))
def test_float32_samples_and_gradients_are_finite(temperature):
    logits = jnp.array([[-10.0, 0.0, 10.0], [0.3, -0.2, 0.1]], jnp.float32)
    key = lambda: jax.random.key(10)
    cat = categorical.init(temperature=temperature, logits=logits)
    z, lp = categorical.sample_and_log_prob(key(), cat, (200,))
    assert np.all(np.isfinite(z))
    assert np.all(np.isfinite(lp))
    soft = jax.jacfwd(lambda p: categorical.sample(key(), p, (200,)))(cat)
    elbo_like = jax.grad(
        lambda p: jnp.mean(categorical.sample_and_log_prob(key(), p, (200,))[1])
    )(cat)
    ber = bernoulli.init(temperature=temperature, logits=logits[:, 0])
    x = _relaxed_bernoulli.sample_logit(key(), ber, (200,))
    assert np.all(np.isfinite(x))
    assert np.all(np.isfinite(_relaxed_bernoulli.logit_log_prob(ber, x)))
    hard = jax.jacfwd(
        lambda p: jr.straight_through(bernoulli).sample(key(), p, (200,))
    )(ber)
    for leaf in jax.tree.leaves((soft, elbo_like, hard)):
        assert np.all(np.isfinite(leaf)), temperature
