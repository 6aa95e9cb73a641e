"""Variational inference on a pytree of latents: Gaussian guides, ELBO, fit.

What numpyro's ``AutoNormal``/``AutoMultivariateNormal`` and Stan's ADVI do, as
pure functions. The latents of ``log_target`` are any pytree of arrays; each leaf
has a constraint (``"real"``, ``"positive"``, ``"simplex"``, ``"unit_interval"``
or :func:`interval`), and a bijector maps an unconstrained block of a vector
``u`` in ``R^D`` onto it. The guide is a Gaussian on ``u``, mean field
(``jr.multivariate_normal_diag``) or full rank (``jr.multivariate_normal_tril``), so
the constrained latents have density ``q(T(u)) = q_u(u) / |det dT/du|`` and

    ELBO = E_u[log p(T(u)) + log|det dT/du|] + H(q_u).

The expectation is a pathwise Monte Carlo estimate; the entropy is in closed form
by default (Stan's ADVI), or a Monte Carlo estimate (numpyro's ``Trace_ELBO``),
or "sticking the landing" (Roeder et al. 2017), whose gradient vanishes at an
exact fit.

Examples:
    >>> import jax, jax.numpy as jnp, optax
    >>> from jaxreparam import vi
    >>> def log_target(latents):  # x ~ N(1, 0.5^2), s ~ LogNormal(0, 1)
    ...     x, log_s = latents["x"], jnp.log(latents["s"])
    ...     return -2.0 * (x - 1.0) ** 2 - 0.5 * log_s**2 - log_s
    >>> guide, result = vi.fit(jax.random.key(0), {"x": 0.0, "s": 1.0},
    ...     log_target=log_target, constraints={"x": "real", "s": "positive"},
    ...     optimizer=optax.adam(0.05), num_steps=1000, num_samples=8)
    >>> jax.tree.map(lambda v: round(float(v), 1), guide.median(result.params))
    {'s': 1.0, 'x': 1.0}
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxreparam import bijectors
from jaxreparam.base import Array, ArrayLike, Bijector, Family
from jaxreparam.distributions import _multivariate_normal as multivariate_normal
from jaxreparam.train import _fit as fitting
from jaxreparam.train import parallel

__all__ = [
    "CONSTRAINTS",
    "Constraint",
    "Guide",
    "elbo",
    "fit",
    "interval",
    "make_elbo_loss",
    "make_guide",
]


class Constraint(NamedTuple):
    """A bijector from the reals onto a latent's domain, with its params."""

    bijector: Bijector
    params: Any


def interval(low: ArrayLike, high: ArrayLike) -> Constraint:
    """The constraint ``low < latent < high`` (an affine sigmoid)."""
    return Constraint(
        bijectors.sigmoid.bijector, bijectors.sigmoid.init(low=low, high=high)
    )


#: The constraints known by name.
CONSTRAINTS = {
    "real": Constraint(bijectors.identity.bijector, bijectors.identity.init()),
    "positive": Constraint(bijectors.exp.bijector, bijectors.exp.init()),
    "simplex": Constraint(
        bijectors.stick_breaking.bijector, bijectors.stick_breaking.init()
    ),
    "unit_interval": Constraint(bijectors.sigmoid.bijector, bijectors.sigmoid.init()),
}

KINDS = {
    "mean_field": multivariate_normal.multivariate_normal_diag,
    "full_rank": multivariate_normal.multivariate_normal_tril,
}


class _Block(NamedTuple):
    constraint: Constraint
    shape: tuple[int, ...]  # of the latent
    unconstrained_shape: tuple[int, ...]
    start: int


class Guide(NamedTuple):
    """A Gaussian guide on the unconstrained latents, and the way back.

    Attributes:
        family: the Gaussian family of ``u`` (``jr.multivariate_normal_diag`` or
            ``.tril``); the guide's params are its params, with event ``(D,)``.
        transform: ``transform(u) -> (latents, log|det dT/du|)`` for ``u`` of
            shape ``(..., D)``: a pytree of latents with leading axes ``...``.
        sample_and_log_prob: ``(key, params, sample_shape=()) -> (latents,
            log q(latents))``, the density of the constrained latents.
        sample: ``(key, params, sample_shape=()) -> latents``.
        median: ``params -> latents``, the image of the Gaussian's mean.
        size: ``D``, the number of unconstrained coordinates.
    """

    family: Family
    transform: Callable[[Array], tuple[Any, Array]]
    sample_and_log_prob: Callable[..., tuple[Any, Array]]
    sample: Callable[..., Any]
    median: Callable[[Any], Any]
    size: int


def _constraint(path: str, spec: Any) -> Constraint:
    if isinstance(spec, Constraint):
        return spec
    if isinstance(spec, str) and spec in CONSTRAINTS:
        return CONSTRAINTS[spec]
    raise ValueError(
        f"vi.make_guide: the constraint of latent {path} must be one of "
        f"{sorted(CONSTRAINTS)} or vi.interval(low, high), got {spec!r}"
    )


def _blocks(example: Any, constraints: Any) -> tuple[list[_Block], Any, Array]:
    """The blocks of ``u``, the latents' tree structure, and ``T^-1(example)``."""
    paths_and_leaves, structure = jax.tree.flatten_with_path(example)
    if constraints is None:
        specs = ["real"] * len(paths_and_leaves)
    else:
        try:
            specs = structure.flatten_up_to(constraints)
        except (ValueError, TypeError) as error:
            raise ValueError(
                "vi.make_guide: constraints must have the structure of the latents "
                f"{structure}, with a constraint at each leaf: {error}"
            ) from None
    blocks, start, values = [], 0, []
    for (path, leaf), spec in zip(paths_and_leaves, specs, strict=True):
        name = jax.tree_util.keystr(path) or "latents"
        constraint = _constraint(name, spec)
        leaf = jnp.asarray(leaf, dtype=jnp.result_type(float))
        x = constraint.bijector.inverse_and_log_det(constraint.params, leaf)[0]
        x = jnp.broadcast_to(x, constraint.bijector.inverse_shape(leaf.shape))
        if not bool(jnp.all(jnp.isfinite(x))):
            raise ValueError(
                f"vi.make_guide: the example latent {name} is not inside the domain "
                f"of its constraint {constraint.bijector.name!r}: {leaf}"
            )
        blocks.append(_Block(constraint, tuple(leaf.shape), tuple(x.shape), start))
        start += x.size
        values.append(x.ravel())
    return blocks, structure, jnp.concatenate(values) if values else jnp.zeros(0)


def make_guide(
    example_latents: Any,
    constraints: Any = None,
    *,
    kind: str = "mean_field",
    init_scale: float = 0.1,
) -> tuple[Any, Guide]:
    """A Gaussian guide for latents shaped like ``example_latents``, and its params.

    Args:
        example_latents: a pytree of arrays (or floats), one value of the
            latents; the guide starts centred on it.
        constraints: a pytree of the same structure whose leaves are constraint
            names (``"real"``, ``"positive"``, ``"simplex"`` on the last axis,
            ``"unit_interval"``) or :func:`interval` values; ``None``: all real.
        kind: ``"mean_field"`` (diagonal) or ``"full_rank"`` (Cholesky).
        init_scale: the initial standard deviation of every unconstrained
            coordinate (numpyro's ``init_scale``).

    Returns:
        ``(params, guide)``: the params of ``guide.family`` and the ``Guide``.

    Raises:
        ValueError: an unknown kind or constraint, constraints of another
            structure, or an example value outside its constraint's domain.
    """
    if kind not in KINDS:
        raise ValueError(
            f"vi.make_guide: kind must be one of {sorted(KINDS)}, got {kind!r}"
        )
    blocks, structure, loc = _blocks(example_latents, constraints)
    family, size = KINDS[kind], int(loc.size)
    if kind == "mean_field":
        params = family.init(loc=loc, scale_diag=jnp.full(size, init_scale, loc.dtype))
    else:
        params = family.init(
            loc=loc, scale_tril=init_scale * jnp.eye(size, dtype=loc.dtype)
        )

    def transform(u: Array) -> tuple[Any, Array]:
        batch = u.shape[:-1]
        latents, log_det = [], jnp.zeros(batch, u.dtype)
        for block in blocks:
            size = math.prod(block.unconstrained_shape)
            x = u[..., block.start : block.start + size]
            x = x.reshape(batch + block.unconstrained_shape)
            bijector, bijector_params = block.constraint
            y, block_log_det = bijector.forward_and_log_det(bijector_params, x)
            latents.append(jnp.broadcast_to(y, batch + block.shape))
            log_det = log_det + jnp.sum(
                block_log_det, axis=tuple(range(len(batch), block_log_det.ndim))
            )
        return jax.tree.unflatten(structure, latents), log_det

    def sample_and_log_prob(key: ArrayLike, params: Any, sample_shape=()):
        u, log_q = family.sample_and_log_prob(key, params, sample_shape)
        latents, log_det = transform(u)
        return latents, log_q - log_det

    def sample(key: ArrayLike, params: Any, sample_shape=()):
        return transform(family.sample(key, params, sample_shape))[0]

    def median(params: Any) -> Any:
        return transform(params.loc)[0]

    return params, Guide(family, transform, sample_and_log_prob, sample, median, size)


ENTROPIES = ("analytic", "monte_carlo", "sticking_the_landing")


def elbo(
    key: ArrayLike,
    params: Any,
    log_target: Callable[..., ArrayLike],
    guide: Guide,
    batch: Any = None,
    *,
    num_samples: int = 1,
    entropy: str = "analytic",
) -> Array:
    """A Monte Carlo estimate of the ELBO, pathwise differentiable in ``params``.

    The ``num_samples`` draws go through ``parallel.shard_leading``, so under a
    mesh (``fit(..., mesh=...)``) each device evaluates its share.

    Args:
        key: a PRNG key.
        params: the guide's params.
        log_target: ``log_target(latents)``, or ``log_target(latents, batch)``
            when ``batch`` is given: the unnormalized log-density of one value
            of the latents (a pytree like the example), a scalar.
        guide: the ``Guide`` from :func:`make_guide`.
        batch: data passed on to ``log_target``, or ``None``.
        num_samples: draws of the estimate, a positive Python int.
        entropy: ``"analytic"`` (closed-form Gaussian entropy), ``"monte_carlo"``
            (``-log q`` of the draws) or ``"sticking_the_landing"`` (the same
            value, with the score term of its gradient removed).

    Returns:
        The ELBO estimate, a scalar: to maximise.
    """
    if entropy not in ENTROPIES:
        raise ValueError(
            f"vi.elbo: entropy must be one of {ENTROPIES}, got {entropy!r}"
        )
    if (
        isinstance(num_samples, bool)
        or not isinstance(num_samples, int)
        or num_samples < 1
    ):
        raise ValueError(
            f"vi.elbo: num_samples must be a positive int, got {num_samples!r}"
        )
    family = guide.family
    u = parallel.shard_leading(family.sample(key, params, (num_samples,)))
    latents, log_det = guide.transform(u)
    if batch is None:
        log_p = jax.vmap(log_target)(latents)
    else:
        log_p = jax.vmap(log_target, (0, None))(latents, batch)
    if jnp.shape(log_p) != (num_samples,):
        raise ValueError(
            "vi.elbo: log_target must return a scalar per value of the latents, "
            f"got shape {jnp.shape(log_p)[1:]}"
        )
    if entropy == "analytic":
        return jnp.mean(log_p + log_det) + family.entropy(params)
    q_params = params if entropy == "monte_carlo" else jax.lax.stop_gradient(params)
    return jnp.mean(log_p + log_det - family.log_prob(q_params, u))


def make_elbo_loss(
    log_target: Callable[..., ArrayLike],
    guide: Guide,
    *,
    num_samples: int = 1,
    entropy: str = "analytic",
) -> Callable[..., Array]:
    """``loss(key, params, batch=None) = -elbo(...)``, for ``fit``.

    The configuration is closed over, so ``jax.jit`` of the loss sees arrays
    only. Arguments are those of :func:`elbo`.
    """

    def loss(key: ArrayLike, params: Any, batch: Any = None) -> Array:
        return -elbo(
            key,
            params,
            log_target,
            guide,
            batch,
            num_samples=num_samples,
            entropy=entropy,
        )

    return loss


def fit(
    key: ArrayLike,
    example_latents: Any,
    data: Any = None,
    *,
    log_target: Callable[..., ArrayLike],
    optimizer: optax.GradientTransformation,
    num_steps: int,
    constraints: Any = None,
    kind: str = "mean_field",
    num_samples: int = 1,
    entropy: str = "analytic",
    init_scale: float = 0.1,
    **options: Any,
) -> tuple[Guide, fitting.FitResult]:
    """Fits a Gaussian guide to ``log_target``: ADVI in one call.

    :func:`make_guide`, then :func:`make_elbo_loss`, then ``jaxreparam.fit.fit``.

    Args:
        key: a PRNG key.
        example_latents: a value of the latents, where the guide starts.
        data: an in-memory data set for ``log_target(latents, batch)``, or
            ``None`` for ``log_target(latents)``.
        log_target: the unnormalized log-density of one value of the latents.
        optimizer: any optax ``GradientTransformation``.
        num_steps: optimizer steps.
        constraints: see :func:`make_guide`.
        kind: ``"mean_field"`` or ``"full_rank"``.
        num_samples: Monte Carlo draws per step.
        entropy: see :func:`elbo`.
        init_scale: see :func:`make_guide`.
        **options: passed on to ``jaxreparam.fit.fit`` (``batch_size``,
            ``chunk_size``, ``progress``, ``mesh``, ``validation_loss``, ...).

    Returns:
        ``(guide, result)``; ``result.params`` are the guide's fitted params and
        ``result.history["loss"]`` the negative ELBO estimates.
    """
    params, guide = make_guide(
        example_latents, constraints, kind=kind, init_scale=init_scale
    )
    loss = make_elbo_loss(log_target, guide, num_samples=num_samples, entropy=entropy)
    result = fitting.fit(
        key,
        params,
        data,
        loss=loss,
        optimizer=optimizer,
        num_steps=num_steps,
        **options,
    )
    return guide, result
