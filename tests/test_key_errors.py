"""Params where a key belongs (swapped arguments): an error saying what to do."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr
from jaxreparam import _checks
from tests.registry import CASES

KEY_FIRST = "the key comes first: sample(key, params, sample_shape)"


def f(z):
    return jnp.sum(z**2)


def log_target(z):
    return -0.5 * jnp.sum(z**2)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (jr.normal.init(loc=0.0), "got NormalParams where a PRNG key was expected"),
        ({"loc": 0.0}, "got a dict (params?) where a PRNG key was expected"),
        ((0.0, 1.0), "got a tuple (params?) where a PRNG key was expected"),
        (jnp.zeros(3), "got a float32 array of shape (3,) (params?) where a PRNG"),
        (1.5, "got a float (params?) where a PRNG key was expected"),
    ],
)
def test_params_where_the_key_belongs(value, said):
    with pytest.raises(TypeError) as raised:
        _checks.check_key(value)
    assert said in str(raised.value)
    assert KEY_FIRST in str(raised.value)


def test_other_key_errors_are_unchanged():
    with pytest.raises(TypeError, match=r"got the int 0 .*jax\.random\.key\(seed\)"):
        _checks.check_key(0)
    with pytest.raises(TypeError, match="got ArrayImpl with dtype int32"):
        _checks.check_key(jnp.zeros(2, jnp.int32))
    with pytest.raises(ValueError, match="batch of keys of shape \\(2,\\).*vmap"):
        _checks.check_key(jax.random.split(jax.random.key(0), 2))
    with pytest.raises(ValueError, match="batch of legacy keys"):
        _checks.check_key(jnp.stack([jax.random.PRNGKey(0)] * 2))
    with pytest.raises(ValueError, match="a legacy PRNG key has shape"):
        _checks.check_key(jnp.zeros(3, jnp.uint32))
    key = jax.random.key(0)
    assert _checks.check_key(key) is key


def _key_checked_first(family):
    """Every family's sample checks its key before reading its params."""
    assert getattr(family.sample, "key_checked", False), family.name
    assert getattr(family.sample_and_log_prob, "key_checked", False), family.name


@pytest.mark.parametrize("name", list(CASES))
def test_swapped_key_and_params_in_sample(name):
    case = CASES[name]
    _key_checked_first(case.family)
    params = case.family.init(**{k: jnp.asarray(v) for k, v in case.natural.items()})
    kind = type(params).__name__
    for draw in (case.family.sample, case.family.sample_and_log_prob):
        with pytest.raises(TypeError, match=f"got {kind} where a PRNG key"):
            draw(params, jax.random.key(0), (2,))
        with pytest.raises(TypeError, match=f"got {kind} where a PRNG key"):
            jax.jit(draw, static_argnums=2)(params, jax.random.key(1), (2,))


FAMILIES = {  # a family wired today (a combinator), and a bundled one
    "independent": (jr.independent(jr.normal, 1), {"loc": np.zeros((2, 3))}),
    "normal": (jr.normal, {"loc": np.zeros(3)}),
}


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize(
    "call",
    [
        lambda k, p, q: jr.estimators.pathwise(k, p, q, f, num_samples=4),
        lambda k, p, q: jr.estimators.score_function(k, p, q, f, num_samples=4),
        lambda k, p, q: jr.objectives.elbo(k, p, q, log_target),
        lambda k, p, q: jr.objectives.iwae(k, p, q, log_target, num_samples=4),
    ],
    ids=["pathwise", "score_function", "elbo", "iwae"],
)
def test_swapped_key_and_params_in_estimators_and_objectives(name, call):
    family, natural = FAMILIES[name]
    _key_checked_first(family)
    params = family.init(**natural)
    with pytest.raises(TypeError, match="got NormalParams where a PRNG key"):
        call(params, jax.random.key(0), family)


def test_swapped_key_and_params_in_measure_valued():
    params = jr.normal.init(loc=jnp.zeros(3))
    with pytest.raises(TypeError, match="got NormalParams where a PRNG key"):
        jr.estimators.measure_valued(params, jax.random.key(0), jr.normal, f)


def test_fit_states_the_loss_signature_it_expects():
    import optax

    params = jr.normal.init(loc=0.0)
    fit = lambda loss, data=None: jr.fit(  # noqa: E731
        jax.random.key(0), params, data, loss=loss, optimizer=optax.sgd(0.1),
        num_steps=1,
    )  # fmt: skip
    expects = r"fit expects loss\(key, params\) without data, loss\(key, params, "
    with pytest.raises(TypeError, match=r"signature is \(params\).*" + expects):
        fit(lambda params: 0.0)
    with pytest.raises(TypeError, match=r"called as loss\(key, params, batch\) with"):
        fit(lambda key, params: 0.0, jnp.zeros((4, 2)))


def test_swapped_key_and_params_in_fit():
    import optax

    params = jr.normal.init(loc=0.0)
    with pytest.raises(TypeError, match="got NormalParams where a PRNG key"):
        jr.fit(
            params, jax.random.key(0), loss=lambda key, params: 0.0,
            optimizer=optax.sgd(0.1), num_steps=1,
        )  # fmt: skip
