"""Tests of jaxreparam.nn: the MLP and the masked (MADE) MLP."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreparam as jr
from jaxreparam.nn import _mlp
from tests.registry import slow_except


def _nonzero(params, key):
    """``params`` with every leaf moved by noise (the zero last layer too)."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    moved = [
        p + 0.5 * jax.random.normal(k, p.shape)
        for p, k in zip(leaves, keys, strict=True)
    ]
    return jax.tree.unflatten(tree, moved)


def test_mlp_shapes_batching_and_zero_start():
    net = jr.nn.mlp(3, 5, hidden_sizes=(16, 8))
    params = net.init(jax.random.key(0))
    assert [layer.weight.shape for layer in params] == [(3, 16), (16, 8), (8, 5)]
    x = jax.random.normal(jax.random.key(1), (2, 4, 3))
    np.testing.assert_array_equal(net.apply(params, x), np.zeros((2, 4, 5)))
    params = _nonzero(params, jax.random.key(2))
    batched = net.apply(params, x)
    assert batched.shape == (2, 4, 5)
    one_by_one = jax.vmap(jax.vmap(net.apply, (None, 0)), (None, 0))(params, x)
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-5, atol=1e-6)
    by_hand = jax.nn.relu(x @ params[0].weight + params[0].bias)
    by_hand = jax.nn.relu(by_hand @ params[1].weight + params[1].bias)
    by_hand = by_hand @ params[2].weight + params[2].bias
    np.testing.assert_allclose(batched, by_hand, rtol=1e-5, atol=1e-6)


def test_mlp_initial_weights_and_options():
    net = jr.nn.mlp(400, 2, hidden_sizes=(300,), zero_last=False)
    params = net.init(jax.random.key(3))
    for layer, fan_in in zip(params, (400, 300), strict=True):
        bound = 1 / np.sqrt(fan_in)
        assert float(jnp.max(jnp.abs(layer.weight))) <= bound
        # uniform on (-b, b): standard deviation b / sqrt(3), 120 000 draws
        np.testing.assert_allclose(
            jnp.std(layer.weight),
            bound / np.sqrt(3),
            rtol=0.02 if fan_in == 400 else 0.2,
        )
    linear = jr.nn.mlp(2, 3, hidden_sizes=(), activation=jnp.tanh)
    assert len(linear.init(jax.random.key(4))) == 1
    x = jnp.ones((5, 2))
    tanh_net = jr.nn.mlp(2, 1, hidden_sizes=(4,), activation=jnp.tanh, zero_last=False)
    params = tanh_net.init(jax.random.key(5))
    expected = jnp.tanh(x @ params[0].weight + params[0].bias) @ params[1].weight
    np.testing.assert_allclose(
        tanh_net.apply(params, x), expected + params[1].bias, rtol=1e-6
    )


MADE_SHAPES = [(dim, context) for context in (0, 2) for dim in (1, 2, 3, 7)]


@pytest.mark.parametrize(
    ("dim", "context_size"),
    slow_except(
        MADE_SHAPES, {"3-2"}, ids=[f"{dim}-{context}" for dim, context in MADE_SHAPES]
    ),
)
def test_masked_mlp_is_autoregressive(dim, context_size):
    num_params = 3
    net = jr.nn.masked_mlp(
        dim, num_params, hidden_sizes=(16, 16), context_size=context_size
    )
    params = _nonzero(net.init(jax.random.key(dim)), jax.random.key(10 + dim))
    inputs = jax.random.normal(jax.random.key(20), (dim + context_size,))
    jacobian = np.asarray(jax.jacobian(net.apply, argnums=1)(params, inputs))
    assert jacobian.shape == (dim * num_params, dim + context_size)
    # output i * num_params + k belongs to coordinate i: it sees inputs < i only
    per_coordinate = jacobian[:, :dim].reshape(dim, num_params, dim)
    upper = np.triu(np.ones((dim, dim)))[:, None, :]  # j >= i
    np.testing.assert_array_equal(per_coordinate * upper, 0.0)
    # structurally every allowed connection exists (the masks' path counts)
    masks = _mlp.made_masks(dim, num_params, (16, 16), context_size)
    paths = masks[0] @ masks[1] @ masks[2]  # (inputs, outputs)
    allowed = np.arange(dim)[:, None] < np.repeat(np.arange(dim), num_params)[None]
    np.testing.assert_array_equal(paths[:dim] > 0, allowed)
    if context_size:  # the context reaches every output, coordinate 0's too
        assert bool(np.all(paths[dim:] > 0))
        assert bool(np.all(np.any(jacobian[:, dim:] != 0, axis=1)))


def test_masks_are_constants_not_params():
    net = jr.nn.masked_mlp(4, 2, hidden_sizes=(8,))
    params = net.init(jax.random.key(30))
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(params))
    assert len(jax.tree.leaves(params)) == 4  # two weights, two biases
    inputs = jax.random.normal(jax.random.key(31), (4,))
    # any optax step keeps the network autoregressive
    optimizer = optax.sgd(10.0)
    state = optimizer.init(params)
    grads = jax.tree.map(jnp.ones_like, params)  # pushes every entry, masked too
    updates, _ = optimizer.update(grads, state)
    params = optax.apply_updates(params, updates)
    jacobian = jax.jacobian(net.apply, argnums=1)(params, inputs).reshape(4, 2, 4)
    np.testing.assert_array_equal(jacobian * np.triu(np.ones((4, 4)))[:, None], 0.0)
    # and the gradient of a masked weight entry is zero
    grad = jax.grad(lambda p: jnp.sum(net.apply(p, inputs)))(params)
    np.testing.assert_array_equal(
        grad[0].weight[_mlp.made_masks(4, 2, (8,), 0)[0] == 0], 0.0
    )


def test_network_errors():
    with pytest.raises(ValueError, match="out_size must be at least 1, got 0"):
        jr.nn.mlp(2, 0)
    with pytest.raises(TypeError, match="in_size must be an int, got 2.0"):
        jr.nn.mlp(2.0, 1)
    with pytest.raises(TypeError, match="hidden_sizes must be a sequence"):
        jr.nn.mlp(2, 1, hidden_sizes=8)
    with pytest.raises(ValueError, match="hidden_sizes must be at least 1, got 0"):
        jr.nn.mlp(2, 1, hidden_sizes=(8, 0))
    with pytest.raises(TypeError, match="activation must be a function"):
        jr.nn.mlp(2, 1, activation="relu")
    with pytest.raises(ValueError, match="hidden_sizes must hold at least one width"):
        jr.nn.masked_mlp(3, 2, hidden_sizes=())
    with pytest.raises(ValueError, match="dim must be at least 1"):
        jr.nn.masked_mlp(0, 2)
    with pytest.raises(TypeError, match="key"):
        jr.nn.mlp(2, 1).init(0)
