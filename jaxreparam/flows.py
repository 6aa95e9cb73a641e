"""Normalizing flows, built: ``(params, family)`` for the usual stacks of layers.

Each builder returns ``(params, family)``: ``family`` is
``jaxreparam.transformed(base, repeat(chain(reverse, layer), num_layers))``, a
``Family`` like any other (``sample``, ``sample_and_log_prob``, ``log_prob``),
and ``params`` its ``TransformedParams``: the base's params and the layers'
params stacked along a leading axis of ``num_layers``. The reverse comes
before each layer in the sampling direction, so the layer next to the data
reads the data in its own order (an autoregressive layer's coordinate ``i``
depends on ``x_<i``, a coupling layer keeps the first half), as in
Papamakarios et al. (2017) and flowjax; a reverse between the data and the
first layer instead (``chain(layer, reverse)``) is the same model on the
reversed coordinates, which with affine layers can fit a given data set much
better or worse (two moons: 0.4 nats worse). The layers run under one
``jax.lax.scan`` (``jaxreparam.bijectors.repeat``), so the compiled program and
its compile time do not grow with the depth. Everything in ``params`` is
learnable, the base included, by any estimator, objective, ``jaxreparam.fit``
or ``jaxreparam.vi`` (``kind="flow"``).

The base is by default a standard diagonal Gaussian of size ``dim``
(``jr.multivariate_normal_diag``, learnable loc and scale); pass ``base=(family,
params)`` for another family whose event shape is ``(dim,)``.

| builder | layer (with ``reverse`` between layers) | one pass for |
| --- | --- | --- |
| ``planar_flow`` | ``planar`` (Rezende & Mohamed 2015), no reverse | sampling |
| ``radial_flow`` | ``radial`` (Rezende & Mohamed 2015), no reverse | sampling |
| ``real_nvp`` | ``affine_coupling`` (Dinh et al. 2017) | both |
| ``maf`` | ``affine_autoregressive`` (Papamakarios et al. 2017) | density |
| ``iaf`` | ``invert(affine_autoregressive)`` (Kingma et al. 2016) | sampling |
| ``neural_spline_flow`` | ``spline_coupling`` or ``spline_autoregressive`` | (C) both |

Planar and radial flows are meant as variational posteriors, fitted by the
reverse KL: they sample in one pass; their ``log_prob`` of a given point
inverts each layer (radial in closed form, planar by a safeguarded Newton
solve along its normal, exact to rounding). A MAF
samples with one network pass per coordinate and evaluates ``log_prob`` in
one pass; an IAF the other way round. Coupling and autoregressive layers start
at the identity (their networks' last layers start at zero), so such a flow
starts as its base. ``neural_spline_flow`` is Durkan et al. (2019)'s RQ-NSF (C)
or, with ``kind="autoregressive"``, RQ-NSF (AR), a MAF of splines.

**Conditional flows.** With ``context_size > 0`` every conditioner network
also sees a context vector: set it in the params,
``params._replace(context=c)`` (``c`` of shape ``(..., context_size)``, its
batch axes broadcast against the draws'), or return
``TransformedParams(base, flow_params, context=h(x))`` from an encoder for an
amortized posterior ``q(z | x)``.

References:
    Rezende & Mohamed, "Variational inference with normalizing flows", ICML
    2015. Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP",
    ICLR 2017. Papamakarios, Pavlakou & Murray, "Masked autoregressive flow for
    density estimation", NeurIPS 2017. Kingma, Salimans, Jozefowicz, Chen,
    Sutskever & Welling, "Improved variational inference with inverse
    autoregressive flow", NeurIPS 2016. Durkan, Bekasov, Murray & Papamakarios,
    "Neural spline flows", NeurIPS 2019.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from jaxreparam import _checks, bijectors
from jaxreparam.base import ArrayLike, Bijector, Family
from jaxreparam.bijectors import TransformedParams
from jaxreparam.distributions import _multivariate_normal as multivariate_normal

__all__ = [
    "maf",
    "iaf",
    "neural_spline_flow",
    "planar_flow",
    "radial_flow",
    "real_nvp",
]

Flow = tuple[TransformedParams, Family]
HIDDEN_SIZES = (32, 32)
KINDS = ("coupling", "autoregressive")


def _count(where: str, name: str, value: Any, low: int = 1) -> int:
    """``value`` as an int ``>= low``, else an error naming ``name`` and the value."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{where}: {name} must be an int, got {type(value).__name__} {value!r}"
        )
    if value < low:
        raise ValueError(f"{where}: {name} must be at least {low}, got {value}")
    return value


def _hidden(where: str, hidden_sizes: Any) -> tuple[int, ...]:
    if isinstance(hidden_sizes, int) or not isinstance(hidden_sizes, Sequence):
        raise TypeError(
            f"{where}: hidden_sizes must be a sequence of ints, got {hidden_sizes!r}"
        )
    return tuple(_count(where, "hidden_sizes", n) for n in hidden_sizes)


def _base(where: str, dim: int, base: Any) -> tuple[Family, Any]:
    """The base family and params: by default a standard Gaussian on ``R^dim``."""
    if base is None:
        family = multivariate_normal.multivariate_normal_diag
        return family, family.init(loc=jnp.zeros(dim), scale_diag=jnp.ones(dim))
    if not (isinstance(base, tuple) and len(base) == 2 and isinstance(base[0], Family)):
        raise TypeError(
            f"{where}: base must be None or a pair (family, params), got "
            f"{type(base).__name__}"
        )
    family, params = base
    event = tuple(family.event_shape(params))
    if event != (dim,):
        raise ValueError(
            f"{where}: base must have event shape ({dim},) (dim), got {event} "
            f"from {family.name}"
        )
    return family, params


def _assemble(
    where: str,
    key: ArrayLike,
    dim: int,
    layer: Bijector,
    num_layers: int,
    base: Any,
    mix: bool = True,
) -> Flow:
    """``transformed(base, repeat(chain(reverse, layer), num_layers))`` and params.

    In the density direction (data to noise) the data meet a layer first, in
    their own coordinate order, then a reverse (see the module docstring).
    """
    base_family, base_params = _base(where, dim, base)
    stack = bijectors.chain(bijectors.reverse, layer) if mix else layer
    flow = bijectors.repeat(stack, num_layers)
    family = bijectors.transformed(base_family, flow)
    return TransformedParams(base_params, flow.init(key)), family


def _sized(bijector: Bijector, dim: int) -> Bijector:
    """``bijector`` whose ``init(key)`` makes params of event size ``dim``."""
    init = bijector.init
    return bijector._replace(init=lambda key=None: init(key, dim=dim))


def _check(where: str, key: ArrayLike, dim: Any, num_layers: Any) -> int:
    """Checks the key, ``dim`` and ``num_layers`` first; ``dim`` as an int."""
    _checks.check_key(key)
    dim = _count(where, "dim", dim)
    _count(where, "num_layers", num_layers)
    return dim


def planar_flow(
    key: ArrayLike, dim: int, *, num_layers: int = 8, base: Any = None
) -> Flow:
    """A planar flow: ``num_layers`` planar layers over a Gaussian on ``R^dim``.

    Each layer is ``y = x + u tanh(w . x + b)`` (Rezende & Mohamed 2015, eq.
    10), with ``u`` constrained so that ``w . u > -1``: the map stays
    invertible for any params (``jr.bijectors.planar``). It is a variational
    posterior, fitted by the reverse KL (``jr.objectives.elbo``, ``jr.vi``):
    ``sample_and_log_prob`` is one pass; ``log_prob`` of a given point
    inverts each layer numerically (no closed form), as ``gradient="stl"``
    and ``"dreg"`` need. The layers start at small random maps.

    Args:
        key: a PRNG key, for the layers' initial params.
        dim: the event size, a positive int.
        num_layers: the number of planar layers ``K``, a positive int.
        base: ``None`` (a standard diagonal Gaussian on ``R^dim``, learnable)
            or a pair ``(family, params)`` with event shape ``(dim,)``.

    Returns:
        ``(params, family)``; ``params.bijector`` holds the layers' params,
        stacked along a leading axis of ``num_layers``.

    Raises:
        TypeError: ``dim`` or ``num_layers`` is not an int, ``base`` not a
            pair, ``key`` not a PRNG key.
        ValueError: ``dim`` or ``num_layers`` is below 1, or ``base`` has
            another event shape.

    Examples:
        >>> params, flow = jr.flows.planar_flow(jax.random.key(0), 2, num_layers=4)
        >>> z, log_q = flow.sample_and_log_prob(jax.random.key(1), params, (5,))
        >>> z.shape, log_q.shape
        ((5, 2), (5,))

    References:
        Rezende & Mohamed, "Variational inference with normalizing flows",
        ICML 2015, section 4.1.
    """
    where = "flows.planar_flow"
    dim = _check(where, key, dim, num_layers)
    layer = _sized(bijectors.planar, dim)
    return _assemble(where, key, dim, layer, num_layers, base, mix=False)


def radial_flow(
    key: ArrayLike, dim: int, *, num_layers: int = 8, base: Any = None
) -> Flow:
    """A radial flow: ``num_layers`` radial layers over a Gaussian on ``R^dim``.

    Each layer is ``y = x + beta h(alpha, r) (x - x0)`` with ``r = |x - x0|``
    and ``h = 1 / (alpha + r)`` (Rezende & Mohamed 2015, eq. 14), with
    ``alpha > 0`` and ``beta >= -alpha``: the map stays invertible for any
    params (``jr.bijectors.radial``); its inverse is closed form. The layers
    start at random maps (``z0`` standard normal).

    Args:
        key: a PRNG key, for the layers' initial params.
        dim: the event size, a positive int.
        num_layers: the number of radial layers, a positive int.
        base: ``None`` (a standard diagonal Gaussian on ``R^dim``, learnable)
            or a pair ``(family, params)`` with event shape ``(dim,)``.

    Returns:
        ``(params, family)``, as :func:`planar_flow`'s.

    Raises:
        TypeError: ``dim`` or ``num_layers`` is not an int, ``base`` not a
            pair, ``key`` not a PRNG key.
        ValueError: ``dim`` or ``num_layers`` is below 1, or ``base`` has
            another event shape.

    Examples:
        >>> params, flow = jr.flows.radial_flow(jax.random.key(0), 3, num_layers=4)
        >>> flow.sample(jax.random.key(1), params, (5,)).shape
        (5, 3)

    References:
        Rezende & Mohamed, "Variational inference with normalizing flows",
        ICML 2015, section 4.1.
    """
    where = "flows.radial_flow"
    dim = _check(where, key, dim, num_layers)
    layer = _sized(bijectors.radial, dim)
    return _assemble(where, key, dim, layer, num_layers, base, mix=False)


def real_nvp(
    key: ArrayLike,
    dim: int,
    *,
    num_layers: int = 4,
    hidden_sizes: Sequence[int] = HIDDEN_SIZES,
    context_size: int = 0,
    base: Any = None,
) -> Flow:
    """RealNVP: affine coupling layers, the halves swapped between layers.

    Each layer keeps one half of the coordinates and moves the other half by
    ``y = shift + scale x``, both computed by an MLP from the kept half (and
    the context); a ``reverse`` between layers lets every coordinate move.
    Sampling and ``log_prob`` are each one pass per layer.

    Args:
        key: a PRNG key, for the networks' initial weights.
        dim: the event size, at least 2.
        num_layers: the number of coupling layers, a positive int.
        hidden_sizes: the widths of each conditioner MLP's hidden layers.
        context_size: the size of the context vector of a conditional flow;
            0: unconditional.
        base: ``None`` (a standard diagonal Gaussian on ``R^dim``, learnable)
            or a pair ``(family, params)`` with event shape ``(dim,)``.

    Returns:
        ``(params, family)``; the flow starts at the identity, so the family
        starts as the base.

    Raises:
        TypeError: an argument of the wrong type (named).
        ValueError: ``dim < 2``, ``num_layers < 1``, a negative
            ``context_size``, or ``base`` with another event shape.

    Examples:
        >>> params, flow = jr.flows.real_nvp(jax.random.key(0), 2, num_layers=3)
        >>> z, log_q = flow.sample_and_log_prob(jax.random.key(1), params, (5,))
        >>> bool(jnp.allclose(log_q, flow.log_prob(params, z), atol=1e-5))
        True

    References:
        Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP",
        ICLR 2017.
    """
    where = "flows.real_nvp"
    dim = _check(where, key, dim, num_layers)
    _count(where, "dim", dim, low=2)
    layer = bijectors.affine_coupling(
        dim,
        hidden_sizes=_hidden(where, hidden_sizes),
        context_size=_count(where, "context_size", context_size, low=0),
    )
    return _assemble(where, key, dim, layer, num_layers, base)


def _autoregressive(
    where: str,
    key: ArrayLike,
    dim: int,
    num_layers: int,
    hidden_sizes: Any,
    context_size: int,
    base: Any,
    inverted: bool,
) -> Flow:
    dim = _check(where, key, dim, num_layers)
    layer = bijectors.affine_autoregressive(
        dim,
        hidden_sizes=_hidden(where, hidden_sizes),
        context_size=_count(where, "context_size", context_size, low=0),
    )
    if inverted:
        layer = bijectors.invert(layer)
    return _assemble(where, key, dim, layer, num_layers, base)


def maf(
    key: ArrayLike,
    dim: int,
    *,
    num_layers: int = 4,
    hidden_sizes: Sequence[int] = HIDDEN_SIZES,
    context_size: int = 0,
    base: Any = None,
) -> Flow:
    """A masked autoregressive flow (MAF): fast density, sequential sampling.

    Each layer is an affine autoregressive map whose inverse (data to noise,
    the density direction) ``x_i = (y_i - shift_i(y_{<i})) / scale_i(y_{<i})``
    takes one pass of a masked MLP (MADE); its forward (sampling) takes one
    pass per coordinate. A ``reverse`` between layers changes the order.

    Args:
        key: a PRNG key, for the networks' initial weights.
        dim: the event size, a positive int.
        num_layers: the number of autoregressive layers, a positive int.
        hidden_sizes: the widths of each masked MLP's hidden layers.
        context_size: the size of the context vector of a conditional flow;
            0: unconditional.
        base: ``None`` (a standard diagonal Gaussian on ``R^dim``, learnable)
            or a pair ``(family, params)`` with event shape ``(dim,)``.

    Returns:
        ``(params, family)``; the flow starts at the identity. Fit it by
        maximum likelihood (``-family.log_prob(params, data)``).

    Raises:
        TypeError: an argument of the wrong type (named).
        ValueError: ``dim`` or ``num_layers`` below 1, a negative
            ``context_size``, or ``base`` with another event shape.

    Examples:
        >>> params, flow = jr.flows.maf(jax.random.key(0), 3, num_layers=2)
        >>> flow.log_prob(params, jnp.zeros((4, 3))).shape
        (4,)

    References:
        Papamakarios, Pavlakou & Murray, "Masked autoregressive flow for
        density estimation", NeurIPS 2017. Germain, Gregor, Murray &
        Larochelle, "MADE: masked autoencoder for distribution estimation",
        ICML 2015.
    """
    return _autoregressive(
        "flows.maf", key, dim, num_layers, hidden_sizes, context_size, base, False
    )


def iaf(
    key: ArrayLike,
    dim: int,
    *,
    num_layers: int = 4,
    hidden_sizes: Sequence[int] = HIDDEN_SIZES,
    context_size: int = 0,
    base: Any = None,
) -> Flow:
    """An inverse autoregressive flow (IAF): fast sampling, sequential density.

    Each layer is a MAF layer inverted (``jr.bijectors.invert``): sampling
    ``y_i = shift_i(x_{<i}) + scale_i(x_{<i}) x_i`` takes one pass of a masked
    MLP, and so does ``sample_and_log_prob``, as a variational posterior needs;
    the ``log_prob`` of a given point takes one pass per coordinate.

    Args:
        key: a PRNG key, for the networks' initial weights.
        dim: the event size, a positive int.
        num_layers: the number of autoregressive layers, a positive int.
        hidden_sizes: the widths of each masked MLP's hidden layers.
        context_size: the size of the context vector of a conditional flow
            (an amortized posterior ``q(z | x)``); 0: unconditional.
        base: ``None`` (a standard diagonal Gaussian on ``R^dim``, learnable)
            or a pair ``(family, params)`` with event shape ``(dim,)``.

    Returns:
        ``(params, family)``; the flow starts at the identity.

    Raises:
        TypeError: an argument of the wrong type (named).
        ValueError: ``dim`` or ``num_layers`` below 1, a negative
            ``context_size``, or ``base`` with another event shape.

    Examples:
        >>> params, flow = jr.flows.iaf(jax.random.key(0), 3, num_layers=2)
        >>> z, log_q = flow.sample_and_log_prob(jax.random.key(1), params, (4,))
        >>> z.shape, log_q.shape
        ((4, 3), (4,))

    References:
        Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling, "Improved
        variational inference with inverse autoregressive flow", NeurIPS 2016.
    """
    return _autoregressive(
        "flows.iaf", key, dim, num_layers, hidden_sizes, context_size, base, True
    )


def neural_spline_flow(
    key: ArrayLike,
    dim: int,
    *,
    num_layers: int = 4,
    hidden_sizes: Sequence[int] = HIDDEN_SIZES,
    context_size: int = 0,
    kind: str = "coupling",
    num_bins: int = 8,
    bound: float = 3.0,
    base: Any = None,
) -> Flow:
    """A neural spline flow: rational-quadratic spline layers (Durkan et al. 2019).

    Each layer moves coordinates by monotone rational-quadratic splines on
    ``[-bound, bound]`` (the identity outside), whose bins and derivatives come
    from a network: a coupling layer (``kind="coupling"``, RQ-NSF (C): one pass
    each way) or an autoregressive one (``kind="autoregressive"``, RQ-NSF (AR):
    one pass for ``log_prob``, one per coordinate for sampling); a ``reverse``
    between layers.

    Args:
        key: a PRNG key, for the networks' initial weights.
        dim: the event size, a positive int (at least 2 for coupling).
        num_layers: the number of spline layers, a positive int.
        hidden_sizes: the widths of each conditioner's hidden layers.
        context_size: the size of the context vector of a conditional flow;
            0: unconditional.
        kind: ``"coupling"`` or ``"autoregressive"``.
        num_bins: the number of spline bins per coordinate.
        bound: the half-width of the spline's interval, positive.
        base: ``None`` (a standard diagonal Gaussian on ``R^dim``, learnable)
            or a pair ``(family, params)`` with event shape ``(dim,)``.

    Returns:
        ``(params, family)``; the flow starts at the identity.

    Raises:
        TypeError: an argument of the wrong type (named).
        ValueError: ``dim`` or ``num_layers`` below 1 (``dim`` below 2 for
            coupling), an unknown ``kind``, a negative ``context_size``, a bad
            spline setting, or ``base`` with another event shape.

    Examples:
        >>> params, flow = jr.flows.neural_spline_flow(
        ...     jax.random.key(0), 2, num_layers=2, kind="autoregressive")
        >>> flow.log_prob(params, jnp.zeros((4, 2))).shape
        (4,)

    References:
        Durkan, Bekasov, Murray & Papamakarios, "Neural spline flows", NeurIPS
        2019.
    """
    where = "flows.neural_spline_flow"
    dim = _check(where, key, dim, num_layers)
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    if kind == "coupling":
        _count(where, "dim", dim, low=2)
    make = (
        bijectors.spline_coupling if kind == "coupling"
        else bijectors.spline_autoregressive
    )  # fmt: skip
    layer = make(
        dim,
        hidden_sizes=_hidden(where, hidden_sizes),
        context_size=_count(where, "context_size", context_size, low=0),
        num_bins=num_bins,
        bound=bound,
    )
    return _assemble(where, key, dim, layer, num_layers, base)
