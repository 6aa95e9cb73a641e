"""Implicit reparameterization: pathwise gradients from a sampler and a CDF.

For a univariate ``z ~ q(z; theta)`` with CDF ``F(z; theta)``, holding ``F(z; theta)``
fixed while ``theta`` moves gives the implicit-function derivative (Figurnov, Mohamed
and Mnih, 2018, eq. 6)::

    dz/dtheta = -(dF(z; theta)/dtheta) / q(z; theta).

This is the same transport as sampling ``z = F^{-1}(u; theta)`` for ``u ~ U(0, 1)``,
without ever inverting ``F``: any exact sampler (rejection, ratio-of-uniforms, a
library call) becomes pathwise differentiable. :func:`implicit_sampler` wraps a sampler
in a ``jax.custom_jvp`` whose tangent is the formula above, so ``jax.grad``,
``jax.jacfwd``, ``jax.vmap`` and ``jax.jit`` all work through it.

References:
    Figurnov, Mohamed and Mnih. Implicit Reparameterization Gradients. NeurIPS 2018.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxreparam.base import Array

__all__ = ["implicit_sampler"]

Sampler = Callable[[Any, Any, tuple[int, ...]], Array]


def implicit_sampler(
    sampler: Sampler,
    cdf: Callable[[Any, Array], Array],
    log_prob: Callable[[Any, Array], Array] | None = None,
    *,
    cdf_jvp: Callable[[Any, Any, Array], Array] | None = None,
) -> Sampler:
    """Makes ``sampler`` pathwise differentiable through the implicit function theorem.

    The returned function draws exactly what ``sampler`` draws; only its derivative
    with respect to ``params`` is defined, by ``dz = -(dF . dparams) / q(z)``. The
    sampler itself is never differentiated, so it may use rejection loops,
    ``lax.while_loop`` or non-differentiable primitives.

    Args:
        sampler: ``sampler(key, params, sample_shape) -> z`` for a univariate family
            (``z`` of shape ``sample_shape + batch_shape``).
        cdf: ``cdf(params, z) -> F(z; params)``, differentiable in ``params`` unless
            ``cdf_jvp`` is given. Only its derivative in ``params`` is used.
        log_prob: ``log_prob(params, z)``; the density divides the CDF's
            derivative. Required unless ``cdf_jvp`` already returns ``dz``.
        cdf_jvp: optional ``cdf_jvp(params, dparams, z) -> dF`` in closed form or
            a faster approximation, replacing ``jax.jvp`` of ``cdf``.

    Returns:
        ``sample(key, params, sample_shape=()) -> z`` with the implicit JVP, and so
        also a VJP (``jax.grad``) by JAX's linearization of the JVP.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from jax.scipy.special import ndtr
        >>> import jaxreparam as jr
        >>> def draw(key, params, shape):
        ...     loc, scale = params
        ...     return loc + scale * jax.random.normal(key, shape)
        >>> def cdf(params, z):
        ...     return ndtr((z - params[0]) / params[1])
        >>> def log_prob(params, z):
        ...     return jax.scipy.stats.norm.logpdf(z, params[0], params[1])
        >>> sample = jr.implicit_sampler(draw, cdf, log_prob)
        >>> grad = jax.grad(lambda p: sample(jax.random.key(0), p, ()))
        >>> g = grad((jnp.float32(0.0), jnp.float32(2.0)))
        >>> bool(jnp.allclose(g[1], draw(jax.random.key(0), (0.0, 1.0), ())))
        True
    """
    if log_prob is None and cdf_jvp is None:
        raise ValueError("implicit_sampler needs log_prob (or a cdf_jvp)")

    def tangent(params: Any, dparams: Any, z: Array) -> Array:
        if cdf_jvp is not None:
            d_cdf = cdf_jvp(params, dparams, z)
        else:
            _, d_cdf = jax.jvp(lambda p: cdf(p, z), (params,), (dparams,))
        if log_prob is None:
            return d_cdf
        # Dividing by the density in log space keeps tiny densities from overflowing.
        return -d_cdf * jnp.exp(-log_prob(params, z))

    def _draw(key: Any, params: Any, sample_shape: tuple[int, ...]) -> Array:
        return sampler(key, params, sample_shape)

    draw = jax.custom_jvp(_draw, nondiff_argnums=(2,))

    def draw_jvp(
        sample_shape: tuple[int, ...], primals: tuple, tangents: tuple
    ) -> tuple[Array, Array]:
        key, params = primals
        _, dparams = tangents
        z = draw(key, params, sample_shape)
        dz = tangent(params, dparams, jax.lax.stop_gradient(z))
        return z, jnp.broadcast_to(dz, z.shape).astype(z.dtype)

    draw.defjvp(draw_jvp)

    def sample(key: Any, params: Any, sample_shape: tuple[int, ...] = ()) -> Array:
        return draw(key, params, tuple(sample_shape))

    sample.__doc__ = sampler.__doc__
    return sample
