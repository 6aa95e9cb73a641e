"""Tests of jaxreparam.apps._data: fixed offline splits and the 1-D toy."""

import builtins
import math

import jax
import numpy as np
import pytest

from jaxreparam.apps import _data

sklearn_datasets = pytest.importorskip("sklearn.datasets")


def _sorted_rows(*arrays):
    rows = np.concatenate([np.asarray(a, np.float64) for a in arrays])
    return rows[np.lexsort(rows.T[::-1])]


def test_digits_split_kinds_and_determinism():
    levels = _data.digits()
    assert levels.x_train.shape == (1437, 64)
    assert levels.x_test.shape == (360, 64)
    assert levels.y_train.shape == (1437,)
    assert levels.y_test.shape == (360,)
    assert levels.x_train.dtype == levels.y_train.dtype == np.int32
    assert int(levels.x_train.min()) == 0
    assert int(levels.x_train.max()) == 16
    # the split is a partition of the data set (rows with their labels) ...
    x, y = sklearn_datasets.load_digits(return_X_y=True)
    np.testing.assert_array_equal(
        _sorted_rows(
            np.c_[levels.x_train, levels.y_train], np.c_[levels.x_test, levels.y_test]
        ),
        _sorted_rows(np.c_[x, y]),
    )
    # ... stratified: every class keeps its share within one example
    for label in range(10):
        share = np.mean(y == label) * 360
        assert abs(int(np.sum(levels.y_test == label)) - share) <= 1
    # the same arguments give the same split; another seed another one
    again = _data.digits()
    for a, b in zip(levels, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(_data.digits(seed=1).y_test, levels.y_test)
    unit = _data.digits(kind="unit")
    assert unit.x_train.dtype == np.float32
    np.testing.assert_array_equal(unit.x_test, levels.x_test / 16)
    binary = _data.digits(kind="binary")
    assert binary.x_train.dtype == np.float32
    np.testing.assert_array_equal(binary.x_test, levels.x_test > 8)
    np.testing.assert_array_equal(binary.y_test, levels.y_test)
    small = _data.digits(test_fraction=0.5, seed=3)
    assert small.x_test.shape == (math.ceil(0.5 * 1797), 64)


def test_diabetes_standardized_with_train_statistics():
    data = _data.diabetes(seed=2)
    assert data.x_train.shape == (353, 10)
    assert data.x_test.shape == (89, 10)
    assert data.y_train.shape == (353,)
    assert data.y_test.shape == (89,)
    assert all(a.dtype == np.float32 for a in data)
    # the training rows have mean 0 and std 1; the test rows need not
    np.testing.assert_allclose(data.x_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(data.x_train.std(0), 1, rtol=1e-5)
    np.testing.assert_allclose(data.y_train.mean(), 0, atol=1e-5)
    np.testing.assert_allclose(data.y_train.std(), 1, rtol=1e-5)
    assert abs(float(data.y_test.mean())) > 1e-3
    # undoing the standardization gives back the raw rows, a partition of them
    x, y = sklearn_datasets.load_diabetes(return_X_y=True, scaled=False)
    raw = lambda part, target: np.c_[
        part * data.x_std + data.x_mean, target * data.y_std + data.y_mean
    ]
    restored = _sorted_rows(
        raw(data.x_train, data.y_train), raw(data.x_test, data.y_test)
    )
    np.testing.assert_allclose(restored, _sorted_rows(np.c_[x, y]), rtol=1e-5)
    # and the statistics are those of the raw training rows
    train = raw(data.x_train, data.y_train)
    np.testing.assert_allclose(train[:, :10].mean(0), data.x_mean, rtol=1e-5)
    np.testing.assert_allclose(train[:, 10].std(), data.y_std, rtol=1e-5)
    again = _data.diabetes(seed=2)
    for a, b in zip(data, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_regression_toy():
    toy = _data.regression_toy(jax.random.key(0), num_points=50, grid_size=30)
    assert toy.x_train.shape == (50, 1)
    assert toy.y_train.shape == (50,)
    assert toy.x_grid.shape == (30, 1)
    assert toy.y_grid.shape == (30,)
    assert all(a.dtype == np.float32 for a in toy)
    x = np.asarray(toy.x_train[:, 0])
    assert x.min() >= 0
    assert x.max() <= 0.5
    np.testing.assert_allclose(toy.x_grid[[0, -1], 0], [-0.5, 1.2], rtol=1e-6)
    clean = lambda x: x + 0.3 * np.sin(2 * np.pi * x) + 0.3 * np.sin(4 * np.pi * x)
    np.testing.assert_allclose(toy.y_grid, clean(toy.x_grid[:, 0]), atol=1e-5)
    # without noise the data lie on the curve; with it they scatter about it
    exact = _data.regression_toy(jax.random.key(0), num_points=50, noise_scale=0.0)
    np.testing.assert_allclose(exact.y_train, clean(x), atol=1e-5)
    residual = np.asarray(toy.y_train) - clean(x)
    # the curve moves at most 1 + 0.6 pi + 1.2 pi per unit of e; |e| < 5 sigma
    assert 0 < np.abs(residual).max() < 5 * 0.02 * (1 + 1.8 * np.pi)
    # an int seed is the key it names
    seeded = _data.regression_toy(0, num_points=50, grid_size=30)
    np.testing.assert_array_equal(seeded.y_train, toy.y_train)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\), got 1"):
        _data.digits(test_fraction=1)
    with pytest.raises(TypeError, match="seed must be an int"):
        _data.diabetes(seed=0.5)
    with pytest.raises(ValueError, match="kind must be one of"):
        _data.digits(kind="grey")
    with pytest.raises(ValueError, match="num_points must be at least 1, got 0"):
        _data.regression_toy(jax.random.key(1), num_points=0)
    with pytest.raises(ValueError, match="noise_scale must be a non-negative"):
        _data.regression_toy(jax.random.key(2), noise_scale=-1.0)


def test_missing_scikit_learn_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r'pip install "jaxreparam\[examples\]"'):
        _data.digits()
