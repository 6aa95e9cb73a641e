"""``python -m jaxreparam vae``: ELBO- and IWAE-trained VAEs on the digits.

The job is run once in-process at smoke size (a few steps, a small ``K``):
its summary line, the numbers behind it and its figures. Whether the IWAE
model beats the ELBO one is a finding of the full-size run, checked by
``tests/vae/test_reproductions.py`` (slow).
"""

import contextlib
import importlib.util
import io
import re

import numpy as np
import pytest

from jaxreparam.__main__ import main
from jaxreparam.apps import vae as app

NUMBER = r"(-?\d+\.\d+)"
SUMMARY = re.compile(
    rf"^vae: test log-likelihood VAE {NUMBER} IWAE {NUMBER} nats; "
    r"active units VAE (\d+) IWAE (\d+)$"
)
LATENT = 3
QUICK = [
    "vae",
    "--steps", "20",
    "--latent-dim", str(LATENT),
    "--hidden", "16",
    "--eval-samples", "40",
    "--batch-size", "50",
]  # fmt: skip


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One smoke-size run in-process, figures into a temporary folder."""
    folder = tmp_path_factory.mktemp("vae") / "figures"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = main([*QUICK, "--out", str(folder)])
    return result, printed.getvalue(), folder


@pytest.mark.slow  # compiling two fits and two evaluations takes ~15 s
def test_ends_with_the_summary_line(quick):
    result, printed, _ = quick
    match = SUMMARY.match(printed.strip().splitlines()[-1])
    assert match, printed.strip().splitlines()[-1]
    ll_vae, ll_iwae, units_vae, units_iwae = match.groups()
    models = result["models"]
    np.testing.assert_allclose(
        [float(ll_vae), float(ll_iwae)],
        [models["vae"]["log_likelihood"], models["iwae"]["log_likelihood"]],
        atol=5e-4,
    )
    assert [int(units_vae), int(units_iwae)] == [
        models["vae"]["active_units"],
        models["iwae"]["active_units"],
    ]
    for model in models.values():
        # Discrete data: every probability is at most 1, so log p(x) <= 0, and
        # the estimate (a log of a mean of p(x, z) / q(z | x)) is finite.
        assert np.all(np.isfinite(model["per_digit"]))
        assert np.all(model["per_digit"] < 0)
        assert 0 <= model["active_units"] <= LATENT
        assert model["variance"].shape == (LATENT,)
        assert model["history"]["loss"].shape == (20,)
    # Progress: five lines per model (every 20 // 5 steps).
    assert len(re.findall(r"^\s+VAE\s+step\s+\d+\s+loss", printed, re.M)) == 5
    assert len(re.findall(r"^\s+IWAE\s+step\s+\d+\s+loss", printed, re.M)) == 5


@pytest.mark.slow  # the same run as above
def test_writes_the_figures(quick):
    _, _, folder = quick
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed")
    for name in ("vae_samples.png", "vae_reconstructions.png", "vae_latent.png"):
        assert (folder / name).stat().st_size > 1000, name


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["vae", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--steps", "--latent-dim", "--objective", "--likelihood", "--seed",
        "--out", "--no-figures", "--eval-samples",
    ):  # fmt: skip
        assert option in out, option


def test_latent_projection_is_the_principal_plane():
    """PCA of the means: the two top directions, centred, in numpy."""
    rng = np.random.default_rng(0)
    # Points spread along e1 (sd 5) and e2 (sd 2), with little spread along e3.
    means = rng.normal(size=(500, 3)) * np.array([5.0, 2.0, 0.1]) + 7.0
    points, how = app.latent_projection(means)
    assert "principal" in how
    assert points.shape == (500, 2)
    np.testing.assert_allclose(points.mean(0), 0.0, atol=1e-10)
    # Projections on the top two axes keep the first two coordinates' spread.
    np.testing.assert_allclose(
        np.abs(np.corrcoef(points[:, 0], means[:, 0])[0, 1]), 1.0, atol=1e-3
    )
    np.testing.assert_allclose(
        np.abs(np.corrcoef(points[:, 1], means[:, 1])[0, 1]), 1.0, atol=1e-2
    )
    two = rng.normal(size=(10, 2))
    same, how = app.latent_projection(two)
    np.testing.assert_array_equal(same, two)
    assert "principal" not in how


def test_summary_marks_a_model_left_out():
    results = {"models": {"iwae": {"log_likelihood": -80.1234, "active_units": 7}}}
    assert app.summary(results) == (
        "vae: test log-likelihood VAE n/a IWAE -80.123 nats; active units VAE n/a "
        "IWAE 7"
    )
