"""Tests of jr.nn.predictive: chunked Monte Carlo predictive mean and std."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr


def _bayes_mlp(key, params, x):
    """A tiny Bayesian MLP: one weight draw shared by the batch (Bayes by backprop)."""
    noise = 0.3 * jax.random.normal(key, (24 + 32,), params["w1"].dtype)
    w1 = params["w1"] + noise[:24].reshape(3, 8)
    w2 = params["w2"] + noise[24:].reshape(8, 4)
    return jnp.tanh(x @ w1) @ w2


def _params(key, dtype):
    k1, k2 = jax.random.split(key)
    return {
        "w1": jax.random.normal(k1, (3, 8), dtype),
        "w2": jax.random.normal(k2, (8, 4), dtype),
    }


def _direct(key, apply, params, x, num_samples, transform=lambda y: y):
    """All draws at once, with the keys predictive documents."""
    keys = jax.random.split(key, num_samples)
    draws = jax.jit(jax.vmap(lambda k: transform(apply(k, params, x))))(keys)
    return np.mean(draws, axis=0), np.std(draws, axis=0)


@pytest.mark.parametrize(
    ("num_samples", "chunk_size", "transform"),
    [
        (13, 4, jax.nn.softmax),  # a ragged last chunk
        pytest.param(12, 4, None, marks=pytest.mark.slow),
        pytest.param(3, 10, None, marks=pytest.mark.slow),  # one chunk
    ],
)
def test_equals_all_draws_at_once_float64(num_samples, chunk_size, transform):
    with jax.enable_x64(True):
        params = _params(jax.random.key(0), jnp.float64)
        x = jax.random.normal(jax.random.key(1), (6, 3), jnp.float64)
        out = jr.nn.predictive(
            jax.random.key(2),
            _bayes_mlp,
            params,
            x,
            num_samples=num_samples,
            chunk_size=chunk_size,
            transform=transform,
        )
        mean, std = _direct(
            jax.random.key(2),
            _bayes_mlp,
            params,
            x,
            num_samples,
            transform or (lambda y: y),
        )
        assert out.mean.dtype == jnp.float64
        assert out.mean.shape == out.std.shape == (6, 4)
        np.testing.assert_allclose(out.mean, mean, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(out.std, std, rtol=1e-10, atol=1e-14)


def test_under_jit_with_pytree_outputs():
    params = _params(jax.random.key(3), jnp.float32)
    x = jax.random.normal(jax.random.key(4), (5, 3))

    def apply(key, params, x):
        y = _bayes_mlp(key, params, x)
        return {"logits": y, "pair": (y[:, 0], jnp.argmax(y, -1))}

    f = functools.partial(jr.nn.predictive, apply=apply, num_samples=9, chunk_size=4)
    out = jax.jit(f)(jax.random.key(5), params=params, x=x)
    assert isinstance(out, jr.nn.Predictive)
    assert jax.tree.structure(out.mean) == jax.tree.structure(
        {"logits": 0, "pair": (0, 0)}
    )
    assert out.mean["logits"].shape == (5, 4)
    # the integer argmax is averaged as a float: a vote fraction
    assert out.mean["pair"][1].dtype == jnp.float32
    np.testing.assert_array_equal(out.mean["pair"][0], out.mean["logits"][:, 0])
    np.testing.assert_array_equal(out.std["pair"][0], out.std["logits"][:, 0])


@pytest.mark.parametrize(("num_samples", "chunk_size"), [(10, 3), (8, 8), (6, 4)])
def test_constant_output_has_exactly_zero_std(num_samples, chunk_size):
    def apply(key, params, x):
        noise = jax.random.normal(key)  # drawn, but it does not matter
        return params * x + 0.0 * noise

    x = jnp.array([0.1, 0.7, 1e8, -3.3, 1.0 / 3.0])
    out = jr.nn.predictive(
        jax.random.key(6),
        apply,
        jnp.float32(1.0),
        x,
        num_samples=num_samples,
        chunk_size=chunk_size,
    )
    np.testing.assert_array_equal(out.std, np.zeros(5, np.float32))
    np.testing.assert_array_equal(out.mean, x)


def test_input_chunks_equal_unchunked():
    with jax.enable_x64(True):
        params = _params(jax.random.key(7), jnp.float64)
        x = jax.random.normal(jax.random.key(8), (11, 3), jnp.float64)
        whole = jr.nn.predictive(
            jax.random.key(9), _bayes_mlp, params, x, num_samples=7, chunk_size=3
        )
        for size in (4,):  # 2 chunks of inputs and a ragged one of 3
            chunked = jr.nn.predictive(
                jax.random.key(9),
                _bayes_mlp,
                params,
                x,
                num_samples=7,
                chunk_size=3,
                input_chunk_size=size,
            )
            np.testing.assert_allclose(chunked.mean, whole.mean, rtol=1e-13)
            np.testing.assert_allclose(chunked.std, whole.std, rtol=1e-11)


def _temp_bytes(f, *args):
    stats = jax.jit(f).lower(*args).compile().memory_analysis()
    if stats is None:  # pragma: no cover - CPU gives them on jax 0.10
        pytest.skip("this backend reports no compiled memory statistics")
    return stats.temp_size_in_bytes


def test_memory_does_not_grow_with_num_samples():
    """The compiled scratch memory stays that of one chunk as num_samples grows."""
    params = _params(jax.random.key(10), jnp.float32)
    x = jnp.zeros((2000, 3))
    one_draw = 2000 * 4 * 4  # bytes of one (2000, 4) float32 output

    def chunked(num_samples):
        return _temp_bytes(
            lambda k, p, x: jr.nn.predictive(
                k, _bayes_mlp, p, x, num_samples=num_samples, chunk_size=10
            ),
            jax.random.key(11),
            params,
            x,
        )

    def all_at_once(num_samples):
        def f(k, p, x):
            keys = jax.random.split(k, num_samples)
            draws = jax.vmap(lambda k: _bayes_mlp(k, p, x))(keys)
            return jnp.mean(draws, 0), jnp.std(draws, 0)

        return _temp_bytes(f, jax.random.key(12), params, x)

    # the measure sees all draws held at once ...
    assert all_at_once(1000) > 1000 * one_draw
    # ... and nothing growing with num_samples here (but the keys, 8 bytes a draw)
    small, large = chunked(20), chunked(1000)
    assert large <= small + 1000 * 8 + one_draw
    assert large < all_at_once(1000) / 20


def test_bad_arguments():
    x = jnp.ones((4, 3))
    params = _params(jax.random.key(13), jnp.float32)
    key = jax.random.key(14)  # never consumed: every call below fails first
    call = functools.partial(jr.nn.predictive, key, _bayes_mlp, params, x)
    with pytest.raises(ValueError, match="num_samples must be at least 1, got 0"):
        call(num_samples=0)
    with pytest.raises(TypeError, match="num_samples must be an int, got 2.5"):
        call(num_samples=2.5)
    with pytest.raises(TypeError, match="num_samples must be an int, got True"):
        call(num_samples=True)
    with pytest.raises(ValueError, match="chunk_size must be at least 1, got -2"):
        call(chunk_size=-2)
    with pytest.raises(ValueError, match="input_chunk_size must be at least 1"):
        call(input_chunk_size=0)
    with pytest.raises(TypeError, match="apply must be a function"):
        jr.nn.predictive(key, params, _bayes_mlp, x)
    with pytest.raises(TypeError, match="transform must be a function or None"):
        call(transform="softmax")
    with pytest.raises(TypeError, match="key comes first"):
        jr.nn.predictive(params, _bayes_mlp, key, x)
    with pytest.raises(ValueError, match="same leading"):
        jr.nn.predictive(
            key,
            lambda k, p, x: x[0] * p,
            1.0,
            (jnp.ones(3), jnp.ones(4)),
            input_chunk_size=2,
        )
    with pytest.raises(ValueError, match="must keep the inputs' leading axis"):
        jr.nn.predictive(
            jax.random.key(15),
            lambda k, p, x: jnp.sum(x),
            None,
            jnp.ones(5),
            input_chunk_size=2,
        )
