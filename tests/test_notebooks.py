"""Executes every ``notebooks/*.ipynb`` top to bottom.

The default run executes the first notebook at smoke size (``JAXREPARAM_SMOKE=1``
shrinks its experiments); the slow run (CI) executes every notebook at full size,
as a reader runs it in Colab, and reports each one's wall time (the notebooks
are meant to run in under 2 minutes on 2 cores).

Each notebook runs in a fresh kernel started from this interpreter: a kernelspec
with a name of its own, written to a temporary folder put first on
``JUPYTER_PATH``, so that no user- or system-wide kernel is picked up by
accident. Matplotlib draws with the inline backend (figures become outputs, as
in Jupyter; no window opens), and lines that start with ``%`` or ``!``
(installs, shell commands) are replaced by ``pass``.

With ``JAXREPARAM_EXECUTED_NOTEBOOKS`` set to a folder, each notebook executed at
full size is written there under its own name, with its original cell sources
and the outputs, for the documentation build to render (``.ci/run`` sets it to
``build/notebooks``, so that CI executes every notebook at full size once).
"""

import json
import os
import pathlib
import sys
import time

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
KERNEL_NAME = "jaxreparam-test-python"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # ipykernel's default


def _without_magics(source: str) -> str:
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            indent = line[: len(line) - len(stripped)]
            line = f"{indent}pass  # skipped by the test: {stripped}"
        lines.append(line)
    return "\n".join(lines)


def test_without_magics_keeps_blocks_valid():
    source = "try:\n    import x\nexcept ImportError:\n    %pip install x\n!ls"
    compile(_without_magics(source), "<cell>", "exec")


@pytest.fixture(scope="session")
def jupyter_path(tmp_path_factory):
    """A Jupyter data folder with one kernelspec: ipykernel in this interpreter."""
    pytest.importorskip("ipykernel")
    data = tmp_path_factory.mktemp("jupyter")
    spec = data / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    sys.executable,
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "jaxreparam tests",
                "language": "python",
            }
        )
    )
    return data


# The first notebook at smoke size in the default run, every notebook at full size
# in the slow run (CI).
@pytest.mark.parametrize(
    ("path", "smoke"),
    [pytest.param(NOTEBOOKS[0], True, id=f"{NOTEBOOKS[0].name}-smoke")]
    + [pytest.param(p, False, id=p.name, marks=pytest.mark.slow) for p in NOTEBOOKS],
)
def test_notebook_runs(path, smoke, jupyter_path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if smoke:
        monkeypatch.setenv("JAXREPARAM_SMOKE", "1")
    else:
        monkeypatch.delenv("JAXREPARAM_SMOKE", raising=False)
    monkeypatch.setenv("MPLBACKEND", INLINE_BACKEND)
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    notebook = nbformat.read(path, as_version=4)
    sources = [cell.source for cell in notebook.cells]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = _without_magics(cell.source)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=600,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the traceback, on failure
    seconds = time.perf_counter() - start
    print(f"{path.name} ({'smoke' if smoke else 'full'} size): {seconds:.0f} s wall")
    folder = os.environ.get("JAXREPARAM_EXECUTED_NOTEBOOKS")
    if folder and not smoke:
        for cell, source in zip(notebook.cells, sources, strict=True):
            cell.source = source  # the reader sees the cells as written
        pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, pathlib.Path(folder) / path.name)
