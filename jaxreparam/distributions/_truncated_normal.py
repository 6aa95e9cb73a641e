"""The truncated Normal family, any bounds, by a tail-stable inverse CDF.

Density: ``q(z) = phi((z - loc)/scale) / (scale Z)`` on ``[low, high]``, where
``Z = Phi(beta) - Phi(alpha)``, ``alpha = (low - loc)/scale``,
``beta = (high - loc)/scale``; either bound may be infinite.
Sampling: ``z = loc + scale Phi^{-1}(Phi(alpha) + u Z)``, computed on whichever
side of the mean the interval's mass lies (``alpha + beta <= 0`` after a sign
flip), entirely in log space (``log_ndtr``), with an inverse of ``log Phi`` for
probabilities below the dtype's smallest normal number: bounds 10 or 40
standard deviations out give exact, finite draws, in float32 too.
Gradients: implicit (Figurnov et al., 2018) in closed form, from the sample itself:
``dz/dlow = (1 - F) phi(alpha)/phi(zeta)``, ``dz/dhigh = F phi(beta)/phi(zeta)``,
``dz/dloc = 1 - dz/dlow - dz/dhigh``, ``dz/dscale = zeta - alpha dz/dlow -
beta dz/dhigh``, each a ratio taken in log space.
Params store ``log_scale``, and the bounds as given; the support is
``[min(low, high), max(low, high)]``, so no optimizer step can empty it.

Examples:
    >>> params = jr.truncated_normal.init(loc=0.0, scale=1.0, low=0.0)
    >>> z = jr.truncated_normal.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.truncated_normal.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.truncated_normal.mean(params)), 3)  # sqrt(2 / pi)
    0.798
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr as _jax_log_ndtr
from jax.scipy.special import ndtr, ndtri

from jaxreparam import _checks, base
from jaxreparam.base import Array, ArrayLike
from jaxreparam.base import scalar_batch_shape as batch_shape
from jaxreparam.distributions import _bundle, _common
from jaxreparam.implicit import implicit_sampler

_WHERE = "truncated_normal.init"
_NATURAL = (
    _bundle.real("loc", 0.0, range=(-1e6, 1e6)),
    _bundle.positive("scale", 1.0, range=(1e-15, 1e7)),
    base.NaturalArg("low", "lower_bound", default=-math.inf),
    base.NaturalArg("high", "upper_bound", default=math.inf),
)


def _log_ndtr(x: Array) -> Array:
    """``log Phi(x)``, with ten asymptotic terms in the far lower tail.

    jax's default three leave absolute errors up to 3e-9 just below -20 (float64).
    """
    return _jax_log_ndtr(x, series_order=10)


class TruncatedNormalParams(NamedTuple):
    """Params: ``loc``, ``log_scale`` (unconstrained) and the two bounds.

    Examples:
        >>> params = jr.truncated_normal.init(loc=0.0, scale=1.0, low=0.0)
        >>> params._fields
        ('loc', 'log_scale', 'low', 'high')
        >>> natural = jr.truncated_normal.to_natural(params)  # init's inverse
        >>> {k: round(float(v), 3) for k, v in natural.items()}
        {'loc': 0.0, 'scale': 1.0, 'low': 0.0, 'high': inf}
    """

    loc: Array
    log_scale: Array
    low: Array
    high: Array


def init(
    *,
    loc: ArrayLike = 0.0,
    scale: ArrayLike = 1.0,
    low: ArrayLike = -math.inf,
    high: ArrayLike = math.inf,
) -> TruncatedNormalParams:
    """Params of ``N(loc, scale^2)`` truncated to ``[low, high]``, ``low < high``.

    ``loc`` is finite, in ``[-1e6, 1e6]``, ``scale`` finite and positive, in
    ``[1e-15, 1e7]`` (their documented ranges, with the bounds at moderate
    values: what matters is ``(low - loc) / scale``); ``low`` may be ``-inf``
    and ``high`` ``+inf``.

    Examples:
        >>> p = jr.truncated_normal.init(loc=0.0, scale=1.0, low=10.0)
        >>> round(float(jr.truncated_normal.mean(p)), 4)
        10.0981
    """
    loc = _bundle.check(_WHERE, _NATURAL[0], loc)
    scale = _bundle.check(_WHERE, _NATURAL[1], scale)
    low = _checks.as_float(_WHERE, "low", low)
    low = _checks.check_value(_WHERE, "low", low, lambda x: x < math.inf, "< +inf")
    high = _checks.as_float(_WHERE, "high", high)
    high = _checks.check_value(_WHERE, "high", high, lambda x: x > -math.inf, "> -inf")
    _checks.broadcast_shapes(
        _WHERE, loc=loc.shape, scale=scale.shape, low=low.shape, high=high.shape
    )
    loc, scale, low, high = _checks.same_dtype(loc, scale, low, high)
    width = _checks.check_value(
        _WHERE, "high - low", high - low, lambda w: w > 0, "positive (low < high)"
    )
    bad = jnp.isnan(width)  # only under jit, where invalid values become NaN
    low, high = jnp.where(bad, jnp.nan, low), jnp.where(bad, jnp.nan, high)
    return TruncatedNormalParams(loc, jnp.log(scale), low, high)


def to_natural(params: TruncatedNormalParams) -> dict[str, Array]:
    """``{"loc", "scale", "low", "high"}``, the inverse of :func:`init`."""
    low, high = _bounds(params)
    return {
        "loc": params.loc,
        "scale": jnp.exp(params.log_scale),
        "low": low,
        "high": high,
    }


def _bounds(params: TruncatedNormalParams) -> tuple[Array, Array]:
    return jnp.minimum(params.low, params.high), jnp.maximum(params.low, params.high)


def _log1mexp(d: Array) -> Array:
    """``log(1 - exp(d))`` for ``d <= 0``, accurate on both sides of ``-log 2``."""
    return jnp.where(d > -math.log(2), jnp.log(-jnp.expm1(d)), jnp.log1p(-jnp.exp(d)))


class _Frame(NamedTuple):
    """Standardized bounds on the side where the mass lies (``a + b <= 0``)."""

    flip: Array  # whether the frame is the mirror image of the original
    a: Array
    b: Array
    log_phi_a: Array  # log Phi(a)
    log_phi_b: Array
    log_mass: Array  # log Z = log(Phi(b) - Phi(a))


def _standardize(bound: Array, params: TruncatedNormalParams, inv_scale: Array):
    """``(bound - loc) / scale``, an infinite bound kept infinite with zero derivative.

    ``(inf - loc) * inv_scale`` is ``inf`` but its derivative in ``log_scale`` is
    ``-inf``, and ``0 * inf`` downstream made every gradient of ``log_prob`` NaN
    at the default bounds.
    """
    finite = jnp.isfinite(bound)
    inside = (jnp.where(finite, bound, 0) - params.loc) * inv_scale
    return jnp.where(finite, inside, jax.lax.stop_gradient(bound))


def _frame(params: TruncatedNormalParams, *, safe: bool = False) -> _Frame:
    """The frame; ``safe``: infinite bounds with zero derivatives (``log_prob``).

    Sampling keeps the plain standardization (its draws are pinned bit for bit
    by the golden test, and its gradient handles infinite bounds itself).
    """
    low, high = _bounds(params)
    inv_scale = jnp.exp(-params.log_scale)
    if safe:
        alpha, beta = (_standardize(b, params, inv_scale) for b in (low, high))
    else:
        alpha = (low - params.loc) * inv_scale
        beta = (high - params.loc) * inv_scale
    flip = alpha + beta > 0  # False for (-inf, inf)
    a, b = jnp.where(flip, -beta, alpha), jnp.where(flip, -alpha, beta)
    la, lb = _log_ndtr(a), _log_ndtr(b)
    return _Frame(flip, a, b, la, lb, lb + _log1mexp(la - lb))


def _ndtri_log(log_p: Array) -> Array:
    """``Phi^{-1}(exp(log_p))``, also where ``exp(log_p)`` underflows."""
    tiny = math.log(jnp.finfo(log_p.dtype).tiny) + 1
    # The upper half through the complement, the rest directly, ...
    upper = log_p > -0.7
    p = jnp.where(
        upper, -jnp.expm1(jnp.minimum(log_p, 0)), jnp.exp(jnp.maximum(log_p, tiny))
    )
    x = jnp.where(upper, -1, 1) * ndtri(p)
    deep = log_p <= tiny

    def newton(x: Array) -> Array:
        # ... and below the smallest normal number, Newton on log Phi (concave,
        # so it converges from either side) from the asymptote of log Phi.
        big = -2 * jnp.minimum(log_p, tiny)  # 2 L
        y = -jnp.sqrt(big - jnp.log(2 * math.pi * big))
        for _ in range(4):
            log_cdf = _log_ndtr(y)
            log_mills = log_cdf + 0.5 * y**2 + _checks.HALF_LOG_TWO_PI
            y = y - (log_cdf - log_p) * jnp.exp(log_mills)
        return jnp.where(deep, y, x)

    return jax.lax.cond(jnp.any(deep), newton, lambda x: x, x)


def _icdf_in_frame(frame: _Frame, v: Array) -> Array:
    """The frame's standardized quantile at ``v`` in ``(0, 1]``, within ``[a, b]``."""
    d = frame.log_phi_a - frame.log_phi_b
    log_p = frame.log_phi_b + jnp.logaddexp(d, _log1mexp(d) + jnp.log(v))
    return jnp.clip(_ndtri_log(log_p), frame.a, frame.b)


def _from_frame(params: TruncatedNormalParams, frame: _Frame, x: Array) -> Array:
    zeta = jnp.where(frame.flip, -x, x)
    low, high = _bounds(params)
    return jnp.clip(params.loc + jnp.exp(params.log_scale) * zeta, low, high)


def _draw(key: Array, params: TruncatedNormalParams, shape: tuple[int, ...]) -> Array:
    frame = _frame(params)
    dtype = frame.a.dtype
    v = _common.draw(jax.random.uniform, key, shape, dtype, jnp.finfo(dtype).tiny, 1)
    return _from_frame(params, frame, _icdf_in_frame(frame, v))


def _log_cdf_in_frame(frame: _Frame, x: Array) -> tuple[Array, Array]:
    """``log F`` and ``log(1 - F)`` in the frame, at standardized ``x``."""
    lx = _log_ndtr(x)
    log_f = lx + _log1mexp(frame.log_phi_a - lx) - frame.log_mass
    log_s = frame.log_phi_b + _log1mexp(lx - frame.log_phi_b) - frame.log_mass
    return log_f, log_s


def _transport_in_frame(frame: _Frame, x: Array) -> tuple[Array, Array]:
    """``dx/da = (1 - F) phi(a)/phi(x)`` and ``dx/db = F phi(b)/phi(x)``."""
    half_a = 0.5 * (x - frame.a) * (x + frame.a)  # log(phi(a)/phi(x)) <= 0
    half_b = 0.5 * (x - frame.b) * (x + frame.b)

    def in_logs(x: Array) -> tuple[Array, Array]:
        log_f, log_s = _log_cdf_in_frame(frame, x)
        return jnp.exp(log_s + half_a), jnp.exp(log_f + half_b)

    def direct(x: Array) -> tuple[Array, Array]:
        # Nothing underflows here, and a <= 0 in the frame: the same ratios from
        # ndtr on the side of each tail, without the logs' cost.
        mass, tail = jnp.exp(frame.log_mass), ndtr(-jnp.abs(x))  # one erfc
        left = x < 0
        below = jnp.where(left, tail, 1 - tail) - jnp.exp(frame.log_phi_a)
        above = jnp.where(left, jnp.exp(frame.log_phi_b) - tail, tail - ndtr(-frame.b))
        return above / mass * jnp.exp(half_a), below / mass * jnp.exp(half_b)

    floor = -9.0 if x.dtype == jnp.float32 else -20.0  # exp(floor^2/2) is finite
    safe = jnp.all(x > floor) & jnp.all(frame.log_mass > -0.5 * floor**2)
    return jax.lax.cond(safe, direct, in_logs, x)


def _tangent(params, dparams, z):
    frame = _frame(params)
    scale = jnp.exp(params.log_scale)
    x = jnp.where(frame.flip, params.loc - z, z - params.loc) / scale
    x = jnp.clip(x, frame.a, frame.b)  # z was clipped in the original units
    dx_da, dx_db = _transport_in_frame(frame, x)
    g_low = jnp.where(frame.flip, dx_db, dx_da)  # dz/dlow in the original frame
    g_high = jnp.where(frame.flip, dx_da, dx_db)
    low, high = _bounds(params)
    ordered = params.low <= params.high
    d_low = jnp.where(ordered, dparams.low, dparams.high)
    d_high = jnp.where(ordered, dparams.high, dparams.low)
    # An infinite bound has zero weight (and inf * 0 must not become NaN).
    by_low = jnp.where(g_low == 0, 0, (low - params.loc) * g_low)
    by_high = jnp.where(g_high == 0, 0, (high - params.loc) * g_high)
    d_log_scale = (z - params.loc) - by_low - by_high
    return (
        dparams.loc * (1 - g_low - g_high)
        + dparams.log_scale * d_log_scale
        + jnp.where(g_low == 0, 0, d_low * g_low)
        + jnp.where(g_high == 0, 0, d_high * g_high)
    )


def sample(key: ArrayLike, params: TruncatedNormalParams, sample_shape=()) -> Array:
    """Draws ``z = loc + scale Phi^{-1}(Phi(alpha) + u Z)`` in ``[low, high]``.

    Examples:
        >>> p = jr.truncated_normal.init(low=-40.0, high=-39.0)
        >>> z = jr.truncated_normal.sample(jax.random.key(0), p, (1000,))
        >>> bool(jax.numpy.all((z >= -40.0) & (z <= -39.0)))
        True
    """
    key, shape, _ = _common.prepare(key, params, sample_shape, batch_shape(params))
    return _implicit_sample(key, params, shape)


def log_prob(params: TruncatedNormalParams, z: ArrayLike) -> Array:
    """``log q(z)``, ``-inf`` outside ``[low, high]``."""
    frame = _frame(params, safe=True)
    low, high = _bounds(params)

    def log_density(z):
        standardized = (z - params.loc) * jnp.exp(-params.log_scale)
        return (
            -0.5 * standardized**2
            - params.log_scale
            - _checks.HALF_LOG_TWO_PI
            - frame.log_mass
        )

    z = jnp.asarray(z)
    fill = jnp.where(jnp.isfinite(low), low, jnp.where(jnp.isfinite(high), high, 0))
    return _common.log_prob_on_support(log_density, z, (z >= low) & (z <= high), fill)


def _moments(params: TruncatedNormalParams) -> tuple[Array, Array, Array]:
    """The standardized moment terms and ``log Z``.

    Returns ``(phi(alpha) - phi(beta))/Z``, ``(alpha phi(alpha) - beta
    phi(beta))/Z`` and ``log Z``, infinite bounds contributing zero.
    """
    frame = _frame(params)

    def ratio(x):  # phi(x)/Z, and x phi(x)/Z, zero for infinite x
        r = jnp.exp(-0.5 * x**2 - _checks.HALF_LOG_TWO_PI - frame.log_mass)
        return r, jnp.where(jnp.isinf(x), 0, x * r)

    (ra, xa), (rb, xb) = ratio(frame.a), ratio(frame.b)
    first = jnp.where(frame.flip, rb - ra, ra - rb)  # odd under the flip
    return first, xa - xb, frame.log_mass  # x phi(x) is even under the flip


def mean(params: TruncatedNormalParams) -> Array:
    """``loc + scale (phi(alpha) - phi(beta))/Z``, of the batch shape."""
    first, _, _ = _moments(params)
    return jnp.broadcast_to(
        params.loc + jnp.exp(params.log_scale) * first, batch_shape(params)
    )


def variance(params: TruncatedNormalParams) -> Array:
    """``scale^2 (1 + (alpha phi(alpha) - beta phi(beta))/Z - mean_std^2)``."""
    first, second, _ = _moments(params)
    value = jnp.exp(2 * params.log_scale) * (1 + second - first**2)
    return jnp.broadcast_to(value, batch_shape(params))


def entropy(params: TruncatedNormalParams) -> Array:
    """``log(sqrt(2 pi e) scale Z) + (alpha phi(alpha) - beta phi(beta))/(2 Z)``."""
    _, second, log_mass = _moments(params)
    value = params.log_scale + log_mass + _checks.HALF_LOG_TWO_PI + 0.5 + 0.5 * second
    return jnp.broadcast_to(value, batch_shape(params))


def cdf(params: TruncatedNormalParams, z: ArrayLike) -> Array:
    """``P(Z <= z)``, computed in log space on the side of the mass."""
    frame = _frame(params)
    standardized = (jnp.asarray(z) - params.loc) * jnp.exp(-params.log_scale)
    x = jnp.clip(jnp.where(frame.flip, -standardized, standardized), frame.a, frame.b)
    log_f, log_s = _log_cdf_in_frame(frame, x)
    return jnp.exp(jnp.where(frame.flip, log_s, log_f))


def icdf(params: TruncatedNormalParams, u: ArrayLike) -> Array:
    """The quantile function; ``u`` in ``[0, 1]``."""
    frame = _frame(params)
    u = jnp.asarray(u)
    v = jnp.where(frame.flip, 1 - u, u)
    return _from_frame(params, frame, _icdf_in_frame(frame, v))


# The tangent is dz itself (the density already divided out), hence no log_prob.
_implicit_sample = implicit_sampler(_draw, cdf, cdf_jvp=_tangent)
_FUNCTIONS = (init, to_natural, sample, log_prob)
_CLOSED_FORMS = (entropy, mean, variance, cdf, icdf)
truncated_normal = _bundle.family(
    "truncated_normal",
    TruncatedNormalParams,
    *_FUNCTIONS,
    *_CLOSED_FORMS,
    natural_args=_NATURAL,
)
