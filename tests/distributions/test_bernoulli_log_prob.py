"""Bernoulli ``log_prob``'s fast forms: values, derivatives and the support.

From logits, ``log_prob`` is ``min(-y, cap) - log1p(e^-|y|)`` with ``y = (1 -
2 z) logits``, a custom derivative reusing ``e^-|y|``, and the support as
``cap``; from probs, ``min(log|1 - z - p|, cap)``. These check both against
closed forms in float64 and at the ends, eagerly and under jit, and the params
that store either form.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr

TRANSFORMS = {"eager": lambda f: f, "jit": jax.jit}
INF = np.inf


def _log_prob(logits, z):
    return jr.bernoulli.log_prob(jr.distributions.BernoulliParams(logits), z)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=TRANSFORMS)
def test_value_and_derivatives_match_closed_forms_in_float64(transform):
    logits = np.linspace(-40.0, 40.0, 161)
    with jax.enable_x64(True):
        for z in (0.0, 1.0):
            value_and_grad = transform(
                jax.vmap(jax.value_and_grad(lambda t, z=z: _log_prob(t, z)))
            )
            value, grad = value_and_grad(jnp.asarray(logits))
            signed = (1 - 2 * z) * logits
            # -softplus(signed), in a form exact for both signs
            expected = -(np.maximum(signed, 0) + np.log1p(np.exp(-np.abs(signed))))
            np.testing.assert_allclose(value, expected, rtol=1e-14, atol=1e-300)
            np.testing.assert_allclose(
                grad, -(1 - 2 * z) * _sigmoid(signed), rtol=1e-14, atol=1e-300
            )
            second = transform(
                jax.vmap(jax.grad(jax.grad(lambda t, z=z: _log_prob(t, z))))
            )
            np.testing.assert_allclose(
                second(jnp.asarray(logits)),
                -_sigmoid(signed) * _sigmoid(-signed),
                rtol=1e-12,
                atol=1e-300,
            )


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=TRANSFORMS)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_ends_exact_with_finite_derivatives(transform, dtype):
    with jax.enable_x64(dtype == jnp.float64):
        logits = jnp.array([-INF, 0.0, INF], dtype)
        f = transform(jax.vmap(jax.value_and_grad(_log_prob), in_axes=(0, None)))
        value, grad = f(logits, jnp.asarray(1.0, dtype))
        np.testing.assert_array_equal(value, np.array([-INF, np.log(0.5), 0.0], dtype))
        assert not np.signbit(value[2])  # log_prob(1 | p = 1) is +0, not -0
        np.testing.assert_array_equal(grad, [1.0, 0.5, 0.0])
        value, grad = f(logits, jnp.asarray(0.0, dtype))
        np.testing.assert_array_equal(value, np.array([0.0, np.log(0.5), -INF], dtype))
        np.testing.assert_array_equal(grad, [0.0, -0.5, -1.0])
        assert value.dtype == grad.dtype == dtype


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=TRANSFORMS)
def test_off_support_is_minus_inf_for_every_logit_and_nan_stays_nan(transform):
    logits = jnp.array([-INF, -1e30, -3.0, 0.0, 3.0, 1e30, INF])
    f = transform(jax.vmap(jax.value_and_grad(_log_prob), in_axes=(0, None)))
    for z in (0.3, -1.0, 2.0, 1e-30, 1e30):
        value, grad = f(logits, jnp.float32(z))
        np.testing.assert_array_equal(value, -INF, err_msg=f"z = {z}")
        assert np.all(np.isfinite(grad)), (z, grad)
    nonzero = logits[logits != 0]
    for z in (INF, -INF):  # (1 - 2 z) logits is 0 * inf = NaN at a zero logit
        value, _ = f(nonzero, jnp.float32(z))
        np.testing.assert_array_equal(value, -INF, err_msg=f"z = {z}")
    value, grad = f(logits, jnp.float32(np.nan))
    assert np.all(np.isnan(value))
    assert np.all(np.isnan(grad))
    value = transform(_log_prob)(jnp.array([np.nan, 1.0]), jnp.array([1.0, 1.0]))
    assert np.isnan(value[0])
    assert np.isfinite(value[1])


def test_integer_and_broadcast_z():
    logits = jnp.array([[0.5, -2.0, INF]])
    z = jnp.array([[1], [0]], jnp.int32)
    got = jax.jit(_log_prob)(logits, z)
    assert got.shape == (2, 3)
    assert got.dtype == jnp.float32
    expected = _log_prob(logits, z.astype(jnp.float32))
    np.testing.assert_array_equal(got, expected)


def test_from_probs_close_to_the_exact_logit():
    probs = np.concatenate(
        [np.geomspace(1e-30, 0.5, 200), 1 - np.geomspace(0.5, 1e-7, 200)]
    )
    probs = probs.astype(np.float32)
    logits = jr.bernoulli.init(probs=probs).logits
    p64 = probs.astype(np.float64)
    exact = np.log(p64) - np.log1p(-p64)
    # |error| <= about 2 ulp of 1 (1 - p rounded below 1/2) plus 1 ulp of the result
    np.testing.assert_allclose(logits, exact, rtol=2.4e-7, atol=2.4e-7)
    np.testing.assert_array_equal(
        jr.bernoulli.init(probs=[0.0, 1.0]).logits, [-INF, INF]
    )


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA CPU's fusion")
def test_summed_value_and_gradient_make_one_exponential_per_element():
    # The derivative reuses the value's e^-|y| (sigmoid would make a second
    # one), and the support costs no transcendental (no expm1, no log).
    def total(logits, z):
        return jnp.sum(_log_prob(logits, z))

    shape = (256, 784)
    hlo = (
        jax.jit(jax.value_and_grad(total))
        .lower(jnp.zeros(shape), jnp.zeros(shape))
        .compile()
        .as_text()
    )
    full = r"f32\[256,784\]\{1,0\} "
    assert len(re.findall(full + r"exponential\(", hlo)) == 1, hlo
    assert len(re.findall(full + r"log-plus-one\(", hlo)) == 1, hlo
    assert not re.findall(full + r"(exponential-minus-one|log|logistic)\(", hlo)


def _log_prob_from_probs(probs, z):
    return jr.bernoulli.log_prob(jr.bernoulli.init(probs=probs), z)


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=TRANSFORMS)
def test_from_probs_value_and_derivative_match_closed_forms_in_float64(transform):
    probs = np.concatenate(
        [np.geomspace(1e-300, 0.5, 100), 1 - np.geomspace(0.5, 1e-15, 100)]
    )
    with jax.enable_x64(True):
        f = transform(jax.vmap(jax.value_and_grad(_log_prob_from_probs), (0, None)))
        value, grad = f(jnp.asarray(probs), 1.0)
        np.testing.assert_allclose(value, np.log(probs), rtol=1e-15)
        np.testing.assert_allclose(grad, 1 / probs, rtol=1e-15)
        value, grad = f(jnp.asarray(probs), 0.0)
        # log(1 - p) is within half an ulp of 1 of log1p(-p): absolute, not relative
        np.testing.assert_allclose(value, np.log1p(-probs), rtol=1e-15, atol=1.2e-16)
        np.testing.assert_allclose(grad, -1 / (1 - probs), rtol=1e-15)


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=TRANSFORMS)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_from_probs_ends_exact_with_finite_derivatives(transform, dtype):
    with jax.enable_x64(dtype == jnp.float64):
        probs = jnp.array([0.0, 0.5, 1.0], dtype)
        f = transform(
            jax.vmap(jax.value_and_grad(_log_prob_from_probs), in_axes=(0, None))
        )
        value, grad = f(probs, jnp.asarray(1.0, dtype))
        np.testing.assert_array_equal(value, np.array([-INF, np.log(0.5), 0.0], dtype))
        assert not np.signbit(value[2])  # log_prob(1 | p = 1) is +0, not -0
        np.testing.assert_array_equal(grad, [0.0, 2.0, 1.0])  # 0 where q(z) = 0
        value, grad = f(probs, jnp.asarray(0.0, dtype))
        np.testing.assert_array_equal(value, np.array([0.0, np.log(0.5), -INF], dtype))
        assert not np.signbit(value[0])
        np.testing.assert_array_equal(grad, [-1.0, -2.0, 0.0])
        assert value.dtype == grad.dtype == dtype


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=TRANSFORMS)
def test_from_probs_off_support_is_minus_inf_with_zero_derivative(transform):
    probs = jnp.array([0.0, 0.3, 0.5, 0.7, 1.0])
    f = transform(jax.vmap(jax.value_and_grad(_log_prob_from_probs), (0, None)))
    for z in (0.3, 0.5, 0.7, -1.0, 2.0, 1e-30, INF, -INF):
        value, grad = f(probs, jnp.float32(z))
        np.testing.assert_array_equal(value, -INF, err_msg=f"z = {z}")
        np.testing.assert_array_equal(grad, 0.0, err_msg=f"z = {z}")
    value, _ = f(probs, jnp.float32(np.nan))
    assert np.all(np.isnan(value))


def test_from_probs_through_a_saturated_sigmoid_has_finite_gradients():
    # A decoder's sigmoid(t) is exactly 1 from t of about 17 (float32): there
    # q(0) = 0, log q(0) = -inf and its gradient is 0; elsewhere x - sigmoid(t).
    t = jnp.array([-40.0, -17.0, 0.0, 17.0, 40.0])
    value_and_grad = jax.jit(jax.vmap(jax.value_and_grad(_log_prob_from_probs)))
    for x in (jnp.zeros(5), jnp.ones(5)):
        value, grad = value_and_grad(jax.nn.sigmoid(t), x)
        grad = grad * jax.nn.sigmoid(t) * jax.nn.sigmoid(-t)  # the chain rule, in t
        assert np.all(np.isfinite(grad)), (x, grad)
        expected = np.asarray(x) - 1 / (1 + np.exp(-np.asarray(t, np.float64)))
        expected[np.isinf(value)] = 0.0
        assert np.sum(np.isinf(value)) == (2 if x[0] == 0 else 0)
        np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_params_store_the_form_they_are_given():
    from_probs = jr.bernoulli.init(probs=jnp.array([0.25, 1.0]))
    from_logits = jr.bernoulli.init(logits=jnp.array([0.0, INF]))
    assert (from_probs.form, from_logits.form) == ("probs", "logits")
    for params, leaf in ((from_probs, [0.25, 1.0]), (from_logits, [0.0, INF])):
        (stored,) = jax.tree.leaves(params)  # one leaf: the form given
        np.testing.assert_array_equal(stored, leaf)
        again = jr.bernoulli.init(**jr.bernoulli.to_natural(params))
        assert again.form == params.form
        np.testing.assert_array_equal(jax.tree.leaves(again)[0], leaf)
    np.testing.assert_allclose(from_probs.logits, [np.log(1 / 3), INF], rtol=1e-6)
    np.testing.assert_allclose(from_logits.probs, [0.5, 1.0])
    assert repr(from_logits).startswith("BernoulliParams(logits=Array(")
    assert repr(from_probs).startswith("BernoulliParams(probs=Array(")
    with pytest.raises(TypeError, match="give logits or probs"):
        jr.distributions.BernoulliParams()
    # A gradient is in the stored form: d/dp log p = 1/p; d/dl log sigmoid(l) = 1 - p.
    z = jnp.ones(2)
    grad = jax.grad(lambda q: jnp.sum(jr.bernoulli.log_prob(q, z)))
    np.testing.assert_allclose(grad(from_probs).probs, [4.0, 1.0])
    np.testing.assert_allclose(grad(from_logits).logits, [0.5, 0.0])
    assert grad(from_probs).form == "probs"


def test_params_of_both_forms_vmap_and_draw_the_same():
    probs = jnp.array([0.0, 0.1, 0.5, 0.9, 1.0])
    from_probs = jr.bernoulli.init(probs=probs)
    # The same logits, stored: the draws are bitwise the same (sample reads logits).
    from_logits = jr.bernoulli.init(logits=from_probs.logits)
    np.testing.assert_array_equal(
        jr.bernoulli.sample(jax.random.key(3), from_probs, (1000,)),
        jr.bernoulli.sample(jax.random.key(3), from_logits, (1000,)),
    )
    batched = jr.bernoulli.init(probs=jnp.tile(probs, (3, 1)))
    out = jax.vmap(jr.bernoulli.log_prob, in_axes=(0, None))(batched, jnp.ones(5))
    log_probs = [-INF, np.log(0.1), np.log(0.5), np.log(0.9), 0.0]
    np.testing.assert_allclose(out, np.tile(log_probs, (3, 1)), rtol=1e-6)
    assert jr.bernoulli.batch_shape(batched) == (3, 5)
    np.testing.assert_array_equal(jr.bernoulli.mean(from_probs), probs)
    np.testing.assert_allclose(
        jr.bernoulli.variance(from_probs), jr.bernoulli.variance(from_logits), atol=1e-7
    )
    with pytest.raises(TypeError, match="got BernoulliParams where a PRNG key"):
        jr.bernoulli.sample(from_probs, jax.random.key(3))


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA CPU's fusion")
def test_from_probs_summed_value_and_gradient_make_one_log_per_element():
    def total(probs, z):
        return jnp.sum(_log_prob_from_probs(probs, z))

    shape = (256, 784)
    hlo = (
        jax.jit(jax.value_and_grad(total))
        .lower(jnp.full(shape, 0.5), jnp.zeros(shape))
        .compile()
        .as_text()
    )
    full = r"f32\[256,784\]\{1,0\} "
    assert len(re.findall(full + r"log\(", hlo)) == 1, hlo
    assert not re.findall(full + r"(exponential|log-plus-one|logistic)\(", hlo)


def test_stored_probs_moved_out_of_range_are_refused():
    # Params of form "probs" are the one Bernoulli form that an optimizer's update
    # can move out of range: eagerly an error, under jit NaN, checked a raise.
    moved = jr.distributions.BernoulliParams(probs=jnp.array([0.5, 1.25, -0.5]))
    with pytest.raises(ValueError, match=r"log_prob: probs must be in \[0, 1\]"):
        jr.bernoulli.log_prob(moved, jnp.ones(3))
    for z in (0.0, 1.0, 0.5):
        value = jax.jit(jr.bernoulli.log_prob)(moved, jnp.full(3, z))
        assert np.isfinite(value[0]) or z == 0.5
        assert np.all(np.isnan(value[1:])), (z, value)
    with pytest.raises(Exception, match="probs must be in"):  # checkify's error
        jr.checked(jax.jit(jr.bernoulli.log_prob))(moved, jnp.ones(3))
