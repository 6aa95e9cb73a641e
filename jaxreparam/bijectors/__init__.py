"""Bijectors: invertible maps with their log-determinants, and transformed families.

Each name is its ``Bijector`` bundle of pure functions (``jaxreparam.Bijector``),
as each family name is its ``Family``: ``init(key=None, **config) -> params``,
``forward(params, x) -> (y, log|det dy/dx|)``, ``inverse(params, y) -> (x,
log|det dx/dy|)``, ``event_ndims``, ``forward_shape`` and ``inverse_shape``.
Parameter-free bijectors have empty params (``jr.bijectors.exp.init()``, or
``()``); fixed ones keep their natural values (``sigmoid``'s ``low`` and
``high``); learnable ones (``shift``, ``scale``, ``affine``) store
unconstrained values, so that an optax step keeps them invertible.

| bijector | maps the reals onto | log-determinant |
| --- | --- | --- |
| ``identity`` | the reals | elementwise, 0 |
| ``exp`` | ``(0, inf)`` | elementwise |
| ``softplus`` | ``(0, inf)`` | elementwise |
| ``sigmoid`` | ``(low, high)`` | elementwise |
| ``stick_breaking`` | the simplex, ``(K - 1,) -> (K,)`` | over the last axis |
| ``shift``, ``scale``, ``affine`` | the reals (learnable) | elementwise |
| ``coupling``, ``affine_coupling`` | the reals (RealNVP) | over the last axis |
| ``masked_autoregressive``, ``affine_autoregressive`` | the reals (MAF) | last axis |
| ``tanh`` | ``(-1, 1)`` | elementwise, finite for large inputs |
| ``tril_affine`` | the reals, ``loc + L x`` (learnable) | over the last axis |
| ``permute(order)``, ``reverse`` | the reals, coordinates reordered | 0 |
| ``planar``, ``radial`` | the reals (learnable, Rezende & Mohamed 2015) | last axis |
| ``rational_quadratic_spline`` | the reals (splines on an interval) | elementwise |
| ``spline_coupling``, ``spline_autoregressive`` | the reals (NSF) | last axis |

``chain(a, b, ...)`` applies ``a`` first (left to right); its params are the
tuple of theirs. ``repeat(b, n)`` applies ``b`` ``n`` times with stacked params
and a ``lax.scan`` (compile time flat in the depth); ``invert(b)`` swaps
``b``'s directions. Conditional bijectors take a ``context`` in ``forward`` and
``inverse``; chains, repeats and transformed families pass it on.
``transformed(base, bijector)`` is the ``Family`` of the bijector's image of a
base family's draws; it is also ``jaxreparam.transformed``.
"""

from jaxreparam.bijectors._affine import (
    AffineParams,
    ScaleParams,
    ShiftParams,
    affine,
    scale,
    shift,
)
from jaxreparam.bijectors._autoregressive import (
    AutoregressiveParams,
    affine_autoregressive,
    masked_autoregressive,
)
from jaxreparam.bijectors._chain import chain
from jaxreparam.bijectors._coupling import CouplingParams, affine_coupling, coupling
from jaxreparam.bijectors._exp import ExpParams, exp
from jaxreparam.bijectors._identity import IdentityParams, identity
from jaxreparam.bijectors._invert import invert
from jaxreparam.bijectors._permute import PermuteParams, ReverseParams, permute, reverse
from jaxreparam.bijectors._planar import PlanarParams, planar
from jaxreparam.bijectors._radial import RadialParams, radial
from jaxreparam.bijectors._repeat import repeat
from jaxreparam.bijectors._sigmoid import SigmoidParams, sigmoid
from jaxreparam.bijectors._softplus import SoftplusParams, softplus
from jaxreparam.bijectors._spline import (
    SplineParams,
    rational_quadratic_spline,
    spline_autoregressive,
    spline_coupling,
    spline_transformer,
)
from jaxreparam.bijectors._stick_breaking import StickBreakingParams, stick_breaking
from jaxreparam.bijectors._tanh import TanhParams, tanh
from jaxreparam.bijectors._transformed import TransformedParams, transformed
from jaxreparam.bijectors._transformer import (
    Transformer,
    affine_transformer,
)
from jaxreparam.bijectors._tril_affine import TrilAffineParams, tril_affine

__all__ = [
    "BIJECTORS",
    "AffineParams",
    "AutoregressiveParams",
    "CouplingParams",
    "ExpParams",
    "IdentityParams",
    "PermuteParams",
    "PlanarParams",
    "RadialParams",
    "ReverseParams",
    "ScaleParams",
    "ShiftParams",
    "SigmoidParams",
    "SoftplusParams",
    "SplineParams",
    "StickBreakingParams",
    "TanhParams",
    "TransformedParams",
    "Transformer",
    "TrilAffineParams",
    "affine",
    "affine_autoregressive",
    "affine_coupling",
    "affine_transformer",
    "chain",
    "coupling",
    "exp",
    "identity",
    "invert",
    "masked_autoregressive",
    "permute",
    "planar",
    "radial",
    "rational_quadratic_spline",
    "repeat",
    "reverse",
    "scale",
    "shift",
    "sigmoid",
    "softplus",
    "spline_autoregressive",
    "spline_coupling",
    "spline_transformer",
    "stick_breaking",
    "tanh",
    "transformed",
    "tril_affine",
]

#: Every bijector bundle, by name.
BIJECTORS = {
    bijector.name: bijector
    for bijector in (
        identity,
        exp,
        softplus,
        sigmoid,
        stick_breaking,
        shift,
        scale,
        affine,
        tanh,
        tril_affine,
        reverse,
        planar,
        radial,
        rational_quadratic_spline,
    )
}
