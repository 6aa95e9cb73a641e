"""Offline data sets for the ``bnn`` and ``vae`` applications, with fixed splits.

Nothing is downloaded: ``digits`` and ``diabetes`` are scikit-learn's bundled
loaders (scikit-learn is an optional dependency, imported inside the functions;
``pip install "jaxreparam[examples]"``), ``regression_toy`` is generated. Each
split is fixed by its ``seed``: the same arguments give the same arrays on every
call and machine (scikit-learn's ``train_test_split`` with ``random_state=seed``;
the test set has ``ceil(test_fraction * N)`` rows).

| data set | what it is |
| --- | --- |
| ``digits`` | 1797 8x8 images of handwritten digits, 17 grey levels, 10 classes |
| ``diabetes`` | 442 patients, 10 features, a disease-progression score (standardized) |
| ``regression_toy`` | Blundell et al. 2015's 1-D curve, data on [0, 0.5] |
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxreparam import _checks

__all__ = [
    "KINDS",
    "Split",
    "StandardizedSplit",
    "Toy",
    "diabetes",
    "digits",
    "regression_toy",
]

#: The encodings of the digits' pixels that ``digits(kind=...)`` offers.
KINDS = ("levels", "unit", "binary")


class Split(NamedTuple):
    """A fixed train/test split: inputs ``x_*`` (a row per example), targets ``y_*``."""

    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array


class StandardizedSplit(NamedTuple):
    """A split standardized with the training set's statistics.

    ``x_* = (raw_x - x_mean) / x_std`` and ``y_* = (raw_y - y_mean) / y_std``
    (per column, standard deviations with divisor ``N_train``); map a prediction
    back with ``y * y_std + y_mean``, and an RMSE or a predictive standard
    deviation with ``* y_std``.
    """

    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    x_mean: jax.Array
    x_std: jax.Array
    y_mean: jax.Array
    y_std: jax.Array


class Toy(NamedTuple):
    """Blundell et al.'s toy regression: noisy training data and the clean curve.

    ``x_train`` ``(num_points, 1)`` and ``y_train`` ``(num_points,)`` are the
    data; ``x_grid`` ``(grid_size, 1)`` is a grid wider than the data and
    ``y_grid`` ``(grid_size,)`` the noise-free curve on it.
    """

    x_train: jax.Array
    y_train: jax.Array
    x_grid: jax.Array
    y_grid: jax.Array


def _sklearn() -> Any:
    try:
        import sklearn.datasets
        import sklearn.model_selection
    except ImportError as error:
        raise ImportError(
            "this data set needs scikit-learn, an optional dependency: "
            'pip install "jaxreparam[examples]"'
        ) from error
    return sklearn


def _check_split(where: str, test_fraction: Any, seed: Any) -> tuple[float, int]:
    if isinstance(test_fraction, bool) or not isinstance(
        test_fraction, float | int | np.floating
    ):
        raise TypeError(
            f"{where}: test_fraction must be a float, got {test_fraction!r}"
        )
    if not 0 < test_fraction < 1:
        raise ValueError(
            f"{where}: test_fraction must be in (0, 1), got {test_fraction}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"{where}: seed must be an int, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"{where}: seed must be in [0, 2**32), got {seed}")
    return float(test_fraction), int(seed)


def digits(test_fraction: float = 0.2, seed: int = 0, *, kind: str = "levels") -> Split:
    """scikit-learn's handwritten digits, split in a fixed, stratified way.

    1797 images of 8x8 pixels, each pixel a grey level from 0 to 16, labels 0 to
    9. The split keeps the class proportions (stratified). The pixels come as
    ``kind`` says:

    - ``"levels"``: the 17 grey levels, int32 in ``0..16`` (for a categorical
      decoder over the levels);
    - ``"unit"``: ``levels / 16``, float32 in ``[0, 1]``;
    - ``"binary"``: ``levels > 8``, float32 0 or 1 (for a Bernoulli decoder).

    Args:
        test_fraction: the share of the examples held out, in ``(0, 1)``.
        seed: fixes the split.
        kind: the pixels' encoding, one of ``KINDS``.

    Returns:
        A ``Split``: ``x_train`` ``(1437, 64)`` and ``x_test`` ``(360, 64)`` for
        the default fraction (row-major pixels), labels ``y_*`` int32.

    Examples:
        >>> from jaxreparam.apps import _data
        >>> data = _data.digits(kind="binary")
        >>> data.x_train.shape, data.x_test.shape, data.y_test.dtype
        ((1437, 64), (360, 64), dtype('int32'))
    """
    where = "digits"
    test_fraction, seed = _check_split(where, test_fraction, seed)
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    sklearn = _sklearn()
    x, y = sklearn.datasets.load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = sklearn.model_selection.train_test_split(
        x.astype(np.int32),
        y.astype(np.int32),
        test_size=test_fraction,
        random_state=seed,
        stratify=y,
    )

    def encode(levels: np.ndarray) -> jax.Array:
        if kind == "unit":
            return jnp.asarray(levels / 16, jnp.float32)
        if kind == "binary":
            return jnp.asarray(levels > 8, jnp.float32)
        return jnp.asarray(levels, jnp.int32)

    return Split(
        encode(x_train),
        jnp.asarray(y_train, jnp.int32),
        encode(x_test),
        jnp.asarray(y_test, jnp.int32),
    )


def diabetes(test_fraction: float = 0.2, seed: int = 0) -> StandardizedSplit:
    """scikit-learn's diabetes regression data, standardized with train statistics.

    442 patients, 10 baseline features (age, sex, body-mass index, blood
    pressure and six blood serum measurements), target a measure of disease
    progression one year later (25 to 346). The raw features are loaded
    (``load_diabetes(scaled=False)``: scikit-learn's default scaling uses the
    whole data set, test rows included), split at random with ``seed``, then the
    inputs and the target are standardized with the mean and standard deviation
    of the training rows only, which are returned for going back to the
    original units.

    Args:
        test_fraction: the share of the examples held out, in ``(0, 1)``.
        seed: fixes the split.

    Returns:
        A ``StandardizedSplit``, float32: ``x_train`` ``(353, 10)``, ``x_test``
        ``(89, 10)``, ``y_*`` one value per row, ``x_mean``, ``x_std`` ``(10,)``,
        ``y_mean``, ``y_std`` scalars.

    Examples:
        >>> from jaxreparam.apps import _data
        >>> data = _data.diabetes()
        >>> data.x_train.shape, data.y_test.shape
        ((353, 10), (89,))
        >>> print(f"{data.y_mean:.1f} {data.y_std:.1f}")  # target units
        151.6 78.3
    """
    test_fraction, seed = _check_split("diabetes", test_fraction, seed)
    sklearn = _sklearn()
    x, y = sklearn.datasets.load_diabetes(return_X_y=True, scaled=False)
    x_train, x_test, y_train, y_test = sklearn.model_selection.train_test_split(
        x, y, test_size=test_fraction, random_state=seed
    )
    x_mean, x_std = x_train.mean(0), x_train.std(0)
    y_mean, y_std = y_train.mean(), y_train.std()
    as_array = lambda a: jnp.asarray(a, jnp.float32)
    return StandardizedSplit(
        x_train=as_array((x_train - x_mean) / x_std),
        y_train=as_array((y_train - y_mean) / y_std),
        x_test=as_array((x_test - x_mean) / x_std),
        y_test=as_array((y_test - y_mean) / y_std),
        x_mean=as_array(x_mean),
        x_std=as_array(x_std),
        y_mean=as_array(y_mean),
        y_std=as_array(y_std),
    )


def _curve(x: jax.Array, noise: jax.Array | float) -> jax.Array:
    shifted = x + noise
    return (
        x
        + 0.3 * jnp.sin(2 * math.pi * shifted)
        + 0.3 * jnp.sin(4 * math.pi * shifted)
        + noise
    )


def regression_toy(
    key: Any = 0,
    num_points: int = 100,
    *,
    grid_size: int = 200,
    noise_scale: float = 0.02,
) -> Toy:
    """The 1-D toy regression of Blundell et al. (2015), section 5.2 and fig. 5.

    ``y = x + 0.3 sin(2 pi (x + e)) + 0.3 sin(4 pi (x + e)) + e`` with ``e ~
    N(0, noise_scale^2)``, ``x`` uniform on ``[0, 0.5]`` for the training data.
    The paper writes the noise as ``N(0, 0.02)``; we read 0.02 as its standard
    deviation. The grid spans ``[-0.5, 1.2]``, wider than the data, so that a
    Bayesian network's predictive band can be seen widening away from it.

    Args:
        key: a PRNG key (or an int seed, turned into ``jax.random.key(seed)``).
        num_points: the number of training points, at least 1.
        grid_size: the number of grid points, at least 2.
        noise_scale: the standard deviation of ``e``, non-negative.

    Returns:
        A ``Toy(x_train, y_train, x_grid, y_grid)``, float32; the ``x`` have a
        trailing feature axis of size 1, ``y_grid`` is the noise-free curve.

    Examples:
        >>> from jaxreparam.apps import _data
        >>> toy = _data.regression_toy(jax.random.key(0), num_points=20)
        >>> toy.x_train.shape, toy.y_train.shape, toy.x_grid.shape
        ((20, 1), (20,), (200, 1))

    References:
        Blundell, Cornebise, Kavukcuoglu & Wierstra (2015), Weight uncertainty in
        neural networks, ICML.
    """
    where = "regression_toy"
    if isinstance(key, int | np.integer) and not isinstance(key, bool):
        key = jax.random.key(int(key))
    for name, value, minimum in (
        ("num_points", num_points, 1),
        ("grid_size", grid_size, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{where}: {name} must be an int, got {value!r}")
        if value < minimum:
            raise ValueError(f"{where}: {name} must be at least {minimum}, got {value}")
    if not (isinstance(noise_scale, float | int) and noise_scale >= 0):
        raise ValueError(
            f"{where}: noise_scale must be a non-negative float, got {noise_scale!r}"
        )
    key = _checks.check_key(key, usage="regression_toy(key, num_points)")
    key_x, key_noise = jax.random.split(key)
    x = jax.random.uniform(key_x, (num_points,), jnp.float32, 0.0, 0.5)
    noise = noise_scale * jax.random.normal(key_noise, (num_points,), jnp.float32)
    grid = jnp.linspace(-0.5, 1.2, grid_size, dtype=jnp.float32)
    return Toy(
        x_train=x[:, None],
        y_train=_curve(x, noise),
        x_grid=grid[:, None],
        y_grid=_curve(grid, 0.0),
    )
