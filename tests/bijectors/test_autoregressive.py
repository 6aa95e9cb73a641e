"""Tests of masked autoregressive layers: MAF, and IAF as its inverse."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr
from tests.bijectors.case import Case
from tests.bijectors.test_coupling import perturbed

jb = jr.bijectors


def _case(bijector, shape, context_shape=None):
    return Case(bijector, perturbed(bijector), shape, context_shape)


def _maf(dim, **kwargs):
    return jb.affine_autoregressive(dim, hidden_sizes=(8, 8), **kwargs)


CASES = {
    "affine_autoregressive": _case(_maf(4), (5, 4)),
    "affine_autoregressive_dim1": _case(_maf(1), (3, 1)),
    "affine_autoregressive_dim2": _case(_maf(2), (2, 3, 2)),
    "affine_autoregressive_context": _case(_maf(3, context_size=2), (4, 3), (4, 2)),
    "affine_autoregressive_dim1_context": _case(
        _maf(1, context_size=2), (2, 3, 1), (3, 2)
    ),
    "invert_affine_autoregressive": _case(jb.invert(_maf(4)), (5, 4)),
    "invert_affine_autoregressive_context": _case(
        jb.invert(_maf(3, context_size=2)), (2, 4, 3), (1, 2)
    ),
}

_MAF = CASES["affine_autoregressive"].bijector
_U = jax.random.normal(jax.random.key(1), (6, 4))


@pytest.mark.parametrize("dim", [1, 2, pytest.param(5, marks=pytest.mark.slow)])
@pytest.mark.parametrize("context_size", [0, 2])
def test_the_jacobian_is_lower_triangular(dim, context_size):
    layer = jb.affine_autoregressive(dim, hidden_sizes=(16,), context_size=context_size)
    params = perturbed(layer)(jax.random.key(2 + dim))
    kwargs = {"context": jnp.linspace(-1.0, 1.0, 2)} if context_size else {}
    u = jax.random.normal(jax.random.key(3), (dim,))
    for function in (layer.forward, layer.inverse):
        jacobian = jax.jacobian(lambda u, f=function: f(params, u, **kwargs)[0])(u)
        np.testing.assert_array_equal(jacobian, np.tril(jacobian))
        assert bool(jnp.all(jnp.diag(jacobian) > 0))
        if dim > 1:  # the params do depend on the coordinates before
            assert bool(jnp.any(jnp.tril(jacobian, -1) != 0))
    if context_size:  # every coordinate, the first too, depends on the context
        jacobian = jax.jacobian(lambda c: layer.forward(params, u, context=c)[0])(
            kwargs["context"]
        )
        assert bool(jnp.all(jnp.any(jacobian != 0, axis=1)))


def test_starts_at_the_identity():
    for context_size in (0, 3):
        layer = jb.affine_autoregressive(4, context_size=context_size)
        kwargs = {"context": jnp.ones(3)} if context_size else {}
        params = layer.init(jax.random.key(4))
        for function in (layer.forward, layer.inverse):
            y, log_det = function(params, _U, **kwargs)
            np.testing.assert_array_equal(y, _U)
            np.testing.assert_array_equal(log_det, np.zeros(6))


def _program(function, *args):
    return str(jax.make_jaxpr(function)(*args))


def _loops(program):
    """Whether a jaxpr holds a loop (a fori_loop of static length is a scan)."""
    return re.search(r"\b(scan|while)\[", program) is not None


def test_forward_loops_and_inverse_is_one_pass():
    params = perturbed(_MAF)(jax.random.key(5))
    assert _loops(_program(_MAF.forward, params, _U))  # dim passes, a fori_loop
    assert not _loops(_program(_MAF.inverse, params, _U))

    def size(dim):  # the forward's program does not grow with dim
        layer = jb.affine_autoregressive(dim, hidden_sizes=(32,))
        program = _program(layer.forward, layer.init(jax.random.key(6)), jnp.zeros(dim))
        return len(re.sub(r"[\d\s]", "", program))  # digits and line breaks

    assert size(3) == size(20)


def test_iaf_is_the_inverted_maf_and_samples_in_one_pass():
    params = perturbed(_MAF)(jax.random.key(7))
    iaf = jb.invert(_MAF)
    assert not _loops(_program(iaf.forward, params, _U))
    y, log_det = iaf.forward(params, _U)
    expected = _MAF.inverse(params, _U)
    np.testing.assert_array_equal(y, expected[0])
    np.testing.assert_array_equal(log_det, expected[1])
    u_back, inverse_log_det = iaf.inverse(params, y)
    np.testing.assert_allclose(u_back, _U, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(inverse_log_det, -log_det, rtol=1e-5, atol=1e-5)
    # as a posterior: one pass gives draws and their log-densities
    flow = jr.transformed(jr.normal, iaf)
    flow_params = flow.init(
        base={"loc": jnp.zeros(4), "scale": jnp.ones(4)}, bijector=params
    )
    draws, log_q = flow.sample_and_log_prob(jax.random.key(8), flow_params, (5,))
    np.testing.assert_allclose(
        log_q, flow.log_prob(flow_params, draws), rtol=1e-4, atol=1e-4
    )


@pytest.mark.slow
def test_float64_gradients_match_finite_differences():
    from jax.test_util import check_grads

    case = CASES["affine_autoregressive_context"]
    with jax.enable_x64(True):
        params = jax.tree.map(
            lambda p: p.astype(jnp.float64), case.init(jax.random.key(9))
        )
        u = _U[:2, :3].astype(jnp.float64)
        context = jnp.array([0.3, -0.7])

        def loss(params, u):
            x, log_det = case.bijector.forward(params, u, context=context)
            u_back, _ = case.bijector.inverse(params, 1.1 * x, context=context)
            return jnp.sum(x**2) + jnp.sum(log_det) + jnp.sum(u_back)

        check_grads(loss, (params, u), order=1, modes=["rev"], eps=1e-6)


def test_a_network_conditioner_matches_the_default():
    network = jr.nn.masked_mlp(4, 2, hidden_sizes=(8, 8), context_size=2)
    layer = jb.affine_autoregressive(4, conditioner=network, context_size=2)
    default = _maf(4, context_size=2)
    params = perturbed(layer)(jax.random.key(10))
    context = jnp.array([1.0, -2.0])
    for function, reference in (
        (layer.forward, default.forward),
        (layer.inverse, default.inverse),
    ):
        for a, b in zip(
            function(params, _U, context=context),
            reference(params, _U, context=context),
            strict=True,
        ):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    plain = jb.affine_autoregressive(4, conditioner=network.apply, context_size=2)
    with pytest.raises(ValueError, match="init needs its params"):
        plain.init(jax.random.key(11))
    same = plain.init(conditioner_params=params.conditioner)
    np.testing.assert_allclose(
        plain.forward(same, _U, context=context)[0],
        default.forward(params, _U, context=context)[0],
        rtol=1e-5,
        atol=1e-6,
    )


def test_bad_input_errors():
    params = perturbed(_MAF)(jax.random.key(12))
    with pytest.raises(ValueError, match=r"u must have shape \(\.\.\., 4\).*\(6, 3\)"):
        _MAF.forward(params, _U[:, :3])
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 4\).*\(6, 5\)"):
        jax.jit(_MAF.inverse)(params, jnp.ones((6, 5)))
    wrong = jb.affine_autoregressive(4, conditioner=jr.nn.mlp(4, 6).apply)
    wrong_params = wrong.init(
        conditioner_params=jr.nn.mlp(4, 6).init(jax.random.key(13))
    )
    message = r"must return 8 outputs on its last axis \(4 coordinates x 2 affine"
    with pytest.raises(ValueError, match=message):
        wrong.inverse(wrong_params, _U)
    with pytest.raises(ValueError, match=message):
        wrong.forward(wrong_params, _U)
    with pytest.raises(ValueError, match="needs a context"):
        _maf(3, context_size=2).forward(params, _U[:, :3])
    with pytest.raises(ValueError, match="init needs a key"):
        _MAF.init()
    with pytest.raises(ValueError, match="hidden_sizes must hold at least one width"):
        jb.affine_autoregressive(3, hidden_sizes=())


def test_nan_params_under_jit_give_nan():
    params = perturbed(_MAF)(jax.random.key(14))
    params = jax.tree.map(lambda p: jnp.full_like(p, jnp.nan), params)
    for function in (_MAF.forward, _MAF.inverse):
        y, log_det = jax.jit(function)(params, _U)
        assert bool(jnp.all(jnp.isnan(y)))
        assert bool(jnp.all(jnp.isnan(log_det)))


def test_vmap_over_stacked_layers_and_float32():
    stacked = jb.repeat(_maf(4, context_size=1), 2)
    params = stacked.init(jax.random.key(15))
    y, log_det = jax.jit(stacked.forward)(params, _U, context=jnp.ones((6, 1)))
    assert y.dtype == log_det.dtype == jnp.float32
    assert log_det.shape == (6,)
