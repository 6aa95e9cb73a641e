"""Shared test configuration: jax's key-reuse checker on, fixed keys."""

import jax
import pytest

jax.config.update("jax_debug_key_reuse", True)


@pytest.fixture
def key():
    return jax.random.key(0)


#: Files whose tests take 20-60 s each (executed notebooks, paper reproductions,
#: whole applications): collected first, so that pytest-xdist hands them out
#: while the short tests can still fill the other worker, rather than last.
LONG_FIRST = (
    "tests/test_notebooks.py",
    "tests/vae/test_reproductions.py",
    "tests/nn/test_bayes_papers.py",
    "tests/apps/",
)


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return 0 if path.startswith(LONG_FIRST) else 1

    items.sort(key=rank)  # stable: the order within each group is kept
