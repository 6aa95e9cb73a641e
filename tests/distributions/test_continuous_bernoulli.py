"""The continuous Bernoulli family: its registry case and what is particular to it.

``CASE`` puts it under the contract (``test_contract.py``) and the scipy checks
(``test_univariate.py``: KS test, density, CDF, quantiles, moments, entropy,
gradients of ``E[f(z)]``) against ``continuous_bernoulli_reference``, a scipy
distribution written here from the paper's formulas in ``lam`` (scipy has none).
The references below share no code with the library: the paper's density and
CDF in ``lam``, ``expm1`` forms in float64, and 60-digit ``decimal`` arithmetic.
"""

from decimal import Decimal, localcontext

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from jax.experimental import checkify
from scipy import integrate, special

import jaxreparam as jr
from jaxreparam.distributions import _continuous_bernoulli
from tests.distributions.case import Case, floats

cb = jr.continuous_bernoulli


class _ContinuousBernoulliReference(st.rv_continuous):
    """Continuous Bernoulli(lam = expit(logits)) from the paper's formulas.

    Density ``C(lam) lam^x (1 - lam)^(1 - x)`` with
    ``C = 2 artanh(d) / d``, ``d = 1 - 2 lam`` (``= -tanh(logits / 2)``), CDF
    ``(lam^x (1 - lam)^(1 - x) + lam - 1) / (2 lam - 1)``, quantile
    ``log1p(q (2 lam - 1) / (1 - lam)) / log(lam / (1 - lam))`` (the uniform at
    ``lam = 1/2``); moments and entropy by scipy's generic quadrature.

    The log-density is written ``x log1p(-d) + (1 - x) log1p(d) + log(C / 2)``
    (``2 lam = 1 - d``), with ``artanh(d) / d - 1 = sum_k d^2k / (2k + 1)`` for
    ``|d| < 0.1``, so that near ``lam = 1/2``, where it is close to 0, it keeps
    its relative accuracy (``log C + log lam`` cancels there).
    """

    def _argcheck(self, logits):
        return np.isfinite(logits)

    def _logpdf(self, x, logits):
        d = -np.tanh(logits / 2)
        small = np.abs(d) < 0.1
        d_small = np.where(small, d, 0.0)
        series = sum(d_small ** (2 * k) / (2 * k + 1) for k in range(1, 13))
        d_large = np.where(small, 0.5, d)
        log_half_c = np.where(
            small, np.log1p(series), np.log(np.arctanh(d_large) / d_large)
        )
        return x * np.log1p(-d) + (1 - x) * np.log1p(d) + log_half_c

    def _pdf(self, x, logits):
        return np.exp(self._logpdf(x, logits))

    def _cdf(self, x, logits):
        lam = special.expit(logits)
        half = lam == 0.5
        d = np.where(half, 1.0, 2 * lam - 1)
        return np.where(half, x, (lam**x * (1 - lam) ** (1 - x) + lam - 1) / d)

    def _ppf(self, q, logits):
        lam = special.expit(logits)
        half = lam == 0.5
        d = np.where(half, 1.0, 2 * lam - 1)
        log_odds = np.where(half, 1.0, np.log(lam / (1 - lam)))
        return np.where(half, q, np.log1p(q * d / (1 - lam)) / log_odds)


continuous_bernoulli_reference = _ContinuousBernoulliReference(
    a=0.0, b=1.0, name="continuous_bernoulli"
)

# lam = 0.500025 (near 1/2), 0.9975 and 0.18.
CASE = Case(
    cb,
    {"logits": floats(1e-4, 6.0, -1.5)},
    scipy=lambda logits: continuous_bernoulli_reference(logits),
)


def _f64_cdf(x, eta):
    """``expm1(x eta) / expm1(eta)`` in float64 (``x`` at ``eta = 0``)."""
    x, eta = np.asarray(x, np.float64), np.asarray(eta, np.float64)
    safe = np.where(eta == 0, 1.0, eta)
    return np.where(eta == 0, x, np.expm1(x * safe) / np.expm1(safe))


def _f64_density(x, eta):
    """``eta e^(x eta) / expm1(eta)`` in float64 (1 at ``eta = 0``)."""
    x, eta = np.asarray(x, np.float64), np.asarray(eta, np.float64)
    safe = np.where(eta == 0, 1.0, eta)
    return np.where(eta == 0, 1.0, safe * np.exp(x * safe) / np.expm1(safe))


def _logit(lam):
    return float(np.log(lam) - np.log1p(-lam))


# The ends and the Taylor branch by 0.5 in the default run, the rest in the slow run
# (this file gives the registry its case, so it does not import the registry).
@pytest.mark.parametrize(
    "lam",
    [
        1e-6,
        pytest.param(0.1, marks=pytest.mark.slow),
        0.5 - 1e-7,
        0.5,
        pytest.param(0.5 + 1e-7, marks=pytest.mark.slow),
        pytest.param(0.9, marks=pytest.mark.slow),
        1 - 1e-6,
    ],
)
def test_density_integrates_to_one(lam):
    """``int_0^1 exp(log_prob)`` by QUADPACK in float64, to 1e-10."""
    with jax.enable_x64(True):
        params = cb.init(probs=jnp.float64(lam))
        density = jax.jit(lambda z: jnp.exp(cb.log_prob(params, z)))
        total, error = integrate.quad(
            lambda z: float(density(z)), 0.0, 1.0, epsabs=1e-13, epsrel=1e-12
        )
    assert error < 1e-10
    assert abs(total - 1.0) < 1e-10, total


# logits of lam = 0.5, 0.5 + 5e-7, 3e-7 and 1 - 3e-7, and a few in between.
DKWM_LOGITS = np.array([0.0, 2e-6, -15.0, -4.0, -0.7, 1.3, 6.0, 15.0])


@pytest.mark.parametrize("transform", ["eager", "jit"])
def test_samples_pass_a_dkwm_test(transform):
    """Dvoretzky-Kiefer-Wolfowitz-Massart: ``P(sup |F_n - F| > e) <= 2 exp(-2 n e^2)``.

    With ``e = sqrt(log(2 / alpha) / (2 n))`` and ``alpha = 1e-3``, a correct
    sampler fails a batch element with probability at most 1e-3 (8e-3 for all 8
    together). Draws in float32; ``F`` the float64 ``expm1`` form.
    """
    n, alpha = 20_000, 1e-3
    bound = np.sqrt(np.log(2 / alpha) / (2 * n))
    params = cb.init(logits=jnp.asarray(DKWM_LOGITS, jnp.float32))
    draw = cb.sample if transform == "eager" else jax.jit(cb.sample, static_argnums=2)
    z = np.sort(np.asarray(draw(jax.random.key(21), params, (n,)), np.float64), 0)
    assert np.all((z >= 0) & (z <= 1))
    f = _f64_cdf(z, DKWM_LOGITS.astype(np.float32).astype(np.float64))
    i = np.arange(1, n + 1)[:, None]
    sup = np.maximum(i / n - f, f - (i - 1) / n).max(0)
    assert np.all(sup < bound), (sup, bound)


@pytest.mark.parametrize(
    "logits", [-30.0, -6.0, -1.0, -2e-6, 0.0, 3e-6, 1e-3, 0.7, 2.0, 8.0, 30.0]
)
def test_pathwise_gradient_is_the_implicit_one(logits):
    """``dz / d eta = -(dF / d eta) / q(z)`` at each draw (float64).

    ``dF / d eta`` by central differences of the float64 CDF with ``z`` held
    fixed (step 1e-4: truncation ~1e-9 relative, rounding ~1e-12); ``2e-6`` and
    ``3e-6`` are ``lam`` within 1e-6 of 1/2.
    """
    with jax.enable_x64(True):
        eta = jnp.full((200,), logits, jnp.float64)
        draw = lambda e: cb.sample(jax.random.key(22), cb.init(logits=e), ())
        z, dz = jax.jvp(draw, (eta,), (jnp.ones_like(eta),))
    z, dz = np.asarray(z), np.asarray(dz)
    h = 1e-4
    dF = (_f64_cdf(z, logits + h) - _f64_cdf(z, logits - h)) / (2 * h)
    expected = -dF / _f64_density(z, logits)
    np.testing.assert_allclose(dz, expected, rtol=1e-7, atol=1e-12)


EDGE_LOGITS = [0.0, 4e-6, -4e-6, 15.0, -15.0, 30.0, -30.0]  # 4e-6: lam = 1/2 +- 1e-6


def _draw_score_and_cdf(logits, key):
    """Draws, their log-density and CDF, ``log_prob`` of ``0, 0.3, 1``, and the
    gradient of their sum in ``logits``."""

    def total(logits):
        params = cb.init(logits=logits)
        z = cb.sample(key, params, (64,))
        at = jnp.array([0.0, 0.3, 1.0])[:, None]
        parts = (z, cb.log_prob(params, z), cb.log_prob(params, at), cb.cdf(params, z))
        return sum(jnp.sum(p) for p in parts), parts

    (_, parts), grad = jax.value_and_grad(total, has_aux=True)(logits)
    return (*parts, grad)


@pytest.mark.parametrize(
    "transform", [pytest.param("eager", marks=pytest.mark.slow), "jit"]
)
def test_float32_values_and_gradients_are_finite_at_the_edges(transform):
    """At ``lam = 1/2``, ``1/2 +- 1e-6`` and ``logits = +-15, +-30`` (float32)."""
    run = _draw_score_and_cdf if transform == "eager" else jax.jit(_draw_score_and_cdf)
    out = run(jnp.asarray(EDGE_LOGITS, jnp.float32), jax.random.key(23))
    for part in out:
        assert part.dtype == jnp.float32
        assert np.all(np.isfinite(part)), part
    z = out[0]
    assert np.all((z >= 0) & (z <= 1))


def test_float32_closed_forms_and_quantiles_are_finite_at_the_edges():
    """``mean``, ``variance``, ``entropy``, ``icdf`` and their gradients."""

    def closed_forms(logits):
        params = cb.init(logits=logits)
        u = jnp.array([0.0, 0.3, 0.999])[:, None]
        parts = (
            cb.mean(params),
            cb.variance(params),
            cb.entropy(params),
            cb.icdf(params, u),
        )
        return sum(jnp.sum(p) for p in parts), parts

    grad_fn = jax.jit(jax.value_and_grad(closed_forms, has_aux=True))
    (_, parts), grad = grad_fn(jnp.asarray(EDGE_LOGITS, jnp.float32))
    for part in (*parts, grad):
        assert part.dtype == jnp.float32
        assert np.all(np.isfinite(part)), part


def test_greyscale_values_have_a_finite_log_density():
    """The point of the family: ``0.3`` has density, where a Bernoulli has none."""
    z = jnp.array([0.0, 0.3, 0.71, 1.0])
    logits = jnp.zeros(4)
    bernoulli = jr.bernoulli.log_prob(jr.bernoulli.init(logits=logits), z)
    assert np.isneginf(bernoulli[1])
    ours = cb.log_prob(cb.init(logits=logits), z)
    np.testing.assert_array_equal(ours, 0.0)  # the uniform at lam = 1/2
    params = cb.init(logits=jnp.array([-2.0, 3.0]))
    assert np.all(np.isfinite(cb.log_prob(params, 0.3)))


def test_out_of_support_is_minus_inf_and_nan_stays_nan():
    params = cb.init(logits=jnp.array([-2.0, 0.0, 3.0]))
    z = jnp.array([-0.1, 1.0001, -np.inf, np.inf, np.nan])[:, None]
    log_q = np.asarray(jax.jit(cb.log_prob)(params, z))
    assert np.all(np.isneginf(log_q[:4]))
    assert np.all(np.isnan(log_q[4]))
    grad = jax.jit(jax.grad(lambda p: jnp.sum(cb.log_prob(p, 1.5))))(params)
    assert np.all(np.isfinite(grad.logits))
    np.testing.assert_array_equal(cb.cdf(params, -0.5), 0.0)
    np.testing.assert_array_equal(cb.cdf(params, 1.5), 1.0)
    assert np.all(np.isnan(cb.icdf(params, 1.5)))
    assert np.all(np.isnan(cb.icdf(params, -0.5)))


def _decimal_reference(eta):
    """``A``, mean, variance, entropy and ``log C`` at ``eta``, to 60 digits."""
    with localcontext() as context:
        context.prec = 60
        e = Decimal(float(eta))
        if e == 0:
            return 0.0, 0.5, 1 / 12, 0.0, float(Decimal(2).ln())
        ex = e.exp()
        a = ((ex - 1) / e).ln()
        mean = 1 / (1 - 1 / ex) - 1 / e
        variance = 1 / (e * e) - ex / (ex - 1) ** 2
        log_c = (1 + ex).ln() - a
        return tuple(float(v) for v in (a, mean, variance, a - e * mean, log_c))


_SWEEP = np.geomspace(1e-7, 60.0, 120)
_SWEEP = np.concatenate([[0.0, 2 - 1e-6, 2.0, 2 + 1e-6], _SWEEP, -_SWEEP])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_closed_forms_are_within_a_few_eps_of_60_digits(dtype):
    """``A`` (the log-normalizer), mean, variance and entropy on both sides of
    the series' switch at ``|eta| = 2``, from 1e-7 to 60: the choice of switch
    and number of terms, checked in both dtypes (measured at most: A 1.0 eps,
    mean 1.0, variance 2.0, entropy 4.6)."""
    with jax.enable_x64(dtype == jnp.float64):
        eps = float(jnp.finfo(dtype).eps)
        eta = jnp.asarray(_SWEEP, dtype)

        @jax.jit
        def closed_forms(eta):
            params = cb.init(logits=eta)
            return jnp.stack(
                [
                    _continuous_bernoulli._log_normalizer(eta),
                    cb.mean(params),
                    cb.variance(params),
                    cb.entropy(params),
                    # log C = log(eta / tanh(eta / 2)), from log_prob at z = 0
                    cb.log_prob(params, 0.0) + jax.nn.softplus(eta),
                ]
            )

        got = np.asarray(closed_forms(eta), np.float64)
    want = np.array([_decimal_reference(e) for e in np.asarray(eta, np.float64)]).T
    # relative error; for A (zero at 0) and log C, relative to max(|value|, 1)
    scale = np.abs(want)
    scale[[0, 4]] = np.maximum(scale[[0, 4]], 1.0)
    scale[3] = np.maximum(scale[3], 1e-300)  # the entropy is -0 at eta = 0
    error = np.abs(got - want) / scale / eps
    # The entropy's closed form cancels by up to 14x just above the switch.
    names = ["A", "mean", "variance", "entropy"]
    for name, bound, row in zip(names, [3, 3, 4, 6], error[:4], strict=True):
        assert row.max() < bound, (name, row.max(), float(_SWEEP[row.argmax()]))
    # log C = softplus - A cancels for large |eta| (it is log|eta|): |eta| eps.
    log_c_bound = 4 * np.maximum(1.0, np.abs(_SWEEP)) / np.maximum(want[4], 1.0)
    assert np.all(error[4] < log_c_bound), error[4].max()


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_quantile_is_within_a_few_eps_of_60_digits(dtype):
    """``icdf`` relative to ``ln(1 + u (e^eta - 1)) / eta`` over every branch:
    the series (``|eta| < sqrt(eps)``), ``log1p`` and ``logaddexp`` (measured:
    at most 3.1 eps)."""
    us = np.array([0.0, 1e-7, 1e-3, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999, 1 - 2**-23])
    with jax.enable_x64(dtype == jnp.float64):
        eps = float(jnp.finfo(dtype).eps)
        eta = jnp.asarray(_SWEEP, dtype)
        u = jnp.asarray(us, dtype)[:, None]
        got = np.asarray(jax.jit(cb.icdf)(cb.init(logits=eta), u), np.float64)
    etas, us = np.asarray(eta, np.float64), np.asarray(u, np.float64)[:, 0]
    with localcontext() as context:
        context.prec = 60
        want = np.array(
            [
                [
                    float(v)
                    if e == 0
                    else float((1 + Decimal(v) * Decimal(e).exp() - Decimal(v)).ln())
                    / float(e)
                    for e in etas
                ]
                for v in us
            ]
        )
    error = np.abs(got - want) / np.maximum(want, np.finfo(np.float64).tiny) / eps
    assert error.max() < 5, error.max()


def test_mean_and_variance_at_one_half():
    params = cb.init(probs=0.5)
    closed_forms = jax.jit(lambda p: (cb.mean(p), cb.variance(p), cb.entropy(p)))
    mean, variance, entropy = closed_forms(params)
    assert mean == 0.5
    assert variance == np.float32(1 / 12)
    assert entropy == 0.0


def test_reflection():
    """``Z ~ CB(eta)`` iff ``1 - Z ~ CB(-eta)``: the densities mirror."""
    with jax.enable_x64(True):
        eta = jnp.array([0.3, -4.0, 12.0])
        z = jnp.linspace(0.0, 1.0, 11)[:, None]
        log_prob, mean = jax.jit(cb.log_prob), jax.jit(cb.mean)
        np.testing.assert_allclose(
            log_prob(cb.init(logits=eta), z),
            log_prob(cb.init(logits=-eta), 1 - z),
            rtol=1e-13,
            atol=1e-13,
        )
        np.testing.assert_allclose(
            mean(cb.init(logits=eta)), 1 - mean(cb.init(logits=-eta)), rtol=1e-13
        )


def test_init_from_probs():
    lam = np.array([0.1, 0.5, 0.97], np.float32)
    np.testing.assert_allclose(
        cb.init(probs=lam).logits, np.log(lam / (1 - lam)), rtol=1e-6, atol=1e-7
    )
    assert cb.init().logits == 0.0
    for bad in (0.0, 1.0, 1.5, -0.1, np.nan):
        with pytest.raises(ValueError, match=rf"probs must be in \(0, 1\), got {bad}"):
            cb.init(probs=bad)
    with pytest.raises(ValueError, match="not both"):
        cb.init(logits=0.0, probs=0.5)
    with pytest.raises(ValueError, match="logits"):
        cb.init(logits=np.inf)
    with pytest.raises(TypeError, match="probs"):
        cb.init(probs=jnp.array([1, 0]))


def test_init_from_probs_under_jit_and_checking():
    f = jax.jit(lambda p: cb.init(probs=p).logits)
    out = f(jnp.array([0.5, 1.0, 0.0, 0.25]))
    assert np.isnan(out[1])
    assert np.isnan(out[2])
    np.testing.assert_allclose(out[::3], [0.0, np.log(1 / 3)], rtol=1e-6)
    with pytest.raises(checkify.JaxRuntimeError, match="probs"):
        jr.checked(f)(jnp.array([0.5, 1.0]))
