"""Tests of chain and jr.transformed: order, densities, estimators, objectives, fit."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreparam as jr

jb = jr.bijectors
log_normal = jr.transformed(jr.normal, jb.exp)


# --------------------------------------------------------------------------- #
# chain


def test_chain_applies_left_to_right_and_inverts():
    both = jb.chain(jb.shift, jb.scale)
    params = (jb.shift.init(loc=1.0), jb.scale.init(scale=2.0))
    y, log_det = both.forward(params, jnp.array([0.0, 3.0]))
    np.testing.assert_allclose(y, [2.0, 8.0])  # 2 (x + 1), not 2 x + 1
    np.testing.assert_allclose(log_det, [math.log(2.0)] * 2, rtol=1e-6)
    x, inverse_log_det = both.inverse(params, y)
    np.testing.assert_allclose(x, [0.0, 3.0], atol=1e-6)
    np.testing.assert_allclose(inverse_log_det, -log_det, rtol=1e-6)
    assert both.name == "chain(shift, scale)"
    assert jb.chain(jb.scale, jb.shift).forward(params[::-1], 3.0)[0] == 7.0


def test_chain_event_ndims_shapes_and_params():
    simplex = jb.chain(jb.affine, jb.stick_breaking, jb.identity)
    assert simplex.event_ndims == 1
    assert simplex.forward_shape((5, 3)) == (5, 4)
    assert simplex.inverse_shape((5, 4)) == (5, 3)
    params = simplex.init(jax.random.key(0))
    assert isinstance(params, tuple)
    assert len(params) == 3
    y, log_det = simplex.forward(params, jnp.zeros((5, 3)))
    assert y.shape == (5, 4)
    assert log_det.shape == (5,)
    with pytest.raises(ValueError, match="tuple of 3 params"):
        simplex.forward(params[:2], jnp.zeros(3))
    with pytest.raises(ValueError, match="at least one"):
        jb.chain()
    with pytest.raises(TypeError, match=r"bijector 1 must be a jaxreparam Bijector"):
        jb.chain(jb.exp, jr.normal)


def test_learnable_inits_check_their_values():
    with pytest.raises(ValueError, match="scale must be finite and positive"):
        jb.affine.init(scale=-1.0)
    with pytest.raises(ValueError, match="loc must be finite"):
        jb.shift.init(loc=jnp.inf)
    with pytest.raises(ValueError, match="cannot broadcast"):
        jb.scale.init(scale=jnp.ones(2), shape=(3,))
    params = jb.affine.init(loc=jnp.array([1.0, 2.0]), scale=3.0)
    np.testing.assert_allclose(params.log_scale, [math.log(3.0)] * 2, rtol=1e-6)


# --------------------------------------------------------------------------- #
# The transformed family's densities and shapes.


def test_exp_of_a_normal_is_the_lognormal_in_float64():
    with jax.enable_x64(True):
        loc, scale = jnp.array([0.3, -1.0]), jnp.array([0.7, 1.9])
        params = log_normal.init(base={"loc": loc, "scale": scale})
        reference = jr.lognormal.init(loc=loc, scale=scale)
        z, log_q = log_normal.sample_and_log_prob(jax.random.key(1), params, (100,))
        assert z.dtype == jnp.float64
        assert z.shape == (100, 2)
        expected = jr.lognormal.log_prob(reference, z)
        np.testing.assert_allclose(log_q, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            log_normal.log_prob(params, z), expected, rtol=1e-12, atol=1e-12
        )
        same = log_normal.sample(jax.random.key(1), params, (100,))
        np.testing.assert_array_equal(same, z)  # one forward pass, the same draw
        assert log_normal.batch_shape(params) == (2,)
        assert log_normal.event_shape(params) == ()
        assert log_normal.reparameterized
        assert log_normal.to_natural(params)["bijector"] == jb.exp.init()
        back = log_normal.init(**log_normal.to_natural(params))
        jax.tree.map(np.testing.assert_allclose, back, params)


def test_event_axes_of_the_base_and_of_the_bijector():
    # Elementwise exp on a multivariate normal: the log-det summed over (3,).
    positive = jr.transformed(jr.multivariate_normal_diag, jb.exp)
    base = jr.multivariate_normal_diag.init(loc=jnp.zeros(3), scale_diag=jnp.ones(3))
    params = positive.init(base=base)
    z, log_q = positive.sample_and_log_prob(jax.random.key(2), params, (7,))
    assert z.shape == (7, 3)
    assert log_q.shape == (7,)
    expected = jr.multivariate_normal_diag.log_prob(base, jnp.log(z)) - jnp.sum(
        jnp.log(z), -1
    )
    np.testing.assert_allclose(log_q, expected, rtol=1e-5)
    np.testing.assert_allclose(positive.log_prob(params, z), expected, rtol=1e-5)
    assert positive.event_shape(params) == (3,)
    assert positive.batch_shape(params) == ()
    # Stick breaking on a batch of 3 normals: the batch axis becomes the event.
    simplex = jr.transformed(jr.normal, jb.stick_breaking)
    params = simplex.init(base={"loc": jnp.array([0.1, -0.2, 0.3]), "scale": 0.5})
    assert simplex.batch_shape(params) == ()
    assert simplex.event_shape(params) == (4,)
    y, log_q = simplex.sample_and_log_prob(jax.random.key(3), params, (6,))
    assert y.shape == (6, 4)
    assert log_q.shape == (6,)
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-5)
    x, inverse_log_det = jb.stick_breaking.inverse((), y)
    expected = jnp.sum(jr.normal.log_prob(params.base, x), -1) + inverse_log_det
    np.testing.assert_allclose(log_q, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(simplex.log_prob(params, y), expected, rtol=1e-4)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="base must be a jaxreparam Family"):
        jr.transformed(jb.exp, jb.exp)
    with pytest.raises(TypeError, match="bijector must be a jaxreparam Bijector"):
        jr.transformed(jr.normal, jr.normal)
    with pytest.raises(TypeError, match="base must be a dict"):
        log_normal.init(base=1.0)


# --------------------------------------------------------------------------- #
# Estimators, objectives, fit.


def test_pathwise_estimator_through_the_bijector():
    mu, sigma, n = 0.2, 0.5, 20000
    params = log_normal.init(base={"loc": mu, "scale": sigma})
    key = jax.random.key(4)
    value, grads = jax.value_and_grad(
        lambda p: jr.estimators.pathwise(
            key, p, family=log_normal, f=lambda z: z, num_samples=n
        )
    )(params)
    z = log_normal.sample(jax.random.clone(key), params, (n,))
    # d/d loc E[z] = E[z] pathwise (dz/dloc = z); the exact value exp(mu + s^2/2).
    np.testing.assert_allclose(grads.base.loc, jnp.mean(z), rtol=1e-5)
    np.testing.assert_allclose(value, jnp.mean(z), rtol=1e-5)
    exact = math.exp(mu + sigma**2 / 2)
    assert abs(float(grads.base.loc) - exact) < 5 * float(jnp.std(z)) / math.sqrt(n)


def _flat(tree):
    return np.concatenate([np.ravel(leaf) for leaf in jax.tree.leaves(tree)])


def test_stl_gradient_vanishes_at_the_exact_posterior():
    with jax.enable_x64(True):
        target = jr.lognormal.init(loc=0.4, scale=0.6)
        log_target = lambda z: jr.lognormal.log_prob(target, z)
        exact = log_normal.init(base={"loc": 0.4, "scale": 0.6})

        def grad(gradient, key):
            return jax.grad(jr.objectives.elbo, argnums=1)(
                key, exact, log_normal, log_target, num_samples=16, gradient=gradient
            )

        keys = jax.random.split(jax.random.key(5), 10)
        stl = np.stack([_flat(grad("stl", k)) for k in keys])
        standard = np.stack([_flat(grad("standard", k)) for k in keys])
    assert np.max(np.abs(stl)) < 1e-10  # zero for every key: zero variance
    assert np.std(standard, axis=0).min() > 1e-2  # the test could fail


def test_dreg_iwae_gradient_is_unbiased():
    target = jr.lognormal.init(loc=0.5, scale=0.8)
    log_target = lambda z: jr.lognormal.log_prob(target, z) + 1.0
    params = log_normal.init(base={"loc": 0.2, "scale": 1.1})
    num = 4000

    @functools.partial(jax.jit, static_argnums=1)
    def gradients(keys, gradient):
        grad = jax.grad(jr.objectives.iwae, argnums=1)
        one = lambda k: _flat_jax(
            grad(k, params, log_normal, log_target, num_samples=5, gradient=gradient)
        )
        return jax.vmap(one)(keys)

    dreg = np.asarray(gradients(jax.random.split(jax.random.key(6), num), "dreg"))
    standard = np.asarray(
        gradients(jax.random.split(jax.random.key(7), num), "standard")
    )
    error = np.sqrt((dreg.var(0, ddof=1) + standard.var(0, ddof=1)) / num)
    z = np.abs(dreg.mean(0) - standard.mean(0)) / error
    assert np.all(z < 5), (z, dreg.mean(0), standard.mean(0))
    assert np.all(dreg.var(0) < standard.var(0))  # and it has less variance


def _flat_jax(tree):
    return jnp.concatenate([jnp.ravel(leaf) for leaf in jax.tree.leaves(tree)])


def test_fit_a_learnable_affine_flow_to_a_normal():
    """Base N(m, s) through affine(a, b): the pushforward N(a + b m, (b s)^2)."""
    family = jr.transformed(jr.normal, jb.affine)
    params = family.init(base={"loc": 0.0, "scale": 1.0})
    log_target = lambda z: jr.normal.log_prob(jr.normal.init(loc=3.0, scale=2.0), z)
    loss = jr.objectives.make_elbo_loss(
        family, log_target, num_samples=8, gradient="stl"
    )
    result = jr.fit(
        jax.random.key(8), params, loss=loss, optimizer=optax.adam(0.05),
        num_steps=1500, progress=False,
    )  # fmt: skip
    fitted = result.params
    assert float(jnp.abs(fitted.bijector.log_scale)) > 0.05  # the bijector learned
    scale = jnp.exp(fitted.bijector.log_scale)
    mean = fitted.bijector.loc + scale * fitted.base.loc
    std = scale * jnp.exp(fitted.base.log_scale)
    np.testing.assert_allclose([mean, std], [3.0, 2.0], atol=0.02)
