"""The checks around every family's ``log_prob`` (``distributions._guard``).

Event shapes are checked at trace time (a wrong ``z`` raises a ``ValueError``
eagerly and under ``jax.jit``, before anything compiles); ``-inf`` off the
support is returned by default and raises in checking mode, naming the family
and the value.
"""

import inspect
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxreparam as jr
from tests.registry import CASES

IDS = list(CASES)

#: The families whose ``z`` is not checked against ``event_shape`` (yet):
#: categorical takes one-hot vectors and integer labels, told apart by dtype.
UNCHECKED = {"categorical"}


def params_and_shapes(case):
    natural = {k: jnp.asarray(v, jnp.float32) for k, v in case.natural.items()}
    params = case.family.init(**natural)
    batch = tuple(case.family.batch_shape(params))
    event = tuple(case.family.event_shape(params))
    return params, batch, event


def wrong_z_shape(batch, event):
    """A shape that cannot be ``[sample_shape +] batch + event``."""
    if event:  # the last event axis one longer
        return batch + event[:-1] + (event[-1] + 1,)
    assert batch, "a case's natural values have a batch shape"
    return batch[:-1] + (batch[-1] + 1,)  # the last batch axis one longer


def valid_z_shapes(batch, event):
    """Shapes of ``z`` the suite passes: draws, one draw, broadcast batch axes."""
    shapes = [(4,) + batch + event, batch + event, (1,) * len(batch) + event, event]
    if batch:
        shapes.append(batch[-1:] + event)
    return shapes


@pytest.mark.parametrize("name", IDS)
def test_wrong_event_shape_raises_eagerly_and_under_jit(name):
    case = CASES[name]
    if case.family.name in UNCHECKED:
        pytest.skip("one-hot and integer labels: the event axis is not checked")
    params, batch, event = params_and_shapes(case)
    shape = wrong_z_shape(batch, event)
    z = jnp.full(shape, 0.5, jnp.float32)
    message = rf"{re.escape(case.family.name)}\.log_prob: .*{re.escape(str(shape))}"
    with pytest.raises(ValueError, match=message):
        case.family.log_prob(params, z)
    with pytest.raises(ValueError, match=message):
        jax.jit(case.family.log_prob)(params, z)  # raised at trace time


@pytest.mark.parametrize("name", IDS)
def test_valid_shapes_keep_working(name):
    """Traced only (``jax.eval_shape``): the shape check runs, nothing compiles."""
    case = CASES[name]
    params, batch, event = params_and_shapes(case)
    for shape in valid_z_shapes(batch, event):
        out = jax.eval_shape(case.family.log_prob, params, jnp.zeros(shape))
        assert out.shape == jnp.broadcast_shapes(
            shape[: len(shape) - len(event)], batch
        )


def test_multivariate_message_names_event_shape_and_z():
    mvn = jr.multivariate_normal_tril
    params = mvn.init(loc=jnp.zeros(3), scale_tril=jnp.eye(3))
    expected = (
        "multivariate_normal_tril.log_prob: z must end in the event shape (3,), "
        "got z of shape (4,)"
    )
    for z in (jnp.zeros(4), jnp.zeros((2, 4))):
        message = expected.replace("(4,)", str(z.shape))
        with pytest.raises(ValueError, match=re.escape(message)):
            mvn.log_prob(params, z)
    with pytest.raises(ValueError, match=r"event shape \(3,\), got z of shape \(\)"):
        mvn.log_prob(params, 0.0)  # a scalar is no point of R^3
    with pytest.raises(ValueError, match=r"batch shape \(\) .*|cannot broadcast"):
        mvn.log_prob(
            mvn.init(loc=jnp.zeros((2, 3)), scale_tril=jnp.eye(3)), jnp.zeros((5, 3))
        )


def test_univariate_z_broadcasting_against_the_batch_is_accepted():
    params = jr.normal.init(loc=jnp.zeros(3), scale=1.0)
    assert jr.normal.log_prob(params, 0.0).shape == (3,)
    assert jr.normal.log_prob(params, jnp.zeros((5, 1))).shape == (5, 3)
    grid = jnp.linspace(-3.0, 3.0, 7)[:, None]  # a density on a grid
    assert jr.normal.log_prob(params, grid).shape == (7, 3)
    with pytest.raises(ValueError, match=r"normal\.log_prob: .*\(4,\)"):
        jr.normal.log_prob(params, jnp.zeros(4))


def test_combinators_check_their_own_event_shape():
    rows = jr.independent(jr.normal, 1)
    params = rows.init(loc=jnp.zeros((4, 3)), scale=1.0)
    assert rows.log_prob(params, jnp.zeros((2, 4, 3))).shape == (2, 4)
    with pytest.raises(ValueError, match=r"independent\(normal, 1\).*\(3,\)"):
        rows.log_prob(params, jnp.zeros((4, 2)))
    simplex = jr.transformed(jr.normal, jr.bijectors.stick_breaking)
    params = simplex.init(base={"loc": jnp.zeros(2), "scale": 1.0})
    assert simplex.log_prob(params, jnp.full(3, 1 / 3)).shape == ()
    with pytest.raises(ValueError, match=r"stick_breaking\).*event shape \(3,\)"):
        simplex.log_prob(params, jnp.full(4, 0.25))


def test_wrapper_keeps_name_doc_and_signature():
    for family in (jr.normal, jr.gamma, jr.multivariate_normal_tril, jr.dirichlet):
        assert family.log_prob.__name__ == "log_prob"
        assert family.log_prob.__doc__
        assert list(inspect.signature(family.log_prob).parameters)[:2] == [
            "params",
            "z",
        ]


def test_jitted_log_prob_has_no_extra_ops():
    """The checks are Python at trace time: the HLO is the family's own."""
    params = jr.normal.init(loc=jnp.zeros(3), scale=jnp.ones(3))
    z = jnp.ones((5, 3))
    guarded = jax.jit(jr.normal.log_prob).lower(params, z).as_text()
    own = jax.jit(jr.normal.log_prob.__wrapped__).lower(params, z).as_text()
    assert guarded.replace("jit_log_prob", "") == own.replace("jit_log_prob", "")


# --------------------------------------------------------------------------- #
# Out of the support: -inf by default, an error in checking mode.

OUTSIDE = {  # family, natural values, a z off the support, a z on it
    "gamma": (jr.gamma, {"concentration": 2.0, "rate": 1.0}, -1.0, 1.0),
    "beta": (jr.beta, {"concentration1": 2.0, "concentration0": 3.0}, 1.5, 0.5),
    "uniform": (jr.uniform, {"low": 0.0, "high": 2.0}, 2.5, 1.0),
    "bernoulli": (jr.bernoulli, {"logits": 0.0}, 0.3, 1.0),
}


@pytest.mark.parametrize("name", list(OUTSIDE))
def test_out_of_support_is_minus_inf_by_default(name):
    family, natural, outside, inside = OUTSIDE[name]
    params = family.init(**natural)
    f = jax.jit(lambda z: family.log_prob(params, z))
    for log_q in (family.log_prob(params, outside), f(outside)):
        assert log_q == -jnp.inf
    assert jnp.isfinite(f(inside))


@pytest.mark.parametrize("name", list(OUTSIDE))
def test_out_of_support_raises_in_checking_mode(name):
    family, natural, outside, inside = OUTSIDE[name]
    params = family.init(**natural)
    f = jax.jit(lambda z: family.log_prob(params, z))
    z = jnp.array([inside, outside, inside])
    with pytest.raises(checkify.JaxRuntimeError) as raised:
        jr.checked(f)(z)
    message = str(raised.value)
    assert f"{name}.log_prob: z = {outside}" in message
    assert f"zero density under {name}" in message
    assert jnp.isfinite(jr.checked(f)(jnp.array([inside]))).all()
    with jr.checking(), pytest.raises(ValueError, match=f"z = {outside} .*{name}"):
        family.log_prob(params, z)  # concrete values: raised at once


def test_checking_mode_lets_nan_and_inner_minus_inf_through():
    params = jr.gamma.init(concentration=2.0, rate=1.0)
    f = jr.checked(jax.jit(lambda z: jr.gamma.log_prob(params, z)))
    assert jnp.isnan(f(jnp.array([jnp.nan, 1.0]))[0])  # NaN in, NaN out: no error
    # A mixture of disjoint uniforms: one component's -inf is no zero of the whole.
    mix = jr.mixture(jr.uniform)
    mixed = mix.init(mixture_logits=jnp.zeros(2), low=jnp.array([0.0, 2.0]), high=3.0)
    g = jr.checked(jax.jit(lambda z: mix.log_prob(mixed, z)))
    assert jnp.isfinite(g(0.5))
    with pytest.raises(checkify.JaxRuntimeError, match="zero density under mixture"):
        g(-1.0)


def test_multivariate_out_of_support_names_the_vector():
    params = jr.dirichlet.init(concentration=jnp.ones(3) * 2.0)
    f = jr.checked(jax.jit(lambda z: jr.dirichlet.log_prob(params, z)))
    z = jnp.array([[0.2, 0.3, 0.5], [-0.5, 1.0, 0.5]])
    with pytest.raises(checkify.JaxRuntimeError, match=r"z = \[-0.5 +1\. +0.5\]"):
        f(z)
    np.testing.assert_array_equal(
        jr.dirichlet.log_prob(params, z)[1], -np.inf
    )  # outside checking mode
