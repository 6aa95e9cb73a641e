"""Tests of jr.nn.metrics against direct numpy computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.experimental import checkify

import jaxreparam as jr

M = jr.nn.metrics


def _random_problem(seed, num_examples=200, num_classes=4):
    """Softmax probabilities and labels drawn from them (roughly calibrated)."""
    rng = np.random.default_rng(seed)
    logits = 2.0 * rng.normal(size=(num_examples, num_classes))
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    labels = np.array([rng.choice(num_classes, p=p) for p in probs])
    return probs.astype(np.float32), labels.astype(np.int32)


def _ece_numpy(probs, labels, num_bins):
    """Guo et al.'s ECE with bins (m/M, (m+1)/M], written as a loop."""
    confidence = probs.max(1)
    correct = probs.argmax(1) == labels
    total = 0.0
    for m in range(num_bins):
        lower, upper = m / num_bins, (m + 1) / num_bins
        inside = (confidence > lower) & (confidence <= upper)
        if m == 0:
            inside |= confidence == 0
        if inside.any():
            gap = abs(correct[inside].mean() - confidence[inside].mean())
            total += inside.mean() * gap
    return total


def test_classification_metrics_against_numpy():
    probs, labels = _random_problem(0)
    rows = np.arange(len(labels))
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(
        M.accuracy(probs, labels), np.mean(probs.argmax(1) == labels), rtol=1e-6
    )
    np.testing.assert_allclose(
        M.negative_log_likelihood(probs, labels),
        -np.mean(np.log(probs[rows, labels])),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        M.brier_score(probs, labels),
        np.mean(np.sum((probs - onehot) ** 2, 1)),
        rtol=1e-5,
    )
    for num_bins in (1, 10, 15):
        np.testing.assert_allclose(
            M.expected_calibration_error(probs, labels, num_bins=num_bins),
            _ece_numpy(probs, labels, num_bins),
            rtol=1e-5,
            atol=1e-7,
        )
    np.testing.assert_allclose(
        M.predictive_entropy(probs), scipy.stats.entropy(probs, axis=1), rtol=1e-5
    )


def test_calibration_bins_match_the_ece():
    probs, labels = _random_problem(1, num_examples=60)
    bins = M.calibration_bins(probs, labels, num_bins=10)
    np.testing.assert_allclose(bins.edges, np.linspace(0, 1, 11), atol=1e-7)
    confidence = probs.max(1)
    index = np.clip(np.ceil(confidence * 10).astype(int) - 1, 0, 9)
    np.testing.assert_array_equal(bins.count, np.bincount(index, minlength=10))
    empty = np.asarray(bins.count) == 0
    assert empty[:2].all()  # four classes: the top probability is at least 1/4
    assert np.isnan(bins.confidence[empty]).all()
    assert np.isnan(bins.accuracy[empty]).all()
    for m in np.flatnonzero(~empty):
        np.testing.assert_allclose(
            bins.confidence[m], confidence[index == m].mean(), rtol=1e-6
        )
        right = probs.argmax(1)[index == m] == labels[index == m]
        np.testing.assert_allclose(bins.accuracy[m], right.mean(), rtol=1e-6)
    weights = bins.count[~empty] / len(labels)
    gaps = np.abs(bins.accuracy[~empty] - bins.confidence[~empty])
    np.testing.assert_allclose(
        np.sum(weights * gaps),
        M.expected_calibration_error(probs, labels, num_bins=10),
        rtol=1e-5,
    )


def test_exact_values():
    labels = jnp.array([2, 0, 1])
    sure_and_right = jax.nn.one_hot(labels, 3)
    assert M.accuracy(sure_and_right, labels) == 1.0
    assert M.negative_log_likelihood(sure_and_right, labels) == 0.0
    assert M.brier_score(sure_and_right, labels) == 0.0
    assert M.expected_calibration_error(sure_and_right, labels) == 0.0
    np.testing.assert_array_equal(M.predictive_entropy(sure_and_right), np.zeros(3))
    sure_and_wrong = jax.nn.one_hot((labels + 1) % 3, 3)
    assert M.accuracy(sure_and_wrong, labels) == 0.0
    assert M.brier_score(sure_and_wrong, labels) == 2.0
    assert M.expected_calibration_error(sure_and_wrong, labels) == 1.0
    # a probability of 0 on the label costs -log(tiny), not infinity
    tiny = np.finfo(np.float32).tiny
    np.testing.assert_allclose(
        M.negative_log_likelihood(sure_and_wrong, labels), -np.log(tiny), rtol=1e-6
    )
    uniform = jnp.full((3, 3), 1 / 3)
    np.testing.assert_allclose(M.predictive_entropy(uniform), np.log(3) * np.ones(3))
    # calibrated: right 3 times in 4 at confidence 0.75, 1 in 2 at 0.5
    probs = jnp.array([[0.75, 0.25]] * 4 + [[0.5, 0.5]] * 2)
    calibrated = jnp.array([0, 0, 0, 1, 0, 1])
    assert M.expected_calibration_error(probs, calibrated, num_bins=10) == 0.0
    # a single bin: |accuracy - mean confidence| = |4/6 - 4/6|
    assert M.expected_calibration_error(probs, calibrated, num_bins=1) == 0.0


def test_regression_metrics_against_scipy():
    rng = np.random.default_rng(2)
    mean, y = rng.normal(size=(2, 50))
    std = np.exp(rng.normal(size=50))
    np.testing.assert_allclose(
        M.root_mean_squared_error(mean, y), np.sqrt(np.mean((mean - y) ** 2))
    )
    np.testing.assert_allclose(
        M.gaussian_negative_log_likelihood(mean, std, y),
        -np.mean(scipy.stats.norm.logpdf(y, mean, std)),
        rtol=1e-6,
    )
    assert M.root_mean_squared_error(jnp.ones(3), jnp.ones(3)) == 0.0


def test_ood_auroc_against_scikit_learn():
    roc_auc_score = pytest.importorskip("sklearn.metrics").roc_auc_score
    rng = np.random.default_rng(3)
    # integer-valued scores: many ties between the groups
    scores_in = rng.integers(0, 6, size=40).astype(np.float32)
    scores_out = rng.integers(2, 9, size=25).astype(np.float32)
    truth = np.r_[np.zeros(40), np.ones(25)]
    expected = roc_auc_score(truth, np.r_[scores_in, scores_out])
    np.testing.assert_allclose(M.ood_auroc(scores_in, scores_out), expected, rtol=1e-6)
    scores = rng.normal(size=30).astype(np.float32)
    np.testing.assert_allclose(
        M.ood_auroc(scores[:12], scores[12:]),
        roc_auc_score(np.r_[np.zeros(12), np.ones(18)], scores),
        rtol=1e-6,
    )
    assert M.ood_auroc(jnp.array([0.0, 1.0]), jnp.array([2.0, 3.0])) == 1.0
    assert M.ood_auroc(jnp.array([2.0, 3.0]), jnp.array([0.0, 1.0])) == 0.0
    assert M.ood_auroc(jnp.array([1.0, 1.0]), jnp.array([1.0])) == 0.5


def test_jit_and_invalid_values_under_jit():
    probs, labels = _random_problem(4, num_examples=20)
    metric = jax.jit(M.expected_calibration_error, static_argnames="num_bins")
    np.testing.assert_allclose(
        metric(probs, labels, num_bins=5),
        _ece_numpy(probs, labels, 5),
        rtol=1e-5,
        atol=1e-7,
    )
    bad = labels.copy()
    bad[3] = 4
    assert np.isnan(jax.jit(M.accuracy)(probs, bad))
    assert np.isnan(jax.jit(M.negative_log_likelihood)(probs, bad))
    with pytest.raises(checkify.JaxRuntimeError, match="labels must be class"):
        jr.checked(jax.jit(M.brier_score))(probs, bad)
    std = jnp.array([1.0, -1.0])
    nll = jax.jit(M.gaussian_negative_log_likelihood)(jnp.zeros(2), std, jnp.zeros(2))
    assert np.isnan(nll)


def test_bad_inputs():
    probs = jnp.array([[0.5, 0.5], [0.1, 0.9]])
    labels = jnp.array([0, 1])
    with pytest.raises(
        ValueError, match=r"labels must be class indices in 0..1.*got 2"
    ):
        M.accuracy(probs, jnp.array([0, 2]))
    with pytest.raises(ValueError, match=r"labels must be class indices.*got -1"):
        M.brier_score(probs, np.array([-1, 0]))
    with pytest.raises(TypeError, match="labels must be integers"):
        M.negative_log_likelihood(probs, jnp.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="labels must be integers"):
        M.accuracy(probs, jnp.array([True, False]))
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        M.accuracy(probs, jnp.array([[0, 1]]))
    with pytest.raises(ValueError, match=r"probs must have shape \(num_examples"):
        M.accuracy(jnp.array([0.5, 0.5]), jnp.array([0]))
    with pytest.raises(ValueError, match="probs must be in"):
        M.accuracy(jnp.array([[1.5, -0.5], [0.5, 0.5]]), labels)
    with pytest.raises(ValueError, match="probs must be in"):
        M.predictive_entropy(jnp.array([jnp.nan, 1.0]))
    with pytest.raises(TypeError, match="probs must have a floating dtype"):
        M.predictive_entropy(jnp.array([0, 1]))
    with pytest.raises(ValueError, match="num_bins must be at least 1, got 0"):
        M.expected_calibration_error(probs, labels, num_bins=0)
    with pytest.raises(TypeError, match="num_bins must be an int"):
        M.calibration_bins(probs, labels, num_bins=2.0)
    with pytest.raises(ValueError, match=r"mean has shape \(3, 1\), y has shape"):
        M.root_mean_squared_error(jnp.ones((3, 1)), jnp.ones(3))
    with pytest.raises(ValueError, match="std must be finite and positive"):
        M.gaussian_negative_log_likelihood(jnp.zeros(2), jnp.zeros(2), jnp.zeros(2))
    with pytest.raises(ValueError, match="y must be finite"):
        M.root_mean_squared_error(jnp.zeros(2), jnp.array([0.0, jnp.nan]))
    with pytest.raises(ValueError, match="scores_out must be a non-empty 1-D"):
        M.ood_auroc(jnp.ones(3), jnp.ones(0))
    with pytest.raises(ValueError, match="scores_in must be a non-empty 1-D"):
        M.ood_auroc(jnp.ones((3, 2)), jnp.ones(2))
