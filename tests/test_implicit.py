"""The shared implicit-reparameterization mechanism against known transports."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import gammainc, ndtr

import jaxreparam as jr


def normal_draw(key, params, shape):
    loc, scale = params
    return loc + scale * jax.random.normal(key, shape, jnp.result_type(loc))


def normal_cdf(params, z):
    return ndtr((z - params[0]) / params[1])


def normal_log_prob(params, z):
    return jax.scipy.stats.norm.logpdf(z, params[0], params[1])


@pytest.mark.parametrize("transform", ["eager", "jit"])
@pytest.mark.parametrize("mode", ["jacfwd", "jacrev"])
def test_normal_implicit_equals_explicit(transform, mode):
    """For a location-scale family the implicit transport is z = loc + scale eps."""
    sample = jr.implicit_sampler(normal_draw, normal_cdf, normal_log_prob)
    jac = getattr(jax, mode)
    with jax.enable_x64(True):
        params = (jnp.float64(0.3), jnp.float64(2.0))
        key = lambda: jax.random.key(0)  # the same key, fresh for each use
        f = lambda p: jac(lambda p: sample(key(), p, (5,)))(p)
        g = lambda p: jac(lambda p: normal_draw(key(), p, (5,)))(p)
        if transform == "jit":
            f = jax.jit(f)
        np.testing.assert_allclose(f(params), g(params), rtol=1e-12)
        np.testing.assert_array_equal(
            sample(key(), params, (5,)), normal_draw(key(), params, (5,))
        )


@pytest.mark.slow
def test_gamma_implicit_matches_jax_random_gamma():
    def draw(key, a, shape):
        return jax.random.gamma(key, a, shape, jnp.float64)

    sample = jr.implicit_sampler(
        draw, gammainc, lambda a, z: jax.scipy.stats.gamma.logpdf(z, a)
    )
    with jax.enable_x64(True):
        keys = lambda: jax.random.split(jax.random.key(1), 64)
        ours = jax.vmap(jax.grad(lambda a, k: sample(k, a, ())), (None, 0))
        ref = jax.vmap(jax.grad(lambda a, k: draw(k, a, ())), (None, 0))
        for a in (0.05, 0.5, 3.0, 40.0):
            np.testing.assert_allclose(ours(a, keys()), ref(a, keys()), rtol=1e-8)


def test_closed_form_cdf_jvp_and_vmap_over_params():
    """Exponential by its CDF 1 - exp(-rate z): dz/drate = -z / rate."""

    def draw(key, rate, shape):
        return jax.random.exponential(key, shape) / rate

    def cdf_jvp(rate, drate, z):
        return z * jnp.exp(-rate * z) * drate

    sample = jr.implicit_sampler(
        draw, None, lambda rate, z: jnp.log(rate) - rate * z, cdf_jvp=cdf_jvp
    )
    rates = jnp.array([0.5, 1.0, 4.0])
    grads = jax.vmap(jax.grad(lambda r: sample(jax.random.key(2), r, ())))(rates)
    z = jax.vmap(lambda r: draw(jax.random.key(2), r, ()))(rates)
    np.testing.assert_allclose(grads, -z / rates, rtol=1e-5)


def test_sampler_is_never_differentiated():
    """A sampler with a non-differentiable loop still has a gradient."""

    def draw(key, params, shape):
        eps = jax.random.normal(key, shape)
        z = jax.lax.stop_gradient(params[0] + params[1] * eps)
        return jax.lax.while_loop(
            lambda c: c[1] < 3, lambda c: (c[0], c[1] + 1), (z, 0)
        )[0]

    sample = jr.implicit_sampler(draw, normal_cdf, normal_log_prob)
    g = jax.grad(lambda p: sample(jax.random.key(3), p, ()))((0.0, 1.0))
    assert g[0] == pytest.approx(1.0)


def test_needs_a_density():
    with pytest.raises(ValueError, match="log_prob"):
        jr.implicit_sampler(normal_draw, normal_cdf)
