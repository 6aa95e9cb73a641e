"""Bernoulli and Categorical: masses against scipy, sampling frequencies, and the
score-function gradient of ``E[f(z)]`` against the exact one from enumeration.

Frequencies are checked with a chi-square test at p > 0.01 (a stated 1% false
positive rate per test); Monte Carlo gradients within 5 standard errors.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import jaxreparam as jr

LOGITS = np.array([0.3, -1.2, 2.0])
CATEGORICAL_LOGITS = np.array([[0.5, -1.0, 0.2, 1.1], [0.0, 1.5, -0.3, -2.0]])
NUM_DRAWS = 20_000


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_bernoulli_matches_scipy():
    with jax.enable_x64(True):
        params = jr.bernoulli.init(logits=LOGITS)
        ref = st.bernoulli(_sigmoid(LOGITS))
        for z in (0.0, 1.0):
            np.testing.assert_allclose(
                jr.bernoulli.log_prob(params, z), ref.logpmf(z), rtol=1e-12
            )
        np.testing.assert_allclose(jr.bernoulli.entropy(params), ref.entropy())
        np.testing.assert_allclose(jr.bernoulli.mean(params), ref.mean())
        np.testing.assert_allclose(jr.bernoulli.variance(params), ref.var())
        assert np.all(jr.bernoulli.log_prob(params, 0.5) == -np.inf)
        assert np.all(jr.bernoulli.log_prob(params, 2.0) == -np.inf)


def test_bernoulli_probs_and_logits_agree():
    np.testing.assert_allclose(
        jr.bernoulli.init(probs=_sigmoid(LOGITS).astype(np.float32)).logits,
        LOGITS,
        rtol=1e-5,
    )
    assert jr.bernoulli.init(probs=1.0).logits == np.inf  # the closed ends
    assert jr.bernoulli.init(probs=0.0).logits == -np.inf
    for bad in (1.5, -0.1, np.nan):
        with pytest.raises(ValueError, match=r"probs must be in \[0, 1\]"):
            jr.bernoulli.init(probs=bad)
    with pytest.raises(ValueError, match="logits must be not NaN"):
        jr.bernoulli.init(logits=np.nan)
    with pytest.raises(ValueError, match="not both"):
        jr.bernoulli.init(logits=0.0, probs=0.5)


def test_categorical_matches_scipy():
    with jax.enable_x64(True):
        params = jr.categorical.init(logits=CATEGORICAL_LOGITS)
        probs = _softmax(CATEGORICAL_LOGITS)
        eye = np.eye(4)
        for k in range(4):
            z = np.broadcast_to(eye[k], (2, 4))
            expected = [
                st.multinomial(1, p).logpmf(row)
                for p, row in zip(probs, z, strict=True)
            ]
            np.testing.assert_allclose(
                jr.categorical.log_prob(params, z), expected, rtol=1e-12
            )
        np.testing.assert_allclose(
            jr.categorical.entropy(params), st.entropy(probs, axis=-1), rtol=1e-12
        )
        np.testing.assert_allclose(jr.categorical.mean(params), probs, rtol=1e-12)
        off = np.array([[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
        with pytest.raises(
            ValueError, match=r"one-hot.*\[0.5 0.5 0.  0. \] at index \(1,\)"
        ):
            jr.categorical.log_prob(params, off)
        assert np.isnan(jax.jit(jr.categorical.log_prob)(params, off)[1])


def test_categorical_probs_are_normalized_and_one_needed():
    weights = np.array([1.0, 3.0], np.float32)
    params = jr.categorical.init(probs=weights)
    np.testing.assert_allclose(jr.categorical.mean(params), [0.25, 0.75], rtol=1e-6)
    with pytest.raises(ValueError, match="exactly one"):
        jr.categorical.init()
    for bad in ([0.0, 0.0], [0.5, -0.1], [0.5, np.inf], [0.5, np.nan]):
        with pytest.raises(ValueError, match="probs"):
            jr.categorical.init(probs=np.array(bad))
    params = jr.categorical.init(probs=np.array([0.5, 0.0]))  # a class can be 0
    np.testing.assert_array_equal(jr.categorical.mean(params), [1.0, 0.0])


def test_bernoulli_frequencies(key):
    params = jr.bernoulli.init(logits=LOGITS.astype(np.float32))
    z = np.asarray(jr.bernoulli.sample(key, params, (NUM_DRAWS,)))
    assert set(np.unique(z)) <= {0.0, 1.0}
    for i, p in enumerate(_sigmoid(LOGITS)):
        ones = z[:, i].sum()
        observed = [NUM_DRAWS - ones, ones]
        expected = [NUM_DRAWS * (1 - p), NUM_DRAWS * p]
        assert st.chisquare(observed, expected).pvalue > 0.01


@pytest.mark.parametrize("transform", [lambda f: f, jax.jit])
def test_categorical_frequencies(key, transform):
    params = jr.categorical.init(logits=CATEGORICAL_LOGITS.astype(np.float32))
    sample = transform(
        lambda key, params: jr.categorical.sample(key, params, (NUM_DRAWS,))
    )
    z = np.asarray(sample(key, params))
    assert z.shape == (NUM_DRAWS, 2, 4)
    np.testing.assert_array_equal(z.sum(-1), 1.0)
    for row, p in enumerate(_softmax(CATEGORICAL_LOGITS)):
        counts = z[:, row].sum(0)
        assert st.chisquare(counts, NUM_DRAWS * p).pvalue > 0.01


def test_pathwise_refuses_discrete_families(key):
    for family, params in (
        (jr.bernoulli, jr.bernoulli.init()),
        (jr.categorical, jr.categorical.init(logits=jnp.zeros(3))),
    ):
        assert not family.reparameterized
        with pytest.raises(ValueError, match="not reparameterized"):
            jr.estimators.pathwise(key, params, family, jnp.sum)


def _mc_gradient(estimator, key, params, f, family, num_keys=4000):
    grad = jax.grad(estimator, argnums=1)
    draws = jax.jit(jax.vmap(lambda k: grad(k, params, family, f, num_samples=2)))(
        jax.random.split(key, num_keys)
    )
    return np.asarray(draws.logits, np.float64)


@pytest.mark.parametrize(
    "estimator",
    [jr.estimators.score_function, jr.estimators.score_function_leave_one_out],
    ids=["score_function", "leave_one_out"],
)
def test_score_function_gradient_matches_enumeration(key, estimator):
    values = jnp.array([1.0, -2.0, 0.5, 3.0])

    def f_categorical(z):  # one draw: (2, 4) one-hots
        return jnp.sum((z @ values) ** 2)

    def exact_categorical(logits):  # rows independent, f separable over them
        p = jax.nn.softmax(logits, -1)
        return jnp.sum(p @ values**2)

    def f_bernoulli(z):  # the toy problem of REBAR / RELAX, on three coordinates
        return jnp.sum((z - 0.45) ** 2) + z[0] * z[1]

    def exact_bernoulli(logits):  # enumerate the eight outcomes
        p = jax.nn.sigmoid(logits)
        total = 0.0
        for bits in np.ndindex(2, 2, 2):
            b = jnp.asarray(bits, jnp.float32)
            mass = jnp.prod(jnp.where(b == 1, p, 1 - p))
            total = total + mass * f_bernoulli(b)
        return total

    keys = jax.random.split(key, 2)
    for k, family, logits, f, exact in (
        (keys[0], jr.categorical, CATEGORICAL_LOGITS, f_categorical, exact_categorical),
        (keys[1], jr.bernoulli, LOGITS, f_bernoulli, exact_bernoulli),
    ):
        logits = jnp.asarray(logits, jnp.float32)
        draws = _mc_gradient(estimator, k, family.init(logits=logits), f, family)
        mean = draws.mean(0)
        se = draws.std(0, ddof=1) / np.sqrt(draws.shape[0])
        np.testing.assert_array_less(
            np.abs(mean - jax.grad(exact)(logits)), 5 * se, err_msg=family.name
        )
