"""The standard gamma ``Gamma(a, 1)``: exact sampler and implicit derivative (private).

Every gamma-based family (gamma, log_gamma, chi2, inverse_gamma, beta, dirichlet,
student_t) draws through :func:`log_sample`, which returns ``log x`` for
``x ~ Gamma(a, 1)`` and is pathwise differentiable in ``a``.

Sampling is Marsaglia and Tsang's (2000) squeeze-free rejection method, vectorized:
one round of proposals for the whole batch, then rounds over a fixed-size buffer
of the indices still rejected (about 5% after the first round), so a rejection
costs a small fraction of a full round. Concentrations below 1 are boosted in log
space, ``log x = log x' + log(u) / a`` with ``x' ~ Gamma(a + 1)``, so ``log x`` is
finite for any ``a > 0`` even when ``x`` underflows.

The derivative is the implicit one (Figurnov et al., 2018): ``x`` moves with ``a``
holding ``P(a, x)`` (the regularized lower incomplete gamma function) fixed::

    dx/da = -(dP(a, x)/da) / p(x; a).

:func:`log_sample_derivative` returns ``d log(x) / da`` from ``log x`` in three
regions, each a fixed, unrolled number of vectorized steps (no loop whose trip
count depends on the data):

* small ``x`` (``x <= max(a, 2.5)`` in float64, ``max(a, 0.7)`` in float32, or
  ``x < 0.3 a`` for large ``a``): the power series of ``P`` and its derivative;
* large ``x`` (above those bounds, or ``x > 2 a`` for large ``a``): the continued
  fraction of ``Q = 1 - P``, evaluated backwards from an asymptotic estimate of
  its tail and differentiated alongside;
* ``a >= 10`` and ``0.3 a <= x <= 2 a``: Temme's uniform expansion, in which the
  derivative divided by the density is a polynomial in ``eta`` and ``1 / a`` with
  no exponential at all (coefficients in :mod:`._temme`).

No region divides two underflowing quantities, so far tails stay finite and
accurate. Step counts depend on the dtype; a region that no element of the batch
needs is skipped (``lax.cond``). Worst relative error against mpmath over
``a`` in ``[1e-3, 1e5]`` and quantiles down to ``1e-40``: about ``6e-14``
(float64) and ``1e-6`` (float32).

References:
    Marsaglia and Tsang. A simple method for generating gamma variables. ACM
    Transactions on Mathematical Software 26(3), 2000.
    Temme. The asymptotic expansion of the incomplete gamma functions. SIAM
    Journal on Mathematical Analysis 10(4), 1979.
    Figurnov, Mohamed and Mnih. Implicit Reparameterization Gradients. NeurIPS 2018.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma, gammainc

from jaxreparam.base import Array
from jaxreparam.distributions import _temme
from jaxreparam.implicit import implicit_sampler

__all__ = ["draw_log", "log_sample", "log_sample_derivative"]


class _Steps(NamedTuple):
    series: int  # terms of the power series
    fraction: int  # depth of the continued fraction
    orders: int  # orders in 1 / a of Temme's expansion
    terms: int  # Taylor terms in eta of each order
    series_max: float  # below _TEMME_MIN, the series serves x <= max(a, series_max)


# Large-concentration region: a >= _TEMME_MIN and _LAMBDA_LOW <= x / a <= _LAMBDA_HIGH.
_TEMME_MIN = 10.0
_LAMBDA_LOW = 0.3
_LAMBDA_HIGH = 2.0

_STEPS = {
    jnp.dtype(jnp.float64): _Steps(36, 30, 13, 26, 2.5),
    jnp.dtype(jnp.float32): _Steps(20, 14, 5, 11, 0.7),
}


def _uniforms(keys: Array, size: int, dtype) -> Array:
    """``jax.random.uniform(key, (size,), dtype)`` for each key of ``keys``.

    One random-bits call over all the keys (vmapped), not one per key: each is a
    whole Threefry hash that XLA compiles anew. The draws are those of separate
    calls.
    """
    return jax.vmap(lambda key: jax.random.uniform(key, (size,), dtype))(keys)


def _normal(u: Array) -> Array:
    """``jax.random.normal``'s transform of ``jax.random.uniform``'s draw ``u``."""
    dtype = u.dtype
    low = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    low, high = jnp.asarray(low), jnp.asarray(np.array(1.0, dtype))
    u = jax.lax.max(low, u * (high - low) + low)
    return jax.lax.erf_inv(u) * np.array(np.sqrt(2), dtype)


def _propose(u_n: Array, u: Array, d: Array, c: Array) -> tuple[Array, Array]:
    """One Marsaglia-Tsang proposal per element: ``log(v^3)`` and acceptance.

    ``u_n`` and ``u`` are independent uniforms; ``u_n`` becomes the normal.
    """
    n = _normal(u_n)
    cn = c * n
    log_v3 = 3.0 * jnp.log1p(jnp.maximum(cn, -1.0))  # -inf when v <= 0
    v3 = jnp.exp(log_v3)
    accept = (cn > -1.0) & (jnp.log(u) < 0.5 * n * n + d * (1.0 - v3 + log_v3))
    # Non-finite d (a NaN or infinite concentration under jit) must not loop forever.
    return log_v3, accept | ~jnp.isfinite(d)


@functools.partial(jax.jit, static_argnums=2)
def draw_log(key: Array, a: Array, shape: tuple[int, ...]) -> Array:
    """``log x`` for ``x ~ Gamma(a, 1)`` of ``shape`` (no gradient), ``a`` broadcast.

    Finite for every finite ``a > 0``; NaN where ``a`` is NaN.
    """
    # Flat throughout: XLA compiles 1-D random bits and elementwise loops in
    # half the time of 2-D ones (Beta, Dirichlet).
    size = math.prod(shape)
    a = jnp.broadcast_to(a, shape).ravel()
    boost = a < 1
    d = jnp.where(boost, a + 1.0, a) - 1.0 / 3.0
    c = jax.lax.rsqrt(9.0 * d)
    keys = jax.random.split(key, 3)  # first round, later rounds, boost
    first = jax.random.split(keys[0])  # the normals, the uniforms
    u_n, u, u_boost = _uniforms(jnp.concatenate([first, keys[2:]]), size, a.dtype)
    log_v3, accepted = _propose(u_n, u, d, c)
    if size:
        buffer = min(size, 64 + size // 16)

        def redraw(carry):
            key, log_v3, accepted = carry
            key, sub = jax.random.split(key)
            # Up to ``buffer`` rejected indices, the rest ``size`` (out of bounds):
            # top_k compiles in a fifth of jnp.nonzero's time, and runs as fast.
            rejected, index = jax.lax.top_k((~accepted).astype(jnp.float32), buffer)
            index = jnp.where(rejected > 0, index, size)
            d_i = d.at[index].get(mode="fill", fill_value=1.0)
            c_i = c.at[index].get(mode="fill", fill_value=1.0)
            u_n, u = _uniforms(jax.random.split(sub), buffer, a.dtype)
            new, ok = _propose(u_n, u, d_i, c_i)
            old = log_v3.at[index].get(mode="fill", fill_value=0.0)
            log_v3 = log_v3.at[index].set(jnp.where(ok, new, old), mode="drop")
            return key, log_v3, accepted.at[index].set(ok, mode="drop")

        carry = (keys[1], log_v3, accepted)
        log_v3 = jax.lax.while_loop(lambda c: ~jnp.all(c[2]), redraw, carry)[1]
    log_boost = jnp.where(boost, jnp.log1p(-u_boost) / a, 0.0)
    return (jnp.log(d) + log_v3 + log_boost).reshape(shape)


def _series(a: Array, log_x: Array, steps: int) -> Array:
    """``P = x^a e^-x / Gamma(a + 1) S``, ``S = sum_n x^n / ((a+1)...(a+n))``."""
    x = jnp.exp(log_x)
    term, total, slope, d_total = jnp.ones_like(x), jnp.ones_like(x), 0.0, 0.0
    for n in range(1, steps + 1):
        inv = 1.0 / (a + n)
        term = term * x * inv
        slope = slope - inv  # d log(term) / da
        total = total + term
        d_total = d_total + term * slope
    return -(total * (log_x - digamma(a + 1.0)) + d_total) / a


def _continued_fraction(a: Array, log_x: Array, steps: int) -> Array:
    """``Gamma(a, x) = x^a e^-x / f``, ``f = (x+1-a) - 1(1-a)/((x+3-a) - ...)``."""
    x = jnp.exp(log_x)
    shift = x - a
    root = jnp.sqrt(shift * shift + 4.0 * x * (steps + 1))
    f = steps + 0.5 * (shift + root)  # the tail's fixed point
    df = -0.5 * (1.0 + shift / root)
    for n in range(steps, 0, -1):
        inv = 1.0 / f
        ratio = n * (a - n) * inv
        df = -1.0 + n * inv - ratio * df * inv
        f = shift + (2 * n - 1) + ratio
    return (log_x - digamma(a) - df / f) / f


def _temme_expansion(a: Array, log_x: Array, steps: _Steps) -> Array:
    x = jnp.exp(log_x)
    t = (x - a) / a
    # XLA's log1p loses digits on (-0.5, -0.1), where log(x / a) has them all.
    log_ratio = jnp.where(t < -0.1, jnp.log(x / a), jnp.log1p(t))
    eta = jnp.sign(t) * jnp.sqrt(2.0 * jnp.maximum(t - log_ratio, 0.0))
    # One Horner recurrence over all orders at once (an unrolled scalar chain of
    # hundreds of steps makes XLA's CPU compiler run out of memory).
    table = _temme.coefficients(steps.orders, steps.terms)
    coef = jnp.asarray(table, x.dtype).reshape(
        (steps.orders, steps.terms) + (1,) * x.ndim
    )
    poly = jnp.zeros((steps.orders,) + x.shape, x.dtype)
    for n in reversed(range(steps.terms)):
        poly = poly * eta + coef[:, n]
    inv_a = 1.0 / a
    total = poly[-1]
    for k in reversed(range(steps.orders - 1)):
        total = total * inv_a + poly[k]
    return total * inv_a


def _masked(branch, mask: Array, a: Array, log_x: Array, safe_x: float) -> Array:
    """``branch`` where ``mask`` (elsewhere at a harmless ``x``), skipped if unused."""
    log_x = jnp.where(mask, log_x, jnp.log(safe_x * jnp.maximum(a, 1.0)))
    return jax.lax.cond(
        jnp.any(mask),
        lambda: jnp.where(mask, branch(a, log_x), 0.0),
        lambda: jnp.zeros_like(log_x),
    )


def _log_sample_derivative(a: Array, log_x: Array) -> Array:
    """``d log(x) / da`` for ``x ~ Gamma(a, 1)`` at fixed ``P(a, x)``.

    ``log_x`` (``-inf`` for a sample that underflowed to zero) broadcasts with
    ``a > 0``; ``x`` times the result is ``dx/da``.
    """
    a, log_x = jnp.broadcast_arrays(a, log_x)
    shape = log_x.shape
    a, log_x = a.ravel(), log_x.ravel()  # 1-D compiles in half the time of 2-D
    steps = _STEPS.get(jnp.dtype(log_x.dtype), _STEPS[jnp.dtype(jnp.float64)])
    x = jnp.exp(log_x)
    large = a >= _TEMME_MIN
    temme = large & (x >= _LAMBDA_LOW * a) & (x <= _LAMBDA_HIGH * a)
    series = ~temme & (
        x <= jnp.where(large, _LAMBDA_LOW * a, jnp.maximum(a, steps.series_max))
    )
    fraction = ~temme & ~series
    by_series, by_fraction, by_temme = (
        _masked(branch, mask, a, log_x, safe_x)
        for branch, mask, safe_x in (
            (lambda a, lx: _series(a, lx, steps.series), series, 0.5),
            (lambda a, lx: _continued_fraction(a, lx, steps.fraction), fraction, 3.0),
            (lambda a, lx: _temme_expansion(a, lx, steps), temme, 1.0),
        )
    )
    return (by_series + by_fraction + by_temme).reshape(shape)


def _cdf(a: Array, log_x: Array) -> Array:
    return gammainc(a, jnp.exp(log_x))


log_sample_derivative = jax.jit(_log_sample_derivative)


def _tangent(a: Array, da: Array, log_x: Array) -> Array:
    # Not the jitted function: under jax.grad, JAX would partially evaluate the
    # inner jaxpr anew (every call, each cond branch), 40 ms of the 150 ms it
    # took to trace a Gamma gradient.
    return _log_sample_derivative(a, log_x) * da


log_sample = implicit_sampler(draw_log, _cdf, cdf_jvp=_tangent)
log_sample.__doc__ = """``log_sample(key, a, shape)``: ``log x``, ``x ~ Gamma(a, 1)``.

Draws as :func:`draw_log`; pathwise differentiable in ``a`` by the implicit
derivative :func:`log_sample_derivative`.
"""
