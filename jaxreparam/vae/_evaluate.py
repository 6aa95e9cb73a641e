"""Evaluating a VAE: importance-sampled log-likelihood, ELBO terms, active units.

Every function is pure and jit-able (``jax.jit`` with ``vae`` and the options
static, e.g. through ``functools.partial``), and maps over the data points with
``jax.lax.map`` in groups of ``batch_size``, so that memory is bounded by
``batch_size`` times the work of one point.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.vae._model import VAE, VAEParams

__all__ = [
    "ActiveUnits",
    "ElboTerms",
    "LogLikelihood",
    "active_units",
    "elbo_terms",
    "log_likelihood",
]


class LogLikelihood(NamedTuple):
    """Per data point: the estimate of ``log p(x)`` and its standard error.

    Examples:
        >>> vae = jr.vae.make_vae(data_size=3, latent_size=2,
        ...     likelihood=jr.vae.gaussian(scale=0.5), hidden_sizes=(8,))
        >>> params = vae.init(jax.random.key(0))
        >>> x = jnp.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
        >>> ll = jr.vae.log_likelihood(jax.random.key(1), vae, params, x,
        ...     num_samples=64)
        >>> type(ll).__name__, ll.value.shape, ll.standard_error.shape
        ('LogLikelihood', (2,), (2,))
        >>> bool(jnp.all(ll.standard_error >= 0))
        True
    """

    value: Array
    standard_error: Array


class ElboTerms(NamedTuple):
    """Per data point: the ELBO, ``KL(q || p)`` and ``E_q[log p(x | z)]``.

    Examples:
        >>> vae = jr.vae.make_vae(data_size=3, latent_size=2,
        ...     likelihood=jr.vae.gaussian(scale=0.5), hidden_sizes=(8,))
        >>> params = vae.init(jax.random.key(0))
        >>> x = jnp.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
        >>> terms = jr.vae.elbo_terms(jax.random.key(1), vae, params, x)
        >>> type(terms).__name__, terms._fields, terms.elbo.shape
        ('ElboTerms', ('elbo', 'kl', 'reconstruction'), (2,))
        >>> bool(jnp.allclose(terms.elbo, terms.reconstruction - terms.kl))
        True
    """

    elbo: Array
    kl: Array
    reconstruction: Array


class ActiveUnits(NamedTuple):
    """The number of active latent units and each unit's ``Var_x(E_q[z_u])``.

    Examples:
        >>> vae = jr.vae.make_vae(data_size=3, latent_size=2,
        ...     likelihood=jr.vae.gaussian(scale=0.5), hidden_sizes=(8,))
        >>> params = vae.init(jax.random.key(0))
        >>> x = jnp.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
        >>> units = jr.vae.active_units(jax.random.key(1), vae, params, x)
        >>> type(units).__name__, units._fields
        ('ActiveUnits', ('num_active', 'variance'))
        >>> units.variance.shape, int(units.num_active) <= 2  # per latent unit
        ((2,), True)
    """

    num_active: Array
    variance: Array


def _count(where: str, name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"{where}: {name} must be at least {low}, got {value}")
    return value


def _data(where: str, vae: VAE, x: ArrayLike) -> Array:
    if not isinstance(vae, VAE):
        raise TypeError(f"{where}: vae must be a VAE from jr.vae.make_vae")
    x = jnp.asarray(x)
    if x.ndim != 2 or x.shape[1] != vae.data_size:
        raise ValueError(
            f"{where}: x must have shape (num_points, {vae.data_size}) (data_size "
            f"{vae.data_size}), got {x.shape}"
        )
    return vae.likelihood.check(x)


def _typed(key: ArrayLike) -> Array:
    key = _checks.check_key(key)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    return jax.random.wrap_key_data(key)


def _per_point(f: Any, key: ArrayLike, x: Array, batch_size: int) -> Any:
    """``f(keys[i], x[i])`` over the points, ``keys = split(key, num_points)``.

    The keys travel through ``jax.lax.map`` as raw key data: its remainder
    batch slices the same array as its scan, which jax's key-reuse checker
    would take for one key consumed twice.
    """
    key = _typed(key)
    impl = jax.random.key_impl(key)
    data = jax.random.key_data(jax.random.split(key, x.shape[0]))

    def one(item: Any) -> Any:
        return f(jax.random.wrap_key_data(item[0], impl=impl), item[1])

    return jax.lax.map(one, (data, x), batch_size=batch_size)


def _sum_after_first(values: Array) -> Array:
    return jnp.sum(values.reshape(values.shape[0], -1), axis=1)


def log_likelihood(
    key: ArrayLike,
    vae: VAE,
    params: VAEParams,
    x: ArrayLike,
    *,
    num_samples: int = 5000,
    chunk_size: int = 500,
    batch_size: int = 8,
) -> LogLikelihood:
    """``log p(x)`` by importance sampling from ``q(z | x)``, chunked over the draws.

    For each data point, ``log p_K(x) = log (1/K) sum_k w_k`` with ``w_k = p(x,
    z_k) / q(z_k | x)`` over ``K = num_samples`` draws: the IWAE bound at a
    large ``K``, a consistent estimate of ``log p(x)`` (its expectation rises
    to ``log p(x)`` as ``K`` grows, Burda et al. 2016). The draws come in
    chunks of ``chunk_size`` under ``jax.lax.scan`` with a streaming
    log-sum-exp (a running maximum ``m`` and the sums of ``w_k e^-m`` and
    ``w_k^2 e^-2m``), so memory is bounded by ``batch_size * chunk_size``
    draws, whatever ``K``.

    The standard error is the delta method's on the mean weight: with ``wbar``
    the mean and ``s^2`` the sample variance of the ``w_k``, ``se = s /
    (sqrt(K) wbar)`` (NaN at ``K = 1``). It measures the Monte Carlo spread of
    ``log wbar`` around ``log E[w] = log p(x)``; it does not include the bias
    of the log (about ``-se^2 / 2``), small when ``se`` is.

    **Keys.** ``key`` is split into one key per data point; draw ``k`` of point
    ``i`` uses ``jax.random.split(keys[i], K')[k]``, ``K'`` the draws rounded
    up to whole chunks (the extra draws are left out). With JAX's default
    ``jax_threefry_partitionable`` those keys do not depend on ``K'``, so
    chunked and unchunked estimates agree to rounding. A relaxed categorical
    posterior proposes from its categorical (exact one-hot ``z``).

    Args:
        key: a PRNG key.
        vae: the ``VAE``.
        params: its params.
        x: data points, ``(num_points, data_size)``, in the likelihood's support.
        num_samples: ``K``, at least 1.
        chunk_size: draws per chunk, at least 1.
        batch_size: data points evaluated at once (``jax.lax.map``).

    Returns:
        ``LogLikelihood(value, standard_error)``, each ``(num_points,)``.

    Raises:
        TypeError: ``vae`` is not a ``VAE``; a count that is not an int.
        ValueError: ``K < 1`` or another count below 1; data of the wrong shape
            or (eagerly) outside the support.

    Examples:
        >>> vae = jr.vae.make_vae(data_size=3, latent_size=2,
        ...                       likelihood=jr.vae.bernoulli, hidden_sizes=(8,))
        >>> params = vae.init(jax.random.key(0))
        >>> x = jnp.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
        >>> ll = jr.vae.log_likelihood(jax.random.key(1), vae, params, x,
        ...                            num_samples=100, chunk_size=30)
        >>> ll.value.shape, bool(jnp.all(ll.value < 0))
        ((2,), True)

    References:
        Burda, Grosse & Salakhutdinov, "Importance weighted autoencoders",
        ICLR 2016.
    """
    where = "vae.log_likelihood"
    num = _count(where, "num_samples", num_samples)
    chunk = min(_count(where, "chunk_size", chunk_size), num)
    batch_size = _count(where, "batch_size", batch_size)
    x = _data(where, vae, x)
    num_chunks = -(-num // chunk)

    def one(key: Array, x_i: Array) -> tuple[Array, Array]:
        family, proposal = vae.posterior.proposal(vae.encode(params, x_i))
        impl = jax.random.key_impl(key)
        keys = jax.random.key_data(jax.random.split(key, num_chunks * chunk))
        keys = keys.reshape((num_chunks, chunk) + keys.shape[1:])

        def step(carry: Any, chunk_keys: Any) -> tuple[Any, None]:
            (m, s1, s2), start = carry
            index = start + jnp.arange(chunk)
            z, log_q = jax.vmap(lambda k: family.sample_and_log_prob(k, proposal))(
                jax.random.wrap_key_data(chunk_keys, impl=impl)
            )
            log_p = jax.vmap(lambda z: vae.log_joint(params, x_i, z))(z)
            log_w = jnp.where(index < num, log_p - _sum_after_first(log_q), -jnp.inf)
            m_new = jnp.maximum(m, jnp.max(log_w))
            shift = jnp.where(jnp.isfinite(m_new), m_new, 0.0)
            scale = jnp.exp(m - shift)
            w = jnp.exp(log_w - shift)
            sums = (m_new, s1 * scale + jnp.sum(w), s2 * scale**2 + jnp.sum(w**2))
            return (sums, start + chunk), None

        dtype = x_i.dtype
        init = (
            jnp.asarray(-jnp.inf, dtype),
            jnp.zeros((), dtype),
            jnp.zeros((), dtype),
        )
        ((m, s1, s2), _), _ = jax.lax.scan(step, (init, 0), keys)
        value = m + jnp.log(s1) - math.log(num)
        mean1, mean2 = s1 / num, s2 / num
        variance = jnp.maximum(mean2 - mean1**2, 0.0) * num / (num - 1 or jnp.nan)
        return value, jnp.sqrt(variance / num) / mean1

    value, error = _per_point(one, key, x, batch_size)
    return LogLikelihood(value, error)


def elbo_terms(
    key: ArrayLike,
    vae: VAE,
    params: VAEParams,
    x: ArrayLike,
    *,
    num_samples: int = 1,
    batch_size: int = 64,
) -> ElboTerms:
    """The ELBO of each data point, with its KL and reconstruction terms.

    ``reconstruction = E_q[log p(x | z)]`` over ``K = num_samples`` draws,
    ``kl = KL(q(z | x) || p(z))`` in closed form where the posterior has one
    (else the Monte Carlo ``mean_k log q(z_k) - log p(z_k)`` at the same
    draws), ``elbo = reconstruction - kl``: the unweighted bound (``beta = 1``)
    whatever the VAE's training objective. Key use as :func:`log_likelihood`'s
    (one key per point; its ``K`` draws from ``q.family.sample_and_log_prob(
    keys[i], q, (K,))``).

    Args:
        key: a PRNG key.
        vae: the ``VAE``.
        params: its params.
        x: data points, ``(num_points, data_size)``.
        num_samples: ``K``, at least 1.
        batch_size: data points evaluated at once.

    Returns:
        ``ElboTerms(elbo, kl, reconstruction)``, each ``(num_points,)``.

    Examples:
        >>> vae = jr.vae.make_vae(data_size=3, latent_size=2,
        ...                       likelihood=jr.vae.bernoulli, hidden_sizes=(8,))
        >>> params = vae.init(jax.random.key(0))
        >>> terms = jr.vae.elbo_terms(jax.random.key(1), vae, params,
        ...                           jnp.array([[0.0, 1.0, 1.0]]))
        >>> bool(jnp.allclose(terms.elbo, terms.reconstruction - terms.kl))
        True
    """
    where = "vae.elbo_terms"
    num = _count(where, "num_samples", num_samples)
    batch_size = _count(where, "batch_size", batch_size)
    x = _data(where, vae, x)
    post = vae.posterior

    def one(key: Array, x_i: Array) -> tuple[Array, Array, Array]:
        q = vae.encode(params, x_i)
        z, log_q = post.family.sample_and_log_prob(key, q, (num,))
        outputs = vae.decode(params, z)
        reconstruction = jnp.mean(vae.likelihood.log_prob(outputs, x_i))
        if post.kl is not None:
            kl = post.kl(q)
        else:
            log_p = jax.vmap(post.log_prior)(z)
            kl = jnp.mean(_sum_after_first(log_q) - log_p)
        return reconstruction - kl, kl, reconstruction

    return ElboTerms(*_per_point(one, key, x, batch_size))


def active_units(
    key: ArrayLike,
    vae: VAE,
    params: VAEParams,
    x: ArrayLike,
    *,
    threshold: float = 0.01,
    num_samples: int = 100,
    batch_size: int = 64,
) -> ActiveUnits:
    """Burda et al. (2016)'s active units: ``Var_x(E_q[z_u | x]) > threshold``.

    A latent unit ``u`` is active when the posterior mean ``E_{q(z | x)}[z_u]``
    varies across the data points ``x`` by more than ``threshold`` (0.01 in the
    paper): an inactive unit's posterior is the same for every input, so the
    decoder cannot read anything from it. The posterior mean is closed form
    where the posterior has one (Gaussian ones, relaxed categorical:
    probabilities); otherwise (an IAF) a Monte Carlo mean of ``num_samples``
    draws (one key per data point). The variance is over the data points,
    ``jnp.var(..., axis=0)`` (divisor ``N``).

    Args:
        key: a PRNG key (used only for a Monte Carlo mean).
        vae: the ``VAE``.
        params: its params.
        x: data points, ``(num_points, data_size)``.
        threshold: the activity threshold, ``>= 0``.
        num_samples: draws per point for a Monte Carlo mean.
        batch_size: data points evaluated at once.

    Returns:
        ``ActiveUnits(num_active, variance)``: an int count and the variance
        of each unit, of the latent shape.

    Examples:
        >>> vae = jr.vae.make_vae(data_size=3, latent_size=2,
        ...                       likelihood=jr.vae.bernoulli, hidden_sizes=(8,))
        >>> params = vae.init(jax.random.key(0))
        >>> x = jnp.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
        >>> units = jr.vae.active_units(jax.random.key(1), vae, params, x)
        >>> units.variance.shape
        (2,)

    References:
        Burda, Grosse & Salakhutdinov, "Importance weighted autoencoders",
        ICLR 2016, section 5.2.
    """
    where = "vae.active_units"
    num = _count(where, "num_samples", num_samples)
    batch_size = _count(where, "batch_size", batch_size)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not threshold >= 0
    ):
        raise ValueError(f"{where}: threshold must be a float >= 0, got {threshold!r}")
    x = _data(where, vae, x)
    post = vae.posterior

    def one(key: Array, x_i: Array) -> Array:
        q = vae.encode(params, x_i)
        if post.mean is not None:
            return post.mean(q)
        return jnp.mean(post.family.sample(key, q, (num,)), axis=0)

    means = _per_point(one, key, x, batch_size)
    variance = jnp.var(means, axis=0)
    return ActiveUnits(jnp.sum(variance > threshold), variance)
