"""The continuous Bernoulli family on ``[0, 1]``, reparameterized by its inverse CDF.

Density (Loaiza-Ganem and Cunningham, 2019): with ``lam = sigmoid(logits)``,
``q(z) = C(lam) lam^z (1 - lam)^(1 - z)`` for ``0 <= z <= 1``, where
``C(lam) = 2 artanh(1 - 2 lam) / (1 - 2 lam)`` (``C(1/2) = 2``). In the logits
``eta`` it is an exponential family with base measure ``dz`` on ``[0, 1]``:
``log q(z) = z eta - A(eta)``, ``A(eta) = log((e^eta - 1) / eta)`` (``A(0) = 0``),
so ``log C = softplus(eta) - A(eta) = log(eta / tanh(eta / 2))``, the mean is
``A'(eta)`` and the variance ``A''(eta)``.

When to use it: as the likelihood of data in ``[0, 1]`` that are not binary,
such as greyscale pixels. ``jr.bernoulli.log_prob`` of ``0.3`` is ``-inf`` (a
Bernoulli has mass on ``{0, 1}`` only); the usual VAE "Bernoulli" loss on
greyscale data is the cross-entropy ``z eta - softplus(eta)``, which is not a
normalized log-density on ``[0, 1]``: it lacks ``log C(eta)``, and the paper
shows that the missing term biases what the decoder learns.

Reparameterization: ``u ~ U[0, 1)`` and ``z = F^-1(u)``, where
``F(z) = expm1(z eta) / expm1(eta)``, so ``z = log1p(u expm1(eta)) / eta``
(``z = u`` at ``eta = 0``). The gradient of a draw is the implicit one,
``dz / d eta = -(dF / d eta) / q(z) = z (m(eta) - z m(z eta)) exp(A(-z eta))``
with ``m = A'`` (a custom JVP), which has no cancellation near ``eta = 0``.

Numerics. ``A`` is the only function that needs care. For ``|eta| < 2`` it is
``eta / 2 + S(eta)`` with the even series
``S(eta) = log(sinh(eta / 2) / (eta / 2)) = sum_k B_2k eta^2k / (2k (2k)!)``
(``B_2k`` the Bernoulli numbers: ``eta^2 / 24 - eta^4 / 2880 + ...``; radius of
convergence ``2 pi``), with as many terms as the dtype resolves (8 in float32,
17 in float64); elsewhere ``max(eta, 0) + log1p(-exp(-|eta|)) - log|eta|``,
which neither overflows nor cancels there. Against a 90-digit reference
(``decimal``) on ``|eta|`` in ``[1e-6, 50]``, ``A``, the mean ``A'`` and
``log C`` are within 5 eps (relative) in float32 and float64, the variance
``A''`` within 5 eps. The draw takes ``log1p(u expm1(eta))`` while
``|u expm1(eta)| <= 1/2`` and otherwise
``logaddexp(log1p(-u), log(u) + eta)`` (no overflow for large ``eta``, no
cancellation of ``1 + u expm1(eta)`` for large negative ``eta``), and
``u + u (1 - u) eta / 2`` for ``|eta| < sqrt(eps)``. Every function and its
gradient is finite at ``lam = 1/2`` and for logits of any finite size, in
float32 and float64.

Params store ``logits`` (the log-odds of ``lam``): every finite real is valid.

Examples:
    >>> params = jr.continuous_bernoulli.init(probs=0.3)
    >>> z = jr.continuous_bernoulli.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.continuous_bernoulli.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.continuous_bernoulli.cdf(params, 0.5)), 3)
    0.604

References:
    Loaiza-Ganem and Cunningham, "The continuous Bernoulli: fixing a pervasive
    error in variational autoencoders", NeurIPS 2019.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from math import comb, factorial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike
from jaxreparam.distributions import _bundle, _common

#: Below this ``|eta|`` the log-normalizer and the entropy come from their series.
_SWITCH = 2.0


class ContinuousBernoulliParams(NamedTuple):
    """Params of a continuous Bernoulli: ``logits``, the log-odds of ``lam``.

    Examples:
        >>> params = jr.continuous_bernoulli.init(probs=0.3)
        >>> params._fields
        ('logits',)
        >>> natural = jr.continuous_bernoulli.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'logits': -0.847}
    """

    logits: Array


def _series_coefficients() -> list[Fraction]:
    """``c_k = B_2k / (2k (2k)!)`` for ``k = 1..24``: ``S(eta) = sum c_k eta^2k``."""
    bernoulli = [Fraction(1)]  # B_0, B_1, ... by sum_j C(m + 1, j) B_j = 0
    for m in range(1, 49):
        total = sum((comb(m + 1, j) * b for j, b in enumerate(bernoulli)), Fraction())
        bernoulli.append(-total / (m + 1))
    return [bernoulli[2 * k] / (2 * k * factorial(2 * k)) for k in range(1, 25)]


_COEFFICIENTS = _series_coefficients()


@functools.cache
def _terms(dtype) -> int:
    """How many terms of ``S`` the dtype resolves (8 in float32, 17 in float64).

    Those whose part of ``S''`` at ``|eta| = _SWITCH`` is at least ``eps / 10``.
    """
    eps = float(jnp.finfo(dtype).eps)
    for k, c in enumerate(_COEFFICIENTS, start=1):
        if 2 * k * (2 * k - 1) * abs(float(c)) * _SWITCH ** (2 * k - 2) < eps / 10:
            return k - 1
    return len(_COEFFICIENTS)


def _even_series(coefficients, x: Array) -> Array:
    """``sum_k coefficients[k - 1] x^2k`` by Horner's rule in ``x^2``."""
    x2 = x * x
    total = jnp.zeros_like(x) + coefficients[-1]
    for c in coefficients[-2::-1]:
        total = total * x2 + c
    return total * x2


def _split(eta: Array) -> tuple[Array, Array, Array]:
    """``|eta| < _SWITCH``, and ``eta`` on each side of the switch.

    Elsewhere each side holds a point of its own, so that neither branch nor its
    gradient is inf or NaN where the other is taken.
    """
    small = jnp.abs(eta) < _SWITCH
    return small, jnp.where(small, eta, 0.0), jnp.where(small, _SWITCH, eta)


def _log_normalizer(eta: Array) -> Array:
    """``A(eta) = log((e^eta - 1) / eta)``, ``A(0) = 0`` (see the module)."""
    small, near, far = _split(eta)
    coefficients = [float(c) for c in _COEFFICIENTS[: _terms(eta.dtype)]]
    series = 0.5 * near + _even_series(coefficients, near)
    a = jnp.abs(far)
    closed = jnp.maximum(far, 0.0) + jnp.log1p(-jnp.exp(-a)) - jnp.log(a)
    return jnp.where(small, series, closed)


def _mean(eta: Array) -> Array:
    """``A'(eta)``, the mean, by forward-mode differentiation of ``A``."""
    return jax.jvp(_log_normalizer, (eta,), (jnp.ones_like(eta),))[1]


def _log1p(w: Array) -> Array:
    """``log1p(w)``, through ``log(1 + w)`` for ``-1/2 < w < -1/4``.

    XLA's float64 ``log1p`` on CPU is off by up to 120 eps for ``w`` in about
    ``[-0.4142, -0.3645]``; there ``1 + w`` has an error of at most eps/4, and
    ``log(1 + w)`` is within 2 eps. Its float32 ``log1p`` is within 1.7 eps.
    """
    if w.dtype != jnp.float64:
        return jnp.log1p(w)
    mid = (w > -0.5) & (w < -0.25)
    return jnp.where(mid, jnp.log(1 + w), jnp.log1p(w))


@jax.custom_jvp
def _quantile(u: Array, eta: Array) -> Array:
    """``F^-1(u) = log1p(u expm1(eta)) / eta``, in ``[0, 1]`` (see the module)."""
    w = u * jnp.expm1(eta)
    log1p_w = jnp.where(
        jnp.abs(w) <= 0.5,
        _log1p(w),
        jnp.logaddexp(_log1p(-u), jnp.log(u) + eta),  # log(1 - u + u e^eta)
    )
    tiny = jnp.abs(eta) < np.sqrt(jnp.finfo(jnp.result_type(u, eta)).eps)
    x = jnp.where(tiny, u + 0.5 * u * (1 - u) * eta, log1p_w / eta)
    return jnp.where((u >= 0) & (u <= 1), jnp.clip(x, 0.0, 1.0), jnp.nan)


def _quantile_jvp(primals, tangents):
    """``dx = x (m(eta) - x m(x eta)) exp(A(-x eta)) d eta + du / q(x)``."""
    u, eta = primals
    u_dot, eta_dot = tangents
    x = _quantile(u, eta)
    tangent = jnp.zeros_like(x)
    if not isinstance(eta_dot, SymbolicZero):
        d_eta = (
            x * (_mean(eta) - x * _mean(x * eta)) * jnp.exp(_log_normalizer(-x * eta))
        )
        tangent = tangent + d_eta * eta_dot
    if not isinstance(u_dot, SymbolicZero):
        tangent = tangent + jnp.exp(_log_normalizer(eta) - x * eta) * u_dot
    return x, tangent


_quantile.defjvp(_quantile_jvp, symbolic_zeros=True)


def init(
    *, logits: ArrayLike | None = None, probs: ArrayLike | None = None
) -> ContinuousBernoulliParams:
    """Params of ``ContinuousBernoulli`` from finite ``logits`` or ``probs``.

    ``probs`` is ``lam = sigmoid(logits)`` and must lie in the open interval
    ``(0, 1)``: at 0 or 1 the density degenerates to a point mass at 0 or 1 (no
    density on ``[0, 1]``), so those ends are outside the range and treated as
    any invalid value (a ``ValueError`` naming ``probs`` and the value, NaN under
    ``jax.jit``, an error in checking mode). With neither, ``logits = 0``
    (``lam = 1/2``, the uniform on ``[0, 1]``); with both, a ``ValueError``.

    Examples:
        >>> jr.continuous_bernoulli.init(probs=0.5)
        ContinuousBernoulliParams(logits=Array(0., dtype=float32...))
    """
    where = "continuous_bernoulli.init"
    if logits is not None and probs is not None:
        raise ValueError(f"{where}: give logits or probs, not both")
    if probs is not None:
        probs = _checks.as_float(where, "probs", probs)
        probs = _checks.check_value(
            where, "probs", probs, lambda p: (p > 0) & (p < 1), "in (0, 1)"
        )
        return ContinuousBernoulliParams(jnp.log(probs) - _log1p(-probs))
    return ContinuousBernoulliParams(
        _checks.real(where, "logits", 0.0 if logits is None else logits)
    )


def _uniform(key: jax.Array, shape: tuple[int, ...], dtype) -> Array:
    return _common.draw(jax.random.uniform, key, shape, dtype)


def sample(key: ArrayLike, params: ContinuousBernoulliParams, sample_shape=()) -> Array:
    """Draws ``z = log1p(u expm1(logits)) / logits``, ``u ~ U[0, 1)``.

    Args:
        key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
        params: ``ContinuousBernoulliParams``.
        sample_shape: leading shape of independent draws.

    Returns:
        An array of shape ``sample_shape + batch_shape`` in ``[0, 1]``, pathwise
        differentiable in ``logits`` (the implicit gradient ``-(dF/d logits) /
        q(z)``, exact at ``logits = 0`` too).

    Examples:
        >>> params = jr.continuous_bernoulli.init(logits=jnp.array([-3.0, 0.0, 3.0]))
        >>> z = jr.continuous_bernoulli.sample(jax.random.key(0), params, (2,))
        >>> z.shape
        (2, 3)
    """
    u = _common.noise(_uniform, key, params, sample_shape)
    return _quantile(u, params.logits)


def log_prob(params: ContinuousBernoulliParams, z: ArrayLike) -> Array:
    """``z logits - A(logits)`` on ``[0, 1]``; ``-inf`` elsewhere, NaN stays NaN.

    Unlike ``jr.bernoulli.log_prob``, finite for any ``z`` in ``[0, 1]``:

    Examples:
        >>> params = jr.continuous_bernoulli.init(logits=jnp.array(2.0))
        >>> jr.continuous_bernoulli.log_prob(params, jnp.array([0.3, 1.5]))
        Array([-0.5614394,       -inf], dtype=float32)
    """
    z = jnp.asarray(z)
    return _common.log_prob_on_support(
        lambda z: z * params.logits - _log_normalizer(params.logits),
        z,
        (z >= 0) & (z <= 1),
        0.5,
    )


def entropy(params: ContinuousBernoulliParams) -> Array:
    """``A(eta) - eta A'(eta)``, at most 0 (the uniform's), of the batch shape.

    For ``|eta| >= 2``: ``1 + log1p(-q) - log|eta| - |eta| q / (1 - q)`` with
    ``q = exp(-|eta|)`` (within 5 eps: its terms cancel by up to 14x near
    ``|eta| = 2``); below, the series ``sum_k (1 - 2k) c_k eta^2k``.
    """
    small, near, far = _split(params.logits)
    terms = _COEFFICIENTS[: _terms(near.dtype)]
    coefficients = [float((1 - 2 * k) * c) for k, c in enumerate(terms, start=1)]
    a = jnp.abs(far)
    q = jnp.exp(-a)
    closed = 1 + jnp.log1p(-q) - jnp.log(a) - a * q / (1 - q)
    return jnp.where(small, _even_series(coefficients, near), closed)


def mean(params: ContinuousBernoulliParams) -> Array:
    """``A'(eta) = 1 / (1 - e^-eta) - 1 / eta`` (``1/2`` at ``eta = 0``)."""
    return _mean(params.logits)


def variance(params: ContinuousBernoulliParams) -> Array:
    """``A''(eta) = 1 / eta^2 - e^eta / (e^eta - 1)^2`` (``1/12`` at ``eta = 0``)."""
    eta = params.logits
    return jax.jvp(_mean, (eta,), (jnp.ones_like(eta),))[1]


def cdf(params: ContinuousBernoulliParams, z: ArrayLike) -> Array:
    """``expm1(z eta) / expm1(eta)``, as ``z exp(A(z eta) - A(eta))``.

    ``z`` is clipped to ``[0, 1]``; no overflow for large ``|eta|``.
    """
    x = jnp.clip(z, 0.0, 1.0)
    return x * jnp.exp(
        _log_normalizer(x * params.logits) - _log_normalizer(params.logits)
    )


def icdf(params: ContinuousBernoulliParams, u: ArrayLike) -> Array:
    """``log1p(u expm1(eta)) / eta``, differentiable in ``u`` and ``logits``."""
    u = jnp.asarray(u, params.logits.dtype)
    return _quantile(u, params.logits)


_FUNCTIONS = (init, sample, log_prob, entropy, mean, variance, cdf, icdf)
continuous_bernoulli = _bundle.family(
    "continuous_bernoulli", ContinuousBernoulliParams, *_FUNCTIONS
)
