"""Tests of ``python -m jaxreparam`` (the Gaussian demo): in-process, as a command."""

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from jaxreparam.__main__ import main

VARIANCE_ROW = re.compile(
    r"^\s+(start|fitted)\s+(loc|log_scale|all)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$",
    re.M,
)


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


def test_prints_the_variance_report_as_numbers(demo):
    result, printed, _ = demo
    assert "Gradient variance" in printed
    assert "pathwise" in printed
    assert "score function" in printed
    assert "control variate" in printed
    rows = VARIANCE_ROW.findall(printed)
    assert {(where, leaf) for where, leaf, *_ in rows} == {
        (where, leaf)
        for where in ("start", "fitted")
        for leaf in ("loc", "log_scale", "all")
    }
    for where, leaf, path, score, control, ratio in rows:
        by_name = result["variance"][where]
        np.testing.assert_allclose(float(path), by_name["pathwise"][leaf], rtol=1e-3)
        np.testing.assert_allclose(
            float(score), by_name["score function"][leaf], rtol=1e-3
        )
        np.testing.assert_allclose(
            float(control), by_name["control variate"][leaf], rtol=1e-3
        )
        assert float(path) > 0
        assert float(score) > 0
        np.testing.assert_allclose(float(ratio), float(score) / float(path), rtol=1e-2)
    # On this problem the score function is far noisier (about 40x at the start).
    start = result["variance"]["start"]
    assert start["score function"]["all"] > 5 * start["pathwise"]["all"]
    # The Taylor control variate removes the linear part of log_target, most of
    # the score function's noise at the start (about 5x less there).
    assert start["control variate"]["all"] < 0.5 * start["score function"]["all"]


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
        [sys.executable, "-m", "jaxreparam", "--steps", "50"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Fitted vs exact" in completed.stdout
    assert len(VARIANCE_ROW.findall(completed.stdout)) == 6
