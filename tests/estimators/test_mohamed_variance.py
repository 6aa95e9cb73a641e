"""Mohamed, Rosca, Figurnov and Mnih (2020), figures 2 and 3, reproduced.

The gradient of ``E_{N(z | mu, sigma^2)}[f(z; k)]`` at ``mu = sigma = 1`` (the
paper's setup) with respect to ``theta in {mu, sigma}``, for the costs
``(z - k)^2``, ``exp(-k z^2)`` and ``cos(k z)``. The figures plot, against ``k``,
the variance of the single-sample estimators: score function, score function
with variance reduction, pathwise, and measure-valued with coupling. Here each
library estimator's single-sample gradient is drawn ``NUM_DRAWS`` times (in
float64) and its sample variance is compared with the exact variance:

* in closed form for the quadratic (derived from Gaussian moments below, and
  checked against the quadrature), and
* by quadrature otherwise: Gauss-Legendre rules from scipy on ``[-12, 12]``
  (``[0, 12]`` for the Rayleigh; the truncated mass is below ``1e-30``), a
  product rule over the double-sided Maxwell and the uniform for the coupled
  measure-valued ``sigma`` estimator.

Tolerance: the sample variance ``s^2`` of ``n`` iid draws has sampling variance
``(mu_4 - v^2 (n - 3) / (n - 1)) / n``, with ``v`` and ``mu_4`` the exact second
and fourth central moments of the estimator, also computed by quadrature;
``s^2`` must lie within 5 of those standard deviations of ``v`` (plus ``1e-9``,
for the measure-valued ``mu`` estimator of ``(z - 1)^2``, whose variance is
exactly zero). The orderings the figures show are asserted both on the exact
values and on the measured ones, separated by 5 standard deviations.
"""

import functools
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import roots_legendre

import jaxreparam as jr

MU, SIGMA = 1.0, 1.0
NUM_DRAWS = 20_000
LIMIT = 12.0
SQRT_2PI = np.sqrt(2 * np.pi)

#: name -> (jax cost, numpy cost, numpy derivative), each ``(z, k)``.
COSTS = {
    "square": (
        lambda z, k: (z - k) ** 2,
        lambda z, k: (z - k) ** 2,
        lambda z, k: 2 * (z - k),
    ),
    "exp": (
        lambda z, k: jnp.exp(-k * z**2),
        lambda z, k: np.exp(-k * z**2),
        lambda z, k: -2 * k * z * np.exp(-k * z**2),
    ),
    "cos": (
        lambda z, k: jnp.cos(k * z),
        lambda z, k: np.cos(k * z),
        lambda z, k: -k * np.sin(k * z),
    ),
}
GRID = {
    "square": (-3.0, 0.0, 1.0, 3.0),
    "exp": (0.1, 1.0, 10.0),
    "cos": (0.1, 1.0, 10.0),
}
ESTIMATORS = ("pathwise", "score_function", "score_function_baseline", "measure_valued")
CASES = [(cost, k) for cost, ks in GRID.items() for k in ks]


# --------------------------------------------------------------------------- #
# The exact references.


@functools.cache
def _rule(low, high, n):
    nodes, weights = roots_legendre(n)
    half = 0.5 * (high - low)
    return low + half * (nodes + 1), half * weights


def _gauss(g):
    """``E g(eps)``, eps ~ N(0, 1), for vectorised ``g``."""
    x, w = _rule(-LIMIT, LIMIT, 1500)
    return np.sum(w * np.exp(-0.5 * x**2) / SQRT_2PI * g(x))


def _rayleigh(g):
    r, w = _rule(0.0, LIMIT, 1500)
    return np.sum(w * r * np.exp(-0.5 * r**2) * g(r))


def _maxwell_uniform(g):
    """``E g(m, u)``, m double-sided Maxwell and u ~ U(0, 1) independent."""
    m, wm = _rule(-LIMIT, LIMIT, 1500)
    u, wu = _rule(0.0, 1.0, 400)
    density = m**2 * np.exp(-0.5 * m**2) / SQRT_2PI
    return np.sum((wm * density)[:, None] * wu[None, :] * g(m[:, None], u[None, :]))


def _single_sample_gradients(cost, k):
    """name -> [(expectation, g) for mu, for sigma]: g's law under expectation."""
    _, f, df = COSTS[cost]
    expected_f = _gauss(lambda e: f(MU + SIGMA * e, k))

    def f_at(e):
        return f(MU + SIGMA * e, k)

    score_mu = lambda e: e / SIGMA
    score_sigma = lambda e: (e**2 - 1) / SIGMA
    return {
        "pathwise": [
            (_gauss, lambda e: df(MU + SIGMA * e, k)),
            (_gauss, lambda e: df(MU + SIGMA * e, k) * e),
        ],
        "score_function": [
            (_gauss, lambda e: f_at(e) * score_mu(e)),
            (_gauss, lambda e: f_at(e) * score_sigma(e)),
        ],
        "score_function_baseline": [
            (_gauss, lambda e: (f_at(e) - expected_f) * score_mu(e)),
            (_gauss, lambda e: (f_at(e) - expected_f) * score_sigma(e)),
        ],
        "measure_valued": [
            (
                _rayleigh,
                lambda r: (
                    (f(MU + SIGMA * r, k) - f(MU - SIGMA * r, k)) / (SIGMA * SQRT_2PI)
                ),
            ),
            (
                _maxwell_uniform,
                lambda m, u: (f(MU + SIGMA * m, k) - f(MU + SIGMA * m * u, k)) / SIGMA,
            ),
        ],
    }


def _centred_power(g, mean, power):
    return lambda *args: (g(*args) - mean) ** power


@functools.cache
def exact(cost, k):
    """name -> array [[mean, variance, mu_4] for mu, for sigma]; and E f."""
    out = {}
    for name, pair in _single_sample_gradients(cost, k).items():
        rows = []
        for expectation, g in pair:
            mean = expectation(g)
            rows.append(
                [mean]
                + [expectation(_centred_power(g, mean, power)) for power in (2, 4)]
            )
        out[name] = np.array(rows)
    _, f, _ = COSTS[cost]
    return out, _gauss(lambda e: f(MU + SIGMA * e, k))


def closed_form_variances(k):
    """The quadratic's variances, [mu, sigma], from Gaussian moments (a = mu - k).

    Pathwise ``2 (a + s e) (1, e)``; score function ``(a + s e)^2 (e, e^2 - 1) / s``;
    with the baseline ``E f = a^2 + s^2`` subtracted; measure-valued
    ``4 a R / sqrt(2 pi)`` (E R^2 = 2) and ``2 a M (1 - U) + s M^2 (1 - U^2)``
    (E M^2 = 3, E M^4 = 15).
    """
    a, s = MU - k, SIGMA
    return {
        "pathwise": [4 * s**2, 4 * a**2 + 8 * s**2],
        "score_function": [
            a**4 / s**2 + 14 * a**2 + 15 * s**2,
            2 * a**4 / s**2 + 60 * a**2 + 74 * s**2,
        ],
        "score_function_baseline": [8 * a**2 + 10 * s**2, 40 * a**2 + 56 * s**2],
        "measure_valued": [a**2 * (16 / np.pi - 4), 4 * a**2 + 4 * s**2],
    }


# --------------------------------------------------------------------------- #
# The library's draws.


def _estimator(name, baseline):
    if name == "score_function_baseline":
        return functools.partial(jr.estimators.score_function, baseline=baseline)
    return getattr(jr.estimators, name)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _draws(name, cost, key, k, baseline):
    f_jax = COSTS[cost][0]

    def surrogate(key, mu, sigma):
        params = jr.normal.init(loc=mu, scale=sigma)
        return _estimator(name, baseline)(key, params, jr.normal, lambda z: f_jax(z, k))

    grad = jax.vmap(jax.grad(surrogate, argnums=(1, 2)), (0, None, None))
    return grad(jax.random.split(key, NUM_DRAWS), jnp.float64(MU), jnp.float64(SIGMA))


@functools.cache
def measured(cost, k):
    """name -> (NUM_DRAWS, 2) float64 single-sample gradients (mu, sigma)."""
    _, expected_f = exact(cost, k)
    out = {}
    with jax.enable_x64(True):
        for name in ESTIMATORS:
            key = jax.random.key(zlib.crc32(f"{cost} {k} {name}".encode()))
            g_mu, g_sigma = _draws(name, cost, key, k, expected_f)
            out[name] = np.stack([np.asarray(g_mu), np.asarray(g_sigma)], axis=1)
    return out


def _variance_standard_error(variance, fourth, n=NUM_DRAWS):
    return np.sqrt(np.maximum(fourth - variance**2 * (n - 3) / (n - 1), 0.0) / n)


# --------------------------------------------------------------------------- #
# The references themselves.


@pytest.mark.parametrize("k", GRID["square"])
def test_quadrature_matches_the_closed_forms_for_the_quadratic(k):
    moments, _ = exact("square", k)
    for name, variances in closed_form_variances(k).items():
        np.testing.assert_allclose(
            moments[name][:, 1], variances, rtol=1e-9, atol=1e-12, err_msg=name
        )


@pytest.mark.parametrize(("cost", "k"), CASES)
def test_every_estimator_has_the_same_exact_mean(cost, k):
    # Unbiasedness at the level of the references: all four agree (with the
    # pathwise one, the derivative of the expectation).
    moments, _ = exact(cost, k)
    for name in ESTIMATORS:
        np.testing.assert_allclose(
            moments[name][:, 0], moments["pathwise"][:, 0], rtol=1e-8, atol=1e-10
        )


# --------------------------------------------------------------------------- #
# The library against them.


@pytest.mark.parametrize(("cost", "k"), CASES)
def test_single_sample_mean_and_variance_match_exact(cost, k):
    moments, _ = exact(cost, k)
    draws = measured(cost, k)
    for name in ESTIMATORS:
        mean, variance, fourth = moments[name].T
        sample_mean = draws[name].mean(axis=0)
        sample_variance = draws[name].var(axis=0, ddof=1)
        mean_se = np.sqrt(variance / NUM_DRAWS)
        np.testing.assert_array_less(
            np.abs(sample_mean - mean), 5 * mean_se + 1e-9, err_msg=f"mean {name}"
        )
        variance_se = _variance_standard_error(variance, fourth)
        np.testing.assert_array_less(
            np.abs(sample_variance - variance),
            5 * variance_se + 1e-9,
            err_msg=f"variance {name}",
        )


def _separated(low, high, cost, k):
    """Measured variance of ``low`` below that of ``high`` by 5 sd, both params."""
    moments, _ = exact(cost, k)
    draws = measured(cost, k)
    low_v, high_v = (draws[n].var(axis=0, ddof=1) for n in (low, high))
    low_se, high_se = (
        _variance_standard_error(moments[n][:, 1], moments[n][:, 2])
        for n in (low, high)
    )
    return np.all(low_v + 5 * low_se < high_v - 5 * high_se)


@pytest.mark.parametrize("k", GRID["square"])
def test_pathwise_far_below_score_function_for_the_quadratic(k):
    moments, _ = exact("square", k)
    # Exactly: at least 3.7 times lower (15 / 4 at k = 1, for mu).
    assert np.all(moments["score_function"][:, 1] > 3.7 * moments["pathwise"][:, 1])
    assert _separated("pathwise", "score_function", "square", k)


@pytest.mark.parametrize("cost", ["exp", "cos"])
def test_pathwise_above_score_function_at_large_k(cost):
    k = max(GRID[cost])
    moments, _ = exact(cost, k)
    assert np.all(moments["pathwise"][:, 1] > 10 * moments["score_function"][:, 1])
    assert _separated("score_function", "pathwise", cost, k)
    # ... while at small k the pathwise estimator is still the better one.
    small = exact(cost, min(GRID[cost]))[0]
    assert np.all(small["pathwise"][:, 1] < small["score_function"][:, 1])
    assert _separated("pathwise", "score_function", cost, min(GRID[cost]))
