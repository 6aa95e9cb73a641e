"""Mean-field Normal posteriors over any params pytree (Bayes by backprop).

``mean_field(params)`` turns the params of an ordinary network (a tuple of
``Linear`` layers, a dict, the arrays of an equinox module from
``eqx.partition(model, eqx.is_inexact_array)``) into ``MeanFieldParams(loc,
log_scale)``: two pytrees shaped like ``params``, every weight ``w`` an
independent ``N(loc, exp(log_scale)^2)``. The scale is stored as its log, like
``jr.normal``'s, so both trees are unconstrained and any optax step keeps the
scales positive (Blundell et al. store ``rho`` with ``scale = softplus(rho)``
for the same reason; the log is this library's convention).

``mean_field_family`` is the ``Family``-like bundle of those posteriors: a draw
is a whole params tree, ``loc + scale * eps`` leaf by leaf, reparameterized.
``bayes_by_backprop(apply)`` turns a network's ``apply(params, x)`` into
``apply(key, mf_params, x)`` that draws the whole tree once per call.

Examples:
    >>> net = jr.nn.mlp(3, 1, hidden_sizes=(8,))
    >>> mf_params = jr.nn.mean_field(net.init(jax.random.key(0)))  # q(weights)
    >>> type(mf_params).__name__, type(mf_params.loc).__name__
    ('MeanFieldParams', 'tuple')
    >>> weights, log_q = jr.nn.mean_field_family.sample_and_log_prob(
    ...     jax.random.key(1), mf_params)  # a whole params tree, and log q of it
    >>> net.apply(weights, jnp.ones((5, 3))).shape, log_q.shape
    ((5, 1), ())
    >>> apply = jr.nn.bayes_by_backprop(net.apply)  # apply(key, mf_params, x)
    >>> apply(jax.random.key(2), mf_params, jnp.ones((5, 3))).shape
    (5, 1)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family

#: The default initial posterior standard deviation of every weight.
DEFAULT_INIT_SCALE = 1e-2


class MeanFieldParams(NamedTuple):
    """A mean-field Normal over a params pytree: two trees shaped like it.

    Attributes:
        loc: the posterior means, a pytree shaped like the network's params.
        log_scale: the logs of the posterior standard deviations, the same
            tree structure and shapes (unconstrained).

    Examples:
        >>> mf = jr.nn.mean_field({"w": jnp.zeros((2, 3))}, init_scale=0.1)
        >>> mf._fields, mf.loc["w"].shape, mf.log_scale["w"].shape
        (('loc', 'log_scale'), (2, 3), (2, 3))
        >>> round(float(jnp.exp(mf.log_scale["w"][0, 0])), 3)  # the initial scale
        0.1
    """

    loc: Any
    log_scale: Any


def is_mean_field(node: Any) -> bool:
    """Whether ``node`` is a ``MeanFieldParams`` (a leaf for ``jax.tree``)."""
    return isinstance(node, MeanFieldParams)


def mean_field(
    params: Any, *, init_scale: float = DEFAULT_INIT_SCALE
) -> MeanFieldParams:
    """A mean-field Normal posterior centred on ``params``.

    Every floating leaf ``w`` of ``params`` becomes ``N(w, init_scale^2)``.
    The default ``init_scale = 0.01`` is small against the weights of a
    freshly initialised layer (``1/sqrt(fan_in)`` is 0.04 at a width of 512),
    so the network starts close to the deterministic one and its first
    gradients are not drowned in weight noise (Blundell et al. 2015 start
    with small standard deviations for this reason), yet not so small that
    the log-scales need thousands of Adam steps (each moves a log-scale by
    about the learning rate) to reach a typical posterior scale of 0.02-0.1.

    Args:
        params: a pytree of floating arrays (``None`` leaves, as
            ``eqx.partition`` leaves them, stay ``None``).
        init_scale: the initial standard deviation of every weight, a
            positive float.

    Returns:
        ``MeanFieldParams(loc=params, log_scale=<tree of log(init_scale)>)``.

    Raises:
        TypeError: a leaf is not a floating array.
        ValueError: ``init_scale`` is not finite and positive.

    Examples:
        >>> params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
        >>> mf = jr.nn.mean_field(params, init_scale=0.1)
        >>> mf.log_scale["w"].shape, round(float(jnp.exp(mf.log_scale["b"][0])), 6)
        ((2, 3), 0.1)
    """
    where = "nn.mean_field"
    scale = _checks.positive(where, "init_scale", init_scale)
    loc = jax.tree.map(lambda leaf: _checks.as_float(where, "params", leaf), params)
    log_scale = jax.tree.map(
        lambda leaf: jnp.full(leaf.shape, jnp.log(scale), leaf.dtype), loc
    )
    return MeanFieldParams(loc, log_scale)


def posterior_mean(mf_params: Any) -> Any:
    """The ordinary network's params at the posterior mean.

    Every ``MeanFieldParams`` node of ``mf_params`` (one at the top, or one per
    layer of a network composed by hand) is replaced by its ``loc``; other
    leaves (deterministic params) are kept.

    Args:
        mf_params: a ``MeanFieldParams``, or a pytree holding them.

    Returns:
        The params pytree that the deterministic network's ``apply`` takes.

    Examples:
        >>> params = (jnp.ones(2), jnp.zeros(3))
        >>> back = jr.nn.posterior_mean(jr.nn.mean_field(params))
        >>> all(bool(jnp.all(a == b)) for a, b in zip(back, params))
        True
    """
    return jax.tree.map(
        lambda node: node.loc if is_mean_field(node) else node,
        mf_params,
        is_leaf=is_mean_field,
    )


def _check_params(where: str, mf_params: Any) -> tuple[list, list, Any]:
    """The loc and log-scale leaves of ``mf_params`` and the loc tree's structure."""
    if not is_mean_field(mf_params):
        raise TypeError(
            f"{where}: params must be MeanFieldParams (from jr.nn.mean_field), got "
            f"{type(mf_params).__name__}"
        )
    locs, tree = jax.tree.flatten(mf_params.loc)
    try:
        log_scales = tree.flatten_up_to(mf_params.log_scale)
    except (ValueError, TypeError):
        raise ValueError(
            f"{where}: loc and log_scale must be pytrees of the same structure, "
            f"got {tree} and {jax.tree.structure(mf_params.log_scale)}"
        ) from None
    return locs, log_scales, tree


def sample_and_log_prob(
    key: ArrayLike, params: MeanFieldParams, sample_shape: Any = ()
) -> tuple[Any, Array]:
    """A draw of the whole params tree and its log-density under ``params``.

    Leaf ``i`` is ``loc_i + exp(log_scale_i) * eps_i`` with ``eps_i`` drawn with
    the ``i``-th key of ``jax.random.split(key, num_leaves)`` (leaves in
    ``jax.tree`` order), so the draw is a deterministic function of ``key``.

    Args:
        key: a PRNG key.
        params: a ``MeanFieldParams``.
        sample_shape: leading axes of independent draws.

    Returns:
        ``(tree, log_q)``: the draw, each leaf of shape ``sample_shape +
        leaf.shape``, and ``log q(tree)`` summed over every weight, of shape
        ``sample_shape``.

    Examples:
        >>> mf = jr.nn.mean_field((jnp.zeros(3), jnp.zeros(2)), init_scale=1.0)
        >>> draw, log_q = jr.nn.mean_field_family.sample_and_log_prob(
        ...     jax.random.key(0), mf, (4,))
        >>> draw[0].shape, log_q.shape
        ((4, 3), (4,))
    """
    where = "nn.mean_field_family"
    key = _checks.check_key(key)
    shape = _checks.check_sample_shape(sample_shape)
    locs, log_scales, tree = _check_params(where, params)
    keys = jax.random.split(key, len(locs)) if locs else []
    draws, log_q = [], jnp.zeros(shape)
    for leaf_key, loc, log_scale in zip(keys, locs, log_scales, strict=True):
        loc, log_scale = jnp.asarray(loc), jnp.asarray(log_scale)
        eps = jax.random.normal(leaf_key, shape + loc.shape, loc.dtype)
        draws.append(loc + jnp.exp(log_scale) * eps)
        density = -0.5 * eps**2 - log_scale - _checks.HALF_LOG_TWO_PI
        log_q = log_q + jnp.sum(density, axis=tuple(range(len(shape), eps.ndim)))
    return jax.tree.unflatten(tree, draws), log_q


def sample(key: ArrayLike, params: MeanFieldParams, sample_shape: Any = ()) -> Any:
    """A draw of the whole params tree (see :func:`sample_and_log_prob`).

    Examples:
        >>> mf = jr.nn.mean_field({"w": jnp.zeros((2, 3))})
        >>> jr.nn.mean_field_family.sample(jax.random.key(0), mf)["w"].shape
        (2, 3)
    """
    return sample_and_log_prob(key, params, sample_shape)[0]


def log_prob(params: MeanFieldParams, value: Any) -> Array:
    """``log q(value)``, summed over every weight of the tree.

    Args:
        params: a ``MeanFieldParams``.
        value: a params tree of the same structure; its leaves may have extra
            leading axes (a batch of trees), which every leaf must share.

    Returns:
        The log-density, of the shape of those leading axes.

    Examples:
        >>> mf = jr.nn.mean_field((jnp.zeros(2),), init_scale=1.0)
        >>> float(jr.nn.mean_field_family.log_prob(mf, (jnp.zeros(2),)))  # 2 N(0|0,1)
        -1.8378770...
    """
    where = "nn.mean_field_family.log_prob"
    locs, log_scales, tree = _check_params(where, params)
    try:
        values = tree.flatten_up_to(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"{where}: value must have the params' tree structure {tree}, got "
            f"{jax.tree.structure(value)}"
        ) from None
    total: Array = jnp.zeros(())
    for loc, log_scale, leaf in zip(locs, log_scales, values, strict=True):
        leaf = jnp.asarray(leaf)
        x = (leaf - loc) * jnp.exp(-log_scale)
        density = -0.5 * x**2 - log_scale - _checks.HALF_LOG_TWO_PI
        total = total + jnp.sum(
            density, axis=tuple(range(leaf.ndim - jnp.ndim(loc), leaf.ndim))
        )
    return total


def _to_natural(params: MeanFieldParams) -> dict[str, Any]:
    return {"loc": params.loc, "scale": jax.tree.map(jnp.exp, params.log_scale)}


def _entropy(params: MeanFieldParams) -> Array:
    """The entropy of the whole tree, ``sum (log_scale + log(2 pi e) / 2)``."""
    constant = 0.5 * math.log(2 * math.pi * math.e)
    leaves = jax.tree.leaves(params.log_scale)
    return sum((jnp.sum(s + constant) for s in leaves), jnp.zeros(()))


def _variance(params: MeanFieldParams) -> Any:
    return jax.tree.map(lambda s: jnp.exp(2 * s), params.log_scale)


mean_field_family = Family(
    name="mean_field",
    params_type=MeanFieldParams,
    init=mean_field,
    sample=sample,
    log_prob=log_prob,
    sample_and_log_prob=sample_and_log_prob,
    to_natural=_to_natural,
    batch_shape=lambda params: (),
    entropy=_entropy,
    mean=posterior_mean,
    variance=_variance,
)


def bayes_by_backprop(
    apply: Callable[[Any, ArrayLike], Array],
) -> Callable[[ArrayLike, MeanFieldParams, ArrayLike], Array]:
    """Bayes by backprop for any network ``apply(params, x)``.

    The result ``apply(key, mf_params, x)`` draws the whole params tree once
    from the mean-field posterior (``mean_field_family.sample``) and applies
    the network to it: one weight draw shared by every example of ``x``
    (Blundell et al. 2015), so the gradient is pathwise. Use it for networks
    that are not built from this module's Bayesian layers (an equinox model
    through ``eqx.combine``, a ``jr.nn.mlp``).

    Args:
        apply: ``apply(params, x) -> outputs``, the deterministic network.

    Returns:
        ``apply(key, mf_params, x) -> outputs``, for :func:`make_bnn_loss`.

    Raises:
        TypeError: ``apply`` is not callable.

    Examples:
        >>> net = jr.nn.mlp(3, 2, hidden_sizes=(4,), zero_last=False)
        >>> mf = jr.nn.mean_field(net.init(jax.random.key(0)))
        >>> apply = jr.nn.bayes_by_backprop(net.apply)
        >>> apply(jax.random.key(1), mf, jnp.ones((5, 3))).shape
        (5, 2)

    References:
        Blundell, Cornebise, Kavukcuoglu & Wierstra (2015). Weight uncertainty
        in neural networks. ICML.
    """
    if not callable(apply):
        raise TypeError(
            f"nn.bayes_by_backprop: apply must be a function apply(params, x), got "
            f"{type(apply).__name__}"
        )

    def sampled_apply(
        key: ArrayLike, mf_params: MeanFieldParams, x: ArrayLike
    ) -> Array:
        return apply(sample(key, mf_params), x)

    return sampled_apply
