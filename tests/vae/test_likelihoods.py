"""The VAE decoder heads: log-densities against the families, support checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxreparam as jr

LOGITS = jnp.array([[-2.0, 0.5, 3.0], [1.0, -1.0, 0.0]])


def _x(name):
    return {
        "bernoulli": jnp.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]),
        "continuous_bernoulli": jnp.array([[0.1, 0.5, 1.0], [0.0, 0.7, 0.3]]),
        "bernoulli_cross_entropy": jnp.array([[0.1, 0.5, 1.0], [0.0, 0.7, 0.3]]),
        "gaussian": jnp.array([[0.1, -2.0, 1.0], [3.0, 0.7, 0.3]]),
    }[name]


def _expected(name, x):
    if name == "bernoulli":
        return jr.bernoulli.log_prob(jr.bernoulli.init(logits=LOGITS), x).sum(-1)
    if name == "continuous_bernoulli":
        params = jr.continuous_bernoulli.init(logits=LOGITS)
        return jr.continuous_bernoulli.log_prob(params, x).sum(-1)
    if name == "bernoulli_cross_entropy":  # the formula of JAX's/flax's examples
        p = jax.nn.sigmoid(LOGITS)
        return jnp.sum(x * jnp.log(p) + (1 - x) * jnp.log1p(-p), -1)
    # gaussian with scale 0.5
    return jnp.sum(
        -0.5 * ((x - LOGITS) / 0.5) ** 2 - jnp.log(0.5 * jnp.sqrt(2 * jnp.pi)), -1
    )


LIKELIHOODS = {
    "bernoulli": jr.vae.bernoulli,
    "continuous_bernoulli": jr.vae.continuous_bernoulli,
    "bernoulli_cross_entropy": jr.vae.bernoulli_cross_entropy,
    "gaussian": jr.vae.gaussian(scale=0.5),
}


@pytest.mark.parametrize("name", list(LIKELIHOODS))
def test_log_prob_matches_the_family_or_formula(name):
    lik = LIKELIHOODS[name]
    x = _x(name)
    outputs = lik.head(lik.init(3), LOGITS)
    value = lik.log_prob(outputs, x)
    assert value.shape == (2,)
    np.testing.assert_allclose(value, _expected(name, x), rtol=1e-5)
    assert lik.mean(outputs).shape == (2, 3)
    assert lik.sample(jax.random.key(0), outputs).shape == (2, 3)


def test_cross_entropy_is_not_normalized_but_continuous_bernoulli_is():
    u = (jnp.arange(20000) + 0.5) / 20000  # midpoint rule on [0, 1]
    logits = jnp.full((1,), 2.0)
    for lik, total in [
        (jr.vae.continuous_bernoulli, 1.0),
        (jr.vae.bernoulli_cross_entropy, None),
    ]:
        outputs = lik.head((), logits)
        mass = jnp.mean(jnp.exp(lik.log_prob(outputs, u[:, None])))
        if total is None:
            assert mass < 0.9  # the missing log C(eta)
        else:
            assert abs(mass - 1.0) < 1e-4


def test_gaussian_learned_scale_is_a_param():
    lik = jr.vae.gaussian(scale="learned")
    params = {"log_scale": jnp.log(jnp.array([0.5, 2.0]))}
    outputs = lik.head(params, jnp.zeros(2))
    x = jnp.array([1.0, -1.0])
    expected = jr.normal.log_prob(
        jr.normal.init(loc=0.0, scale=jnp.array([0.5, 2.0])), x
    )
    np.testing.assert_allclose(lik.log_prob(outputs, x), expected.sum(), rtol=1e-6)
    grad = jax.grad(lambda p: lik.log_prob(lik.head(p, jnp.zeros(2)), x))(params)
    assert grad["log_scale"].shape == (2,)
    assert lik.init(4)["log_scale"].shape == (4,)


def test_categorical_levels_against_the_family():
    lik = jr.vae.categorical(num_levels=17)
    logits = jax.random.normal(jax.random.key(1), (2, 3 * 17))
    outputs = lik.head((), logits)
    x = jnp.array([[0, 16, 5], [3, 3, 9]])
    expected = jr.categorical.log_prob(jr.categorical.init(logits=outputs.logits), x)
    np.testing.assert_allclose(lik.log_prob(outputs, x), expected.sum(-1), rtol=1e-6)
    np.testing.assert_allclose(
        lik.log_prob(outputs, x.astype(jnp.float32)), expected.sum(-1), rtol=1e-6
    )
    p = jax.nn.softmax(outputs.logits, -1)
    np.testing.assert_allclose(lik.mean(outputs), p @ jnp.arange(17.0), rtol=1e-5)
    draws = lik.sample(jax.random.key(2), outputs)
    assert draws.shape == (2, 3)
    assert bool(jnp.all((draws >= 0) & (draws <= 16)))


BAD = [
    ("bernoulli", jr.vae.bernoulli, 0.5),
    ("bernoulli", jr.vae.bernoulli, -1.0),
    ("continuous_bernoulli", jr.vae.continuous_bernoulli, 1.5),
    ("bernoulli_cross_entropy", jr.vae.bernoulli_cross_entropy, -0.2),
    ("gaussian", jr.vae.gaussian(), jnp.inf),
    ("categorical", jr.vae.categorical(3), 3.0),
    ("categorical", jr.vae.categorical(3), -1.0),
    ("categorical", jr.vae.categorical(3), 1.5),
]


@pytest.mark.parametrize(
    ("name", "lik", "bad"), BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD]
)
def test_data_outside_the_support(name, lik, bad):
    outputs = lik.head(lik.init(2), jnp.zeros(2 * lik.num_outputs))
    x = jnp.array([0.0, bad])
    with pytest.raises(ValueError, match=r"x must be .*got"):
        lik.log_prob(outputs, x)
    assert bool(jnp.isnan(jax.jit(lik.log_prob)(outputs, x)))
    with jr.checking():
        err, _ = checkify.checkify(jax.jit(lik.log_prob))(outputs, x)
    with pytest.raises(checkify.JaxRuntimeError, match="x must be"):
        err.throw()
    assert bool(jnp.isfinite(lik.log_prob(outputs, jnp.zeros(2))))


@pytest.mark.parametrize("lik", [jr.vae.bernoulli, jr.vae.categorical(4)])
def test_mismatched_shapes_name_both(lik):
    outputs = lik.head(lik.init(3), jnp.zeros(3 * lik.num_outputs))
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        lik.log_prob(outputs, jnp.zeros(4))


def test_bad_options():
    with pytest.raises(ValueError, match="scale"):
        jr.vae.gaussian(scale=-1.0)
    with pytest.raises(ValueError, match="num_levels"):
        jr.vae.categorical(1)
