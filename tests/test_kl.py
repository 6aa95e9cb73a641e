"""Analytic KL divergences against Monte Carlo estimates, and the lookup's errors."""

import jax
import numpy as np
import pytest

import jaxreparam as jr
from tests.registry import KL_CASES, slow_except

#: The pairs of the default run; the others (each a 50 000-draw Monte Carlo
#: check, compiled afresh) run in the slow run.
KL_DEFAULT = {
    "normal-normal",
    "gamma-gamma",
    "multivariate_normal_diag-multivariate_normal_diag",
}

NUM = 50_000


@pytest.mark.parametrize(
    ("family_p", "nat_p", "family_q", "nat_q"),
    slow_except(
        [case[1:] for case in KL_CASES], KL_DEFAULT, ids=[c[0] for c in KL_CASES]
    ),
)
def test_kl_matches_monte_carlo(family_p, nat_p, family_q, nat_q):
    with jax.enable_x64(True):
        p, q = family_p.init(**nat_p), family_q.init(**nat_q)
        z, log_p = family_p.sample_and_log_prob(jax.random.key(21), p, (NUM,))
        ratio = np.asarray(log_p - family_q.log_prob(q, z))
        analytic = np.asarray(jr.kl_divergence(p, q))
        assert analytic.shape == ratio.shape[1:]
        se = ratio.std(0) / np.sqrt(NUM)
        np.testing.assert_array_less(np.abs(ratio.mean(0) - analytic), 5 * se + 1e-9)
        assert np.all(analytic >= -1e-12)
        np.testing.assert_allclose(jr.kl_divergence(p, p), 0.0, atol=1e-10)


def test_every_registered_pair_is_tested():
    tested = {
        (type(fp.init(**np_)), type(fq.init(**nq))) for _, fp, np_, fq, nq in KL_CASES
    }
    assert set(jr.kl.registered_pairs()) <= tested


def test_missing_pair_is_a_clear_error():
    class OtherParams(tuple):
        pass

    with pytest.raises(NotImplementedError, match="NormalParams and OtherParams"):
        jr.kl_divergence(jr.normal.init(), OtherParams())


def test_kl_is_differentiable():
    def kl(loc):
        return jr.kl_divergence(jr.normal.init(loc=loc, scale=2.0), jr.normal.init())

    assert jax.grad(kl)(1.5) == pytest.approx(1.5 / 1.0)
