"""Tests of coupling layers (RealNVP): registry cases and the layer's properties."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr
from tests.bijectors.case import Case

jb = jr.bijectors


def perturbed(bijector, scale=0.5):
    """``init`` with the zero last layer (and the rest) moved by random noise."""

    def init(key):
        init_key, noise_key = jax.random.split(key)
        params = bijector.init(init_key)
        leaves, tree = jax.tree.flatten(params)
        keys = jax.random.split(noise_key, len(leaves))
        leaves = [
            leaf + scale * jax.random.normal(k, leaf.shape)
            for leaf, k in zip(leaves, keys, strict=True)
        ]
        return jax.tree.unflatten(tree, leaves)

    return init


def _case(bijector, shape, context_shape=None):
    return Case(bijector, perturbed(bijector), shape, context_shape)


_INTERLEAVED = np.array([True, False, True, False, False])

CASES = {
    "affine_coupling": _case(jb.affine_coupling(4, hidden_sizes=(8, 8)), (5, 4)),
    "affine_coupling_dim2": _case(jb.affine_coupling(2, hidden_sizes=(8,)), (3, 2)),
    "affine_coupling_interleaved": _case(
        jb.affine_coupling(5, mask=_INTERLEAVED, hidden_sizes=(8,)), (3, 5)
    ),
    "affine_coupling_alternating": _case(
        jb.affine_coupling(5, mask=np.arange(5) % 2 == 1, hidden_sizes=(8,)), (3, 5)
    ),
    "affine_coupling_suffix": _case(
        jb.affine_coupling(
            5, mask=np.array([False, False, True, True, True]), hidden_sizes=(8,)
        ),
        (2, 3, 5),
    ),
    "affine_coupling_context": _case(
        jb.affine_coupling(4, hidden_sizes=(8, 8), context_size=3), (2, 3, 4), (3, 3)
    ),
    "affine_coupling_dim1_context": _case(
        jb.affine_coupling(1, hidden_sizes=(8,), context_size=2), (4, 1), (4, 2)
    ),
    "invert_affine_coupling_context": _case(
        jb.invert(jb.affine_coupling(3, hidden_sizes=(8,), context_size=2)),
        (4, 3),
        (1, 2),
    ),
}

_LAYER = jb.affine_coupling(4, hidden_sizes=(8, 8))
_X = jax.random.normal(jax.random.key(1), (6, 4))


def _random_params(layer=_LAYER, seed=2):
    return perturbed(layer)(jax.random.key(seed))


def test_starts_at_the_identity():
    for layer, context in ((_LAYER, None), (CASES["affine_coupling_context"], 1)):
        layer = getattr(layer, "bijector", layer)
        params = layer.init(jax.random.key(0))
        kwargs = {} if context is None else {"context": jnp.ones(3)}
        y, log_det = layer.forward(params, _X, **kwargs)
        np.testing.assert_array_equal(y, _X)
        np.testing.assert_array_equal(log_det, np.zeros(6))


@pytest.mark.parametrize(
    "mask",
    [
        None,
        _INTERLEAVED,  # index gathers
        np.array([False, True, True, False, True]),
        np.arange(5) % 2 == 0,  # strided slices
    ],
)
def test_conditioning_coordinates_are_unchanged_and_the_others_move(mask):
    layer = jb.affine_coupling(5, mask=mask, hidden_sizes=(8,))
    keep = np.arange(5) < 2 if mask is None else mask
    x = jax.random.normal(jax.random.key(3), (7, 5))
    params = _random_params(layer, 4)
    for function in (layer.forward, layer.inverse):
        y, _ = function(params, x)
        np.testing.assert_array_equal(y[:, keep], x[:, keep])
        assert bool(jnp.all(y[:, ~keep] != x[:, ~keep]))
    # the Jacobian: identity on the kept rows, nothing from the moved coordinates
    jacobian = jax.jacobian(lambda x: layer.forward(params, x)[0])(x[0])
    np.testing.assert_array_equal(jacobian[keep], np.eye(5)[keep])
    moved = np.flatnonzero(~keep)
    np.testing.assert_array_equal(
        jacobian[np.ix_(moved, moved)], np.diag(np.diag(jacobian)[moved])
    )


def test_context_changes_the_map_and_broadcasts():
    layer = CASES["affine_coupling_context"].bijector
    params = CASES["affine_coupling_context"].init(jax.random.key(5))
    x = _X[:2]
    contexts = jax.random.normal(jax.random.key(6), (2, 3))
    y0, _ = layer.forward(params, x, context=contexts[0])
    y1, _ = layer.forward(params, x, context=contexts[1])
    assert not np.allclose(y0, y1)
    both, log_det = layer.forward(params, x, context=contexts)  # row by row
    np.testing.assert_allclose(both[0], y0[0], rtol=1e-6)
    np.testing.assert_allclose(both[1], y1[1], rtol=1e-6)
    # a context with more batch axes than x broadcasts x
    y, log_det = layer.forward(params, x[0], context=contexts[:, None, :])
    assert y.shape == (2, 1, 4)
    assert log_det.shape == (2, 1)
    np.testing.assert_allclose(y[1, 0], y1[0], rtol=1e-6)


def test_float64_gradients_match_finite_differences():
    from jax.test_util import check_grads

    layer = CASES["affine_coupling_context"].bijector
    with jax.enable_x64(True):
        params = jax.tree.map(
            lambda p: p.astype(jnp.float64),
            CASES["affine_coupling_context"].init(jax.random.key(7)),
        )
        x = _X[:2].astype(jnp.float64)
        context = jnp.linspace(-1.0, 1.0, 3)

        def loss(params, x):
            y, log_det = layer.forward(params, x, context=context)
            x_back, _ = layer.inverse(params, y * 1.1, context=context)
            return jnp.sum(y**2) + jnp.sum(log_det) + jnp.sum(x_back)

        check_grads(loss, (params, x), order=1, modes=["rev"], eps=1e-6)


def test_jit_grad_and_repeat():
    params = _random_params()
    grads = jax.jit(jax.grad(lambda p: jnp.sum(_LAYER.forward(p, _X)[1])))(params)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
    stacked = jb.repeat(_LAYER, 3)
    params = stacked.init(jax.random.key(8))
    assert params.conditioner[0].weight.shape == (3, 2, 8)
    y, log_det = stacked.forward(params, _X)
    assert y.shape == _X.shape
    assert log_det.shape == (6,)


def test_an_equinox_conditioner_plugs_in_and_matches():
    eqx = pytest.importorskip("equinox")
    model = eqx.nn.MLP(2, 4, width_size=8, depth=2, key=jax.random.key(9))
    weights, static = eqx.partition(model, eqx.is_array)

    def conditioner(weights, inputs):
        net = eqx.combine(weights, static)
        return jnp.vectorize(net, signature="(n)->(m)")(inputs)

    theirs = jb.affine_coupling(4, conditioner=conditioner)
    their_params = theirs.init(conditioner_params=weights)
    ours = jr.nn.Linear
    our_params = jb.CouplingParams(
        tuple(ours(layer.weight.T, layer.bias) for layer in model.layers)
    )
    for a, b in zip(
        theirs.forward(their_params, _X),
        _LAYER.forward(our_params, _X),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    y, log_det = theirs.forward(their_params, _X)
    assert not np.allclose(y, _X)  # equinox's last layer is not zero
    x_back, inverse_log_det = theirs.inverse(their_params, y)
    np.testing.assert_allclose(x_back, _X, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(inverse_log_det, -log_det, rtol=1e-5, atol=1e-6)
    grads = jax.grad(lambda w: jnp.sum(theirs.forward(jb.CouplingParams(w), _X)[1]))(
        weights
    )
    assert jax.tree.structure(grads) == jax.tree.structure(weights)


def test_a_network_conditioner_with_a_context():
    network = jr.nn.mlp(2 + 3, 4, hidden_sizes=(8,), zero_last=False)
    layer = jb.affine_coupling(4, conditioner=network, context_size=3)
    default = jb.affine_coupling(4, hidden_sizes=(8,), context_size=3)
    params = layer.init(jax.random.key(10))  # Network: init takes the key
    context = jnp.arange(3.0)
    for a, b in zip(
        layer.forward(params, _X, context=context),
        default.forward(params, _X, context=context),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_wrong_conditioner_output_size_is_a_clear_error():
    network = jr.nn.mlp(2, 3)
    layer = jb.affine_coupling(4, conditioner=network.apply)
    params = layer.init(conditioner_params=network.init(jax.random.key(11)))
    expected = r"must return 4 outputs on its last axis \(2 moved coordinates x 2"
    with pytest.raises(ValueError, match=expected):
        layer.forward(params, _X)
    with pytest.raises(ValueError, match="got outputs of shape \\(6, 3\\)"):
        jax.jit(layer.inverse)(params, _X)


def test_wrong_event_size_and_context_errors():
    params = _random_params()
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 4\).*\(6, 5\)"):
        _LAYER.forward(params, jnp.ones((6, 5)))
    with pytest.raises(
        ValueError, match=r"y must have shape \(\.\.\., 4\).*got shape \(\)"
    ):
        _LAYER.inverse(params, 1.0)
    with pytest.raises(ValueError, match="not conditional"):
        _LAYER.forward(params, _X, context=jnp.ones(3))
    case = CASES["affine_coupling_context"]
    params = case.init(jax.random.key(12))
    with pytest.raises(ValueError, match=r"needs a context of shape \(\.\.\., 3\)"):
        case.bijector.forward(params, _X)
    with pytest.raises(ValueError, match=r"context must have shape \(\.\.\., 3\)"):
        case.bijector.forward(params, _X, context=jnp.ones(2))
    with pytest.raises(ValueError, match="cannot broadcast"):
        case.bijector.forward(params, _X, context=jnp.ones((4, 3)))


def test_nan_params_under_jit_give_nan():
    params = _random_params()
    params = jax.tree.map(lambda p: p.at[0].set(jnp.nan), params)
    y, log_det = jax.jit(_LAYER.forward)(params, _X)
    assert bool(jnp.all(jnp.isnan(y[:, 2:])))
    assert bool(jnp.all(jnp.isnan(log_det)))


def test_init_and_configuration_errors():
    with pytest.raises(ValueError, match="init needs a key"):
        _LAYER.init()
    with pytest.raises(ValueError, match="init needs its params"):
        jb.affine_coupling(4, conditioner=lambda p, x: x).init(jax.random.key(13))
    with pytest.raises(ValueError, match="conditioner_params must have the default"):
        _LAYER.init(conditioner_params=jr.nn.mlp(2, 4).init(jax.random.key(14)))
    with pytest.raises(TypeError, match="key"):
        _LAYER.init(3)
    with pytest.raises(
        ValueError, match=r"mask must be a boolean array of shape \(4,\)"
    ):
        jb.affine_coupling(4, mask=np.array([1, 0, 1, 0]))
    with pytest.raises(ValueError, match="mask must be False somewhere"):
        jb.affine_coupling(2, mask=np.array([True, True]))
    with pytest.raises(ValueError, match="dim must be at least 1, got 0"):
        jb.affine_coupling(0)
    with pytest.raises(TypeError, match="hidden_sizes must be a sequence"):
        jb.affine_coupling(4, hidden_sizes=64)
    with pytest.raises(TypeError, match="transformer must be a jaxreparam Transformer"):
        jb.coupling(jb.affine, 4)
    with pytest.raises(TypeError, match="conditioner must be a jaxreparam.nn.Network"):
        jb.affine_coupling(4, conditioner=3)
