"""Bijectors: one module each, with distrax's signatures.

Every module has ``forward_and_log_det(params, x) -> (y, log|det dy/dx|)`` and
``inverse_and_log_det(params, y) -> (x, log|det dx/dy|)``, an ``init`` that
builds its params (an empty ``NamedTuple`` when it has none, so that all
bijectors compose alike) and a ``bijector`` bundle (``jaxreparam.Bijector``).

| module | maps the reals onto | log-determinant |
| --- | --- | --- |
| ``identity`` | the reals | elementwise, 0 |
| ``exp`` | ``(0, inf)`` | elementwise |
| ``softplus`` | ``(0, inf)`` | elementwise |
| ``sigmoid`` | ``(low, high)`` | elementwise |
| ``stick_breaking`` | the simplex, ``(K - 1,) -> (K,)`` | over the last axis |
"""

from __future__ import annotations

from jaxreparam.bijectors import exp, identity, sigmoid, softplus, stick_breaking

__all__ = ["BIJECTORS", "exp", "identity", "sigmoid", "softplus", "stick_breaking"]

#: Every bijector bundle, by name.
BIJECTORS = {
    module.bijector.name: module.bijector
    for module in (identity, exp, softplus, sigmoid, stick_breaking)
}
