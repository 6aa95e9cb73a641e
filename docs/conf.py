"""Sphinx configuration of the jaxreparam documentation (built by ``.ci/docs``)."""

import json
import os
import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))

import jaxreparam  # noqa: E402

project = "jaxreparam"
author = "jaxreparam developers"
copyright = "2026, jaxreparam developers"  # noqa: A001
release = jaxreparam.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.mathjax",
    "jr_api",
]

html_theme = "furo"
html_title = f"jaxreparam {release}"
html_static_path: list[str] = []

# Math is drawn by MathJax 3 served from the site itself (its SVG build is one file,
# fonts included), so pages read offline show formulas; the file comes from the
# docs extra's django-static-mathjax, a plain package of MathJax's files.
try:
    import mathjax as _mathjax  # django-static-mathjax
except ImportError:  # without it, Sphinx's default: MathJax from its CDN
    _mathjax = None
if _mathjax is not None:
    _tex_svg = pathlib.Path(_mathjax.__file__).parent / "static/mathjax/es5/tex-svg.js"
    if _tex_svg.exists():
        html_static_path.append(str(_tex_svg))
        mathjax_path = "tex-svg.js"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
suppress_warnings: list[str] = []

# Every cross-reference must resolve; names from other projects (jax, numpy, optax)
# cannot be linked offline, so those targets are exempt.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(jax|jnp|numpy|np|optax|chex|typing|collections)(\..*)?"),
    (r"py:.*", r"(int|float|str|bool|tuple|list|dict|None|callable|Callable|Any)"),
]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks: rendered from the executed copies that the slow test wrote to
# build/notebooks/ (JAXREPARAM_EXECUTED_NOTEBOOKS), so that CI runs each notebook
# once; a notebook without an executed copy is executed here, and a cell error
# fails the build. JAXREPARAM_DOCS_EXECUTE=0 renders such a notebook without its
# outputs instead (a quick look at the pages while writing; .ci/docs never sets it).
nb_execution_mode = "off"
nb_execution_raise_on_error = True
nb_execution_timeout = 600
nb_execution_show_tb = True
nb_execution_in_temp = True  # notebooks that write files write them elsewhere
nb_merge_streams = True
nb_output_stderr = "remove-warn"

EXECUTED = ROOT / "build" / "notebooks"
STAGED = HERE / "notebooks"


def _cells(notebook: dict) -> list[tuple[str, str]]:
    """Each cell's type and source: an executed copy is used only if they match."""
    return [(cell["cell_type"], "".join(cell["source"])) for cell in notebook["cells"]]


def _stage_notebooks() -> None:
    """Copies notebooks/*.ipynb into docs/notebooks/, executed copies first."""
    if STAGED.exists():
        shutil.rmtree(STAGED)
    STAGED.mkdir()
    for source in sorted((ROOT / "notebooks").glob("*.ipynb")):
        executed = EXECUTED / source.name
        notebook = json.loads(source.read_text())
        copy = json.loads(executed.read_text()) if executed.exists() else None
        if copy is not None and _cells(copy) == _cells(notebook):
            notebook = copy
            print(f"jaxreparam docs: {source.name}: the executed copy in {EXECUTED}")
        elif os.environ.get("JAXREPARAM_DOCS_EXECUTE") == "0":
            print(f"jaxreparam docs: {source.name}: left unexecuted")
        else:
            notebook.setdefault("metadata", {})["mystnb"] = {"execution_mode": "force"}
            print(f"jaxreparam docs: {source.name}: executed by the builder")
        (STAGED / source.name).write_text(json.dumps(notebook, indent=1))


_stage_notebooks()
