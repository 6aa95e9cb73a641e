"""Tests of ``python -m jaxreparam bnn``.

The default run checks the command line; one smoke-size run in-process (few
steps, few draws; slow: the job compiles six fits) checks the summary line,
the numbers it reports and the figures it writes, and ``python -m jaxreparam
bnn --help`` runs as a command (slow too).
"""

import contextlib
import importlib.util
import io
import math
import re

import numpy as np
import pytest

from jaxreparam.__main__ import build_parser, main
from jaxreparam.apps import bnn
from tests.apps import help_as_a_command

NUMBER = r"(-?\d+\.\d+)"
SUMMARY = re.compile(
    rf"^bnn: digits test accuracy {NUMBER} NLL {NUMBER} ECE {NUMBER}; "
    rf"diabetes test RMSE {NUMBER} NLL {NUMBER}$"
)
QUICK = [
    "bnn",
    "--steps", "40",
    "--regression-steps", "40",
    "--hidden", "16",
    "--num-samples", "8",
]  # fmt: skip


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["bnn", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--steps",
        "--seed",
        "--output",
        "--no-figures",
        "--reparameterization",
        "--hidden",
    ):
        assert option in text, option


def test_options_parse():
    args = build_parser().parse_args(
        ["bnn", "--hidden", "32", "16", "--reparameterization", "flipout",
         "--out", "here", "--no-figures"]
    )  # fmt: skip
    assert args.hidden == [32, 16]
    assert args.reparameterization == "flipout"
    assert str(args.output) == "here"
    assert not args.figures
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bnn", "--reparameterization", "dropout"])


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One smoke-size run in-process, figures into a temporary folder."""
    folder = tmp_path_factory.mktemp("bnn") / "figures"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = main([*QUICK, "--out", str(folder)])
    return result, printed.getvalue(), folder


@pytest.mark.slow  # six small fits compile: ~20 s on 2 cores; CI runs it
def test_ends_with_the_summary_line(quick):
    result, printed, _ = quick
    last = printed.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, last
    accuracy, nll, ece, rmse, diabetes_nll = (float(x) for x in match.groups())
    digits = result["digits"]
    np.testing.assert_allclose(
        [accuracy, nll, ece, rmse, diabetes_nll],
        [digits["accuracy"], digits["nll"], digits["ece"],
         result["diabetes_rmse"], result["diabetes_nll"]],
        atol=5e-3,
    )  # fmt: skip
    assert 0 <= accuracy <= 1
    assert 0 <= ece <= 1
    # 40 steps already beat chance (accuracy 0.1, NLL log 10) on digits.
    assert accuracy > 0.3
    assert 0 < nll < math.log(10)
    # Diabetes' target has a standard deviation of about 77 in its units.
    assert 0 < rmse < 150
    assert math.isfinite(diabetes_nll)
    assert np.all(np.isfinite(np.asarray(result["toy_std"])))
    # Progress: four lines for each of the four training loops.
    for label in ("digits", "MLP", "diabetes", "toy"):
        lines = re.findall(rf"^\s+{label}\s+\d+\s+loss", printed, re.M)
        assert len(lines) == 4, label


@pytest.mark.slow  # the same run as above
def test_writes_the_figures(quick):
    _, _, folder = quick
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed")
    for name in ("bnn_toy.png", "bnn_reliability.png"):
        assert (folder / name).stat().st_size > 1000, name


@pytest.mark.slow  # a second interpreter importing jax: CI runs it
def test_runs_as_a_command():
    assert "--reparameterization" in help_as_a_command("bnn")


def test_digits_pixels_are_standardized_with_training_statistics():
    data = bnn.digits_data()
    x = np.asarray(data.x_train)
    np.testing.assert_allclose(x.mean(0), 0.0, atol=1e-5)
    std = x.std(0)
    # Pixels that vary by more than one grey level have unit spread; the others
    # (constant or nearly so in the training images) are only centred.
    assert np.all(std <= 1 + 1e-5)
    assert np.sum(np.abs(std - 1) < 1e-4) > 40
