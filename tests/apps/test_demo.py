"""Tests of ``python -m jaxreparam`` (the Gaussian demo): in-process, as a command."""

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreparam as jr
from jaxreparam.__main__ import main
from jaxreparam.apps import gaussian

ROW = re.compile(r"^\s+(start|fitted)\s+(loc|log_scale|all)\s+(.*)$", re.M)
PROGRESS_ROW = re.compile(r"^\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)$", re.M)


def _table(printed, title):
    """``{(where, leaf): [numbers]}`` of the table printed under ``title``."""
    section = printed.split(title, 1)[1].split("\n\n", 1)[0]
    return {
        (where, leaf): [float(x) for x in numbers.split()]
        for where, leaf, numbers in ROW.findall(section)
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One short in-process run: its results, printed output and figure folder."""
    folder = tmp_path_factory.mktemp("figures")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = main(
            ["--steps", "150", "--variance-draws", "400", "--output", str(folder)]
        )
    return result, printed.getvalue(), folder


def test_fit_moves_toward_the_exact_answer(demo):
    result, _, _ = demo
    for name in ("loc", "scale"):
        before = np.abs(result[f"initial_{name}"] - result[f"exact_{name}"])
        after = np.abs(result[name] - result[f"exact_{name}"])
        assert after.max() < 0.5 * before.max(), name
    assert np.all(np.isfinite(result["losses"]))
    assert result["losses"].shape == (150,)
    # The loss decreased: the last tenth of the steps beats the first tenth.
    assert result["losses"][-15:].mean() < result["losses"][:15].mean()


def test_the_fit_is_jr_fit_on_the_library_elbo(demo):
    """The demo's params are those of jr.fit on objectives.make_elbo_loss, bitwise."""
    result, _, _ = demo
    mean, covariance = gaussian.target()
    precision = jnp.linalg.inv(covariance)
    loss = jr.objectives.make_elbo_loss(
        jr.normal,
        lambda z: -0.5 * (z - mean) @ precision @ (z - mean),
        num_samples=8,
        estimator=jr.estimators.pathwise,
        entropy="analytic",
    )
    fit_key = jax.random.split(jax.random.key(0), 3)[0]
    expected = jr.fit(
        fit_key,
        jr.normal.init(loc=jnp.zeros(4), scale=jnp.ones(4)),
        loss=loss,
        optimizer=optax.adam(optax.cosine_decay_schedule(0.1, 150, alpha=0.01)),
        num_steps=150,
        progress=False,
    )  # no callback: one compiled chunk
    natural = jr.normal.to_natural(expected.params)
    np.testing.assert_array_equal(result["loc"], natural["loc"])
    np.testing.assert_array_equal(result["scale"], natural["scale"])
    np.testing.assert_array_equal(result["losses"], expected.history["loss"])


def test_the_callback_prints_and_records_progress(demo):
    result, printed, _ = demo
    history = result["history"]
    steps = list(range(15, 151, 15))  # a tenth of --steps
    assert history["callback_step"].tolist() == steps
    rows = PROGRESS_ROW.findall(printed.split("Fitted vs exact")[0])
    assert [int(step) for step, *_ in rows] == steps
    for i, (_, loss, loc_error, scale_error) in enumerate(rows):
        recent = result["losses"][15 * i : 15 * (i + 1)].mean()
        np.testing.assert_allclose(float(loss), recent, atol=1e-4)
        np.testing.assert_allclose(float(loc_error), history["loc_error"][i], atol=1e-4)
        np.testing.assert_allclose(
            float(scale_error), history["scale_error"][i], atol=1e-4
        )
    final = np.abs(result["loc"] - result["exact_loc"]).max()
    np.testing.assert_allclose(history["loc_error"][-1], final, rtol=1e-6)
    assert history["loc_error"][-1] < 0.5 * history["loc_error"][0]


def test_prints_the_diagnostics_as_numbers(demo):
    result, printed, _ = demo
    variance = _table(printed, "Gradient variance")
    snr = _table(printed, "signal-to-noise")
    expected_rows = {
        (where, leaf)
        for where in ("start", "fitted")
        for leaf in ("loc", "log_scale", "all")
    }
    assert set(variance) == set(snr) == expected_rows
    names = ("pathwise", "score function", "control variate")
    for (where, leaf), (*values, ratio) in variance.items():
        by_name = result["variance"][where]
        for name, value in zip(names, values, strict=True):
            np.testing.assert_allclose(value, by_name[name][leaf], rtol=1e-3)
            assert value > 0
        np.testing.assert_allclose(ratio, values[1] / values[0], rtol=1e-2)
    for (where, leaf), values in snr.items():
        for name, value in zip(names, values, strict=True):
            np.testing.assert_allclose(
                value, result["snr"][where][name][leaf], rtol=1e-3
            )
    # The tables are jr.diagnostics' statistics, averaged per leaf.
    statistics = result["statistics"]["start"]["score function"]
    assert statistics.num_keys == 400
    np.testing.assert_allclose(
        result["variance"]["start"]["score function"]["loc"],
        np.mean(statistics.variance.loc),
        rtol=1e-6,
    )
    # On this problem the score function is far noisier (about 35x at the start).
    start = result["variance"]["start"]
    assert start["score function"]["all"] > 5 * start["pathwise"]["all"]
    # The Taylor control variate removes the linear part of log_target, most of
    # the score function's noise at the start (about 5x less there).
    assert start["control variate"]["all"] < 0.5 * start["score function"]["all"]
    # And the pathwise gradient's signal stands out of its noise (SNR ~ 2.6
    # against ~ 0.3 for the score function at the start).
    start_snr = result["snr"]["start"]
    assert start_snr["pathwise"]["all"] > 3 * start_snr["score function"]["all"]


def test_prints_fitted_values_beside_the_exact_answer(demo):
    result, printed, _ = demo
    assert "Fitted vs exact" in printed
    for i in range(4):
        assert f"{result['exact_scale'][i]:8.4f}" in printed


@pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib"
)
def test_writes_a_figure(demo):
    _, _, folder = demo
    figure = folder / "gaussian.png"
    assert figure.exists()
    assert figure.stat().st_size > 1000


def test_help_lists_the_applications(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "gaussian" in capsys.readouterr().out


@pytest.mark.slow  # run by CI after the default run
def test_runs_as_a_command():
    env = {**os.environ, "CI": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "jaxreparam", "gaussian", "--steps", "50"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Fitted vs exact" in completed.stdout
    assert len(_table(completed.stdout, "Gradient variance")) == 6
    assert "Done in" in completed.stdout
