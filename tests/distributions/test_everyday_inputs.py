"""The inputs of issue 16, each of which once gave a silent NaN or -inf.

Ported VAE and BNN examples passed them: a decoder's sigmoid saturated to exactly
1.0 in float32, integer class labels, greyscale pixels. numpyro is the reference
where it defines the value (its ``BernoulliProbs`` and ``Categorical``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as nd
import pytest

import jaxreparam as jr

DTYPES = [jnp.float32, pytest.param(jnp.float64, marks=pytest.mark.slow)]
each_transform = pytest.mark.parametrize(
    "transform", [lambda f: f, jax.jit], ids=["eager", "jit"]
)


@each_transform
def test_saturated_sigmoid_probs_give_numpyros_log_prob(transform):
    """sigmoid(17) is exactly 1.0 in float32; log q(1) is then 0, not NaN."""
    logits = jnp.array([5.0, 17.0, 18.0, 30.0])
    probs = jax.nn.sigmoid(logits)
    assert probs[1] == 1.0  # the saturation this is about

    def log_lik(t, x):
        params = jr.bernoulli.init(probs=jax.nn.sigmoid(t))
        return jr.bernoulli.log_prob(params, x)

    ones, zeros = jnp.ones(4), jnp.zeros(4)
    got = transform(log_lik)(logits, ones)
    expected = nd.BernoulliProbs(probs=probs).log_prob(ones)
    # numpyro clamps p to 1 - eps (-1.19e-7 where p = 1); ours is the exact 0.
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-7)
    np.testing.assert_array_equal(np.asarray(got)[1:], 0.0)
    assert np.all(np.asarray(transform(log_lik)(logits, zeros))[1:] == -np.inf)
    # The gradient through the saturated sigmoid is finite: d/dt log sigmoid(t)
    # = 1 - sigmoid(t), which float32 rounds to 0 from t = 17 on.
    grad = transform(jax.grad(lambda t: jnp.sum(log_lik(t, ones))))(logits)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, 1 - probs, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@each_transform
def test_bernoulli_boundaries_are_exact(dtype, transform):
    with jax.enable_x64(dtype == jnp.float64):
        probs = jnp.array([0.0, 1.0], dtype)
        z = jnp.array([[0.0, 0.0], [1.0, 1.0]], dtype)

        def f(probs, z):
            return jr.bernoulli.log_prob(jr.bernoulli.init(probs=probs), z)

        got = np.asarray(transform(f)(probs, z))
        np.testing.assert_array_equal(got, [[0.0, -np.inf], [-np.inf, 0.0]])
        assert np.all(np.signbit(got) == [[False, True], [True, False]])  # +0, not -0

        def finite_part(logits):  # log q(0 | p = 0) and log q(1 | p = 1)
            params = jr.distributions.BernoulliParams(logits)
            return jnp.sum(jr.bernoulli.log_prob(params, jnp.array([0.0, 1.0], dtype)))

        logits = jnp.array([-jnp.inf, jnp.inf], dtype)
        grad = transform(jax.grad(finite_part))(logits)
        np.testing.assert_array_equal(grad, [0.0, 0.0])  # sigmoid(-|inf|)
        grad_probs = transform(
            jax.grad(lambda p: jnp.sum(f(p, jnp.eye(2, dtype=dtype)[::-1])))
        )(probs)
        assert np.all(np.isfinite(grad_probs))
        entropy = transform(jr.bernoulli.entropy)(jr.bernoulli.init(probs=probs))
        np.testing.assert_array_equal(entropy, [0.0, 0.0])
        draws = jr.bernoulli.sample(
            jax.random.key(0), jr.bernoulli.init(probs=probs), (100,)
        )
        np.testing.assert_array_equal(draws, np.broadcast_to([0.0, 1.0], (100, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bernoulli_log_prob_matches_the_textbook_formula(dtype):
    """The fast form equals ``z log p + (1 - z) log(1 - p)`` to float rounding."""
    with jax.enable_x64(dtype == jnp.float64):
        logits = jnp.linspace(-40, 40, 161, dtype=dtype)
        for value in (0.0, 1.0):
            z = jnp.full_like(logits, value)
            got = jr.bernoulli.log_prob(jr.distributions.BernoulliParams(logits), z)
            expected = jax.nn.log_sigmoid(logits if value else -logits)
            np.testing.assert_allclose(got, expected, rtol=4 * jnp.finfo(dtype).eps)
            grad = jax.grad(
                lambda l, z=z: jnp.sum(
                    jr.bernoulli.log_prob(jr.distributions.BernoulliParams(l), z)
                )
            )(logits)
            expected = jax.nn.sigmoid(-logits) if value else -jax.nn.sigmoid(logits)
            np.testing.assert_allclose(grad, expected, rtol=4 * jnp.finfo(dtype).eps)


@each_transform
def test_integer_labels_are_the_common_convention(transform):
    params = jr.categorical.init(logits=jnp.zeros((10, 10)))
    labels = jnp.arange(10)
    got = transform(jr.categorical.log_prob)(params, labels)
    np.testing.assert_allclose(got, np.full(10, -np.log(10.0)), rtol=1e-6)
    logits = jax.random.normal(jax.random.key(0), (4, 6))
    params = jr.categorical.init(logits=logits)
    for dtype in (jnp.int8, jnp.int32, jnp.uint8):
        labels = jnp.array([5, 0, 3, 1], dtype)
        got = transform(jr.categorical.log_prob)(params, labels)
        expected = nd.Categorical(logits=logits).log_prob(labels.astype(jnp.int32))
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        one_hot = jax.nn.one_hot(labels, 6)
        np.testing.assert_allclose(
            transform(jr.categorical.log_prob)(params, one_hot), expected, rtol=1e-6
        )
    # labels over a sample axis broadcast against the batch
    labels = jnp.array([[5, 0, 3, 1], [0, 0, 0, 0]])
    assert jr.categorical.log_prob(params, labels).shape == (2, 4)


def test_bad_categorical_values_say_what_is_wrong():
    params = jr.categorical.init(logits=jnp.zeros((10, 10)))
    with pytest.raises(ValueError, match=r"labels in 0 \.\. 9, got 10 at index \(9,\)"):
        jr.categorical.log_prob(params, jnp.arange(10) + (jnp.arange(10) == 9))
    with pytest.raises(ValueError, match=r"cannot broadcast z with shape \(11,\)"):
        jr.categorical.log_prob(params, jnp.arange(11) % 10)
    with pytest.raises(ValueError, match=r"10 categories, got a float32 z of shape"):
        jr.categorical.log_prob(params, jnp.zeros((10, 9)))
    with pytest.raises(ValueError, match="one-hot"):
        jr.categorical.log_prob(params, jnp.full((10, 10), 0.1))
    with pytest.raises(ValueError, match="labels in 0"):
        jr.categorical.log_prob(params, -jnp.ones(10, jnp.int32))
    jitted = jax.jit(jr.categorical.log_prob)
    assert np.all(np.isnan(jitted(params, jnp.arange(10) + 5)[5:]))
    assert np.all(np.isnan(jitted(params, jnp.full((10, 10), 0.1))))
    from jax.experimental import checkify

    with pytest.raises(checkify.JaxRuntimeError, match="labels in 0 .. 9"):
        jr.checked(jitted)(params, jnp.arange(10) + 5)
    with pytest.raises(checkify.JaxRuntimeError, match="one-hot"):
        jr.checked(jitted)(params, jnp.full((10, 10), 0.1))


@pytest.mark.parametrize("dtype", DTYPES)
@each_transform
def test_a_zero_probability_class(dtype, transform):
    with jax.enable_x64(dtype == jnp.float64):
        probs = jnp.array([0.5, 0.5, 0.0], dtype)

        def f(probs):
            params = jr.categorical.init(probs=probs)
            labels = jnp.array([0, 1, 2])
            return jr.categorical.log_prob(params, labels)

        np.testing.assert_allclose(
            transform(f)(probs), [np.log(0.5), np.log(0.5), -np.inf]
        )
        grad = transform(jax.grad(lambda p: f(p)[0]))(probs)  # log(p0 / sum p)
        assert np.all(np.isfinite(grad))
        np.testing.assert_allclose(grad[:2], [1.0, -1.0], rtol=1e-6)  # 1/p0 - 1, -1
        params = jr.categorical.init(probs=probs)
        draws = transform(lambda k: jr.categorical.sample(k, params, (2000,)))(
            jax.random.key(1)
        )
        assert np.all(np.asarray(draws)[:, 2] == 0)
        np.testing.assert_allclose(
            transform(jr.categorical.entropy)(params), np.log(2.0), rtol=1e-6
        )
        grad = transform(
            jax.grad(
                lambda l: jr.categorical.entropy(jr.distributions.CategoricalParams(l))
            )
        )(params.logits)
        assert np.all(np.isfinite(grad))


def test_greyscale_pixels_are_off_the_bernoulli_support():
    """-inf is the mathematics; the continuous Bernoulli is the likelihood."""
    pixels = jnp.array([0.0, 0.3, 1.0])
    params = jr.bernoulli.init(logits=jnp.zeros(3))
    got = np.asarray(jr.bernoulli.log_prob(params, pixels))
    assert got[1] == -np.inf
    assert np.all(np.isfinite(got[[0, 2]]))
    from jaxreparam.distributions import _bernoulli

    assert "jr.continuous_bernoulli" in _bernoulli.__doc__  # the pointer users need
