"""``jr.independent``: batch axes read as event axes.

The registry (``tests/registry.py``) runs the whole family contract on
``independent(normal, 1)`` and ``independent(multivariate_normal_diag, 1)``; here:
shapes, the sums against the base family in float64, the same draws, errors,
and use by the estimators and objectives.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr

LOC = np.array([[[0.5, -1.0, 0.2], [0.0, 0.3, -0.4]]] * 4) + np.arange(4)[:, None, None]
SCALE = np.array([[1.5, 0.3, 0.8], [1.0, 0.6, 2.0]])  # broadcasts against LOC


def normal_params(dtype=jnp.float64):
    return jr.normal.init(loc=jnp.asarray(LOC, dtype), scale=jnp.asarray(SCALE, dtype))


@pytest.mark.parametrize("ndims", [1, 2, 3])
@pytest.mark.parametrize("sample_shape", [(), (5,), (2, 3)])
def test_shapes(ndims, sample_shape, key):
    family = jr.independent(jr.normal, ndims)
    params = normal_params(jnp.float32)  # normal batch shape (4, 2, 3)
    assert family.batch_shape(params) == (4, 2, 3)[: 3 - ndims]
    assert family.event_shape(params) == (4, 2, 3)[3 - ndims :]
    z = family.sample(key, params, sample_shape)
    assert z.shape == sample_shape + (4, 2, 3)
    batch = sample_shape + (4, 2, 3)[: 3 - ndims]
    assert family.log_prob(params, z).shape == batch
    z2, log_q = family.sample_and_log_prob(jax.random.key(1), params, sample_shape)
    assert z2.shape == z.shape
    assert log_q.shape == batch
    assert family.entropy(params).shape == (4, 2, 3)[: 3 - ndims]


@pytest.mark.parametrize("ndims", [1, 2, 3])
def test_densities_are_the_base_summed(ndims):
    with jax.enable_x64(True):
        family = jr.independent(jr.normal, ndims)
        params = normal_params()
        axes = tuple(range(-ndims, 0))
        z = family.sample(jax.random.key(0), params, (7,))
        np.testing.assert_allclose(
            family.log_prob(params, z),
            np.sum(np.asarray(jr.normal.log_prob(params, z)), axis=axes),
            rtol=1e-13,
        )
        z2, log_q = family.sample_and_log_prob(jax.random.key(1), params, (7,))
        base_z, base_log_q = jr.normal.sample_and_log_prob(
            jax.random.key(1), params, (7,)
        )
        np.testing.assert_array_equal(z2, base_z)
        np.testing.assert_allclose(
            log_q, np.sum(np.asarray(base_log_q), axis=axes), rtol=1e-13
        )
        # The entropy of the base broadcasts first: its scale has shape (2, 3).
        base_entropy = np.broadcast_to(jr.normal.entropy(params), (4, 2, 3))
        np.testing.assert_allclose(
            family.entropy(params), base_entropy.sum(axis=axes), rtol=1e-13
        )
        assert family.entropy(params).shape == (4, 2, 3)[: 3 - ndims]


def test_multivariate_base_keeps_its_event_axes_last():
    with jax.enable_x64(True):
        base = jr.multivariate_normal_diag
        family = jr.independent(base, 1)
        params = base.init(loc=jnp.asarray(LOC), scale_diag=jnp.asarray(SCALE))
        assert base.batch_shape(params) == (4, 2)
        assert family.batch_shape(params) == (4,)
        assert family.event_shape(params) == (2, 3)
        z = family.sample(jax.random.key(0), params, (5,))
        assert z.shape == (5, 4, 2, 3)
        np.testing.assert_allclose(
            family.log_prob(params, z),
            np.sum(np.asarray(base.log_prob(params, z)), axis=-1),
            rtol=1e-13,
        )


def test_draws_are_the_base_draws():
    params = normal_params(jnp.float32)
    family = jr.independent(jr.normal, 2)
    np.testing.assert_array_equal(
        family.sample(jax.random.key(0), params, (3,)),
        jr.normal.sample(jax.random.key(0), params, (3,)),
    )


def test_closed_forms_pass_through_or_are_absent():
    family = jr.independent(jr.normal, 1)
    params = normal_params(jnp.float32)
    np.testing.assert_array_equal(family.mean(params), jr.normal.mean(params))
    np.testing.assert_array_equal(family.variance(params), jr.normal.variance(params))
    assert not family.has("cdf")
    assert not family.has("icdf")
    assert not jr.independent(jr.relaxed_bernoulli, 1).has("entropy")


def test_params_init_and_metadata_are_the_base():
    family = jr.independent(jr.rayleigh, 1)
    assert family.init is jr.rayleigh.init
    assert family.to_natural is jr.rayleigh.to_natural
    assert family.params_type is jr.RayleighParams
    # The base's arguments, their reinterpreted axes now event axes.
    assert family.natural_args == (jr.rayleigh.natural_args[0]._replace(event_ndims=1),)
    assert family.reparameterized
    assert not jr.independent(jr.bernoulli, 1).reparameterized
    assert family.name == "independent(rayleigh, 1)"
    # Not registered for dispatch: the params still find their own family.
    params = family.init(scale=jnp.ones(3))
    assert jr.family_of(params) is jr.rayleigh


def test_same_arguments_give_the_same_family():
    assert jr.independent(jr.normal, 1) is jr.independent(jr.normal, 1)
    assert jr.independent(jr.normal, np.int64(2)) is jr.independent(jr.normal, 2)
    assert jr.independent(jr.normal, 0) is jr.normal
    nested = jr.independent(jr.independent(jr.normal, 1), 1)
    params = normal_params(jnp.float32)
    assert nested.batch_shape(params) == (4,)
    assert nested.event_shape(params) == (2, 3)


@pytest.mark.parametrize("bad", [-1, 1.0, True, None, "1"])
def test_reinterpreted_batch_ndims_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        jr.independent(jr.normal, bad)


def test_family_must_be_a_family():
    with pytest.raises(TypeError, match="family"):
        jr.independent(jr.normal.log_prob, 1)


def test_more_axes_than_the_batch_has_are_refused(key):
    family = jr.independent(jr.normal, 2)
    params = jr.normal.init(loc=jnp.zeros(3), scale=1.0)  # batch rank 1
    for call in (
        lambda: family.batch_shape(params),
        lambda: family.event_shape(params),
        lambda: family.sample(key, params),
        lambda: family.log_prob(params, jnp.zeros(3)),
        lambda: family.sample_and_log_prob(key, params),
        lambda: family.entropy(params),
        lambda: jax.jit(family.log_prob)(params, jnp.zeros(3)),
    ):
        with pytest.raises(ValueError, match="reinterpreted_batch_ndims=2"):
            call()


def test_jit_and_vmap():
    family = jr.independent(jr.normal, 1)
    params = normal_params(jnp.float32)

    def f(key, params):
        z, log_q = family.sample_and_log_prob(key, params, (3,))
        return z, log_q, family.log_prob(params, z)

    eager = f(jax.random.key(0), params)
    jitted = jax.jit(f)(jax.random.key(0), params)
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    stacked = jax.tree.map(lambda x: jnp.stack([x, 2 * x]), params)
    z = jax.vmap(family.sample, in_axes=(None, 0))(jax.random.key(1), stacked)
    log_q = jax.vmap(family.log_prob)(stacked, z)
    assert log_q.shape == (2, 4, 2)
    np.testing.assert_allclose(
        log_q[1],
        family.log_prob(
            params._replace(loc=2 * params.loc, log_scale=2 * params.log_scale), z[1]
        ),
        rtol=1e-6,
    )


def test_pathwise_estimator_sees_the_base_draws():
    """The same draws: the same estimate and gradient as the base family's."""
    with jax.enable_x64(True):
        params = normal_params()
        f = lambda z: jnp.sum(jnp.sin(z))
        grad = jax.value_and_grad(jr.estimators.pathwise, argnums=1)
        ours = grad(jax.random.key(0), params, family=jr.independent(jr.normal, 2), f=f)
        base = grad(jax.random.key(0), params, family=jr.normal, f=f)
        for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(base), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("entropy", ["monte_carlo", "analytic"])
def test_elbo_is_the_base_families(entropy):
    """The ELBO sums log q over the batch anyway: the same bound, value and
    gradient, whether the axes are batch or event axes."""
    with jax.enable_x64(True):
        params = normal_params()
        target = jr.normal.init(loc=0.0, scale=2.0)
        log_target = lambda z: jnp.sum(jr.normal.log_prob(target, z))
        grad = jax.value_and_grad(jr.objectives.elbo, argnums=1)
        kwargs = {"log_target": log_target, "num_samples": 4, "entropy": entropy}
        family = jr.independent(jr.normal, 2)
        ours = grad(jax.random.key(0), params, family=family, **kwargs)
        base = grad(jax.random.key(0), params, family=jr.normal, **kwargs)
        for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(base), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_vae_style_log_likelihood(key):
    """A decoder's per-pixel Bernoulli: one log-likelihood per image."""
    images = jr.independent(jr.bernoulli, 2)
    logits = jax.random.normal(key, (5, 8, 8))  # a batch of 5 images
    params = images.init(logits=logits)
    x = (jax.random.uniform(jax.random.key(1), (5, 8, 8)) < 0.5).astype(jnp.float32)
    log_lik = images.log_prob(params, x)
    assert log_lik.shape == (5,)
    np.testing.assert_allclose(
        log_lik, jr.bernoulli.log_prob(params, x).sum(axis=(-2, -1)), rtol=1e-6
    )
