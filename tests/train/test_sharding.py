"""Data-parallel fits over a mesh of 8 CPU devices, in subprocesses.

``XLA_FLAGS=--xla_force_host_platform_device_count=N`` must be set before jax is
imported, so the fits run in fresh Python processes (tests/train/_sharded_fit.py).
Tolerances: the sharded fit sums the batch and the draws in another order, so
its gradients differ from the single-device ones by float32 rounding (relative
1e-7 per operation); over 300 adam steps of size <= 0.02 the params may drift
by a few ulps, far below 1e-5, and the losses by a relative 1e-6.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("_sharded_fit.py")
ROOT = Path(__file__).parents[1]


def _environment(devices):
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="module")
def report():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "devices"],
        env=_environment(8), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["full_batch", "minibatch"])
def test_sharded_fit_equals_the_single_device_fit(report, mode):
    assert report["devices"] == 8
    assert report[mode]["max_abs_params"] < 1e-5
    assert report[mode]["max_rel_loss"] < 1e-6


@pytest.mark.parametrize("mode", ["full_batch", "minibatch"])
def test_batch_and_draws_are_really_sharded(report, mode):
    sharded = report[f"{mode}_sharded_seen"]
    for name in ("batch", "draws"):  # seen inside the compiled loss
        (seen,) = sharded[name]
        assert seen == {"spec": "P('data',)", "devices": 8, "replicated": False}
    single = report[f"{mode}_single_seen"]
    assert single["batch"][0]["devices"] == single["draws"][0]["devices"] == 1
    assert report[mode]["params_devices"] == 8
    assert report[mode]["params_replicated"]
    assert report[mode]["single_devices"] == 1


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_joined_by_jax_distributed_fit_as_one_device():
    """jax.distributed.initialize: 2 processes x 4 devices = one mesh of 8."""
    port = _free_port()
    processes = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), "hosts", str(i), str(port)],
            env=_environment(4),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        line = next(s for s in out.splitlines() if s.startswith("REPORT "))
        reports.append(json.loads(line.removeprefix("REPORT ")))
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import _sharded_fit
    finally:
        sys.path.remove(str(SCRIPT.parent))
    params, modes, loss, optimizer, _ = _sharded_fit.problem()
    data, batch_size = modes["minibatch"]
    single = _sharded_fit.run(params, data, batch_size, loss, optimizer, None)
    for report in reports:
        assert report["process_count"] == 2
        assert report["devices"] == 8
        assert report["local_devices"] == 4
        assert report["batch_seen"][0]["devices"] == 8
        assert report["draws_seen"][0]["spec"] == "P('data',)"
        for ours, theirs in zip(
            jax.tree.leaves(single.params), report["params"], strict=True
        ):
            np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-5)
