"""Tests of the Bayesian layers, mean-field posteriors, priors and the BNN loss.

Statistical checks run in float64 with fixed keys; each compares a Monte Carlo
mean with its expectation within 5 standard errors (false-positive rate below
1e-5 per comparison, a few hundred comparisons per test at most).
"""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats
from jax.experimental import checkify

import jaxreparam as jr

REPARAMETERIZATIONS = ("weight", "local", "flipout")


def _dense():
    return jr.nn.bayesian_dense(3, 2, reparameterization="local")


def _layers(reparameterization, init_scale=0.01):
    options = {"reparameterization": reparameterization, "init_scale": init_scale}
    return {
        "dense": (jr.nn.bayesian_dense(3, 2, **options), (4, 3), (4, 2)),
        "conv": (
            jr.nn.bayesian_conv2d(2, 3, 3, stride=2, **options),
            (2, 5, 6, 6, 2),
            (2, 5, 3, 3, 3),
        ),
        "mlp": (jr.nn.bayesian_mlp((3, 5, 2), **options), (6, 3), (6, 2)),
    }


SLOW = pytest.mark.slow
SHAPE_CASES = [
    pytest.param("dense", "weight", marks=SLOW),
    ("dense", "local"),
    ("dense", "flipout"),
    pytest.param("conv", "local", marks=SLOW),
    pytest.param("conv", "weight", marks=SLOW),
    pytest.param("conv", "flipout", marks=SLOW),
    pytest.param("mlp", "weight", marks=SLOW),
    pytest.param("mlp", "local", marks=SLOW),
    pytest.param("mlp", "flipout", marks=SLOW),
]


@pytest.mark.parametrize(("kind", "reparameterization"), SHAPE_CASES)
def test_shapes_jit_vmap_and_finite_gradients(kind, reparameterization):
    layer, in_shape, out_shape = _layers(reparameterization)[kind]
    params = layer.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), in_shape)
    out = layer.apply(jax.random.key(2), params, x)
    assert out.shape == out_shape
    assert out.dtype == jnp.float32
    jitted = jax.jit(layer.apply)(jax.random.key(2), params, x)
    np.testing.assert_allclose(jitted, out, rtol=1e-5, atol=1e-6)
    keys = jax.random.split(jax.random.key(3), 2)
    many = jax.vmap(layer.apply, (0, None, None))(keys, params, x)
    assert many.shape == (2, *out_shape)
    one_key = jax.random.split(jax.random.key(3), 2)[1]
    np.testing.assert_allclose(
        many[1], layer.apply(one_key, params, x), rtol=1e-5, atol=1e-6
    )
    grads = jax.grad(lambda p: jnp.sum(layer.apply(jax.random.key(4), p, x) ** 2))(
        params
    )
    leaves = jax.tree.leaves(grads)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
    assert all(float(jnp.max(jnp.abs(g))) > 0 for g in leaves)


def test_float64_and_single_example():
    with jax.enable_x64(True):
        layer = jr.nn.bayesian_conv2d(1, 2, (3, 2), padding="VALID")
        params = layer.init(jax.random.key(0))
        assert params.loc.weight.shape == (3, 2, 1, 2)
        assert params.loc.weight.dtype == jnp.float64
        out = layer.apply(jax.random.key(1), params, jnp.ones((4, 4, 1)))
        assert out.shape == (2, 3, 2)  # no example axis
        assert out.dtype == jnp.float64


def test_init_like_mlp_and_init_scale():
    net = jr.nn.bayesian_mlp((400, 300, 2), init_scale=0.05)
    params = net.init(jax.random.key(0))
    for loc, log_scale, fan_in in zip(
        params.loc, params.log_scale, (400, 300), strict=True
    ):
        bound = 1 / np.sqrt(fan_in)
        assert float(jnp.max(jnp.abs(loc.weight))) <= bound
        assert float(jnp.max(jnp.abs(loc.bias))) <= bound
        np.testing.assert_allclose(jnp.exp(log_scale.weight), 0.05, rtol=1e-6)
        np.testing.assert_allclose(jnp.exp(log_scale.bias), 0.05, rtol=1e-6)
    assert float(jnp.std(params.loc[0].weight)) == pytest.approx(
        1 / np.sqrt(3 * 400), rel=0.02
    )  # uniform on (-b, b): std b / sqrt(3), 120 000 draws
    default = jr.nn.bayesian_dense(2, 2).init(jax.random.key(1))
    np.testing.assert_allclose(jnp.exp(default.log_scale.weight), 0.01, rtol=1e-6)
    mean = jr.nn.posterior_mean(params)
    x = jax.random.normal(jax.random.key(2), (3, 400))
    deterministic = jr.nn.mlp(400, 2, (300,)).apply(mean, x)
    zero_noise = params._replace(
        log_scale=jax.tree.map(lambda s: s - 1e3, params.log_scale)
    )
    np.testing.assert_allclose(
        net.apply(jax.random.key(3), zero_noise, x), deterministic, rtol=1e-4
    )


def test_mean_field_round_trip_and_family():
    params = {"w": jnp.arange(6.0).reshape(2, 3), "b": (jnp.ones(3), None)}
    mf = jr.nn.mean_field(params, init_scale=0.1)
    assert jax.tree.structure(mf.loc) == jax.tree.structure(params)
    back = jr.nn.posterior_mean(mf)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), back, params))
    nested = (mf, {"fixed": jnp.ones(2)})  # a hand-composed network
    assert jr.nn.posterior_mean(nested)[1]["fixed"].shape == (2,)
    with jax.enable_x64(True):
        mf = jr.nn.mean_field(
            {"w": jnp.array([[0.5, -1.0]]), "b": jnp.array([2.0])}, init_scale=0.3
        )
        family = jr.nn.mean_field_family
        draws, log_q = family.sample_and_log_prob(jax.random.key(0), mf, (5,))
        assert draws["w"].shape == (5, 1, 2)
        assert log_q.shape == (5,)
        np.testing.assert_allclose(family.log_prob(mf, draws), log_q, rtol=1e-12)
        expected = sum(
            scipy.stats.norm.logpdf(np.asarray(draws[k]), np.asarray(mf.loc[k]), 0.3)
            .reshape(5, -1)
            .sum(1)
            for k in ("w", "b")
        )
        np.testing.assert_allclose(log_q, expected, rtol=1e-12)
        again = family.sample(jax.random.key(0), mf, (5,))
        np.testing.assert_array_equal(again["w"], draws["w"])  # one key, same draw
        entropy = 3 * (np.log(0.3) + 0.5 * np.log(2 * np.pi * np.e))
        np.testing.assert_allclose(family.entropy(mf), entropy, rtol=1e-12)


@pytest.mark.slow
def test_mean_field_family_works_with_elbo_and_pathwise():
    """A draw is a params tree; pathwise and the ELBO take it (1 or more draws)."""
    with jax.enable_x64(True):
        mf = jr.nn.mean_field({"a": jnp.array([0.5, -1.0]), "b": jnp.ones(1)})
        mf = mf._replace(log_scale=jax.tree.map(lambda s: s + 3.0, mf.log_scale))

        def f(z):  # E_q f = -sum(loc^2 + scale^2)
            return -jnp.sum(z["a"] ** 2) - jnp.sum(z["b"] ** 2)

        family = jr.nn.mean_field_family
        scale2 = float(jnp.exp(2 * mf.log_scale["b"][0]))
        exact = -(0.25 + 1.0 + 1.0) - 3 * scale2
        grad = jax.grad(jr.estimators.pathwise, argnums=1)(
            jax.random.key(0), mf, family, f, num_samples=20000
        )
        # d/d loc = -2 loc; the draws' standard error is 2 scale / sqrt(n)
        tolerance = 5 * 2 * np.sqrt(scale2 / 20000)
        np.testing.assert_allclose(grad.loc["a"], [-1.0, 2.0], atol=tolerance)
        for num_samples in (1, 3):
            value = jr.objectives.elbo(
                jax.random.key(num_samples), mf, family, f, num_samples=num_samples
            )
            draws, log_q = family.sample_and_log_prob(
                jax.random.key(num_samples), mf, (num_samples,)
            )
            by_hand = jnp.mean(jax.vmap(f)(draws) - log_q)
            np.testing.assert_allclose(value, by_hand, rtol=1e-12)
        del exact


@pytest.mark.parametrize(
    "kind", ["dense", pytest.param("conv", marks=pytest.mark.slow)]
)
def test_local_and_flipout_moments_match_weight_sampling(kind):
    """Per output entry: closed-form mean and variance of ``x W + b``, W ~ q.

    ``mean = x @ mu + mu_b`` and ``var = x^2 @ s^2 + s_b^2`` (a convolution:
    conv(x, mu), conv(x^2, s^2)); compared with the Monte Carlo moments of the
    three reparameterizations, 4000 forward passes each.
    """
    n = 4000
    with jax.enable_x64(True):
        layers = {r: _layers(r, init_scale=0.3)[kind] for r in REPARAMETERIZATIONS}
        layer, in_shape, _ = layers["local"]
        params = layer.init(jax.random.key(0))
        params = params._replace(  # scales that differ per weight
            log_scale=jax.tree.map(
                lambda s: s + 0.5 * jax.random.normal(jax.random.key(1), s.shape),
                params.log_scale,
            )
        )
        x = jax.random.normal(
            jax.random.key(2), {"dense": (4, 3), "conv": (2, 5, 5, 2)}[kind]
        )
        zero = params._replace(
            log_scale=jax.tree.map(lambda s: s - 1e3, params.log_scale)
        )
        squared = jr.nn.MeanFieldParams(
            jax.tree.map(lambda s: jnp.exp(2 * s), params.log_scale),
            jax.tree.map(lambda s: s - 1e3, params.log_scale),
        )
        mean = layer.apply(jax.random.key(3), zero, x)
        variance = layer.apply(jax.random.key(4), squared, x * x)
        for index, reparameterization in enumerate(REPARAMETERIZATIONS):
            apply = layers[reparameterization][0].apply
            keys = jax.random.split(jax.random.key(10 + index), n)
            draws = jax.vmap(apply, (0, None, None))(keys, params, x)
            m, v = jnp.mean(draws, 0), jnp.var(draws, 0, ddof=1)
            assert float(jnp.max(jnp.abs(m - mean) / jnp.sqrt(variance / n))) < 5
            # the sample variance of a Normal: standard error var sqrt(2 / (n - 1))
            z = (v - variance) / (variance * np.sqrt(2 / (n - 1)))
            assert float(jnp.max(jnp.abs(z))) < 5, reparameterization


def test_flipout_examples_are_pseudo_independent():
    """Two copies of one example: correlated under "weight", not under flipout."""
    n = 4000
    with jax.enable_x64(True):
        corr = {}
        for r in REPARAMETERIZATIONS:
            layer = jr.nn.bayesian_dense(8, 1, reparameterization=r, init_scale=0.5)
            params = layer.init(jax.random.key(0))
            x = jnp.ones((2, 8))
            keys = jax.random.split(jax.random.key(1), n)
            out = jax.vmap(layer.apply, (0, None, None))(keys, params, x)[..., 0]
            corr[r] = float(jnp.corrcoef(out[:, 0], out[:, 1])[0, 1])
        assert corr["weight"] > 0.99
        # local: independent; flipout: E[s_in s_in' r r'] = 0 for two examples
        assert abs(corr["local"]) < 5 / np.sqrt(n)
        assert abs(corr["flipout"]) < 5 / np.sqrt(n)


def _flat_grad(loss, params, batch):
    grad = jax.grad(lambda p, k: loss(k, p, batch)[0])
    return lambda k: jax.flatten_util.ravel_pytree(grad(params, k))[0]


@pytest.mark.slow
def test_the_three_estimators_are_unbiased_for_the_same_elbo():
    """Mean gradients of the minibatch loss agree within 5 standard errors."""
    n = 3000
    with jax.enable_x64(True):
        x = jax.random.normal(jax.random.key(0), (16, 3))
        y = jnp.sin(x[:, 0]) + x[:, 1]

        def log_likelihood(out, targets):
            return jax.scipy.stats.norm.logpdf(targets, out[:, 0], 0.5)

        grads = {}
        for r in REPARAMETERIZATIONS:
            net = jr.nn.bayesian_mlp(
                (3, 4, 1), activation=jnp.tanh, reparameterization=r, init_scale=0.3
            )
            params = net.init(jax.random.key(1))
            loss = jr.nn.make_bnn_loss(
                net.apply, log_likelihood, jr.nn.normal_prior(), num_data=16
            )
            keys = jax.random.split(jax.random.key(2), n)
            grads[r] = jax.vmap(_flat_grad(loss, params, (x, y)))(keys)
        means = {r: jnp.mean(g, 0) for r, g in grads.items()}
        errors = {r: jnp.var(g, 0, ddof=1) / n for r, g in grads.items()}
        for a, b in (("weight", "local"), ("weight", "flipout"), ("local", "flipout")):
            z = (means[a] - means[b]) / jnp.sqrt(errors[a] + errors[b] + 1e-30)
            assert float(jnp.max(jnp.abs(z))) < 5, (a, b)
        # and the gradients are not all noise: the means are resolved
        assert float(jnp.max(jnp.abs(means["local"]) / jnp.sqrt(errors["local"]))) > 20


def test_normal_prior_kl_against_monte_carlo_and_the_mixture():
    n = 20000
    with jax.enable_x64(True):
        mf = jr.nn.mean_field({"w": jnp.array([0.3, -1.2, 2.0])})
        mf = mf._replace(log_scale={"w": jnp.log(jnp.array([0.2, 1.5, 0.7]))})
        prior = jr.nn.normal_prior(1.3)
        exact = prior.kl(jax.random.key(0), mf)
        by_hand = sum(
            np.log(1.3 / s) + (s**2 + m**2) / (2 * 1.3**2) - 0.5
            for m, s in ((0.3, 0.2), (-1.2, 1.5), (2.0, 0.7))
        )
        np.testing.assert_allclose(exact, by_hand, rtol=1e-12)
        draws, log_q = jr.nn.mean_field_family.sample_and_log_prob(
            jax.random.key(1), mf, (n,)
        )
        terms = log_q - jax.vmap(prior.log_prob)(draws)
        assert abs(float(jnp.mean(terms) - exact)) < 5 * float(
            jnp.std(terms)
        ) / np.sqrt(n)
        # a mixture with all weight on one component: the MC KL averages to it
        mixture = jr.nn.scale_mixture_prior(mix=1.0, scale1=1.3, scale2=0.1)
        keys = jax.random.split(jax.random.key(2), n)
        mc = jax.vmap(mixture.kl, (0, None))(keys, mf)
        assert abs(float(jnp.mean(mc) - exact)) < 5 * float(jnp.std(mc)) / np.sqrt(n)
        assert not mixture.closed_form
        assert prior.closed_form


def test_scale_mixture_log_prob_is_the_formula():
    with jax.enable_x64(True):
        w = {"a": jnp.linspace(-3.0, 3.0, 7), "b": jnp.array([[0.0, 1e-3]])}
        prior = jr.nn.scale_mixture_prior(mix=0.3, scale1=2.0, scale2=np.exp(-6.0))
        values = np.concatenate([np.asarray(w["a"]), np.asarray(w["b"]).ravel()])
        density = 0.3 * scipy.stats.norm.pdf(
            values, 0, 2.0
        ) + 0.7 * scipy.stats.norm.pdf(values, 0, np.exp(-6.0))
        np.testing.assert_allclose(prior.log_prob(w), np.log(density).sum(), rtol=1e-12)
        default = jr.nn.scale_mixture_prior()
        density = 0.5 * scipy.stats.norm.pdf(values) + 0.5 * scipy.stats.norm.pdf(
            values, 0, np.exp(-6.0)
        )
        np.testing.assert_allclose(
            default.log_prob(w), np.log(density).sum(), rtol=1e-12
        )


def test_bnn_loss_value_and_errors():
    net = jr.nn.bayesian_mlp((2, 4, 1), reparameterization="weight")
    params = net.init(jax.random.key(0))
    x, y = jnp.ones((5, 2)), jnp.zeros(5)

    def log_likelihood(out, targets):
        return -0.5 * (out[:, 0] - targets) ** 2

    prior = jr.nn.normal_prior(0.5)
    loss = jr.nn.make_bnn_loss(net.apply, log_likelihood, prior, num_data=50)
    value, metrics = loss(jax.random.key(1), params, (x, y))
    apply_key, kl_key = jax.random.split(jax.random.key(1))
    out = net.apply(apply_key, params, x)
    nll = -jnp.mean(log_likelihood(out, y))
    np.testing.assert_allclose(metrics["nll"], nll, rtol=1e-6)
    np.testing.assert_allclose(metrics["kl"], prior.kl(kl_key, params), rtol=1e-6)
    np.testing.assert_allclose(value, nll + metrics["kl"] / 50, rtol=1e-6)
    tempered = jr.nn.make_bnn_loss(
        net.apply, log_likelihood, prior, num_data=50, kl_weight=0.1
    )
    value2, _ = tempered(jax.random.key(1), params, (x, y))
    np.testing.assert_allclose(value2, nll + 0.1 * metrics["kl"] / 50, rtol=1e-6)
    with pytest.raises(ValueError, match="more than num_data=3"):
        jr.nn.make_bnn_loss(net.apply, log_likelihood, prior, num_data=3)(
            jax.random.key(2), params, (x, y)
        )
    bad = jr.nn.make_bnn_loss(net.apply, lambda o, t: o, prior, num_data=50)
    with pytest.raises(ValueError, match=r"shape \(5,\), got \(5, 1\)"):
        bad(jax.random.key(3), params, (x, y))


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"num_data": 0}, ValueError, "num_data must be a positive int, got 0"),
        ({"num_data": -4}, ValueError, "num_data must be a positive int, got -4"),
        ({"num_data": 10.0}, TypeError, "num_data must be a positive int, got float"),
        ({"num_data": 10, "kl_weight": -1.0}, ValueError, "kl_weight .* got -1.0"),
        ({"num_data": 10, "kl_weight": "x"}, TypeError, "kl_weight"),
    ],
)
def test_bnn_loss_refuses_bad_options(options, error, match):
    net = jr.nn.bayesian_mlp((2, 1))
    with pytest.raises(error, match=match):
        jr.nn.make_bnn_loss(
            net.apply, lambda o, t: o[:, 0], jr.nn.normal_prior(), **options
        )


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: jr.nn.normal_prior(-1.0), "normal_prior: scale .* got -1.0"),
        (lambda: jr.nn.normal_prior(0.0), "normal_prior: scale .* got 0.0"),
        (lambda: jr.nn.scale_mixture_prior(mix=1.5), r"mix must be in \[0, 1\], got 1.5"),  # noqa: E501
        (lambda: jr.nn.scale_mixture_prior(mix=-0.1), "mix must be in .* got -0.1"),
        (lambda: jr.nn.scale_mixture_prior(scale1=0.0), "scale1 .* got 0.0"),
        (lambda: jr.nn.scale_mixture_prior(scale2=-2.0), "scale2 .* got -2.0"),
        (lambda: jr.nn.bayesian_dense(2, 3, reparameterization="lrt"),
         r"reparameterization must be one of \('weight', 'local', 'flipout'\), "
         "got 'lrt'"),
        (lambda: jr.nn.bayesian_conv2d(1, 2, 3, reparameterization="x"),
         "one of .*'flipout'"),
        (lambda: jr.nn.bayesian_dense(2, 3, init_scale=0.0), "init_scale .* got 0.0"),
        (lambda: jr.nn.mean_field({"w": jnp.ones(2)}, init_scale=-1.0),
         "init_scale .* got -1.0"),
        (lambda: jr.nn.bayesian_mlp((3,)), "at least"),
        (lambda: jr.nn.linear_warmup(0), "num_steps must be a positive int, got 0"),
    ],
)  # fmt: skip
def test_bad_configuration_names_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_prior_scale_under_jit_is_nan_or_a_checkify_error():
    mf = jr.nn.mean_field({"w": jnp.ones(2)})
    kl = jax.jit(lambda s: jr.nn.normal_prior(s).kl(jax.random.key(0), mf))
    assert bool(jnp.isnan(kl(-1.0)))
    with jr.checking():
        err, _ = checkify.checkify(kl)(-1.0)
    assert "normal_prior: scale must be finite and positive" in err.get()


@pytest.mark.parametrize(
    ("kind", "x_shape", "match"),
    [
        ("dense", (4, 5), r"x must have 3 features .* got shape \(4, 5\) with 5"),
        ("conv", (2, 6, 6, 3), r"x must have 2 channels .* got shape \(2, 6, 6, 3\)"),
        ("conv", (6, 2), r"x must have 2 channels .* got shape \(6, 2\)"),
        ("mlp", (6, 4), r"x must have 3 features .* with 4"),
    ],
)
def test_mismatched_inputs_are_refused_eagerly_and_when_traced(kind, x_shape, match):
    layer, _, _ = _layers("local")[kind]
    params = layer.init(jax.random.key(0))
    x = jnp.ones(x_shape)
    with pytest.raises(ValueError, match=match):
        layer.apply(jax.random.key(1), params, x)
    with pytest.raises(ValueError, match=match):
        jax.jit(layer.apply)(jax.random.key(2), params, x)


@pytest.mark.parametrize(
    "kind", ["dense", pytest.param("conv", marks=SLOW), pytest.param("mlp", marks=SLOW)]
)
def test_nan_data_eager_error_nan_under_jit_checkify_error(kind):
    layer, in_shape, _ = _layers("flipout")[kind]
    params = layer.init(jax.random.key(0))
    x = jnp.ones(in_shape).at[(0,) * len(in_shape)].set(jnp.nan)
    with pytest.raises(ValueError, match="x must be free of NaN, got nan at index"):
        layer.apply(jax.random.key(1), params, x)
    out = jax.jit(layer.apply)(jax.random.key(2), params, x)
    assert bool(jnp.isnan(out).any())
    with jr.checking():
        err, _ = checkify.checkify(jax.jit(layer.apply))(jax.random.key(3), params, x)
    assert "x must be free of NaN" in err.get()


def test_wrong_params_and_keys_are_refused():
    layer = _dense()
    params = layer.init(jax.random.key(0))
    with pytest.raises(TypeError, match="MeanFieldParams"):
        layer.apply(jax.random.key(1), params.loc, jnp.ones((2, 3)))
    with pytest.raises(TypeError, match="key"):
        layer.apply(params, jax.random.key(2), jnp.ones((2, 3)))
    with pytest.raises(TypeError, match="floating dtype"):
        layer.apply(jax.random.key(3), params, jnp.ones((2, 3), jnp.int32))


def _regression(n=64):
    x = jax.random.normal(jax.random.key(10), (n, 2))
    y = x[:, 0] - 0.5 * x[:, 1] + 0.1 * jax.random.normal(jax.random.key(11), (n,))
    return x, y


def _gaussian(out, targets):
    return jax.scipy.stats.norm.logpdf(targets, out[:, 0], 0.1)


def test_fit_trains_resumes_and_passes_the_step_to_the_schedule():
    x, y = _regression()
    net = jr.nn.bayesian_mlp((2, 8, 1), reparameterization="flipout")
    params = net.init(jax.random.key(0))

    def weight(step):
        return jnp.where(step < 6, 0.0, 1.0)

    loss = jr.nn.make_bnn_loss(
        net.apply, _gaussian, jr.nn.normal_prior(), num_data=64, kl_weight=weight
    )
    options = {"loss": loss, "optimizer": optax.adam(1e-2), "batch_size": 16}
    options |= {"chunk_size": 5}  # one compiled chunk for the three fits
    whole = jr.fit(jax.random.key(1), params, (x, y), num_steps=40, **options)
    history = whole.history
    assert history["loss"][-5:].mean() < 0.5 * history["loss"][:5].mean()
    scaled = history["loss"] - history["nll"]  # = weight(step) * KL / N
    np.testing.assert_allclose(scaled[:6], 0.0, atol=1e-6)
    np.testing.assert_allclose(scaled[6:], history["kl"][6:] / 64, rtol=1e-5)
    first = jr.fit(jax.random.key(1), params, (x, y), num_steps=25, **options)
    resumed = jr.fit(
        jax.random.key(1), first.params, (x, y), num_steps=15,
        opt_state=first.opt_state, start_step=first.step, **options,
    )  # fmt: skip
    assert resumed.step == 40
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        resumed.params,
        whole.params,
    )
    np.testing.assert_allclose(resumed.history["loss"], history["loss"][25:], rtol=1e-5)


def test_a_schedule_makes_the_loss_take_the_step():
    net = jr.nn.bayesian_mlp((2, 1))
    constant = jr.nn.make_bnn_loss(
        net.apply, _gaussian, jr.nn.normal_prior(), num_data=8
    )
    warm = jr.nn.make_bnn_loss(
        net.apply, _gaussian, jr.nn.normal_prior(), num_data=8,
        kl_weight=jr.nn.linear_warmup(10),
    )  # fmt: skip
    assert jr.train._step.takes_step(warm)
    assert not jr.train._step.takes_step(constant)
    params, batch = net.init(jax.random.key(0)), (jnp.ones((8, 2)), jnp.zeros(8))
    at_zero, metrics = warm(jax.random.key(1), params, batch, step=jnp.asarray(0))
    np.testing.assert_allclose(at_zero, metrics["nll"], rtol=1e-6)
    at_five, metrics = warm(jax.random.key(1), params, batch, step=jnp.asarray(5))
    np.testing.assert_allclose(
        at_five, metrics["nll"] + 0.5 * metrics["kl"] / 8, rtol=1e-6
    )


@pytest.mark.slow
def test_scale_mixture_prior_and_bayes_by_backprop_train_a_plain_mlp():
    x, y = _regression()
    net = jr.nn.mlp(2, 1, (8,), zero_last=False)
    params = jr.nn.mean_field(net.init(jax.random.key(0)))
    loss = jr.nn.make_bnn_loss(
        jr.nn.bayes_by_backprop(net.apply), _gaussian,
        jr.nn.scale_mixture_prior(), num_data=64,
    )  # fmt: skip
    result = jr.fit(
        jax.random.key(1), params, (x, y), loss=loss,
        optimizer=optax.adam(1e-2), num_steps=40, batch_size=32,
    )  # fmt: skip
    losses = result.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-5:].mean() < 0.5 * losses[:5].mean()


def test_equinox_mlp_trained_by_bayes_by_backprop():
    eqx = pytest.importorskip("equinox")
    model = eqx.nn.MLP(2, 1, 8, 1, key=jax.random.key(0))
    arrays, static = eqx.partition(model, eqx.is_inexact_array)
    params = jr.nn.mean_field(arrays)

    def apply(arrays, x):
        return jax.vmap(eqx.combine(arrays, static))(x)

    x, y = _regression()
    loss = jr.nn.make_bnn_loss(
        jr.nn.bayes_by_backprop(apply), _gaussian, jr.nn.normal_prior(), num_data=64
    )
    result = jr.fit(
        jax.random.key(1), params, (x, y), loss=loss,
        optimizer=optax.adam(1e-2), num_steps=30, batch_size=32,
    )  # fmt: skip
    losses = result.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-5:].mean() < 0.5 * losses[:5].mean()
    mean_model = eqx.combine(jr.nn.posterior_mean(result.params), static)
    assert mean_model(x[0]).shape == (1,)
