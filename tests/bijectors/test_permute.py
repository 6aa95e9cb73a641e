"""Tests of permute(permutation) and reverse."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr
from tests.bijectors.case import Case

jb = jr.bijectors

CASES = {
    "permute": Case(jb.permute([2, 0, 3, 1]), lambda key: (), (5, 4)),
    "reverse": Case(jb.reverse, lambda key: jb.reverse.init(), (4, 3)),
    "reverse_batch": Case(jb.reverse, lambda key: jb.reverse.init(), (2, 2, 5)),
}


def test_permute_moves_coordinates_and_back():
    order = [2, 0, 3, 1]
    bijector = jb.permute(order)
    assert bijector.name == "permute([2, 0, 3, 1])"
    assert bijector.event_ndims == 1
    x = jnp.arange(8.0).reshape(2, 4)
    y, log_det = bijector.forward(bijector.init(jax.random.key(0)), x)
    np.testing.assert_array_equal(y, np.asarray(x)[:, order])
    np.testing.assert_array_equal(log_det, np.zeros(2))
    x_back, inverse_log_det = jax.jit(bijector.inverse)((), y)
    np.testing.assert_array_equal(x_back, x)
    np.testing.assert_array_equal(inverse_log_det, np.zeros(2))


def test_reverse_is_the_reversing_permutation():
    x = jax.random.normal(jax.random.key(1), (3, 5))
    ours = jb.reverse.forward((), x)
    theirs = jb.permute(range(4, -1, -1)).forward((), x)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])
    twice = jb.chain(jb.reverse, jb.reverse).forward(((), ()), x)[0]
    np.testing.assert_array_equal(twice, x)


@pytest.mark.parametrize(
    "bad",
    [[0, 0, 1], [1, 2], [[0, 1]], [0.0, 1.0], [], [0, -1], "ab", [True, False]],
)
def test_permute_rejects_what_is_no_permutation(bad):
    with pytest.raises(ValueError, match="permutation must be a permutation") as info:
        jb.permute(bad)
    assert repr(bad) in str(info.value)


def test_wrong_event_size_and_scalars():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        jb.permute([1, 2, 0]).forward((), jnp.ones((2, 4)))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., D\)"):
        jb.reverse.forward((), 1.0)


def test_gradients_flow_through_the_permutation():
    bijector = jb.permute([1, 2, 0])
    weights = jnp.array([1.0, 2.0, 3.0])
    grad = jax.grad(lambda x: (bijector.forward((), x)[0] * weights).sum())(
        jnp.zeros(3)
    )
    np.testing.assert_array_equal(grad, [3.0, 1.0, 2.0])
