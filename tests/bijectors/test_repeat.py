"""Tests of repeat (stacked layers under lax.scan) and invert."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr
from tests.bijectors.case import Case

jb = jr.bijectors


def _random_affine(key):
    loc_key, scale_key = jax.random.split(key)
    return jb.AffineParams(
        jax.random.normal(loc_key, (3,)), 0.3 * jax.random.normal(scale_key, (3,))
    )


_three_affine = jb.repeat(jb.affine, 3)

CASES = {
    "repeat_affine": Case(
        _three_affine,
        lambda key: jax.vmap(_random_affine)(jax.random.split(key, 3)),
        (4, 3),
    ),
    "repeat_chain_affine_sigmoid": Case(
        jb.repeat(jb.chain(jb.affine, jb.sigmoid, jb.invert(jb.sigmoid)), 2),
        lambda key: (
            jax.vmap(_random_affine)(jax.random.split(key, 2)),
            jb.SigmoidParams(jnp.zeros(2), jnp.ones(2)),
            jb.SigmoidParams(jnp.zeros(2), jnp.ones(2)),
        ),
        (4, 3),
    ),
    "invert_softplus": Case(
        jb.invert(jb.softplus), lambda key: (), (4, 3), to_domain=lambda x: jnp.abs(x)
    ),
}


def test_repeat_computes_what_the_chain_computes():
    params = jax.vmap(_random_affine)(jax.random.split(jax.random.key(0), 3))
    layers = tuple(jax.tree.map(lambda leaf, i=i: leaf[i], params) for i in range(3))
    x = jnp.linspace(-2.0, 2.0, 12).reshape(4, 3)
    chained = jb.chain(jb.affine, jb.affine, jb.affine)
    for ours, theirs in zip(
        _three_affine.forward(params, x), chained.forward(layers, x), strict=True
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    for ours, theirs in zip(
        _three_affine.inverse(params, x), chained.inverse(layers, x), strict=True
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_repeat_program_does_not_grow_with_depth():
    def size(num_layers):
        flow = jb.repeat(jb.affine, num_layers)
        params = flow.init(jax.random.key(0))
        program = str(jax.make_jaxpr(flow.forward)(params, jnp.zeros(3)))
        return len(re.sub(r"\d", "", program))  # the same, up to the 2 or 64

    assert size(2) == size(64)


def test_unrolled_repeat_computes_the_same():
    params = jax.vmap(_random_affine)(jax.random.split(jax.random.key(1), 3))
    x = jnp.linspace(-2.0, 2.0, 12).reshape(4, 3)
    for unroll in (True, 2):
        unrolled = jb.repeat(jb.affine, 3, unroll=unroll)
        for ours, theirs in zip(
            unrolled.inverse(params, x), _three_affine.inverse(params, x), strict=True
        ):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    with pytest.raises(ValueError, match="unroll must be True or an int >= 1, got 0"):
        jb.repeat(jb.affine, 3, unroll=0)


def test_repeat_init_without_a_key_and_errors():
    params = jb.repeat(jb.affine, 4).init()
    assert params.loc.shape == (4,)
    with pytest.raises(ValueError, match="num_layers must be at least 1, got 0"):
        jb.repeat(jb.affine, 0)
    with pytest.raises(TypeError, match="num_layers must be an int"):
        jb.repeat(jb.affine, 2.0)
    with pytest.raises(TypeError, match="bijector must be a jaxreparam Bijector"):
        jb.repeat(jr.normal, 2)


def test_invert_swaps_directions_and_shapes():
    log = jb.invert(jb.exp)
    assert log.name == "invert(exp)"
    y, log_det = log.forward((), jnp.array([1.0, jnp.e]))
    np.testing.assert_allclose(y, [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(log_det, [0.0, -1.0], atol=1e-6)
    simplex = jb.invert(jb.stick_breaking)
    assert simplex.forward_shape((5, 4)) == (5, 3)
    assert jb.invert(simplex).forward_shape((5, 3)) == (5, 4)


def test_context_to_an_unconditional_bijector_is_an_error():
    flow = jb.chain(jb.affine, jb.exp)
    with pytest.raises(ValueError, match="affine is not conditional"):
        flow.forward(flow.init(), jnp.zeros(2), context=jnp.ones(3))
    family = jr.transformed(jr.normal, jb.exp)
    with pytest.raises(ValueError, match="exp is not conditional"):
        family.init(context=jnp.ones(3))
