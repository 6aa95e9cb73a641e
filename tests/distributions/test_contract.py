"""The family contract, checked for every family in the registry."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.experimental import checkify

import jaxreparam as jr
from tests.registry import CASES, core_then_slow

IDS = list(CASES)
TRANSFORMS = {"eager": lambda f: f, "jit": jax.jit}

#: For a check that compiles (jit, vmap, grad, checkify): every case, those not in
#: ``registry.CORE`` marked slow.
compiled = pytest.mark.parametrize("case", core_then_slow(IDS), indirect=True)


@pytest.fixture(params=IDS)
def case(request):
    return CASES[request.param]


def natural(case, dtype=jnp.float32):
    return {k: jnp.asarray(v, dtype) for k, v in case.natural.items()}


def shapes(case):
    params = case.family.init(**natural(case))
    return params, case.family.batch_shape(params), case.family.event_shape(params)


def exported(family):
    """Whether ``family`` is a public family name (``jr.FAMILIES``), not one built
    by a combinator over another family's params (``jr.independent(...)``)."""
    return jr.FAMILIES.get(family.name) is family


def test_every_family_is_under_test():
    under_test = {c.family.name for c in CASES.values()}
    missing = sorted(set(jr.FAMILIES) - under_test)
    assert not missing, f"no Case (in tests/distributions/test_<name>.py): {missing}"
    for c in CASES.values():  # the rest are combinators over exported families
        if not exported(c.family):
            assert c.family.name not in jr.FAMILIES, c.family.name
            params_types = {f.params_type for f in jr.FAMILIES.values()}
            assert c.family.params_type in params_types, c.family.name


def test_registered_for_dispatch(case):
    params, _, _ = shapes(case)
    if exported(case.family):
        assert jr.family_of(params) is case.family
    else:  # a view of another family's params: dispatch finds that family
        assert jr.family_of(params).params_type is case.family.params_type
        assert jr.family_of(params) is not case.family


def test_declared_natural_args_describe_init(case):
    """``Family.natural_args``, where declared, are exactly ``init``'s keywords."""
    declared = case.family.natural_args
    if not declared:
        pytest.skip(f"{case.family.name} declares no natural_args")
    names = [a.name for a in declared]
    assert names == list(inspect.signature(case.family.init).parameters)
    assert set(case.natural) <= set(names)  # init may take alternatives (probs)
    for arg in declared:
        assert isinstance(arg, jr.NaturalArg), arg
        assert arg.domain in jr.base.DOMAINS, arg
        assert isinstance(arg.event_ndims, int), arg
        assert 0 <= arg.event_ndims <= np.ndim(case.natural[arg.name]), arg


@compiled
@pytest.mark.parametrize("sample_shape", [(), (4,), (2, 3)])
def test_shapes(case, sample_shape, key):
    params, batch, event = shapes(case)
    z = case.family.sample(key, params, sample_shape)
    assert z.shape == sample_shape + batch + event
    assert case.family.log_prob(params, z).shape == sample_shape + batch
    z2, lp = case.family.sample_and_log_prob(jax.random.key(1), params, sample_shape)
    assert z2.shape == z.shape
    np.testing.assert_allclose(
        lp, case.family.log_prob(params, z2), rtol=2e-5, atol=2e-5
    )


@compiled
def test_sample_and_log_prob_draws_like_sample(case, key):
    params, _, _ = shapes(case)
    z = case.family.sample(key, params, (5,))
    z2, _ = case.family.sample_and_log_prob(jax.random.key(0), params, (5,))
    np.testing.assert_allclose(z, z2, rtol=1e-6, atol=1e-6)


@compiled
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_dtype(case, dtype):
    with jax.enable_x64(dtype == jnp.float64):
        params = case.family.init(**natural(case, dtype))
        assert all(leaf.dtype == dtype for leaf in jax.tree.leaves(params))
        z, lp = case.family.sample_and_log_prob(jax.random.key(0), params, (3,))
        assert z.dtype == dtype
        assert lp.dtype == dtype
        assert case.family.log_prob(params, z).dtype == dtype


def test_python_scalars_take_default_dtype(case):
    scalars = {k: float(np.ravel(v)[0]) for k, v in case.natural.items()}
    params = case.family.init(**scalars)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(params))


@compiled
def test_jit_matches_eager(case):
    params, _, _ = shapes(case)

    def f(key, params):
        z, lp = case.family.sample_and_log_prob(key, params, (7,))
        return z, lp, case.family.log_prob(params, z)

    eager = f(jax.random.key(3), params)
    jitted = jax.jit(f)(jax.random.key(3), params)
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@compiled
def test_vmap_over_keys_matches_loop(case):
    params, _, _ = shapes(case)
    keys = jax.random.split(jax.random.key(4), 3)
    batched = jax.vmap(case.family.sample, in_axes=(0, None))(keys, params)
    looped = jnp.stack([case.family.sample(k, params) for k in keys])
    np.testing.assert_allclose(batched, looped, rtol=1e-6, atol=1e-6)


@compiled
def test_vmap_over_params(case, key):
    params, batch, event = shapes(case)
    stacked = jax.tree.map(lambda x: jnp.stack([x, x]), params)
    z = jax.vmap(case.family.sample, in_axes=(None, 0))(key, stacked)
    assert z.shape == (2,) + batch + event
    np.testing.assert_allclose(z[0], z[1], rtol=1e-6)


@compiled
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_gradients_finite(case, transform):
    def loss(params, key):
        z = case.family.sample(key, params, (16,))
        return jnp.mean(jnp.tanh(z)) + jnp.mean(case.family.log_prob(params, z))

    params, _, _ = shapes(case)
    grads = TRANSFORMS[transform](jax.grad(loss))(params, jax.random.key(5))
    for leaf in jax.tree.leaves(grads):
        assert jnp.all(jnp.isfinite(leaf))


@compiled
def test_natural_gradient_is_one_call_away(case, key):
    """``jax.grad`` through ``init`` gives gradients w.r.t. natural values."""
    if not case.family.reparameterized:
        pytest.skip("a discrete draw has no pathwise gradient (zero by design)")

    def expected_tanh(nat):
        z = case.family.sample(key, case.family.init(**nat), (16,))
        return jnp.mean(jnp.tanh(z))

    grads = jax.grad(expected_tanh)(natural(case))
    assert set(grads) == set(case.natural)
    for name, g in grads.items():
        assert g.shape == case.natural[name].shape
        assert jnp.all(jnp.isfinite(g))
        assert jnp.any(g != 0), name


def test_to_natural_inverts_init(case):
    nat = natural(case)
    back = case.family.to_natural(case.family.init(**nat))
    assert set(back) == set(nat)
    for k in nat:
        np.testing.assert_allclose(back[k], nat[k], rtol=1e-5)


# --------------------------------------------------------------------------- #
# Bad input.


def invalid_inputs(case):
    """(overrides, substring) pairs that ``init`` must reject."""
    out = []
    for name in case.natural:
        out.append(({name: np.nan}, name))
        if name in case.upper_bounds and name in case.lower_bounds:
            continue  # both infinities valid (Bernoulli logits: p = 0 and 1)
        out.append(({name: -np.inf if name in case.upper_bounds else np.inf}, name))
    for name in case.positive:
        out.append(({name: -1.0}, name))
        out.append(({name: 0.0}, name))
    return out + list(case.invalid)


def test_init_rejects_invalid_values(case):
    for overrides, match in invalid_inputs(case):
        nat = dict(natural(case), **overrides)
        with pytest.raises(ValueError, match=match):
            case.family.init(**nat)


def test_init_accepts_infinite_bounds(case):
    """An upper bound may be ``+inf`` and a lower bound ``-inf``."""
    infinite = {name: np.inf for name in case.upper_bounds}
    infinite |= {name: -np.inf for name in case.lower_bounds}
    if not infinite:
        pytest.skip(f"{case.family.name} has no bound arguments")
    for name, value in infinite.items():
        params = case.family.init(**dict(natural(case), **{name: value}))
        back = case.family.to_natural(params)[name]
        np.testing.assert_array_equal(back, np.broadcast_to(value, back.shape))


def test_init_rejects_integer_dtypes(case):
    for name, value in case.natural.items():
        nat = dict(natural(case), **{name: jnp.asarray(value).astype(jnp.int32)})
        with pytest.raises(TypeError, match=name):
            case.family.init(**nat)


def test_init_rejects_shapes_that_do_not_broadcast(case):
    if len(case.natural) < 2:
        pytest.skip("a single argument always broadcasts")
    name = next(iter(case.natural))
    value = case.natural[name]
    bad = np.concatenate([value, value, value], axis=-1) + 0.0
    nat = dict(natural(case), **{name: jnp.asarray(bad, jnp.float32)})
    with pytest.raises(ValueError, match=name):
        case.family.init(**nat)


@compiled
def test_invalid_values_under_jit_are_nan_not_plausible(case):
    """Without checking mode an invalid traced value gives NaN, never garbage."""

    @jax.jit
    def f(nat, key):
        params = case.family.init(**nat)
        z = case.family.sample(key, params, (4,))
        return z, case.family.log_prob(params, jnp.zeros_like(z) + 0.5)

    for overrides, _ in invalid_inputs(case):
        if any(np.isnan(np.asarray(v)).any() for v in overrides.values()):
            continue  # NaN in stays NaN out
        nat = dict(natural(case), **{k: jnp.float32(v) for k, v in overrides.items()})
        z, lp = f(nat, jax.random.key(0))
        assert jnp.all(jnp.isnan(z)), overrides
        assert jnp.all(jnp.isnan(lp)), overrides


@compiled
def test_checking_mode_names_the_argument_under_jit(case):
    f = jax.jit(lambda nat, key: case.family.sample(key, case.family.init(**nat)))
    for overrides, match in invalid_inputs(case):
        nat = dict(natural(case), **{k: jnp.float32(v) for k, v in overrides.items()})
        with pytest.raises(checkify.JaxRuntimeError, match=match):
            jr.checked(f)(nat, jax.random.key(0))
    # A valid call passes, and plain jit afterwards still runs without checks.
    jr.checked(f)(natural(case), jax.random.key(0))
    f(natural(case), jax.random.key(1))


@compiled
def test_optax_step_cannot_leave_the_domain(case):
    """A large step in any direction keeps every natural value valid."""
    params, _, _ = shapes(case)
    optimizer = optax.sgd(1.0)
    for sign in (1.0, -1.0):
        grads = jax.tree.map(lambda x, s=sign: jnp.full_like(x, s * 8.0), params)
        updates, _ = optimizer.update(grads, optimizer.init(params), params)
        stepped = optax.apply_updates(params, updates)
        nat = case.family.to_natural(stepped)
        for name in case.positive:
            assert jnp.all(nat[name] > 0), (sign, name)
        values = {k: np.asarray(v) for k, v in nat.items()}
        beyond = [  # in the domain, but beyond a documented range: refused
            a.name
            for a in case.family.natural_args
            if a.range is not None
            and a.domain in ("real", "positive")
            and not np.all(
                (values[a.name] >= a.range[0]) & (values[a.name] <= a.range[1])
            )
        ]
        if beyond:
            with pytest.raises(ValueError, match="documented range"):
                case.family.init(**values)
        else:
            case.family.init(**values)


# --------------------------------------------------------------------------- #
# Keys.


def test_batched_key_is_rejected(case):
    params, _, _ = shapes(case)
    with pytest.raises(ValueError, match="vmap"):
        case.family.sample(jax.random.split(jax.random.key(0), 2), params)
    with pytest.raises(ValueError, match="vmap"):
        case.family.sample(jnp.stack([jax.random.PRNGKey(0)] * 2), params)


def test_non_key_is_rejected(case):
    params, _, _ = shapes(case)
    with pytest.raises(TypeError, match="key"):
        case.family.sample(jnp.zeros(2), params)


@compiled
def test_legacy_key_draws_like_typed_key(case):
    params, _, _ = shapes(case)
    typed = case.family.sample(jax.random.key(7), params, (3,))
    legacy = case.family.sample(jax.random.PRNGKey(7), params, (3,))
    np.testing.assert_array_equal(typed, legacy)


@compiled
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_reused_key_is_rejected(case, transform):
    params, _, _ = shapes(case)

    def twice(key, params):
        return case.family.sample(key, params) + case.family.sample(key, params)

    with pytest.raises(jax.errors.KeyReuseError):
        TRANSFORMS[transform](twice)(jax.random.key(0), params)


def test_signatures(case):
    fam = case.family
    for fn in (fam.sample, fam.sample_and_log_prob):
        names = list(inspect.signature(fn).parameters)
        assert names[:3] == ["key", "params", "sample_shape"], fn
    assert list(inspect.signature(fam.log_prob).parameters)[:2] == ["params", "z"]
    init_params = inspect.signature(fam.init).parameters.values()
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in init_params)
