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
