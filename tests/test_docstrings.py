"""Every public name has a docstring with a runnable example (issue 15).

The public API is what ``import jaxreparam`` reaches: the names of ``jaxreparam``
(which has no ``__all__``: its names without a leading underscore) and, in every
public module reachable from there (``jr.distributions``, ``jr.nn.metrics``,
``jr.train.vi``, ...), its ``__all__``. Each object counts once, however many
names it has (``jr.normal`` is ``jr.distributions.normal``).

Where an example lives:

- a function or a class: its own docstring;
- a bundle (a ``NamedTuple`` of functions: a ``Family`` such as ``jr.normal``, a
  ``Bijector`` such as ``jr.bijectors.exp``, a ``Transformer`` or a VAE
  ``Likelihood``), whose type's docstring is shared by every bundle and which
  cannot carry a ``__doc__`` of its own: the docstring of the module that
  assigns it (``jaxreparam/distributions/_normal.py``), where its mathematics is
  written, and where an API page shows it (``automodule`` of that module); its
  example names it as ``jr.<path>.<name>``.

Every such example must also be collected by ``--doctest-modules`` (pytest's
doctest finder sees it), so the suite runs it.

Exempt, each for a stated reason:

- constants (``FAMILIES``, ``BIJECTORS``, ``vi.CONSTRAINTS``, ...): data, not
  code; each must instead carry a ``#:`` comment above its assignment, which is
  what Sphinx shows for it;
- type aliases of other libraries' objects (``base.Array`` is ``jax.Array``,
  ``base.ArrayLike`` is ``typing.Any``): documented by their owners;
- ``jaxreparam.apps`` (and ``__main__``): command-line programs, not reachable
  from ``import jaxreparam``; their interface is ``python -m jaxreparam <app>
  --help``.
"""

from __future__ import annotations

import ast
import doctest
import functools
import inspect
import pkgutil
import re
import sys
import types
from typing import Any

import pytest

import jaxreparam as jr

#: Modules that are public by name but not library API (see the module docstring).
NOT_API = ("jaxreparam.__main__", "jaxreparam.apps")

_CONSTANT_TYPES = (bool, int, float, str, bytes, dict, frozenset, set, list, tuple)


def _public_names(module: types.ModuleType) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return sorted(n for n in vars(module) if not n.startswith("_"))


@functools.cache
def _modules() -> dict[str, types.ModuleType]:
    """Every public module reachable from ``jaxreparam``, by name."""
    found: dict[str, types.ModuleType] = {}

    def walk(module: types.ModuleType) -> None:
        if module.__name__ in found:
            return
        found[module.__name__] = module
        for name in _public_names(module):
            value = getattr(module, name)
            if isinstance(value, types.ModuleType) and value.__name__.startswith(
                "jaxreparam."
            ):
                walk(value)

    walk(jr)
    return found


def _is_bundle(value: Any) -> bool:
    """A ``NamedTuple`` instance holding functions (Family, Bijector, ...)."""
    return (
        isinstance(value, tuple)
        and hasattr(type(value), "_fields")
        and any(inspect.isfunction(field) for field in value)
    )


@functools.cache
def _api() -> dict[str, tuple[str, Any]]:
    """Each public object once: its first qualified name -> (kind, object)."""
    seen: dict[int, str] = {}
    api: dict[str, tuple[str, Any]] = {}
    for module_name, module in sorted(_modules().items()):
        for name in _public_names(module):
            value = getattr(module, name)
            if isinstance(value, types.ModuleType) or id(value) in seen:
                continue
            qualified = f"{module_name}.{name}"
            seen[id(value)] = qualified
            if _is_bundle(value):
                kind = "bundle"
            elif inspect.isclass(value) or inspect.isroutine(value):
                owner = getattr(value, "__module__", "") or ""
                kind = "code" if owner.startswith("jaxreparam") else "alias"
            elif isinstance(value, _CONSTANT_TYPES):
                kind = "constant"
            else:
                kind = "alias"  # typing objects: ArrayLike = Any, Shape = ...
            api[qualified] = (kind, value)
    return api


def _assigns(module: types.ModuleType, name: str) -> bool:
    """Whether ``module``'s source assigns ``name`` at its top level."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return False
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def _defining_module(qualified: str, value: Any) -> types.ModuleType:
    """The module of the package whose source assigns ``value`` under its name."""
    name = qualified.rsplit(".", 1)[1]
    owners = [
        module
        for module_name, module in sorted(sys.modules.items())
        if module_name.startswith("jaxreparam")
        and getattr(module, name, None) is value
        and _assigns(module, name)
    ]
    assert len(owners) == 1, f"{qualified}: assigned in {owners}"
    return owners[0]


@functools.cache
def _collected(module_name: str) -> frozenset[str]:
    """The docstrings pytest's ``--doctest-modules`` runs in that module."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    return frozenset(t.docstring for t in finder.find(sys.modules[module_name]))


def _doc(qualified: str) -> tuple[str, str | None]:
    """Where the name's example must live, and that docstring."""
    kind, value = _api()[qualified]
    if kind == "bundle":
        module = _defining_module(qualified, value)
        return module.__name__, module.__doc__
    return value.__module__, value.__doc__


def _lacks_example(qualified: str) -> str | None:
    """Why the name has no runnable example, or None if it has one."""
    kind, _ = _api()[qualified]
    where, doc = _doc(qualified)
    if not doc or ">>>" not in doc:
        return f"no '>>>' example in the docstring of {where}"
    if kind == "bundle":
        name = qualified.rsplit(".", 1)[1]
        mention = re.compile(rf"jr(\.\w+)*\.{name}\b")
        lines = [
            line for line in doc.splitlines() if re.match(r"\s*(>>>|\.\.\.)", line)
        ]
        if not any(mention.search(line) for line in lines):
            return f"the examples of {where} never use jr....{name}"
    if doc not in _collected(where):
        return f"the example in {where} is not collected by --doctest-modules"
    return None


def test_the_walk_reaches_every_public_module():
    """A public module the walk misses would escape every check below."""
    reached = set(_modules())
    missed = [
        info.name
        for info in pkgutil.walk_packages(jr.__path__, "jaxreparam.")
        if not any(part.startswith("_") for part in info.name.split(".")[1:])
        and info.name not in reached
        and not info.name.startswith(NOT_API)
    ]
    assert not missed, f"public modules not reachable from jaxreparam: {missed}"
    for name in ("jaxreparam.nn.metrics", "jaxreparam.train.vi", "jaxreparam.vae"):
        assert name in reached


def test_the_api_is_what_it_should_be():
    """The walk sees each kind of public name, each object once."""
    api = _api()
    kinds = {kind for kind, _ in api.values()}
    assert kinds == {"code", "bundle", "constant", "alias"}
    assert "jaxreparam.normal" in api
    assert "jaxreparam.distributions.normal" not in api  # an alias, counted once
    assert api["jaxreparam.normal"][0] == "bundle"
    assert api["jaxreparam.bijectors.exp"][0] == "bundle"
    assert api["jaxreparam.FAMILIES"][0] == "constant"
    assert api["jaxreparam.base.Array"][0] == "alias"
    assert len(api) > 200


@pytest.mark.parametrize(
    "qualified",
    [name for name, (kind, _) in _api().items() if kind in ("code", "bundle")],
)
def test_public_name_has_a_runnable_example(qualified):
    reason = _lacks_example(qualified)
    assert reason is None, f"{qualified}: {reason}"


@pytest.mark.parametrize(
    "qualified", [name for name, (kind, _) in _api().items() if kind == "constant"]
)
def test_constant_has_a_doc_comment(qualified):
    """A constant is documented by a ``#:`` comment above its assignment."""
    _, value = _api()[qualified]
    module = _defining_module(qualified, value)
    name = qualified.rsplit(".", 1)[1]
    lines = inspect.getsource(module).splitlines()
    start = next(
        i for i, line in enumerate(lines) if re.match(rf"{name}\s*(:[^=]*)?=", line)
    )
    assert start > 0
    assert lines[start - 1].startswith("#:"), (
        f"{qualified}: no '#:' comment above its assignment in {module.__name__}"
    )
