"""Analytic KL divergences ``KL(p || q)``, looked up by the pair of params types.

``register_kl(PType, QType)`` registers a closed form; :func:`kl_divergence`
finds it from ``(type(p), type(q))`` and raises a ``NotImplementedError`` naming
the pair when there is none, so that a Monte Carlo estimate is a deliberate choice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
from jax.scipy.special import betaln, digamma, gammaln, i0e

from jaxreparam.base import Array
from jaxreparam.distributions import (
    _beta as beta,
)
from jaxreparam.distributions import (
    _dirichlet as dirichlet,
)
from jaxreparam.distributions import (
    _exponential as exponential,
)
from jaxreparam.distributions import (
    _gamma as gamma,
)
from jaxreparam.distributions import (
    _half_normal as half_normal,
)
from jaxreparam.distributions import (
    _laplace as laplace,
)
from jaxreparam.distributions import (
    _log_dirichlet as log_dirichlet,
)
from jaxreparam.distributions import (
    _log_gamma as log_gamma,
)
from jaxreparam.distributions import (
    _lognormal as lognormal,
)
from jaxreparam.distributions import (
    _multivariate_normal as multivariate_normal,
)
from jaxreparam.distributions import (
    _normal as normal,
)
from jaxreparam.distributions import (
    _pareto as pareto,
)
from jaxreparam.distributions import (
    _uniform as uniform,
)
from jaxreparam.distributions import (
    _von_mises as von_mises,
)
from jaxreparam.distributions import (
    _weibull as weibull,
)

__all__ = ["kl_divergence", "register_kl", "registered_pairs"]

_KL: dict[tuple[type, type], Callable[[Any, Any], Array]] = {}


def register_kl(p_type: type, q_type: type) -> Callable[[Callable], Callable]:
    """Decorator registering ``fn(p, q) -> KL(p || q)`` for a pair of types.

    Examples:
        >>> from typing import NamedTuple
        >>> class PointParams(NamedTuple):  # a point mass at loc
        ...     loc: jax.Array
        ...
        >>> @jr.register_kl(PointParams, PointParams)
        ... def kl_point_point(p, q):
        ...     return jnp.where(p.loc == q.loc, 0.0, jnp.inf)
        ...
        >>> float(jr.kl_divergence(PointParams(0.0), PointParams(1.0)))
        inf
    """

    def decorator(fn: Callable[[Any, Any], Array]) -> Callable[[Any, Any], Array]:
        _KL[(p_type, q_type)] = fn
        return fn

    return decorator


def registered_pairs() -> list[tuple[type, type]]:
    """Every ``(p_type, q_type)`` with an analytic KL.

    Examples:
        >>> pairs = jr.kl.registered_pairs()
        >>> (jr.NormalParams, jr.NormalParams) in pairs
        True
        >>> (jr.NormalParams, jr.LaplaceParams) in pairs
        False
    """
    return list(_KL)


def kl_divergence(p: Any, q: Any) -> Array:
    """``KL(p || q) = E_p[log p(z) - log q(z)]`` in closed form.

    Args:
        p: params of the first distribution.
        q: params of the second; batch shapes broadcast.

    Returns:
        The divergence, of the broadcast batch shape.

    Raises:
        NotImplementedError: no closed form is registered for the pair.

    Examples:
        >>> p = jr.normal.init(loc=0.0, scale=1.0)
        >>> q = jr.normal.init(loc=1.0, scale=2.0)
        >>> round(float(jr.kl_divergence(p, q)), 3)  # log 2 + (1 + 1) / 8 - 1 / 2
        0.443
        >>> round(float(jr.kl_divergence(p, p)), 3)
        0.0
        >>> jr.kl_divergence(p, jr.laplace.init())
        Traceback (most recent call last):
            ...
        NotImplementedError: no analytic KL divergence between NormalParams and...
    """
    try:
        fn = _KL[(type(p), type(q))]
    except KeyError:
        raise NotImplementedError(
            f"no analytic KL divergence between {type(p).__name__} and "
            f"{type(q).__name__}; estimate it by Monte Carlo instead "
            f"(E_p[log p(z) - log q(z)])"
        ) from None
    return fn(p, q)


@register_kl(normal.NormalParams, normal.NormalParams)
def _kl_normal_normal(p: normal.NormalParams, q: normal.NormalParams) -> Array:
    log_ratio = p.log_scale - q.log_scale
    diff = (p.loc - q.loc) * jnp.exp(-q.log_scale)
    return 0.5 * (jnp.exp(2 * log_ratio) + diff**2 - 1.0) - log_ratio


@register_kl(lognormal.LogNormalParams, lognormal.LogNormalParams)
def _kl_lognormal_lognormal(
    p: lognormal.LogNormalParams, q: lognormal.LogNormalParams
) -> Array:
    # exp is a bijection, so the KL is that of the two normals of log z.
    log_ratio = p.log_scale - q.log_scale
    diff = (p.loc - q.loc) * jnp.exp(-q.log_scale)
    return 0.5 * (jnp.exp(2 * log_ratio) + diff**2 - 1.0) - log_ratio


@register_kl(laplace.LaplaceParams, laplace.LaplaceParams)
def _kl_laplace_laplace(p: laplace.LaplaceParams, q: laplace.LaplaceParams) -> Array:
    # log(b_q / b_p) + |mu_p - mu_q| / b_q + (b_p / b_q) exp(-|mu_p - mu_q| / b_p) - 1
    log_ratio = p.log_scale - q.log_scale
    distance = jnp.abs(p.loc - q.loc)
    return (
        distance * jnp.exp(-q.log_scale)
        - log_ratio
        + jnp.expm1(log_ratio - distance * jnp.exp(-p.log_scale))
    )


def _inf_unless(nested: Array, value: Array) -> Array:
    """``value`` where the supports nest, ``+inf`` elsewhere; NaN stays NaN."""
    return jnp.where(nested | jnp.isnan(value), value, jnp.inf)


@register_kl(exponential.ExponentialParams, exponential.ExponentialParams)
def _kl_exponential_exponential(
    p: exponential.ExponentialParams, q: exponential.ExponentialParams
) -> Array:
    # log(rate_p / rate_q) + rate_q / rate_p - 1, with r = log(rate_q / rate_p).
    r = q.log_rate - p.log_rate
    return jnp.expm1(r) - r


@register_kl(half_normal.HalfNormalParams, half_normal.HalfNormalParams)
def _kl_half_normal_half_normal(
    p: half_normal.HalfNormalParams, q: half_normal.HalfNormalParams
) -> Array:
    # log(scale_q / scale_p) + (scale_p^2 / scale_q^2 - 1) / 2.
    r = p.log_scale - q.log_scale
    return 0.5 * jnp.expm1(2 * r) - r


@register_kl(uniform.UniformParams, uniform.UniformParams)
def _kl_uniform_uniform(p: uniform.UniformParams, q: uniform.UniformParams) -> Array:
    # log(width_q / width_p) when [low_p, high_p] lies in [low_q, high_q].
    high_p = p.low + jnp.exp(p.log_width)
    high_q = q.low + jnp.exp(q.log_width)
    nested = (p.low >= q.low) & (high_p <= high_q)
    value = q.log_width - p.log_width + 0 * (p.low + q.low)  # NaN low: NaN
    return _inf_unless(nested, value)


@register_kl(weibull.WeibullParams, weibull.WeibullParams)
def _kl_weibull_weibull(p: weibull.WeibullParams, q: weibull.WeibullParams) -> Array:
    # E_p[log z] = log s_p - gamma / c_p and E_p[(z / s_q)^c_q] =
    # (s_p / s_q)^c_q Gamma(1 + c_q / c_p), with gamma Euler's constant.
    c_p, c_q = jnp.exp(p.log_concentration), jnp.exp(q.log_concentration)
    log_scale_ratio = p.log_scale - q.log_scale
    return (
        p.log_concentration
        - q.log_concentration
        - c_q * log_scale_ratio
        - jnp.euler_gamma * (1 - c_q / c_p)
        - 1
        + jnp.exp(c_q * log_scale_ratio + gammaln(1 + c_q / c_p))
    )


@register_kl(pareto.ParetoParams, pareto.ParetoParams)
def _kl_pareto_pareto(p: pareto.ParetoParams, q: pareto.ParetoParams) -> Array:
    # log(c_p / c_q) + c_q / c_p - 1 + c_q log(s_p / s_q) when s_p >= s_q.
    r = q.log_concentration - p.log_concentration
    log_scale_ratio = p.log_scale - q.log_scale
    value = jnp.expm1(r) - r + jnp.exp(q.log_concentration) * log_scale_ratio
    return _inf_unless(log_scale_ratio >= 0, value)


# --------------------------------------------------------------------------- #
# Multivariate normals: every ordered pair of the three scales.

_MVN_PARAMS = (
    multivariate_normal.MultivariateNormalDiagParams,
    multivariate_normal.MultivariateNormalTrilParams,
    multivariate_normal.MultivariateNormalLowRankParams,
)


def _kl_gaussian(p: Any, q: Any) -> Array:
    """``KL(p || q)`` between multivariate normals with any two scales.

    ``(tr(S_q^-1 S_p) + d^T S_q^-1 d - n + log det S_q - log det S_p) / 2`` with
    ``d = loc_p - loc_q``. Writing ``S_p = F F^T + diag(g^2)``, the trace is the
    quadratic form of ``S_q^-1`` on ``F``'s columns plus ``g^2`` on its diagonal;
    ``d`` is one more column, so one call gives trace and Mahalanobis terms.
    """
    n = p.loc.shape[-1]
    if q.loc.shape[-1] != n:
        raise ValueError(
            f"kl_divergence: event sizes differ, {n} for p and {q.loc.shape[-1]} for q"
        )
    factor, diagonal = multivariate_normal.covariance_factors(p)
    columns = (p.loc - q.loc)[..., None]
    if factor is not None:
        batch = jnp.broadcast_shapes(factor.shape[:-2], columns.shape[:-2])
        columns = jnp.concatenate(
            [
                jnp.broadcast_to(factor, batch + factor.shape[-2:]),
                jnp.broadcast_to(columns, batch + (n, 1)),
            ],
            axis=-1,
        )
    quadratic, log_det_q = multivariate_normal.quadratic_and_log_det(
        q, columns, diagonal
    )
    log_det_p = multivariate_normal.log_det_covariance(p)
    return 0.5 * (quadratic - n + log_det_q - log_det_p)


for _p_type in _MVN_PARAMS:
    for _q_type in _MVN_PARAMS:
        register_kl(_p_type, _q_type)(_kl_gaussian)


@register_kl(_MVN_PARAMS[0], _MVN_PARAMS[0])
def _kl_mvn_diag_diag(p: Any, q: Any) -> Array:
    # Fast path: a sum of univariate Normal KLs, from log scale ratios.
    log_ratio = p.log_scale_diag - q.log_scale_diag
    diff = (p.loc - q.loc) * jnp.exp(-q.log_scale_diag)
    return jnp.sum(0.5 * (jnp.expm1(2 * log_ratio) + diff**2) - log_ratio, -1)


@register_kl(von_mises.VonMisesParams, von_mises.VonMisesParams)
def _kl_von_mises_von_mises(
    p: von_mises.VonMisesParams, q: von_mises.VonMisesParams
) -> Array:
    """``log(I0(k_q)/I0(k_p)) + k_p A_p - k_q A_p cos(loc_p - loc_q)``.

    With ``A_p = I1(k_p)/I0(k_p)``, rewritten on scaled Bessel functions and
    ``1 - A_p`` so that nothing overflows or cancels for large concentrations:
    ``log(i0e(k_q)/i0e(k_p)) + (k_q - k_p)(1 - A_p) + 2 k_q A_p sin^2(d/2)``.
    """
    k_p, k_q = jnp.exp(p.log_concentration), jnp.exp(q.log_concentration)
    one_minus = von_mises._one_minus_ratio(k_p)
    half_angle = jnp.sin(0.5 * (p.loc - q.loc)) ** 2
    return (
        jnp.log(i0e(k_q) / i0e(k_p))
        + (k_q - k_p) * one_minus
        + 2 * k_q * (1 - one_minus) * half_angle
    )


@register_kl(gamma.GammaParams, gamma.GammaParams)
@register_kl(log_gamma.LogGammaParams, log_gamma.LogGammaParams)
def _kl_gamma_gamma(p: Any, q: Any) -> Array:
    """Gamma-gamma (and log-gamma: KL is invariant under ``y = log z``).

    ``(a_p - a_q) psi(a_p) - log G(a_p) + log G(a_q) + a_q log(r_p / r_q)
    + a_p (r_q / r_p - 1)``.
    """
    a_p, a_q = jnp.exp(p.log_concentration), jnp.exp(q.log_concentration)
    return (
        (a_p - a_q) * digamma(a_p)
        - gammaln(a_p)
        + gammaln(a_q)
        + a_q * (p.log_rate - q.log_rate)
        + a_p * jnp.expm1(q.log_rate - p.log_rate)
    )


@register_kl(beta.BetaParams, beta.BetaParams)
def _kl_beta_beta(p: beta.BetaParams, q: beta.BetaParams) -> Array:
    """``log B(q) - log B(p) + sum_j (c_pj - c_qj) (psi(c_pj) - psi(c_p1 + c_p0))``."""
    p1, p0 = jnp.exp(p.log_concentration1), jnp.exp(p.log_concentration0)
    q1, q0 = jnp.exp(q.log_concentration1), jnp.exp(q.log_concentration0)
    psi_total = digamma(p1 + p0)
    return (
        betaln(q1, q0)
        - betaln(p1, p0)
        + (p1 - q1) * (digamma(p1) - psi_total)
        + (p0 - q0) * (digamma(p0) - psi_total)
    )


@register_kl(dirichlet.DirichletParams, dirichlet.DirichletParams)
@register_kl(log_dirichlet.LogDirichletParams, log_dirichlet.LogDirichletParams)
def _kl_dirichlet_dirichlet(p: Any, q: Any) -> Array:
    """Dirichlet-Dirichlet (and log-Dirichlet: ``log p`` is a bijection of ``p``).

    ``log B(q) - log B(p) + sum_i (a_pi - a_qi) (psi(a_pi) - psi(a_p0))``.
    """
    a_p, a_q = jnp.exp(p.log_concentration), jnp.exp(q.log_concentration)
    expected_log = digamma(a_p) - digamma(jnp.sum(a_p, -1, keepdims=True))
    log_beta_p = dirichlet.log_beta(dirichlet.DirichletParams(p.log_concentration))
    log_beta_q = dirichlet.log_beta(dirichlet.DirichletParams(q.log_concentration))
    return log_beta_q - log_beta_p + jnp.sum((a_p - a_q) * expected_log, -1)
