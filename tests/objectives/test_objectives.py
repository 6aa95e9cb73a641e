"""Tests of the variational objectives (``jaxreparam.objectives``).

The model is conjugate and Gaussian in ``D = 3`` independent coordinates:
``z_d ~ N(mu0_d, s0_d^2)``, ``x_d | z_d ~ N(z_d, s_d^2)``. Its posterior is
Gaussian, ``log p(x)`` is ``sum_d log N(x_d; mu0_d, s0_d^2 + s_d^2)``, and the
ELBO of a Gaussian ``q = N(m, v)`` and its gradient are in closed form. Every
mean is checked within 5 standard errors of independent draws (fixed keys).
"""

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxreparam as jr
from tests.registry import CASES, slow_except

NUM_KEYS = 4000
PRIOR_LOC = np.array([0.5, -1.0, 0.0])
PRIOR_SCALE = np.array([1.0, 0.8, 1.5])
NOISE = np.array([0.7, 1.2, 1.0])
X = np.array([1.3, -0.2, 2.1])
POSTERIOR_PRECISION = 1 / PRIOR_SCALE**2 + 1 / NOISE**2
POSTERIOR_LOC = (PRIOR_LOC / PRIOR_SCALE**2 + X / NOISE**2) / POSTERIOR_PRECISION
POSTERIOR_SCALE = POSTERIOR_PRECISION**-0.5
LOG_EVIDENCE = stats.norm.logpdf(X, PRIOR_LOC, np.hypot(PRIOR_SCALE, NOISE)).sum()
# A q away from the posterior, in both loc and scale.
Q_LOC = POSTERIOR_LOC + np.array([0.4, -0.3, 0.2])
Q_SCALE = POSTERIOR_SCALE * np.array([1.3, 0.8, 1.1])

FAMILY = jr.normal
PRIOR = jr.normal.init(
    loc=jnp.asarray(PRIOR_LOC, jnp.float32), scale=jnp.asarray(PRIOR_SCALE, jnp.float32)
)


def _f32(a):
    return jnp.asarray(a, jnp.float32)


def log_likelihood(z):
    return jnp.sum(jr.normal.log_prob(jr.normal.init(loc=z, scale=_f32(NOISE)), X))


def log_joint(z):
    return jnp.sum(jr.normal.log_prob(PRIOR, z)) + log_likelihood(z)


def _params(loc, scale):
    return jr.normal.init(loc=_f32(loc), scale=_f32(scale))


def elbo_closed_form(loc, scale):
    """The ELBO of q = N(loc, scale^2) and its gradient w.r.t. (loc, log_scale)."""
    v = scale**2
    value = np.sum(
        stats.norm.logpdf(loc, PRIOR_LOC, PRIOR_SCALE)
        - v / (2 * PRIOR_SCALE**2)
        + stats.norm.logpdf(X, loc, NOISE)
        - v / (2 * NOISE**2)
        + 0.5 * np.log(2 * np.pi * np.e * v)
    )
    d_loc = -(loc - PRIOR_LOC) / PRIOR_SCALE**2 + (X - loc) / NOISE**2
    d_log_scale = 1 - v * POSTERIOR_PRECISION
    return value, d_loc, d_log_scale


def _draws(objective, key, params, num_keys=NUM_KEYS):
    """Values and gradients of ``objective(key, params)`` under independent keys."""
    value_and_grad = jax.jit(
        jax.vmap(jax.value_and_grad(objective, argnums=1), (0, None))
    )
    values, grads = value_and_grad(jax.random.split(key, num_keys), params)
    return np.asarray(values, np.float64), jax.tree.map(
        lambda a: np.asarray(a, np.float64), grads
    )


def _assert_mean_within(draws, expected, k=5.0):
    mean = draws.mean(axis=0)
    error = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    assert np.all(error > 0)
    np.testing.assert_array_less(np.abs(mean - expected), k * error)


ELBO_VARIANTS = {  # name -> (options, num_samples)
    "mc-pathwise": ({}, 1),
    "mc-pathwise-3": ({}, 3),
    "mc-score": ({"estimator": jr.estimators.score_function}, 3),
    "mc-score-stl": (
        {"estimator": jr.estimators.score_function, "gradient": "stl"},
        2,
    ),
    "kl-pathwise": ({"prior": PRIOR}, 1),
    "kl-score": ({"prior": PRIOR, "estimator": jr.estimators.score_function}, 3),
    "entropy-pathwise": ({"entropy": "analytic"}, 1),
    "entropy-score-loo": (
        {
            "entropy": "analytic",
            "estimator": jr.estimators.score_function_leave_one_out,
        },
        4,
    ),
    "entropy-score-cv": (
        {
            "entropy": "analytic",
            "estimator": jr.estimators.score_function_control_variate,
        },
        2,
    ),
}


@pytest.mark.parametrize("variant", list(ELBO_VARIANTS))
def test_elbo_value_and_gradient_match_closed_form(key, variant):
    options, num_samples = ELBO_VARIANTS[variant]
    target = log_likelihood if "prior" in options else log_joint
    objective = functools.partial(
        jr.objectives.elbo,
        family=FAMILY,
        log_target=target,
        num_samples=num_samples,
        **options,
    )
    values, grads = _draws(objective, key, _params(Q_LOC, Q_SCALE))
    value, d_loc, d_log_scale = elbo_closed_form(Q_LOC, Q_SCALE)
    _assert_mean_within(values, value)
    _assert_mean_within(grads.loc, d_loc)
    _assert_mean_within(grads.log_scale, d_log_scale)


def test_analytic_kl_lowers_the_variance_of_the_value(key):
    keys = jax.random.split(key)
    params = _params(Q_LOC, Q_SCALE)
    mc, _ = _draws(
        functools.partial(jr.objectives.elbo, family=FAMILY, log_target=log_joint),
        keys[0],
        params,
    )
    analytic, _ = _draws(
        functools.partial(
            jr.objectives.elbo, family=FAMILY, log_target=log_likelihood, prior=PRIOR
        ),
        keys[1],
        params,
    )
    assert analytic.var() < mc.var()


@pytest.mark.parametrize("estimator", ["pathwise", "score_function"])
def test_iwae_and_renyi_at_one_sample_equal_the_elbo(key, estimator):
    estimator = getattr(jr.estimators, estimator)
    params = _params(Q_LOC, Q_SCALE)

    def run(objective, **options):
        def value(params):
            return objective(
                jax.random.clone(key),
                params,
                FAMILY,
                log_joint,
                estimator=estimator,
                **options,
            )

        return jax.value_and_grad(value)(params)

    elbo = run(jr.objectives.elbo)
    for other in (
        run(jr.objectives.iwae),
        run(jr.objectives.renyi_bound, alpha=0.5),
        run(jr.objectives.renyi_bound, alpha=1.0),
    ):
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5),
            other,
            elbo,
        )


def _generic_pathwise(*args, **kwargs):
    """``estimators.pathwise`` under another name: the objectives' generic path."""
    return jr.estimators.pathwise(*args, **kwargs)


FUSED_CASES = {  # name -> (objective, options)
    "elbo-1": (jr.objectives.elbo, {}),
    "elbo-4": (jr.objectives.elbo, {"num_samples": 4}),
    "iwae-1": (jr.objectives.iwae, {}),
    "iwae-5x3": (jr.objectives.iwae, {"num_samples": 5, "num_estimates": 3}),
    "iwae-1x2": (jr.objectives.iwae, {"num_estimates": 2}),
    "renyi-4": (jr.objectives.renyi_bound, {"alpha": 0.5, "num_samples": 4}),
}


FUSED_PAIRS = [
    (name, family_name)
    for family_name in ("normal", "multivariate_normal_tril")
    for name in FUSED_CASES
]


@pytest.mark.parametrize(
    ("name", "family_name"),
    slow_except(
        FUSED_PAIRS,
        {"elbo-4-normal"},
        ids=[f"{name}-{family_name}" for name, family_name in FUSED_PAIRS],
    ),
)
def test_fused_pathwise_equals_the_estimator_path(key, name, family_name):
    """With estimators.pathwise the bounds take log q from sample_and_log_prob;
    value and gradient equal the generic path's (sample, then log_prob) in
    float64, for a batch of Normals and a batch of full-covariance Gaussians."""
    objective, options = FUSED_CASES[name]
    with jax.enable_x64(True):
        if family_name == "normal":
            family, params = FAMILY, jr.normal.init(loc=Q_LOC, scale=Q_SCALE)
        else:
            family = jr.multivariate_normal_tril
            lower = np.tril(np.full((3, 3), 0.2)) + np.diag(Q_SCALE)
            params = family.init(loc=np.stack([Q_LOC, -Q_LOC]), scale_tril=lower)

        def run(estimator):
            def value(params):
                return objective(
                    jax.random.clone(key),
                    params,
                    family,
                    lambda z: log_joint(jnp.sum(z, axis=tuple(range(z.ndim - 1)))),
                    estimator=estimator,
                    **options,
                )

            return jax.value_and_grad(value)(params)

        fused, generic = run(jr.estimators.pathwise), run(_generic_pathwise)
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12),
            fused,
            generic,
        )


#: The families of the default run; the others (about 4 CPU-minutes) run as slow.
FUSED_DEFAULT = ("normal",)


@pytest.mark.parametrize(
    "case_name",
    [
        pytest.param(n, marks=() if n in FUSED_DEFAULT else pytest.mark.slow)
        for n, c in CASES.items()
        if c.family.reparameterized
    ],
)
def test_fused_pathwise_equals_the_estimator_path_for_every_family(key, case_name):
    """Every reparameterized family's sample_and_log_prob gives the bounds the
    value and gradient of sample-then-log_prob (float64, IWAE with K = 3)."""
    case = CASES[case_name]
    with jax.enable_x64(True):
        params = case.family.init(**case.natural)

        def run(estimator):
            def value(params):
                return jr.objectives.iwae(
                    jax.random.clone(key),
                    params,
                    case.family,
                    lambda z: -0.5 * jnp.sum(jnp.sin(z) ** 2),
                    estimator=estimator,
                    num_samples=3,
                )

            return jax.value_and_grad(value)(params)

        fused, generic = run(jr.estimators.pathwise), run(_generic_pathwise)
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10),
            fused,
            generic,
        )


def test_fused_pathwise_refuses_a_discrete_family(key):
    params = jr.bernoulli.init(probs=0.3)
    for objective in (jr.objectives.elbo, jr.objectives.iwae):
        with pytest.raises(ValueError, match="not reparameterized"):
            objective(key, params, jr.bernoulli, lambda z: -(z**2))


def test_renyi_bound_at_alpha_one_is_the_mean_elbo(key):
    # K draws inside renyi(alpha=1) are the K draws elbo(num_samples=K) averages.
    params = _params(Q_LOC, Q_SCALE)
    renyi = jr.objectives.renyi_bound(
        jax.random.clone(key), params, FAMILY, log_joint, alpha=1.0, num_samples=7
    )
    elbo = jr.objectives.elbo(key, params, FAMILY, log_joint, num_samples=7)
    np.testing.assert_allclose(renyi, elbo, rtol=1e-6)


def test_renyi_bound_falls_with_alpha_draw_by_draw(key):
    # For the same draws, the power mean (1/K sum w^(1-alpha))^(1/(1-alpha)) rises
    # with 1 - alpha: IWAE (alpha 0) >= alpha 0.5 >= ELBO (alpha 1) >= alpha 2.
    params = _params(Q_LOC, Q_SCALE)

    def values(alpha):
        bound = functools.partial(
            jr.objectives.renyi_bound,
            params=params,
            family=FAMILY,
            log_target=log_joint,
            alpha=alpha,
            num_samples=5,
        )
        return jax.jit(jax.vmap(bound))(jax.random.split(jax.random.clone(key), 200))

    ordered = [values(alpha) for alpha in (0.0, 0.5, 1.0, 2.0)]
    for high, low in zip(ordered, ordered[1:], strict=False):
        assert np.all(np.asarray(high) >= np.asarray(low) - 1e-5)
        assert np.mean(np.asarray(high) - np.asarray(low)) > 0.01


def test_iwae_rises_with_k_towards_log_evidence(key):
    # E[L_K] rises with K to log p(x); the gap falls like Var(w / p(x)) / (2K).
    # Every K uses the same keys, so the rises are judged on paired differences
    # (with jax's threefry the K draws are even the first K of the larger sets).
    params = _params(Q_LOC, Q_SCALE)
    keys = jax.random.split(key, 4000)
    ks = (1, 3, 10, 30, 100)

    @functools.partial(jax.jit, static_argnums=0)
    def bounds(k, keys):
        bound = functools.partial(
            jr.objectives.iwae,
            params=params,
            family=FAMILY,
            log_target=log_joint,
            num_samples=k,
        )
        return jax.vmap(bound)(keys)

    draws = np.stack([np.asarray(bounds(k, jax.random.clone(keys))) for k in ks])
    draws = draws.astype(np.float64)
    rises = np.diff(draws, axis=0)
    z = rises.mean(axis=1) / (rises.std(axis=1, ddof=1) / np.sqrt(keys.shape[0]))
    assert np.all(z > 5.0), z
    means = draws.mean(axis=1)
    errors = draws.std(axis=1, ddof=1) / np.sqrt(keys.shape[0])
    assert np.all(means < LOG_EVIDENCE + 5 * errors)
    gaps = LOG_EVIDENCE - means
    assert gaps[-1] < gaps[0] / 10, gaps


@pytest.mark.parametrize("estimator", ["pathwise", "score_function"])
@pytest.mark.parametrize(("name", "alpha"), [("iwae", 0.0), ("renyi", 0.5)])
def test_bounds_are_stationary_at_the_posterior(key, estimator, name, alpha):
    # At q = p(z | x) every weight is p(x): each bound equals log p(x), its
    # maximum, so the mean gradient is zero while single draws are not.
    estimator = getattr(jr.estimators, estimator)
    objective = functools.partial(
        jr.objectives.renyi_bound,
        family=FAMILY,
        log_target=log_joint,
        alpha=alpha,
        num_samples=4,
        estimator=estimator,
    )
    values, grads = _draws(objective, key, _params(POSTERIOR_LOC, POSTERIOR_SCALE))
    np.testing.assert_allclose(values, LOG_EVIDENCE, atol=1e-4)
    for leaf in jax.tree.leaves(grads):
        assert np.all(leaf.std(axis=0) > 0.1)
        _assert_mean_within(leaf, 0.0)


@pytest.mark.parametrize(("name", "alpha"), [("iwae", 0.0), ("renyi", 0.5)])
def test_pathwise_and_score_function_bounds_agree_in_mean(key, name, alpha):
    # Off the posterior the K = 4 gradients have no closed form, but the two
    # estimators are unbiased for the same one.
    keys = jax.random.split(key)
    means, errors = [], []
    for estimator, subkey in zip(
        (jr.estimators.pathwise, jr.estimators.score_function), keys, strict=True
    ):
        objective = functools.partial(
            jr.objectives.renyi_bound,
            family=FAMILY,
            log_target=log_joint,
            alpha=alpha,
            num_samples=4,
            estimator=estimator,
        )
        _, grads = _draws(objective, subkey, _params(Q_LOC, Q_SCALE), 8000)
        flat = np.concatenate([grads.loc, grads.log_scale], axis=1)
        means.append(flat.mean(axis=0))
        errors.append(flat.std(axis=0, ddof=1) / np.sqrt(flat.shape[0]))
    z = (means[0] - means[1]) / np.hypot(*errors)
    np.testing.assert_array_less(np.abs(z), 5.0)


@pytest.mark.parametrize(
    "make",
    slow_except(
        [
            lambda: jr.objectives.make_elbo_loss(FAMILY, log_joint, num_samples=3),
            lambda: jr.objectives.make_elbo_loss(FAMILY, log_likelihood, prior=PRIOR),
            lambda: jr.objectives.make_iwae_loss(
                FAMILY, log_joint, num_samples=5, gradient="dreg"
            ),
            lambda: jr.objectives.make_renyi_loss(
                FAMILY, log_joint, alpha=0.5, num_samples=5, num_estimates=2
            ),
        ],
        {"iwae-dreg"},
        ids=["elbo", "elbo-kl", "iwae-dreg", "renyi"],
    ),
)
def test_factories_are_negated_objectives_and_jit(key, make):
    loss = make()
    params = _params(Q_LOC, Q_SCALE)
    eager = jax.value_and_grad(loss, argnums=1)(jax.random.clone(key), params)
    jitted = jax.jit(jax.value_and_grad(loss, argnums=1))(key, params)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5),
        eager,
        jitted,
    )
    # A loss: minimised, so above -log p(x) in expectation.
    assert float(eager[0]) > -LOG_EVIDENCE - 5.0


def test_factory_loss_is_the_negated_objective(key):
    params = _params(Q_LOC, Q_SCALE)
    loss = jr.objectives.make_iwae_loss(FAMILY, log_joint, num_samples=4)
    value = jr.objectives.iwae(
        jax.random.clone(key), params, FAMILY, log_joint, num_samples=4
    )
    np.testing.assert_allclose(loss(key, params), -value, rtol=1e-6)


def test_multivariate_family_with_analytic_kl(key):
    # A diagonal multivariate normal has an event shape; its KL to a prior of
    # the same type is registered.
    family = jr.multivariate_normal_diag
    q = family.init(loc=_f32(Q_LOC), scale_diag=_f32(Q_SCALE))
    prior = family.init(loc=_f32(PRIOR_LOC), scale_diag=_f32(PRIOR_SCALE))
    objective = functools.partial(
        jr.objectives.elbo, family=family, log_target=log_likelihood, prior=prior
    )
    values, grads = _draws(objective, key, q)
    value, d_loc, _ = elbo_closed_form(Q_LOC, Q_SCALE)
    _assert_mean_within(values, value)
    _assert_mean_within(grads.loc, d_loc)


# --------------------------------------------------------------------------- #
# Amortized inference: an encoder MLP, vmap over data points == a Python loop.


def _mlp_init(key, sizes):
    layers = []
    for subkey, (n_in, n_out) in zip(
        jax.random.split(key, len(sizes) - 1),
        zip(sizes, sizes[1:], strict=False),
        strict=True,
    ):
        w = jax.random.normal(subkey, (n_in, n_out)) / np.sqrt(n_in)
        layers.append((w, jnp.zeros(n_out)))
    return layers


def _mlp(layers, x):
    for w, b in layers[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = layers[-1]
    return x @ w + b


LATENT = 2
DATA = 4


def encoder(params, x):
    out = _mlp(params["encoder"], x)
    return jr.distributions.NormalParams(out[:LATENT], out[LATENT:] - 1.0)


def amortized_log_likelihood(params, x, z):
    w, b = params["decoder"]
    return jnp.sum(jr.normal.log_prob(jr.distributions.NormalParams(z @ w + b, 0.0), x))


def amortized_log_joint(params, x, z):
    log_prior = jnp.sum(jr.normal.log_prob(jr.distributions.NormalParams(0.0, 0.0), z))
    return log_prior + amortized_log_likelihood(params, x, z)


AMORTIZED = {
    "elbo": (jr.objectives.elbo, {"num_samples": 2}),
    "elbo-kl": (jr.objectives.elbo, {"prior": jr.distributions.NormalParams(0.0, 0.0)}),
    "elbo-score": (
        jr.objectives.elbo,
        {"num_samples": 2, "estimator": jr.estimators.score_function},
    ),
    "iwae-dreg": (jr.objectives.iwae, {"num_samples": 5, "gradient": "dreg"}),
    "renyi-dreg": (
        jr.objectives.renyi_bound,
        {"alpha": 0.5, "num_samples": 5, "num_estimates": 2, "gradient": "dreg"},
    ),
}


@pytest.mark.parametrize("name", slow_except(list(AMORTIZED), {"iwae-dreg"}))
def test_amortized_vmap_matches_a_loop(key, name):
    objective, options = AMORTIZED[name]
    init_key, data_key, key = jax.random.split(key, 3)
    params = {
        "encoder": _mlp_init(init_key, [DATA, 8, 2 * LATENT]),
        "decoder": (jnp.ones((LATENT, DATA)) * 0.3, jnp.zeros(DATA)),
    }
    data = jax.random.normal(data_key, (6, DATA))
    log_joint_fn = (
        amortized_log_likelihood if "prior" in options else amortized_log_joint
    )
    loss = jr.objectives.make_amortized_loss(
        objective, FAMILY, encoder, log_joint_fn, **options
    )
    value, grads = jax.jit(jax.value_and_grad(loss, argnums=1))(
        jax.random.clone(key), params, data
    )

    def one(params, key, x):
        return objective(
            key,
            encoder(params, x),
            FAMILY,
            lambda z: log_joint_fn(params, x, z),
            **options,
        )

    keys = jax.random.split(key, data.shape[0])
    one_value_and_grad = jax.jit(jax.value_and_grad(one))
    loop_values, loop_grads = [], []
    for i in range(data.shape[0]):
        v, g = one_value_and_grad(params, keys[i], data[i])
        loop_values.append(v)
        loop_grads.append(g)
    np.testing.assert_allclose(value, -np.mean(loop_values), rtol=1e-5, atol=1e-5)
    mean_grads = jax.tree.map(lambda *g: -sum(g) / len(g), *loop_grads)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
        grads,
        mean_grads,
    )
    for leaf in jax.tree.leaves(grads):
        assert np.all(np.isfinite(leaf))


def test_amortized_loss_checks_the_batch_axis(key):
    loss = jr.objectives.make_amortized_loss(
        jr.objectives.elbo, FAMILY, encoder, amortized_log_joint
    )
    params = {"encoder": _mlp_init(key, [DATA, 2 * LATENT]), "decoder": None}
    with pytest.raises(ValueError, match="leading"):
        loss(
            jax.random.clone(key), params, {"a": jnp.ones((3, DATA)), "b": jnp.ones(2)}
        )


# --------------------------------------------------------------------------- #
# Arguments.

OBJECTIVES = [jr.objectives.elbo, jr.objectives.iwae, jr.objectives.renyi_bound]


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda f: f.__name__)
def test_signature_is_key_params_family_log_target_then_options(objective):
    parameters = list(inspect.signature(objective).parameters.values())
    assert [p.name for p in parameters[:4]] == ["key", "params", "family", "log_target"]
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters[4:])


def _call(objective, key, **options):
    if objective is jr.objectives.renyi_bound:
        options.setdefault("alpha", 0.5)
    options.setdefault("family", FAMILY)
    options.setdefault("log_target", log_joint)
    family = options.pop("family")
    log_target = options.pop("log_target")
    return objective(key, _params(Q_LOC, Q_SCALE), family, log_target, **options)


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"family": jr.normal.init()}, TypeError, "Family"),  # params, not q
        ({"log_target": 1.0}, TypeError, "log_target"),
        ({"estimator": "pathwise"}, TypeError, "estimator"),
        ({"num_samples": 0}, ValueError, "num_samples"),
        ({"num_samples": 2.0}, TypeError, "num_samples"),
        ({"gradient": "reinforce"}, ValueError, "gradient"),
        ({"log_target": lambda z: z}, ValueError, "scalar"),
    ],
)
def test_bad_arguments_raise(key, objective, options, error, match):
    with pytest.raises(error, match=match):
        _call(objective, key, **options)


def test_option_errors_of_the_bounds(key):
    keys = jax.random.split(key, 5)
    with pytest.raises(ValueError, match="num_estimates"):
        _call(jr.objectives.iwae, keys[0], num_estimates=0)
    with pytest.raises(TypeError, match="alpha"):
        _call(jr.objectives.renyi_bound, keys[1], alpha=jnp.float32(0.5))
    with pytest.raises(ValueError, match="alpha"):
        _call(jr.objectives.renyi_bound, keys[2], alpha=float("nan"))
    with pytest.raises(ValueError, match="own pathwise"):
        _call(
            jr.objectives.iwae,
            keys[3],
            gradient="dreg",
            estimator=jr.estimators.score_function,
        )
    with pytest.raises(ValueError, match="gradient"):
        _call(jr.objectives.elbo, keys[4], gradient="dreg")


def test_elbo_prior_errors(key):
    keys = jax.random.split(key, 3)
    params = _params(Q_LOC, Q_SCALE)
    with pytest.raises(ValueError, match="stl"):
        jr.objectives.elbo(
            keys[0], params, FAMILY, log_likelihood, prior=PRIOR, gradient="stl"
        )
    with pytest.raises(NotImplementedError, match="NormalParams"):
        jr.objectives.elbo(
            keys[1],
            params,
            FAMILY,
            log_likelihood,
            prior=jr.laplace.init(loc=0.0, scale=1.0),
        )
    wide = jr.normal.init(loc=jnp.zeros((2, 3)), scale=1.0)
    with pytest.raises(ValueError, match="batch shape"):
        jr.objectives.elbo(keys[2], params, FAMILY, log_likelihood, prior=wide)


def test_elbo_closed_form_term_errors(key):
    keys = jax.random.split(key, 3)
    params = _params(Q_LOC, Q_SCALE)
    with pytest.raises(ValueError, match="stl"):
        jr.objectives.elbo(
            keys[0], params, FAMILY, log_joint, entropy="analytic", gradient="stl"
        )
    with pytest.raises(ValueError, match="entropy included"):
        jr.objectives.elbo(
            keys[1], params, FAMILY, log_likelihood, prior=PRIOR, entropy="analytic"
        )
    with pytest.raises(ValueError, match="entropy"):
        jr.objectives.elbo(keys[2], params, FAMILY, log_joint, entropy="exact")


def test_factories_check_options_up_front():
    with pytest.raises(TypeError, match="unexpected"):
        jr.objectives.make_iwae_loss(FAMILY, log_joint, num_sample=3)
    with pytest.raises(ValueError, match="num_samples"):
        jr.objectives.make_elbo_loss(FAMILY, log_joint, num_samples=0)
    with pytest.raises(ValueError, match="gradient"):
        jr.objectives.make_elbo_loss(FAMILY, log_joint, gradient="dreg")
    with pytest.raises(TypeError, match="alpha"):
        jr.objectives.make_renyi_loss(FAMILY, log_joint)
    with pytest.raises(TypeError, match="Family"):
        jr.objectives.make_iwae_loss(jr.normal.init(), log_joint)
    with pytest.raises(ValueError, match="entropy"):
        jr.objectives.make_elbo_loss(FAMILY, log_joint, entropy="closed")


def test_batched_key_is_refused(key):
    keys = jax.random.split(key, 2)
    with pytest.raises(ValueError, match="vmap"):
        jr.objectives.iwae(keys, _params(Q_LOC, Q_SCALE), FAMILY, log_joint)
