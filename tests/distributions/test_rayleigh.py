"""The Rayleigh family: its registry case and what is particular to it.

``CASE`` puts it under the contract (``test_contract.py``) and the scipy checks
(``test_univariate.py``: KS test of the draws, density, CDF, quantiles, moments,
entropy, gradients of ``E[f(z)]``); ``tests/registry.py`` gathers it from here.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import jaxreparam as jr
from tests.distributions.case import Case, floats

CASE = Case(
    jr.rayleigh,
    {"scale": floats(1.5, 0.3)},
    scipy=lambda scale: st.rayleigh(scale=scale),
)


def test_case_reads_the_domain_from_the_family():
    assert CASE.positive == ("scale",)


def test_is_the_weibull_with_concentration_two():
    """Rayleigh(s) = Weibull(s sqrt 2, 2): same density, and the same draws from
    the same uniforms (both invert the CDF of ``u ~ U[tiny, 1)``)."""
    with jax.enable_x64(True):
        scale = jnp.array([1.5, 0.3, 4.0])
        ours = jr.rayleigh.init(scale=scale)
        weibull = jr.weibull.init(scale=scale * np.sqrt(2.0), concentration=2.0)
        z = jr.rayleigh.sample(jax.random.key(0), ours, (1000,))
        z_weibull = jr.weibull.sample(jax.random.key(0), weibull, (1000,))
        np.testing.assert_allclose(z, z_weibull, rtol=1e-13)
        np.testing.assert_allclose(
            jr.rayleigh.log_prob(ours, z), jr.weibull.log_prob(weibull, z), rtol=1e-12
        )


def test_is_the_length_of_a_gaussian_vector():
    """``|(x, y)|`` for ``x, y ~ N(0, s^2)``: two-sample KS test, p > 0.01."""
    params = jr.rayleigh.init(scale=0.7)
    z = jr.rayleigh.sample(jax.random.key(1), params, (5000,))
    xy = 0.7 * jax.random.normal(jax.random.key(2), (5000, 2))
    assert st.ks_2samp(np.asarray(z), np.linalg.norm(xy, axis=-1)).pvalue > 0.01


def test_log_prob_off_and_at_the_edge_of_the_support():
    params = jr.rayleigh.init(scale=jnp.array([1.0, 2.0]))
    assert np.all(np.asarray(jr.rayleigh.log_prob(params, -0.5)) == -np.inf)
    assert np.all(np.asarray(jr.rayleigh.log_prob(params, 0.0)) == -np.inf)
    assert np.all(np.asarray(jr.rayleigh.cdf(params, -0.5)) == 0.0)
    grad = jax.grad(lambda p: jnp.sum(jr.rayleigh.log_prob(p, -0.5)))(params)
    assert np.all(np.isfinite(grad.log_scale))


def test_quantiles_keep_relative_accuracy_in_the_tails():
    """``cdf(icdf(u)) = u`` from ``u = 1e-30`` to ``1 - 1e-12`` (float64)."""
    with jax.enable_x64(True):
        params = jr.rayleigh.init(scale=jnp.float64(1.7))
        u = np.array([1e-30, 1e-12, 1e-3, 0.5, 0.999, 1 - 1e-12])
        z = jr.rayleigh.icdf(params, u)
        np.testing.assert_allclose(z, st.rayleigh(scale=1.7).ppf(u), rtol=1e-12)
        np.testing.assert_allclose(jr.rayleigh.cdf(params, z), u, rtol=1e-9)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_smallest_uniform_gives_a_positive_draw_and_finite_gradients(dtype):
    """``u = tiny``: ``z > 0`` and ``d log q(z) / d log_scale`` through ``z``."""
    with jax.enable_x64(dtype == jnp.float64):
        tiny = jnp.finfo(dtype).tiny
        params = jr.rayleigh.init(scale=jnp.asarray(1.0, dtype))
        z = jr.rayleigh.icdf(params, tiny)
        assert z > 0

        def log_q_at_draw(p):
            return jr.rayleigh.log_prob(p, jr.rayleigh.icdf(p, tiny))

        assert np.isfinite(jax.grad(log_q_at_draw)(params).log_scale)


def test_pathwise_gradient_of_the_mean():
    """``d/ds E[z] = sqrt(pi / 2)``, within 5 standard errors (float64)."""
    with jax.enable_x64(True):
        draws = lambda s: jr.rayleigh.sample(
            jax.random.key(3), jr.rayleigh.init(scale=s), (20_000,)
        )
        g = jax.jacfwd(draws)(jnp.float64(0.8))
        se = np.std(g) / np.sqrt(g.size)
        assert abs(np.mean(g) - np.sqrt(np.pi / 2)) < 5 * se
