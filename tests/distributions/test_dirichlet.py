"""Dirichlet, log-Dirichlet, beta and Student's t: transports, small concentrations.

These families move samples through gamma variates, a transport that differs
from the inverse-CDF one. They are checked through what any valid transport
must satisfy: Monte Carlo gradients of ``E[f]`` against closed forms (within 5
standard errors), and, for the Dirichlet, the continuity equation of its
velocity field at given points.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as st

import jaxreparam as jr
from jaxreparam.distributions import _standard_gamma

ALPHA = np.array([0.7, 1.5, 3.0])
NUM = 20_000


def closed_form_expectations(alpha):
    """``E[f(p)]`` under ``Dirichlet(alpha)`` for each tested ``f`` (numpy)."""
    total = alpha.sum()
    return np.array(
        [
            alpha[0] / total,  # p_0
            alpha[0] * alpha[1] / (total * (total + 1)),  # p_0 p_1
            alpha[2] * (alpha[2] + 1) / (total * (total + 1)),  # p_2^2
            sc.digamma(alpha[1]) - sc.digamma(total),  # log p_1
        ]
    )


def test_dirichlet_expectation_gradients_match_closed_forms():
    def per_sample(alpha):
        p = jr.dirichlet.sample(
            jax.random.key(0), jr.dirichlet.init(concentration=alpha), (NUM,)
        )
        return jnp.stack(
            [p[:, 0], p[:, 0] * p[:, 1], p[:, 2] ** 2, jnp.log(p[:, 1])], axis=-1
        )

    with jax.enable_x64(True):
        jac = np.asarray(jax.jacfwd(per_sample)(jnp.asarray(ALPHA)))  # (NUM, 4, 3)
    h = 1e-6
    expected = np.stack(
        [
            (
                closed_form_expectations(ALPHA + h * np.eye(3)[j])
                - closed_form_expectations(ALPHA - h * np.eye(3)[j])
            )
            / (2 * h)
            for j in range(3)
        ],
        axis=-1,
    )
    se = jac.std(0) / np.sqrt(NUM)
    np.testing.assert_array_less(np.abs(jac.mean(0) - expected), 5 * se + 1e-9)


def test_dirichlet_transport_satisfies_the_continuity_equation():
    """``div_p(q v) + dq/da_0 = 0`` at points ``p`` of the 2-simplex.

    With ``x_i = p_i s`` (``s = sum x``, independent of ``p``), the library moves
    ``p_i = x_i / s`` by ``dp_i/da_0 = (delta_i0 - p_i) g(a_0, x_0) / s``, where
    ``g = dx/da`` is the gamma transport. The velocity field is its average over
    ``s ~ Gamma(sum a)``: ``v_i(p) = (delta_i0 - p_i) h(p_0)``, ``h`` a
    Gauss-Laguerre quadrature in ``s``. The divergence is taken by central
    differences in ``(p_0, p_1)``.
    """
    alpha = np.array([1.5, 2.0, 2.5])
    total = alpha.sum()
    nodes, weights = sc.roots_genlaguerre(80, total - 2)  # weight s^(A-2) e^-s

    def h(p0):
        x = p0 * nodes
        with jax.enable_x64(True):
            g = x * _standard_gamma.log_sample_derivative(
                jnp.float64(alpha[0]), jnp.log(jnp.asarray(x))
            )
        return np.sum(weights * np.asarray(g)) / sc.gamma(total)

    def density(p0, p1):
        p = np.array([p0, p1, 1 - p0 - p1])
        return st.dirichlet(alpha).pdf(p)

    def flux(p0, p1, i):
        return density(p0, p1) * ((i == 0) - (p0, p1)[i]) * h(p0)

    step = 1e-5
    for p0, p1 in [(0.2, 0.3), (0.5, 0.1), (0.1, 0.7), (0.33, 0.33)]:
        div = (flux(p0 + step, p1, 0) - flux(p0 - step, p1, 0)) / (2 * step) + (
            flux(p0, p1 + step, 1) - flux(p0, p1 - step, 1)
        ) / (2 * step)
        score = np.log(p0) - sc.digamma(alpha[0]) + sc.digamma(total)
        dq = density(p0, p1) * score
        assert abs(div + dq) < 1e-6 * (abs(dq) + density(p0, p1)), (p0, p1)


def test_dirichlet_sample_gradient_is_the_composed_gamma_transport():
    """Per sample, ``dp/da`` equals the composition above with the same gammas."""
    alpha = jnp.asarray([0.4, 2.0, 7.0])
    key = jax.random.key(2)
    with jax.enable_x64(True):
        alpha = alpha.astype(jnp.float64)

        def draw(a):
            return jr.dirichlet.sample(key, jr.dirichlet.init(concentration=a), (16,))

        jac = np.asarray(jax.jacfwd(draw)(alpha))  # (16, 3, 3): dp_i/da_j
        log_x = _standard_gamma.draw_log(jax.random.clone(key), alpha, (16, 3))
        x = np.exp(np.asarray(log_x))
        g = x * np.asarray(_standard_gamma.log_sample_derivative(alpha, log_x))
    s = x.sum(-1, keepdims=True)
    p = x / s
    expected = (np.eye(3)[None] - p[:, :, None]) * (g / s)[:, None, :]
    np.testing.assert_allclose(jac, expected, rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------------------- #
# Small concentrations in float32, and peers.


@pytest.mark.slow  # CI runs it; the default run keeps the suite near 10 min
@pytest.mark.parametrize("a", [1e-2, 1e-3])
def test_log_dirichlet_small_concentration_float32(a):
    """Where Dirichlet components underflow, log-space samples stay finite, their
    log_prob and gradients too, and (k = 2) ``y_0 - y_1 = log x - log y`` follows
    the difference of two log-gamma variates (two-sample KS against scipy's
    independent sampler, 1% false-positive rate)."""
    conc = jnp.asarray([a, a, 3 * a], jnp.float32)
    params = jr.log_dirichlet.init(concentration=conc)
    y = jr.log_dirichlet.sample(jax.random.key(3), params, (4_000,))
    lp = jr.log_dirichlet.log_prob(params, y)
    assert bool(jnp.all(jnp.isfinite(y)) & jnp.all(jnp.isfinite(lp)))
    assert float(jnp.mean(y < np.log(np.finfo(np.float32).tiny))) > 0.2

    def loss(conc, key):
        p = jr.log_dirichlet.init(concentration=conc)
        y = jr.log_dirichlet.sample(key, p, (256,))
        return jnp.sum(jnp.tanh(y)) + jnp.sum(jr.log_dirichlet.log_prob(p, y))

    assert bool(jnp.all(jnp.isfinite(jax.grad(loss)(conc, jax.random.key(4)))))

    pair = jr.log_dirichlet.init(concentration=jnp.asarray([a, 2 * a], jnp.float32))
    y = np.asarray(jr.log_dirichlet.sample(jax.random.key(5), pair, (4_000,)))
    rng = np.random.default_rng(0)
    ref = st.loggamma(a).rvs(4_000, random_state=rng) - st.loggamma(2 * a).rvs(
        4_000, random_state=rng
    )
    assert st.ks_2samp(y[:, 0] - y[:, 1], ref).pvalue > 0.01


GRID = np.logspace(-3, 3, 13)
FAMILIES = {
    "beta": lambda c: jr.beta.init(concentration1=c, concentration0=c[::-1]),
    "dirichlet": lambda c: jr.dirichlet.init(
        concentration=jnp.stack([c, c[::-1], 2 * c], -1)
    ),
    "log_dirichlet": lambda c: jr.log_dirichlet.init(
        concentration=jnp.stack([c, c[::-1], 2 * c], -1)
    ),
    "student_t": lambda c: jr.student_t.init(df=c, loc=1.0, scale=c[::-1]),
}


@pytest.mark.parametrize("name", FAMILIES)
def test_float32_samples_log_prob_and_gradients_finite(name):
    """Over concentrations (df) 1e-3 .. 1e3 in float32: no NaN or inf anywhere."""
    make = FAMILIES[name]
    family = getattr(jr, name)

    def loss(c, key):
        params = make(c)
        z = family.sample(key, params, (256,))
        return jnp.sum(jnp.tanh(z)) + jnp.sum(family.log_prob(params, z)), z

    grads, z = jax.jit(jax.grad(loss, has_aux=True))(
        jnp.asarray(GRID, jnp.float32), jax.random.key(6)
    )
    assert bool(jnp.all(jnp.isfinite(z)))
    assert bool(jnp.all(jnp.isfinite(grads)))


@pytest.mark.slow  # TFP (and distrax, which imports it) take ~15 s to import
@pytest.mark.parametrize(
    ("peer", "name"),
    [
        ("tfp", "beta"),
        ("tfp", "dirichlet"),
        ("distrax", "beta"),
        ("distrax", "dirichlet"),
    ],
)
def test_peers_nan_where_ours_are_finite(peer, name):
    """At concentration 1e-2 in float32, TFP's and distrax's beta and Dirichlet
    samples hit exactly 0 or 1 and ``grad sum(log_prob(sample))`` is NaN; ours is
    finite (numpyro clamps its samples and stays finite here too)."""
    c = jnp.float32(1e-2)
    if peer == "tfp":
        from tensorflow_probability.substrates import jax as tfp

        make = {"beta": lambda c: tfp.distributions.Beta(c, c)}.get(
            name, lambda c: tfp.distributions.Dirichlet(jnp.stack([c, c, c]))
        )

        def draw(d):
            return d.sample(1000, seed=jax.random.key_data(jax.random.key(7)))

    else:
        import distrax

        make = {"beta": lambda c: distrax.Beta(c, c)}.get(
            name, lambda c: distrax.Dirichlet(jnp.stack([c, c, c]))
        )

        def draw(d):
            return d.sample(seed=jax.random.key(7), sample_shape=(1000,))

    theirs = jax.grad(lambda c: jnp.sum(make(c).log_prob(draw(make(c)))))(c)
    assert bool(jnp.isnan(theirs))
    family = getattr(jr, name)
    ours_make = FAMILIES[name]

    def ours(c):
        params = ours_make(jnp.stack([c, c, c]))
        z = family.sample(jax.random.key(8), params, (1000,))
        return jnp.sum(family.log_prob(params, z))

    assert bool(jnp.isfinite(jax.grad(ours)(c)))
