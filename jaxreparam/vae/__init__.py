"""Variational autoencoders as pure functions: building blocks, a model, evaluation.

``make_vae(encoder, decoder, *, data_size, latent_size, likelihood, ...)``
returns a ``VAE`` of pure functions over a ``VAEParams`` pytree: ``init(key)``,
``loss(key, params, batch, *, step=None) -> (loss, metrics)`` (for ``jr.fit``,
which passes ``step`` for the KL warm-up), ``encode``, ``decode``, ``sample``
and ``reconstruct``. The networks are any ``(init, apply)`` pairs mapping one
data vector (or one latent draw) to a vector (``jr.nn.mlp`` by default; an
equinox or flax module split into params and an apply function plugs in). The
bounds are ``jr.objectives``' (``elbo``, ``iwae``, their ``"stl"`` and
``"dreg"`` gradients), one per data point.

| name | what it is |
| --- | --- |
| ``make_vae``, ``VAE``, ``VAEParams`` | the model, its functions and params |
| ``bernoulli`` | binary data ``{0, 1}``, Bernoulli logits |
| ``continuous_bernoulli`` | data in ``[0, 1]``, the normalized continuous Bernoulli |
| ``bernoulli_cross_entropy`` | data in ``[0, 1]``, ``x l - softplus(l)``: the loss |
| | of JAX's and flax's VAE examples; NOT a normalized density on ``[0, 1]`` |
| ``gaussian(scale)`` | real data, fixed or learned per-coordinate scale |
| ``categorical(num_levels)`` | integer levels ``0 .. num_levels - 1`` (digits: 17) |
| ``Likelihood`` | the decoder-head bundle the above are |
| ``gaussian_posterior()`` | ``q(z|x)`` diagonal Gaussian (``"gaussian"``) |
| ``full_covariance_posterior()`` | ``q(z|x)`` Gaussian with a Cholesky factor |
| ``iaf_posterior(...)`` | a Gaussian moved by conditional IAF layers |
| ``relaxed_categorical_posterior(K)`` | Gumbel-softmax / straight-through latents |
| ``Posterior`` | the encoder-head bundle the factories build |
| ``log_likelihood`` | importance-sampled ``log p(x)``, chunked, with std. errors |
| ``elbo_terms`` | per point ELBO, KL and reconstruction |
| ``active_units`` | Burda et al. (2016)'s active-unit count |

A likelihood's ``log_prob(outputs, x)`` sums over the data coordinates; data
outside its support raise a ``ValueError`` naming ``x`` eagerly, are NaN under
``jax.jit`` and raise under ``jr.checking()``.

The likelihoods' examples are in :mod:`jaxreparam.vae._likelihoods`.

References:
    Kingma & Welling, "Auto-encoding variational Bayes", ICLR 2014.
    Loaiza-Ganem & Cunningham, "The continuous Bernoulli: fixing a pervasive
    error in variational autoencoders", NeurIPS 2019.
"""

from jaxreparam.vae._evaluate import (
    ActiveUnits,
    ElboTerms,
    LogLikelihood,
    active_units,
    elbo_terms,
    log_likelihood,
)
from jaxreparam.vae._likelihoods import (
    Likelihood,
    bernoulli,
    bernoulli_cross_entropy,
    categorical,
    continuous_bernoulli,
    gaussian,
)
from jaxreparam.vae._model import VAE, VAEParams, make_vae
from jaxreparam.vae._posteriors import (
    Posterior,
    full_covariance_posterior,
    gaussian_posterior,
    iaf_posterior,
    relaxed_categorical_posterior,
)

__all__ = [
    "VAE",
    "ActiveUnits",
    "ElboTerms",
    "Likelihood",
    "LogLikelihood",
    "Posterior",
    "VAEParams",
    "active_units",
    "bernoulli",
    "bernoulli_cross_entropy",
    "categorical",
    "continuous_bernoulli",
    "elbo_terms",
    "full_covariance_posterior",
    "gaussian",
    "gaussian_posterior",
    "iaf_posterior",
    "log_likelihood",
    "make_vae",
    "relaxed_categorical_posterior",
]
