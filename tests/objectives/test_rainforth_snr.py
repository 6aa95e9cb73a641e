"""Rainforth et al. (2018): signal-to-noise of IWAE gradients against K, and DReG.

The model of their section 4: ``z ~ N(mu, I)``, ``x | z ~ N(z, I)`` in ``D = 20``
dimensions, so ``p(z | x) = N((mu + x) / 2, I / 2)`` and ``log p(x) = log N(x;
mu, 2 I)``; the encoder is ``q(z | x) = N(A x + b, 2/3 I)``, optimal at ``A =
I / 2``, ``b = mu / 2``. As in the paper, every parameter (``A``, ``b`` and the
decoder's ``mu``) is its optimum plus Gaussian noise of standard deviation 0.01,
and one gradient estimate uses ``M = 1`` bound estimate of ``K`` samples.

The signal-to-noise ratio of a block of parameters is ``|E g| / sqrt(tr Cov g)``
over independent keys, the per-component ratio pooled over the 20 components
(it scales with ``K`` as each component's does). ``|E g|^2`` is estimated
without the ``tr Cov / n`` bias of the squared sample mean. The IWAE encoder's
mean gradient is small (it vanishes as ``1/K``) and its noise large, so its
signal is taken from the DReG estimates, which have the same expectation (tested
here) and a variance 30 to 10^4 times smaller; the noise is IWAE's own.

Tolerances: the standard error of each fitted slope is the delete-one-group
jackknife's, over 50 groups of the gradient draws (each group holds draws of
every K); every slope check is at 5 of those standard errors. Bias checks compare paired
estimators (the same keys, so the same draws) component by component, at 5
standard errors of the paired difference.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr

D = 20
PERTURBATION = 0.01
KS = (1, 3, 10, 30, 100)
NUM_KEYS = 10_000  # gradient draws per K
NUM_GROUPS = 50  # jackknife groups of gradient draws
LOG_SCALE = 0.5 * np.log(2.0 / 3.0)
GRADIENTS = ("standard", "stl", "dreg")


def _problem():
    rng = np.random.default_rng(2018)
    mu_star = rng.normal(size=D)
    x = mu_star + rng.normal(size=D) + rng.normal(size=D)  # z, then x | z
    encoder_matrix = 0.5 * np.eye(D) + PERTURBATION * rng.normal(size=(D, D))
    bias = mu_star / 2 + PERTURBATION * rng.normal(size=D)
    mu = mu_star + PERTURBATION * rng.normal(size=D)
    return tuple(jnp.asarray(a, jnp.float32) for a in (x, encoder_matrix, bias, mu))


X, ENCODER_MATRIX, BIAS, MU = _problem()


def _surrogate(key, bias, mu, num_samples, gradient):
    loc = ENCODER_MATRIX @ X + bias
    q = jr.distributions.NormalParams(loc, jnp.full((D,), LOG_SCALE, jnp.float32))
    unit = jnp.zeros((D,), jnp.float32)

    def log_joint(z):
        log_prior = jr.normal.log_prob(jr.distributions.NormalParams(mu, unit), z)
        log_likelihood = jr.normal.log_prob(jr.distributions.NormalParams(z, unit), X)
        return jnp.sum(log_prior + log_likelihood)

    return jr.objectives.iwae(
        key,
        q,
        jr.normal,
        log_joint,
        num_samples=num_samples,
        gradient=gradient,
    )


@functools.cache
def _draws(num_samples):
    """Encoder (b) and decoder (mu) gradients, every estimator on the same keys."""

    def all_gradients(key):
        return {
            # The same key on purpose (cloned for jax's reuse checker): paired
            # estimators see the same draws.
            name: jax.grad(_surrogate, argnums=(1, 2))(
                jax.random.clone(key), BIAS, MU, num_samples, name
            )
            for name in GRADIENTS
        }

    keys = jax.random.split(jax.random.key(num_samples), NUM_KEYS)
    draws = jax.jit(jax.vmap(all_gradients))(keys)
    return jax.tree.map(lambda a: np.asarray(a, np.float64), draws)


class _Sums:
    """Per-group sums of a block of gradient draws, for the jackknife.

    The draws are cut into ``NUM_GROUPS`` groups; any statistic of the mean and
    the per-component variance is then recomputed without one group from the
    group sums alone.
    """

    def __init__(self, draws):
        groups = draws.reshape(NUM_GROUPS, -1, draws.shape[-1])
        self.first = groups.sum(axis=1)
        self.second = (groups**2).sum(axis=1)
        self.size = groups.shape[1]

    def moments(self, without=None):
        keep = np.arange(NUM_GROUPS) != without
        n = self.size * keep.sum()
        mean = self.first[keep].sum(axis=0) / n
        variance = (self.second[keep].sum(axis=0) - n * mean**2) / (n - 1)
        return n, mean, variance


def _signal(sums, without=None):
    """``|E g|``, from ``|mean|^2 - tr(Cov) / n`` (the bias of ``|mean|^2``)."""
    n, mean, variance = sums.moments(without)
    return np.sqrt(max(np.sum(mean**2) - np.sum(variance) / n, 0.0))


def _noise(sums, without=None):
    return np.sqrt(np.sum(sums.moments(without)[2]))


# name -> (estimator whose mean gives the signal, estimator whose spread is the
# noise, parameter block: 0 the encoder's b, 1 the decoder's mu).
SNRS = {
    "iwae_encoder": ("dreg", "standard", 0),
    "iwae_decoder": ("standard", "standard", 1),
    "dreg_encoder": ("dreg", "dreg", 0),
}


@functools.cache
def _sums(k, name, block):
    return _Sums(_draws(k)[name][block])


def _log_snrs(name, without=None):
    signal_name, noise_name, block = SNRS[name]
    return np.log(
        [
            _signal(_sums(k, signal_name, block), without)
            / _noise(_sums(k, noise_name, block), without)
            for k in KS
        ]
    )


def _slopes(log_snr):
    """Least-squares slopes of log SNR on log K: plain, and with a 1/K term.

    Rainforth et al.'s expansions give ``log SNR = c + s log K + a / K +
    O(1/K^2)`` (the bias and variance of the gradient both have 1/K
    corrections), so the second fit estimates the asymptotic exponent ``s``;
    the first is the average slope over the range of K.
    """
    log_k = np.log(KS)
    plain = np.polyfit(log_k, log_snr, 1)[0]
    design = np.stack([np.ones_like(log_k), log_k, 1.0 / np.asarray(KS)], axis=1)
    asymptotic = np.linalg.lstsq(design, log_snr, rcond=None)[0][1]
    return np.array([plain, asymptotic])


@functools.cache
def _slopes_and_errors(name):
    """The two slopes and their delete-one-group jackknife standard errors."""
    estimate = _slopes(_log_snrs(name))
    leave_out = np.array([_slopes(_log_snrs(name, g)) for g in range(NUM_GROUPS)])
    spread = leave_out - leave_out.mean(axis=0)
    error = np.sqrt((NUM_GROUPS - 1) / NUM_GROUPS * np.sum(spread**2, axis=0))
    return estimate, error


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("iwae_encoder", -0.5, marks=pytest.mark.slow),
        ("iwae_decoder", 0.5),
    ],
)
def test_iwae_snr_scales_as_sqrt_k(name, expected):
    # Rainforth et al., Theorem 1: the encoder's SNR is O(1/sqrt(K)), the
    # decoder's O(sqrt(K)), for M = 1. The average slope over K = 1..100 is
    # already within 0.05 of it, short of it because K = 1 and 3 are not
    # asymptotic; with the 1/K correction the fitted exponent is +-1/2.
    (plain, asymptotic), (plain_error, asymptotic_error) = _slopes_and_errors(name)
    assert 0.0 < plain_error < 0.05
    assert 0.0 < asymptotic_error < 0.05
    assert np.sign(expected) * plain > 5 * plain_error, (plain, plain_error)
    assert abs(asymptotic - expected) < 5 * asymptotic_error, (
        asymptotic,
        asymptotic_error,
    )


def test_dreg_encoder_snr_rises_with_k():
    # Tucker et al. (2019), figure 1: with DReG the encoder's SNR grows with K
    # (the average slope over K = 1..100 is below 1/2: at small K the SNR is
    # nearly flat).
    (plain, _), (plain_error, _) = _slopes_and_errors("dreg_encoder")
    assert plain > 5 * plain_error, (plain, plain_error)
    np.testing.assert_array_less(_log_snrs("iwae_encoder"), _log_snrs("dreg_encoder"))


def _paired_z(a, b):
    difference = a - b
    error = difference.std(axis=0, ddof=1) / np.sqrt(difference.shape[0])
    return difference.mean(axis=0) / error


@pytest.mark.parametrize("k", KS)
def test_dreg_is_unbiased(k):
    # The same expectation as the standard IWAE gradient, every component.
    draws = _draws(k)
    z = _paired_z(draws["dreg"][0], draws["standard"][0])
    np.testing.assert_array_less(np.abs(z), 5.0)
    # The decoder's gradient is the standard one, draw for draw.
    np.testing.assert_allclose(
        draws["dreg"][1], draws["standard"][1], rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("k", KS)
def test_stl_is_biased_for_iwae(k):
    # Sticking the landing drops sum_k w_k grad log q(z_k), whose expectation is
    # zero only for K = 1 (Tucker et al. 2019, section 3).
    draws = _draws(k)
    z = _paired_z(draws["stl"][0], draws["standard"][0])
    if k == 1:
        np.testing.assert_array_less(np.abs(z), 5.0)
    else:
        assert np.sqrt(np.mean(z**2)) > 5.0, z
