"""The package as released: the version, ``py.typed``, the wheel and the sdist.

The slow tests build the wheel and the sdist with ``python -m build`` (in its
isolated build environment), check what each contains, install the wheel into a
fresh virtual environment (no system site packages; pip takes jax and the other
dependencies from the package index) and run the README's quick start against it
from a folder outside the repository. The quick start is read out of README.md, so
the README and this test cannot drift apart.
"""

import importlib.metadata
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import zipfile

import pytest

import jaxreparam as jr

ROOT = pathlib.Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def quick_start_code() -> str:
    """The first python code block under the README's "## Quick start" heading."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Quick start$(.*?)(?=^## )", readme, re.M | re.S)
    assert section, "README.md has no '## Quick start' section"
    block = re.search(r"^```python\n(.*?)^```$", section.group(1), re.M | re.S)
    assert block, "the README's quick start has no ```python block"
    return block.group(1)


def test_quick_start_is_found():
    code = quick_start_code()
    assert "import jaxreparam as jr" in code
    compile(code, "README.md", "exec")


def test_version_is_single_sourced():
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    source = PYPROJECT["tool"]["hatch"]["version"]["path"]
    assert source == "jaxreparam/__init__.py"
    lines = re.findall(r"^__version__ = .*$", (ROOT / source).read_text(), re.M)
    assert lines == [f'__version__ = "{jr.__version__}"']
    # A public (PEP 440) release number, as an index accepts it.
    assert re.fullmatch(
        r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", jr.__version__
    )


def test_py_typed_is_in_the_package():
    assert (pathlib.Path(jr.__file__).parent / "py.typed").is_file()


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The sdist and the wheel that ``python -m build`` makes (wheel from sdist)."""
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = out.glob("jaxreparam-*.whl")
    (sdist,) = out.glob("jaxreparam-*.tar.gz")
    return wheel, sdist


def _tracked(prefix: str) -> set[str]:
    """The files git tracks under ``prefix`` (paths relative to the repository)."""
    listed = subprocess.run(
        ["git", "ls-files", prefix], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return {line for line in listed.stdout.splitlines() if line}


@pytest.mark.slow  # builds the sdist and the wheel (a few seconds, an isolated env)
def test_wheel_contents(dist):
    wheel, _ = dist
    version = jr.__version__
    assert wheel.name == f"jaxreparam-{version}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {n for n in names if not n.startswith(f"jaxreparam-{version}.dist-info/")}
    assert _tracked("jaxreparam") <= package
    assert "jaxreparam/py.typed" in package
    for name in package:
        assert name.startswith("jaxreparam/"), name
        assert "__pycache__" not in name, name
        assert not name.endswith(".pyc"), name
    metadata = zipfile.ZipFile(wheel).read(f"jaxreparam-{version}.dist-info/METADATA")
    metadata = metadata.decode()
    assert f"\nVersion: {version}\n" in metadata
    assert f"jaxreparam-{version}.dist-info/licenses/LICENSE" in names
    for name, url in PYPROJECT["project"]["urls"].items():
        assert f"\nProject-URL: {name}, {url}\n" in metadata


@pytest.mark.slow  # builds the sdist and the wheel (a few seconds, an isolated env)
def test_sdist_contents(dist):
    _, sdist = dist
    top = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        names = {name.removeprefix(top + "/") for name in members}
        for name in names:
            parts = pathlib.PurePosixPath(name).parts
            assert not {".venv", "build", "dist", "__pycache__", ".git"} & set(parts)
            assert not name.endswith((".pyc", ".whl", ".tar.gz"))
        for required in (
            "pyproject.toml",
            "README.md",
            "LICENSE",
            "jaxreparam/py.typed",
        ):
            assert required in names
        assert _tracked("jaxreparam") <= names
        assert _tracked("tests") <= names
        notebooks = sorted(n for n in names if n.startswith("notebooks/"))
        assert notebooks == sorted(_tracked("notebooks"))
        for name in notebooks:  # saved without outputs
            notebook = json.load(tar.extractfile(members[f"{top}/{name}"]))
            for cell in notebook["cells"]:
                assert not cell.get("outputs"), name
                assert cell.get("execution_count") is None, name


# After the quick start: where jaxreparam was imported from, and what it computed.
_REPORT = """
import importlib.metadata, json, math, pathlib, sys
assert math.isfinite(float(grad_mu)) and math.isfinite(float(grad_sigma))
assert grad_mus.shape == grad_sigmas.shape == (8,)
print(json.dumps({
    "file": jr.__file__,
    "version": jr.__version__,
    "metadata_version": importlib.metadata.version("jaxreparam"),
    "py_typed": (pathlib.Path(jr.__file__).parent / "py.typed").is_file(),
    "prefix": sys.prefix,
    "grad": [float(grad_mu), float(grad_sigma)],
}))
"""


@pytest.mark.slow  # a fresh venv and pip install of the wheel and of jax (~1 min)
def test_wheel_runs_the_readme_quick_start(dist, tmp_path):
    wheel, _ = dist
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        env=env,
        cwd=tmp_path,
    )
    script = tmp_path / "quick_start.py"
    script.write_text(quick_start_code() + textwrap.dedent(_REPORT))
    run = subprocess.run(
        [str(python), "-I", str(script)],  # -I: neither the cwd nor PYTHON* vars
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert pathlib.Path(report["file"]).is_relative_to(venv)
    assert not pathlib.Path(report["file"]).is_relative_to(ROOT)
    assert report["version"] == report["metadata_version"] == jr.__version__
    assert report["py_typed"]
    # E[z^2] = mu^2 + sigma^2 at (1, 2): the gradient is (2, 4). With 1000 draws,
    # d/dmu = mean(2 z) has standard error 4/sqrt(1000) = 0.13 and d/dsigma =
    # mean(2 eps + 4 eps^2) has sqrt(4 + 32)/sqrt(1000) = 0.19: 5 sigma each.
    grad_mu, grad_sigma = report["grad"]
    assert abs(grad_mu - 2.0) < 5 * 0.127
    assert abs(grad_sigma - 4.0) < 5 * 0.19


def test_installed_metadata_matches_the_source():
    """The environment's jaxreparam (editable or not) has the source's version."""
    try:
        installed = importlib.metadata.version("jaxreparam")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("jaxreparam is imported from the tree, not installed")
    assert installed == jr.__version__
