"""TruncatedNormal: gradients against scipy.stats.truncnorm, far tails, float32, peers.

Each sample's gradient in loc, scale, low and high is checked against
``-(dF/dtheta)/q`` with ``dF/dtheta`` from a 4th-order central finite difference
of scipy.stats.truncnorm's CDF (or survival function, whichever is smaller), for
bounds up to 20 standard deviations out. A bound far from the mass moves ``F`` by
less than double precision can resolve (``dz/dhigh ~ 1e-9`` for ``[10, 12]``); for
those components only, the finite difference is taken of the one term of ``F``
that depends on the bound, the normal mass at the bound (scipy.stats.norm).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate

import jaxreparam as jr

NAMES = ("loc", "scale", "low", "high")
INF = np.inf
GRID = [
    (0.5, 1.5, -1.0, 2.0),
    (0.0, 1.0, 10.0, INF),
    (0.0, 1.0, -INF, -10.0),
    (0.0, 1.0, 10.0, 12.0),
    (0.0, 1.0, -12.0, -10.0),
    (1.0, 2.0, -INF, INF),
    (0.0, 1.0, 0.0, INF),
    (0.0, 1.0, -3.0, 10.0),
    (0.0, 1.0, -10.0, 10.0),
    (0.0, 1.0, 9.5, 10.5),
    (3.0, 0.5, -2.0, 1.0),
    (-1.0, 0.1, 1.0, INF),  # 20 scales out
    (2.0, 3.0, 1.9, 2.1),  # narrow, in the bulk
]
NUM = 10


def natural(theta, dtype=jnp.float64):
    return {k: jnp.asarray(v, dtype) for k, v in zip(NAMES, theta, strict=True)}


@jax.jit
def _samples_and_jacobian(nat):
    def draw(nat):
        params = jr.truncated_normal.init(**nat)
        return jr.truncated_normal.sample(jax.random.key(5), params, (NUM,))

    return draw(nat), jax.jacfwd(draw)(nat)


def samples_and_jacobian(theta):
    with jax.enable_x64(True):
        z, jac = _samples_and_jacobian(natural(theta))
    return np.asarray(z), {k: np.asarray(v) for k, v in jac.items()}


def scipy_dist(theta):
    loc, scale, low, high = theta
    return st.truncnorm((low - loc) / scale, (high - loc) / scale, loc=loc, scale=scale)


def scipy_reference(z, theta, i):
    """``-(dF/dtheta_i)/q`` by finite differences of scipy's CDF, and whether the
    difference resolves the derivative (moves F by at least 1e-7 of itself)."""
    dist = scipy_dist(theta)
    use_sf = dist.sf(z) < dist.cdf(z)
    h = 1e-4 * theta[1]

    def f(delta):
        shifted = list(theta)
        shifted[i] += delta
        d = scipy_dist(shifted)
        return -d.sf(z) if use_sf else d.cdf(z)

    d = (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)
    resolved = abs(d) * h >= 1e-7 * min(dist.cdf(z), dist.sf(z))
    return -d / dist.pdf(z), resolved


def normal_mass(a, b):
    """``Phi(b) - Phi(a)`` on the side of the tail, without cancellation."""
    if a > 0:
        return st.norm.sf(a) - st.norm.sf(b)
    if b < 0:
        return st.norm.cdf(b) - st.norm.cdf(a)
    return 1 - st.norm.cdf(a) - st.norm.sf(b)


def bound_reference(z, theta, name):
    """``dz/dlow = (1 - F) dPhi(alpha)/(Z q)``, ``dz/dhigh = F dPhi(beta)/(Z q)``:
    F = (Phi(zeta) - Phi(alpha)) / Z, differentiated in the bound, with
    ``dPhi`` the finite difference of the normal mass at the bound."""
    loc, scale, low, high = theta
    dist = scipy_dist(theta)
    alpha, beta = (low - loc) / scale, (high - loc) / scale
    h = 1e-4
    at = alpha if name == "low" else beta
    d_phi = normal_mass(at - h, at + h) / (2 * h * scale)
    weight = dist.sf(z) if name == "low" else dist.cdf(z)
    return weight * d_phi / (normal_mass(alpha, beta) * dist.pdf(z))


def test_gradients_match_finite_differences_of_scipy_truncnorm():
    """Relative error < 1e-6 wherever a finite difference of the CDF resolves
    the derivative; an infinite bound has gradient exactly 0."""
    worst, checked = 0.0, 0
    for theta in GRID:
        z, jac = samples_and_jacobian(theta)
        for i, name in enumerate(NAMES):
            if np.isinf(theta[i]):
                np.testing.assert_array_equal(jac[name], 0.0)
                continue
            for j in range(NUM):
                ref, resolved = scipy_reference(z[j], theta, i)
                if not resolved:
                    continue
                err = abs(jac[name][j] - ref) / abs(ref)
                assert err < 1e-6, (theta, name, z[j], jac[name][j], ref)
                worst, checked = max(worst, err), checked + 1
    assert checked >= 350  # of 460; the others are in the next test
    print(f"worst relative error over {checked} gradients: {worst:.2e}")  # ~2e-8


def test_far_bound_gradients_match_the_normal_mass():
    """The components a CDF difference cannot resolve, down to 1e-20 and below."""
    checked = 0
    for theta in GRID:
        z, jac = samples_and_jacobian(theta)
        for i, name in ((2, "low"), (3, "high")):
            if np.isinf(theta[i]):
                continue
            for j in range(NUM):
                if scipy_reference(z[j], theta, i)[1]:
                    continue
                ref = bound_reference(z[j], theta, name)
                assert abs(jac[name][j] - ref) < 1e-6 * abs(ref), (theta, name)
                checked += 1
    assert checked >= 40


@pytest.mark.parametrize(
    "theta",
    [
        (0.0, 1.0, 10.0, INF),
        (0.0, 1.0, -12.0, -10.0),
        (0.0, 1.0, 20.0, INF),
        (0.0, 1.0, -40.0, -39.0),
        (0.0, 1.0, 38.0, INF),
        (1.0, 2.0, -INF, INF),
    ],
)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_far_tail_samples_follow_scipy(theta, dtype):
    """KS p > 0.01 against scipy's CDF, float32 included; samples in bounds."""
    with jax.enable_x64(dtype == jnp.float64):
        z = np.asarray(_draw(natural(theta, dtype)), np.float64)
    assert np.all((z >= theta[2]) & (z <= theta[3]))
    assert st.kstest(z, scipy_dist(theta).cdf).pvalue > 0.01


@jax.jit
def _draw(nat):
    params = jr.truncated_normal.init(**nat)
    return jr.truncated_normal.sample(jax.random.key(6), params, (5000,))


@pytest.mark.parametrize(
    "theta", [(0.0, 1.0, 10.0, INF), (0.0, 1.0, -12.0, -10.0), (0.0, 1.0, 20.0, 30.0)]
)
def test_closed_forms_in_far_tails(theta):
    """cdf, icdf, mean, variance against scipy; entropy against quadrature."""
    dist = scipy_dist(theta)
    # Not nearer 0 or 1: z = ppf(1e-6) is 1e-7 above the bound 10, so its own
    # rounding alone moves F by 2e-8 relative.
    u = np.array([1e-3, 0.1, 0.5, 0.9, 1 - 1e-3])
    with jax.enable_x64(True):
        params = jr.truncated_normal.init(**natural(theta))
        z = dist.ppf(u)
        np.testing.assert_allclose(jr.truncated_normal.cdf(params, z), u, rtol=1e-9)
        np.testing.assert_allclose(jr.truncated_normal.icdf(params, u), z, rtol=1e-12)
        np.testing.assert_allclose(jr.truncated_normal.mean(params), dist.mean())
        np.testing.assert_allclose(
            jr.truncated_normal.variance(params), dist.var(), rtol=1e-8
        )
        lo, hi = dist.ppf(1e-17), dist.isf(1e-17)
        entropy = integrate.quad(
            lambda t: -dist.pdf(t) * dist.logpdf(t), lo, hi, epsabs=0, epsrel=1e-12
        )[0]
        np.testing.assert_allclose(
            jr.truncated_normal.entropy(params), entropy, rtol=1e-9
        )


NUM_EXPECTATION = 20_000


@jax.jit
def _moment_jacobian(nat):
    def per_sample(nat):
        params = jr.truncated_normal.init(**nat)
        z = jr.truncated_normal.sample(jax.random.key(7), params, (NUM_EXPECTATION,))
        return jnp.stack([z, z**2])

    return jax.jacfwd(per_sample)(nat)


@pytest.mark.parametrize(
    "theta", [(0.0, 1.0, 10.0, INF), (0.0, 1.0, -12.0, -10.0), (0.3, 2.0, -INF, 1.0)]
)
def test_expectation_gradients_in_far_tails(theta):
    """MC grad of E[z] and E[z^2] within 5 standard errors of scipy's moments'
    finite differences, for every finite parameter."""
    with jax.enable_x64(True):
        jac = _moment_jacobian(natural(theta))
    for i, name in enumerate(NAMES):
        if np.isinf(theta[i]):
            continue
        h = 1e-5 * max(1.0, abs(theta[i]))
        moments = []
        for delta in (h, -h):
            shifted = list(theta)
            shifted[i] += delta
            d = scipy_dist(shifted)
            moments.append(np.array([d.mean(), d.var() + d.mean() ** 2]))
        expected = (moments[0] - moments[1]) / (2 * h)
        g = np.asarray(jac[name])
        se = g.std(1) / np.sqrt(NUM_EXPECTATION)
        np.testing.assert_array_less(np.abs(g.mean(1) - expected), 5 * se + 1e-7)


# --------------------------------------------------------------------------- #
# float32, validation, and the peers.

FLOAT32_GRID = [*GRID, (0.0, 1.0, 40.0, INF), (0.0, 1.0, -40.0, -39.0)]


@pytest.mark.slow
def test_float32_finite_and_in_bounds():
    """Samples in [low, high]; log-densities and all four gradients finite."""

    def one(nat, key):
        return jr.truncated_normal.sample(key, jr.truncated_normal.init(**nat))

    draw = jax.jit(jax.vmap(one, (None, 0)))
    grad = jax.jit(jax.vmap(jax.grad(one), (None, 0)))
    keys = lambda: jax.random.split(jax.random.key(8), 1000)  # fresh for each use
    for theta in FLOAT32_GRID:
        nat = natural(theta, jnp.float32)
        z = draw(nat, keys())
        assert z.dtype == jnp.float32
        assert jnp.all((z >= nat["low"]) & (z <= nat["high"])), theta
        lp = jr.truncated_normal.log_prob(jr.truncated_normal.init(**nat), z)
        assert jnp.all(jnp.isfinite(lp)), theta
        for name, g in grad(nat, keys()).items():
            assert jnp.all(jnp.isfinite(g)), (theta, name)


def test_init_validates_bounds_and_stored_bounds_may_cross():
    with pytest.raises(ValueError, match="low"):
        jr.truncated_normal.init(low=1.0, high=1.0)
    with pytest.raises(ValueError, match="high"):
        jr.truncated_normal.init(high=-INF)
    with pytest.raises(ValueError, match="low"):
        jr.truncated_normal.init(low=INF)
    # An optimizer may move the stored bounds past each other: the support is
    # then [min, max], and to_natural reports it sorted.
    params = jr.truncated_normal.init(low=-1.0, high=2.0)._replace(low=jnp.float32(3.0))
    nat = jr.truncated_normal.to_natural(params)
    assert (float(nat["low"]), float(nat["high"])) == (2.0, 3.0)
    z = jr.truncated_normal.sample(jax.random.key(9), params, (100,))
    assert jnp.all((z >= 2.0) & (z <= 3.0))


@pytest.mark.slow
def test_peers_fail_in_far_tails_where_we_do_not():
    """float32: numpyro draws inf from [20, inf) and values outside [-40, -39];
    TFP's gradients are NaN for [10, inf). Ours are finite and in bounds."""
    import numpyro.distributions as nd
    from tensorflow_probability.substrates import jax as tfp

    key = lambda: jax.random.key(10)  # the same key, fresh for each use

    def ours(nat):
        return jr.truncated_normal.sample(
            key(), jr.truncated_normal.init(**nat), (500,)
        )

    def numpyro(nat, low=True, high=True):
        dist = nd.TruncatedNormal(
            nat["loc"],
            nat["scale"],
            low=nat["low"] if low else None,
            high=nat["high"] if high else None,
        )
        return dist.sample(key(), (500,))

    def tfp_draw(nat):
        dist = tfp.distributions.TruncatedNormal(
            nat["loc"], nat["scale"], nat["low"], nat["high"]
        )
        return dist.sample(500, seed=key())

    for theta in [
        (0.0, 1.0, 10.0, INF),
        (0.0, 1.0, 20.0, INF),
        (0.0, 1.0, -40.0, -39.0),
    ]:
        nat = natural(theta, jnp.float32)
        z = ours(nat)
        assert jnp.all(jnp.isfinite(z) & (z >= nat["low"]) & (z <= nat["high"]))
        assert all(jnp.all(jnp.isfinite(g)) for g in jax.jacfwd(ours)(nat).values())
    nat = natural((0.0, 1.0, 20.0, INF), jnp.float32)
    assert not jnp.any(jnp.isfinite(numpyro(nat, high=False)))
    nat = natural((0.0, 1.0, -40.0, -39.0), jnp.float32)
    z = numpyro(nat)
    assert jnp.any((z < nat["low"]) | (z > nat["high"]))
    nat = natural((0.0, 1.0, 10.0, INF), jnp.float32)
    assert jnp.all(jnp.isfinite(tfp_draw(nat)))
    assert jnp.any(jnp.isnan(jax.jacfwd(tfp_draw)(nat)["loc"]))
