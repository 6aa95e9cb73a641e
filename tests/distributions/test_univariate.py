"""Univariate families against scipy.stats: densities, samples and gradients.

Statistical checks use fixed keys. The KS tests reject at p < 0.01, a stated 1%
false-positive rate per test for a correct sampler. Monte Carlo gradients must lie
within 5 standard errors of the reference, which is the central finite difference
(in float64) of scipy's closed-form moment or quadrature of ``E[f(z)]``: an
independent computation that shares no code with the library.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate

from tests.registry import CASES, FUNCTIONS, core_then_slow

UNIVARIATE = [name for name, case in CASES.items() if case.scipy is not None]
#: For the Monte Carlo checks and the comparisons with scipy (each compiles in
#: float64): ``registry.CORE`` in the default run, all when slow.
monte_carlo = pytest.mark.parametrize("case", core_then_slow(UNIVARIATE), indirect=True)
NUM_KS = 10_000
NUM_GRAD = 20_000


@pytest.fixture(params=UNIVARIATE)
def case(request):
    return CASES[request.param]


def first(case):
    """The first batch element of every natural value, as Python floats.

    A value with trailing non-batch axes (``case.params_event_ndims``: a mixture's
    component axis) keeps them, as a float64 array.
    """
    out = {}
    for k, v in case.natural.items():
        trailing = _trailing(case, k, v)
        value = np.reshape(v, (-1,) + trailing)[0]
        out[k] = np.array(value, np.float64) if trailing else float(value)
    return out


def _trailing(case, name, value):
    """The shape of the axes of ``value`` that are not batch axes."""
    ndims = dict(case.params_event_ndims).get(name, 0)
    return np.shape(value)[np.ndim(value) - ndims :]


def reference(case, nat=None):
    nat = case.natural if nat is None else nat
    return case.scipy(**nat)


@monte_carlo
def test_log_prob_matches_scipy(case):
    with jax.enable_x64(True):
        params = case.family.init(**case.natural)
        z = np.asarray(case.family.sample(jax.random.key(0), params, (50,)))
        expected = reference(case).logpdf(z)
        np.testing.assert_allclose(case.family.log_prob(params, z), expected, rtol=1e-9)


@monte_carlo
@pytest.mark.parametrize("closed_form", ["cdf", "icdf", "mean", "variance", "entropy"])
def test_closed_forms_match_scipy(case, closed_form):
    if not case.family.has(closed_form):
        pytest.skip(f"{case.family.name} has no closed-form {closed_form}")
    with jax.enable_x64(True):
        params = case.family.init(**case.natural)
        ref = reference(case)
        batch = case.family.batch_shape(params)
        if closed_form in ("cdf", "icdf"):
            u = np.linspace(0.05, 0.95, 7).reshape((7,) + (1,) * len(batch))
            z = ref.ppf(u)
            if closed_form == "cdf":
                got, want = case.family.cdf(params, z), ref.cdf(z)
            else:
                got, want = case.family.icdf(params, u), z
        else:
            scipy_name = {"mean": "mean", "variance": "var", "entropy": "entropy"}
            got = getattr(case.family, closed_form)(params)
            want = np.broadcast_to(getattr(ref, scipy_name[closed_form])(), batch)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@monte_carlo
@pytest.mark.parametrize("transform", ["eager", "jit"])
def test_samples_follow_the_cdf(case, transform):
    """One-sample KS test per batch element, p > 0.01 (1% false positives)."""
    params = case.family.init(**case.natural)
    sample = (
        case.family.sample
        if transform == "eager"
        else jax.jit(case.family.sample, static_argnums=2)
    )
    z = np.asarray(sample(jax.random.key(11), params, (NUM_KS,)), np.float64)
    batch = case.family.batch_shape(params)
    z = z.reshape(NUM_KS, -1)
    nat = {}
    for k, v in case.natural.items():
        trailing = _trailing(case, k, v)
        nat[k] = np.broadcast_to(v, batch + trailing).reshape((-1,) + trailing)
    for i in range(z.shape[1]):
        ref = case.scipy(**{k: v[i] for k, v in nat.items()})
        assert st.kstest(z[:, i], ref.cdf).pvalue > 0.01, i


@monte_carlo
def test_entropy_matches_monte_carlo(case):
    if not case.family.has("entropy"):
        pytest.skip("no closed-form entropy")
    with jax.enable_x64(True):
        params = case.family.init(**case.natural)
        z = case.family.sample(jax.random.key(12), params, (NUM_GRAD,))
        neg_lp = -np.asarray(case.family.log_prob(params, z))
        estimate = neg_lp.mean(0)
        se = neg_lp.std(0) / np.sqrt(NUM_GRAD)
        np.testing.assert_array_less(
            np.abs(estimate - case.family.entropy(params)), 5 * se + 1e-12
        )


def scipy_expectation(case, fn_name, nat):
    """``E[f(z)]`` from scipy: closed-form moments, or quadrature."""
    ref = case.scipy(**nat)
    if fn_name == "linear":
        return 2.0 * ref.mean() - 1.0
    if fn_name == "quadratic":
        return ref.var() + ref.mean() ** 2
    if fn_name == "sin" and tuple(ref.support()) == (-np.inf, np.inf):
        return _fourier_sin_expectation(ref)
    return ref.expect(FUNCTIONS[fn_name][1], epsabs=1e-13, epsrel=1e-12, limit=200)


def _fourier_sin_expectation(ref):
    """``E[sin z]`` on the whole line by QUADPACK's Fourier integrator (QAWF).

    Plain quadrature of an oscillating integrand over an infinite range fails on
    heavy tails (off by 1e-4 for a Cauchy). QAWF integrates ``pdf(z) sin(z)`` over
    ``[m, inf)`` cycle by cycle; split at the median ``m`` and reflect the left half.
    """
    m = ref.median()
    kw = {"weight": "sin", "wvar": 1.0, "epsabs": 1e-13, "limlst": 200}
    right = integrate.quad(ref.pdf, m, np.inf, **kw)[0]
    left = integrate.quad(lambda y: ref.pdf(-y), -m, np.inf, **kw)[0]
    return right - left


@monte_carlo
@pytest.mark.parametrize("fn_name", list(FUNCTIONS))
def test_pathwise_gradient_matches_reference(case, fn_name):
    """Monte Carlo ``grad E[f(z)]`` within 5 standard errors of the reference."""
    if fn_name not in case.test_functions:
        pytest.skip(f"E[{fn_name}] is not tested for {case.family.name}")
    nat = first(case)
    f = FUNCTIONS[fn_name][0]
    with jax.enable_x64(True):

        def per_sample(nat):
            params = case.family.init(**nat)
            return f(case.family.sample(jax.random.key(13), params, (NUM_GRAD,)))

        jac = jax.jacfwd(per_sample)({k: jnp.float64(v) for k, v in nat.items()})
    for name, value in nat.items():
        for index in np.ndindex(np.shape(value)):  # the one index () of a scalar
            g = np.asarray(jac[name])[(slice(None), *index)]
            h = 1e-5 * max(1.0, abs(np.asarray(value)[index]))
            up = scipy_expectation(case, fn_name, _bump(nat, name, index, h))
            down = scipy_expectation(case, fn_name, _bump(nat, name, index, -h))
            expected = (up - down) / (2 * h)
            se = g.std() / np.sqrt(NUM_GRAD)
            assert abs(g.mean() - expected) < 5 * se + 1e-6, (
                name,
                index,
                g.mean(),
                expected,
                se,
            )


def _bump(nat, name, index, h):
    """``nat`` with element ``index`` of ``nat[name]`` moved by ``h``."""
    value = np.array(nat[name], np.float64)
    value[index] += h
    return dict(nat, **{name: value if value.ndim else float(value)})
