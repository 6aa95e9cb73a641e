"""Priors over every weight of a network: Normal and Blundell's scale mixture.

A ``Prior`` bundles ``log_prob(params) -> scalar``, the log-density of a whole
params tree (each weight independent), and ``kl(key, mf_params) -> scalar``,
``KL(q || prior)`` for a mean-field posterior ``q``: in closed form for the
Normal prior (the key is ignored), by one Monte Carlo draw ``log q(w) - log
p(w)``, ``w ~ q``, for the scale mixture, which has none.

The mixture's draw is independent of the one the likelihood uses. Blundell et
al. (2015) evaluate ``log q(w) - log p(w)`` at the weight draw of the forward
pass, which exists only when one weight draw is shared by the batch; the local
and Flipout layers never draw the weights. Both estimates are unbiased; the
independent draw works with every layer and every network.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.nn import _mean_field


class Prior(NamedTuple):
    """A prior over every weight of a network, each weight independent.

    Attributes:
        name: ``"normal"`` or ``"scale_mixture"``.
        log_prob: ``log_prob(params) -> scalar``, the log-density summed over
            every leaf of a params pytree.
        kl: ``kl(key, mf_params) -> scalar``, ``KL(q || prior)`` summed over
            every ``MeanFieldParams`` node of ``mf_params``; other leaves
            (point-estimated params) add nothing.
        closed_form: whether ``kl`` is exact (else a one-draw estimate).

    Examples:
        >>> prior = jr.nn.normal_prior(1.0)
        >>> prior.name, prior.closed_form
        ('normal', True)
        >>> round(float(prior.log_prob({"w": jnp.zeros(2)})), 3)  # 2 log N(0 | 0, 1)
        -1.838
        >>> mf = jr.nn.mean_field({"w": jnp.zeros(2)}, init_scale=1.0)
        >>> float(prior.kl(jax.random.key(0), mf))  # KL(q || prior), here q = prior
        0.0
    """

    name: str
    log_prob: Callable[[Any], Array]
    kl: Callable[[ArrayLike, Any], Array]
    closed_form: bool


def _nodes(mf_params: Any) -> list[_mean_field.MeanFieldParams]:
    """Every ``MeanFieldParams`` node of ``mf_params``."""
    leaves = jax.tree.leaves(mf_params, is_leaf=_mean_field.is_mean_field)
    return [leaf for leaf in leaves if _mean_field.is_mean_field(leaf)]


def _total(values: Any) -> Array:
    return sum((jnp.sum(v) for v in jax.tree.leaves(values)), jnp.zeros(()))


def normal_prior(scale: ArrayLike = 1.0) -> Prior:
    """Every weight ``N(0, scale^2)``, the KL against a mean-field Normal exact.

    ``KL(N(m, s^2) || N(0, p^2)) = log(p / s) + (s^2 + m^2) / (2 p^2) - 1/2``
    per weight.

    Args:
        scale: the prior standard deviation, finite and positive.

    Returns:
        A ``Prior``; its ``kl`` ignores the key.

    Raises:
        ValueError: ``scale`` is not finite and positive (NaN under jit).

    Examples:
        >>> prior = jr.nn.normal_prior(1.0)
        >>> mf = jr.nn.mean_field({"w": jnp.zeros(3)}, init_scale=1.0)
        >>> float(prior.kl(jax.random.key(0), mf))  # q = prior
        0.0
    """
    scale = _checks.positive("nn.normal_prior", "scale", scale)
    log_prior_scale = jnp.log(scale)

    def log_prob(params: Any) -> Array:
        return _total(
            jax.tree.map(
                lambda w: (
                    -0.5 * (w / scale) ** 2 - log_prior_scale - _checks.HALF_LOG_TWO_PI
                ),
                params,
            )
        )

    def kl(key: ArrayLike, mf_params: Any) -> Array:
        del key
        total = jnp.zeros(())
        for node in _nodes(mf_params):
            terms = jax.tree.map(
                lambda m, s: (
                    0.5 * ((jnp.exp(2 * s) + m * m) / (scale * scale) - 1.0)
                    - (s - log_prior_scale)
                ),
                node.loc,
                node.log_scale,
            )
            total = total + _total(terms)
        return total

    return Prior("normal", log_prob, kl, True)


#: Blundell et al.'s narrow component's standard deviation, ``exp(-6)``.
NARROW_SCALE = math.exp(-6.0)


def scale_mixture_prior(
    mix: ArrayLike = 0.5,
    scale1: ArrayLike = 1.0,
    scale2: ArrayLike = NARROW_SCALE,
) -> Prior:
    """Blundell et al.'s scale mixture of two zero-mean Normals over every weight.

    Each weight's density is ``mix N(w | 0, scale1^2) + (1 - mix) N(w | 0,
    scale2^2)`` (Blundell et al. 2015, eq. 7): a wide component and a narrow
    one (``scale2 << scale1``) that pulls many weights to near zero. Its KL
    against a Normal has no closed form: ``kl`` is the one-draw Monte Carlo
    estimate ``log q(w) - log p(w)``, ``w ~ q`` drawn with the key given
    (unbiased; see the module docstring).

    Args:
        mix: the weight of the first component, in ``[0, 1]``.
        scale1: the first (wide) component's standard deviation, positive.
        scale2: the second (narrow) component's, positive; the default
            ``exp(-6)`` is one of the values Blundell et al. used.

    Returns:
        A ``Prior``; its ``kl`` draws the weights with the key.

    Raises:
        ValueError: ``mix`` is outside ``[0, 1]`` or a scale is not finite
            and positive (NaN under jit).

    Examples:
        >>> prior = jr.nn.scale_mixture_prior(mix=0.25, scale1=1.0, scale2=0.1)
        >>> value = float(prior.log_prob(jnp.zeros(1)))
        >>> round(value, 4)  # log(0.25 / 1 + 0.75 / 0.1) - log(2 pi) / 2
        1.1288

    References:
        Blundell, Cornebise, Kavukcuoglu & Wierstra (2015). Weight uncertainty
        in neural networks. ICML.
    """
    where = "nn.scale_mixture_prior"
    mix = _checks.as_float(where, "mix", mix)
    mix = _checks.check_value(
        where, "mix", mix, lambda m: (m >= 0) & (m <= 1), "in [0, 1]"
    )
    scale1 = _checks.positive(where, "scale1", scale1)
    scale2 = _checks.positive(where, "scale2", scale2)
    log_mix, log_rest = jnp.log(mix), jnp.log1p(-mix)

    def log_density(w: Array) -> Array:
        first = log_mix - 0.5 * (w / scale1) ** 2 - jnp.log(scale1)
        second = log_rest - 0.5 * (w / scale2) ** 2 - jnp.log(scale2)
        return jnp.logaddexp(first, second) - _checks.HALF_LOG_TWO_PI

    def log_prob(params: Any) -> Array:
        return _total(jax.tree.map(log_density, params))

    def kl(key: ArrayLike, mf_params: Any) -> Array:
        nodes = _nodes(mf_params)
        key = _checks.check_key(key)
        keys = jax.random.split(key, len(nodes)) if nodes else []
        total = jnp.zeros(())
        for node_key, node in zip(keys, nodes, strict=True):
            draw, log_q = _mean_field.sample_and_log_prob(node_key, node)
            total = total + log_q - log_prob(draw)
        return total

    return Prior("scale_mixture", log_prob, kl, False)
