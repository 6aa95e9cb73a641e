"""Tests of jaxreparam.bijectors: round trips, log-determinants, shapes, domains."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam.bijectors as jb
from jaxreparam.base import Bijector
from tests.bijectors.case import Case, gather


def _fixed(init):
    """A params builder that ignores the key (fixed or hand-set params)."""
    return lambda key: init()


# name -> Case(bijector, params builder, shape of x with a batch axis)
_CASES = {
    "identity": Case(jb.identity, jb.identity.init, (4, 3)),
    "exp": Case(jb.exp, jb.exp.init, (4, 3)),
    "softplus": Case(jb.softplus, jb.softplus.init, (4, 3)),
    "sigmoid": Case(jb.sigmoid, lambda: jb.sigmoid.init(low=-1.0, high=2.5), (4, 3)),
    "sigmoid_batch": Case(
        jb.sigmoid,
        lambda: jb.sigmoid.init(low=jnp.array([0.0, -3.0, 1.0]), high=10.0),
        (4, 3),
    ),
    "stick_breaking": Case(jb.stick_breaking, jb.stick_breaking.init, (4, 3)),
    "stick_breaking_k2": Case(jb.stick_breaking, jb.stick_breaking.init, (5, 1)),
    "shift": Case(
        jb.shift, lambda: jb.shift.init(loc=jnp.array([0.5, -1.0, 2.0])), (4, 3)
    ),
    "scale": Case(
        jb.scale,
        lambda: jb.scale.init(scale=jnp.array([0.5, 2.0, 1.5])),
        (4, 3),
    ),
    "affine": Case(
        jb.affine,
        lambda: jb.affine.init(loc=jnp.array([0.5, -1.0, 2.0]), scale=0.3, shape=(3,)),
        (4, 3),
    ),
    # chains, applied left to right
    "chain_affine_exp": Case(
        jb.chain(jb.affine, jb.exp),
        lambda: (jb.affine.init(loc=0.2, scale=0.7), ()),
        (4, 3),
    ),
    "chain_shift_scale_sigmoid": Case(
        jb.chain(jb.shift, jb.scale, jb.sigmoid),
        lambda: (
            jb.shift.init(loc=-0.3),
            jb.scale.init(scale=1.7),
            jb.sigmoid.init(low=-1.0, high=2.5),
        ),
        (4, 3),
    ),
    "chain_affine_stick_breaking": Case(
        jb.chain(jb.affine, jb.stick_breaking),
        lambda: (jb.affine.init(loc=jnp.array([0.5, -1.0, 2.0]), scale=0.8), ()),
        (4, 3),
    ),
}
CASES = gather({name: c._replace(init=_fixed(c.init)) for name, c in _CASES.items()})


def _params(case, dtype=None):
    params = case.init(jax.random.key(3))
    if dtype is None:
        return params
    return jax.tree.map(
        lambda p: jnp.asarray(p, dtype) if jnp.issubdtype(p.dtype, jnp.floating) else p,
        params,
    )


#: The default run keeps one case of each kind for the generic checks (an
#: elementwise map, batched params, a shape change, a learnable affine map, a chain,
#: a coupling layer, an autoregressive layer, a spline, a triangular linear map, a
#: permutation, an inverted map); every other case runs in the slow run (CI). Each
#: bijector's own file also tests it in the default run.
_DEFAULT = {
    "exp",
    "sigmoid_batch",
    "stick_breaking",
    "affine",
    "chain_affine_stick_breaking",
    "affine_coupling",
    "affine_autoregressive_dim2",
    "rational_quadratic_spline",
    "tril_affine",
    "reverse",
    "invert_softplus",
}


def _marked(name):
    return name if name in _DEFAULT else pytest.param(name, marks=pytest.mark.slow)


@pytest.fixture(params=[_marked(name) for name in sorted(CASES)])
def case(request):
    return CASES[request.param]


def _square_map(case, params, context):
    """x -> y as a map between spaces of equal dimension (drops y's last entry)."""
    if case.bijector.forward_shape((3,)) != (3,):  # stick_breaking: K - 1 -> K
        return lambda x: case.forward(params, x, context)[0][:-1]
    return lambda x: case.forward(params, x, context)[0]


def test_log_det_matches_the_jacobian(case):
    """log|det jax.jacobian| in float64, for each row of a batch of points."""
    bijector, shape = case.bijector, case.shape
    with jax.enable_x64(True):
        params = _params(case, jnp.float64)
        context = case.context(jnp.float64)
        xs = case.points(jnp.float64)
        _, log_det = case.forward(params, xs, context)
        event = shape[len(shape) - max(bijector.event_ndims, 1) :]
        flat = xs.reshape(-1, *event)
        contexts = (
            None
            if context is None
            else jnp.broadcast_to(context, (*shape[:-1], context.shape[-1])).reshape(
                flat.shape[0], -1
            )
        )

        def jacobian(x, c):
            return jax.jacobian(_square_map(case, params, c))(x)

        jacobians = np.asarray(
            jax.vmap(jacobian)(flat, contexts)
            if contexts is not None
            else jax.vmap(lambda x: jacobian(x, None))(flat)
        )
    if bijector.event_ndims == 1:
        expected = np.linalg.slogdet(jacobians)[1].reshape(shape[:-1])
    else:  # elementwise: a diagonal Jacobian for each row
        diagonals = np.diagonal(jacobians, axis1=-2, axis2=-1)
        np.testing.assert_array_equal(
            jacobians, diagonals[..., None] * np.eye(shape[-1])
        )
        expected = np.log(np.abs(diagonals)).reshape(shape)
    np.testing.assert_allclose(log_det, expected, rtol=case.rtol, atol=1e-12)


def test_inverse_undoes_forward_and_negates_the_log_det(case):
    params, x, context = _params(case), case.points(), case.context()
    y, log_det = case.forward(params, x, context)
    x_back, inverse_log_det = case.inverse(params, y, context)
    np.testing.assert_allclose(x_back, x, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(inverse_log_det, -log_det, rtol=1e-4, atol=1e-4)


def test_shapes_and_dtypes(case):
    bijector, shape = case.bijector, case.shape
    for dtype in (jnp.float32, jnp.float64):
        with jax.enable_x64(dtype == jnp.float64):
            params = _params(case, dtype)
            y, log_det = case.forward(params, case.points(dtype), case.context(dtype))
            assert y.shape == bijector.forward_shape(shape)
            assert bijector.inverse_shape(y.shape) == shape
            assert log_det.shape == shape[: len(shape) - bijector.event_ndims]
            assert y.dtype == log_det.dtype == dtype


def test_jit_and_vmap_agree_with_eager(case):
    params, x, context = _params(case), case.points(), case.context()
    eager = case.forward(params, x, context)
    jitted = jax.jit(case.forward)(params, x, context)
    if context is None:
        mapped = jax.vmap(case.forward, (None, 0))(params, x)
    else:
        context = jnp.broadcast_to(context, (*case.shape[:-1], context.shape[-1]))
        mapped = jax.vmap(case.forward, (None, 0, 0))(params, x, context)
    for a, b, c in zip(eager, jitted, mapped, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


DOMAINS = {
    "exp": lambda y: y > 0,
    "softplus": lambda y: y > 0,
    "sigmoid": lambda y: (y > -1.0) & (y < 2.5),
    "stick_breaking": lambda y: (y > 0).all(-1) & (jnp.abs(y.sum(-1) - 1) < 1e-5),
}


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_forward_lands_inside_the_domain(name):
    case = CASES[name]
    module, init = case.bijector, lambda: case.init(None)
    x = jnp.linspace(-15.0, 15.0, 61)
    x = x[:, None] * jnp.array([1.0, -0.5, 0.3]) if name == "stick_breaking" else x
    y, log_det = module.forward(init(), x)
    assert bool(jnp.all(DOMAINS[name](y)))
    assert bool(jnp.all(jnp.isfinite(log_det)))


def test_stick_breaking_centre_and_simplex_gradients():
    y = jb.stick_breaking.forward(jb.stick_breaking.init(), jnp.zeros(4))[0]
    np.testing.assert_allclose(y, np.full(5, 0.2), rtol=1e-6)
    grad = jax.grad(
        lambda x: jb.stick_breaking.forward(jb.stick_breaking.init(), x)[0][0]
    )
    assert bool(jnp.all(jnp.isfinite(grad(jnp.array([30.0, -30.0, 0.0])))))


def test_sigmoid_init_checks_the_interval():
    with pytest.raises(ValueError, match="high - low"):
        jb.sigmoid.init(low=1.0, high=1.0)
    with pytest.raises(ValueError, match="low"):
        jb.sigmoid.init(low=jnp.nan, high=1.0)
    with pytest.raises(TypeError, match="high"):
        jb.sigmoid.init(low=0, high=jnp.array(2))
    bad = jax.jit(lambda low: jb.sigmoid.forward(jb.sigmoid.init(low=low), 0.0)[0])(2.0)
    assert bool(jnp.isnan(bad))  # an invalid traced interval gives NaN, not numbers


def test_inverse_outside_the_domain_is_nan():
    assert bool(jnp.isnan(jb.exp.inverse(jb.exp.init(), -1.0)[0]))
    assert bool(jnp.isnan(jb.softplus.inverse(jb.softplus.init(), -1.0)[0]))
    assert bool(jnp.isnan(jb.sigmoid.inverse(jb.sigmoid.init(), 1.5)[0]))
    x = jb.stick_breaking.inverse(jb.stick_breaking.init(), jnp.array([-0.5, 1.5]))[0]
    assert bool(jnp.any(jnp.isnan(x)))


def test_every_bijector_is_under_test():
    tested = {case.bijector.name for case in CASES.values()}
    missing = set(jb.BIJECTORS) - tested
    assert not missing, f"no Case in tests/bijectors for {sorted(missing)}"


def test_bundles_and_signatures():
    for name, bijector in jb.BIJECTORS.items():
        assert isinstance(bijector, Bijector)
        assert getattr(jb, name) is bijector  # the public name is the bundle
        assert isinstance(bijector.init(), bijector.params_type)
        keyed = bijector.init(jax.random.key(0))  # a key is accepted by every init
        assert jax.tree.structure(keyed) == jax.tree.structure(bijector.init())
        for function in (bijector.forward, bijector.inverse):
            assert list(inspect.signature(function).parameters)[0] == "params"
