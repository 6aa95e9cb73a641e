"""Tests of jaxreparam.vi: guides on constrained pytrees, ELBOs, exact posteriors.

Fitted values are compared with exact answers across ``SEEDS`` independent fits:
the mean over fits must be within 5 standard errors (their spread / sqrt(SEEDS))
of the exact value, so the tolerance is the Monte Carlo noise of the fit itself.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats

import jaxreparam as jr
from jaxreparam import bijectors, vi
from jaxreparam.distributions import _multivariate_normal as mvn
from jaxreparam.train import fit

SEEDS = 8


def _over_seeds(loss, params, optimizer, num_steps, summary):
    """``summary(fitted params)`` for ``SEEDS`` fits: an array, seeds first."""
    out = []
    for seed in range(SEEDS):
        result = fit(
            jax.random.key(seed), params, loss=loss, optimizer=optimizer,
            num_steps=num_steps, progress=False,
        )  # fmt: skip
        out.append(np.asarray(summary(result.params)))
    return np.stack(out)


def _assert_recovers(fitted, exact, what):
    """Mean over seeds within 5 standard errors of ``exact``, entrywise."""
    mean = fitted.mean(0)
    error = fitted.std(0, ddof=1) / math.sqrt(len(fitted))
    z = np.abs(mean - exact) / error
    assert np.all(z < 5), (
        f"{what}: z-scores {np.round(z, 2)}, mean {mean}, exact {exact}"
    )


# --------------------------------------------------------------------------- #
# The bar: a conjugate Gaussian model, exact posterior mean and covariance.


def _conjugate_problem():
    """theta ~ N(m0, S0); y_i ~ N(theta, Sy); latents {"a": theta_0, "b": theta_1:3}."""
    m0 = jnp.array([0.5, -1.0, 0.0])
    s0 = jnp.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.5]])
    sy = jnp.array([[1.0, 0.6, 0.2], [0.6, 1.0, 0.4], [0.2, 0.4, 1.0]]) * 4.0
    y = jnp.array([1.0, 0.0, 2.0]) + jax.random.normal(jax.random.key(11), (6, 3))
    p0, py = jnp.linalg.inv(s0), jnp.linalg.inv(sy)
    covariance = jnp.linalg.inv(p0 + len(y) * py)
    mean = covariance @ (p0 @ m0 + py @ y.sum(0))

    def log_target(latents):
        theta = jnp.append(latents["a"], latents["b"])
        r0, ry = theta - m0, y - theta
        return -0.5 * (r0 @ p0 @ r0 + jnp.einsum("ni,ij,nj->", ry, py, ry))

    return log_target, mean, covariance


@pytest.mark.parametrize("kind", ["full_rank", "mean_field"])
def test_conjugate_gaussian_posterior_is_recovered(kind):
    log_target, mean, covariance = _conjugate_problem()
    params, guide = vi.make_guide({"a": 0.0, "b": jnp.zeros(2)}, kind=kind)
    loss = vi.make_elbo_loss(guide, log_target, num_samples=16)
    optimizer = optax.adam(optax.cosine_decay_schedule(0.05, 2000, alpha=0.02))
    summary = lambda p: jnp.concatenate(
        [guide.base.mean(p.base), mvn.covariance(p.base).ravel()]
    )
    fitted = _over_seeds(loss, params, optimizer, 2000, summary)
    if kind == "full_rank":
        exact_covariance = covariance
    else:  # argmin KL(q || p) over diagonal Gaussians: 1 / diag(precision)
        exact_covariance = jnp.diag(1.0 / jnp.diag(jnp.linalg.inv(covariance)))
    _assert_recovers(fitted[:, :3], np.asarray(mean), f"{kind} mean")
    entries = np.arange(9) if kind == "full_rank" else np.array([0, 4, 8])
    exact_entries = np.asarray(exact_covariance).ravel()[entries]
    _assert_recovers(fitted[:, 3:][:, entries], exact_entries, f"{kind} covariance")
    # Pytree in, pytree out: the median is the mean, split as the latents are.
    median = guide.median(params)
    assert set(median) == {"a", "b"}
    assert median["a"].shape == ()
    assert median["b"].shape == (2,)


# --------------------------------------------------------------------------- #
# Constrained latents: targets that are images of known Gaussians.

CONSTRAINTS = {
    "rate": "positive",
    "probs": "simplex",
    "frac": vi.interval(-1.0, 2.0),
    "x": "real",
}
EXAMPLE = {
    "rate": 1.0,
    "probs": jnp.full(3, 1 / 3),
    "frac": jnp.array([0.5, 0.5]),
    "x": jnp.zeros((2, 2)),
}
# Blocks of u in the order of jax.tree.leaves: frac (2), probs (2), rate (1), x (4).
TRUE_LOC = jnp.array([0.3, -0.5, 1.0, -0.2, 0.7, 0.0, 1.0, -1.0, 2.0])
TRUE_SCALE = jnp.array([0.5, 0.2, 0.3, 0.8, 0.25, 1.0, 0.5, 1.5, 0.4])


def _image_log_density(latents):
    """The density of T(u), u ~ N(TRUE_LOC, TRUE_SCALE^2), from the inverses."""
    pieces = {
        "frac": bijectors.sigmoid.inverse(
            bijectors.sigmoid.init(low=-1.0, high=2.0), latents["frac"]
        ),
        "probs": bijectors.stick_breaking.inverse(
            bijectors.stick_breaking.init(), latents["probs"]
        ),
        "rate": (jnp.log(latents["rate"])[None], -jnp.log(latents["rate"])),
        "x": (latents["x"].ravel(), jnp.zeros(())),
    }
    u = jnp.concatenate([pieces[k][0] for k in sorted(pieces)])
    log_det = sum(jnp.sum(pieces[k][1]) for k in pieces)
    return jnp.sum(jax.scipy.stats.norm.logpdf(u, TRUE_LOC, TRUE_SCALE)) + log_det


def test_constrained_latents_fit_the_image_of_a_gaussian():
    params, guide = vi.make_guide(EXAMPLE, CONSTRAINTS)
    assert guide.size == 9
    loss = vi.make_elbo_loss(guide, _image_log_density, num_samples=16)
    optimizer = optax.adam(optax.cosine_decay_schedule(0.05, 2000, alpha=0.02))
    summary = lambda p: jnp.concatenate([p.base.loc, jnp.exp(p.base.log_scale_diag)])
    fitted = _over_seeds(loss, params, optimizer, 2000, summary)
    _assert_recovers(fitted[:, :9], np.asarray(TRUE_LOC), "loc")
    _assert_recovers(fitted[:, 9:], np.asarray(TRUE_SCALE), "scale")


def test_guide_draws_are_in_their_domains_with_the_right_density(key):
    params, guide = vi.make_guide(EXAMPLE, CONSTRAINTS, init_scale=3.0)
    draw = jax.jit(guide.sample_and_log_prob, static_argnums=2)
    latents, log_q = draw(key, params, (1000,))
    assert latents["rate"].shape == (1000,)
    assert latents["x"].shape == (1000, 2, 2)
    assert bool(jnp.all(latents["rate"] > 0))
    assert bool(jnp.all((latents["frac"] > -1.0) & (latents["frac"] < 2.0)))
    assert bool(jnp.all(latents["probs"] > 0))
    np.testing.assert_allclose(latents["probs"].sum(-1), 1.0, rtol=1e-5)
    assert log_q.shape == (1000,)
    # A guide of one positive latent is a log-normal: compare with scipy.
    one, positive = vi.make_guide(2.0, "positive", init_scale=0.7)
    rate, log_q = positive.sample_and_log_prob(jax.random.clone(key), one, (100,))
    expected = scipy.stats.lognorm.logpdf(rate, s=0.7, scale=2.0)
    np.testing.assert_allclose(log_q, expected, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- #
# The ELBO's three configurations: analytic and Monte Carlo entropy, STL.

OPTIONS = (
    {"entropy": "analytic"},
    {"entropy": "monte_carlo"},
    {"entropy": "monte_carlo", "gradient": "stl"},
)


def test_entropy_estimates_agree_and_stl_vanishes_at_an_exact_fit(key):
    params, guide = vi.make_guide(EXAMPLE, CONSTRAINTS)
    exact = guide.family.init(base={"loc": TRUE_LOC, "scale_diag": TRUE_SCALE})
    n = 20000

    @jax.jit
    def estimates(key, params):
        u = guide.base.sample(key, params.base, (n,))
        latents, log_det = guide.transform(u)
        terms = jax.vmap(_image_log_density)(latents) + log_det
        sampled = terms - guide.base.log_prob(params.base, u)
        losses = [vi.make_elbo_loss(guide, _image_log_density, num_samples=n,
                                    **o) for o in OPTIONS]  # fmt: skip
        keys = jax.random.split(jax.random.fold_in(key, 1), len(losses))
        values = jnp.stack([-f(k, params) for f, k in zip(losses, keys, strict=True)])
        return values, jnp.std(terms) / math.sqrt(n), jnp.std(sampled) / math.sqrt(n)

    values, error_analytic, error_sampled = estimates(key, params)
    tolerance = 5 * math.hypot(error_analytic, error_sampled)
    assert abs(values[1] - values[0]) < tolerance  # monte_carlo vs analytic
    assert abs(values[2] - values[0]) < tolerance  # sticking the landing
    # At q = p, log p - log q is constant: its pathwise gradient vanishes.
    grads = {
        gradient: jax.jit(jax.grad(vi.make_elbo_loss(
            guide, _image_log_density, num_samples=8, entropy="monte_carlo",
            gradient=gradient), argnums=1))(jax.random.fold_in(key, 20), exact)
        for gradient in ("standard", "stl")
    }  # fmt: skip
    stl = np.concatenate([np.ravel(g) for g in jax.tree.leaves(grads["stl"])])
    standard = np.concatenate([np.ravel(g) for g in jax.tree.leaves(grads["standard"])])
    assert np.max(np.abs(stl)) < 1e-4
    assert np.max(np.abs(standard)) > 1e-2  # the test could fail


def test_bad_guides_are_refused():
    with pytest.raises(ValueError, match="kind"):
        vi.make_guide(0.0, kind="low_rank_typo")
    with pytest.raises(ValueError, match=r"\['x'\].*one of"):
        vi.make_guide({"x": 1.0}, {"x": "postive"})
    with pytest.raises(ValueError, match="structure"):
        vi.make_guide({"x": 1.0, "y": 2.0}, {"x": "real"})
    with pytest.raises(ValueError, match=r"\['s'\] is not inside"):
        vi.make_guide({"s": -1.0}, {"s": "positive"})
    with pytest.raises(ValueError, match="entropy"):
        vi.make_elbo_loss(vi.make_guide(0.0)[1], lambda z: z, entropy="exact")
    with pytest.raises(ValueError, match="gradient"):
        vi.make_elbo_loss(vi.make_guide(0.0)[1], lambda z: z, gradient="dreg")
    with pytest.raises(ValueError, match="stl.*monte_carlo"):
        vi.make_elbo_loss(vi.make_guide(0.0)[1], lambda z: z, gradient="stl")
    with pytest.raises(ValueError, match="init_scale"):
        vi.make_guide(0.0, init_scale=0.0)


# --------------------------------------------------------------------------- #
# Bayesian logistic regression: against numpyro's SVI with AutoNormal, and the demo.


def _numpyro_fits(train, optimizer, num_steps, num_samples, keys):
    """numpyro's SVI + AutoNormal, same model, start and optimizer, one fit per key."""
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal
    from numpyro.infer.initialization import init_to_value

    x, y = train["x"], train["y"]
    d = x.shape[1]

    def model(x, y):
        w = numpyro.sample("w", dist.Normal(0.0, 1.0).expand([d]).to_event(1))
        b = numpyro.sample("b", dist.Normal(0.0, 1.0))
        numpyro.sample("y", dist.Bernoulli(logits=x @ w + b), obs=y)

    start = init_to_value(values={"w": jnp.zeros(d), "b": jnp.zeros(())})
    guide = AutoNormal(model, init_loc_fn=start, init_scale=0.1)
    svi = SVI(model, guide, optimizer, Trace_ELBO(num_particles=num_samples))

    def run(key):  # SVI.update in a scan, so that the fits can be vmapped
        state = svi.init(key, x, y)
        update = lambda state, _: (svi.update(state, x, y)[0], None)
        state, _ = jax.lax.scan(update, state, None, length=num_steps)
        p = svi.get_params(state)  # as our guide's params: leaves "b", then "w"
        loc = jnp.concatenate([p["b_auto_loc"][None], p["w_auto_loc"]])
        scale = jnp.concatenate([p["b_auto_scale"][None], p["w_auto_scale"]])
        base = mvn.MultivariateNormalDiagParams(loc, jnp.log(scale))
        return bijectors.TransformedParams(base, ())

    with jax.debug_key_reuse(False):  # numpyro's SVI state carries its key
        fitted = jax.jit(jax.vmap(run))(keys)
    return [jax.tree.map(lambda a, i=i: a[i], fitted) for i in range(len(keys))]


@pytest.mark.slow
def test_logistic_regression_elbo_at_least_numpyros():
    from jaxreparam.apps import logistic

    steps, num_samples, fits = 2000, 8, 6
    data = logistic.load_data(0)
    train = {"x": data["x_train"], "y": data["y_train"]}
    log_joint = logistic.make_log_joint(1.0)
    params, guide = vi.make_guide(logistic.example_latents(train["x"].shape[1]))
    loss = vi.make_elbo_loss(guide, log_joint, num_samples=num_samples)
    optimizer = optax.adam(optax.cosine_decay_schedule(0.05, steps, alpha=0.02))
    ours = [
        fit(jax.random.key(seed), params, train, loss=loss, optimizer=optimizer,
            num_steps=steps, progress=False).params
        for seed in range(fits)
    ]  # fmt: skip
    keys = jax.random.split(jax.random.key(100), fits)
    theirs = _numpyro_fits(train, optimizer, steps, num_samples, keys)
    # Each final ELBO from 20000 draws (same draws for all: common random numbers).
    elbo = lambda p: logistic.estimate_elbo(
        jax.random.key(7), p, guide, log_joint, train
    )[0]
    ours_elbo, theirs_elbo = np.array([[elbo(p) for p in f] for f in (ours, theirs)])
    # The spread over fits holds the optimizer's noise and the estimates' own.
    error = math.sqrt((ours_elbo.var(ddof=1) + theirs_elbo.var(ddof=1)) / fits)
    assert ours_elbo.mean() - theirs_elbo.mean() > -5 * error, (ours_elbo, theirs_elbo)
    # Held-out predictions: McNemar's paired comparison, pooled over the fits.
    x, y = data["x_test"], np.asarray(data["y_test"], bool)
    only_ours = only_theirs = 0
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        accuracy_a, predicted_a = logistic.accuracy(jax.random.key(i), a, guide, x, y)
        accuracy_b, predicted_b = logistic.accuracy(jax.random.key(i), b, guide, x, y)
        assert min(accuracy_a, accuracy_b) > 0.9
        only_ours += int(np.sum((predicted_a == y) & (predicted_b != y)))
        only_theirs += int(np.sum((predicted_a != y) & (predicted_b == y)))
    assert abs(only_ours - only_theirs) <= 5 * math.sqrt(only_ours + only_theirs)


def test_logistic_demo_prints_progress_elbo_and_accuracy(capsys):
    from jaxreparam.__main__ import main

    result = main(["logistic", "--steps", "300", "--seed", "1"])
    out = capsys.readouterr().out
    assert "fit: step     300/300" in out
    assert "Final ELBO" in out
    assert "Held-out accuracy" in out
    assert np.isfinite(result["elbo"])
    losses = result["losses"]
    assert losses.shape == (300,)
    assert losses[-50:].mean() < losses[:50].mean()  # it fitted
    assert result["test_accuracy"] > 0.9  # a majority-class guess gets 0.63


# --------------------------------------------------------------------------- #
# One ELBO: vi's loss is jr.objectives.elbo of the base Gaussian, pulled back.


@pytest.mark.slow  # every option compiled twice (~20 s); CI runs it
def test_vi_elbo_is_the_objectives_elbo_of_the_pulled_back_target(key):
    params, guide = vi.make_guide(EXAMPLE, CONSTRAINTS, init_scale=0.5)
    pulled = vi.pull_back(_image_log_density, guide.bijector)
    for options in OPTIONS:
        ours = vi.elbo(
            jax.random.clone(key), params, guide, _image_log_density, num_samples=5,
            **options,
        )  # fmt: skip
        theirs = jr.objectives.elbo(
            jax.random.clone(key),
            params.base,
            guide.base,
            pulled,
            num_samples=5,
            **options,
        )
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    # The guide is a transformed family: log q of a draw through the inverse
    # equals the one-pass log q of sample_and_log_prob.
    latents, log_q = guide.sample_and_log_prob(jax.random.clone(key), params, (50,))
    np.testing.assert_allclose(guide.log_prob(params, latents), log_q, rtol=1e-4)
    assert isinstance(guide.family, jr.Family)


# --------------------------------------------------------------------------- #
# Where a guide starts.


def test_guides_start_where_they_say():
    key = jax.random.key(3)
    # From given values, with the given scale.
    start = {"rate": 2.5, "w": jnp.array([0.5, -1.0])}
    params, guide = vi.make_guide(start, {"rate": "positive", "w": "real"},
                                  init_scale=0.3)  # fmt: skip
    jax.tree.map(np.testing.assert_allclose, guide.median(params), start)
    np.testing.assert_allclose(jnp.exp(params.base.log_scale_diag), 0.3, rtol=1e-6)
    params, guide = vi.make_guide(start, kind="full_rank", init_scale=0.7)
    covariance = mvn.covariance(params.base)
    np.testing.assert_allclose(covariance, 0.49 * np.eye(3), rtol=1e-6, atol=1e-7)
    # From a draw of a prior family.
    prior = jr.normal.init(loc=jnp.array([1.0, -2.0, 0.5]), scale=2.0)
    drawn = vi.prior_draw(key, jr.normal, prior)
    np.testing.assert_array_equal(drawn, jr.normal.sample(jax.random.clone(key), prior))
    params, guide = vi.make_guide(drawn)
    np.testing.assert_allclose(guide.median(params), drawn, rtol=1e-6)

    # From a sampler of a pytree, constrained latents included.
    def sampler(key):
        a, b = jax.random.split(key)
        return {"rate": jax.random.gamma(a, 3.0), "w": jax.random.normal(b, (2,))}

    drawn = vi.prior_draw(jax.random.key(4), sampler)
    params, guide = vi.make_guide(drawn, {"rate": "positive", "w": "real"})
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6),
        guide.median(params),
        drawn,
    )
    with pytest.raises(TypeError, match="needs its params"):
        vi.prior_draw(jax.random.key(5), jr.normal)
    with pytest.raises(TypeError, match="prior must be"):
        vi.prior_draw(jax.random.key(5), 3.0)


# --------------------------------------------------------------------------- #
# Minibatches: the likelihood scaled to the data set.


def _normal_mean_problem():
    """mu ~ N(0, 1), x_i ~ N(mu, 1), N = 12: posterior N(sum x / 13, 1 / 13)."""
    data = {"x": 1.5 + jax.random.normal(jax.random.key(21), (12,))}
    log_prior = lambda latents: -0.5 * latents["mu"] ** 2
    log_likelihood = lambda latents, example: -0.5 * (example["x"] - latents["mu"]) ** 2
    return data, log_prior, log_likelihood


def test_minibatch_elbos_average_to_the_full_batch_elbo(key):
    data, log_prior, log_likelihood = _normal_mean_problem()
    full_joint = lambda latents, batch: (
        log_prior(latents)
        + jnp.sum(jax.vmap(log_likelihood, (None, 0))(latents, batch))
    )
    scaled = vi.minibatch_log_joint(log_prior, log_likelihood, num_data=12)
    params, guide = vi.make_guide({"mu": 0.3}, init_scale=0.8)
    full = vi.make_elbo_loss(guide, full_joint, num_samples=4)
    minibatch = vi.make_elbo_loss(guide, scaled, num_samples=4)
    loss = lambda f, b: jax.value_and_grad(lambda p: f(jax.random.clone(key), p, b))(
        params
    )
    full_value, full_grad = loss(full, data)
    # The same draws on every batch of a partition: the mean is the full ELBO.
    batches = [{"x": data["x"][i : i + 3]} for i in range(0, 12, 3)]
    values, grads = zip(*(loss(minibatch, b) for b in batches), strict=True)
    np.testing.assert_allclose(np.mean(values), full_value, rtol=1e-5)
    mean_grad = jax.tree.map(lambda *g: np.mean(g, axis=0), *grads)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        mean_grad,
        full_grad,
    )
    assert np.std(values) > 0.1  # the batches differ: the test could fail
    np.testing.assert_allclose(
        scaled({"mu": 0.3}, data), full_joint({"mu": 0.3}, data), rtol=1e-6
    )
    with pytest.raises(ValueError, match="num_data"):
        vi.minibatch_log_joint(log_prior, log_likelihood, num_data=0)


@pytest.mark.slow
def test_minibatch_fit_recovers_the_posterior():
    data, log_prior, log_likelihood = _normal_mean_problem()
    mean, sd = float(jnp.sum(data["x"]) / 13), 1 / math.sqrt(13)
    fitted = []
    for seed in range(SEEDS):
        guide, result = vi.fit(
            jax.random.key(seed), {"mu": 0.0}, data, log_prior=log_prior,
            log_likelihood=log_likelihood, batch_size=4, num_samples=4,
            optimizer=optax.adam(optax.cosine_decay_schedule(0.05, 1500, 0.02)),
            num_steps=1500, progress=False,
        )  # fmt: skip
        base = result.params.base
        fitted.append([base.loc[0], jnp.exp(base.log_scale_diag[0])])
    _assert_recovers(np.array(fitted), np.array([mean, sd]), "minibatch posterior")
    with pytest.raises(ValueError, match="log_prior and log_likelihood"):
        vi.fit(jax.random.key(0), {"mu": 0.0}, data, log_prior=log_prior,
               optimizer=optax.adam(0.1), num_steps=1)  # fmt: skip


@pytest.mark.slow
def test_a_flow_posterior_plugs_into_the_guide(key):
    """The base of a guide may be any family over u: here a Gaussian through affine."""
    gaussian_params, gaussian = vi.make_guide(EXAMPLE, CONSTRAINTS)
    flow = jr.transformed(gaussian.base, bijectors.affine)
    flow_params = flow.init(
        base=gaussian_params.base, bijector=bijectors.affine.init(shape=(9,))
    )
    guide = vi.Guide(
        jr.transformed(flow, gaussian.bijector), flow, gaussian.bijector, 9
    )
    params = bijectors.TransformedParams(flow_params, ())
    loss = vi.make_elbo_loss(
        guide, _image_log_density, num_samples=4, entropy="monte_carlo"
    )
    grads = jax.grad(loss, argnums=1)(key, params)
    assert np.all(np.isfinite(np.asarray(grads.base.bijector.log_scale)))
    assert np.max(np.abs(np.asarray(grads.base.bijector.log_scale))) > 1e-3
    latents = guide.sample(jax.random.key(1), params, (3,))
    assert latents["x"].shape == (3, 2, 2)
    # With the identity affine map, the flow guide is the Gaussian guide.
    np.testing.assert_allclose(
        loss(jax.random.key(2), params),
        vi.make_elbo_loss(gaussian, _image_log_density, num_samples=4,
                          entropy="monte_carlo")(jax.random.key(2), gaussian_params),
        rtol=1e-5,
    )  # fmt: skip
