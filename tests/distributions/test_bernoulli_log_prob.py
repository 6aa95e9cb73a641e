"""Bernoulli ``log_prob``'s fast form: values, derivatives and the support.

``log_prob`` is ``min(-y, cap) - log1p(e^-|y|)`` with ``y = (1 - 2 z) logits``,
a custom derivative reusing ``e^-|y|``, and the support as ``cap``; these check
it against closed forms in float64 and at the ends, eagerly and under jit.
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
