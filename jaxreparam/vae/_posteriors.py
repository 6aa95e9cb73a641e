"""Encoder heads: the variational posterior ``q(z | x)`` and the prior ``p(z)``.

A posterior factory (``gaussian_posterior()``, ...) returns a function of the
latent size that builds a ``Posterior``: how many encoder outputs it reads, the
family of ``q(z | x)``, how the encoder's outputs of one data point become that
family's params, its global params (an IAF's layers), and the prior.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks, bijectors, flows, kl
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.distributions import _categorical as categorical_family
from jaxreparam.distributions import _multivariate_normal as mvn
from jaxreparam.distributions import _normal as normal_family
from jaxreparam.distributions import _relaxed_one_hot_categorical as relaxed
from jaxreparam.distributions._straight_through import straight_through

__all__ = [
    "Posterior",
    "full_covariance_posterior",
    "gaussian_posterior",
    "iaf_posterior",
    "relaxed_categorical_posterior",
]


class Posterior(NamedTuple):
    """``q(z | x)`` and ``p(z)`` for one latent size, as pure functions.

    Attributes:
        name: the posterior's name.
        family: the ``Family`` of ``q(z | x)`` (one data point's params).
        latent_shape: the shape of one draw ``z`` (the decoder reads it
            flattened).
        num_outputs: the encoder's outputs per data point.
        init: ``init(key) -> params`` shared by every data point (an IAF's
            layers), ``()`` when there are none.
        head: ``head(params, encoder_outputs) -> q params`` of one data point.
        log_prior: ``log p(z)`` of one draw.
        sample_prior: ``sample_prior(key, num) -> (num,) + latent_shape``.
        kl: ``kl(q params) -> KL(q || p)`` in closed form, or ``None``.
        prior: the prior's params in ``family``'s params type when
            ``jr.kl_divergence`` has the pair (for ``jr.objectives.elbo``'s
            ``prior=``), else ``None``.
        mean: ``mean(q params) -> E_q[z]`` in closed form, or ``None``.
        proposal: ``proposal(q params) -> (family, params)``, the importance
            distribution of :func:`jaxreparam.vae.log_likelihood` (``q``
            itself, but the categorical behind a relaxed posterior).

    Examples:
        >>> post = jr.vae.gaussian_posterior()(2)  # q(z | x) for a 2-d latent
        >>> isinstance(post, jr.vae.Posterior), post.latent_shape, post.num_outputs
        (True, (2,), 4)
        >>> q = post.head((), jnp.array([1.0, 0.0, 0.0, 0.0]))  # from encoder outputs
        >>> z = post.family.sample(jax.random.key(0), q)
        >>> z.shape, float(post.kl(q))  # KL(N((1, 0), I) || N(0, I)) = 1/2
        ((2,), 0.5)
        >>> post.sample_prior(jax.random.key(1), 3).shape
        (3, 2)
    """

    name: str
    family: Family
    latent_shape: tuple[int, ...]
    num_outputs: int
    init: Callable[[ArrayLike], Any]
    head: Callable[[Any, Array], Any]
    log_prior: Callable[[Array], Array]
    sample_prior: Callable[[ArrayLike, int], Array]
    kl: Callable[[Any], Array] | None
    prior: Any
    mean: Callable[[Any], Array] | None
    proposal: Callable[[Any], tuple[Family, Any]]


def _no_params(key: ArrayLike) -> tuple[()]:
    del key
    return ()


def _standard_normal(n: int) -> tuple[Callable, Callable]:
    def log_prior(z: Array) -> Array:
        return jnp.sum(-0.5 * z**2 - _checks.HALF_LOG_TWO_PI)

    def sample_prior(key: ArrayLike, num: int) -> Array:
        return jax.random.normal(_checks.check_key(key), (num, n))

    return log_prior, sample_prior


def _itself(family: Family) -> Callable[[Any], tuple[Family, Any]]:
    return lambda q: (family, q)


def _size(where: str, name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"{where}: {name} must be at least {low}, got {value}")
    return value


def gaussian_posterior() -> Callable[[int], Posterior]:
    """A diagonal Gaussian ``q(z | x) = N(mu(x), diag(sigma(x)^2))``, prior N(0, I).

    The encoder gives ``2 n`` outputs, ``(mu, log sigma)``; ``q``'s family is
    ``jr.normal`` with batch shape ``(n,)``. ``KL(q || p)`` is closed form.

    Returns:
        A function ``latent_size -> Posterior`` (``make_vae``'s ``posterior=``;
        the string ``"gaussian"`` is the same).

    Examples:
        >>> post = jr.vae.gaussian_posterior()(2)
        >>> q = post.head((), jnp.array([0.0, 1.0, 0.0, 0.0]))
        >>> float(post.kl(q))  # KL(N(1, 1) || N(0, 1)) = 1/2
        0.5
    """

    def build(n: int) -> Posterior:
        log_prior, sample_prior = _standard_normal(n)
        prior = normal_family.NormalParams(jnp.zeros(n), jnp.zeros(n))

        def head(params: Any, out: Array) -> normal_family.NormalParams:
            loc, log_scale = jnp.split(out, 2, axis=-1)
            return normal_family.NormalParams(loc, log_scale)

        def kl_term(q: Any) -> Array:
            return jnp.sum(kl.kl_divergence(q, prior), axis=-1)

        family = normal_family.normal
        return Posterior(
            "gaussian", family, (n,), 2 * n, _no_params, head, log_prior,
            sample_prior, kl_term, prior, lambda q: q.loc, _itself(family),
        )  # fmt: skip

    return build


def full_covariance_posterior() -> Callable[[int], Posterior]:
    """A full-covariance Gaussian ``q(z | x) = N(mu(x), L(x) L(x)^T)``, prior N(0, I).

    The encoder gives ``n + n (n + 1) / 2`` outputs: ``mu``, then the lower
    triangle of ``L`` row by row (``jnp.tril_indices`` order), whose diagonal
    entries are the logs of ``L``'s diagonal (``jr.multivariate_normal_tril``'s
    ``raw_scale_tril``). ``KL(q || p)`` is closed form.

    Returns:
        A function ``latent_size -> Posterior`` (or ``"full_covariance"``).

    Examples:
        >>> post = jr.vae.full_covariance_posterior()(2)
        >>> post.num_outputs
        5
        >>> float(post.kl(post.head((), jnp.zeros(5))))  # q = p
        0.0
    """

    def build(n: int) -> Posterior:
        log_prior, sample_prior = _standard_normal(n)
        rows, cols = jnp.tril_indices(n)
        family = mvn.multivariate_normal_tril
        prior = mvn.MultivariateNormalTrilParams(jnp.zeros(n), jnp.zeros((n, n)))

        def head(params: Any, out: Array) -> mvn.MultivariateNormalTrilParams:
            loc, raw = out[..., :n], out[..., n:]
            tril = jnp.zeros(out.shape[:-1] + (n, n), out.dtype)
            return mvn.MultivariateNormalTrilParams(
                loc, tril.at[..., rows, cols].set(raw)
            )

        def kl_term(q: Any) -> Array:
            return kl.kl_divergence(q, prior)

        return Posterior(
            "full_covariance", family, (n,), n + n * (n + 1) // 2, _no_params,
            head, log_prior, sample_prior, kl_term, prior, lambda q: q.loc,
            _itself(family),
        )  # fmt: skip

    return build


def iaf_posterior(
    *,
    num_layers: int = 2,
    hidden_sizes: Sequence[int] = (64,),
    context_size: int = 16,
) -> Callable[[int], Posterior]:
    """An inverse autoregressive flow posterior (Kingma et al. 2016), prior N(0, I).

    The encoder gives ``2 n + context_size`` outputs: the Gaussian base's
    ``(mu, log sigma)`` and a context vector ``h``; ``num_layers`` conditional
    IAF layers (``jr.flows.iaf(..., context_size=...)``) whose masked networks
    read ``h`` move a base draw. The layers' params are global (shared by
    every data point, part of the VAE params, starting at the identity); ``q``
    is ``TransformedParams(base, layers, context=h)``. ``KL(q || p)`` has no
    closed form: the objective takes it by Monte Carlo; ``log_prob`` of a
    given point (``gradient="stl"``/``"dreg"``) inverts the layers, one
    network pass per coordinate.

    Args:
        num_layers: the number of IAF layers, at least 1.
        hidden_sizes: each layer's masked MLP's hidden widths.
        context_size: the size of ``h``, at least 1.

    Returns:
        A function ``latent_size -> Posterior`` (or ``"iaf"`` with the
        defaults).

    Examples:
        >>> post = jr.vae.iaf_posterior(num_layers=1, context_size=2)(3)
        >>> q = post.head(post.init(jax.random.key(0)), jnp.zeros(8))
        >>> z, log_q = post.family.sample_and_log_prob(jax.random.key(1), q)
        >>> z.shape, log_q.shape
        ((3,), ())

    References:
        Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling, "Improved
        variational inference with inverse autoregressive flow", NeurIPS 2016.
    """
    where = "vae.iaf_posterior"
    _size(where, "num_layers", num_layers, 1)
    _size(where, "context_size", context_size, 1)
    hidden = tuple(hidden_sizes)

    def flow(key: ArrayLike, n: int) -> Any:
        return flows.iaf(
            key, n, num_layers=num_layers, hidden_sizes=hidden,
            context_size=context_size,
        )  # fmt: skip

    def build(n: int) -> Posterior:
        log_prior, sample_prior = _standard_normal(n)
        family = flow(jax.random.key(0), n)[1]  # the family needs no key

        def init(key: ArrayLike) -> Any:
            return flow(key, n)[0].bijector

        def head(params: Any, out: Array) -> bijectors.TransformedParams:
            base = mvn.MultivariateNormalDiagParams(out[..., :n], out[..., n : 2 * n])
            return bijectors.TransformedParams(base, params, context=out[..., 2 * n :])

        return Posterior(
            "iaf", family, (n,), 2 * n + context_size, init, head, log_prior,
            sample_prior, None, None, None, _itself(family),
        )  # fmt: skip

    return build


def relaxed_categorical_posterior(
    num_classes: int,
    *,
    temperature: float = 0.5,
    straight_through_draws: bool = False,
) -> Callable[[int], Posterior]:
    """Relaxed one-hot latents: ``n`` categorical variables of ``num_classes``.

    ``q(z | x)`` is a Gumbel-softmax (Concrete) relaxation of ``n`` independent
    categoricals (Jang et al. 2017; Maddison et al. 2017), a draw of shape
    ``(n, num_classes)`` (the decoder reads it flattened); the encoder gives
    ``n * num_classes`` logits. With ``straight_through_draws`` the decoder
    sees exact one-hot draws and the gradient is the relaxed one
    (``jr.straight_through``). The prior is uniform over each variable's
    classes. The KL is the analytic KL between the *categorical* posterior
    and the uniform prior, ``sum_i sum_k p_ik log(p_ik num_classes)``, as in
    Jang et al. 2017 (not a Monte Carlo estimate on the relaxed densities);
    so ``make_vae`` takes this posterior with ``objective="elbo"`` and
    ``gradient="standard"`` only. ``log_likelihood`` proposes from the
    categorical posterior itself (exact one-hot ``z``), the model's discrete
    prior ``log p(z) = -n log(num_classes)``.

    Args:
        num_classes: classes per variable, at least 2.
        temperature: the relaxation's temperature, positive (fixed).
        straight_through_draws: hard one-hot draws forward, relaxed gradients
            backward.

    Returns:
        A function ``latent_size -> Posterior`` (``latent_size`` the number of
        variables ``n``).

    Raises:
        TypeError: ``num_classes`` is not an int.
        ValueError: ``num_classes < 2``, ``temperature`` not positive.

    Examples:
        >>> post = jr.vae.relaxed_categorical_posterior(3, temperature=0.5)(2)
        >>> q = post.head((), jnp.zeros(6))
        >>> post.family.sample(jax.random.key(0), q).shape, float(post.kl(q))
        ((2, 3), 0.0)

    References:
        Jang, Gu & Poole, "Categorical reparameterization with Gumbel-softmax",
        ICLR 2017. Maddison, Mnih & Teh, "The Concrete distribution", ICLR 2017.
    """
    where = "vae.relaxed_categorical_posterior"
    k = _size(where, "num_classes", num_classes, 2)
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not (math.isfinite(temperature) and temperature > 0)
    ):
        raise ValueError(
            f"{where}: temperature must be a finite positive float, got {temperature!r}"
        )
    log_temperature = math.log(temperature)
    family = relaxed.relaxed_one_hot_categorical
    if straight_through_draws:
        family = straight_through(family)

    def build(n: int) -> Posterior:
        def head(params: Any, out: Array) -> relaxed.RelaxedOneHotCategoricalParams:
            logits = out.reshape(out.shape[:-1] + (n, k))
            log_t = jnp.full(logits.shape[:-1], log_temperature, logits.dtype)
            return relaxed.RelaxedOneHotCategoricalParams(logits, log_t)

        def kl_term(q: Any) -> Array:
            log_p = jax.nn.log_softmax(q.logits, axis=-1)
            return jnp.sum(jnp.exp(log_p) * (log_p + math.log(k)), axis=(-2, -1))

        def log_prior(z: Array) -> Array:
            return jnp.zeros((), z.dtype) - n * math.log(k)

        def sample_prior(key: ArrayLike, num: int) -> Array:
            index = jax.random.randint(_checks.check_key(key), (num, n), 0, k)
            return jax.nn.one_hot(index, k)

        def proposal(q: Any) -> tuple[Family, Any]:
            return categorical_family.categorical, categorical_family.CategoricalParams(
                q.logits
            )

        def mean(q: Any) -> Array:
            return jax.nn.softmax(q.logits, axis=-1)

        return Posterior(
            "relaxed_categorical", family, (n, k), n * k, _no_params, head,
            log_prior, sample_prior, kl_term, None, mean, proposal,
        )  # fmt: skip

    return build


POSTERIORS = {
    "gaussian": gaussian_posterior,
    "full_covariance": full_covariance_posterior,
    "iaf": iaf_posterior,
}
