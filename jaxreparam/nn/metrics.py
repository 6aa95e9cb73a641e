"""The metrics reported for Bayesian networks, as pure ``jax.numpy`` functions.

Classification metrics take predictive probabilities ``probs`` of shape
``(N, C)`` (e.g. ``jr.nn.predictive(..., transform=jax.nn.softmax).mean``) and
integer ``labels`` of shape ``(N,)`` in ``0..C-1``; regression metrics take the
predictive ``mean`` and ``std`` and the targets ``y``, all of one shape. Every
metric is a mean over examples and works under ``jax.jit``.

| metric | what it is |
| --- | --- |
| ``accuracy`` | fraction of examples whose most probable class is the label |
| ``negative_log_likelihood`` | mean of ``-log p(label)``, in nats |
| ``brier_score`` | mean of ``sum_c (p_c - onehot_c)^2``, in ``[0, 2]`` |
| ``expected_calibration_error`` | Guo et al. 2017's ECE, equal-width bins |
| ``calibration_bins`` | per-bin confidence, accuracy and count (reliability) |
| ``predictive_entropy`` | ``-sum_c p_c log p_c`` per example, in nats |
| ``root_mean_squared_error`` | ``sqrt(mean((mean - y)^2))`` |
| ``gaussian_negative_log_likelihood`` | mean of ``-log N(y; mean, std^2)`` |
| ``ood_auroc`` | area under the ROC curve of a score telling OOD inputs apart |

Bad input: wrong shapes and dtypes raise at once (also under jit); out-of-range
values (labels outside ``0..C-1``, probabilities outside ``[0, 1]``, a
non-positive ``std``, NaN) raise a ``ValueError`` naming the argument when the
values are concrete. Under ``jax.jit`` they make the metric NaN instead, and
inside ``jr.checking()`` they become ``checkify`` errors.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify
from jax.scipy.special import xlogy

from jaxreparam import _checks
from jaxreparam.base import ArrayLike

__all__ = [
    "CalibrationBins",
    "accuracy",
    "brier_score",
    "calibration_bins",
    "expected_calibration_error",
    "gaussian_negative_log_likelihood",
    "negative_log_likelihood",
    "ood_auroc",
    "predictive_entropy",
    "root_mean_squared_error",
]


# --------------------------------------------------------------------------- #
# Argument checks.


def _in_unit_interval(p: Any) -> Any:
    return (p >= 0) & (p <= 1)


def _probs(where: str, probs: Any, *, batched: bool = True) -> jax.Array:
    """``probs`` as a float array of shape (N, C) (or (..., C)), values in [0, 1]."""
    probs = _checks.as_float(where, "probs", probs)
    if (batched and probs.ndim != 2) or probs.ndim < 1 or probs.shape[-1] < 1:
        wanted = "(num_examples, num_classes)" if batched else "(..., num_classes)"
        raise ValueError(
            f"{where}: probs must have shape {wanted}, got shape {probs.shape}"
        )
    return _checks.check_value(where, "probs", probs, _in_unit_interval, "in [0, 1]")


def _labels(where: str, labels: Any, probs: jax.Array) -> tuple[jax.Array, Any]:
    """Integer ``labels`` of shape (N,), and whether all are in 0..C-1."""
    dtype = getattr(labels, "dtype", None)
    if dtype is None:
        labels = np.asarray(labels)
        dtype = labels.dtype
    if dtype == np.bool_ or not jnp.issubdtype(dtype, jnp.integer):
        raise TypeError(
            f"{where}: labels must be integers (class indices), got dtype {dtype}; "
            "convert them, e.g. with labels.astype(jnp.int32)"
        )
    num_examples, num_classes = probs.shape
    if np.shape(labels) != (num_examples,):
        raise ValueError(
            f"{where}: labels must have shape ({num_examples},) to match probs of "
            f"shape {probs.shape}, got shape {np.shape(labels)}"
        )
    requirement = f"class indices in 0..{num_classes - 1}"
    if _checks.is_concrete(labels):
        array = np.asarray(labels)
        bad = (array < 0) | (array >= num_classes)
        if bad.any():
            index = int(np.argmax(bad))
            raise ValueError(
                f"{where}: labels must be {requirement} (probs has {num_classes} "
                f"columns), got {array[index]} at index {index}"
            )
        return jnp.asarray(labels), True
    labels = jnp.asarray(labels)
    ok = jnp.all((labels >= 0) & (labels < num_classes))
    if _checks._CHECKING.value:
        checkify.check(ok, f"{where}: labels must be {requirement}")
    return labels, ok


def _nan_unless(ok: Any, value: jax.Array) -> jax.Array:
    return value if ok is True else jnp.where(ok, value, jnp.nan)


def _num_bins(where: str, num_bins: Any) -> int:
    if isinstance(num_bins, bool) or not isinstance(num_bins, int | np.integer):
        raise TypeError(f"{where}: num_bins must be an int, got {num_bins!r}")
    if num_bins < 1:
        raise ValueError(f"{where}: num_bins must be at least 1, got {num_bins}")
    return int(num_bins)


def _classification(where: str, probs: Any, labels: Any):
    probs = _probs(where, probs)
    labels, ok = _labels(where, labels, probs)
    return probs, labels, ok


# --------------------------------------------------------------------------- #
# Classification.


def accuracy(probs: ArrayLike, labels: ArrayLike) -> jax.Array:
    """The fraction of examples whose most probable class is their label.

    Ties go to the first of the tied classes (``jnp.argmax``).

    Args:
        probs: predictive probabilities, shape ``(N, C)``.
        labels: integer labels in ``0..C-1``, shape ``(N,)``.

    Returns:
        A scalar in ``[0, 1]``.

    Examples:
        >>> probs = jnp.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
        >>> print(jr.nn.metrics.accuracy(probs, jnp.array([0, 1, 1])))
        0.6666667
    """
    probs, labels, ok = _classification("metrics.accuracy", probs, labels)
    correct = jnp.argmax(probs, axis=-1) == labels
    return _nan_unless(ok, jnp.mean(correct.astype(probs.dtype)))


def negative_log_likelihood(probs: ArrayLike, labels: ArrayLike) -> jax.Array:
    """The mean over examples of ``-log probs[label]``, in nats.

    A probability of exactly 0 (an underflowed softmax) is read as the smallest
    positive normal number of the dtype (``jnp.finfo(dtype).tiny``), so the loss
    of that example is finite: about 87.3 nats in float32, 708.4 in float64.

    Args:
        probs: predictive probabilities, shape ``(N, C)``.
        labels: integer labels in ``0..C-1``, shape ``(N,)``.

    Returns:
        A non-negative scalar; 0 for a predictor sure of every right label.

    Examples:
        >>> probs = jnp.array([[0.5, 0.5], [0.0, 1.0]])
        >>> print(jr.nn.metrics.negative_log_likelihood(probs, jnp.array([0, 1])))
        0.34657...
    """
    where = "metrics.negative_log_likelihood"
    probs, labels, ok = _classification(where, probs, labels)
    chosen = jnp.take_along_axis(probs, labels[:, None], axis=-1)[:, 0]
    tiny = jnp.finfo(probs.dtype).tiny
    return _nan_unless(ok, -jnp.mean(jnp.log(jnp.maximum(chosen, tiny))))


def brier_score(probs: ArrayLike, labels: ArrayLike) -> jax.Array:
    """The multi-class Brier score: mean of ``sum_c (probs_c - onehot_c)^2``.

    This is Brier (1950)'s original sum over all classes, averaged over the
    examples (not divided by the number of classes): 0 for a sure and right
    predictor, 2 for a sure and wrong one.

    Args:
        probs: predictive probabilities, shape ``(N, C)``.
        labels: integer labels in ``0..C-1``, shape ``(N,)``.

    Returns:
        A scalar in ``[0, 2]`` (for rows that sum to 1).

    Examples:
        >>> probs = jnp.array([[1.0, 0.0], [0.5, 0.5]])
        >>> print(jr.nn.metrics.brier_score(probs, jnp.array([0, 1])))
        0.25
    """
    probs, labels, ok = _classification("metrics.brier_score", probs, labels)
    onehot = jax.nn.one_hot(labels, probs.shape[-1], dtype=probs.dtype)
    score = jnp.mean(jnp.sum(jnp.square(probs - onehot), axis=-1))
    return _nan_unless(ok, score)


class CalibrationBins(NamedTuple):
    """Equal-width confidence bins, for a reliability diagram.

    Attributes:
        edges: the bin edges, shape ``(num_bins + 1,)``, from 0 to 1; bin ``m``
            holds confidences in ``(edges[m], edges[m + 1]]`` (the first also
            holds 0).
        confidence: the mean confidence (top probability) in each bin, shape
            ``(num_bins,)``; NaN for an empty bin.
        accuracy: the fraction of right predictions in each bin; NaN if empty.
        count: the number of examples in each bin (int32).

    Examples:
        >>> probs = jnp.array([[0.4, 0.3, 0.3], [0.2, 0.2, 0.6], [0.9, 0.05, 0.05],
        ...     [0.45, 0.35, 0.2]])
        >>> labels = jnp.array([0, 1, 0, 1])
        >>> bins = jr.nn.metrics.calibration_bins(probs, labels, num_bins=2)
        >>> bins._fields
        ('edges', 'confidence', 'accuracy', 'count')
        >>> bins.edges.tolist(), bins.count.tolist()
        ([0.0, 0.5, 1.0], [2, 2])
        >>> [round(float(c), 3) for c in bins.confidence]  # the mean top probability
        [0.425, 0.75]
        >>> [round(float(a), 3) for a in bins.accuracy]  # the fraction right
        [0.5, 0.5]
    """

    edges: jax.Array
    confidence: jax.Array
    accuracy: jax.Array
    count: jax.Array


def _binned(where: str, probs: Any, labels: Any, num_bins: Any):
    """Per-bin sums of confidence and of correctness, counts, and the label flag."""
    num_bins = _num_bins(where, num_bins)
    probs, labels, ok = _classification(where, probs, labels)
    confidence = jnp.max(probs, axis=-1)
    correct = (jnp.argmax(probs, axis=-1) == labels).astype(probs.dtype)
    index = jnp.clip(jnp.ceil(confidence * num_bins).astype(jnp.int32) - 1, 0)
    index = jnp.minimum(index, num_bins - 1)
    total = lambda v: jax.ops.segment_sum(v, index, num_segments=num_bins)
    count = total(jnp.ones_like(index))
    return num_bins, total(confidence), total(correct), count, ok


def calibration_bins(
    probs: ArrayLike, labels: ArrayLike, *, num_bins: int = 15
) -> CalibrationBins:
    """Mean confidence, accuracy and count per equal-width confidence bin.

    The confidence of an example is its top probability; its prediction is the
    most probable class. Plot ``accuracy`` against ``confidence`` (or the bin
    centres) for a reliability diagram; the diagonal is perfect calibration.

    Args:
        probs: predictive probabilities, shape ``(N, C)``.
        labels: integer labels in ``0..C-1``, shape ``(N,)``.
        num_bins: the number of bins on ``[0, 1]``, at least 1.

    Returns:
        A ``CalibrationBins(edges, confidence, accuracy, count)``.

    Examples:
        >>> probs = jnp.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> bins = jr.nn.metrics.calibration_bins(probs, jnp.array([0, 0, 0]),
        ...                                       num_bins=2)
        >>> print(bins.count, jnp.round(bins.confidence, 3), bins.accuracy[1])
        [0 3] [  nan 0.767] 0.6666667
    """
    where = "metrics.calibration_bins"
    num_bins, conf_sum, correct_sum, count, ok = _binned(where, probs, labels, num_bins)
    dtype = conf_sum.dtype
    safe = jnp.maximum(count, 1).astype(dtype)
    empty = count == 0
    return CalibrationBins(
        edges=jnp.linspace(0.0, 1.0, num_bins + 1, dtype=dtype),
        confidence=jnp.where(empty, jnp.nan, conf_sum / safe),
        accuracy=_nan_unless(ok, jnp.where(empty, jnp.nan, correct_sum / safe)),
        count=count,
    )


def expected_calibration_error(
    probs: ArrayLike, labels: ArrayLike, *, num_bins: int = 15
) -> jax.Array:
    """The expected calibration error of Guo et al. (2017).

    ``ECE = sum_m (n_m / N) |acc_m - conf_m|`` over ``num_bins`` equal-width
    bins of the confidence (top probability), with ``acc_m`` the fraction of
    right predictions and ``conf_m`` the mean confidence in bin ``m``; empty
    bins add nothing. See ``calibration_bins`` for the bins.

    Args:
        probs: predictive probabilities, shape ``(N, C)``.
        labels: integer labels in ``0..C-1``, shape ``(N,)``.
        num_bins: the number of bins on ``[0, 1]``, at least 1 (15 in Guo et al.).

    Returns:
        A scalar in ``[0, 1]``.

    Examples:
        >>> probs = jnp.array([[0.8, 0.2], [0.8, 0.2], [0.8, 0.2], [0.8, 0.2],
        ...                    [0.2, 0.8]])
        >>> labels = jnp.array([0, 0, 0, 1, 1])  # right 4 times in 5 at 0.8
        >>> print(jr.nn.metrics.expected_calibration_error(probs, labels))
        0.0

    References:
        Guo, Pleiss, Sun & Weinberger (2017), On calibration of modern neural
        networks, ICML.
    """
    where = "metrics.expected_calibration_error"
    _, conf_sum, correct_sum, count, ok = _binned(where, probs, labels, num_bins)
    num_examples = jnp.sum(count).astype(conf_sum.dtype)
    ece = jnp.sum(jnp.abs(correct_sum - conf_sum)) / num_examples
    return _nan_unless(ok, ece)


def predictive_entropy(probs: ArrayLike) -> jax.Array:
    """The entropy ``-sum_c p_c log p_c`` of each predictive distribution, in nats.

    ``0 log 0`` is 0. Of the mean of the draws' probabilities (what
    ``jr.nn.predictive`` returns) this is the total predictive uncertainty,
    the usual score for out-of-distribution detection (see ``ood_auroc``).

    Args:
        probs: probabilities over the last axis, shape ``(..., C)``.

    Returns:
        The entropies, shape ``(...)``, in ``[0, log C]``.

    Examples:
        >>> probs = jnp.array([[0.5, 0.5], [1.0, 0.0]])
        >>> print(jr.nn.metrics.predictive_entropy(probs))
        [0.6931472 0.       ]
    """
    where = "metrics.predictive_entropy"
    probs = _probs(where, probs, batched=False)
    return 0.0 - jnp.sum(xlogy(probs, probs), axis=-1)  # +0, not -0, when sure


# --------------------------------------------------------------------------- #
# Regression.


def _same_shape(where: str, **arrays: Any) -> dict[str, jax.Array]:
    out = {}
    for name, value in arrays.items():
        out[name] = _checks.real(where, name, value)
    shapes = {name: a.shape for name, a in out.items()}
    if len(set(shapes.values())) != 1:
        listed = ", ".join(f"{name} has shape {s}" for name, s in shapes.items())
        raise ValueError(f"{where}: the arrays must have one shape, but {listed}")
    return out


def root_mean_squared_error(mean: ArrayLike, y: ArrayLike) -> jax.Array:
    """The root mean squared error ``sqrt(mean((mean - y)^2))``.

    The shapes must be equal (no broadcasting: an ``(N, 1)`` prediction against
    ``(N,)`` targets raises rather than averaging ``N^2`` differences).

    Args:
        mean: the predictive means, any shape.
        y: the targets, the same shape.

    Returns:
        A non-negative scalar, in the units of ``y``.

    Examples:
        >>> print(jr.nn.metrics.root_mean_squared_error(
        ...     jnp.array([1.0, 2.0]), jnp.array([0.0, 3.0])))
        1.0
    """
    a = _same_shape("metrics.root_mean_squared_error", mean=mean, y=y)
    return jnp.sqrt(jnp.mean(jnp.square(a["mean"] - a["y"])))


def gaussian_negative_log_likelihood(
    mean: ArrayLike, std: ArrayLike, y: ArrayLike
) -> jax.Array:
    """The mean over examples of ``-log N(y; mean, std^2)``, in nats.

    Per example: ``log(2 pi) / 2 + log(std) + ((y - mean) / std)^2 / 2``. For a
    Monte Carlo predictive this treats the predictive distribution as the
    Gaussian with its mean and standard deviation (add the likelihood's noise
    variance to ``std**2`` first if the draws are of the noise-free mean).

    Args:
        mean: the predictive means, any shape.
        std: the predictive standard deviations, positive, the same shape.
        y: the targets, the same shape.

    Returns:
        A scalar.

    Examples:
        >>> nll = jr.nn.metrics.gaussian_negative_log_likelihood(
        ...     jnp.zeros(2), jnp.ones(2), jnp.array([0.0, 2.0]))
        >>> print(f"{nll:.5f}")  # log(2 pi)/2 + (0 + 4)/4
        1.91894
    """
    where = "metrics.gaussian_negative_log_likelihood"
    a = _same_shape(where, mean=mean, std=std, y=y)
    std = _checks.check_value(
        where, "std", a["std"], lambda s: s > 0, "finite and positive"
    )
    z = (a["y"] - a["mean"]) / std
    return jnp.mean(_checks.HALF_LOG_TWO_PI + jnp.log(std) + 0.5 * jnp.square(z))


# --------------------------------------------------------------------------- #
# Out-of-distribution detection.


def _scores(where: str, name: str, scores: Any) -> jax.Array:
    scores = _checks.real(where, name, scores)
    if scores.ndim != 1 or scores.shape[0] < 1:
        raise ValueError(
            f"{where}: {name} must be a non-empty 1-D array of scores, got shape "
            f"{scores.shape}"
        )
    return scores


def ood_auroc(scores_in: ArrayLike, scores_out: ArrayLike) -> jax.Array:
    """The area under the ROC curve of a score that flags out-of-distribution inputs.

    The out-of-distribution inputs are the positives, and a higher score means
    "more likely out of distribution" (e.g. ``predictive_entropy``). The area is
    the probability that a random out-of-distribution input scores above a
    random in-distribution one, ties counted half (the Mann-Whitney statistic
    divided by ``n_in * n_out``): 1 separates them perfectly, 0.5 is chance.

    Args:
        scores_in: scores of in-distribution inputs, shape ``(n_in,)``.
        scores_out: scores of out-of-distribution inputs, shape ``(n_out,)``.

    Returns:
        A scalar in ``[0, 1]``.

    Examples:
        >>> print(jr.nn.metrics.ood_auroc(jnp.array([0.1, 0.4, 0.5]),
        ...                               jnp.array([0.5, 0.9])))
        0.9166667
    """
    where = "metrics.ood_auroc"
    scores_in = _scores(where, "scores_in", scores_in)
    scores_out = _scores(where, "scores_out", scores_out)
    scores_in, scores_out = _checks.same_dtype(scores_in, scores_out)
    ordered = jnp.sort(scores_in)
    below = jnp.searchsorted(ordered, scores_out, side="left")
    at_or_below = jnp.searchsorted(ordered, scores_out, side="right")
    # per out-of-distribution input: the fraction of in-distribution ones it beats
    wins = (below + at_or_below).astype(scores_in.dtype) / (2 * scores_in.shape[0])
    auroc = jnp.mean(wins)
    if _checks.is_concrete(scores_in) and _checks.is_concrete(scores_out):
        return auroc
    invalid = jnp.any(jnp.isnan(scores_in)) | jnp.any(jnp.isnan(scores_out))
    return jnp.where(invalid, jnp.nan, auroc)  # NaN from a check under jit
