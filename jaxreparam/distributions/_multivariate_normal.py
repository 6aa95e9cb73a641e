"""The multivariate normal with three scales: diagonal, Cholesky, low rank.

Density: ``q(z) = exp(-(z - loc)^T cov^{-1} (z - loc) / 2) / sqrt((2 pi)^n det cov)``.
Reparameterization: ``z = loc + S eps``, ``eps ~ N(0, I)``, ``cov = S S^T``, with

- ``multivariate_normal_diag``: ``S = diag(scale_diag)``; params store
  ``log_scale_diag``.
- ``multivariate_normal_tril``: ``S = scale_tril``, lower triangular; params store
  its strict lower triangle and the log of its diagonal in ``raw_scale_tril``
  (entries above the diagonal are ignored), so every optax step keeps a valid
  Cholesky factor.
- ``multivariate_normal_low_rank``: ``cov = W W^T + diag(d)`` with
  ``W = cov_factor`` of shape ``(n, k)``; one draw of ``k + n`` normals is split
  into ``eps1, eps2`` and ``z = loc + W eps1 + sqrt(d) * eps2``. Densities use the
  Woodbury identity and the matrix determinant lemma: ``O(n k^2)``, no ``n x n``
  matrix.

The event shape is ``(n,)``; the batch shape is the broadcast of ``loc``'s leading
axes with the scale's. The functions below take the params of any of the three;
``diag``, ``tril`` and ``low_rank`` are the three ``Family`` bundles.

Examples:
    >>> loc = jnp.zeros(3)
    >>> diag = jr.multivariate_normal_diag.init(loc=loc, scale_diag=jnp.ones(3))
    >>> z, log_q = jr.multivariate_normal_diag.sample_and_log_prob(
    ...     jax.random.key(0), diag, (5,)
    ... )
    >>> z.shape, log_q.shape
    ((5, 3), (5,))
    >>> tril = jr.multivariate_normal_tril.init(
    ...     loc=loc, scale_tril=jnp.array([[1.0, 0, 0], [0.5, 1, 0], [0, 0, 2]])
    ... )
    >>> jr.multivariate_normal_tril.covariance(tril).tolist()[1]  # L L^T
    [0.5, 1.25, 0.0]
    >>> low_rank = jr.multivariate_normal_low_rank.init(
    ...     loc=loc, cov_factor=jnp.ones((3, 1)), cov_diag=jnp.ones(3)
    ... )
    >>> jr.multivariate_normal_low_rank.sample(jax.random.key(1), low_rank).shape
    (3,)
    >>> round(float(jr.multivariate_normal_diag.entropy(diag)), 3)  # 3/2 log(2 pi e)
    4.257
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks, base
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.distributions import _bundle, _common, _linalg


class MultivariateNormalDiagParams(NamedTuple):
    """Params: ``loc`` ``(..., n)`` and ``log_scale_diag`` ``(..., n)``.

    Examples:
        >>> p = jr.multivariate_normal_diag.init(loc=jnp.zeros(2), scale_diag=1.0)
        >>> p.log_scale_diag.tolist()
        [0.0, 0.0]
    """

    loc: Array
    log_scale_diag: Array


class MultivariateNormalTrilParams(NamedTuple):
    """Params: ``loc`` ``(..., n)`` and ``raw_scale_tril`` ``(..., n, n)``.

    ``raw_scale_tril`` holds ``scale_tril``'s strict lower triangle and the log of
    its diagonal; entries above the diagonal are ignored.

    Examples:
        >>> p = jr.multivariate_normal_tril.init(
        ...     loc=jnp.zeros(2), scale_tril=jnp.array([[1.0, 0.0], [0.5, 1.0]])
        ... )
        >>> p.raw_scale_tril.tolist()  # log 1 on the diagonal
        [[0.0, 0.0], [0.5, 0.0]]
    """

    loc: Array
    raw_scale_tril: Array


class MultivariateNormalLowRankParams(NamedTuple):
    """Params: ``loc`` ``(..., n)``, ``cov_factor`` ``(..., n, k)``, ``log_cov_diag``.

    ``log_cov_diag`` has shape ``(..., n)``.

    Examples:
        >>> p = jr.multivariate_normal_low_rank.init(
        ...     loc=jnp.zeros(4), cov_factor=jnp.ones((4, 2)), cov_diag=1.0
        ... )
        >>> p.cov_factor.shape, p.log_cov_diag.shape
        ((4, 2), (4,))
    """

    loc: Array
    cov_factor: Array
    log_cov_diag: Array


# --------------------------------------------------------------------------- #
# init: natural values -> params.


_LOC = _bundle.real("loc", event_ndims=1)
_SCALE_DIAG = _bundle.positive("scale_diag", range=(1e-15, 1e15), event_ndims=1)
_SCALE_TRIL = base.NaturalArg("scale_tril", "lower_cholesky", 2, None, (1e-30, 1e30))
_COV_FACTOR = _bundle.real("cov_factor", range=(-1e18, 1e18), event_ndims=2)
_COV_DIAG = _bundle.positive("cov_diag", range=(1e-30, 1e30), event_ndims=1)


def _checker(arg: base.NaturalArg) -> Callable:
    """``_bundle.check`` of ``arg``, called as ``_linalg.vector`` calls checks."""
    return lambda where, name, value: _bundle.check(where, arg, value)


def init_diag(*, loc: ArrayLike, scale_diag: ArrayLike) -> MultivariateNormalDiagParams:
    """Params of ``N(loc, diag(scale_diag)^2)``, both of shape ``(..., n)``.

    ``loc`` is finite, ``scale_diag`` finite and positive, in ``[1e-15, 1e15]``
    (its documented range); a 0-d argument broadcasts along the event axis.

    Examples:
        >>> p = jr.multivariate_normal_diag.init(loc=[0.0, 1.0], scale_diag=2.0)
        >>> p.log_scale_diag
        Array([0.6931472, 0.6931472], dtype=float32)
    """
    where = "multivariate_normal_diag.init"
    loc = _linalg.vector(where, "loc", loc, _checks.real)
    scale_diag = _linalg.vector(where, "scale_diag", scale_diag, _checker(_SCALE_DIAG))
    loc, scale_diag = _linalg.broadcast_events(
        where, {"loc": 1, "scale_diag": 1}, loc=loc, scale_diag=scale_diag
    )
    return MultivariateNormalDiagParams(
        _linalg.nan_if_any(loc, 1), _linalg.nan_if_any(jnp.log(scale_diag), 1)
    )


def init_tril(*, loc: ArrayLike, scale_tril: ArrayLike) -> MultivariateNormalTrilParams:
    """Params of ``N(loc, scale_tril scale_tril^T)``, ``loc`` of shape ``(..., n)``.

    ``scale_tril`` (``(..., n, n)``) is read on and below its diagonal, which
    must be positive, in ``[1e-30, 1e30]`` (its documented range); a 0-d one
    is that multiple of the identity, and a 0-d ``loc`` broadcasts along the
    event axis.

    Examples:
        >>> p = jr.multivariate_normal_tril.init(
        ...     loc=jnp.zeros(2), scale_tril=jnp.array([[2.0, 0.0], [1.0, 1.0]]))
        >>> jr.multivariate_normal_tril.covariance(p)
        Array([[4., 2.],
               [2., 2.]], dtype=float32)
    """
    where = "multivariate_normal_tril.init"
    loc = _linalg.vector(where, "loc", loc, _checks.real)
    scale_tril = _checks.as_float(where, "scale_tril", scale_tril)
    if scale_tril.ndim == 0:
        eye = jnp.eye(loc.shape[-1], dtype=bool)
        scale_tril = jnp.where(eye, scale_tril, jnp.zeros_like(scale_tril))
    shape = scale_tril.shape
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"{where}: scale_tril must be a square matrix of shape (..., n, n), "
            f"got shape {shape}"
        )
    _, n = _linalg.event_broadcast(
        where,
        {"loc": loc.shape, "scale_tril": shape},
        {"loc": 1, "scale_tril": 2},
        rigid=("scale_tril",),
    )
    loc, lower = _checks.same_dtype(_linalg.stretch(loc, -1, n), jnp.tril(scale_tril))
    lower = _checks.check_value(
        where, "scale_tril", lower, jnp.isfinite, "finite on and below the diagonal"
    )
    diagonal = _checks.check_value(
        where,
        "scale_tril",
        jnp.diagonal(lower, axis1=-2, axis2=-1),
        lambda x: jnp.isfinite(x) & (x > 0),
        "finite and positive on the diagonal",
    )
    diagonal = _bundle.in_range(where, _SCALE_TRIL, diagonal, "scale_tril's diagonal")
    raw = _linalg.raw_from_tril(lower, diagonal)
    return MultivariateNormalTrilParams(
        _linalg.nan_if_any(loc, 1), _linalg.nan_if_any(raw, 2)
    )


def init_low_rank(
    *, loc: ArrayLike, cov_factor: ArrayLike, cov_diag: ArrayLike
) -> MultivariateNormalLowRankParams:
    """Params of ``N(loc, cov_factor cov_factor^T + diag(cov_diag))``.

    ``loc`` (``(..., n)``) and ``cov_factor`` (``(..., n, k)``, in
    ``[-1e18, 1e18]``) are finite,
    ``cov_diag`` (``(..., n)``) positive, in ``[1e-30, 1e30]`` (its documented
    range). A 0-d ``loc`` or ``cov_diag``
    broadcasts along the event axis, a 0-d ``cov_factor`` is one column.

    Examples:
        >>> p = jr.multivariate_normal_low_rank.init(
        ...     loc=[0.0, 0.0], cov_factor=[[1.0], [2.0]], cov_diag=1.0)
        >>> jr.multivariate_normal_low_rank.variance(p)
        Array([2., 5.], dtype=float32)
    """
    where = "multivariate_normal_low_rank.init"
    loc = _linalg.vector(where, "loc", loc, _checks.real)
    cov_factor = _bundle.check(where, _COV_FACTOR, cov_factor)
    if cov_factor.ndim == 0:
        cov_factor = cov_factor.reshape(1, 1)
    if cov_factor.ndim == 1:
        raise ValueError(
            f"{where}: cov_factor must have shape (..., n, k), got shape "
            f"{cov_factor.shape}"
        )
    cov_diag = _linalg.vector(where, "cov_diag", cov_diag, _checker(_COV_DIAG))
    loc, cov_factor, cov_diag = _linalg.broadcast_events(
        where,
        {"loc": 1, "cov_factor": 2, "cov_diag": 1},
        loc=loc,
        cov_factor=cov_factor,
        cov_diag=cov_diag,
    )
    return MultivariateNormalLowRankParams(
        _linalg.nan_if_any(loc, 1),
        _linalg.nan_if_any(cov_factor, 2),
        _linalg.nan_if_any(jnp.log(cov_diag), 1),
    )


_SCALES = {
    MultivariateNormalDiagParams: _linalg.DIAG,
    MultivariateNormalTrilParams: _linalg.TRIL,
    MultivariateNormalLowRankParams: _linalg.LOW_RANK,
}


def _scale_of(params: Any) -> _linalg.Scale:
    try:
        return _SCALES[type(params)]
    except KeyError:
        known = ", ".join(t.__name__ for t in _SCALES)
        raise TypeError(
            f"multivariate_normal: params must be one of {known}, got "
            f"{type(params).__name__}"
        ) from None


# --------------------------------------------------------------------------- #
# The functions of the three families.


def to_natural(params: Any) -> dict[str, Array]:
    """The natural values that :func:`init_diag` (or ``_tril``, ``_low_rank``) takes."""
    return _scale_of(params).to_natural(params)


def batch_shape(params: Any) -> tuple[int, ...]:
    """The broadcast of ``loc``'s leading axes with the scale's."""
    scale_batch = _scale_of(params).batch_shape(params)
    return tuple(jnp.broadcast_shapes(params.loc.shape[:-1], scale_batch))


def event_shape(params: Any) -> tuple[int, ...]:
    """``(n,)``."""
    return tuple(params.loc.shape[-1:])


def _noise(key: ArrayLike, params: Any, sample_shape) -> tuple[_linalg.Scale, Array]:
    """The scale and the standard normal noise ``eps`` of one draw."""
    scale = _scale_of(params)
    key, shape, dtype = _common.prepare(key, params, sample_shape, batch_shape(params))
    size = scale.noise_size(params)
    return scale, _common.draw(jax.random.normal, key, shape + (size,), dtype)


def sample(key: ArrayLike, params: Any, sample_shape=()) -> Array:
    """Draws ``z = loc + S eps``, ``eps`` of ``n`` (low rank: ``k + n``) normals.

    Examples:
        >>> p = jr.multivariate_normal_diag.init(loc=[0.0, 1.0], scale_diag=[1.0, 2.0])
        >>> jr.multivariate_normal_diag.sample(jax.random.key(0), p, (5,)).shape
        (5, 2)
    """
    scale, eps = _noise(key, params, sample_shape)
    return params.loc + scale.scale(params, eps)


def _log_density(quadratic: Array, log_det: Array, n: int) -> Array:
    return -0.5 * (quadratic + log_det) - n * _checks.HALF_LOG_TWO_PI


def log_prob(params: Any, z: ArrayLike) -> Array:
    """``log q(z)`` at ``z`` of shape ``(..., n)``, the event axis reduced."""
    residual = (z - params.loc)[..., None]
    quadratic, log_det = _scale_of(params).quadratic_and_log_det(params, residual, None)
    return _log_density(quadratic, log_det, params.loc.shape[-1])


def sample_and_log_prob(
    key: ArrayLike, params: Any, sample_shape=()
) -> tuple[Array, Array]:
    """``sample`` and its ``log_prob``, the density computed from the noise.

    For the diagonal and Cholesky scales the Mahalanobis term is ``|eps|^2``:
    no triangular solve. Same key, same draws as :func:`sample`.
    """
    scale, eps = _noise(key, params, sample_shape)
    residual, quadratic, log_det = scale.from_noise(params, eps)
    return params.loc + residual, _log_density(quadratic, log_det, params.loc.shape[-1])


def entropy(params: Any) -> Array:
    """``(log det cov + n (1 + log 2 pi)) / 2``, of the batch shape."""
    n = params.loc.shape[-1]
    value = 0.5 * log_det_covariance(params) + 0.5 * n * math.log(2 * math.pi * math.e)
    return jnp.broadcast_to(value, batch_shape(params))


def mean(params: Any) -> Array:
    """``loc``, of shape ``batch_shape + (n,)``."""
    return jnp.broadcast_to(params.loc, batch_shape(params) + event_shape(params))


def variance(params: Any) -> Array:
    """The marginal variances ``diag(cov)``, of shape ``batch_shape + (n,)``."""
    factor, diagonal = covariance_factors(params)
    value = 0.0 if factor is None else jnp.sum(factor**2, -1)
    if diagonal is not None:
        value = value + diagonal**2
    return jnp.broadcast_to(value, batch_shape(params) + event_shape(params))


def covariance(params: Any) -> Array:
    """The dense covariance, of shape ``batch_shape + (n, n)``."""
    factor, diagonal = covariance_factors(params)
    n = params.loc.shape[-1]
    value = 0.0 if factor is None else factor @ jnp.swapaxes(factor, -1, -2)
    if diagonal is not None:
        value = value + diagonal[..., None] ** 2 * jnp.eye(n, dtype=diagonal.dtype)
    return jnp.broadcast_to(value, batch_shape(params) + (n, n))


def covariance_factors(params: Any) -> tuple[Array | None, Array | None]:
    """``(F, g)`` with ``cov = F F^T + diag(g^2)``; either may be ``None``.

    Diagonal scale: ``(None, scale_diag)``; Cholesky: ``(scale_tril, None)``; low
    rank: ``(cov_factor, sqrt(cov_diag))``. Shapes keep the params' own batch axes.
    """
    return _scale_of(params).factors(params)


def log_det_covariance(params: Any) -> Array:
    """``log det cov``, of the scale's own batch shape (broadcastable to the batch)."""
    return _scale_of(params).log_det(params)


def quadratic_and_log_det(
    params: Any, x: ArrayLike, diagonal: ArrayLike | None = None
) -> tuple[Array, Array]:
    """``sum_j x_j^T cov^{-1} x_j + sum_i g_i^2 (cov^{-1})_ii`` and ``log det cov``.

    For columns ``x_j`` (``x`` of shape ``(..., n, m)``) and ``g = diagonal``
    (``(..., n)`` or ``None``): the building block of the log-density and of the
    Gaussian KL divergences, one triangular solve for the Cholesky scale,
    ``O(n k^2)`` for the low-rank one.
    """
    return _scale_of(params).quadratic_and_log_det(params, x, diagonal)


def _family(
    name: str, params_type: type, init: Callable[..., Any], natural: tuple
) -> Family:
    functions = *_FUNCTIONS, *_CLOSED_FORMS
    return _bundle.family(
        name, params_type, *functions, init=init, natural_args=natural
    )


_FUNCTIONS = (
    sample,
    log_prob,
    sample_and_log_prob,
    to_natural,
    batch_shape,
    event_shape,
)
_CLOSED_FORMS = (entropy, mean, variance, covariance)


multivariate_normal_diag = _family(
    "multivariate_normal_diag",
    MultivariateNormalDiagParams,
    init_diag,
    (_LOC, _SCALE_DIAG),
)
multivariate_normal_tril = _family(
    "multivariate_normal_tril",
    MultivariateNormalTrilParams,
    init_tril,
    (_LOC, _SCALE_TRIL),
)
multivariate_normal_low_rank = _family(
    "multivariate_normal_low_rank",
    MultivariateNormalLowRankParams,
    init_low_rank,
    (_LOC, _COV_FACTOR, _COV_DIAG),
)
