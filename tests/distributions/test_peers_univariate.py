"""Pathwise gradients of six explicit families against numpyro's.

For Uniform, Exponential, HalfNormal, Weibull and Pareto, numpyro's sampler
turns the key into noise exactly as ours does (one ``jax.random.uniform`` or
``jax.random.normal`` draw of the full shape, then the inverse CDF; numpyro's
Pareto is ``scale * exp(Exponential(alpha))``, the same map). The tests first
check that the draws coincide, then that every per-sample value and per-sample
gradient of ``f(z)`` with respect to the natural parameters matches to float64
round-off. numpyro's Kumaraswamy inverts the CDF at ``1 - u`` instead of ``u``
(an equally valid sampler that gives different draws from the same key), so
there the Monte Carlo means of the gradients, from independent keys, must agree
within 5 combined standard errors.

numpyro is imported inside the tests: it is a test-only peer.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.registry import CASES, FUNCTIONS, slow_except

NUM_SAME = 2_000
NUM_MC = 20_000


def _numpyro(name, nat):
    """numpyro's distribution for our family ``name`` and natural values."""
    import numpyro.distributions as nd

    build = {
        "uniform": lambda low, high: nd.Uniform(low, high),
        "exponential": lambda rate: nd.Exponential(rate),
        "half_normal": lambda scale: nd.HalfNormal(scale),
        "weibull": lambda scale, concentration: nd.Weibull(scale, concentration),
        "pareto": lambda scale, concentration: nd.Pareto(scale, concentration),
        "kumaraswamy": lambda concentration1, concentration0: nd.Kumaraswamy(
            concentration1, concentration0
        ),
    }[name]
    return build(**nat)


def _per_sample(name, source, fn_name, seed, num):
    """``nat -> f(z)`` per sample, drawn by ``source`` ("ours" or "numpyro")."""
    f = FUNCTIONS[fn_name][0]
    family = CASES[name].family

    def draw(nat):
        key = jax.random.key(seed)  # fresh per call: the key-reuse checker is on
        if source == "ours":
            return family.sample(key, family.init(**nat), (num,))
        return _numpyro(name, nat).sample(key, (num,))

    return lambda nat: f(draw(nat)), draw


def _natural(name):
    return {k: jnp.asarray(v, jnp.float64) for k, v in CASES[name].natural.items()}


SAME_NOISE = ["uniform", "exponential", "half_normal", "weibull", "pareto"]


@pytest.mark.parametrize(
    ("name", "fn_name"),
    slow_except(
        [(n, f) for n in SAME_NOISE for f in FUNCTIONS],
        {f"{n}-{next(iter(FUNCTIONS))}" for n in SAME_NOISE},  # one function each
        ids=[f"{n}-{f}" for n in SAME_NOISE for f in FUNCTIONS],
    ),
)
def test_same_noise_gives_the_same_draws_and_gradients(name, fn_name):
    with jax.enable_x64(True):
        nat = _natural(name)
        values, grads, draws = {}, {}, {}
        for source in ("ours", "numpyro"):
            fz, draw = _per_sample(name, source, fn_name, 0, NUM_SAME)
            draws[source] = np.asarray(draw(nat))
            values[source] = np.asarray(fz(nat))
            grads[source] = jax.jacfwd(fz)(nat)
    assert draws["ours"].shape == (NUM_SAME, 2)
    np.testing.assert_allclose(draws["ours"], draws["numpyro"], rtol=1e-12)
    np.testing.assert_allclose(
        values["ours"], values["numpyro"], rtol=1e-12, atol=1e-14
    )
    for param in nat:
        ours, peer = (
            np.asarray(grads["ours"][param]),
            np.asarray(grads["numpyro"][param]),
        )
        assert ours.shape == (NUM_SAME, 2, 2)
        assert np.any(ours != 0), param
        np.testing.assert_allclose(ours, peer, rtol=1e-10, atol=1e-12, err_msg=param)


def _mean_and_se(fz, nat):
    jac = jax.jacfwd(fz)(nat)
    out = {}
    for param, g in jac.items():
        # g[n, i, j]: sample n, output batch element i, parameter element j.
        g = np.asarray(g)
        out[param] = (g.mean(0), g.std(0) / np.sqrt(g.shape[0]))
    return out


@pytest.mark.parametrize("fn_name", list(FUNCTIONS))
def test_kumaraswamy_gradient_means_agree(fn_name):
    """Independent keys, so the standard errors combine in quadrature."""
    with jax.enable_x64(True):
        nat = _natural("kumaraswamy")
        ours = _mean_and_se(
            _per_sample("kumaraswamy", "ours", fn_name, 1, NUM_MC)[0], nat
        )
        peer = _mean_and_se(
            _per_sample("kumaraswamy", "numpyro", fn_name, 2, NUM_MC)[0], nat
        )
    for param in nat:
        (mean_o, se_o), (mean_p, se_p) = ours[param], peer[param]
        combined = np.sqrt(se_o**2 + se_p**2)
        assert np.all(np.abs(mean_o - mean_p) < 5 * combined + 1e-12), (
            param,
            mean_o,
            mean_p,
            combined,
        )
        # Off-diagonal entries (element i's draws against element j's
        # parameter) are exactly zero in both.
        assert np.all(mean_o[~np.eye(2, dtype=bool)] == 0)


def test_kumaraswamy_draws_differ_from_numpyro_under_the_same_key():
    """Why the Kumaraswamy comparison is statistical: same key, other map."""
    with jax.enable_x64(True):
        nat = _natural("kumaraswamy")
        ours = _per_sample("kumaraswamy", "ours", "linear", 0, 100)[1](nat)
        peer = _per_sample("kumaraswamy", "numpyro", "linear", 0, 100)[1](nat)
        # numpyro's draw is our inverse CDF at 1 - u, for the same u.
        family = CASES["kumaraswamy"].family
        u = jax.random.uniform(jax.random.key(0), (100, 2), jnp.float64)
        reflected = family.icdf(family.init(**nat), 1 - u)
    assert not np.allclose(ours, peer)
    np.testing.assert_allclose(peer, reflected, rtol=1e-6)
