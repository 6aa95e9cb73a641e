"""Exact coefficients of the large-concentration gamma transport (private).

For ``x ~ Gamma(a, 1)`` the implicit derivative of ``log x`` in ``a`` at fixed
``P(a, x)`` has, for large ``a``, a uniform expansion in ``1 / a`` whose
coefficients are power series in ``eta``, where ``lambda = x / a`` and
``eta^2 / 2 = lambda - 1 - log(lambda)`` (``eta`` with the sign of
``lambda - 1``)::

    d log x / d a = (1 / a) sum_k a^-k E_k(eta).

It follows from Temme's expansion of the incomplete gamma function (DLMF 8.12.7
to 8.12.9)::

    Q(a, x) = erfc(eta sqrt(a / 2)) / 2 + exp(-a eta^2 / 2) / sqrt(2 pi a)
              sum_k c_k(eta) a^-k.

Differentiating in ``a`` at fixed ``x`` and dividing by the density
``exp(-a eta^2 / 2) / (lambda sqrt(2 pi a) Gamma*(a))`` (``Gamma*`` the Stirling
ratio) cancels every exponential and the ``erfc``: with ``mu = (lambda - 1) /
eta``, ``E_k = sum_j g_j D_(k - j)`` (``g_j`` the Stirling coefficients of
``Gamma*``) and::

    D_0 = mu - eta / 2 + (eta mu - eta^2 / 2) c_0,
    D_k = (eta mu - eta^2 / 2) c_k - (k - 1/2) c_(k - 1) - mu c'_(k - 1).

All series are computed here in exact rational arithmetic, once per process.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

__all__ = ["coefficients"]


def _mul(a: list[Fraction], b: list[Fraction], size: int) -> list[Fraction]:
    out = [Fraction(0)] * size
    for i, x in enumerate(a[:size]):
        if x:
            for j, y in enumerate(b[: size - i]):
                out[i + j] += x * y
    return out


def _stirling(order: int) -> list[Fraction]:
    """``g_0..g_order`` with ``Gamma(a) ~ sqrt(2 pi / a) a^a e^-a sum_k g_k a^-k``."""
    size = 2 * order + 3
    bern = [Fraction(1)] + [Fraction(0)] * size
    for m in range(1, size + 1):
        terms = (math.comb(m + 1, k) * bern[k] for k in range(m))
        bern[m] = -sum(terms, Fraction(0)) / (m + 1)
    # log Gamma* = sum_j B_2j / (2j (2j - 1)) a^(1 - 2j); exponentiate the series.
    log_series = [Fraction(0)] * (order + 1)
    for j in range(1, order // 2 + 2):
        if 2 * j - 1 <= order:
            log_series[2 * j - 1] = bern[2 * j] / (2 * j * (2 * j - 1))
    out = [Fraction(1)] + [Fraction(0)] * order
    for n in range(1, order + 1):
        terms = (k * log_series[k] * out[n - k] for k in range(1, n + 1))
        out[n] = sum(terms, Fraction(0)) / n
    return out


@functools.cache
def coefficients(orders: int, terms: int) -> tuple[tuple[float, ...], ...]:
    """``E_k``'s Taylor coefficients in ``eta``, for ``k < orders``, ``terms`` each.

    Examples:
        >>> coefficients(2, 3)
        ((1.0, -0.5, 0.16666666666666666), (0.16666666666666666, -0.0833..., ...))
    """
    size = terms + 2 * orders + 4
    # mu = t / eta solves mu^2 + eta mu mu' = 1 + eta mu (from dt/deta = eta (1+t)/t).
    mu = [Fraction(1)] + [Fraction(0)] * (size - 1)
    for n in range(1, size):
        rest = sum(((1 + j) * mu[n - j] * mu[j] for j in range(1, n)), Fraction(0))
        mu[n] = (mu[n - 1] - rest) / (n + 2)
    inv_mu = [Fraction(1)] + [Fraction(0)] * (size - 1)
    for n in range(1, size):
        inv_mu[n] = -sum((mu[k] * inv_mu[n - k] for k in range(1, n + 1)), Fraction(0))
    g = _stirling(orders)
    # c_0 = 1/t - 1/eta; c_k = c'_(k-1) / eta + (-1)^k g_k / t (the poles cancel).
    c = [inv_mu[1:]]
    for k in range(1, orders):
        prev, sign = c[-1], (-1) ** k
        assert prev[1] + sign * g[k] == 0  # the 1/eta terms cancel
        c.append(
            [
                (n + 2) * prev[n + 2] + sign * g[k] * inv_mu[n + 1]
                for n in range(len(prev) - 2)
            ]
        )
    weight = [Fraction(0)] + mu[: size - 1]  # eta mu - eta^2 / 2
    weight[2] -= Fraction(1, 2)
    d0 = list(mu)
    d0[1] -= Fraction(1, 2)
    d = [[u + v for u, v in zip(d0, _mul(weight, c[0], terms), strict=False)]]
    for k in range(1, orders):
        slope = [n * c[k - 1][n] for n in range(1, terms + 1)]
        first = _mul(weight, c[k], terms)
        second = _mul(mu, slope, terms)
        half = k - Fraction(1, 2)
        d.append([first[n] - half * c[k - 1][n] - second[n] for n in range(terms)])
    return tuple(
        tuple(
            float(sum(g[j] * d[k - j][n] for j in range(k + 1))) for n in range(terms)
        )
        for k in range(orders)
    )
