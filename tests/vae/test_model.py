"""make_vae: the loss equals a hand-written VAE's, every option runs, fitting works."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreparam as jr

D, N, H, B = 6, 2, 8, 5


def _data(key=None):
    key = jax.random.key(11) if key is None else key
    return jax.random.bernoulli(key, 0.4, (B, D)).astype(jnp.result_type(float))


def _vae(**options):
    options = {"likelihood": jr.vae.bernoulli, "hidden_sizes": (H,), **options}
    return jr.vae.make_vae(data_size=D, latent_size=N, **options)


def _mlp(layers, x):
    (w1, b1), (w2, b2) = layers
    return jnp.tanh(x @ w1 + b1) @ w2 + b2


def _hand_terms(params, x, eps):
    """log p(x | z), log p(z), log q(z | x) and the analytic KL, by hand."""
    mu, log_sigma = jnp.split(_mlp(params.encoder, x), 2, axis=-1)
    sigma = jnp.exp(log_sigma)
    z = mu + sigma * eps
    logits = _mlp(params.decoder, z)
    log_px = jnp.sum(x * logits - jax.nn.softplus(logits), -1)
    half_log_2pi = 0.5 * jnp.log(2 * jnp.pi)
    log_pz = jnp.sum(-0.5 * z**2 - half_log_2pi, -1)
    log_qz = jnp.sum(-0.5 * eps**2 - log_sigma - half_log_2pi, -1)
    kl = jnp.sum(0.5 * (mu**2 + sigma**2 - 1) - log_sigma, -1)
    return log_px, log_pz, log_qz, kl


def _hand_loss(key, params, x, kind):
    """The hand-written negative ELBO, drawing as make_vae documents."""
    keys = jax.random.split(key, x.shape[0])
    if kind == "monte_carlo":  # each point's key split in two, the first draws
        keys = jax.vmap(lambda k: jax.random.split(k)[0])(keys)
    eps = jax.vmap(lambda k: jax.random.normal(k, (1, N)))(keys)[:, 0]
    log_px, log_pz, log_qz, kl = _hand_terms(params, x, eps)
    if kind == "analytic":
        return -jnp.mean(log_px - kl)
    return -jnp.mean(log_px + log_pz - log_qz)


@pytest.mark.parametrize("kind", ["analytic", "monte_carlo"])
def test_loss_and_gradient_equal_a_hand_written_vae(kind):
    with jax.enable_x64(True):
        vae = _vae(kl=kind)
        params = vae.init(jax.random.key(0))
        x = _data()

        def loss(key, params):
            return vae.loss(key, params, x)[0]

        value, grad = jax.jit(jax.value_and_grad(loss, argnums=1))(
            jax.random.key(1), params
        )
        hand, hand_grad = jax.jit(
            jax.value_and_grad(_hand_loss, argnums=1), static_argnums=3
        )(jax.random.key(1), params, x, kind)
        assert value.dtype == jnp.float64
        np.testing.assert_allclose(value, hand, rtol=1e-12)
        for a, b in zip(jax.tree.leaves(grad), jax.tree.leaves(hand_grad), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_iwae_at_one_sample_is_the_monte_carlo_elbo_of_the_same_draw():
    with jax.enable_x64(True):
        vae = _vae(objective="iwae", num_samples=1)
        params = vae.init(jax.random.key(0))
        x = _data()
        value, metrics = jax.jit(vae.loss)(jax.random.key(1), params, x)
        keys = jax.random.split(jax.random.key(1), B)
        eps = jax.vmap(lambda k: jax.random.normal(k, (1, N)))(keys)[:, 0]
        log_px, log_pz, log_qz, _ = _hand_terms(params, x, eps)
        np.testing.assert_allclose(
            value, -jnp.mean(log_px + log_pz - log_qz), rtol=1e-12
        )
        np.testing.assert_allclose(metrics["iwae"], -value, rtol=1e-12)


def test_stl_and_dreg_leave_the_decoder_gradient_unchanged():
    with jax.enable_x64(True):
        x = _data()
        grads = {}
        for gradient in ("standard", "stl", "dreg"):
            vae = _vae(objective="iwae", num_samples=4, gradient=gradient)
            params = vae.init(jax.random.key(0))
            grads[gradient] = jax.jit(
                jax.grad(lambda k, p, loss=vae.loss: loss(k, p, x)[0], argnums=1)
            )(jax.random.key(1), params)
        for gradient in ("stl", "dreg"):
            for a, b in zip(
                jax.tree.leaves(grads[gradient].decoder),
                jax.tree.leaves(grads["standard"].decoder),
                strict=True,
            ):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
            encoder = jax.tree.leaves(grads[gradient].encoder)[-1]
            standard = jax.tree.leaves(grads["standard"].encoder)[-1]
            assert not np.allclose(encoder, standard)  # the encoder's does change


OPTIONS = {
    "elbo": {},
    "elbo-K3-stl": {"num_samples": 3, "gradient": "stl"},
    "elbo-beta": {"beta": 0.5, "kl": "monte_carlo"},
    "iwae-dreg": {"objective": "iwae", "num_samples": 3, "gradient": "dreg"},
    "full_covariance": {"posterior": "full_covariance"},
    "iaf-iwae": {"posterior": "iaf", "objective": "iwae", "num_samples": 2},
    "relaxed": {"posterior": jr.vae.relaxed_categorical_posterior(3, temperature=0.7)},
    "straight_through": {
        "posterior": jr.vae.relaxed_categorical_posterior(
            3, straight_through_draws=True
        )
    },
    "gaussian-learned": {"likelihood": jr.vae.gaussian(scale="learned")},
}


DEFAULT_RUN = ("elbo", "iwae-dreg", "relaxed")  # the others in the slow run


@pytest.mark.parametrize(
    "name",
    [
        name if name in DEFAULT_RUN else pytest.param(name, marks=pytest.mark.slow)
        for name in OPTIONS
    ],
)
def test_every_option_gives_a_finite_loss_and_gradient(name):
    vae = _vae(**OPTIONS[name])
    params = vae.init(jax.random.key(0))
    (value, metrics), grad = jax.jit(
        jax.value_and_grad(vae.loss, argnums=1, has_aux=True)
    )(jax.random.key(1), params, _data())
    assert bool(jnp.isfinite(value))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grad))
    assert all(bool(jnp.isfinite(m)) for m in metrics.values())
    assert bool(jnp.any(jax.tree.leaves(grad.encoder)[0] != 0))


def test_relaxed_temperature_and_straight_through_draws():
    x = _data()
    values = []
    for temperature in (0.3, 3.0):
        vae = _vae(
            posterior=jr.vae.relaxed_categorical_posterior(3, temperature=temperature)
        )
        params = vae.init(jax.random.key(0))
        metrics = jax.jit(vae.loss)(jax.random.key(1), params, x)[1]
        values.append(metrics["reconstruction"])
        q = vae.encode(params, x)
        assert q.logits.shape == (B, N, 3)
        np.testing.assert_allclose(jnp.exp(q.log_temperature), temperature, rtol=1e-6)
    assert values[0] != values[1]
    vae = _vae(
        posterior=jr.vae.relaxed_categorical_posterior(3, straight_through_draws=True)
    )
    params = vae.init(jax.random.key(0))
    z = vae.posterior.family.sample(jax.random.key(2), vae.encode(params, x))
    assert bool(jnp.all(jnp.sum(z == 1, -1) == 1))


def test_kl_warmup_weight_rises_from_zero_to_beta():
    vae = _vae(warmup_steps=10, beta=1.0)
    params = vae.init(jax.random.key(0))
    x = _data()
    loss = jax.jit(vae.loss)
    weights = [
        float(loss(jax.random.key(s), params, x, step=jnp.int32(s))[1]["kl_weight"])
        for s in (0, 5, 10, 20)
    ]
    assert weights == [0.0, 0.5, 1.0, 1.0]
    value, metrics = loss(jax.random.key(2), params, x, step=jnp.int32(0))
    np.testing.assert_allclose(value, -metrics["reconstruction"], rtol=1e-6)
    assert float(loss(jax.random.key(3), params, x)[1]["kl_weight"]) == 1.0
    fit = jr.fit(
        jax.random.key(4), params, x, loss=vae.loss, optimizer=optax.adam(1e-3),
        num_steps=12, progress=False,
    )  # fmt: skip
    np.testing.assert_allclose(
        fit.history["kl_weight"], np.minimum(np.arange(12) / 10, 1.0), rtol=1e-6
    )


@pytest.mark.slow  # about 5 s
def test_fit_lowers_the_loss_on_a_tiny_data_set():
    data = jax.random.bernoulli(jax.random.key(5), 0.3, (64, 16)).astype(jnp.float32)
    vae = jr.vae.make_vae(
        data_size=16, latent_size=2, likelihood=jr.vae.bernoulli, hidden_sizes=(32,)
    )
    params = vae.init(jax.random.key(0))
    fit = jr.fit(
        jax.random.key(1), params, data, loss=vae.loss, optimizer=optax.adam(1e-2),
        num_steps=400, batch_size=16, progress=False,
    )  # fmt: skip
    losses = fit.history["loss"]
    assert losses[-50:].mean() < losses[:10].mean() - 1.0


@pytest.mark.slow  # about 5 s (float64 Jacobians of a flow)
def test_iaf_posterior_log_q_is_the_change_of_variables():
    with jax.enable_x64(True):
        n, c, layers, hidden = 3, 2, 2, (8,)
        post = jr.vae.iaf_posterior(
            num_layers=layers, hidden_sizes=hidden, context_size=c
        )(n)
        flow = post.init(jax.random.key(0))
        leaves, tree = jax.tree.flatten(flow)  # leave the identity
        noise = jax.random.split(jax.random.key(1), len(leaves))
        flow = tree.unflatten(
            [
                leaf + 0.3 * jax.random.normal(k, leaf.shape)
                for leaf, k in zip(leaves, noise, strict=True)
            ]
        )
        out = jax.random.normal(jax.random.key(2), (2 * n + c,))
        q = post.head(flow, out)
        z, log_q = post.family.sample_and_log_prob(jax.random.key(3), q)
        np.testing.assert_allclose(log_q, post.family.log_prob(q, z), rtol=1e-10)
        # the same layers built by hand: forward(x) = z; log q = log N(x) - log|J|
        layer = jr.bijectors.invert(
            jr.bijectors.affine_autoregressive(n, hidden_sizes=hidden, context_size=c)
        )
        stack = jr.bijectors.repeat(
            jr.bijectors.chain(jr.bijectors.reverse, layer), layers
        )
        forward = lambda x: stack.forward(flow, x, q.context)[0]  # noqa: E731
        x, _ = stack.inverse(flow, z, q.context)
        np.testing.assert_allclose(forward(x), z, rtol=1e-10)
        base = jr.multivariate_normal_diag.log_prob(q.base, x)
        log_det = jnp.linalg.slogdet(jax.jacobian(forward)(x))[1]
        np.testing.assert_allclose(log_q, base - log_det, rtol=1e-10)


@pytest.mark.slow  # the IAF option also runs in the option matrix
def test_iaf_vae_trains():
    vae = _vae(
        posterior=jr.vae.iaf_posterior(num_layers=1, hidden_sizes=(8,), context_size=4)
    )
    params = vae.init(jax.random.key(0))
    x = _data()
    fit = jr.fit(
        jax.random.key(1), params, x, loss=vae.loss, optimizer=optax.adam(1e-2),
        num_steps=30, progress=False,
    )  # fmt: skip
    assert np.all(np.isfinite(fit.history["loss"]))
    assert fit.history["loss"][-5:].mean() < fit.history["loss"][:5].mean()
    changed = jax.tree.map(
        lambda a, b: bool(jnp.any(a != b)), fit.params.posterior, params.posterior
    )
    assert any(jax.tree.leaves(changed))


def test_equinox_networks_plug_in():
    eqx = pytest.importorskip("equinox")

    def network(in_size, out_size):
        def make(key):
            return eqx.nn.MLP(in_size, out_size, H, 1, activation=jnp.tanh, key=key)

        static = eqx.partition(make(jax.random.key(0)), eqx.is_array)[1]

        def init(key):
            return eqx.partition(make(key), eqx.is_array)[0]

        def apply(params, x):
            return eqx.combine(params, static)(x)

        return init, apply

    vae = _vae(encoder=network(D, 2 * N), decoder=network(N, D))
    params = vae.init(jax.random.key(1))
    x = _data()
    step = jax.jit(jr.make_step(vae.loss, optax.adam(1e-2)))
    opt_state = optax.adam(1e-2).init(params)
    new, _, metrics = step(jax.random.key(2), params, opt_state, x, count=0)
    assert bool(jnp.isfinite(metrics["loss"]))
    assert vae.reconstruct(jax.random.key(3), new, x).shape == (B, D)
    assert vae.sample(jax.random.key(4), new, 7).shape == (7, D)


def test_encode_decode_sample_reconstruct_shapes():
    vae = _vae()
    params = vae.init(jax.random.key(0))
    x = _data()
    q = vae.encode(params, x)
    assert q.loc.shape == (B, N)
    assert vae.decode(params, jnp.zeros((3, 4, N))).logits.shape == (3, 4, D)
    samples = vae.sample(jax.random.key(1), params, 9)
    assert samples.shape == (9, D)
    assert bool(jnp.all((samples == 0) | (samples == 1)))
    means = vae.sample(jax.random.key(2), params, 9, mean=True)
    assert bool(jnp.all((means > 0) & (means < 1)))
    assert vae.reconstruct(jax.random.key(3), params, x).shape == (B, D)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"num_samples": 0}, "num_samples must be at least 1, got 0"),
        ({"beta": -0.5}, "beta must be finite and >= 0, got -0.5"),
        ({"objective": "vimco"}, "objective must be one of .* got 'vimco'"),
        ({"gradient": "rebar"}, "gradient must be one of .* got 'rebar'"),
        ({"posterior": "flow"}, "posterior must be one of .* got 'flow'"),
        ({"objective": "iwae", "beta": 2.0}, "beta and warmup_steps"),
        ({"gradient": "dreg"}, "gradient='dreg' is for objective='iwae'"),
        ({"kl": "analytic", "gradient": "stl"}, "kl='monte_carlo'"),
        ({"posterior": "iaf", "kl": "analytic"}, "kl='analytic'"),
        ({"warmup_steps": -1}, "warmup_steps must be at least 0, got -1"),
    ],
)
def test_bad_options_name_the_argument(options, match):
    with pytest.raises(ValueError, match=match):
        _vae(**options)


def test_bad_data():
    vae = _vae()
    params = vae.init(jax.random.key(0))
    with pytest.raises(ValueError, match=r"batch must have shape \(batch_size, 6\)"):
        vae.loss(jax.random.key(1), params, jnp.zeros((B, D + 1)))
    bad = _data().at[0, 0].set(0.5)
    with pytest.raises(ValueError, match="x must be binary"):
        vae.loss(jax.random.key(2), params, bad)
    assert bool(jnp.isnan(jax.jit(vae.loss)(jax.random.key(3), params, bad)[0]))
    with pytest.raises(TypeError, match="encoder must be a jr.nn.Network"):
        _vae(encoder=lambda p, x: x)
