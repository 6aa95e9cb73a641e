"""Decoder heads: the likelihood ``p(x | z)`` of one data vector, from a network.

A ``Likelihood`` turns a decoder network's outputs into the params of a
library family (its *outputs*), and scores data against them. Data points are
vectors of ``data_size`` coordinates (flatten images); the decoder network
gives ``num_outputs * data_size`` numbers per latent vector.

Support checks: the data must lie in the likelihood's support (binary for
``bernoulli``, ``[0, 1]`` for the other Bernoulli forms, levels ``0 ..
num_levels - 1`` for ``categorical``, finite for ``gaussian``). Outside it,
``log_prob`` raises a ``ValueError`` naming ``x`` and a bad value eagerly,
gives NaN under ``jax.jit``, and raises a ``checkify`` error under
``jr.checking()``; data whose shape does not match the outputs raise a
``ValueError`` naming both shapes.

Examples:
    >>> x = jnp.array([[0.0, 1.0], [1.0, 1.0]])
    >>> outputs = jr.vae.bernoulli.head((), jnp.zeros((2, 2)))  # logits 0
    >>> jr.vae.bernoulli.log_prob(outputs, x).round(4)  # 2 log(1/2) each
    Array([-1.3863, -1.3863], dtype=float32)
    >>> cb = jr.vae.continuous_bernoulli
    >>> float(cb.log_prob(cb.head((), jnp.zeros(2)), jnp.array([0.3, 0.9])))
    0.0
    >>> ce = jr.vae.bernoulli_cross_entropy
    >>> ce.log_prob(ce.head((), jnp.zeros(1)), jnp.array([0.5])).round(4)
    Array(-0.6931, dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bernoulli as bernoulli_family
from jaxreparam.distributions import _categorical as categorical_family
from jaxreparam.distributions import _continuous_bernoulli as cb_family
from jaxreparam.distributions import _normal as normal_family

__all__ = [
    "Likelihood",
    "bernoulli",
    "bernoulli_cross_entropy",
    "categorical",
    "continuous_bernoulli",
    "gaussian",
]


class Likelihood(NamedTuple):
    """A decoder head: ``p(x | z)`` of one data vector, as pure functions.

    Attributes:
        name: the likelihood's name.
        num_outputs: network outputs per data coordinate.
        init: ``init(data_size) -> params`` of the likelihood itself (a
            learned scale), ``()`` when it has none; part of the VAE params.
        head: ``head(params, network_outputs) -> outputs``: the network's
            ``(..., num_outputs * data_size)`` numbers as the params of a
            library family (the *outputs*, batch shape ``(..., data_size)``).
        log_prob: ``log_prob(outputs, x) -> (...)``, summed over the data
            coordinates; support and shapes checked (see the module).
        mean: ``mean(outputs) -> (..., data_size)``, for reconstructions.
        sample: ``sample(key, outputs) -> (..., data_size)``, data draws.
        check: ``check(x) -> x``, the support check alone.

    Examples:
        >>> head = jr.vae.gaussian(scale="learned")
        >>> params = head.init(3)  # one log-scale per data coordinate
        >>> outputs = head.head(params, jnp.zeros(3))  # the network gives the means
        >>> head.name, head.num_outputs, head.mean(outputs).shape
        ('gaussian', 1, (3,))
    """

    name: str
    num_outputs: int
    init: Callable[[int], Any]
    head: Callable[[Any, Array], Any]
    log_prob: Callable[[Any, ArrayLike], Array]
    mean: Callable[[Any], Array]
    sample: Callable[[ArrayLike, Any], Array]
    check: Callable[[ArrayLike], Array]


def _no_params(data_size: int) -> tuple[()]:
    del data_size
    return ()


def _data_shape(where: str, x: Array, data_shape: tuple[int, ...]) -> None:
    """A ``ValueError`` naming both shapes unless ``x`` has the outputs' data shape."""
    size = data_shape[-1:]
    if x.shape[-1:] != size:
        raise ValueError(
            f"{where}: x of shape {x.shape} does not match the decoder's outputs, "
            f"whose data shape is {data_shape} (data_size {size[0]})"
        )
    try:
        jnp.broadcast_shapes(x.shape, data_shape)
    except ValueError:
        raise ValueError(
            f"{where}: x of shape {x.shape} does not broadcast with the decoder's "
            f"outputs' data shape {data_shape}"
        ) from None


def _checker(
    where: str, valid: Callable[[Any], Any], requirement: str
) -> Callable[[ArrayLike], Array]:
    """``check(x)``: ``x`` as floats, checked elementwise by ``valid``."""

    def check(x: ArrayLike) -> Array:
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.result_type(float))
        return _checks.check_value(where, "x", x, valid, requirement)

    return check


def _make(
    name: str,
    num_outputs: int,
    family_log_prob: Callable[[Any, Array], Array],
    to_outputs: Callable[[Any, Array], Any],
    data_shape: Callable[[Any], tuple[int, ...]],
    mean: Callable[[Any], Array],
    sample: Callable[[ArrayLike, Any], Array],
    check: Callable[[ArrayLike], Array],
    init: Callable[[int], Any] = _no_params,
) -> Likelihood:
    where = f"vae.{name}.log_prob"

    def log_prob(outputs: Any, x: ArrayLike) -> Array:
        x = jnp.asarray(x)
        _data_shape(where, x, data_shape(outputs))
        return jnp.sum(family_log_prob(outputs, check(x)), axis=-1)

    def head(params: Any, network_outputs: ArrayLike) -> Any:
        out = jnp.asarray(network_outputs)
        size = out.shape[-1]
        if size % num_outputs:
            raise ValueError(
                f"vae.{name}.head: the network's last axis ({size}) must be "
                f"{num_outputs} per data coordinate"
            )
        return to_outputs(params, out)

    return Likelihood(name, num_outputs, init, head, log_prob, mean, sample, check)


def _logits_shape(outputs: Any) -> tuple[int, ...]:
    return tuple(outputs.logits.shape)


def _binary(x: Any) -> Any:
    return (x == 0) | (x == 1)


def _unit(x: Any) -> Any:
    return (x >= 0) & (x <= 1)


def _bernoulli_sample(key: ArrayLike, outputs: Any) -> Array:
    return bernoulli_family.sample(key, outputs)


def _sigmoid_mean(outputs: Any) -> Array:
    return jax.nn.sigmoid(outputs.logits)


def _bernoulli_outputs(params: Any, out: Array) -> Any:
    return bernoulli_family.BernoulliParams(out)


def _cross_entropy(outputs: Any, x: Array) -> Array:
    """``x l - softplus(l)``: Bernoulli's log-mass, taken at any (checked) ``x``.

    For ``bernoulli`` the likelihood's ``check`` has already refused (or set
    to NaN) any ``x`` off ``{0, 1}``, so this is the log-mass of binary data;
    for ``bernoulli_cross_entropy``, ``x`` is any value in ``[0, 1]``. The
    family's ``log_prob`` also sends ``x`` off ``{0, 1}`` to ``-inf``, which
    the likelihood's check makes redundant here, at a cost: XLA's CPU backend
    evaluates this form's value inside the kernel that sums it over
    ``data_size``, and its gradient in one more pass; the family's ``cap`` (a
    select on ``x``) and its shared ``e^-|l|`` are two more arrays written and
    read. On ``(6400, 784)`` logits summed per row, value and
    gradient, the family's form took 1.10-1.22x this one's (issue 16; 1.6x
    before, when an IWAE K=50 step of a 784-400-20 VAE with it took 1.16x a
    hand-written one's). (An infinite logit, which a decoder network does not
    give, would make this ``inf - inf``: the family's form avoids that.)
    """
    logits = outputs.logits
    return x * logits - bernoulli_family.softplus(logits)


def _bernoulli_form(
    name: str, valid: Callable[[Any], Any], requirement: str
) -> Likelihood:
    """A Bernoulli head on the logits scoring by :func:`_cross_entropy`.

    The forms differ only in the data they accept: ``valid``, elementwise.
    """
    return _make(
        name,
        1,
        _cross_entropy,
        _bernoulli_outputs,
        _logits_shape,
        _sigmoid_mean,
        _bernoulli_sample,
        _checker(f"vae.{name}", valid, requirement),
    )


bernoulli = _bernoulli_form("bernoulli", _binary, "binary (0 or 1)")
bernoulli_cross_entropy = _bernoulli_form("bernoulli_cross_entropy", _unit, "in [0, 1]")


def _cb_outputs(params: Any, out: Array) -> Any:
    return cb_family.ContinuousBernoulliParams(out)


continuous_bernoulli = _make(
    "continuous_bernoulli",
    1,
    cb_family.log_prob,
    _cb_outputs,
    _logits_shape,
    cb_family.mean,
    cb_family.sample,
    _checker("vae.continuous_bernoulli", _unit, "in [0, 1]"),
)


def _finite(x: Any) -> Any:
    return jnp.isfinite(x)


def gaussian(scale: float | str = 1.0) -> Likelihood:
    """Continuous data: ``p(x | z) = prod_d N(x_d; mu_d(z), sigma_d^2)``.

    The network gives the mean ``mu`` (one output per coordinate); outputs are
    ``NormalParams(loc=mu, log_scale)``.

    Args:
        scale: a fixed positive ``sigma`` (the same for every coordinate), or
            ``"learned"``: one log-scale per coordinate, a learnable part of
            the VAE params (``{"log_scale": zeros(data_size)}`` at the start,
            not a function of ``z``).

    Returns:
        A ``Likelihood``; data must be finite.

    Raises:
        ValueError: a scale that is not positive and finite, or not "learned".

    Examples:
        >>> lik = jr.vae.gaussian(scale=0.5)
        >>> outputs = lik.head(lik.init(3), jnp.zeros(3))
        >>> round(float(lik.log_prob(outputs, jnp.zeros(3))), 4)  # 3 log N(0; 0, 1/4)
        -0.6774
    """
    where = "vae.gaussian"
    learned = scale == "learned"
    if not learned:
        if isinstance(scale, bool) or not isinstance(scale, int | float):
            raise ValueError(
                f"{where}: scale must be a positive float or 'learned', got {scale!r}"
            )
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"{where}: scale must be finite and positive, got {scale}")
    log_scale = 0.0 if learned else math.log(scale)

    def init(data_size: int) -> Any:
        return {"log_scale": jnp.zeros(data_size)} if learned else ()

    def to_outputs(params: Any, out: Array) -> Any:
        raw = params["log_scale"] if learned else jnp.asarray(log_scale, out.dtype)
        return normal_family.NormalParams(out, jnp.broadcast_to(raw, out.shape))

    def mean(outputs: Any) -> Array:
        return outputs.loc

    def sample(key: ArrayLike, outputs: Any) -> Array:
        return normal_family.normal.sample(key, outputs)

    name = "gaussian"
    return _make(
        name,
        1,
        normal_family.normal.log_prob,
        to_outputs,
        lambda outputs: tuple(outputs.loc.shape),
        mean,
        sample,
        _checker(f"vae.{name}", _finite, "finite"),
        init,
    )


def categorical(num_levels: int = 17) -> Likelihood:
    """Counts ``0 .. num_levels - 1`` per coordinate, a categorical over the levels.

    For grey levels such as scikit-learn's digits (integers 0..16, hence the
    default 17). The network gives ``num_levels`` logits per coordinate,
    coordinate-major (``reshape(..., data_size, num_levels)``); outputs are
    ``CategoricalParams`` with logits ``(..., data_size, num_levels)``. Data
    are integer levels, as integers or as whole floats. ``mean`` is the
    expected level ``sum_k k p_k``; ``sample`` draws levels (as floats).

    Args:
        num_levels: the number of levels, at least 2.

    Returns:
        A ``Likelihood``.

    Raises:
        TypeError: ``num_levels`` is not an int.
        ValueError: ``num_levels < 2``.

    Examples:
        >>> lik = jr.vae.categorical(num_levels=3)
        >>> outputs = lik.head((), jnp.zeros(6))  # 2 coordinates, uniform levels
        >>> round(float(lik.log_prob(outputs, jnp.array([0.0, 2.0]))), 4)
        -2.1972
    """
    where = "vae.categorical"
    if isinstance(num_levels, bool) or not isinstance(num_levels, int):
        raise TypeError(f"{where}: num_levels must be an int, got {num_levels!r}")
    if num_levels < 2:
        raise ValueError(f"{where}: num_levels must be at least 2, got {num_levels}")

    def valid(x: Any) -> Any:
        return (x >= 0) & (x < num_levels) & (x == jnp.round(x))

    def to_outputs(params: Any, out: Array) -> Any:
        shape = out.shape[:-1] + (out.shape[-1] // num_levels, num_levels)
        return categorical_family.CategoricalParams(out.reshape(shape))

    def log_prob(outputs: Any, x: Array) -> Array:
        logits = outputs.logits  # by logsumexp: fuses better than log_softmax
        log_p = logits - jax.scipy.special.logsumexp(logits, axis=-1, keepdims=True)
        bad = jnp.isnan(x)
        labels = jnp.clip(jnp.where(bad, 0, x), 0, num_levels - 1).astype(jnp.int32)
        shape = jnp.broadcast_shapes(labels.shape, log_p.shape[:-1])
        index = jnp.broadcast_to(labels, shape)[..., None]
        log_p = jnp.broadcast_to(log_p, shape + (num_levels,))
        value = jnp.take_along_axis(log_p, index, axis=-1)[..., 0]
        return jnp.where(bad, jnp.nan, value)

    def mean(outputs: Any) -> Array:
        p = jax.nn.softmax(outputs.logits, axis=-1)
        return p @ jnp.arange(num_levels, dtype=p.dtype)

    def sample(key: ArrayLike, outputs: Any) -> Array:
        key = _checks.check_key(key)
        index = jax.random.categorical(key, outputs.logits, axis=-1)
        return index.astype(outputs.logits.dtype)

    return _make(
        "categorical",
        num_levels,
        log_prob,
        to_outputs,
        lambda outputs: tuple(outputs.logits.shape[:-1]),
        mean,
        sample,
        _checker(where, valid, f"integer levels in 0 .. {num_levels - 1}"),
    )
