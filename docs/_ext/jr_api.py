"""The API reference of jaxreparam, generated from ``__all__`` and the docstrings.

``.. jr-module:: jaxreparam.estimators`` renders one public module: a summary
table, then an entry per name in its ``__all__`` (signature and docstring, Google
style read by napoleon). jaxreparam's names are not all functions and classes: a
family (``jr.normal``) is a ``Family`` bundle, a NamedTuple of pure functions, and
so are bijectors, transformers and VAE likelihoods; each gets an entry with the
documented functions it bundles (``normal.init``, ``normal.sample``, ...).

Every name has one home, the first module of ``MODULES`` that lists it; the other
modules that re-export it (``jr.fit`` is ``jr.train.fit``) show an alias entry.
A public name without a docstring is a build warning, so the ``-W`` build fails.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import pathlib
import re
import types
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.ext.napoleon import Config as NapoleonConfig
from sphinx.ext.napoleon.docstring import GoogleDocstring
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

#: The public modules, in the order that decides a re-exported name's home.
MODULES = (
    "jaxreparam.distributions",
    "jaxreparam.bijectors",
    "jaxreparam.flows",
    "jaxreparam.nn",
    "jaxreparam.nn.metrics",
    "jaxreparam.estimators",
    "jaxreparam.estimators.diagnostics",
    "jaxreparam.objectives",
    "jaxreparam.kl",
    "jaxreparam.train",
    "jaxreparam.train.vi",
    "jaxreparam.train.checkpoint",
    "jaxreparam.train.parallel",
    "jaxreparam.vae",
    "jaxreparam",
)

#: The page of each public module (``api/<page>``), for links to submodules.
PAGES = {name: "api/" + name.replace("jaxreparam.", "") for name in MODULES}
PAGES["jaxreparam"] = "api/jaxreparam"

# Bundles: NamedTuples of functions, documented through the functions they hold.
BUNDLE_TYPES = ("Family", "Bijector", "Transformer", "Likelihood", "Posterior", "VAE")


def public_names(module: types.ModuleType) -> list[str]:
    """``__all__``, or for the top-level package (which has none) its public names.

    The top-level package re-exports ``jaxreparam.distributions.__all__`` by a star
    import; those names are documented there and listed on its page as one line.
    """
    if hasattr(module, "__all__"):
        return list(module.__all__)
    distributions = importlib.import_module("jaxreparam.distributions")

    def keep(name: str, value: Any) -> bool:
        if name.startswith("_") or name in distributions.__all__:
            return False
        if (
            isinstance(value, types.ModuleType)
            and value.__name__ == f"{module.__name__}.{name}"
        ):
            return value.__name__ in MODULES  # a link to its page; base, implicit: no
        return True

    return [name for name, value in vars(module).items() if keep(name, value)]


def homes() -> dict[int, str]:
    """``id(object)`` to the full name of its documented entry (first module)."""
    found: dict[int, str] = {}
    for modname in MODULES:
        module = importlib.import_module(modname)
        for name in public_names(module):
            value = getattr(module, name)
            if isinstance(value, (str, int, float, dict, tuple)):
                continue  # constants are not shared by identity
            found.setdefault(id(value), f"{modname}.{name}")
    return found


def _is_bundle(value: Any) -> bool:
    return isinstance(value, tuple) and type(value).__name__ in BUNDLE_TYPES


def _own_doc(value: Any) -> str:
    """The object's own docstring ('' for a NamedTuple's generated one)."""
    doc = getattr(value, "__doc__", None) or ""
    if isinstance(value, type) and doc.startswith(f"{value.__name__}("):
        return ""  # collections.namedtuple's "Name(field, ...)"
    if not isinstance(value, (type, types.FunctionType)) and not callable(value):
        return ""
    return inspect.cleandoc(doc)


class _Default:
    """A default value as the reader wants it: a function by its name.

    ``repr`` of a function holds its address, which changes from build to build.
    """

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        if callable(self.value) and hasattr(self.value, "__name__"):
            name = getattr(self.value, "__wrapped__", self.value).__name__
            module = getattr(self.value, "__module__", "") or ""
            public = ".".join(p for p in module.split(".") if not p.startswith("_"))
            return f"{public}.{name}" if public else name
        return repr(self.value)


def _signature(value: Any) -> str:
    """The call signature without annotations (they name private aliases)."""
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):
        return "(...)"
    parameters = [
        p.replace(annotation=inspect.Parameter.empty, default=_Default(p.default))
        if p.default is not inspect.Parameter.empty
        else p.replace(annotation=inspect.Parameter.empty)
        for p in signature.parameters.values()
    ]
    text = str(
        signature.replace(
            parameters=parameters, return_annotation=inspect.Signature.empty
        )
    )
    return text.replace("\n", " ")


_ROLE = re.compile(r":(func|class|mod|attr|meth|data|obj):`(~?)([\w.]+)`")


def qualify(doc: str, public: str, defining: str | None) -> str:
    """Qualifies references that name something of the defining module only.

    A docstring's ``:func:`helper``` is relative to the module the function is
    written in; rendered on the public module's page it would look there. Names
    found in the public module stay as they are.
    """
    if not defining or defining == public:
        return doc

    def fix(match: re.Match[str]) -> str:
        role, tilde, target = match.groups()
        if target.startswith("jaxreparam") or _lookup(f"{public}.{target}"):
            return match.group(0)
        if _lookup(f"{defining}.{target}"):
            return f":{role}:`~{defining}.{target}`"
        return match.group(0)

    return _ROLE.sub(fix, doc)


def _napoleon(doc: str, app: Any, what: str, name: str) -> list[str]:
    config = NapoleonConfig(napoleon_use_rtype=False, napoleon_use_ivar=False)
    return GoogleDocstring(doc, config, app, what, name).lines()


def _indent(lines: list[str], by: str = "   ") -> list[str]:
    return [by + line if line.strip() else "" for line in lines]


def _summary(doc: str) -> str:
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return first or "(no docstring)"


class ModuleDirective(SphinxDirective):
    """``.. jr-module:: jaxreparam.<name>``: the reference of one public module."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        """The parsed reference of the module."""
        modname = self.arguments[0]
        module = importlib.import_module(modname)
        self.home = homes()
        self.shown: dict[str, str] = {}  # module docstring -> first bundle showing it
        self.modname = modname
        lines: list[str] = [f".. py:module:: {modname}", ""]
        if modname != "jaxreparam":
            lines += [f".. py:currentmodule:: {modname}", ""]
        doc = inspect.cleandoc(module.__doc__ or "")
        if not doc:
            self.warn(f"public module {modname} has no docstring")
        lines += doc.splitlines() + [""]
        names = public_names(module)
        lines += self.table(module, names)
        for name in names:
            value = getattr(module, name)
            lines += self.entry(module, name, value)
        dump = os.environ.get("JR_API_DUMP")
        if dump:  # the generated reStructuredText, to find a warning's line
            pathlib.Path(dump).mkdir(parents=True, exist_ok=True)
            (pathlib.Path(dump) / f"{modname}.rst").write_text("\n".join(lines))
        content = StringList()
        for i, line in enumerate(lines):
            content.append(line, f"<jr-module {modname}>", i)
        section = nodes.section()
        section.document = self.state.document
        nested_parse_with_titles(self.state, content, section)
        return section.children

    def warn(self, message: str) -> None:
        """A build warning at this directive (an error under ``-W``)."""
        logger.warning(message, location=(self.env.docname, self.lineno))

    def table(self, module: types.ModuleType, names: list[str]) -> list[str]:
        """A table of every public name with the first line of its text."""
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 30 70", ""]
        lines += ["   * - name", "     - summary"]
        for name in names:
            value = getattr(module, name)
            if isinstance(value, types.ModuleType):
                ref = f":doc:`{name} </{PAGES[value.__name__]}>`"
                summary = _summary(value.__doc__ or "")
            else:
                ref = f":{self.role(value)}:`~{self.modname}.{name}`"
                summary = _summary(self.doc_of(module, name, value))
            lines += [f"   * - {ref}", f"     - {summary}"]
        return lines + [""]

    @staticmethod
    def role(value: Any) -> str:
        """The cross-reference role for ``value``."""
        if isinstance(value, type):
            return "class"
        if isinstance(value, types.FunctionType):
            return "func"
        return "data"

    def doc_of(self, module: types.ModuleType, name: str, value: Any) -> str:
        """The text that documents a name, '' if none."""
        if _is_bundle(value):
            return _attr_doc(name, value, module) or self.bundle_doc(
                name, value, module
            )
        if isinstance(value, (str, int, float, dict, tuple, list)):
            return _attr_doc(name, value, module)
        return _own_doc(value)

    def bundle_doc(self, name: str, value: Any, module: types.ModuleType) -> str:
        """A bundle's text: the docstring of the module assigning it, or a field's."""
        assigning = _assigning_module(name, value, module)
        if assigning is not None and assigning.__doc__:
            return inspect.cleandoc(assigning.__doc__)
        for field in value._fields:
            doc = _own_doc(getattr(value, field))
            if doc and field != "init":
                return doc
        return _own_doc(getattr(value, "init", None))

    def entry(self, module: types.ModuleType, name: str, value: Any) -> list[str]:
        """The reStructuredText entry of one public name."""
        full = f"{self.modname}.{name}"
        if isinstance(value, types.ModuleType):
            page = PAGES.get(value.__name__)
            if page is None:
                self.warn(f"{full}: submodule {value.__name__} has no page")
                return []
            return [
                f".. rubric:: {name}",
                "",
                f"The submodule :doc:`{value.__name__} </{page}>`: "
                + _summary(value.__doc__ or ""),
                "",
            ]
        home = self.home.get(id(value), full)
        if home != full and not isinstance(value, (str, dict)):
            return self.alias(name, value, home)
        doc = self.doc_of(module, name, value)
        if not doc:
            self.warn(f"public name {full} has no docstring")
        if _is_bundle(value):
            return self.bundle(name, value, doc)
        if isinstance(value, type):
            return self.cls(name, value, doc)
        if callable(value):
            return self.function(name, value, doc)
        return [f".. py:data:: {name}", ""] + _indent(doc.splitlines()) + [""]

    def alias(self, name: str, value: Any, home: str) -> list[str]:
        """An entry pointing at the name's home (``jr.fit`` is ``jr.train.fit``)."""
        role = self.role(value)
        directive = {"class": "class", "func": "function", "data": "data"}[role]
        sig = _signature(value) if role != "data" else ""
        return [
            f".. py:{directive}:: {name}{sig}",
            "",
            f"   Alias of :{role}:`{home}`: " + _summary(self.doc_of_home(home)),
            "",
        ]

    def doc_of_home(self, home: str) -> str:
        """The text of a name at its home."""
        modname, _, name = home.rpartition(".")
        module = importlib.import_module(modname)
        return self.doc_of(module, name, getattr(module, name))

    def function(self, name: str, value: Any, doc: str) -> list[str]:
        """A function's entry: signature and docstring."""
        lines = [f".. py:function:: {name}{_signature(value)}", ""]
        full = f"{self.modname}.{name}"
        doc = qualify(doc, self.modname, getattr(value, "__module__", None))
        return lines + _indent(_napoleon(doc, self.env.app, "function", full)) + [""]

    def cls(self, name: str, value: type, doc: str) -> list[str]:
        """A class's entry, with its documented public methods."""
        full = f"{self.modname}.{name}"
        lines = [f".. py:class:: {name}{_signature(value)}", ""]
        lines += _indent(_napoleon(doc, self.env.app, "class", full)) + [""]
        for attr, member in vars(value).items():
            if attr.startswith("_") or not isinstance(member, types.FunctionType):
                continue
            member_doc = _own_doc(member)
            if not member_doc:
                self.warn(f"public method {full}.{attr} has no docstring")
            sig = _signature(member).replace("(self, ", "(").replace("(self)", "()")
            lines += [f"   .. py:method:: {attr}{sig}", ""]
            lines += _indent(
                _napoleon(member_doc, self.env.app, "method", f"{full}.{attr}"),
                "      ",
            )
            lines += [""]
        return lines

    def bundle(self, name: str, value: Any, doc: str) -> list[str]:
        """A bundle's entry: what it is, its text, and each documented function."""
        kind = type(value).__name__
        kind_ref = {
            "Family": "jaxreparam.Family",
            "Bijector": "jaxreparam.Bijector",
            "Transformer": "jaxreparam.bijectors.Transformer",
            "Likelihood": "jaxreparam.vae.Likelihood",
            "Posterior": "jaxreparam.vae.Posterior",
            "VAE": "jaxreparam.vae.VAE",
        }[kind]
        lines = [f".. py:data:: {name}", ""]
        intro = f"A :class:`~{kind_ref}` bundle"
        if kind == "Family":
            intro += (
                f" with params :class:`~jaxreparam.distributions."
                f"{value.params_type.__name__}`"
                if hasattr(
                    importlib.import_module("jaxreparam.distributions"),
                    value.params_type.__name__,
                )
                else f" with params ``{value.params_type.__name__}``"
            )
            closed = [
                f
                for f in ("entropy", "mean", "variance", "cdf", "icdf", "covariance")
                if value.has(f)
            ]
            intro += (
                "; closed forms: " + ", ".join(f"``{c}``" for c in closed)
                if closed
                else "; no closed forms"
            )
            intro += (
                "; fully reparameterized."
                if value.reparameterized
                else "; not reparameterized (use a score-function estimator)."
            )
        else:
            intro += "."
        lines += [f"   {intro}", ""]
        module = importlib.import_module(self.modname)
        own = _attr_doc(name, value, module)
        assigning = _assigning_module(name, value, module)
        if own:
            lines += _indent(doc.splitlines()) + [""]
        elif assigning is not None and assigning.__doc__:
            first = self.shown.setdefault(assigning.__name__, name)
            if first == name:
                # The module's docstring: its references are relative to it.
                lines += [f"   .. py:currentmodule:: {assigning.__name__}", ""]
                lines += _indent(doc.splitlines()) + [""]
                lines += [f"   .. py:currentmodule:: {self.modname}", ""]
            else:
                lines += [
                    f"   Described with :data:`~{self.modname}.{first}` above, by"
                    f" the docstring of ``{assigning.__name__}``.",
                    "",
                ]
        undocumented = []
        for field in value._fields:
            member = getattr(value, field)
            if not isinstance(member, types.FunctionType):
                continue
            if getattr(member, "__name__", "").startswith("no_"):
                continue
            member_doc = qualify(_own_doc(member), self.modname, member.__module__)
            if not member_doc:
                undocumented.append(field)
                continue
            full = f"{self.modname}.{name}.{field}"
            lines += [f"   .. py:function:: {name}.{field}{_signature(member)}", ""]
            lines += _indent(
                _napoleon(member_doc, self.env.app, "function", full), "      "
            )
            lines += [""]
        if undocumented:
            lines += [
                "   Also bundled: " + ", ".join(f"``{f}``" for f in undocumented) + ".",
                "",
            ]
        return lines


def _attr_doc(name: str, value: Any, module: types.ModuleType) -> str:
    """A ``#:`` comment above ``name = ...``, in ``module`` or where ``value`` is made.

    A bundle is made in a private module (its functions' ``__module__``) and
    re-exported; a constant is documented where the public module defines it.
    """
    candidates = [module.__name__]
    if isinstance(value, tuple):
        candidates += [
            getattr(field, "__module__", None) for field in value if callable(field)
        ]
    for modname in dict.fromkeys(c for c in candidates if c):
        try:
            attr_docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # noqa: BLE001 -- no source: nothing to read
            continue
        doc = attr_docs.get(("", name))
        if doc:
            return inspect.cleandoc("\n".join(doc))
    return ""


def _assigning_module(
    name: str, value: Any, module: types.ModuleType
) -> types.ModuleType | None:
    """The module whose top level assigns ``name = ...`` (where a bundle is made).

    Looked for in the public module and in the modules of the bundle's functions
    (``jr.normal`` is assigned in ``jaxreparam.distributions._normal``).
    """
    candidates = [module.__name__]
    if isinstance(value, tuple):
        candidates += [
            getattr(field, "__module__", None) for field in value if callable(field)
        ]
    candidates.append(f"{module.__name__}._{getattr(value, 'name', name)}")
    for modname in dict.fromkeys(c for c in candidates if c):
        try:
            candidate = importlib.import_module(modname)
            tree = ast.parse(inspect.getsource(candidate))
        except (ImportError, OSError, TypeError, SyntaxError):
            continue
        for node in tree.body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return candidate
    return None


def _lookup(path: str) -> bool:
    """Whether ``path`` names a module or an attribute of one (private ones too)."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for part in parts[i:]:
                value = getattr(value, part)
        except AttributeError:
            return False
        return True
    return False


def private_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Shows a reference to a private jaxreparam name as text, without a link.

    Docstrings of private modules point at private helpers (``:func:`_sin```),
    which have no page; a reference that names nothing in the code stays a
    warning (and fails the build).
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    module = node.get("py:module") or ""
    candidates = [target]
    if module:
        candidates += [f"{module}.{target}", f"{module.rpartition('.')[0]}._{target}"]
    for path in candidates:
        if path.startswith("jaxreparam") and "._" in path + "._" and _lookup(path):
            if any(part.startswith("_") for part in path.split(".")):
                return contnode
    return None


def setup(app: Any) -> dict[str, Any]:
    """Registers ``jr-module`` and the handler of private references."""
    app.add_directive("jr-module", ModuleDirective)
    app.connect("missing-reference", private_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
