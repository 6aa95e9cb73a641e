"""Mixtures: gradients in the weights and the components, the per-sample transport,
honest metadata and the refusal of multivariate components.

The contract and scipy checks of ``mixture_normal`` live in the registry tests;
these are the mixture-specific ones. Monte Carlo checks use fixed keys and pass
within 5 standard errors.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import jaxreparam as jr
from tests.registry import slow_except

NUM = 20_000
LOGITS = np.array([[0.3, -0.2, 0.5], [1.5, 0.0, -1.0]])
LOC = np.array([[-1.5, 0.5, 2.0], [0.0, 1.0, 3.0]])
SCALE = np.array([[0.7, 1.2, 0.5], [1.0, 0.4, 0.8]])
RATE = np.array([[0.5, 2.0, 1.0], [3.0, 0.7, 1.5]])


def _softmax(logits):
    w = np.exp(logits - logits.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True)


def _closed_form_normal(f_name):
    """d E[f(z)] / d (mixture_logits, loc, log_scale), by hand (numpy)."""
    w = _softmax(LOGITS)
    if f_name == "z":  # E[z] = sum w mu
        moment = LOC
        d_loc, d_log_scale = w, np.zeros_like(w)
    else:  # E[z^2] = sum w (mu^2 + s^2)
        moment = LOC**2 + SCALE**2
        d_loc, d_log_scale = 2 * w * LOC, 2 * w * SCALE**2
    total = np.sum(w * moment, -1, keepdims=True)
    return w * (moment - total), d_loc, d_log_scale


def _closed_form_exponential(f_name):
    """d E[f(z)] / d (mixture_logits, log_rate) for a mixture of Exponentials."""
    w = _softmax(LOGITS)
    if f_name == "z":  # E[z] = sum w / r
        moment, d_log_rate = 1 / RATE, -w / RATE
    else:  # E[z^2] = sum 2 w / r^2
        moment, d_log_rate = 2 / RATE**2, -4 * w / RATE**2
    total = np.sum(w * moment, -1, keepdims=True)
    return w * (moment - total), d_log_rate


def _per_sample_jacobian(family, params, f, key):
    """``d f(z_s) / d params`` for ``NUM`` draws: leaves of shape (NUM, 2, 3)."""

    def values(params):
        return f(family.sample(key, params, (NUM,)))  # (NUM, 2)

    jac = jax.jacfwd(lambda p: jnp.sum(values(p), axis=1))(params)
    # d f(z_s[b]) / d param[b', k] is zero unless b == b'; summing over b keeps it.
    return jax.tree.map(lambda j: np.asarray(j, np.float64), jac)


def _assert_within_5_se(draws, expected, what):
    mean = draws.mean(0)
    se = draws.std(0, ddof=1) / np.sqrt(draws.shape[0])
    assert np.all(se > 0), what
    err = np.abs(mean - expected)
    assert np.all(err < 5 * se), (what, mean, expected, se)


@pytest.mark.parametrize("f_name", slow_except(["z", "z2"], {"z2"}))
def test_normal_mixture_gradient_matches_closed_form(f_name):
    f = (lambda z: z) if f_name == "z" else (lambda z: z**2)
    with jax.enable_x64(True):
        params = jr.mixture_normal.init(mixture_logits=LOGITS, loc=LOC, scale=SCALE)
        jac = _per_sample_jacobian(jr.mixture_normal, params, f, jax.random.key(1))
    expected = _closed_form_normal(f_name)
    got = (jac.mixture_logits, jac.components.loc, jac.components.log_scale)
    for name, draws, want in zip(
        ("logits", "loc", "log_scale"), got, expected, strict=True
    ):
        _assert_within_5_se(draws, want, (f_name, name))
    # The weights' gradient is not zero (what numpyro and distrax return).
    assert np.all(np.abs(expected[0]) > 5 * jac.mixture_logits.std(0) / np.sqrt(NUM))


@pytest.mark.parametrize("f_name", slow_except(["z", "z2"], {"z"}))
def test_another_component_family_exponential(f_name):
    f = (lambda z: z) if f_name == "z" else (lambda z: z**2)
    family = jr.mixture(jr.exponential)
    with jax.enable_x64(True):
        params = family.init(mixture_logits=LOGITS, rate=RATE)
        jac = _per_sample_jacobian(family, params, f, jax.random.key(2))
    expected = _closed_form_exponential(f_name)
    _assert_within_5_se(jac.mixture_logits, expected[0], (f_name, "logits"))
    _assert_within_5_se(jac.components.log_rate, expected[1], (f_name, "log_rate"))


def _moved(raw, name, k, delta):
    moved = {n: v.copy() for n, v in raw.items()}
    moved[name][k] += delta
    return moved["logits"], moved["loc"], np.exp(moved["log_scale"])


def _scipy_cdf_terms(z, logits, loc, scale):
    """The mixture CDF ``sum_k w_k P(Z_k <= z)`` from scipy, as separate terms.

    Where ``z`` is above a component's median its term is ``w_k - w_k sf_k(z)``,
    kept as the two terms, so that differences never lose a small tail to
    ``1 - sf``.
    """
    w = _softmax(logits)
    upper = z > loc
    tail = np.where(upper, -st.norm.sf(z, loc, scale), st.norm.cdf(z, loc, scale))
    return np.concatenate([w * tail, np.where(upper, w, 0.0)])


def _cdf_derivative(z, raw, name, k, h):
    """``dF(z)/d raw[name][k]`` by fourth-order central differences, term by term."""
    f = lambda delta: _scipy_cdf_terms(z, *_moved(raw, name, k, delta))
    terms = 8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))
    return np.sum(terms) / (12 * h)


GRID = {
    "balanced": ([0.0, 0.0, 0.0], [-1.0, 0.0, 1.0], [1.0, 1.0, 1.0]),
    "uneven weights": ([4.0, -3.0, 0.0], [-2.0, 0.5, 3.0], [0.5, 2.0, 1.0]),
    "scales 1e-3 to 1e3": ([0.0, 0.5, -0.5], [0.0, 1.0, -5.0], [1e-3, 1.0, 1e3]),
    "far apart": ([0.0, 0.0, 0.0], [-100.0, 0.0, 100.0], [1.0, 0.1, 10.0]),
}


@pytest.mark.parametrize("setting", slow_except(list(GRID), {"uneven weights"}))
def test_per_sample_gradient_is_the_implicit_transport(setting):
    """Each draw's gradient (float64) equals ``-(dF/dtheta) / q``, with ``dF`` by
    finite differences of scipy's CDF: relative error under 1e-6, every entry."""
    logits, loc, scale = (np.asarray(v, np.float64) for v in GRID[setting])
    with jax.enable_x64(True):
        params = jr.mixture_normal.init(mixture_logits=logits, loc=loc, scale=scale)
        draw = lambda p: jr.mixture_normal.sample(jax.random.key(3), p, (12,))
        z = np.asarray(draw(params))
        jac = jax.jacfwd(draw)(params)
        q = np.exp(np.asarray(jr.mixture_normal.log_prob(params, z)))
        got = {
            "logits": np.asarray(jac.mixture_logits),
            "loc": np.asarray(jac.components.loc),
            "log_scale": np.asarray(jac.components.log_scale),
        }
    raw = {"logits": logits, "loc": loc, "log_scale": np.log(scale)}
    worst = 0.0
    for s, z_s in enumerate(z):
        for name in raw:
            for k in range(3):
                h = 1e-5 * (scale[k] if name == "loc" else 1.0)
                expected = -_cdf_derivative(z_s, raw, name, k, h) / q[s]
                actual = got[name][s, k]
                if expected == actual == 0:  # both underflow (far apart)
                    continue
                error = abs(actual - expected) / max(abs(expected), 1e-300)
                worst = max(worst, error)
    assert worst < 1e-6, (setting, worst)  # measured: at most 9e-8


@pytest.mark.slow  # run by CI after the default run
def test_peer_numpyro_gives_zero_weight_gradient_ours_does_not():
    numpyro_dist = pytest.importorskip("numpyro.distributions")
    logits, loc = jnp.array([0.0, 1.0]), jnp.array([-2.0, 2.0])

    def peer(logits):
        mix = numpyro_dist.MixtureSameFamily(
            numpyro_dist.Categorical(logits=logits), numpyro_dist.Normal(loc, 1.0)
        )
        return jnp.mean(mix.sample(jax.random.key(0), (2000,)))

    def ours(logits):
        params = jr.mixture_normal.init(mixture_logits=logits, loc=loc, scale=1.0)
        return jnp.mean(jr.mixture_normal.sample(jax.random.key(0), params, (2000,)))

    # d E[z] / d logits = w (mu - E z) = (-1, 1) * w0 w1 * 4 ~ (-0.79, 0.79).
    w = _softmax(np.array([0.0, 1.0]))
    expected = w * (np.array([-2.0, 2.0]) - w @ np.array([-2.0, 2.0]))
    assert np.all(np.asarray(jax.grad(peer)(logits)) == 0)  # silently zero
    np.testing.assert_allclose(jax.grad(ours)(logits), expected, atol=0.1)


def test_single_component_is_the_component():
    params = jr.mixture_normal.init(mixture_logits=0.3, loc=0.5, scale=2.0)
    assert jr.mixture_normal.batch_shape(params) == ()
    z = jnp.linspace(-3.0, 3.0, 7)
    np.testing.assert_allclose(
        jr.mixture_normal.log_prob(params, z),
        jr.normal.log_prob(jr.normal.init(loc=0.5, scale=2.0), z),
        rtol=1e-6,
    )


def test_make_is_cached_and_params_types_are_distinct():
    assert jr.mixture(jr.normal) is jr.mixture_normal
    exponential_mixture = jr.mixture(jr.exponential)
    assert jr.mixture(jr.exponential) is exponential_mixture
    assert exponential_mixture.name == "mixture_exponential"
    p = exponential_mixture.init(mixture_logits=[0.0, 1.0], rate=[1.0, 2.0])
    q = jr.mixture_normal.init(mixture_logits=[0.0, 1.0], loc=0.0, scale=1.0)
    assert type(p).__name__ == "ExponentialMixtureParams"
    assert jr.family_of(p) is exponential_mixture
    assert jr.family_of(q) is jr.mixture_normal
    assert isinstance(p, jr.distributions.MixtureParams)


def test_every_family_states_whether_it_is_reparameterized():
    for family in jr.FAMILIES.values():
        assert isinstance(family.reparameterized, bool), family.name
    assert jr.mixture_normal.reparameterized


def test_mixture_without_cdf_is_not_reparameterized_and_pathwise_refuses(key):
    # A component family with no CDF: the transform is unavailable.
    missing = jr.Family._field_defaults["cdf"]
    no_cdf = jr.normal._replace(name="normal_no_cdf", cdf=missing)
    assert not no_cdf.has("cdf")
    family = jr.mixture(no_cdf)
    assert not family.reparameterized
    params = family.init(mixture_logits=[0.0, 1.0], loc=[-1.0, 1.0], scale=1.0)
    f = lambda z: z
    with pytest.raises(ValueError, match="mixture_normal_no_cdf"):
        jr.estimators.pathwise(key, params, family, f, num_samples=4)
    # The score function does not need a pathwise sample.
    grad = jax.grad(jr.estimators.score_function, argnums=1)
    g = grad(key, params, family, f, num_samples=64)
    assert np.all(np.isfinite(np.asarray(g.mixture_logits)))


def test_component_that_is_not_reparameterized_makes_the_mixture_not(key):
    family = jr.mixture(jr.normal._replace(name="normal_opaque", reparameterized=False))
    assert not family.reparameterized
    params = family.init(mixture_logits=[0.0, 1.0], loc=[-1.0, 1.0], scale=1.0)
    with pytest.raises(ValueError, match="mixture_normal_opaque"):
        jr.estimators.pathwise(key, params, family, lambda z: z)


def test_multivariate_components_are_refused():
    family = jr.mixture(jr.multivariate_normal_diag)
    with pytest.raises(ValueError, match="univariate components"):
        family.init(
            mixture_logits=jnp.zeros(2),
            loc=jnp.zeros((2, 3)),
            scale_diag=jnp.ones((2, 3)),
        )


# --------------------------------------------------------------------------- #
# Mixtures of products of independent components (diagonal Gaussians on R^2).

LOC2 = np.array(
    [[[-1.5, 0.5, 2.0], [1.0, -1.0, 0.0]], [[0.0, 1.0, 3.0], [2.0, 0.0, -2.0]]]
)
SCALE2 = np.array(
    [[[0.7, 1.2, 0.5], [1.0, 0.4, 0.8]], [[1.0, 0.4, 0.8], [0.5, 1.5, 0.6]]]
)


def _closed_form_independent(f_name):
    """d E[f(z)] / d (mixture_logits, loc, log_scale) by hand, for f = z1 z2 (the
    coordinates' coupling through the weights) or f = z1^2 + z2^2."""
    w = _softmax(LOGITS)
    mu1, mu2 = LOC2[:, 0], LOC2[:, 1]
    if f_name == "z1 z2":  # E = sum w mu1 mu2
        moment = mu1 * mu2
        d_loc = np.stack([w * mu2, w * mu1], 1)
        d_log_scale = np.zeros_like(LOC2)
    else:  # E = sum w (mu1^2 + s1^2 + mu2^2 + s2^2)
        moment = np.sum(LOC2**2 + SCALE2**2, axis=1)
        d_loc = 2 * w[:, None] * LOC2
        d_log_scale = 2 * w[:, None] * SCALE2**2
    total = np.sum(w * moment, -1, keepdims=True)
    return w * (moment - total), d_loc, d_log_scale


@pytest.mark.parametrize("f_name", slow_except(["z1 z2", "z1^2 + z2^2"], {"z1 z2"}))
def test_independent_mixture_gradient_matches_closed_form(f_name):
    if f_name == "z1 z2":
        f = lambda z: z[..., 0] * z[..., 1]
    else:
        f = lambda z: jnp.sum(z**2, axis=-1)
    family = jr.mixture_independent_normal
    with jax.enable_x64(True):
        params = family.init(mixture_logits=LOGITS, loc=LOC2, scale=SCALE2)
        jac = _per_sample_jacobian(family, params, f, jax.random.key(4))
    expected = _closed_form_independent(f_name)
    got = (jac.mixture_logits, jac.components.loc, jac.components.log_scale)
    names = ("logits", "loc", "log_scale")
    for name, draws, want in zip(names, got, expected, strict=True):
        _assert_within_5_se(draws, want, (f_name, name))


def _coordinate_cdf_sf(z, weights, loc, scale):
    """A coordinate's (conditional) mixture CDF and survival function, from scipy."""
    cdf = np.sum(weights * st.norm.cdf(z, loc, scale))
    return cdf, np.sum(weights * st.norm.sf(z, loc, scale))


def _solve_coordinate(target, weights, loc, scale):
    """The root of ``F(x) = cdf`` (or ``S(x) = sf`` in the upper half), by brentq."""
    from scipy.optimize import brentq

    cdf, sf = target
    if cdf < 0.5:
        value = lambda x: _coordinate_cdf_sf(x, weights, loc, scale)[0] - cdf
    else:
        value = lambda x: sf - _coordinate_cdf_sf(x, weights, loc, scale)[1]
    return brentq(value, -60.0, 60.0, xtol=1e-15, rtol=1e-15, maxiter=500)


def _rosenblatt_inverse(u, logits, loc, scale):
    """``z`` with ``(F_1(z_1), F_2(z_2 | z_1)) = u`` by scipy root finding; ``u``
    holds ``(cdf, sf)`` pairs, so that the smaller tail is matched."""
    weights, z = _softmax(logits), []
    for d, target in enumerate(u):
        root = _solve_coordinate(target, weights, loc[d], scale[d])
        z.append(root)
        weights = weights * st.norm.pdf(root, loc[d], scale[d])
        weights = weights / weights.sum()
    return np.array(z)


def _rosenblatt_forward(z, logits, loc, scale):
    weights, u = _softmax(logits), []
    for d in range(len(z)):
        u.append(_coordinate_cdf_sf(z[d], weights, loc[d], scale[d]))
        weights = weights * st.norm.pdf(z[d], loc[d], scale[d])
        weights = weights / weights.sum()
    return u


@pytest.mark.parametrize("setting", slow_except(["balanced", "uneven"], {"uneven"}))
def test_independent_per_sample_gradient_is_the_rosenblatt_transport(setting):
    """Each draw's gradient (float64) against central differences of the inverse
    sequential transform computed by scipy root finding: relative error < 1e-6."""
    if setting == "balanced":
        logits = np.zeros(3)
        loc, scale = np.array([[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]]), np.ones((2, 3))
    else:
        logits = np.array([2.0, -1.0, 0.0])
        loc = np.array([[-2.0, 0.5, 3.0], [0.0, 4.0, -1.0]])
        scale = np.array([[0.5, 2.0, 1.0], [0.1, 1.0, 3.0]])
    family = jr.mixture_independent_normal
    with jax.enable_x64(True):
        params = family.init(mixture_logits=logits, loc=loc, scale=scale)
        draw = lambda p: family.sample(jax.random.key(5), p, (8,))
        z = np.asarray(draw(params))
        jac = jax.jacfwd(draw)(params)
        got = {
            "logits": np.asarray(jac.mixture_logits),
            "loc": np.asarray(jac.components.loc),
            "log_scale": np.asarray(jac.components.log_scale),
        }
    raw = {"logits": logits, "loc": loc, "log_scale": np.log(scale)}
    worst = 0.0
    for s, z_s in enumerate(z):
        u = _rosenblatt_forward(z_s, logits, loc, np.exp(raw["log_scale"]))
        np.testing.assert_allclose(_rosenblatt_inverse(u, logits, loc, scale), z_s)
        for name, value in raw.items():
            for index in np.ndindex(value.shape):
                h = 1e-5 * (scale[index] if name == "loc" else 1.0)

                def inverse(delta, name=name, index=index, u=u):
                    moved = {n: v.copy() for n, v in raw.items()}
                    moved[name][index] += delta
                    return _rosenblatt_inverse(
                        u, moved["logits"], moved["loc"], np.exp(moved["log_scale"])
                    )

                expected = (
                    8 * (inverse(h) - inverse(-h)) - (inverse(2 * h) - inverse(-2 * h))
                ) / (12 * h)
                actual = got[name][(s, slice(None), *index)]
                scale_of = np.maximum(
                    np.abs(expected), 1e-3 * np.abs(got[name][s]).max()
                )
                worst = max(worst, np.max(np.abs(actual - expected) / scale_of))
    assert worst < 1e-6, (setting, worst)


@pytest.mark.slow  # CI runs it; the default run keeps the suite near 10 min
def test_one_coordinate_independent_mixture_is_the_univariate_one():
    key = lambda: jax.random.key(6)
    uni = jr.mixture_normal.init(mixture_logits=LOGITS, loc=LOC, scale=SCALE)
    ind = jr.mixture_independent_normal.init(
        mixture_logits=LOGITS, loc=LOC[:, None], scale=SCALE[:, None]
    )
    z_uni = jr.mixture_normal.sample(key(), uni, (5,))
    z_ind = jr.mixture_independent_normal.sample(key(), ind, (5,))
    np.testing.assert_array_equal(z_ind[..., 0], z_uni)
    j_uni = jax.jacfwd(lambda p: jr.mixture_normal.sample(key(), p, (5,)))(uni)
    j_ind = jax.jacfwd(lambda p: jr.mixture_independent_normal.sample(key(), p, (5,)))(
        ind
    )
    np.testing.assert_allclose(
        j_ind.mixture_logits[:, :, 0], j_uni.mixture_logits, rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        j_ind.components.loc[:, :, 0, :, 0, :],
        j_uni.components.loc,
        rtol=1e-5,
        atol=1e-7,
    )


@pytest.mark.parametrize("setting", slow_except(list(GRID), set()))
def test_float32_samples_and_gradients_are_finite(setting):
    logits, loc, scale = (jnp.asarray(v, jnp.float32) for v in GRID[setting])
    params = jr.mixture_normal.init(mixture_logits=logits, loc=loc, scale=scale)
    draw = lambda p: jr.mixture_normal.sample(jax.random.key(9), p, (500,))
    z, lp = jr.mixture_normal.sample_and_log_prob(jax.random.key(9), params, (500,))
    assert np.all(np.isfinite(z))
    assert np.all(np.isfinite(lp))
    for leaf in jax.tree.leaves(jax.jacfwd(draw)(params)):
        assert np.all(np.isfinite(leaf)), setting
