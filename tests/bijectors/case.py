"""The registry of bijectors under test: one ``Case`` per configuration.

``test_bijectors.py`` runs every generic check (round trip, log-determinant
against ``jax.jacobian`` in float64, shapes and dtypes, jit and vmap) over
``CASES``. To put a new bijector under test, write a dict ``CASES = {name:
Case(...)}`` in its own test file ``tests/bijectors/test_<name>.py``, next to
its specific tests: :func:`gather` collects every such dict, so this file and
``test_bijectors.py`` do not change.
"""

from __future__ import annotations

import importlib
import pathlib
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from jaxreparam.base import Bijector


class Case(NamedTuple):
    """One bijector with one way to make its params.

    Attributes:
        bijector: the ``Bijector`` bundle.
        init: ``init(key) -> params`` (random params where they are learnable,
            so the checks see more than the identity).
        shape: the shape of ``x``, with at least one batch axis.
        context_shape: the shape of a conditional bijector's context
            (``None``: unconditional).
        spread: the standard deviation of the test points ``x``.
        rtol: the tolerance of the float64 log-determinant check, for
            bijectors whose inverse is iterative.
        to_domain: maps the test points (normal draws) into the domain of
            ``forward`` (``None``: the reals).
    """

    bijector: Bijector
    init: Callable[[Any], Any]
    shape: tuple[int, ...]
    context_shape: tuple[int, ...] | None = None
    spread: float = 2.0
    rtol: float = 1e-10
    to_domain: Callable[[Any], Any] | None = None

    def points(self, dtype: Any = None) -> Any:
        """Fixed test points ``x`` of ``shape``, in the domain of ``forward``."""
        x = self.spread * jax.random.normal(jax.random.key(7), self.shape, dtype)
        return x if self.to_domain is None else self.to_domain(x)

    def context(self, dtype: Any = None) -> Any:
        """A fixed context of ``context_shape`` (``None`` if unconditional)."""
        if self.context_shape is None:
            return None
        return jax.random.normal(jax.random.key(11), self.context_shape, dtype)

    def forward(self, params: Any, x: Any, context: Any = None) -> Any:
        """``bijector.forward``, given the context when conditional."""
        if self.bijector.conditional:
            return self.bijector.forward(params, x, context=context)
        return self.bijector.forward(params, x)

    def inverse(self, params: Any, y: Any, context: Any = None) -> Any:
        """``bijector.inverse``, given the context when conditional."""
        if self.bijector.conditional:
            return self.bijector.inverse(params, y, context=context)
        return self.bijector.inverse(params, y)


def gather(cases: dict[str, Case]) -> dict[str, Case]:
    """``cases`` and the ``CASES`` of every ``tests/bijectors/test_*.py``."""
    gathered = dict(cases)
    for path in sorted(pathlib.Path(__file__).parent.glob("test_*.py")):
        if path.stem in ("test_bijectors", "test_transformed"):
            continue
        module = importlib.import_module(f"tests.bijectors.{path.stem}")
        for name, case in getattr(module, "CASES", {}).items():
            if name in gathered:
                raise ValueError(f"{path.name}: bijector case {name!r} is taken")
            gathered[name] = case
    return gathered
