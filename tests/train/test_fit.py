"""Tests of ``jr.fit`` and ``jr.make_step`` (jaxreparam.train) and ``jr.checkpoint``."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreparam as jr
from jaxreparam import checkpoint
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

    expected = jr.estimators.pathwise(
        key, params, family=jr.normal, f=log_joint, num_samples=4
    )
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
    data = _data()

    def counting_loss(traces):
        def loss(key, params, batch):
            traces.append(None)  # runs when jax traces the loss, not when it runs
            return _loss(key, params, batch)

        return loss

    def run(loss, num_steps=50, **options):
        return fit(
            key, _params(), data, loss=loss, optimizer=OPTIMIZER,
            num_steps=num_steps, batch_size=20, progress=False, **options,
        )  # fmt: skip

    # Counted in traces of the loss, not in jit's cache entries: whether a call
    # fills that cache depends on jit's fast path (0 entries in one CI run).
    one_chunk = []
    run(counting_loss(one_chunk), num_steps=10, chunk_size=8)  # 2 chunks, masked
    traces = []
    loss = counting_loss(traces)
    chunked = run(loss, chunk_size=8)  # 7 chunks, the last one masked
    assert len(traces) == len(one_chunk)  # one compilation for the 7 chunks
    traced = len(traces)
    run(loss, chunk_size=8)
    assert len(traces) == traced  # a second fit (a resumed one, say) reuses it
    whole = run(loss)
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


def _descent(key, **options):
    """Descent from 0 towards 3 validated against 1: the validation loss turns."""
    return fit(
        key, jnp.float32(0.0), loss=lambda key, p: (p - 3.0) ** 2,
        optimizer=optax.sgd(0.01), num_steps=1000, chunk_size=5,
        validation_loss=lambda p: (p - 1.0) ** 2, progress=False, **options,
    )  # fmt: skip


def test_early_stopping_returns_the_best_params(key):
    """Stops 3 evaluations past the best, at ~1; with return_best, returns it."""
    result = _descent(key, patience=3, return_best=True)
    steps, values = result.history["validation_step"], result.history["validation_loss"]
    best = int(np.argmin(values))
    assert result.step == steps[best] < 1000
    assert len(values) == best + 4  # three evaluations without improvement
    assert len(result.history["loss"]) == steps[-1]  # stopped there
    np.testing.assert_allclose((result.params - 1.0) ** 2, values[best], rtol=1e-6)
    assert values[best - 1] > values[best]
    assert values[best + 1] > values[best]


@pytest.mark.parametrize("patience", [None, 3])
@pytest.mark.parametrize("return_best", [False, True])
def test_return_best_is_its_own_option(key, patience, return_best):
    """Validation alone records; patience stops; return_best picks the params."""
    result = _descent(key, patience=patience, return_best=return_best)
    steps, values = result.history["validation_step"], result.history["validation_loss"]
    best = int(np.argmin(values))
    assert 0 < best < len(values) - 3  # the validation loss really turned
    last = steps[-1] if patience else 1000
    assert len(result.history["loss"]) == last
    if patience is not None:
        assert len(values) == best + 4
    else:
        assert steps.tolist() == list(range(0, 1001, 5))  # every chunk, to the end
    step = steps[best] if return_best else last
    assert result.step == step
    # The params are those of an uninterrupted fit of `step` steps, bit for bit.
    plain = fit(
        key, jnp.float32(0.0), loss=lambda key, p: (p - 3.0) ** 2,
        optimizer=optax.sgd(0.01), num_steps=int(step), chunk_size=5, progress=False,
    )  # fmt: skip
    np.testing.assert_array_equal(result.params, plain.params)
    np.testing.assert_allclose(
        (result.params - 1.0) ** 2, values[list(steps).index(step)]
    )


def _callback_fit(key, **options):
    """Most of these fits reuse one compiled chunk: 5 steps, masked."""
    defaults = {"loss": _loss, "optimizer": OPTIMIZER, "batch_size": 20}
    defaults |= {"chunk_size": 5}
    return fit(key, _params(), _data(), progress=False, **(defaults | options))


def test_callback_every_n_steps_changes_nothing_and_is_recorded(key):
    calls = []

    def callback(step, params, metrics):
        calls.append((step, params, metrics))
        mean = jnp.mean(params.loc)  # a device computation, as an evaluation is
        return {"mean_loc": mean, "recent": metrics["loss"].mean(), "pair": [1, step]}

    # Chunks of 5 steps, also cut at 7, 14, 21, 28: against one chunk of 30.
    result = _callback_fit(key, num_steps=30, callback=callback, callback_every=7)
    whole = _callback_fit(key, num_steps=30, chunk_size=None)
    for a, b in zip(
        jax.tree.leaves((result.params, result.opt_state)),
        jax.tree.leaves((whole.params, whole.opt_state)),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)  # bit-identical
    for name in ("loss", "index", "min_scale"):
        np.testing.assert_array_equal(result.history[name], whole.history[name])
    assert result.step == 30
    assert [step for step, _, _ in calls] == [7, 14, 21, 28]
    for i, (_, _, metrics) in enumerate(calls):
        assert set(metrics) == {"loss", "index", "min_scale"}
        np.testing.assert_array_equal(
            metrics["loss"], result.history["loss"][7 * i : 7 * (i + 1)]
        )
        assert metrics["index"].shape == (7, 20)
    # The params passed at step 14 are those of a 14-step fit.
    at_14 = _callback_fit(key, num_steps=14)
    for a, b in zip(jax.tree.leaves(calls[1][1]), jax.tree.leaves(at_14.params),
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    history = result.history
    np.testing.assert_array_equal(history["callback_step"], [7, 14, 21, 28])
    np.testing.assert_array_equal(history["pair"], [[1, 7], [1, 14], [1, 21], [1, 28]])
    np.testing.assert_allclose(
        history["recent"], result.history["loss"][:28].reshape(4, 7).mean(axis=1)
    )
    np.testing.assert_array_equal(
        history["mean_loc"], [np.mean(p.loc) for _, p, _ in calls]
    )
    assert len(history["loss"]) == 30


def test_callback_steps_are_counted_from_the_first_fit(key):
    """Resumed at step 11 with callback_every=7: called at 14, 21 and 28."""
    steps, sizes = [], []

    def callback(step, params, metrics):
        steps.append(step)
        sizes.append(len(metrics["loss"]))

    first = _callback_fit(key, num_steps=11)
    result = fit(
        key, first.params, _data(), loss=_loss, optimizer=OPTIMIZER, batch_size=20,
        num_steps=19, opt_state=first.opt_state, start_step=11, callback=callback,
        callback_every=7, chunk_size=5, progress=False,
    )  # fmt: skip
    assert steps == [14, 21, 28]
    assert sizes == [3, 7, 7]  # the steps since the resumed fit's start
    whole = _callback_fit(key, num_steps=30, chunk_size=None)
    for a, b in zip(jax.tree.leaves(result.params), jax.tree.leaves(whole.params),
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    assert result.history["callback_step"].tolist() == [14, 21, 28]


def test_callback_leaves_validation_where_it_was(key):
    options = {"validation_loss": lambda p: jnp.sum(p.loc**2), "num_steps": 22}
    plain = _callback_fit(key, **options)
    called = _callback_fit(key, callback=lambda *_: None, callback_every=7, **options)
    for name in ("validation_step", "validation_loss", "loss"):
        np.testing.assert_array_equal(called.history[name], plain.history[name])
    assert plain.history["validation_step"].tolist() == [0, 5, 10, 15, 20, 22]
    assert called.history["callback_step"].tolist() == [7, 14, 21]


@pytest.mark.parametrize(
    ("returned", "error", "match"),
    [
        (1.0, TypeError, "callback must return None or a dict"),
        ({"loss": 1.0}, ValueError, "clash"),
        ({"min_scale": 1.0}, ValueError, "clash"),
        ({"callback_step": 1.0}, ValueError, "clash"),
    ],
)
def test_callback_refuses_bad_metrics(key, returned, error, match):
    with pytest.raises(error, match=match):
        _callback_fit(key, num_steps=14, callback=lambda *_: returned, callback_every=7)


def test_callback_metrics_keep_their_names_and_shapes(key):
    names = iter([{"a": 1.0}, {"b": 1.0}])
    with pytest.raises(ValueError, match="same names"):
        _callback_fit(
            key, num_steps=14, callback=lambda *_: next(names), callback_every=7
        )
    shapes = iter([{"a": 1.0}, {"a": [1.0, 2.0]}])
    with pytest.raises(ValueError, match="changed shape"):
        _callback_fit(
            key, num_steps=14, callback=lambda *_: next(shapes), callback_every=7
        )


def test_fit_says_which_loss_signatures_it_expects(key):
    options = {"optimizer": optax.sgd(0.1), "num_steps": 1, "progress": False}
    data = {"x": jnp.ones(4)}
    with pytest.raises(TypeError, match=r"loss\(key, params, batch\) with data"):
        fit(key, 0.0, data, loss=lambda key, params: params**2, **options)
    with pytest.raises(TypeError, match=r"loss\(key, params\) without data"):
        fit(key, 0.0, loss=lambda key, params, batch: params**2, **options)
    with pytest.raises(TypeError, match=r"signature is \(key\)"):
        fit(key, 0.0, loss=lambda key: 0.0, **options)
    with pytest.raises(TypeError, match="loss must be callable"):
        fit(key, 0.0, loss=2.0, **options)
    with pytest.raises(TypeError, match="GradientTransformation"):
        fit(key, 0.0, loss=lambda k, p: p**2, optimizer=optax.sgd, num_steps=1)
    step = make_step(lambda key, params: params**2, optax.sgd(0.1))
    with pytest.raises(TypeError, match=r"make_step: .*loss\(key, params, batch\)"):
        step(key, 1.0, optax.sgd(0.1).init(1.0), data)

    def either(key, params, batch=None):  # takes both: fits with and without data
        return (params - (0.0 if batch is None else jnp.mean(batch["x"]))) ** 2

    with_data = fit(jax.random.clone(key), 0.0, data, loss=either, **options)
    without = fit(jax.random.clone(key), 0.0, loss=either, **options)
    assert float(with_data.params) > 0.0 == float(without.params)


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
        ({"return_best": True}, "return_best=True needs validation_loss"),
        ({"num_steps": -1}, "num_steps"),
        ({"chunk_size": 0}, "chunk_size must be >= 1"),
        ({"start_step": -3}, "start_step must be >= 0"),
        ({"callback": print}, "callback needs callback_every"),
        ({"callback_every": 5}, "callback_every=5 needs a callback"),
        ({"callback": print, "callback_every": 0}, "callback_every must be >= 1"),
    ],
)
def test_fit_refuses_bad_options(key, options, match):
    defaults = {"num_steps": 1, "loss": lambda k, p: p**2, "optimizer": optax.sgd(0.1)}
    options = defaults | {"progress": False} | options
    with pytest.raises(ValueError, match=match):
        fit(key, 0.0, **options)


def test_a_loss_that_declares_step_gets_the_step_number_and_resume_continues(key):
    """fit passes ``step`` (counted from the first fit) to a loss declaring it."""

    def loss(key, params, *, step):
        return (params - 1.0) ** 2, {"step": step}

    first = fit(key, 0.0, loss=loss, optimizer=OPTIMIZER, num_steps=3)
    resumed = fit(
        key,
        first.params,
        loss=loss,
        optimizer=OPTIMIZER,
        num_steps=2,
        opt_state=first.opt_state,
        start_step=first.step,
    )
    assert first.history["step"].tolist() == [0, 1, 2]
    assert resumed.history["step"].tolist() == [3, 4]
    assert resumed.history["step"].dtype == np.int32


def test_make_step_refuses_a_step_loss_without_the_count(key):
    step = make_step(lambda key, params, step: params * step, OPTIMIZER)
    with pytest.raises(TypeError, match="count=t"):
        step(key, 1.0, OPTIMIZER.init(1.0))
    params, _, metrics = step(key, 1.0, OPTIMIZER.init(1.0), count=3)
    assert float(metrics["loss"]) == 3.0
