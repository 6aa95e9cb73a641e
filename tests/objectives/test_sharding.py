"""The objectives' Monte Carlo draws are split across the devices of a mesh.

``XLA_FLAGS=--xla_force_host_platform_device_count=N`` must be set before jax is
imported, so the objectives run in a fresh Python process
(tests/objectives/_sharded_objectives.py) on 4 CPU devices. Under
``jax.set_mesh`` each objective's draws must reach ``log_target`` split over the
4 devices (along the draws' axis, or the ``K`` axis of one IWAE estimate when
there is one estimate), and the value and gradient must be those computed
without a mesh but for the order of the sums: float32 rounding, relative 1e-7
per operation, far below 1e-5 of the largest entry.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Runs subprocesses with several devices (about 30 s): in the slow run, as CI does.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).with_name("_sharded_objectives.py")
ROOT = Path(__file__).parents[2]
CASES = [
    "elbo",
    "elbo_stl",
    "elbo_score_function",
    "elbo_analytic_entropy",
    "elbo_prior",
    "iwae",
    "iwae_estimates",
    "iwae_dreg",
    "iwae_score_function",
    "renyi",
]


@pytest.fixture(scope="module")
def report():
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", CASES)
def test_draws_are_split_across_the_mesh_and_the_result_is_unchanged(report, case):
    assert report["devices"] == 4
    result = report[case]
    assert result["max_rel"] < 1e-5
    assert result["single_seen"]
    for seen in result["single_seen"]:
        assert seen["devices"] == 1
    assert result["sharded_seen"]
    for seen in result["sharded_seen"]:
        assert seen["devices"] == 4
        assert not seen["replicated"]
        assert "'data'" in seen["spec"]


def test_amortized_loss_splits_the_data_and_keeps_each_points_draws(report):
    result = report["amortized_iwae"]
    assert result["max_rel"] < 1e-5
    for seen in result["single_seen"]:
        assert seen["devices"] == 1
    (seen,) = result["sharded_seen"]  # (data, draws, D) as the vmap sees it
    assert seen == {"spec": "P('data',)", "devices": 4, "replicated": False}
