"""Tests of jaxreparam.fit (make_step, fit) and jaxreparam.checkpoint."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreparam as jr
from jaxreparam import checkpoint
from jaxreparam.train import _fit as fit_module
from jaxreparam.train import fit, make_step

NUM_EXAMPLES, DIM = 96, 3


def _data():
    x = jax.random.normal(jax.random.key(1), (NUM_EXAMPLES, DIM))
    w = jnp.array([1.0, -2.0, 0.5])
    y = x @ w + 0.3 * jax.random.normal(jax.random.key(2), (NUM_EXAMPLES,))
    return {"x": x, "y": y, "index": jnp.arange(NUM_EXAMPLES)}


def _loss(key, params, batch):
    """-ELBO of a Bayesian linear regression, minibatch-scaled, with metrics."""

    def log_joint(w):
        residual = batch["y"] - batch["x"] @ w
        scale = NUM_EXAMPLES / batch["y"].shape[0]
        return scale * jnp.sum(-0.5 * residual**2 / 0.09) - 0.5 * jnp.sum(w**2)

    expected = jr.estimators.pathwise(key, params, log_joint, jr.normal, num_samples=4)
    loss = -(expected + jnp.sum(jr.normal.entropy(params)))
    return loss, {"index": batch["index"], "min_scale": jnp.exp(params.log_scale).min()}


def _params():
    return jr.normal.init(loc=jnp.zeros(DIM), scale=jnp.ones(DIM))


OPTIMIZER = optax.adam(optax.exponential_decay(0.05, 100, 0.5))


def test_make_step_is_an_optax_step(key):
    params, data = _params(), _data()
    state = OPTIMIZER.init(params)
    new_params, new_state, metrics = jax.jit(make_step(_loss, OPTIMIZER))(
        key, params, state, data
    )
    (value, _), grads = jax.value_and_grad(_loss, argnums=1, has_aux=True)(
        jax.random.clone(key), params, data
    )
    updates, expected_state = OPTIMIZER.update(grads, state, params)
    np.testing.assert_allclose(metrics["loss"], value, rtol=1e-6)
    np.testing.assert_array_equal(metrics["index"], data["index"])
    for a, b in zip(
        jax.tree.leaves((new_params, new_state)),
        jax.tree.leaves((optax.apply_updates(params, updates), expected_state)),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_make_step_refuses_a_non_scalar_loss(key):
    step = make_step(lambda key, p: p * jnp.ones(2), optax.sgd(0.1))
    with pytest.raises(TypeError, match="scalar"):
        step(key, 1.0, optax.sgd(0.1).init(1.0))


def test_fit_equals_a_hand_written_loop(key):
    data, steps = _data(), 30
    result = fit(
        key, _params(), data, loss=_loss, optimizer=OPTIMIZER, num_steps=steps,
        chunk_size=7, progress=False,
    )  # fmt: skip
    step = jax.jit(make_step(_loss, OPTIMIZER))
    params, state = _params(), OPTIMIZER.init(_params())
    losses = []
    for t in range(steps):
        step_key = jax.random.fold_in(jax.random.fold_in(key, 0), t)
        params, state, metrics = step(step_key, params, state, data)
        losses.append(metrics["loss"])
    np.testing.assert_allclose(result.history["loss"], losses, rtol=1e-5)
    for a, b in zip(
        jax.tree.leaves(result.params), jax.tree.leaves(params), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert result.step == steps
    assert result.history["min_scale"].shape == (steps,)


def test_fit_compiles_once_and_chunking_changes_nothing(key):
    data, traces = _data(), []

    def loss(key, params, batch):
        traces.append(None)  # runs when jax traces the loss, not when it runs
        return _loss(key, params, batch)

    run = lambda **options: fit(
        key, _params(), data, loss=loss, optimizer=OPTIMIZER, num_steps=50,
        batch_size=20, progress=False, **options,
    )  # fmt: skip
    chunked = run(chunk_size=8)  # 7 chunks, the last one masked
    compiled = fit_module._compiled_chunk(loss, OPTIMIZER, 8, True, 20)
    assert compiled._cache_size() == 1  # one compilation for the 7 chunks
    traced = len(traces)
    run(chunk_size=8)
    assert len(traces) == traced  # a second fit (a resumed one, say) reuses it
    assert compiled._cache_size() == 1
    whole = run()
    for name in ("loss", "index"):
        np.testing.assert_array_equal(chunked.history[name], whole.history[name])
    for a, b in zip(jax.tree.leaves(chunked), jax.tree.leaves(whole), strict=True):
        np.testing.assert_array_equal(a, b)


def test_minibatches_are_epochs_of_permutations(key):
    batch_size = 20  # 4 minibatches per epoch, 16 examples left out of each
    result = fit(
        key, _params(), _data(), loss=_loss, optimizer=OPTIMIZER, num_steps=12,
        batch_size=batch_size, chunk_size=5, progress=False,
    )  # fmt: skip
    index = result.history["index"].reshape(3, 4 * batch_size)
    for epoch in index:
        assert len(set(epoch.tolist())) == epoch.size  # no example twice
    assert len({tuple(sorted(epoch.tolist())) for epoch in index}) == 3  # reshuffled


def test_resume_from_a_saved_state_equals_an_uninterrupted_fit(key, tmp_path):
    data, params = _data(), _params()
    options = {"loss": _loss, "optimizer": OPTIMIZER, "batch_size": 28}
    options |= {"chunk_size": 50, "progress": False}  # 3 per epoch: 200 is mid-epoch
    whole = fit(key, params, data, num_steps=400, **options)
    first = fit(key, params, data, num_steps=200, **options)
    path = tmp_path / "state.npz"
    checkpoint.save(path, (first.params, first.opt_state, first.step))
    template = (params, OPTIMIZER.init(params), 0)
    loaded_params, loaded_state, step = checkpoint.load(path, template)
    assert step == 200
    second = fit(
        key, loaded_params, data, num_steps=200, opt_state=loaded_state,
        start_step=step, **options,
    )  # fmt: skip
    assert second.step == whole.step == 400
    for a, b in zip(
        jax.tree.leaves((second.params, second.opt_state)),
        jax.tree.leaves((whole.params, whole.opt_state)),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)  # bit-identical
    np.testing.assert_array_equal(
        np.concatenate([first.history["loss"], second.history["loss"]]),
        whole.history["loss"],
    )


def test_params_never_leave_their_domain(key):
    """E[log (z - loc)^2] falls without bound as the scale goes to 0."""

    def loss(key, params):
        z = jr.normal.sample(key, params, (8,))
        value = jnp.mean(jnp.log((z - params.loc) ** 2))
        return value, {"scale": jnp.exp(params.log_scale)}

    params = jr.normal.init(loc=0.0, scale=1.0)
    result = fit(
        key, params, loss=loss, optimizer=optax.adam(0.3), num_steps=100,
        progress=False,
    )  # fmt: skip
    scales = result.history["scale"]
    assert np.all(np.isfinite(scales))
    assert np.all(scales > 0)
    assert scales[-1] < 1e-3 * scales[0]  # the push was real

    # The same optimizer on the natural scale crosses zero: the test can fail.
    def naive(key, s):
        return jnp.mean(jnp.log((s * jax.random.normal(key, (8,))) ** 2)), {"scale": s}

    naive_fit = fit(
        key, 1.0, loss=naive, optimizer=optax.adam(0.3), num_steps=100,
        progress=False,
    )  # fmt: skip
    assert np.any(naive_fit.history["scale"] < 0)


def test_early_stopping_returns_the_best_params(key):
    """Descent from 0 towards 3, validated against 1: stops past 1, returns ~1."""
    loss = lambda key, p: (p - 3.0) ** 2
    result = fit(
        key, jnp.float32(0.0), loss=loss, optimizer=optax.sgd(0.01), num_steps=1000,
        chunk_size=5, validation_loss=lambda p: (p - 1.0) ** 2, patience=3,
        progress=False,
    )  # fmt: skip
    steps, values = result.history["validation_step"], result.history["validation_loss"]
    best = int(np.argmin(values))
    assert result.step == steps[best] < 1000
    assert len(values) == best + 4  # three evaluations without improvement
    assert len(result.history["loss"]) == steps[-1]  # stopped there
    np.testing.assert_allclose((result.params - 1.0) ** 2, values[best], rtol=1e-6)
    assert values[best - 1] > values[best]
    assert values[best + 1] > values[best]


def test_progress_lines_and_the_ci_rule(key, capsys, monkeypatch):
    loss = lambda key, p: (p - 3.0) ** 2
    run = lambda progress: fit(
        key, 0.0, loss=loss, optimizer=optax.sgd(0.1), num_steps=100, chunk_size=5,
        progress=progress,
    )  # fmt: skip
    run(True)  # stdout is captured, not a terminal: printed lines, no bar
    lines = capsys.readouterr().out.splitlines()
    assert 10 <= len(lines) <= 11
    assert lines[-1].startswith("fit: step     100/100")
    monkeypatch.setenv("CI", "1")
    run(None)
    run(False)
    assert capsys.readouterr().out == ""


def test_checkpoint_round_trip(tmp_path):
    tree = {
        "params": _params(),
        "state": OPTIMIZER.init(_params()),
        "key": jax.random.key(3),
        "numpy": np.arange(4.0),
        "step": 17,
    }
    checkpoint.save(tmp_path / "tree.npz", tree)
    loaded = checkpoint.load(tmp_path / "tree.npz", tree)
    assert jax.tree.structure(loaded) == jax.tree.structure(tree)
    assert loaded["step"] == 17
    assert isinstance(loaded["step"], int)
    assert isinstance(loaded["numpy"], np.ndarray)
    np.testing.assert_array_equal(
        jax.random.key_data(loaded["key"]), jax.random.key_data(tree["key"])
    )
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(tree), strict=True):
        if not jax.dtypes.issubdtype(jnp.result_type(a), jax.dtypes.prng_key):
            np.testing.assert_array_equal(a, b)
            assert jnp.result_type(a) == jnp.result_type(b)


def test_checkpoint_refuses_a_mismatched_template(tmp_path):
    params = _params()
    checkpoint.save(tmp_path / "p.npz", params)
    with pytest.raises(ValueError, match="structure"):
        checkpoint.load(tmp_path / "p.npz", {"loc": params.loc})
    wrong = jr.normal.init(loc=jnp.zeros(2), scale=jnp.ones(2))
    with pytest.raises(ValueError, match="shape"):
        checkpoint.load(tmp_path / "p.npz", wrong)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"batch_size": 4}, "batch_size needs data"),
        ({"data": {"x": jnp.zeros(3)}, "batch_size": 4}, "batch_size must be"),
        ({"data": {"x": jnp.zeros(3), "y": jnp.zeros(2)}}, "leading axis"),
        ({"patience": 2}, "patience needs validation_loss"),
        ({"num_steps": -1}, "num_steps"),
    ],
)
def test_fit_refuses_bad_options(key, options, match):
    defaults = {"num_steps": 1, "loss": lambda k, p: p**2, "optimizer": optax.sgd(0.1)}
    options = defaults | {"progress": False} | options
    with pytest.raises(ValueError, match=match):
        fit(key, 0.0, **options)
