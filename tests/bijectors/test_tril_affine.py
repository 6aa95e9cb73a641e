"""Tests of tril_affine: y = loc + L x with L lower triangular, positive diagonal."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxreparam as jr
from tests.bijectors.case import Case

jb = jr.bijectors


def _random(dim):
    """Random raw params (not the identity): any real values are valid."""

    def init(key):
        loc_key, diag_key, lower_key = jax.random.split(key, 3)
        return jb.TrilAffineParams(
            jax.random.normal(loc_key, (dim,)),
            0.7 * jax.random.normal(diag_key, (dim,)),
            jax.random.normal(lower_key, (dim, dim)),
        )

    return init


CASES = {
    "tril_affine": Case(jb.tril_affine, _random(3), (4, 3)),
    "tril_affine_batch": Case(jb.tril_affine, _random(4), (2, 3, 4)),
    "tril_affine_1d": Case(jb.tril_affine, _random(1), (5, 1)),
}

_L = np.array([[2.0, 0.0, 0.0], [-1.0, 0.5, 0.0], [0.3, 4.0, 1.5]])


def test_init_honours_loc_and_scale_tril():
    loc = np.array([1.0, -2.0, 0.5])
    params = jb.tril_affine.init(loc=loc, scale_tril=_L)
    x = np.array([[0.3, -1.0, 2.0], [1.0, 1.0, 1.0]])
    y, log_det = jb.tril_affine.forward(params, x)
    np.testing.assert_allclose(y, loc + x @ _L.T, rtol=1e-6)
    np.testing.assert_allclose(log_det, np.full(2, np.log(2.0 * 0.5 * 1.5)), rtol=1e-6)
    x_back, inverse_log_det = jb.tril_affine.inverse(params, y)
    np.testing.assert_allclose(x_back, x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inverse_log_det, -log_det, rtol=1e-6)


def test_default_and_raw_zero_are_the_identity():
    params = jb.tril_affine.init(dim=3)
    assert params.loc.shape == params.raw_diag.shape == (3,)
    np.testing.assert_array_equal(params.raw_diag, 0.0)  # softplus(log(e - 1)) = 1
    x = jnp.arange(6.0).reshape(2, 3)
    y, log_det = jb.tril_affine.forward(params, x)
    np.testing.assert_allclose(y, x, rtol=1e-6)
    np.testing.assert_allclose(log_det, 0.0, atol=1e-6)
    assert jb.tril_affine.init().loc.shape == (1,)
    assert jb.tril_affine.init(loc=jnp.zeros(2)).lower.shape == (2, 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scale_tril": [[1.0, 0.5], [0.0, 1.0]]}, ValueError, r"scale_tril .* 0\.5"),
        ({"scale_tril": [[1.0, 0.0], [0.0, -2.0]]}, ValueError, r"scale_tril .*-2\.0"),
        ({"scale_tril": [[0.0, 0.0], [1.0, 1.0]]}, ValueError, "positive diagonal"),
        ({"scale_tril": [[1.0, 0.0], [np.nan, 1.0]]}, ValueError, "scale_tril"),
        ({"scale_tril": np.ones(3)}, ValueError, "square"),
        ({"scale_tril": np.eye(2), "dim": 3}, ValueError, "dim is 3"),
        ({"loc": np.nan}, ValueError, "loc"),
        ({"loc": jnp.zeros(2, jnp.int32)}, TypeError, "loc"),
        ({"dim": 0}, ValueError, "dim must be at least 1"),
        ({"dim": 2.0}, TypeError, "dim must be an int"),
    ],
)
def test_init_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        jb.tril_affine.init(**kwargs)


def test_invalid_traced_scale_tril_is_nan_or_a_checkify_error():
    bad = jnp.array([[1.0, 0.0], [0.0, -1.0]])

    def f(m):
        return jb.tril_affine.forward(jb.tril_affine.init(scale_tril=m), jnp.ones(2))

    y, _ = jax.jit(f)(bad)
    assert bool(jnp.all(jnp.isnan(y)))
    with pytest.raises(checkify.JaxRuntimeError, match="scale_tril"):
        jr.checked(jax.jit(f))(bad)


def test_wrong_event_size():
    params = jb.tril_affine.init(dim=3)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        jb.tril_affine.forward(params, jnp.ones((4, 2)))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        jb.tril_affine.inverse(params, jnp.ones(4))


def test_inverse_gradients_are_the_closed_form():
    """d/dloc sum(L^-1 (y - loc)) = -1^T L^-1; d/dy the same with a plus sign."""
    params = jb.tril_affine.init(loc=jnp.array([0.1, 0.2, 0.3]), scale_tril=_L)

    def total(p, y):
        return jb.tril_affine.inverse(p, y)[0].sum()

    grads = jax.jit(jax.grad(total, argnums=(0, 1)))(params, jnp.ones((5, 3)))
    row = np.ones(3) @ np.linalg.inv(_L)
    np.testing.assert_allclose(grads[0].loc, -5.0 * row, rtol=1e-5)
    np.testing.assert_allclose(grads[1], np.broadcast_to(row, (5, 3)), rtol=1e-5)
    # the log-determinant's gradient: d/draw sum log softplus(raw + log(e - 1))
    grad_diag = jax.grad(lambda p: jb.tril_affine.forward(p, jnp.ones(3))[1])(params)
    diag = np.diag(_L)
    np.testing.assert_allclose(
        grad_diag.raw_diag, (1 - np.exp(-diag)) / diag, rtol=1e-5
    )
    np.testing.assert_array_equal(grad_diag.lower, 0.0)


def test_vmap_over_stacked_params():
    keys = jax.random.split(jax.random.key(0), 4)
    params = jax.vmap(_random(2))(keys)
    x = jnp.ones((4, 2))
    y, log_det = jax.vmap(jb.tril_affine.forward)(params, x)
    x_back, _ = jax.vmap(jb.tril_affine.inverse)(params, y)
    np.testing.assert_allclose(x_back, x, rtol=1e-5)
    assert log_det.shape == (4,)
