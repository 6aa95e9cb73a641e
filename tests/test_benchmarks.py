"""The benchmark suite runs, checks what it times, and writes its results.

The quick mode's smallest rows of two workloads run in-process with few repeats;
the harness's checks are shown to reject a wrong gradient, exactly and within
Monte Carlo error, and to accept a right one.
"""

import json
import re

import jax
import jax.numpy as jnp
import pytest

from benchmarks import harness, run
from benchmarks.harness import Contender, Row, Settings

FAST = Settings(
    repeats=2, round_budget=0.0, compile_repeats=1, min_sample=0.0005, mc_keys=16
)


@pytest.fixture
def reused_keys():
    """A benchmark calls one function with one key many times, on purpose."""
    jax.config.update("jax_debug_key_reuse", False)
    try:
        yield
    finally:
        jax.config.update("jax_debug_key_reuse", True)


@pytest.mark.slow  # run by CI after the default run
def test_quick_smallest_rows_run_and_write_json(tmp_path, reused_keys):
    lines = []
    result = run.run(
        "quick",
        only=["normal pathwise", "gumbel"],
        smallest=True,
        settings=FAST,
        out=tmp_path,
        echo=lines.append,
    )
    assert not result["failed"]
    assert "OPENBLAS_NUM_THREADS=1" in lines[0]
    saved = json.loads((tmp_path / "quick.json").read_text())
    assert [r["workload"] for r in saved["rows"]] == [
        "normal pathwise gradient",
        "gumbel-softmax gradient",
    ]
    for row in saved["rows"]:
        assert all(check["passed"] for check in row["checks"].values())
        assert {"jaxreparam", "hand-written", "tfp", "floor"} <= set(row["times"])
        for t in row["times"].values():
            assert min(t["time"], t["wall"], t["compile_wall"]) > 0
            assert t["samples"] == FAST.repeats
        assert set(row["goals"]) >= {"hand_written", "fastest_peer", "compile"}
    normal = saved["rows"][0]
    assert normal["checks"]["numpyro"]["kind"] == "exact"
    # jaxreparam draws the noise flat at D = 10 (a program of its own), and the
    # same numbers as hand-written's: its check is exact.
    assert normal["checks"]["jaxreparam"]["kind"] == "exact"
    table = (tmp_path / "quick.md").read_text()
    assert table.startswith("| workload | size | hand-written time | jaxreparam")
    assert "normal pathwise gradient | S=10 D=10" in table


def _row(*contenders):
    loc = jnp.linspace(-1.0, 1.0, 50)

    def hand_written(key, loc):
        return jax.grad(
            lambda m: jnp.mean(jnp.sin(m + jax.random.normal(key, m.shape)))
        )(loc)

    return Row(
        workload="test",
        size="50",
        elements=50,
        args=(jax.random.key(0), loc),
        contenders=[Contender("hand-written", hand_written), *contenders],
    )


def _shifted_noise(bias):
    def grad(key, loc):
        noise = jax.random.normal(jax.random.fold_in(key, 1), loc.shape)
        return jax.grad(lambda m: jnp.mean(jnp.sin(m + noise)))(loc) + bias

    return grad


def test_checks_reject_wrong_gradients_and_accept_right_ones(reused_keys):
    def scaled(key, loc):
        g = jax.grad(lambda m: jnp.mean(jnp.sin(m + jax.random.normal(key, m.shape))))
        return g(loc) * (1 + 10 * harness.EXACT_RTOL)

    checks = harness.check_row(
        _row(
            Contender("exact, wrong", scaled),
            # Different draws, same expectation: E cos(m + eps) / 50.
            Contender("monte carlo, right", _shifted_noise(0.0), same_noise=False),
            # Off by about 10 standard errors of a 16-key mean in one component.
            Contender(
                "monte carlo, wrong",
                _shifted_noise(jnp.zeros(50).at[7].set(0.04)),
                same_noise=False,
            ),
        ),
        FAST,
    )
    assert checks["exact, wrong"]["kind"] == "exact"
    assert not checks["exact, wrong"]["passed"]
    assert checks["monte carlo, right"]["passed"], checks["monte carlo, right"]
    assert not checks["monte carlo, wrong"]["passed"]


def test_fused_multivariate_normal_has_no_triangular_solve():
    # The 0.6x of the fused path at 500 dimensions is the solve it leaves out.
    from benchmarks import multivariate_normal as mvn

    row = mvn.make(20)
    calls = {
        c.name: re.findall(
            r'custom_call_target="(\w+)"',
            jax.jit(c.fn).lower(*row.args).compile().as_text(),
        )
        for c in row.contenders
        if c.name in ("jaxreparam", mvn.SEPARATE)
    }
    assert any("trsm" in target for target in calls[mvn.SEPARATE])
    assert not any("trsm" in target for target in calls["jaxreparam"])


TINY_BNN = (12, 8, 8, 3)


@pytest.mark.parametrize(
    "estimator",
    [
        # the headline row's reference; slow as the rest: CI's quick benchmark run
        # checks the same equality
        pytest.param("local", marks=pytest.mark.slow),
        pytest.param("flipout", marks=pytest.mark.slow),
        pytest.param("weight", marks=pytest.mark.slow),
    ],
)
def test_bnn_hand_written_loss_and_gradient_equal_the_library(estimator, reused_keys):
    # The benchmark's reference draws its noise as jr.nn does from the same key.
    import jaxreparam as jr
    from benchmarks import bnn

    params = jr.nn.bayesian_mlp(TINY_BNN).init(jax.random.key(0))
    params = params._replace(
        log_scale=jax.tree.map(lambda s: s + 2.0, params.log_scale)
    )
    x, y = bnn._data(jax.random.key(1), TINY_BNN, batch=16)
    net = jr.nn.bayesian_mlp(TINY_BNN, reparameterization=estimator)
    library = jr.nn.make_bnn_loss(
        net.apply, bnn._log_likelihood, jr.nn.normal_prior(), num_data=bnn.NUM_DATA
    )
    key = jax.random.key(2)
    value, grad = jax.jit(
        jax.value_and_grad(lambda k, p: library(k, p, (x, y))[0], argnums=1)
    )(key, params)
    hand_value, hand_grad = jax.jit(
        jax.value_and_grad(lambda k, p: bnn.hand_loss(estimator)(k, p, x, y), 1)
    )(key, params)
    assert jnp.allclose(value, hand_value, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(grad), jax.tree.leaves(hand_grad), strict=True):
        assert jnp.allclose(a, b, rtol=1e-5, atol=1e-7 * jnp.max(jnp.abs(b)))
    # The noise matters: another key gives another loss.
    other = library(jax.random.key(3), params, (x, y))[0]
    assert not jnp.allclose(other, value, rtol=1e-6)


@pytest.mark.slow
def test_bnn_rows_pass_their_checks_at_a_small_size(reused_keys):
    from benchmarks import bnn

    local = bnn.make_step_row("local", sizes=TINY_BNN, peers=("numpyro",))
    checks = harness.check_row(local, FAST)
    assert all(c["passed"] for c in checks.values()), checks
    assert checks["numpyro"]["kind"] == checks["jaxreparam (flipout)"]["kind"]
    assert checks["jaxreparam"]["kind"] == "exact"
    for estimator in ("flipout", "weight"):
        row = bnn.make_step_row(estimator, sizes=TINY_BNN, peers=())
        checks = harness.check_row(row, FAST)
        assert checks["jaxreparam"]["kind"] == "exact"
        assert checks["jaxreparam"]["passed"], checks
    predict = bnn.make_predict_row((12, 16, 3), 200, [(10, None), (5, 50)])
    checks = harness.check_row(predict, FAST)
    assert all(c["passed"] and c["kind"] != "monte carlo" for c in checks.values())
    # Chunked over draws, the program holds 10 draws' activations, not 100.
    all_at_once = bnn.memory(predict.contender("hand-written").fn, predict.args)
    chunked = bnn.memory(predict.contender("jaxreparam").fn, predict.args)
    assert chunked < all_at_once / 4


@pytest.mark.slow  # about 17 s of CPU, mostly compiling six programs
def test_vae_model_log_likelihood_contenders_agree_and_chunks_save_memory(
    reused_keys,
):
    from benchmarks import vae_model

    row = vae_model.make_log_likelihood_row(4, 60, 7, batch_size=2)
    checks = harness.check_row(row, FAST)
    assert all(c["passed"] for c in checks.values()), checks
    chunked = vae_model.memory(row.contender("jaxreparam").fn, row.args)
    unchunked = vae_model.memory(row.contender("jaxreparam (unchunked)").fn, row.args)
    assert chunked < unchunked


@pytest.mark.slow
@pytest.mark.parametrize(("objective", "k"), [("elbo", 1), ("iwae", 5)])
def test_vae_model_step_contenders_agree(objective, k, reused_keys):
    from benchmarks import vae_model

    row = vae_model.make_step_row("digits 64-200-8", objective, k)
    checks = harness.check_row(row, FAST)
    assert all(c["passed"] for c in checks.values()), checks
    assert checks["jaxreparam"]["kind"] == "exact"
    assert checks["numpyro"]["kind"] == "monte carlo"
