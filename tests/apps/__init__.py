"""Tests of the applications (``python -m jaxreparam <app>``)."""

import os
import subprocess
import sys


def help_as_a_command(app: str) -> str:
    """``python -m jaxreparam <app> --help`` in a second interpreter: its output."""
    completed = subprocess.run(
        [sys.executable, "-m", "jaxreparam", app, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "1"},
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout
