"""The built documentation site, opened in headless Chromium (run by ``.ci/docs``).

Marked ``docs``: left out of the default run and of CI's slow run, since it needs
the site that ``.ci/docs`` builds into ``build/docs/`` (or the folder named by
``JAXREPARAM_DOCS_DIR``) and Debian's ``chromium``. Chromium loads each page as a
person's browser does (scripts run, the theme lays the page out): ``--dump-dom``
gives the document after loading, ``--screenshot`` a picture of it, saved under
``build/docs-screenshots/``.
"""

import html.parser
import os
import pathlib
import shutil
import subprocess
import urllib.parse

import pytest

pytestmark = pytest.mark.docs

ROOT = pathlib.Path(__file__).parents[1]
SITE = pathlib.Path(os.environ.get("JAXREPARAM_DOCS_DIR", ROOT / "build" / "docs"))
SCREENSHOTS = ROOT / "build" / "docs-screenshots"
NOTEBOOK = "notebooks/01_reparameterization_trick.html"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site in {SITE}: run .ci/docs")
    return SITE


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: .ci/docs installs Debian's package")
    return path


def _run_chromium(chromium, tmp_path, page, *options):
    """Runs headless Chromium on one page of the site; returns its stdout."""
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",  # let the page's scripts run
            *options,
            page if isinstance(page, str) else page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _dom(chromium, tmp_path, page):
    return _run_chromium(chromium, tmp_path, page, "--dump-dom")


class _Page(html.parser.HTMLParser):
    """The links (``href``/``src``), the anchors (``id``/``name``) and the text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.anchors: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name") if tag != "meta" else ("id",):
            if attrs.get(name):
                self.anchors.add(attrs[name])
        for name in ("href", "src"):
            if attrs.get(name) and tag in ("a", "link", "img", "script", "iframe"):
                self.links.append(attrs[name])

    def handle_data(self, data):
        self.text.append(data)


def _parse(text):
    page = _Page()
    page.feed(text)
    return page


def _text(page):
    """The page's text as a reader sees it: spans joined, whitespace collapsed."""
    return " ".join("".join(page.text).split())


def test_home_page_loads(site, chromium, tmp_path):
    dom = _dom(chromium, tmp_path, site / "index.html")
    text = _text(_parse(dom))
    for expected in (
        "jaxreparam",
        "Getting started",
        "User guide",
        "API reference",
        "Notebooks",
        "Benchmarks",
        "Changelog",
    ):
        assert expected in text, expected
    # The theme's script ran: furo marks the body with the colour scheme.
    assert 'data-theme="' in dom


def test_math_is_rendered_offline(site, chromium, tmp_path):
    """MathJax is served by the site itself and typesets the formulas."""
    assert (site / "_static" / "tex-svg.js").exists()
    dom = _dom(chromium, tmp_path, site / "getting_started.html")
    assert dom.count("<mjx-container") >= 5  # each formula typeset, as SVG
    assert "\\mathbb{E}" not in _text(_parse(dom))  # no raw TeX left over


def test_api_reference_loads(site, chromium, tmp_path):
    dom = _dom(chromium, tmp_path, site / "api" / "distributions.html")
    page = _parse(dom)
    text = _text(page)
    # A family, one of the functions it bundles and its docstring's words.
    assert "jaxreparam.distributions.normal" in page.anchors
    assert "jaxreparam.distributions.normal.sample" in page.anchors
    assert "jaxreparam.distributions.NormalParams" in page.anchors
    assert "z = loc + scale * eps" in text
    # Every public module has a page with an entry for every name of its __all__.
    top = _parse(_dom(chromium, tmp_path, site / "api" / "jaxreparam.html"))
    for name in ("jaxreparam.fit", "jaxreparam.Family", "jaxreparam.checked"):
        assert name in top.anchors, name


def test_search_finds_a_family(site, chromium, tmp_path):
    """The search page (Sphinx's script over searchindex.js) lists the entries."""
    url = (site / "search.html").as_uri() + "?q=rayleigh"
    page = _parse(_run_chromium(chromium, tmp_path, url, "--dump-dom"))
    found = [link for link in page.links if "distributions.html#" in link]
    assert any(link.endswith("#jaxreparam.distributions.rayleigh") for link in found)


def test_api_reference_has_every_public_name(site):
    import importlib

    modules = {
        "distributions": "jaxreparam.distributions",
        "bijectors": "jaxreparam.bijectors",
        "flows": "jaxreparam.flows",
        "estimators": "jaxreparam.estimators",
        "estimators.diagnostics": "jaxreparam.estimators.diagnostics",
        "objectives": "jaxreparam.objectives",
        "kl": "jaxreparam.kl",
        "train": "jaxreparam.train",
        "train.vi": "jaxreparam.train.vi",
        "train.checkpoint": "jaxreparam.train.checkpoint",
        "train.parallel": "jaxreparam.train.parallel",
        "nn": "jaxreparam.nn",
        "nn.metrics": "jaxreparam.nn.metrics",
        "vae": "jaxreparam.vae",
    }
    for page_name, modname in modules.items():
        module = importlib.import_module(modname)
        page = _parse((site / "api" / f"{page_name}.html").read_text())
        for name in module.__all__:
            if isinstance(getattr(module, name), type(importlib)):
                continue  # a submodule: its own page
            assert f"{modname}.{name}" in page.anchors, f"{modname}.{name}"


def test_notebook_is_rendered_with_outputs(site, chromium, tmp_path):
    dom = _dom(chromium, tmp_path, site / NOTEBOOK)
    page = _parse(dom)
    text = _text(page)
    assert "reparameterization" in text.lower()
    assert "import jaxreparam as jr" in text  # the code cells
    assert "cell_output" in dom  # their outputs
    figures = [link for link in page.links if link.endswith(".png")]
    assert figures, "the executed notebook's figures are missing"
    for figure in figures:
        assert (site / NOTEBOOK).parent.joinpath(figure).resolve().exists(), figure


def test_every_internal_link_resolves(site):
    pages = {path: _parse(path.read_text()) for path in site.rglob("*.html")}
    assert len(pages) > 20
    broken = []
    checked = 0
    for path, page in pages.items():
        for link in page.links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:")):
                continue  # outside the site
            target = path if not parts.path else path.parent / parts.path
            target = pathlib.Path(os.path.normpath(urllib.parse.unquote(str(target))))
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.exists():
                broken.append(f"{path.relative_to(site)}: {link} (no file)")
                continue
            fragment = urllib.parse.unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                anchors = pages[target].anchors if target in pages else set()
                if fragment not in anchors:
                    broken.append(f"{path.relative_to(site)}: {link} (no anchor)")
    assert checked > 1000
    assert not broken, "\n".join(broken[:50])


@pytest.mark.parametrize(
    "page",
    ["index.html", "getting_started.html", "api/distributions.html", NOTEBOOK],
)
def test_screenshots(site, chromium, tmp_path, page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    out = SCREENSHOTS / (page.replace("/", "_").removesuffix(".html") + ".png")
    out.unlink(missing_ok=True)
    _run_chromium(
        chromium,
        tmp_path,
        site / page,
        f"--screenshot={out}",
        "--window-size=1280,1600",
    )
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    image = pytest.importorskip("matplotlib.image").imread(out)
    assert image.shape[:2] == (1600, 1280)
    # Not blank: a real page has text (dark pixels) on a light background, and
    # more than a few distinct grey levels.
    grey = image[..., :3].mean(axis=-1)
    dark = (grey < 0.5).mean()
    assert 0.003 < dark < 0.6, dark
    assert len(set((grey * 255).astype(int).ravel().tolist())) > 16


GUIDES = sorted((ROOT / "docs" / "guide").glob("*.md"))


def _python_blocks(text):
    """The ```` ```python ```` blocks of a page (``{code-block}`` ones are not run)."""
    blocks, block = [], None
    for line in text.splitlines():
        if block is None and line.strip() == "```python":
            block = []
        elif block is not None and line.strip() == "```":
            blocks.append("\n".join(block))
            block = None
        elif block is not None:
            block.append(line)
    return blocks


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.stem)
def test_guide_code_runs(guide, tmp_path, monkeypatch, capsys):
    """Every ```python block of a guide page runs, in order, in one namespace."""
    blocks = _python_blocks(guide.read_text())
    if guide.stem == "index":
        assert not blocks
        return
    assert blocks, f"{guide.name} has no runnable code"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"guide_{guide.stem}"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{guide.name}, block {i + 1}", "exec"), namespace)  # noqa: S102
    capsys.readouterr()
