"""Tests of the surrogate gradient estimators (``jaxreparam.estimators``)."""

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr
from tests.registry import slow_except

# A moving-average state whose baseline is 1.5: it must not bias the gradient.
_STATE = jr.estimators.BaselineState(jnp.float32(0.15), jnp.int32(1))


def _moving_average(key, params, family, f, *, num_samples=1):
    surrogate, _ = jr.estimators.score_function_moving_average(
        key, params, _STATE, family, f, num_samples=num_samples, decay=0.9
    )
    return surrogate


def _leave_one_out(key, params, family, f, *, num_samples=1):
    num_samples = max(num_samples, 2)  # it needs two draws
    return jr.estimators.score_function_leave_one_out(
        key, params, family, f, num_samples=num_samples
    )


#: Every estimator, called as ``(key, params, family, f, *, num_samples)``.
ESTIMATORS = {
    "pathwise": jr.estimators.pathwise,
    "score_function": jr.estimators.score_function,
    "score_function_baseline": functools.partial(
        jr.estimators.score_function, baseline=2.0
    ),
    "score_function_moving_average": _moving_average,
    "score_function_leave_one_out": _leave_one_out,
    "score_function_control_variate": jr.estimators.score_function_control_variate,
    "measure_valued": jr.estimators.measure_valued,
}
#: The default run checks jit, grad and vmap on one estimator of each kind (the
#: rest in the slow run): a pathwise one, a stateful one, one of its own draws.
TRANSFORMED = {"pathwise", "score_function_moving_average", "measure_valued"}
#: Those that draw with ``family.sample(key, params, (num_samples,))``.
SAME_DRAWS = [name for name in ESTIMATORS if name != "measure_valued"]
#: The public functions themselves, for the signature checks.
PUBLIC = {
    "pathwise": jr.estimators.pathwise,
    "score_function": jr.estimators.score_function,
    "score_function_moving_average": jr.estimators.score_function_moving_average,
    "score_function_leave_one_out": jr.estimators.score_function_leave_one_out,
    "score_function_control_variate": jr.estimators.score_function_control_variate,
    "measure_valued": jr.estimators.measure_valued,
    "rebar": jr.estimators.rebar,
    "relax": jr.estimators.relax,
    "relax_variance_loss": jr.estimators.relax_variance_loss,
}
#: The state a step carries with the params, right after them.
CARRIED = {
    "score_function_moving_average": ["state"],
    "relax_variance_loss": ["control_params"],
}
NUM_KEYS = 4000  # independent gradient estimates per check
LOC = np.array([0.5, -1.0, 2.0], np.float32)
SCALE = np.array([1.0, 0.5, 1.5], np.float32)


def _square(z):
    return z**2


def _sum_of_squares(z):
    return jnp.sum(z**2)


def _gradient_draws(estimator, key, loc, scale, f, num_samples):
    """``NUM_KEYS`` independent estimates of the gradient w.r.t. (loc, scale)."""

    def surrogate(key, loc, scale):
        params = jr.normal.init(loc=loc, scale=scale)
        return estimator(key, params, jr.normal, f, num_samples=num_samples)

    grad = jax.jit(jax.vmap(jax.grad(surrogate, argnums=(1, 2)), (0, None, None)))
    return grad(jax.random.split(key, NUM_KEYS), loc, scale)


def _assert_mean_within(draws, expected, k=5.0):
    draws = np.asarray(draws, np.float64)
    mean = draws.mean(axis=0)
    standard_error = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    assert np.all(standard_error > 0)
    np.testing.assert_array_less(np.abs(mean - expected), k * standard_error)


@pytest.mark.parametrize("num_samples", slow_except([1, 3], {3}))
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_gradient_of_square_matches_closed_form_scalar(key, name, num_samples):
    # E[z^2] = loc^2 + scale^2: d/dloc = 2 loc, d/dscale = 2 scale.
    loc, scale = jnp.float32(0.7), jnp.float32(1.3)
    g_loc, g_scale = _gradient_draws(
        ESTIMATORS[name], key, loc, scale, _square, num_samples
    )
    assert g_loc.shape == g_scale.shape == (NUM_KEYS,)
    _assert_mean_within(g_loc, 2 * 0.7)
    _assert_mean_within(g_scale, 2 * 1.3)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_gradient_of_sum_of_squares_over_a_batch(key, name):
    # One draw is the whole batch (a diagonal Gaussian); f sums over it, and the
    # score function must use the joint log-density of the draw.
    g_loc, g_scale = _gradient_draws(
        ESTIMATORS[name], key, LOC, SCALE, _sum_of_squares, 2
    )
    assert g_loc.shape == g_scale.shape == (NUM_KEYS, 3)
    _assert_mean_within(g_loc, 2 * LOC)
    _assert_mean_within(g_scale, 2 * SCALE)


def test_score_function_has_larger_variance_than_pathwise_here(key):
    # Not a theorem in general, but for f(z) = z^2 under N(0.7, 1.3^2) the
    # pathwise variance of d/dloc is 4 scale^2 ~ 6.8 and the score-function one is
    # far larger; a check that the two estimators are not the same code.
    keys = jax.random.split(key, 2)
    loc, scale = jnp.float32(0.7), jnp.float32(1.3)
    path = _gradient_draws(jr.estimators.pathwise, keys[0], loc, scale, _square, 1)
    score = _gradient_draws(
        jr.estimators.score_function, keys[1], loc, scale, _square, 1
    )
    assert np.var(path[0]) < np.var(score[0])


@pytest.mark.parametrize("name", SAME_DRAWS)
def test_value_equals_plain_monte_carlo_estimate(key, name):
    params = jr.normal.init(loc=LOC, scale=SCALE)
    z = jr.normal.sample(jax.random.clone(key), params, (5,))
    expected = jnp.mean(jax.vmap(_sum_of_squares)(z))
    value = ESTIMATORS[name](key, params, jr.normal, _sum_of_squares, num_samples=5)
    assert value.shape == ()
    np.testing.assert_array_equal(value, expected)  # exactly, not approximately


@pytest.mark.parametrize("name", slow_except(list(ESTIMATORS), TRANSFORMED))
def test_jit_and_grad_match_eager(key, name):
    estimator = ESTIMATORS[name]
    params = jr.normal.init(loc=LOC, scale=SCALE)
    args = (jr.normal, _sum_of_squares)
    for fun in (estimator, jax.grad(estimator, argnums=1)):
        eager = fun(jax.random.clone(key), params, *args, num_samples=4)
        jitted = jax.jit(fun, static_argnums=(2, 3), static_argnames="num_samples")
        compiled = jitted(jax.random.clone(key), params, *args, num_samples=4)
        jax.tree.map(
            functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6),
            compiled,
            eager,
        )


@pytest.mark.parametrize("name", slow_except(list(ESTIMATORS), TRANSFORMED))
def test_vmap_over_keys_matches_a_loop(key, name):
    estimator = ESTIMATORS[name]
    params = jr.normal.init(loc=LOC, scale=SCALE)
    grad = jax.grad(estimator, argnums=1)
    keys = jax.random.split(key, 4)
    batched = jax.vmap(
        lambda k: grad(k, params, jr.normal, _sum_of_squares, num_samples=2)
    )(jax.random.clone(keys))
    for i in range(4):
        one = grad(keys[i], params, jr.normal, _sum_of_squares, num_samples=2)
        np.testing.assert_allclose(batched.loc[i], one.loc, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            batched.log_scale[i], one.log_scale, rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("name", list(PUBLIC))
def test_signature_is_key_params_family_f_then_options(name):
    parameters = inspect.signature(PUBLIC[name]).parameters
    positional = ["key", "params", *CARRIED.get(name, []), "family", "f"]
    assert list(parameters)[: len(positional)] == positional
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for p in list(parameters.values())[len(positional) :]
    )


@pytest.mark.parametrize("name", [n for n in ESTIMATORS if "leave_one_out" not in n])
def test_bad_arguments_raise_with_their_name(key, name):
    estimator = ESTIMATORS[name]
    params = jr.normal.init()
    with pytest.raises(ValueError, match="num_samples"):
        estimator(key, params, jr.normal, _square, num_samples=0)
    with pytest.raises(TypeError, match="num_samples"):
        estimator(key, params, jr.normal, _square, num_samples=2.0)
    params = jr.normal.init(loc=LOC, scale=SCALE)
    with pytest.raises(ValueError, match="f must map one draw"):
        estimator(key, params, jr.normal, _square, num_samples=2)


def test_pathwise_refuses_a_family_that_is_not_reparameterized(key):
    family = jr.normal._replace(reparameterized=False)
    with pytest.raises(ValueError, match="score_function"):
        jr.estimators.pathwise(key, jr.normal.init(), family, _square)
    # The score function needs no reparameterization.
    jr.estimators.score_function(key, jr.normal.init(), family, _square)


def test_score_function_passes_gradients_of_what_f_closes_over(key):
    # d/dtheta E[theta * z] = E[z] = loc, through f itself, not the score.
    params = jr.normal.init(loc=0.7, scale=1.3)

    def surrogate(theta):
        f = lambda z: theta * z
        return jr.estimators.score_function(
            jax.random.clone(key), params, jr.normal, f, num_samples=1000
        )

    z = jr.normal.sample(jax.random.clone(key), params, (1000,))
    np.testing.assert_allclose(jax.grad(surrogate)(2.0), jnp.mean(z), rtol=1e-5)


# --------------------------------------------------------------------------- #
# Baselines and control variates.


def _variance_with_standard_error(draws):
    """The sample variance and its standard error, from the fourth moment.

    ``Var(s^2) = (m4 - s^4 (n - 3) / (n - 1)) / n`` for ``n`` iid draws, with the
    central moments estimated from the same draws.
    """
    draws = np.asarray(draws, np.float64)
    n = draws.shape[0]
    variance = draws.var(ddof=1)
    m4 = np.mean((draws - draws.mean()) ** 4)
    return variance, np.sqrt((m4 - variance**2 * (n - 3) / (n - 1)) / n)


def test_constant_baseline_changes_only_the_gradient(key):
    params = jr.normal.init(loc=LOC, scale=SCALE)
    plain = jax.value_and_grad(jr.estimators.score_function, argnums=1)
    value, grad = plain(
        jax.random.clone(key), params, jr.normal, _sum_of_squares, num_samples=5
    )
    shifted, grad_shifted = plain(
        key, params, jr.normal, _sum_of_squares, num_samples=5, baseline=3.0
    )
    assert value == shifted
    # The baseline subtracts 3 mean_s grad log q(z_s), computed by hand here.
    z = jr.normal.sample(jax.random.clone(key), params, (5,))
    score_loc = (z - LOC) / SCALE**2
    np.testing.assert_allclose(
        grad.loc - grad_shifted.loc, 3.0 * score_loc.mean(0), rtol=1e-4, atol=1e-5
    )
    with pytest.raises(ValueError, match="baseline"):
        jr.estimators.score_function(
            key, params, jr.normal, _sum_of_squares, baseline=jnp.zeros(2)
        )


def test_a_good_baseline_reduces_the_score_function_variance(key):
    # f = z^2 under N(5, 1): with the baseline E f = 26 the loc gradient is
    # 2 mu eps^2 + eps (eps^2 - 1), of variance 8 mu^2 + 10 = 210, against
    # mu^4 + 14 mu^2 + 15 = 990 without.
    keys = jax.random.split(key, 2)
    estimators = [
        jr.estimators.score_function,
        functools.partial(jr.estimators.score_function, baseline=26.0),
    ]
    (va, sa), (vb, sb) = (
        _variance_with_standard_error(_gradient_draws(e, k, 5.0, 1.0, _square, 1)[0])
        for e, k in zip(estimators, keys, strict=True)
    )
    assert abs(va - 990) < 5 * sa
    assert abs(vb - 210) < 5 * sb
    assert vb + 5 * sb < va - 5 * sa


def test_moving_average_state_is_the_debiased_average(key):
    params = jr.normal.init(loc=LOC, scale=SCALE)
    step = jax.jit(
        jax.grad(jr.estimators.score_function_moving_average, argnums=1, has_aux=True),
        static_argnums=(3, 4),
        static_argnames=("num_samples", "decay"),
    )
    state = jr.estimators.init_baseline()
    assert state.count == 0
    *keys, last = jax.random.split(key, 4)
    means = []
    for k in keys:
        _, state = step(
            jax.random.clone(k),
            params,
            state,
            jr.normal,
            _sum_of_squares,
            num_samples=4,
            decay=0.5,
        )
        z = jr.normal.sample(k, params, (4,))
        means.append(float(jnp.mean(jnp.sum(z**2, axis=-1))))
    expected = 0.5 * (0.5 * (0.5 * means[0]) + 0.5 * means[1]) + 0.5 * means[2]
    np.testing.assert_allclose(state.value, expected, rtol=1e-5)
    assert state.count == 3
    # The next call's baseline is the debiased average: its gradient equals the
    # constant-baseline score function's with that baseline.
    baseline = expected / (1 - 0.5**3)
    g_state, _ = step(
        jax.random.clone(last),
        params,
        state,
        jr.normal,
        _sum_of_squares,
        num_samples=4,
        decay=0.5,
    )
    g_constant = jax.grad(jr.estimators.score_function, argnums=1)(
        last,
        params,
        jr.normal,
        _sum_of_squares,
        num_samples=4,
        baseline=baseline,
    )
    np.testing.assert_allclose(g_state.loc, g_constant.loc, rtol=1e-4, atol=1e-4)


def test_moving_average_runs_in_a_scan_and_refuses_a_bad_decay(key):
    params = jr.normal.init(loc=3.0, scale=1.0)
    grad = jax.grad(
        jr.estimators.score_function_moving_average, argnums=1, has_aux=True
    )

    def step(state, key):
        g, state = grad(key, params, state, jr.normal, _square)
        return state, g.loc

    state, _ = jax.lax.scan(
        step, jr.estimators.init_baseline(), jax.random.split(key, 200)
    )
    assert state.count == 200
    # After 200 steps the debiased average is near E f = 10 (decay 0.9: about
    # 10 effective draws of variance Var z^2 = 38, so within 5 sd of 2).
    assert abs(state.value / (1 - 0.9**200) - 10.0) < 10.0
    with pytest.raises(ValueError, match="decay"):
        jr.estimators.score_function_moving_average(
            key, params, state, jr.normal, _square, decay=1.0
        )


def test_leave_one_out_matches_its_formula_and_needs_two_draws(key):
    params = jr.normal.init(loc=LOC, scale=SCALE)
    g = jax.grad(jr.estimators.score_function_leave_one_out, argnums=1)(
        jax.random.clone(key), params, jr.normal, _sum_of_squares, num_samples=5
    )
    z = jr.normal.sample(key, params, (5,))
    values = jnp.sum(z**2, axis=-1)
    weights = 5 / 4 * (values - values.mean())
    expected = jnp.mean(weights[:, None] * (z - LOC) / SCALE**2, axis=0)
    np.testing.assert_allclose(g.loc, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="num_samples must be >= 2"):
        jr.estimators.score_function_leave_one_out(
            key, params, jr.normal, _sum_of_squares, num_samples=1
        )


def test_control_variate_interpolates_pathwise_and_score_function(key):
    params = jr.normal.init(loc=LOC, scale=SCALE)
    cv = jax.grad(jr.estimators.score_function_control_variate, argnums=1)
    args = (params, jr.normal, _sum_of_squares)
    for control_variate, other in (
        (_sum_of_squares, jr.estimators.pathwise),  # c = f: the pathwise gradient
        (lambda z: 0.0 * jnp.sum(z), jr.estimators.score_function),  # c = 0
    ):
        got = cv(
            jax.random.clone(key), *args, num_samples=3, control_variate=control_variate
        )
        want = jax.grad(other, argnums=1)(jax.random.clone(key), *args, num_samples=3)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_taylor_control_variate_variance_matches_closed_form(key):
    # f = z^2, c = mu^2 + 2 mu (z - mu): the loc gradient is sigma eps^3 + 2 mu,
    # of variance 15 sigma^2 (against 4 sigma^2 pathwise and
    # mu^4 / sigma^2 + 14 mu^2 + 15 sigma^2 for the score function).
    g_loc, g_scale = _gradient_draws(
        jr.estimators.score_function_control_variate, key, 0.7, 1.3, _square, 1
    )
    variance, standard_error = _variance_with_standard_error(g_loc)
    assert abs(variance - 15 * 1.3**2) < 5 * standard_error
    _assert_mean_within(g_scale, 2 * 1.3)


def test_control_variate_is_differentiable_in_what_it_closes_over(key):
    # The surrogate gives phi no gradient of its own, but the params' gradient
    # depends on phi: d/dphi of g_loc = mean_s (-dc/dphi) score_s + d/dphi dc/dz.
    params = jr.normal.init(loc=0.7, scale=1.3)

    def surrogate(phi, params):
        return jr.estimators.score_function_control_variate(
            jax.random.clone(key),
            params,
            jr.normal,
            _square,
            num_samples=8,
            control_variate=lambda z: phi * z**2,
        )

    assert jax.grad(surrogate)(0.5, params) == 0.0
    d_phi = jax.grad(lambda phi: jax.grad(surrogate, argnums=1)(phi, params).loc)
    z = jr.normal.sample(jax.random.clone(key), params, (8,))
    score = (z - 0.7) / 1.3**2
    np.testing.assert_allclose(
        d_phi(0.5), jnp.mean(-(z**2) * score + 2 * z), rtol=1e-4, atol=1e-5
    )


def test_control_variate_refusals(key):
    family = jr.normal._replace(reparameterized=False)
    with pytest.raises(ValueError, match="score_function"):
        jr.estimators.score_function_control_variate(
            key, jr.normal.init(), family, _square
        )
    # The Normal's functions up to `reparameterized`, no closed forms after it.
    no_mean = jr.Family(*jr.normal[: jr.Family._fields.index("entropy")])
    assert not no_mean.has("mean")
    with pytest.raises(ValueError, match="control_variate"):
        jr.estimators.score_function_control_variate(
            key, jr.normal.init(), no_mean, _square
        )


# --------------------------------------------------------------------------- #
# The measure-valued derivative.


def test_measure_valued_on_a_diagonal_gaussian_with_a_batch(key):
    # A multivariate normal with batch (2,) and event (3,): f sums over all six.
    loc = np.stack([LOC, -LOC])
    scale = np.stack([SCALE, 2 * SCALE])
    family = jr.multivariate_normal_diag

    def surrogate(key, loc, scale):
        params = family.init(loc=loc, scale_diag=scale)
        return jr.estimators.measure_valued(
            key, params, family, _sum_of_squares, num_samples=2
        )

    grad = jax.jit(jax.vmap(jax.grad(surrogate, argnums=(1, 2)), (0, None, None)))
    g_loc, g_scale = grad(jax.random.split(key, NUM_KEYS), loc, scale)
    assert g_loc.shape == (NUM_KEYS, 2, 3)
    _assert_mean_within(g_loc, 2 * loc)
    _assert_mean_within(g_scale, 2 * scale)


def test_measure_valued_value_is_an_unbiased_estimate(key):
    values = jax.jit(
        jax.vmap(
            lambda k: jr.estimators.measure_valued(
                k,
                jr.normal.init(loc=LOC, scale=SCALE),
                jr.normal,
                _sum_of_squares,
            )
        )
    )(jax.random.split(key, NUM_KEYS))
    _assert_mean_within(values, np.sum(LOC**2 + SCALE**2))


def test_measure_valued_broadcasts_a_scalar_scale(key):
    params = jr.distributions.NormalParams(jnp.asarray(LOC), jnp.float32(0.0))
    g = jax.grad(jr.estimators.measure_valued, argnums=1)(
        key, params, jr.normal, _sum_of_squares
    )
    assert g.loc.shape == (3,)
    assert g.log_scale.shape == ()  # summed over the batch, as broadcasting does


def test_measure_valued_refuses_other_families(key):
    with pytest.raises(ValueError, match="measure-valued"):
        jr.estimators.measure_valued(key, jr.laplace.init(), jr.laplace, _square)
