"""The multivariate normal's three scales against scipy, closed forms and peers.

References are computed here from the natural values, sharing no code with the
library: ``cov = diag(s^2)``, ``tril(L) tril(L)^T`` or ``W W^T + diag(d)``.
Statistical checks use fixed keys: each KS test rejects at p < 0.01 (a stated 1%
false-positive rate per test for a correct sampler), and Monte Carlo gradients
must lie within 5 standard errors of the closed form.
"""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import jaxreparam as jr
from jaxreparam.distributions import _multivariate_normal as mvn  # noqa: E402
from jaxreparam.kl import _kl_gaussian
from tests.registry import CASES, slow_except

NAMES = [name for name in CASES if name.startswith("multivariate_normal")]
NUM_KS = 10_000
NUM_GRAD = 20_000


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


def covariance_of(name, nat, xp=np):
    """The dense covariance from natural values, written independently."""
    if name.endswith("diag"):
        s = nat["scale_diag"]
        return xp.eye(s.shape[-1]) * s[..., None, :] ** 2
    if name.endswith("tril"):
        lower = xp.tril(nat["scale_tril"])
        return lower @ xp.swapaxes(lower, -1, -2)
    w, d = nat["cov_factor"], nat["cov_diag"]
    return w @ xp.swapaxes(w, -1, -2) + xp.eye(d.shape[-1]) * d[..., None, :]


def setup(name):
    case = CASES[name]
    return case.family, case.family.init(**case.natural), case.natural


# --------------------------------------------------------------------------- #
# Densities and closed forms against scipy.


def test_log_prob_matches_scipy(name):
    with jax.enable_x64(True):
        family, params, nat = setup(name)
        cov = covariance_of(name, nat)
        z = np.asarray(family.sample(jax.random.key(0), params, (20,)))
        z = np.concatenate([z, z[::-1] * 3.0 + 1.0])  # also far from the mean
        got = np.asarray(family.log_prob(params, z))
        for b in range(2):
            ref = st.multivariate_normal(nat["loc"][b], cov[b])
            np.testing.assert_allclose(got[:, b], ref.logpdf(z[:, b]), rtol=1e-10)


def test_moments_and_entropy_match_closed_forms(name):
    with jax.enable_x64(True):
        family, params, nat = setup(name)
        cov = covariance_of(name, nat)
        np.testing.assert_allclose(mvn.covariance(params), cov, rtol=1e-12)
        np.testing.assert_allclose(family.mean(params), nat["loc"], rtol=1e-12)
        np.testing.assert_allclose(
            family.variance(params), np.diagonal(cov, axis1=-2, axis2=-1), rtol=1e-12
        )
        _, log_det = np.linalg.slogdet(2 * math.pi * math.e * cov)
        np.testing.assert_allclose(family.entropy(params), 0.5 * log_det, rtol=1e-12)
        scipy_entropy = [
            st.multivariate_normal(nat["loc"][b], cov[b]).entropy() for b in range(2)
        ]
        np.testing.assert_allclose(family.entropy(params), scipy_entropy, rtol=1e-10)


def test_entropy_matches_monte_carlo(name):
    with jax.enable_x64(True):
        family, params, _ = setup(name)
        _, lp = family.sample_and_log_prob(jax.random.key(5), params, (NUM_KS,))
        lp = np.asarray(lp)
        se = lp.std(0) / np.sqrt(NUM_KS)
        np.testing.assert_array_less(
            np.abs(-lp.mean(0) - family.entropy(params)), 5 * se
        )


# --------------------------------------------------------------------------- #
# Samples against the exact distribution.


@pytest.mark.parametrize("transform", ["eager", "jit"])
def test_samples_follow_the_distribution(name, transform):
    """KS tests of the squared Mahalanobis distance against chi2(n) and of every
    marginal against its normal: 8 tests per case, each at level 1% / 8
    (Bonferroni), so that a correct sampler fails a case 1% of the time.

    With ``p > 0.01`` for each test, 24 tests have a 21% chance of one false
    rejection; here three chance rejections occurred in 72 tests over three key
    choices (p = 0.0094, 0.003, 0.0013). Each was checked to be chance: the same
    coordinates pass with 2e5-1e6 draws, and over 100-300 keys the p-values of
    jax.random.normal's coordinates and of the low-rank chi2 test are uniform.
    """
    family, params, nat = setup(name)
    sample = (
        family.sample
        if transform == "eager"
        else jax.jit(family.sample, static_argnums=2)
    )
    key = jax.random.fold_in(jax.random.key(12), NAMES.index(name))
    z = np.asarray(sample(key, params, (NUM_KS,)), np.float64)
    cov = covariance_of(name, nat)
    n = z.shape[-1]
    pvalues = {}
    for b in range(2):
        r = z[:, b] - nat["loc"][b]
        maha = np.einsum("si,ij,sj->s", r, np.linalg.inv(cov[b]), r)
        pvalues[b, "chi2"] = st.kstest(maha, st.chi2(n).cdf).pvalue
        for i in range(n):
            marginal = st.norm(nat["loc"][b, i], np.sqrt(cov[b, i, i]))
            pvalues[b, i] = st.kstest(z[:, b, i], marginal.cdf).pvalue
    assert min(pvalues.values()) > 0.01 / len(pvalues), pvalues


def test_low_rank_sample_is_one_draw_split_in_two(key):
    family, params, nat = setup("multivariate_normal_low_rank")
    k = nat["cov_factor"].shape[-1]
    eps = jax.random.normal(jax.random.clone(key), (4, 2, k + 3))
    eps = np.asarray(eps, np.float64)
    expected = (
        nat["loc"]
        + np.einsum("bnk,sbk->sbn", nat["cov_factor"], eps[..., :k])
        + np.sqrt(nat["cov_diag"]) * eps[..., k:]
    )
    z = family.sample(key, params, (4,))
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [3, 16, 70])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_tril_noise_is_jax_random_normal(key, n, batch):
    """``z = loc + L eps`` with ``eps = jax.random.normal(key, shape)`` exactly,
    on each path: a short event drawn flat and scaled as ``L eps^T`` (n = 3),
    drawn flat and scaled as ``eps L^T`` (16), drawn as is (70); L batched or not.
    """
    rng = np.random.default_rng(n)
    loc = rng.normal(size=batch + (n,)).astype(np.float32)
    lower = np.tril(rng.normal(size=batch + (n, n))) + 3 * np.eye(n)
    params = jr.multivariate_normal_tril.init(loc=loc, scale_tril=lower)
    shape = (5, 3) + batch + (n,)
    eps = np.asarray(jax.random.normal(jax.random.clone(key), shape))
    lower = np.asarray(mvn.covariance_factors(params)[0], np.float64)
    expected = loc + np.einsum("...ij,st...j->st...i", lower, eps)
    for fn in (mvn.sample, lambda k, p, s: mvn.sample_and_log_prob(k, p, s)[0]):
        z = fn(jax.random.clone(key), params, (5, 3))
        np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-5)
    _, log_q = mvn.sample_and_log_prob(key, params, (5, 3))
    log_det = np.linalg.slogdet(lower)[1]
    want = -0.5 * np.sum(eps**2, -1) - log_det - n * math.log(2 * math.pi) / 2
    np.testing.assert_allclose(log_q, want, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("n", [3, 16, 70])
def test_tril_gradient_same_on_each_path(key, n):
    """The pathwise gradient in float64 equals that of ``loc + eps L^T`` written
    out with ``jnp.einsum``, on each of the three paths above."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(n)
        lower = np.tril(rng.normal(size=(n, n))) + 3 * np.eye(n)
        params = jr.multivariate_normal_tril.init(
            loc=rng.normal(size=n), scale_tril=lower
        )
        eps = jax.random.normal(jax.random.clone(key), (5, 3, n), jnp.float64)

        def written_out(p):
            factor = mvn.covariance_factors(p)[0]
            return jnp.sum(jnp.sin(p.loc + jnp.einsum("ij,stj->sti", factor, eps)))

        def library(p):
            return jnp.sum(jnp.sin(mvn.sample(jax.random.clone(key), p, (5, 3))))

        got, want = jax.grad(library)(params), jax.grad(written_out)(params)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def lowered(fn, *args):
    return str(jax.make_jaxpr(fn)(*args))


def test_hot_paths_are_lean():
    """One normal draw each; no triangular solve in the fused Cholesky path; no
    n x n matrix anywhere in the low-rank density (n = 50, k = 2)."""
    for name in NAMES:
        family, params, _ = setup(name)
        for fn in (family.sample, family.sample_and_log_prob):
            text = lowered(lambda p, fn=fn: fn(jax.random.key(0), p, (3,)), params)
            assert text.count("random_bits[") == 1, (name, fn)
    _, params, _ = setup("multivariate_normal_tril")
    text = lowered(lambda p: mvn.sample_and_log_prob(jax.random.key(0), p), params)
    assert "triangular_solve" not in text
    assert "triangular_solve" in lowered(mvn.log_prob, params, jnp.zeros(3))
    n = 50
    params = jr.multivariate_normal_low_rank.init(
        loc=jnp.zeros(n), cov_factor=jnp.ones((n, 2)), cov_diag=jnp.ones(n)
    )
    for text in (
        lowered(mvn.log_prob, params, jnp.zeros((7, n))),
        lowered(lambda p: mvn.sample_and_log_prob(jax.random.key(0), p, (7,)), params),
        lowered(mvn.entropy, params),
    ):
        assert f"{n},{n}]" not in text


# --------------------------------------------------------------------------- #
# Pathwise gradients of E[f(z)] against the closed form.

A_VEC = np.array([0.7, -1.3, 0.4])
A_MAT = np.array([[1.0, 0.3, -0.2], [0.1, 0.8, 0.5], [-0.4, 0.2, 1.5]])
FUNCTIONS = {
    # f(z) summed over the batch; E[a^T z] = a^T mu, E[z^T A z] = tr(A S) + mu^T A mu.
    "linear": (
        lambda z: jnp.sum(z @ A_VEC),
        lambda name, nat: jnp.sum(nat["loc"] @ A_VEC),
    ),
    "quadratic": (
        lambda z: jnp.sum(jnp.einsum("...i,ij,...j->...", z, A_MAT, z)),
        lambda name, nat: jnp.sum(
            jnp.einsum("ij,bji->b", A_MAT, covariance_of(name, nat, jnp))
            + jnp.einsum("bi,ij,bj->b", nat["loc"], A_MAT, nat["loc"])
        ),
    ),
}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_gradient_of_expectation_matches_closed_form(name, function):
    f, closed_form = FUNCTIONS[function]
    with jax.enable_x64(True):
        family = CASES[name].family
        nat = {k: jnp.asarray(v) for k, v in CASES[name].natural.items()}

        def one(nat, key):
            return f(family.sample(key, family.init(**nat)))

        keys = jax.random.split(jax.random.key(17), NUM_GRAD)
        per_sample = jax.jit(jax.vmap(jax.grad(one), in_axes=(None, 0)))(nat, keys)
        reference = jax.grad(lambda nat: closed_form(name, nat))(nat)
        for arg, grads in per_sample.items():
            grads = np.asarray(grads)
            mean, se = grads.mean(0), grads.std(0) / np.sqrt(NUM_GRAD)
            error = np.abs(mean - np.asarray(reference[arg]))
            assert np.all(error <= 5 * se + 1e-12), (arg, error, se)


# --------------------------------------------------------------------------- #
# Peers: the same noise gives the same draws and the same gradients.


def peer_diag(nat, key, num):
    distrax = pytest.importorskip("distrax")
    dist = distrax.MultivariateNormalDiag(nat["loc"], nat["scale_diag"])
    return dist.sample(seed=key, sample_shape=num)


def peer_tril_numpyro(nat, key, num):
    nd = pytest.importorskip("numpyro.distributions")
    return nd.MultivariateNormal(nat["loc"], scale_tril=nat["scale_tril"]).sample(
        key, (num,)
    )


def peer_tril_distrax(nat, key, num):
    distrax = pytest.importorskip("distrax")
    dist = distrax.MultivariateNormalTri(nat["loc"], nat["scale_tril"])
    return dist.sample(seed=key, sample_shape=num)


PEERS = {
    "distrax-diag": ("multivariate_normal_diag", peer_diag),
    "numpyro-tril": ("multivariate_normal_tril", peer_tril_numpyro),
    "distrax-tril": ("multivariate_normal_tril", peer_tril_distrax),
}


@pytest.mark.parametrize(
    ("peer", "function"),
    slow_except(
        [(p, f) for p in PEERS for f in FUNCTIONS],
        {"distrax-diag-linear", "numpyro-tril-quadratic"},
        ids=[f"{p}-{f}" for p in PEERS for f in FUNCTIONS],
    ),
)
def test_multivariate_gradient_matches_peer_under_same_noise(peer, function):
    name, peer_sample = PEERS[peer]
    f, _ = FUNCTIONS[function]
    family = CASES[name].family
    num = 1_000
    with jax.enable_x64(True):
        nat = {k: jnp.asarray(v) for k, v in CASES[name].natural.items()}
        ours = family.sample(jax.random.key(8), family.init(**nat), (num,))
        theirs = peer_sample(nat, jax.random.key(8), num)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)

        def loss_ours(nat):
            return f(family.sample(jax.random.key(8), family.init(**nat), (num,))) / num

        def loss_theirs(nat):
            return f(peer_sample(nat, jax.random.key(8), num)) / num

        g_ours, g_theirs = jax.grad(loss_ours)(nat), jax.grad(loss_theirs)(nat)
        np.testing.assert_allclose(g_ours["loc"], g_theirs["loc"], rtol=1e-10)
        for arg in set(nat) - {"loc"}:
            # Only the lower triangle of scale_tril is a parameter of ours.
            mask = np.tril(np.ones(3)) if arg == "scale_tril" else 1.0
            np.testing.assert_allclose(
                g_ours[arg], g_theirs[arg] * mask, rtol=1e-10, atol=1e-12
            )


@pytest.mark.slow  # run by CI after the default run
def test_low_rank_matches_numpyro():
    """numpyro splits its key into two draws, so its noise differs from ours:
    densities and their gradients must agree to float tolerance, and the Monte
    Carlo gradients of E[z^T A z] within 5 standard errors of their difference."""
    nd = pytest.importorskip("numpyro.distributions")
    name = "multivariate_normal_low_rank"
    family = CASES[name].family
    f, _ = FUNCTIONS["quadratic"]
    with jax.enable_x64(True):
        nat = {k: jnp.asarray(v) for k, v in CASES[name].natural.items()}

        def peer(nat):
            return nd.LowRankMultivariateNormal(
                nat["loc"], nat["cov_factor"], nat["cov_diag"]
            )

        z = family.sample(jax.random.key(2), family.init(**nat), (50,)) * 2.0
        np.testing.assert_allclose(
            family.log_prob(family.init(**nat), z), peer(nat).log_prob(z), rtol=1e-10
        )
        g_ours = jax.grad(lambda nat: family.log_prob(family.init(**nat), z).sum())(nat)
        g_theirs = jax.grad(lambda nat: peer(nat).log_prob(z).sum())(nat)
        for arg in nat:
            np.testing.assert_allclose(g_ours[arg], g_theirs[arg], rtol=1e-9)

        keys = jax.random.split(jax.random.key(19), NUM_GRAD)
        ours = jax.jit(
            jax.vmap(
                jax.grad(lambda nat, key: f(family.sample(key, family.init(**nat)))),
                in_axes=(None, 0),
            )
        )(nat, keys)
        theirs = jax.jit(
            jax.vmap(
                jax.grad(lambda nat, key: f(peer(nat).rsample(key))),
                in_axes=(None, 0),
            )
        )(nat, jax.random.split(jax.random.key(23), NUM_GRAD))
        for arg in nat:
            a, b = np.asarray(ours[arg]), np.asarray(theirs[arg])
            se = np.sqrt((a.var(0) + b.var(0)) / NUM_GRAD)
            assert np.all(np.abs(a.mean(0) - b.mean(0)) <= 5 * se + 1e-12), arg


# --------------------------------------------------------------------------- #
# The diagonal scale is a product of univariate Normals; KL fast path.


def test_multivariate_diag_is_a_product_of_normals(key):
    with jax.enable_x64(True):
        family, params, nat = setup("multivariate_normal_diag")
        normal = jr.normal.init(loc=nat["loc"], scale=nat["scale_diag"])
        z = family.sample(key, params, (6,))
        same_key = jax.random.clone(key)
        np.testing.assert_array_equal(z, jr.normal.sample(same_key, normal, (6,)))
        np.testing.assert_allclose(
            family.log_prob(params, z),
            jr.normal.log_prob(normal, z).sum(-1),
            rtol=1e-12,
        )
        np.testing.assert_allclose(
            family.entropy(params), jr.normal.entropy(normal).sum(-1), rtol=1e-12
        )
        other = CASES["multivariate_normal_tril"].natural  # any second loc
        q = family.init(loc=other["loc"], scale_diag=nat["scale_diag"][::-1])
        q_normal = jr.normal.init(loc=other["loc"], scale=nat["scale_diag"][::-1])
        np.testing.assert_allclose(
            jr.kl_divergence(params, q),
            jr.kl_divergence(normal, q_normal).sum(-1),
            rtol=1e-12,
        )
        # The diag-diag fast path agrees with the general formula.
        np.testing.assert_allclose(
            jr.kl_divergence(params, q), _kl_gaussian(params, q), rtol=1e-12
        )


def test_kl_is_the_same_across_scales_for_the_same_gaussian():
    """One Gaussian written with each of the three scales gives one KL."""
    with jax.enable_x64(True):
        loc = np.array([0.3, -0.5, 1.0])
        s = np.array([0.7, 1.2, 0.9])
        same = [
            jr.multivariate_normal_diag.init(loc=loc, scale_diag=s),
            jr.multivariate_normal_tril.init(loc=loc, scale_tril=np.diag(s)),
            jr.multivariate_normal_low_rank.init(
                loc=loc, cov_factor=np.zeros((3, 1)), cov_diag=s**2
            ),
        ]
        q = CASES["multivariate_normal_tril"].family.init(
            **CASES["multivariate_normal_tril"].natural
        )
        values = [np.asarray(jr.kl_divergence(p, q)) for p in same]
        values += [np.asarray(jr.kl_divergence(q, p)) for p in same]
        for v in values[1:3]:
            np.testing.assert_allclose(v, values[0], rtol=1e-12)
        for v in values[4:]:
            np.testing.assert_allclose(v, values[3], rtol=1e-12)


def test_kl_rejects_different_event_sizes():
    p = jr.multivariate_normal_diag.init(loc=np.zeros(3), scale_diag=1.0)
    q = jr.multivariate_normal_tril.init(loc=np.zeros(2), scale_tril=np.eye(2))
    with pytest.raises(ValueError, match="event sizes"):
        jr.kl_divergence(p, q)


# --------------------------------------------------------------------------- #
# init: shapes, broadcasting and the Cholesky factor's upper triangle.


def test_upper_triangle_is_ignored(key):
    nat = CASES["multivariate_normal_tril"].natural
    noisy = nat["scale_tril"] + np.triu(np.full((3, 3), 7.0), 1)
    family = jr.multivariate_normal_tril
    clean, dirty = family.init(**nat), family.init(loc=nat["loc"], scale_tril=noisy)
    np.testing.assert_array_equal(clean.raw_scale_tril, dirty.raw_scale_tril)
    # Garbage stored above the diagonal of the params changes nothing either.
    raw = clean.raw_scale_tril + np.triu(np.full((3, 3), -5.0), 1)
    messy = clean._replace(raw_scale_tril=raw)
    z = family.sample(jax.random.clone(key), clean, (3,))
    np.testing.assert_array_equal(family.sample(key, messy, (3,)), z)
    np.testing.assert_allclose(family.log_prob(messy, z), family.log_prob(clean, z))


def test_scalar_scale_tril_is_a_multiple_of_the_identity():
    params = jr.multivariate_normal_tril.init(loc=np.zeros(3), scale_tril=2.0)
    np.testing.assert_allclose(mvn.covariance(params), 4.0 * np.eye(3))


def test_batch_shapes_broadcast(key):
    params = jr.multivariate_normal_low_rank.init(
        loc=np.zeros((4, 1, 3)), cov_factor=np.ones((5, 3, 2)), cov_diag=1.0
    )
    assert mvn.batch_shape(params) == (4, 5)
    assert mvn.event_shape(params) == (3,)
    z = mvn.sample(key, params, (2,))
    assert z.shape == (2, 4, 5, 3)
    assert mvn.log_prob(params, z[:, :, :1]).shape == (2, 4, 5)


@pytest.mark.parametrize(
    ("family", "natural", "match"),
    [
        ("tril", {"loc": np.zeros(3), "scale_tril": np.eye(3)[:, :2]}, "square"),
        ("tril", {"loc": np.zeros(3), "scale_tril": np.ones(3)}, "square"),
        ("tril", {"loc": np.zeros(3), "scale_tril": np.ones((1, 1))}, "scale_tril"),
        (
            "low_rank",
            {"loc": 0.0, "cov_factor": np.ones(3), "cov_diag": 1.0},
            "(..., n, k)",
        ),
        (
            "low_rank",
            {"loc": np.zeros(3), "cov_factor": np.ones((2, 1)), "cov_diag": 1.0},
            "cov_factor",
        ),
    ],
)
def test_init_rejects_bad_matrix_shapes(family, natural, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        getattr(jr, f"multivariate_normal_{family}").init(**natural)


def test_unknown_params_type_is_a_clear_error():
    with pytest.raises(TypeError, match="MultivariateNormalDiagParams"):
        mvn.log_prob(jr.normal.init(), 0.0)
