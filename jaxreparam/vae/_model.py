"""``make_vae``: a variational autoencoder as pure functions over a params pytree."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks, estimators, nn, objectives
from jaxreparam.base import Array, ArrayLike
from jaxreparam.objectives import _common as _objectives_common
from jaxreparam.vae import _likelihoods, _posteriors

__all__ = ["VAE", "VAEParams", "make_vae"]

OBJECTIVES = ("elbo", "iwae")
GRADIENTS = ("standard", "stl", "dreg")
KLS = ("analytic", "monte_carlo")


class VAEParams(NamedTuple):
    """The params of a VAE: the networks', the likelihood's and the posterior's.

    Attributes:
        encoder: the encoder network's params.
        decoder: the decoder network's params.
        likelihood: the likelihood's own params (a learned scale), else ``()``.
        posterior: the posterior's global params (an IAF's layers), else ``()``.

    Examples:
        >>> vae = jr.vae.make_vae(data_size=3, latent_size=2,
        ...     likelihood=jr.vae.gaussian(scale=0.5), hidden_sizes=(8,))
        >>> params = vae.init(jax.random.key(0))
        >>> x = jnp.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
        >>> type(params).__name__, params._fields
        ('VAEParams', ('encoder', 'decoder', 'likelihood', 'posterior'))
        >>> params.likelihood, params.posterior  # a fixed scale, a Gaussian q: none
        ((), ())
        >>> [layer.weight.shape for layer in params.encoder]  # x -> q's 2 + 2 params
        [(3, 8), (8, 4)]
    """

    encoder: Any
    decoder: Any
    likelihood: Any
    posterior: Any


class VAE(NamedTuple):
    """A VAE's pure functions, made by :func:`make_vae`.

    Attributes:
        init: ``init(key) -> VAEParams``.
        loss: ``loss(key, params, batch, *, step=None) -> (loss, metrics)``,
            minimised: the negated bound averaged over the batch ``(B,
            data_size)``; ``step`` (given by ``jr.fit``) sets the KL warm-up
            weight, ``None`` the full weight ``beta``.
        encode: ``encode(params, x) -> q params`` for ``x`` of shape ``(...,
            data_size)`` (the params' leading axes are ``x``'s).
        decode: ``decode(params, z) -> outputs`` (the likelihood's family
            params) for ``z`` of shape ``(...,) + latent_shape``.
        sample: ``sample(key, params, num, *, mean=False) -> (num,
            data_size)``: ``z`` from the prior, then data drawn from ``p(x |
            z)`` or, with ``mean=True``, its mean.
        reconstruct: ``reconstruct(key, params, x) -> (..., data_size)``: the
            mean of ``p(x | z)`` at one draw ``z ~ q(z | x)``.
        log_joint: ``log_joint(params, x, z) -> log p(x, z)`` of one data point
            and one draw.
        posterior: the built ``Posterior`` (its family, prior, ...).
        likelihood: the ``Likelihood``.
        data_size: the data vectors' size.
        latent_size: the latent size given to :func:`make_vae`.
        encoder_outputs: what the encoder network must output per data point.
        decoder_outputs: what the decoder network must output per latent.

    Examples:
        >>> vae = jr.vae.make_vae(data_size=3, latent_size=2,
        ...     likelihood=jr.vae.gaussian(scale=0.5), hidden_sizes=(8,))
        >>> params = vae.init(jax.random.key(0))
        >>> x = jnp.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
        >>> isinstance(vae, jr.vae.VAE), vae.data_size, vae.posterior.name
        (True, 3, 'gaussian')
        >>> vae.reconstruct(jax.random.key(1), params, x).shape
        (2, 3)
        >>> vae.sample(jax.random.key(2), params, 5).shape  # z ~ p(z), x ~ p(x | z)
        (5, 3)
    """

    init: Callable[[ArrayLike], VAEParams]
    loss: Callable[..., tuple[Array, dict[str, Array]]]
    encode: Callable[[VAEParams, ArrayLike], Any]
    decode: Callable[[VAEParams, ArrayLike], Any]
    sample: Callable[..., Array]
    reconstruct: Callable[[ArrayLike, VAEParams, ArrayLike], Array]
    log_joint: Callable[[VAEParams, Array, Array], Array]
    posterior: _posteriors.Posterior
    likelihood: _likelihoods.Likelihood
    data_size: int
    latent_size: int
    encoder_outputs: int
    decoder_outputs: int


def _network(where: str, name: str, net: Any) -> nn.Network:
    """``net`` as a ``Network``: a ``Network`` or an ``(init, apply)`` pair."""
    if isinstance(net, tuple) and len(net) == 2 and all(map(callable, net)):
        return nn.Network(*net)
    raise TypeError(
        f"{where}: {name} must be a jr.nn.Network or a pair (init, apply) of "
        f"functions, init(key) -> params and apply(params, x) -> outputs, got "
        f"{type(net).__name__}"
    )


def _count(where: str, name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{where}: {name} must be an int, got {type(value).__name__} {value!r}"
        )
    if value < low:
        raise ValueError(f"{where}: {name} must be at least {low}, got {value}")
    return value


def _choice(where: str, name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{where}: {name} must be one of {choices}, got {value!r}")
    return value


def _over_leading(f: Callable[[Array], Any], x: Array, ndims: int) -> Any:
    """``f`` of one item (the last ``ndims`` axes) mapped over ``x``'s leading axes."""
    lead = x.shape[: x.ndim - ndims]
    if not lead:
        return f(x)
    out = jax.vmap(f)(x.reshape((-1,) + x.shape[len(lead) :]))
    return jax.tree.map(lambda leaf: leaf.reshape(lead + leaf.shape[1:]), out)


def _posterior(where: str, posterior: Any, latent_size: int) -> _posteriors.Posterior:
    if isinstance(posterior, str):
        build = _posteriors.POSTERIORS.get(posterior)
        if build is None:
            raise ValueError(
                f"{where}: posterior must be one of {tuple(_posteriors.POSTERIORS)} "
                f"or a posterior factory's result, got {posterior!r}"
            )
        posterior = build()
    if not callable(posterior):
        raise TypeError(
            f"{where}: posterior must be a string or a function latent_size -> "
            f"Posterior (jr.vae.gaussian_posterior(), ...), got {posterior!r}"
        )
    built = posterior(latent_size)
    if not isinstance(built, _posteriors.Posterior):
        raise TypeError(f"{where}: posterior({latent_size}) gave no Posterior")
    return built


def make_vae(
    encoder: Any = None,
    decoder: Any = None,
    *,
    data_size: int,
    latent_size: int,
    likelihood: _likelihoods.Likelihood,
    posterior: Any = "gaussian",
    objective: str = "elbo",
    num_samples: int = 1,
    gradient: str = "standard",
    kl: str | None = None,
    beta: float = 1.0,
    warmup_steps: int = 0,
    hidden_sizes: Sequence[int] = (256,),
    activation: Callable[[Array], Array] = jnp.tanh,
) -> VAE:
    """A variational autoencoder: init, loss, encode, decode, sample, reconstruct.

    The model is ``p(z) p(x | z)``, ``p(x | z)`` the ``likelihood`` of the
    decoder's outputs at ``z``; the posterior ``q(z | x)`` the ``posterior``
    head of the encoder's outputs at ``x``. The loss is the negated bound
    averaged over the batch:

    * ``objective="elbo"``: ``E_q[log p(x | z)] - w KL(q || p)``, with ``K =
      num_samples`` draws; the KL in closed form (``kl="analytic"``, the
      default where the posterior has one: Gaussian and full-covariance
      against N(0, I), relaxed categorical) or by Monte Carlo
      (``kl="monte_carlo"``; an IAF). ``w`` is ``beta`` (a beta-VAE, Higgins
      et al. 2017), ramped linearly from 0 at ``step = 0`` to ``beta`` at
      ``step = warmup_steps`` (KL warm-up, Sonderby et al. 2016).
    * ``objective="iwae"``: ``log (1/K) sum_k p(x, z_k) / q(z_k | x)`` (Burda
      et al. 2016). Its KL is not a separate term, so ``beta`` must be 1 and
      ``warmup_steps`` 0 (else a ``ValueError``).

    ``gradient`` is that of ``jr.objectives``: ``"standard"``, ``"stl"``
    (Roeder et al. 2017; the ELBO's KL then by Monte Carlo) or, for IWAE,
    ``"dreg"`` (Tucker et al. 2019). Both change only the encoder's gradient;
    the decoder's is the bound's.

    **Keys.** ``loss(key, ...)`` splits ``key`` into one key per data point,
    ``keys = jax.random.split(key, B)``. Data point ``i``'s ``K`` draws are
    ``q.family.sample(keys[i], q_i, (K,))`` (for the Gaussian: ``mu + sigma
    * jax.random.normal(keys[i], (K, n))``), except with a Monte Carlo KL in
    the ELBO, where ``keys[i]`` is split again in two, the first for the
    bound, the second for the separate KL estimate (a metric, and the term
    that ``w != 1`` reweights).

    Args:
        encoder: the encoder network, ``jr.nn.Network`` or a pair ``(init,
            apply)``: ``apply(params, x)`` maps one data vector ``(data_size,)``
            to ``(VAE.encoder_outputs,)`` (vmapped over data points and draws
            by the VAE, as equinox and flax modules expect). ``None``: an MLP
            ``data_size -> hidden_sizes -> encoder_outputs``.
        decoder: likewise, one flattened latent draw to
            ``(VAE.decoder_outputs,)`` (``likelihood.num_outputs *
            data_size``). ``None``: an MLP.
        data_size: the size of a data vector.
        latent_size: the latent size ``n`` (for the relaxed posterior, the
            number of categorical variables).
        likelihood: a ``Likelihood`` (``jr.vae.bernoulli``, ...).
        posterior: ``"gaussian"``, ``"full_covariance"``, ``"iaf"`` or a
            posterior factory's result (``jr.vae.iaf_posterior(...)``).
        objective: ``"elbo"`` or ``"iwae"``.
        num_samples: ``K``, draws per data point, at least 1.
        gradient: ``"standard"``, ``"stl"`` or ``"dreg"`` (IWAE only).
        kl: ``"analytic"``, ``"monte_carlo"`` or ``None`` (analytic where the
            posterior has a closed form and the gradient is standard).
        beta: the KL weight of the ELBO, finite and ``>= 0``.
        warmup_steps: steps of the linear KL warm-up, ``>= 0``.
        hidden_sizes: hidden widths of the default MLPs.
        activation: the default MLPs' activation.

    Returns:
        A ``VAE``.

    Raises:
        TypeError: a network that is not a ``Network`` or pair, a bad
            likelihood or posterior, a count that is not an int.
        ValueError: an unknown objective, gradient, kl or posterior, ``K <
            1``, ``beta < 0``, ``warmup_steps < 0``, or an option the
            objective or posterior does not take (named).

    Examples:
        >>> vae = jr.vae.make_vae(data_size=4, latent_size=2,
        ...                       likelihood=jr.vae.bernoulli, hidden_sizes=(8,))
        >>> params = vae.init(jax.random.key(0))
        >>> x = jnp.array([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
        >>> loss, metrics = vae.loss(jax.random.key(1), params, x)
        >>> sorted(metrics)
        ['elbo', 'kl', 'kl_weight', 'reconstruction']
        >>> bool(jnp.isclose(loss, -metrics["elbo"]))
        True

    References:
        Kingma & Welling, "Auto-encoding variational Bayes", ICLR 2014.
        Burda, Grosse & Salakhutdinov, "Importance weighted autoencoders",
        ICLR 2016. Sonderby, Raiko, Maaloe, Sonderby & Winther, "Ladder
        variational autoencoders", NeurIPS 2016.
    """
    where = "vae.make_vae"
    data_size = _count(where, "data_size", data_size, 1)
    latent_size = _count(where, "latent_size", latent_size, 1)
    num_samples = _count(where, "num_samples", num_samples, 1)
    warmup_steps = _count(where, "warmup_steps", warmup_steps, 0)
    objective = _choice(where, "objective", objective, OBJECTIVES)
    gradient = _choice(where, "gradient", gradient, GRADIENTS)
    if not isinstance(likelihood, _likelihoods.Likelihood):
        raise TypeError(
            f"{where}: likelihood must be a jr.vae Likelihood (jr.vae.bernoulli, "
            f"jr.vae.gaussian(), ...), got {type(likelihood).__name__}"
        )
    if isinstance(beta, bool) or not isinstance(beta, int | float):
        raise TypeError(f"{where}: beta must be a float, got {beta!r}")
    if not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"{where}: beta must be finite and >= 0, got {beta}")
    post = _posterior(where, posterior, latent_size)
    if objective == "iwae" and (beta != 1 or warmup_steps):
        raise ValueError(
            f"{where}: beta and warmup_steps weight the ELBO's KL term, which the "
            f"IWAE bound does not have; got objective='iwae' with beta={beta}, "
            f"warmup_steps={warmup_steps}"
        )
    if gradient == "dreg" and objective != "iwae":
        raise ValueError(
            f"{where}: gradient='dreg' is for objective='iwae' (at K = 1 it is "
            "'stl'); got objective='elbo'"
        )
    if kl is None:
        kl = "analytic" if post.kl is not None and gradient == "standard" else (
            "monte_carlo"
        )  # fmt: skip
    kl = _choice(where, "kl", kl, KLS)
    if kl == "analytic" and post.kl is None:
        raise ValueError(f"{where}: kl='analytic', but the {post.name} has none")
    if kl == "analytic" and gradient != "standard" and objective == "elbo":
        raise ValueError(
            f"{where}: gradient={gradient!r} drops the score of a Monte Carlo "
            "KL, which kl='analytic' does not have; use kl='monte_carlo'"
        )
    if post.name == "relaxed_categorical" and (
        objective != "elbo" or gradient != "standard"
    ):
        raise ValueError(
            f"{where}: the relaxed categorical posterior takes objective='elbo' "
            f"with gradient='standard' (its KL is the analytic categorical one), "
            f"got objective={objective!r}, gradient={gradient!r}"
        )
    flat_latent = math.prod(post.latent_shape)
    decoder_outputs = likelihood.num_outputs * data_size
    if encoder is None:
        encoder = nn.mlp(
            data_size, post.num_outputs, tuple(hidden_sizes),
            activation=activation, zero_last=False,
        )  # fmt: skip
    if decoder is None:
        decoder = nn.mlp(
            flat_latent, decoder_outputs, tuple(hidden_sizes),
            activation=activation, zero_last=False,
        )  # fmt: skip
    enc = _network(where, "encoder", encoder)
    dec = _network(where, "decoder", decoder)
    family = post.family
    weighted = beta != 1 or warmup_steps > 0

    def init(key: ArrayLike) -> VAEParams:
        keys = jax.random.split(_checks.check_key(key), 3)
        return VAEParams(
            enc.init(keys[0]),
            dec.init(keys[1]),
            likelihood.init(data_size),
            post.init(keys[2]),
        )

    def encode_one(params: VAEParams, x: Array) -> Any:
        out = jnp.asarray(enc.apply(params.encoder, x))
        if out.shape != (post.num_outputs,):
            raise ValueError(
                f"vae.encode: the encoder maps one data vector to shape {out.shape}; "
                f"the {post.name} posterior needs ({post.num_outputs},)"
            )
        return post.head(params.posterior, out)

    def decode_one(params: VAEParams, z: Array) -> Any:
        out = jnp.asarray(dec.apply(params.decoder, z.reshape(flat_latent)))
        if out.shape != (decoder_outputs,):
            raise ValueError(
                f"vae.decode: the decoder maps one latent draw to shape {out.shape}; "
                f"the {likelihood.name} likelihood needs ({decoder_outputs},) "
                f"({likelihood.num_outputs} per data coordinate)"
            )
        return likelihood.head(params.likelihood, out)

    def encode(params: VAEParams, x: ArrayLike) -> Any:
        x = jnp.asarray(x)
        if x.shape[-1:] != (data_size,):
            raise ValueError(
                f"vae.encode: x has shape {x.shape}, not (..., {data_size}) (data_size)"
            )
        return _over_leading(lambda v: encode_one(params, v), x, 1)

    def decode(params: VAEParams, z: ArrayLike) -> Any:
        z = jnp.asarray(z)
        ndims = len(post.latent_shape)
        if z.shape[z.ndim - ndims :] != post.latent_shape:
            raise ValueError(
                f"vae.decode: z has shape {z.shape}, not (...,) + "
                f"{post.latent_shape} (the latent shape)"
            )
        return _over_leading(lambda v: decode_one(params, v), z, ndims)

    def log_joint(params: VAEParams, x: Array, z: Array) -> Array:
        return likelihood.log_prob(decode_one(params, z), x) + post.log_prior(z)

    def point(key: Array, params: VAEParams, x: Array, weight: Array) -> Any:
        """The bound of one data point (maximised) and its metrics."""
        q = encode_one(params, x)

        def log_lik(z: Array) -> Array:
            return likelihood.log_prob(decode_one(params, z), x)

        def target(z: Array) -> Array:
            return log_lik(z) + post.log_prior(z)

        if objective == "iwae":
            value = objectives.iwae(
                key, q, family, target, num_samples=num_samples, gradient=gradient
            )
            return value, {"iwae": value}
        if kl == "analytic":
            assert post.kl is not None  # kl="analytic" was checked to have one
            kl_value = post.kl(q)
            if post.prior is not None:
                value = objectives.elbo(
                    key, q, family, log_lik, num_samples=num_samples, prior=post.prior
                )
                reconstruction = value + kl_value
            else:
                reconstruction = estimators.pathwise(
                    key, q, family, log_lik, num_samples=num_samples
                )
            bound = reconstruction - weight * kl_value
        else:
            bound_key, kl_key = jax.random.split(key)
            options = {"num_samples": num_samples, "gradient": gradient}
            value = objectives.elbo(bound_key, q, family, target, **options)
            neg_kl = objectives.elbo(kl_key, q, family, post.log_prior, **options)
            kl_value = -neg_kl
            reconstruction = value + kl_value
            bound = value + (1 - weight) * kl_value if weighted else value
        metrics = {
            "elbo": reconstruction - kl_value,
            "kl": kl_value,
            "reconstruction": reconstruction,
        }
        return bound, jax.lax.stop_gradient(metrics)

    def kl_weight(step: ArrayLike | None) -> Array:
        if step is None or warmup_steps == 0:
            return jnp.asarray(beta, jnp.result_type(float))
        ramp = jnp.asarray(step, jnp.result_type(float)) / warmup_steps
        return beta * jnp.clip(ramp, 0.0, 1.0)

    def loss(
        key: ArrayLike, params: VAEParams, batch: ArrayLike, *, step: Any = None
    ) -> tuple[Array, dict[str, Array]]:
        key = _checks.check_key(key)
        x = jnp.asarray(batch)
        if x.ndim != 2 or x.shape[1] != data_size:
            raise ValueError(
                f"vae.loss: batch must have shape (batch_size, {data_size}) "
                f"(data_size {data_size}), got {x.shape}"
            )
        x = likelihood.check(x)  # eagerly a ValueError; NaN under jit
        weight = kl_weight(step)
        keys = jax.random.split(key, x.shape[0])
        with _objectives_common.per_data_point():
            bounds, terms = jax.vmap(point, (0, None, 0, None))(keys, params, x, weight)
        metrics = {name: jnp.mean(value) for name, value in terms.items()}
        if objective == "elbo":
            metrics["kl_weight"] = weight
        return -jnp.mean(bounds), metrics

    def sample(
        key: ArrayLike, params: VAEParams, num: int, *, mean: bool = False
    ) -> Array:
        z_key, x_key = jax.random.split(_checks.check_key(key))
        outputs = decode(params, post.sample_prior(z_key, num))
        return likelihood.mean(outputs) if mean else likelihood.sample(x_key, outputs)

    def reconstruct(key: ArrayLike, params: VAEParams, x: ArrayLike) -> Array:
        q = encode(params, x)
        z = family.sample(_checks.check_key(key), q)
        return likelihood.mean(decode(params, z))

    return VAE(
        init, loss, encode, decode, sample, reconstruct, log_joint, post,
        likelihood, data_size, latent_size, post.num_outputs, decoder_outputs,
    )  # fmt: skip
