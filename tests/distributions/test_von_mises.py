"""VonMises: implicit gradients against an independent CDF, from 1e-4 to 1e4.

The reference CDF is high-precision quadrature of the density (scipy.integrate.quad
of ``exp(k cos t) / (2 pi I0(k))``, scipy.special for I0), not scipy.stats.vonmises:
above concentration 50 scipy's CDF switches to a normal approximation whose finite
differences are off by up to 1e-4 relative (``test_scipy_cdf_switches_method_at_50``
shows it), far above the 1e-6 bar. Below 50 scipy's CDF and the quadrature agree.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate, special

import jaxreparam as jr
from jaxreparam.distributions import _von_mises

GRID = (1e-4, 1e-3, 1e-2, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 49.0, 51.0, 100.0)
GRID += (300.0, 1e3, 3e3, 1e4)
LOC = 2.5  # so that samples wrap around -pi / pi
NUM = 12


def density(t, k):
    """``exp(k cos t) / (2 pi I0(k))``, also for ``k < 0`` (I0 is even)."""
    return np.exp(-2 * k * np.sin(t / 2) ** 2 + k - abs(k)) / (
        2 * np.pi * special.i0e(abs(k))
    )


def mass(a, k, inner):
    """The mass of ``[0, a]`` (inner) or ``[a, pi]``, by adaptive quadrature."""
    lo, hi = (0.0, a) if inner else (a, np.pi)
    points = None  # breakpoints help quad find a narrow peak at the lower end
    if not inner and k > 1:
        points = [a + j / np.sqrt(k) for j in (0.5, 2, 6) if a + j / np.sqrt(k) < np.pi]
    return integrate.quad(
        density,
        lo,
        hi,
        args=(k,),
        epsabs=0,
        epsrel=1e-13,
        limit=200,
        points=points,
    )[0]


def centred_cdf(x, k):
    """``P(X <= x)`` for the centred angle, from the masses above."""
    a = abs(x)
    if np.cos(a) >= special.i1e(k) / special.i0e(k):
        return 0.5 + np.sign(x) * mass(a, k, True)
    tail = mass(a, k, False)
    return 1 - tail if x > 0 else tail


def reference_dz_dk(x, k):
    """``-(dF/dk)/q`` at the centred angle ``x``, by a 4th-order finite difference.

    F is ``1/2 + sign(x) mass(0, |x|)`` or ``1 - mass(|x|, pi)`` (mirrored for
    x < 0), whichever is free of cancellation; the step is relative to ``max(k,
    1)``, the CDF being analytic in ``k`` (negative ``k`` included).
    """
    a = abs(x)
    inner = np.cos(a) >= special.i1e(k) / special.i0e(k)
    h = 1e-3 * max(k, 1.0)
    f = lambda kk: mass(a, kk, inner)
    d = (-f(k + 2 * h) + 8 * f(k + h) - 8 * f(k - h) + f(k - 2 * h)) / (12 * h)
    d_cdf = np.sign(x) * d if inner else -np.sign(x) * d
    return -d_cdf / st.vonmises.pdf(x, k)


def scipy_dz_dk(x, k):
    h = 1e-3 * k
    f = lambda kk: st.vonmises.cdf(x, kk)
    d = (-f(k + 2 * h) + 8 * f(k + h) - 8 * f(k - h) + f(k - 2 * h)) / (12 * h)
    return -d / st.vonmises.pdf(x, k)


@jax.jit
def _samples_and_jacobian(k):
    def draw(nat):
        return jr.von_mises.sample(jax.random.key(3), jr.von_mises.init(**nat), (NUM,))

    nat = {"loc": jnp.asarray(LOC, k.dtype), "concentration": k}
    return draw(nat), jax.jacfwd(draw)(nat)


def centred_samples_and_gradients(k):
    z, jac = _samples_and_jacobian(jnp.float64(k))
    x = np.mod(np.asarray(z) - LOC + np.pi, 2 * np.pi) - np.pi
    return x, np.asarray(jac["loc"]), np.asarray(jac["concentration"])


def test_gradient_matches_quadrature_cdf_over_the_grid():
    """Each sample's dz/dk within 1e-6 relative of -(dF/dk)/q; dz/dloc = 1."""
    worst = 0.0
    with jax.enable_x64(True):
        for k in GRID:
            x, d_loc, d_k = centred_samples_and_gradients(k)
            np.testing.assert_array_equal(d_loc, 1.0)
            ref = np.array([reference_dz_dk(xi, k) for xi in x])
            err = np.abs(d_k - ref) / np.abs(ref)
            worst = max(worst, err.max())
            assert err.max() < 1e-6, (k, x[err.argmax()], err.max())
    print(f"worst relative error of dz/dk over the grid: {worst:.2e}")  # ~3e-10


def test_scipy_cdf_switches_method_at_50():
    """scipy's CDF would do below 50 and not above: why the reference is quadrature."""
    with jax.enable_x64(True):
        for k, agrees in ((10.0, True), (49.0, True), (51.0, False), (100.0, False)):
            x, _, _ = centred_samples_and_gradients(k)
            ref = np.array([reference_dz_dk(xi, k) for xi in x])
            ours = np.array([scipy_dz_dk(xi, k) for xi in x])
            assert (np.max(np.abs(ours - ref) / np.abs(ref)) < 1e-6) == agrees, k


@jax.jit
def _samples_and_cdf(k):
    params = jr.von_mises.init(loc=jnp.asarray(LOC, k.dtype), concentration=k)
    z = jr.von_mises.sample(jax.random.key(4), params, (8,))
    return z, jr.von_mises.cdf(params, z)


def test_cdf_matches_quadrature():
    """``P(Z <= z)`` from -pi: the centred CDF at z minus the centred CDF at -pi."""
    with jax.enable_x64(True):
        for k in (1e-4, 0.5, 5.0, 60.0, 1e4):
            z, cdf = map(np.asarray, _samples_and_cdf(jnp.float64(k)))
            x = np.mod(z - LOC + np.pi, 2 * np.pi) - np.pi
            start = np.pi - LOC  # where -pi falls, centred
            ref = [
                centred_cdf(xi, k) - centred_cdf(start, k) + (xi < start) for xi in x
            ]
            np.testing.assert_allclose(cdf, ref, rtol=1e-10, atol=1e-14)


@jax.jit
def _draw_centred(k):
    params = jr.von_mises.init(concentration=k)
    return jr.von_mises.sample(jax.random.key(5), params, (10_000,))


@pytest.mark.parametrize("k", [1e-4, 1e-2, 1.0, 10.0, 1e3, 1e4])
def test_samples_follow_scipy(k):
    """KS against scipy's CDF (ample for KS at 1e4 draws), p > 0.01."""
    z = np.asarray(_draw_centred(jnp.float32(k)))
    assert np.all((z >= -np.pi) & (z < np.pi))
    assert st.kstest(z.astype(np.float64), st.vonmises(k).cdf).pvalue > 0.01


NUM_EXPECTATION = 20_000


@jax.jit
def _cos_sin_jacobian(loc, k):
    def per_sample(nat):
        params = jr.von_mises.init(**nat)
        z = jr.von_mises.sample(jax.random.key(6), params, (NUM_EXPECTATION,))
        return jnp.stack([jnp.cos(z), jnp.sin(z)])

    return jax.jacfwd(per_sample)({"loc": loc, "concentration": k})


@pytest.mark.parametrize("k", [1e-4, 1e-2, 1.0, 10.0, 1e3, 1e4])
def test_expectation_gradients_of_cos_and_sin(k):
    """grad E[cos z], E[sin z] = A(k) (cos loc, sin loc) within 5 standard errors."""
    num, loc = NUM_EXPECTATION, 0.7
    with jax.enable_x64(True):
        jac = _cos_sin_jacobian(jnp.float64(loc), jnp.float64(k))
    a = special.i1e(k) / special.i0e(k)
    da = 1 - a / k - a * a  # A'(k)
    expected = {
        "loc": (-a * np.sin(loc), a * np.cos(loc)),
        "concentration": (da * np.cos(loc), da * np.sin(loc)),
    }
    for name, want in expected.items():
        g = np.asarray(jac[name])
        se = g.std(1) / np.sqrt(num)
        np.testing.assert_array_less(np.abs(g.mean(1) - want), 5 * se + 1e-12)


@pytest.mark.parametrize(
    ("kp", "lp", "kq", "lq"),
    [(1e4, 0.1, 1e3, -0.05), (1e-4, 1.0, 3.0, -2.0), (700.0, 3.0, 2e3, -3.1)],
)
def test_kl_and_entropy_at_extreme_concentrations(kp, lp, kq, lq):
    """Against quadrature of p log(p/q), where I0 alone would overflow."""

    def log_p(t):  # p centred at lp
        return st.vonmises.logpdf(t, kp)

    def log_q(t):
        return st.vonmises.logpdf(np.angle(np.exp(1j * (t + lp - lq))), kq)

    width = min(np.pi, 40 / np.sqrt(kp))
    kl = integrate.quad(
        lambda t: np.exp(log_p(t)) * (log_p(t) - log_q(t)),
        -width,
        width,
        epsabs=1e-14,
        epsrel=1e-11,
        limit=400,
    )[0]
    with jax.enable_x64(True):
        p = jr.von_mises.init(loc=lp, concentration=kp)
        q = jr.von_mises.init(loc=lq, concentration=kq)
        np.testing.assert_allclose(jr.kl_divergence(p, q), kl, rtol=1e-8)
        np.testing.assert_allclose(
            jr.von_mises.entropy(p), st.vonmises.entropy(kp), rtol=1e-12
        )


# --------------------------------------------------------------------------- #
# float32.


def test_float32_finite_and_accurate_over_the_grid():
    """Samples in [-pi, pi), log-densities and gradients finite.

    dz/dk within 2e-6 of float64 at the same float32 points (TFP's von Mises
    gradient measured 1.5e-3 off at 1e4 the same way).
    """

    def one(k, key):
        params = jr.von_mises.init(loc=jnp.float32(LOC), concentration=k)
        return jr.von_mises.sample(key, params)

    draw = jax.jit(jax.vmap(one, (None, 0)))
    grad = jax.jit(jax.vmap(jax.grad(one), (None, 0)))
    dz_dk = jax.jit(_von_mises._dz_dk)
    keys = lambda: jax.random.split(jax.random.key(7), 1000)  # fresh for each use
    for k in GRID:
        k32 = jnp.float32(k)
        z = draw(k32, keys())
        assert z.dtype == jnp.float32
        assert jnp.all((z >= -np.pi) & (z < np.pi)), k
        lp = jr.von_mises.log_prob(jr.von_mises.init(loc=LOC, concentration=k32), z)
        assert jnp.all(jnp.isfinite(lp)), k
        assert jnp.all(jnp.isfinite(grad(k32, keys()))), k
        x = _von_mises._wrap(z - jnp.float32(LOC))
        ours = np.asarray(dz_dk(x, k32), np.float64)
        with jax.enable_x64(True):
            ref = np.asarray(dz_dk(x.astype(jnp.float64), jnp.float64(k)))
        assert np.max(np.abs(ours - ref) / np.abs(ref)) < 2e-6, k


@pytest.mark.slow
@pytest.mark.parametrize("k", [1e-30, 1e20, 1e30])
def test_peers_give_nan_where_we_do_not(k):
    """float32, beyond the grid, where ours stay finite.

    numpyro and TFP draw NaN at concentration 1e20 and above (``4 k^2``
    overflows); TFP's gradient is NaN at 1e-30. On the grid 1e-4 to 1e4 neither
    peer gives NaN.
    """
    import numpyro.distributions as nd
    from tensorflow_probability.substrates import jax as tfp

    key = lambda: jax.random.key(8)  # the same key, fresh for each use
    k = jnp.float32(k)

    def ours(k):
        return jr.von_mises.sample(key(), jr.von_mises.init(concentration=k), (64,))

    def theirs(k):
        return tfp.distributions.VonMises(jnp.float32(0), k).sample(64, seed=key())

    assert jnp.all(jnp.isfinite(ours(k)))
    assert jnp.all(jnp.isfinite(jax.jacfwd(ours)(k)))
    assert jnp.any(jnp.isnan(theirs(k)) | jnp.isnan(jax.jacfwd(theirs)(k)))
    numpyro_nan = jnp.any(
        jnp.isnan(nd.VonMises(jnp.float32(0), k).sample(key(), (64,)))
    )
    assert numpyro_nan == (k > 1)
