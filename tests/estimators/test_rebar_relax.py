"""REBAR and RELAX: unbiasedness against enumeration, and their variance.

The toy problem of Tucker et al. (2017) and Grathwohl et al. (2018) is
``E[(b - t)^2]``, ``b ~ Bernoulli(theta)``, ``t = 0.45`` or ``0.499``; its exact
gradient with respect to the logit is ``theta (1 - theta) (1 - 2 t)``. Mean
gradients must lie within 5 standard errors of the exact ones (from
enumeration, also for the multivariate and categorical problems); variances are
compared with 5 standard errors of each sample variance between them, the
standard error from the sample fourth moment, ``sqrt((m4 - s^4 (n-3)/(n-1)) / n)``.

What the variance tests found, and assert: on the one-variable toy a constant
baseline is nearly perfect (the optimal one has zero variance), so REBAR at its
usual settings (temperature 0.5, eta 1, no baseline) is *noisier* than the score
function with a moving-average baseline; its reparameterization terms add
variance that no baseline can remove. With the control variate fitted by
minimising the variance (``relax_variance_loss``), RELAX (REBAR's term plus a
small network, as in Grathwohl et al.) and tuned REBAR both fall far below the
score function with a moving-average baseline (about 1e-6 against 3e-4; tuned
REBAR drives eta to zero and its baseline to the optimal constant, for which the
score function's variance vanishes here). Where the variables interact, the
relaxation itself pays: on ``(sum_d b_d - 0.45 D)^2 / D`` with ``D = 50``,
REBAR with a constant baseline beats the score function with one.
"""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreparam as jr

NUM_DRAWS = 20_000
THETA = 0.3  # the probability of 1 in the toy problem
LOGIT = float(np.log(THETA / (1 - THETA)))  # params in logits: gradients in logits
BERNOULLI = jr.bernoulli
CATEGORICAL = jr.categorical


def toy(t):
    return lambda b: (b - t) ** 2


def _mlp_control_variate(f):
    """RELAX's ``c(z) = eta f(sigmoid(z / temperature)) + MLP(z)``, 5 hidden units."""

    def control_variate(phi, z):
        relaxed = jax.nn.sigmoid(z / jnp.exp(phi["log_temperature"]))
        hidden = jnp.tanh(jnp.ravel(z)[:, None] * phi["w1"] + phi["b1"])
        return phi["eta"] * f(relaxed) + jnp.sum(hidden * phi["w2"]) + phi["b2"]

    return control_variate


def _mlp_params(key, size, scale):
    k1, k2 = jax.random.split(key)
    return {
        "log_temperature": jnp.log(jnp.float32(0.5)),
        "eta": jnp.float32(1.0),
        "w1": scale * jax.random.normal(k1, (size, 5)),
        "b1": jnp.zeros(5),
        "w2": scale * jax.random.normal(k2, (size, 5)),
        "b2": jnp.float32(0.0),
    }


def _gradient_draws(surrogate, key, params, num_draws=NUM_DRAWS):
    """``num_draws`` independent gradients (of the logits) of ``surrogate``."""
    grad = jax.grad(surrogate, argnums=1)
    draws = jax.jit(jax.vmap(grad, (0, None)))(jax.random.split(key, num_draws), params)
    return np.asarray(draws.logits, np.float64)


def _assert_unbiased(draws, exact):
    mean = draws.mean(0)
    standard_error = draws.std(0, ddof=1) / np.sqrt(draws.shape[0])
    assert np.all(standard_error > 0)
    np.testing.assert_array_less(np.abs(mean - np.asarray(exact)), 5 * standard_error)


def _variance(draws):
    """Mean over coordinates of the sample variance, and its standard error."""
    draws = draws.reshape(draws.shape[0], -1)
    n = draws.shape[0]
    variance = draws.var(0, ddof=1)
    m4 = np.mean((draws - draws.mean(0)) ** 4, axis=0)
    se = np.sqrt((m4 - variance**2 * (n - 3) / (n - 1)) / n)
    return variance.mean(), np.sqrt(np.sum(se**2)) / se.size


def _below(low, high):
    (a, sa), (b, sb) = low, high
    return a + 5 * sa < b - 5 * sb


# --------------------------------------------------------------------------- #
# Unbiasedness.


@pytest.mark.parametrize("t", [0.45, 0.499])
def test_toy_gradient_is_unbiased(key, t):
    params = jr.bernoulli.init(logits=jnp.float32(LOGIT))
    exact = THETA * (1 - THETA) * (1 - 2 * t)
    f = toy(t)
    relax = functools.partial(
        jr.estimators.relax,
        f=f,
        family=BERNOULLI,
        control_variate=_mlp_control_variate(f),
        control_params=_mlp_params(jax.random.key(1), 1, 0.5),
    )
    rebar = functools.partial(jr.estimators.rebar, f=f, family=BERNOULLI)
    keys = jax.random.split(key, 2)
    for k, surrogate in zip(keys, (rebar, relax), strict=True):
        _assert_unbiased(_gradient_draws(surrogate, k, params), exact)


def _interacting(b):
    return (jnp.sum(b) - 1.5) ** 2 + b[0] * b[3]


def _exact_bernoulli(f, logits):
    """``E f(b)`` by enumerating every outcome of independent Bernoullis."""
    p = jax.nn.sigmoid(logits)
    total = 0.0
    for bits in itertools.product((0.0, 1.0), repeat=logits.size):
        b = jnp.asarray(bits, logits.dtype)
        total = total + jnp.prod(jnp.where(b == 1, p, 1 - p)) * f(b)
    return total


def test_interacting_bernoullis_are_unbiased(key):
    logits = jnp.array([0.3, -1.2, 2.0, 0.0])
    params = jr.bernoulli.init(logits=logits)
    exact = jax.grad(functools.partial(_exact_bernoulli, _interacting))(logits)
    rebar = functools.partial(
        jr.estimators.rebar,
        f=_interacting,
        family=BERNOULLI,
        num_samples=3,
        temperature=0.3,
        baseline=1.0,
    )
    relax = functools.partial(
        jr.estimators.relax,
        f=_interacting,
        family=BERNOULLI,
        control_variate=_mlp_control_variate(_interacting),
        control_params=_mlp_params(jax.random.key(2), 4, 0.5),
    )
    keys = jax.random.split(key, 2)
    for k, surrogate in zip(keys, (rebar, relax), strict=True):
        _assert_unbiased(_gradient_draws(surrogate, k, params), exact)


VALUES = jnp.array([1.0, -2.0, 0.5, 3.0])


def _categorical_f(z):  # z: (2, 4), one-hot rows or points of the simplex
    scores = z @ VALUES
    return jnp.sum((scores - 0.5) ** 2) + scores[0] * scores[1]


@pytest.mark.slow
def test_categorical_is_unbiased(key):
    logits = jnp.array([[0.5, -1.0, 0.2, 1.1], [0.0, 1.5, -0.3, -2.0]])
    params = jr.categorical.init(logits=logits)

    def exact(logits):
        p = jax.nn.softmax(logits, -1)
        eye = jnp.eye(4)
        return sum(
            p[0, i] * p[1, j] * _categorical_f(jnp.stack([eye[i], eye[j]]))
            for i in range(4)
            for j in range(4)
        )

    def flat_control_variate(phi, z):
        return phi["eta"] * _categorical_f(
            jax.nn.softmax(z / jnp.exp(phi["log_temperature"]), -1)
        ) + jnp.sum(jnp.tanh(jnp.ravel(z)[:, None] * phi["w1"]) * phi["w2"])

    rebar = functools.partial(
        jr.estimators.rebar, f=_categorical_f, family=CATEGORICAL, baseline=5.0
    )
    relax = functools.partial(
        jr.estimators.relax,
        f=_categorical_f,
        family=CATEGORICAL,
        num_samples=2,
        control_variate=flat_control_variate,
        control_params=_mlp_params(jax.random.key(3), 8, 0.5),
    )
    keys = jax.random.split(key, 2)
    for k, surrogate in zip(keys, (rebar, relax), strict=True):
        _assert_unbiased(_gradient_draws(surrogate, k, params), jax.grad(exact)(logits))


def test_value_is_an_unbiased_estimate_of_the_expectation(key):
    params = jr.bernoulli.init(logits=jnp.float32(LOGIT))
    values = jax.jit(
        jax.vmap(lambda k: jr.estimators.rebar(k, params, BERNOULLI, toy(0.45)))
    )(jax.random.split(key, NUM_DRAWS))
    assert set(np.unique(np.round(np.asarray(values, np.float64), 6))) == {
        0.2025,
        0.3025,
    }
    expected = THETA * 0.55**2 + (1 - THETA) * 0.45**2
    _assert_unbiased(np.asarray(values, np.float64)[:, None], [expected])


# --------------------------------------------------------------------------- #
# The control variate's params and its variance objective.


def test_control_params_get_no_gradient_but_shape_the_estimate(key):
    params = jr.bernoulli.init(logits=jnp.array([0.3, -1.2, 2.0, 0.0]))
    control_variate = jr.estimators.rebar_control_variate(BERNOULLI, _interacting)
    control = jr.estimators.init_rebar(temperature=0.4, eta=0.8, baseline=0.5)

    def surrogate(key, params, control):
        return jr.estimators.relax(
            key,
            params,
            BERNOULLI,
            _interacting,
            control_variate=control_variate,
            control_params=control,
        )

    variance_loss = jax.jit(
        functools.partial(
            jr.estimators.relax_variance_loss,
            f=_interacting,
            family=BERNOULLI,
            control_variate=control_variate,
        ),
        static_argnames="num_samples",
    )
    grads = jax.jit(jax.grad(surrogate, argnums=(1, 2)))
    key_one, key_four = jax.random.split(key)
    g_direct, zero = grads(jax.random.clone(key_one), params, control)
    for leaf in jax.tree.leaves(zero):  # zero up to rounding (XLA fuses freely)
        np.testing.assert_allclose(leaf, 0.0, atol=1e-6)
    loss, g = variance_loss(key_one, params, control)
    np.testing.assert_allclose(g.logits, g_direct.logits, rtol=1e-6)
    np.testing.assert_allclose(loss, jnp.sum(g.logits**2), rtol=1e-6)
    # With several draws: the sample variance of single-draw gradients, one key each.
    keys = jax.random.split(jax.random.clone(key_four), 4)
    loss, g = variance_loss(key_four, params, control, num_samples=4)
    single = np.stack([grads(k, params, control)[0].logits for k in keys])
    np.testing.assert_allclose(g.logits, single.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss, single.var(0, ddof=1).sum(), rtol=1e-5)

    # The variance gradient against a central finite difference, in float64.
    with jax.enable_x64(True):
        params64 = jax.tree.map(lambda x: x.astype(jnp.float64), params)
        control64 = jax.tree.map(lambda x: x.astype(jnp.float64), control)

        def loss_of(control):
            return variance_loss(jax.random.key(5), params64, control)[0]

        grad = jax.grad(loss_of)(control64)
        for field in control64._fields:
            step = control64._replace(**{field: getattr(control64, field) + 1e-6})
            back = control64._replace(**{field: getattr(control64, field) - 1e-6})
            difference = (loss_of(step) - loss_of(back)) / 2e-6
            np.testing.assert_allclose(
                getattr(grad, field), difference, rtol=1e-5, atol=1e-8
            )


def test_relaxations_refuse_other_families(key):
    with pytest.raises(ValueError, match="no relaxation"):
        jr.estimators.rebar(key, jr.normal.init(), jr.normal, toy(0.45))


# --------------------------------------------------------------------------- #
# Variance.


def _fit_control(params, f, control_variate, control, key, steps=600):
    """Adam on ``relax_variance_loss`` (the sample variance of 16 single-draw
    gradients per step), in one jitted scan."""
    optimizer = optax.adam(optax.cosine_decay_schedule(1e-2, steps))

    @jax.jit
    def run(control, key):
        def step(carry, key):
            control, state = carry
            d_control, _ = jax.grad(
                jr.estimators.relax_variance_loss, argnums=2, has_aux=True
            )(
                key,
                params,
                control,
                BERNOULLI,
                f,
                control_variate=control_variate,
                num_samples=16,
            )
            updates, state = optimizer.update(d_control, state, control)
            return (optax.apply_updates(control, updates), state), None

        carry = (control, optimizer.init(control))
        return jax.lax.scan(step, carry, jax.random.split(key, steps))[0][0]

    return run(control, key)


def _moving_average_draws(params, f, key):
    """The score function with a moving-average baseline, warmed up for 500 steps."""
    warm_key, key = jax.random.split(key)
    grad = jax.grad(
        jr.estimators.score_function_moving_average, argnums=1, has_aux=True
    )

    def warm(state, key):
        return grad(key, params, state, BERNOULLI, f, decay=0.99)[1], None

    state, _ = jax.lax.scan(
        warm, jr.estimators.init_baseline(), jax.random.split(warm_key, 500)
    )

    def surrogate(key, params):
        return jr.estimators.score_function_moving_average(
            key, params, state, BERNOULLI, f, decay=0.99
        )[0]

    return _gradient_draws(surrogate, key, params)


@functools.cache
def _toy_moving_average_variance():
    params = jr.bernoulli.init(logits=jnp.float32(LOGIT))
    return _variance(_moving_average_draws(params, toy(0.45), jax.random.key(10)))


def test_untuned_rebar_is_noisier_than_the_moving_average_on_the_toy():
    # REBAR at temperature 0.5, eta 1 and no baseline: its reparameterization
    # terms add more variance than the relaxation removes (0.022 against 3e-4).
    params = jr.bernoulli.init(logits=jnp.float32(LOGIT))
    default = functools.partial(jr.estimators.rebar, f=toy(0.45), family=BERNOULLI)
    untuned = _variance(_gradient_draws(default, jax.random.key(11), params))
    assert _below(_toy_moving_average_variance(), untuned)


@pytest.mark.slow
def test_fitted_relax_and_rebar_below_the_moving_average_on_the_toy():
    f = toy(0.45)
    params = jr.bernoulli.init(logits=jnp.float32(LOGIT))
    keys = jax.random.split(jax.random.key(12), 4)
    relax_cv = _mlp_control_variate(f)
    relax_params = _fit_control(
        params, f, relax_cv, _mlp_params(jax.random.key(4), 1, 0.1), keys[0]
    )
    rebar_cv = jr.estimators.rebar_control_variate(BERNOULLI, f)
    rebar_params = _fit_control(
        params, f, rebar_cv, jr.estimators.init_rebar(), keys[1]
    )
    for k, control_variate, control_params in (
        (keys[2], relax_cv, relax_params),
        (keys[3], rebar_cv, rebar_params),
    ):
        surrogate = functools.partial(
            jr.estimators.relax,
            f=f,
            family=BERNOULLI,
            control_variate=control_variate,
            control_params=control_params,
        )
        fitted = _variance(_gradient_draws(surrogate, k, params))
        assert _below(fitted, _toy_moving_average_variance())


def test_rebar_beats_the_score_function_when_variables_interact(key):
    size, t, temperature = 50, 0.45, 0.3

    def f(b):
        return (jnp.sum(b) - t * size) ** 2 / size

    params = jr.bernoulli.init(logits=jnp.full(size, LOGIT))
    # Constant baselines from independent draws: E f(b) for the score function,
    # E f(b) - E f(sigmoid(z / temperature)) for REBAR (z~ has the law of z).
    k_b, k_z, k_sf, k_rebar = jax.random.split(key, 4)
    b = jr.bernoulli.sample(k_b, params, (NUM_DRAWS,))
    z = params.logits + jax.random.logistic(k_z, (NUM_DRAWS, size))
    mean_f = float(jnp.mean(jax.vmap(f)(b)))
    gap = mean_f - float(jnp.mean(jax.vmap(f)(jax.nn.sigmoid(z / temperature))))
    score = functools.partial(
        jr.estimators.score_function, f=f, family=BERNOULLI, baseline=mean_f
    )
    rebar = functools.partial(
        jr.estimators.rebar,
        f=f,
        family=BERNOULLI,
        temperature=temperature,
        baseline=gap,
    )
    score_draws = _gradient_draws(score, k_sf, params, 5000)
    rebar_draws = _gradient_draws(rebar, k_rebar, params, 5000)

    def expected(logits):  # E f = (Var S + (E S - t D)^2) / D, S = sum_d b_d
        p = jax.nn.sigmoid(logits)
        return (jnp.sum(p * (1 - p)) + (jnp.sum(p) - t * size) ** 2) / size

    exact = jax.grad(expected)(params.logits)
    _assert_unbiased(rebar_draws, exact)
    _assert_unbiased(score_draws, exact)
    assert _below(_variance(rebar_draws), _variance(score_draws))
