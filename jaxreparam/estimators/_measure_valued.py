"""The measure-valued derivative (MVD) of ``E_q[f(z)]`` for Gaussians, coupled.

For ``N(mu, sigma^2)`` the derivative of the density with respect to a parameter
is a difference of two densities times a constant (Mohamed et al. 2020, section
6, table 1), so ``d/dtheta E[f] = c_theta (E_{p+}[f] - E_{p-}[f])``:

* ``theta = mu``: ``c = 1 / (sigma sqrt(2 pi))``, ``p+`` the law of ``mu + sigma
  R`` and ``p-`` that of ``mu - sigma R``, with ``R`` the Weibull of shape 2 and
  scale ``sqrt(2)`` (the Rayleigh, density ``r exp(-r^2 / 2)``; the paper's
  ``W(2, 1/2)``);
* ``theta = sigma``: ``c = 1 / sigma``, ``p+`` the law of ``mu + sigma M`` with
  ``M`` the double-sided Maxwell (density ``m^2 exp(-m^2 / 2) / sqrt(2 pi)``) and
  ``p-`` the Gaussian itself.

Both differences use common random numbers (the paper's coupling, section 7.2):
the same ``R`` on both sides for ``mu``, and for ``sigma`` the Gaussian noise is
``eps = M U`` with ``U ~ U(0, 1)``, which is exactly ``N(0, 1)``, so ``p-`` is
evaluated at ``mu + sigma M U``. That Gaussian draw is also the base point
``z`` of the surrogate's value, ``f(z)``.

For a batch of ``D`` independent Normals (a diagonal Gaussian) coordinate ``d``
is perturbed with the others held at the base draw ``z``, which is unbiased
because they are independent of coordinate ``d``'s noise; one draw costs
``3 D + 1`` evaluations of ``f`` and needs no derivative of ``f``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.estimators import _common

#: The families with a measure-valued derivative: name -> (loc, log-scale) fields.
_GAUSSIANS = {
    "normal": ("loc", "log_scale"),
    "multivariate_normal_diag": ("loc", "log_scale_diag"),
}


def _noise(key: Array, shape: tuple[int, ...], dtype: Any) -> tuple[Array, ...]:
    """Rayleigh ``R``, double-sided Maxwell ``M`` and uniform ``U``, of ``shape``."""
    key_r, key_m, key_s, key_u = jax.random.split(key, 4)
    rayleigh = jnp.sqrt(2.0 * jax.random.exponential(key_r, shape, dtype))
    # |M| is chi with 3 degrees of freedom: the length of a standard 3-vector.
    chi3 = jnp.linalg.norm(jax.random.normal(key_m, shape + (3,), dtype), axis=-1)
    maxwell = jax.random.rademacher(key_s, shape, dtype) * chi3
    uniform = jax.random.uniform(key_u, shape, dtype)
    return rayleigh, maxwell, uniform


def _replace_each(base: Array, new: Array) -> Array:
    """Copies of the flat draw ``base``; row ``d`` has ``new[d]`` at index ``d``."""
    eye = jnp.eye(base.shape[-1], dtype=bool)
    return jnp.where(eye, new[:, None], base[None, :])


def measure_valued(
    key: ArrayLike,
    params: Any,
    family: Family,
    f: Callable[[Array], ArrayLike],
    *,
    num_samples: int = 1,
) -> Array:
    """The coupled measure-valued derivative estimator, as a surrogate.

    The value is ``mean_s f(z_s)`` over Gaussian draws ``z_s``; the gradient
    with respect to the location is
    ``mean_s (f(z^{+d}_s) - f(z^{-d}_s)) / (sigma_d sqrt(2 pi))`` and with respect
    to the log-scale ``mean_s (f(z^{M,d}_s) - f(z_s))`` (``sigma`` times the
    scale's derivative), with ``z^{+-d}`` and ``z^{M,d}`` the base draw with
    coordinate ``d`` moved to ``mu_d +- sigma_d R_d`` and ``mu_d + sigma_d M_d``
    (see the module docstring). The gradient is injected by stop-gradient
    algebra, ``sg(g) * (theta - sg(theta))``, so it is correct to first order
    only: do not take second derivatives through it. ``f`` need not be
    differentiable; gradients of what it closes over flow through ``f(z_s)``.

    Args:
        key: a PRNG key.
        params: ``NormalParams`` or ``MultivariateNormalDiagParams``.
        family: ``jr.normal`` or ``jr.multivariate_normal_diag``.
        f: maps one draw, of shape ``batch_shape + event_shape``, to a scalar.
        num_samples: the number of draws averaged, a positive Python int.

    Returns:
        A scalar whose value is the Monte Carlo estimate and whose gradient is
        the measure-valued estimate.

    Raises:
        ValueError: ``family`` is not one of the Gaussians above,
            ``num_samples < 1``, or ``f`` does not return a scalar.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> g = jax.grad(jr.estimators.measure_valued, argnums=1)(
        ...     jax.random.key(0), jr.normal.init(loc=1.0), jr.normal,
        ...     lambda z: z**2, num_samples=4000)
        >>> bool(abs(g.loc - 2.0) < 0.1)  # d/d loc E[z^2] = 2 loc
        True

    References:
        Mohamed, Rosca, Figurnov and Mnih, "Monte Carlo gradient estimation in
        machine learning", JMLR 21, 2020, sections 6 and 7.2.
        Pflug, "Sampling derivatives of probabilities", Computing 42, 1989.
    """
    where = "estimators.measure_valued"
    key = _checks.check_key(key)  # first: swapped (params, key) get its error
    num_samples = _common.check_num_samples(where, num_samples)
    if family.name not in _GAUSSIANS:
        raise ValueError(
            f"{where}: no measure-valued derivative for family {family.name!r}; "
            f"supported: {', '.join(sorted(_GAUSSIANS))}"
        )
    loc_name, log_scale_name = _GAUSSIANS[family.name]
    shape = tuple(family.batch_shape(params)) + tuple(family.event_shape(params))
    loc = jnp.broadcast_to(getattr(params, loc_name), shape)
    log_scale = jnp.broadcast_to(getattr(params, log_scale_name), shape)
    size = math.prod(shape)
    dtype = jnp.result_type(*params)
    rayleigh, maxwell, uniform = _noise(key, (num_samples, size), dtype)

    mu = jax.lax.stop_gradient(loc).reshape(size)
    sigma = jnp.exp(jax.lax.stop_gradient(log_scale)).reshape(size)
    base = mu + sigma * maxwell * uniform  # N(mu, sigma^2), coupled with M

    def one_draw(base, rayleigh, maxwell):
        def values(points):
            return _common.evaluate(where, f, points.reshape((-1,) + shape))

        plus = values(_replace_each(base, mu + sigma * rayleigh))
        minus = values(_replace_each(base, mu - sigma * rayleigh))
        moved = values(_replace_each(base, mu + sigma * maxwell))
        value = values(base[None])[0]
        grad_loc = (plus - minus) / (sigma * math.sqrt(2 * math.pi))
        return value, grad_loc, moved - value

    value, grad_loc, grad_log_scale = jax.vmap(one_draw)(base, rayleigh, maxwell)
    grad_loc = jax.lax.stop_gradient(jnp.mean(grad_loc, 0).reshape(shape))
    grad_log_scale = jax.lax.stop_gradient(jnp.mean(grad_log_scale, 0).reshape(shape))
    injected = jnp.sum(grad_loc * (loc - jax.lax.stop_gradient(loc))) + jnp.sum(
        grad_log_scale * (log_scale - jax.lax.stop_gradient(log_scale))
    )
    return jnp.mean(value) + injected
