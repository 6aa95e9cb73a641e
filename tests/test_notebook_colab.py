"""Every notebook opens in Colab: a badge to itself and a cell that installs there.

The repository's address is read from ``[project.urls]`` in pyproject.toml (its
single source): the badge in each notebook's first markdown cell opens that
notebook of that repository in Colab, and the first code cell installs the package
from that repository when (and only when) it runs in Colab. The notebooks are
saved without outputs.
"""

import json
import pathlib
import re
import sys
import tomllib
import types

import pytest

ROOT = pathlib.Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
URLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
REPOSITORY = URLS["Repository"]
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

ids = pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 6


def test_repository_url_is_single_sourced():
    owner_repo = REPOSITORY.removeprefix("https://github.com/")
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", owner_repo), REPOSITORY
    assert URLS["Homepage"] == REPOSITORY
    assert URLS["Issues"] == f"{REPOSITORY}/issues"
    assert URLS["Documentation"].startswith(REPOSITORY)


@ids
def test_badge_opens_this_notebook_in_colab(path):
    first = cells(path)[0]
    assert first["cell_type"] == "markdown"
    owner_repo = REPOSITORY.removeprefix("https://github.com/")
    target = (
        f"https://colab.research.google.com/github/{owner_repo}/blob/main/"
        f"notebooks/{path.name}"
    )
    badges = re.findall(
        r"\[!\[Open In Colab\]\((\S+)\)\]\((\S+)\)", "".join(first["source"])
    )
    assert badges == [(COLAB_BADGE, target)]


class _Recorder:
    """Stands in for IPython: records the line magics a cell runs."""

    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


def _run_install_cell(source, monkeypatch, in_colab):
    """Runs the cell as IPython would (its magics transformed), recording them."""
    transformer = pytest.importorskip("IPython.core.inputtransformer2")
    code = transformer.TransformerManager().transform_cell(source)
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    shell = _Recorder()
    exec(compile(code, "<install cell>", "exec"), {"get_ipython": lambda: shell})
    return shell.magics


@ids
def test_install_cell_installs_from_the_repository_in_colab_only(path, monkeypatch):
    first_code = next(c for c in cells(path) if c["cell_type"] == "code")
    source = "".join(first_code["source"])
    assert _run_install_cell(source, monkeypatch, in_colab=False) == []
    magics = _run_install_cell(source, monkeypatch, in_colab=True)
    assert magics == [("pip", f'install -q "jaxreparam[examples] @ git+{REPOSITORY}"')]


@ids
def test_saved_without_outputs(path):
    for cell in cells(path):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == []
            assert cell["execution_count"] is None
