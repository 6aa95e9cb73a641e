"""Gamma-based families: implicit gradients, small concentrations and peers.

The gamma gradient is checked sample by sample against the implicit derivative
``-(dF/da) / q`` with ``dF/da`` from a Richardson-extrapolated central finite
difference of scipy's regularized incomplete gamma functions (``gammainc`` below
the median, ``-gammaincc`` above, so neither tail loses digits): an independent
computation that shares no code with the library.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as st

import jaxreparam as jr
from jaxreparam.distributions import _standard_gamma

CONCENTRATIONS = np.logspace(-3, 3, 13)
# Far-tail probabilities, taken in both tails, on top of the samples themselves.
TAILS = (1e-30, 1e-12, 1e-6)
TINY64 = np.finfo(np.float64).tiny


def reference_dx_da(a, x):
    """``-(dF/da)/q`` at standard-gamma points ``x`` (float64 numpy).

    ``dF/da = F d(log F)/da`` (``-Q d(log Q)/da`` above the median): ``log F`` is
    smooth in ``a`` even where ``F`` is 1e-30, so a 4th-order central difference
    of it stays accurate in both far tails.
    """
    x = np.asarray(x, np.float64)
    lower = sc.gammainc(a, x) < 0.5

    def log_tail(b):
        return np.where(lower, np.log(sc.gammainc(b, x)), np.log(sc.gammaincc(b, x)))

    def central(h):
        return (log_tail(a + h) - log_tail(a - h)) / (2 * h)

    h = 1e-3 * a
    slope = (4 * central(h / 2) - central(h)) / 3  # error O(h^4)
    log_density = st.gamma.logpdf(x, a)
    sign = np.where(lower, -1.0, 1.0)
    return sign * slope * np.exp(log_tail(a) - log_density)


def tail_points(a):
    lower = [sc.gammaincinv(a, p) for p in TAILS]
    upper = [sc.gammainccinv(a, p) for p in TAILS]
    return np.array([x for x in lower + upper if x > 1e3 * TINY64])


def relative_error(got, expected):
    return np.abs(np.asarray(got) - expected) / np.abs(expected)


@pytest.mark.parametrize("rate", [1.0, 2.5])
def test_gamma_sample_gradient_matches_scipy(rate):
    """float64 ``dz/da`` of every sample within 1e-10 relative (the bar: 1e-6)."""
    worst = 0.0
    with jax.enable_x64(True):

        @jax.jit  # one compilation for every concentration
        def draw_and_derivative(a, key):
            def draw(a):
                params = jr.gamma.init(concentration=a, rate=jnp.float64(rate))
                return jr.gamma.sample(key, params, (8,))

            return jax.jvp(draw, (a,), (jnp.ones_like(a),))  # z and dz/da

        for i, a in enumerate(CONCENTRATIONS):
            a = jnp.float64(a)
            z, grads = map(np.asarray, draw_and_derivative(a, jax.random.key(i)))
            keep = z > 1e3 * TINY64  # samples not clamped to the smallest float
            expected = reference_dx_da(a, z[keep] * rate) / rate
            worst = max(worst, relative_error(grads[keep], expected).max(initial=0))
    assert worst < 1e-10, worst


def test_gamma_far_tail_gradient_matches_scipy():
    """The same transport at probabilities 1e-30 .. 1 - 1e-30, within 1e-10."""
    worst = 0.0
    with jax.enable_x64(True):
        for a in CONCENTRATIONS:
            x = tail_points(a)
            got = jnp.exp(jnp.log(x)) * _standard_gamma.log_sample_derivative(
                jnp.float64(a), jnp.log(x)
            )
            worst = max(worst, relative_error(got, reference_dx_da(a, x)).max())
    assert worst < 1e-10, worst


def test_gamma_float32_is_finite_over_the_grid():
    """Samples, their log_prob and both gradients finite for a in 1e-3 .. 1e3."""

    def loss(nat, key):
        params = jr.gamma.init(**nat)
        z = jr.gamma.sample(key, params, (512,))
        return jnp.sum(z) + jnp.sum(jr.gamma.log_prob(params, z)), z

    a = jnp.asarray(CONCENTRATIONS, jnp.float32)
    nat = {"concentration": a, "rate": jnp.float32(2.0)}
    grads, z = jax.jit(jax.grad(loss, has_aux=True))(nat, jax.random.key(3))
    assert bool(jnp.all(jnp.isfinite(z)) & jnp.all(z > 0))
    for g in grads.values():
        assert bool(jnp.all(jnp.isfinite(g)))


def test_gamma_rate_gradient_is_exact():
    params = jr.gamma.init(concentration=3.0, rate=2.0)
    z, vjp = jax.vjp(lambda p: jr.gamma.sample(jax.random.key(1), p, (4,)), params)
    (g,) = vjp(jnp.ones_like(z))
    np.testing.assert_allclose(g.log_rate, -jnp.sum(z), rtol=1e-6)


@pytest.mark.filterwarnings("ignore:Out-of-support values:UserWarning")
# TFP (and distrax, which imports TFP's substrate) take ~15 s to import: slow.
@pytest.mark.parametrize(
    "peer",
    [
        pytest.param("numpyro", marks=pytest.mark.slow),
        pytest.param("distrax", marks=pytest.mark.slow),
        pytest.param("tfp", marks=pytest.mark.slow),
    ],
)
def test_peers_nan_where_gamma_is_finite(peer):
    """At concentration 1e-2 in float32, peers' samples underflow to 0 and
    ``grad log_prob(sample)`` (or TFP's sample gradient) is NaN; ours is finite.
    """
    a, key, num = jnp.float32(1e-2), jax.random.key(0), 2000
    if peer == "numpyro":
        import numpyro.distributions as nd

        def loss(a):
            d = nd.Gamma(a)
            return jnp.sum(d.log_prob(d.rsample(key, (num,))))

    elif peer == "distrax":
        import distrax

        def loss(a):
            d = distrax.Gamma(a, 1.0)
            return jnp.sum(d.log_prob(d.sample(seed=key, sample_shape=(num,))))

    else:
        from tensorflow_probability.substrates import jax as tfp

        def loss(a):
            d = tfp.distributions.Gamma(a, 1.0)
            return jnp.sum(d.sample(num, seed=jax.random.key_data(key)))

    assert bool(jnp.isnan(jax.grad(loss)(a)))

    def ours(a):
        params = jr.gamma.init(concentration=a)
        z = jr.gamma.sample(jax.random.key(1), params, (num,))
        return jnp.sum(z) + jnp.sum(jr.gamma.log_prob(params, z))

    assert bool(jnp.isfinite(jax.grad(ours)(a)))


# --------------------------------------------------------------------------- #
# Small concentrations: log-space sampling.


@pytest.mark.parametrize("a", [1e-2, 1e-3])
def test_log_gamma_small_concentration_float32(a):
    """Where gamma samples underflow, log-space ones and their log_prob do not."""
    params = jr.log_gamma.init(concentration=jnp.float32(a))
    y = jr.log_gamma.sample(jax.random.key(8), params, (10_000,))
    lp = jr.log_gamma.log_prob(params, y)
    assert bool(jnp.all(jnp.isfinite(y)) & jnp.all(jnp.isfinite(lp)))
    assert float(jnp.mean(y < np.log(np.finfo(np.float32).tiny))) > 0.2  # underflow
    # 1% false-positive rate for a correct sampler.
    ref = st.loggamma(a)
    assert st.kstest(np.asarray(y, np.float64), ref.cdf).pvalue > 0.01

    def loss(nat, key):
        p = jr.log_gamma.init(**nat)
        y = jr.log_gamma.sample(key, p, (256,))
        return jnp.sum(y) + jnp.sum(jr.log_gamma.log_prob(p, y))

    nat = {"concentration": jnp.float32(a), "rate": jnp.float32(3.0)}
    for g in jax.grad(loss)(nat, jax.random.key(5)).values():
        assert bool(jnp.isfinite(g))


@pytest.mark.slow  # CI runs it; the default run keeps the suite near 10 min
@pytest.mark.parametrize("a", [1e-3, 1e-2, 0.3])
def test_log_gamma_gradient_matches_scipy_where_samples_underflow(a):
    """float64 ``dy/da``: finite differences of scipy where ``exp(y)`` is a
    float, and ``(digamma(a + 1) - y) / a`` (exact as ``x -> 0``, from
    ``P = x^a / Gamma(a + 1) (1 + O(x))``) where it is not."""
    with jax.enable_x64(True):

        def draw(a):
            return jr.log_gamma.sample(
                jax.random.key(6), jr.log_gamma.init(concentration=a), (64,)
            )

        y = np.asarray(draw(jnp.float64(a)))
        grads = np.asarray(jax.jacfwd(draw)(jnp.float64(a)))
    x = np.exp(y)
    small = x < 1e-200
    expected = np.where(
        small,
        (sc.digamma(a + 1) - y) / a,
        reference_dx_da(a, np.where(small, 1.0, x)) / np.where(small, 1.0, x),
    )
    if a <= 1e-3:
        assert small.any()
    np.testing.assert_allclose(grads, expected, rtol=1e-10)


GAMMA_BASED = {
    "gamma": (jr.gamma, "concentration"),
    "log_gamma": (jr.log_gamma, "concentration"),
    "chi2": (jr.chi2, "df"),
    "inverse_gamma": (jr.inverse_gamma, "concentration"),
}


@pytest.mark.parametrize("name", GAMMA_BASED)
def test_float32_samples_log_prob_and_gradients_finite(name):
    """Over concentrations 1e-3 .. 1e3 in float32: no NaN or inf anywhere."""
    module, arg = GAMMA_BASED[name]

    def loss(values, key):
        params = module.init(**{arg: values})
        z = module.sample(key, params, (512,))
        return jnp.sum(jnp.tanh(z)) + jnp.sum(module.log_prob(params, z)), z

    values = jnp.asarray(CONCENTRATIONS, jnp.float32)
    grads, z = jax.jit(jax.grad(loss, has_aux=True))(values, jax.random.key(7))
    assert bool(jnp.all(jnp.isfinite(z)))
    assert bool(jnp.all(jnp.isfinite(grads)))
