"""Evaluation: log_likelihood on a linear-Gaussian VAE with a known p(x), chunking,
ELBO terms and active units."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import multivariate_normal

import jaxreparam as jr

D, N, SIGMA = 4, 2, 0.5


def _model():
    """p(z) = N(0, I), p(x | z) = N(W z + b, sigma^2 I): p(x) = N(b, W W^T + s^2 I)."""
    w = jnp.array([[1.0, 0.5], [-0.3, 0.8], [0.6, -1.0], [0.2, 0.4]])
    b = jnp.array([0.1, -0.2, 0.3, 0.0])
    precision = jnp.eye(N) + w.T @ w / SIGMA**2
    cov = jnp.linalg.inv(precision)
    gain = cov @ w.T / SIGMA**2  # E[z | x] = gain (x - b)
    return w, b, cov, gain


def _vae(kind):
    """A linear decoder; a linear encoder: the exact posterior or a worse one."""
    w, b, cov, gain = _model()

    def decode(params, z):
        return params["w"] @ z + params["b"]

    if kind == "exact":
        rows, cols = jnp.tril_indices(N)
        chol = jnp.linalg.cholesky(cov)
        raw = jnp.where(rows == cols, jnp.log(chol[rows, cols]), chol[rows, cols])

        def encode(params, x):
            return jnp.concatenate([params["gain"] @ (x - params["b"]), params["raw"]])

        encoder_params = {"gain": gain, "b": b, "raw": raw}
        posterior = "full_covariance"
    else:  # diagonal, shifted and 1.3x wider than the posterior's marginals

        def encode(params, x):
            loc = params["gain"] @ (x - params["b"]) + 0.3
            return jnp.concatenate([loc, params["log_scale"]])

        log_scale = jnp.log(1.3 * jnp.sqrt(jnp.diag(cov)))
        encoder_params = {"gain": gain, "b": b, "log_scale": log_scale}
        posterior = "gaussian"
    vae = jr.vae.make_vae(
        (lambda key: encoder_params, encode),
        (lambda key: {"w": w, "b": b}, decode),
        data_size=D, latent_size=N, likelihood=jr.vae.gaussian(scale=SIGMA),
        posterior=posterior,
    )  # fmt: skip
    return vae, vae.init(jax.random.key(0))


def _exact_log_p(x):
    w, b, _, _ = _model()
    return multivariate_normal.logpdf(x, b, w @ w.T + SIGMA**2 * jnp.eye(D))


def _points(num):
    w, b, _, _ = _model()
    k1, k2 = jax.random.split(jax.random.key(7))
    z = jax.random.normal(k1, (num, N))
    return z @ w.T + b + SIGMA * jax.random.normal(k2, (num, D))


def _log_likelihood(vae, **options):
    return jax.jit(functools.partial(jr.vae.log_likelihood, vae=vae, **options))


@pytest.mark.slow
def test_exact_posterior_gives_the_exact_log_likelihood():
    with jax.enable_x64(True):
        vae, params = _vae("exact")
        x = _points(5)
        ll = _log_likelihood(vae, num_samples=20, chunk_size=7)(
            jax.random.key(1), params=params, x=x
        )
        np.testing.assert_allclose(ll.value, _exact_log_p(x), rtol=1e-10)
        assert bool(jnp.all(ll.standard_error < 1e-8))
        terms = jr.vae.elbo_terms(jax.random.key(2), vae, params, x)
        _, b, cov, gain = _model()
        mu = (x - b) @ gain.T  # KL(N(mu, cov) || N(0, I)) by hand
        log_det = jnp.linalg.slogdet(cov)[1]
        kl = 0.5 * (jnp.trace(cov) + jnp.sum(mu**2, -1) - N - log_det)
        np.testing.assert_allclose(terms.kl, kl, rtol=1e-10)
        np.testing.assert_allclose(terms.elbo, terms.reconstruction - kl, rtol=1e-10)


@pytest.mark.slow  # about 6 s: 200 points x 5000 draws
def test_estimate_within_three_standard_errors_and_rising_with_k():
    with jax.enable_x64(True):
        vae, params = _vae("approximate")
        x = _points(200)
        exact = _exact_log_p(x)
        big = _log_likelihood(vae, num_samples=5000, chunk_size=1000)(
            jax.random.key(1), params=params, x=x
        )
        z = (big.value - exact) / big.standard_error
        assert bool(jnp.all(jnp.abs(z[:10]) < 3)), z  # 10 points: 2.7% false alarms
        assert float(jnp.mean(jnp.abs(z) < 3)) > 0.97
        small = _log_likelihood(vae, num_samples=2, chunk_size=2)(
            jax.random.key(2), params=params, x=x
        )
        elbo = jr.vae.elbo_terms(
            jax.random.key(3), vae, params, x, num_samples=2000
        ).elbo
        # ELBO < IWAE K=2 < K=5000: each gain, paired over the points, above 5
        # standard errors
        for low, high in [(elbo, small.value), (small.value, big.value)]:
            gain = high - low
            se = jnp.std(gain, ddof=1) / jnp.sqrt(gain.size)
            assert float(jnp.mean(gain)) > 5 * float(se), (jnp.mean(gain), se)


def test_chunked_equals_unchunked():
    with jax.enable_x64(True):
        vae, params = _vae("approximate")
        x = _points(3)
        chunked = _log_likelihood(vae, num_samples=50, chunk_size=7, batch_size=2)(
            jax.random.key(1), params=params, x=x
        )
        whole = _log_likelihood(vae, num_samples=50, chunk_size=50)(
            jax.random.key(1), params=params, x=x
        )
        np.testing.assert_allclose(chunked.value, whole.value, rtol=1e-12)
        np.testing.assert_allclose(
            chunked.standard_error, whole.standard_error, rtol=1e-9
        )


def test_active_units_are_the_coordinates_the_encoder_reads():
    n = 4
    gain = jnp.zeros((n, D)).at[0, 0].set(1.0).at[2, 1].set(0.5)

    def encode(params, x):
        return jnp.concatenate([params @ x + 0.7, jnp.full(n, -1.0)])

    vae = jr.vae.make_vae(
        (lambda key: gain, encode), None, data_size=D, latent_size=n,
        likelihood=jr.vae.gaussian(), hidden_sizes=(8,),
    )  # fmt: skip
    params = vae.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (50, D))
    units = jr.vae.active_units(jax.random.key(2), vae, params, x)
    assert int(units.num_active) == 2
    assert bool(jnp.all(units.variance[jnp.array([1, 3])] < 1e-10))  # rounding
    assert bool(jnp.all(units.variance[jnp.array([0, 2])] > 0.01))


@pytest.mark.slow  # the closed-form mean is checked by the test above
def test_active_units_by_monte_carlo_for_an_iaf():
    vae = jr.vae.make_vae(
        data_size=D, latent_size=N, likelihood=jr.vae.gaussian(), hidden_sizes=(8,),
        posterior=jr.vae.iaf_posterior(num_layers=1, hidden_sizes=(8,), context_size=2),
    )  # fmt: skip
    params = vae.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (6, D))
    units = jr.vae.active_units(jax.random.key(2), vae, params, x, num_samples=20)
    assert units.variance.shape == (N,)
    assert bool(jnp.all(jnp.isfinite(units.variance)))


def test_bad_arguments():
    vae, params = _vae("approximate")
    with pytest.raises(ValueError, match="num_samples must be at least 1, got 0"):
        jr.vae.log_likelihood(jax.random.key(0), vae, params, _points(2), num_samples=0)
    with pytest.raises(ValueError, match=r"x must have shape \(num_points, 4\)"):
        jr.vae.log_likelihood(jax.random.key(1), vae, params, jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="x must be finite"):
        jr.vae.elbo_terms(jax.random.key(2), vae, params, jnp.full((2, D), jnp.nan))
