"""Variational inference on a pytree of latents (ADVI): guides, ELBO loss, fit.

What numpyro's ``AutoNormal``/``AutoMultivariateNormal`` and Stan's ADVI do, as
pure functions. The latents of ``log_target`` are any pytree of arrays; each leaf
has a constraint, a bijector from unconstrained values onto its domain
(``"real"``, ``"positive"``, ``"simplex"``, ``"unit_interval"``, :func:`interval`,
or any parameter-free bijector such as ``jaxreparam.bijectors.softplus``). One
bijector ``T`` maps a vector ``u`` in ``R^D`` onto the whole pytree, block by
block, and the guide is ``jaxreparam.transformed(gaussian, T)``: a Gaussian on
``u``, mean field (``jr.multivariate_normal_diag``) or full rank
(``jr.multivariate_normal_tril``), or a normalizing flow on ``u``
(``kind="flow"``: any :mod:`jaxreparam.flows` builder, or a bijector on
vectors, over a mean-field Gaussian), whose draws are latent pytrees.

There is one ELBO in the library, :func:`jaxreparam.objectives.elbo`. ADVI is
that ELBO of the Gaussian on ``u`` against the target pulled back to ``u``
(Kucukelbir et al. 2017), ``log_target(T(u)) + log|det dT/du|`` (see
:func:`pull_back`), with the objectives' options: ``entropy="analytic"`` (the
default here for Gaussian guides, Stan's ADVI) or ``"monte_carlo"`` (numpyro's
``Trace_ELBO``, and the only choice for a flow, which has no closed-form
entropy), and ``gradient="standard"`` or ``"stl"`` (sticking the landing,
Roeder et al. 2017, with the Monte Carlo entropy; its gradient vanishes at an
exact fit).

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

References:
    Kucukelbir, Tran, Ranganath, Gelman & Blei, "Automatic differentiation
    variational inference", JMLR 2017.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxreparam import _checks, bijectors, objectives
from jaxreparam.base import Array, ArrayLike, Bijector, Family
from jaxreparam.bijectors import TransformedParams
from jaxreparam.distributions import _multivariate_normal as multivariate_normal
from jaxreparam.estimators._common import check_count
from jaxreparam.objectives._common import leading_size
from jaxreparam.objectives._losses import minibatch_target
from jaxreparam.train import _fit as fitting

__all__ = [
    "CONSTRAINTS",
    "FLOW",
    "KINDS",
    "Constraint",
    "Guide",
    "elbo",
    "fit",
    "interval",
    "make_elbo_loss",
    "make_guide",
    "minibatch_log_joint",
    "prior_draw",
    "pull_back",
]


class Constraint(NamedTuple):
    """A bijector from the reals onto a latent's domain, with its fixed params.

    Examples:
        >>> from jaxreparam import vi
        >>> positive = vi.CONSTRAINTS["positive"]
        >>> positive.bijector.name, positive.params
        ('exp', ExpParams())
        >>> float(positive.bijector.forward(positive.params, 0.0)[0])  # exp(0)
        1.0
        >>> unit = vi.interval(0.0, 2.0)  # a Constraint of its own
        >>> float(unit.bijector.forward(unit.params, 0.0)[0])  # the middle of (0, 2)
        1.0
    """

    bijector: Bijector
    params: Any


def interval(low: ArrayLike, high: ArrayLike) -> Constraint:
    """The constraint ``low < latent < high`` (an affine sigmoid).

    Examples:
        >>> from jaxreparam import vi
        >>> vi.interval(0.0, 2.0).bijector.name
        'sigmoid'
    """
    return Constraint(bijectors.sigmoid, bijectors.sigmoid.init(low=low, high=high))


#: The constraints known by name.
CONSTRAINTS = {
    "real": Constraint(bijectors.identity, bijectors.identity.init()),
    "positive": Constraint(bijectors.exp, bijectors.exp.init()),
    "simplex": Constraint(bijectors.stick_breaking, bijectors.stick_breaking.init()),
    "unit_interval": Constraint(bijectors.sigmoid, bijectors.sigmoid.init()),
}

#: The Gaussian guides on the unconstrained latents, by name.
KINDS = {
    "mean_field": multivariate_normal.multivariate_normal_diag,
    "full_rank": multivariate_normal.multivariate_normal_tril,
}

#: The guide kind of a normalizing flow on the unconstrained latents.
FLOW = "flow"


class _Block(NamedTuple):
    constraint: Constraint
    shape: tuple[int, ...]  # of the latent
    unconstrained_shape: tuple[int, ...]
    start: int


class Guide(NamedTuple):
    """A family on the unconstrained latents, pushed onto the latents' pytree.

    The guide's params are ``TransformedParams(base, bijector)``: ``base`` the
    params of the family of ``u`` (event ``(D,)``): a Gaussian's, or for a
    flow guide the flow's ``TransformedParams`` (its base Gaussian's and its
    layers'); ``bijector`` the empty tuple (the constraints are fixed, not
    learned).

    Attributes:
        family: ``jaxreparam.transformed(base, bijector)``, a ``Family`` whose
            draws are latent pytrees with leading axes ``sample_shape``.
        base: the family of ``u``: ``jr.multivariate_normal_diag``,
            ``jr.multivariate_normal_tril``, or a flow (``jr.transformed`` of
            a Gaussian through a bijector on vectors).
        bijector: ``T``, from ``u`` of shape ``(..., D)`` to a pytree of latents
            with leading axes ``...``, ``event_ndims = 1``, params ``()``.
        size: ``D``, the number of unconstrained coordinates.

    Examples:
        >>> from jaxreparam import vi
        >>> params, guide = vi.make_guide({"rate": 2.0, "w": jnp.zeros(3)},
        ...     {"rate": "positive", "w": "real"})
        >>> guide.size, guide.family.name.startswith("transformed")
        (4, True)
        >>> draws = guide.sample(jax.random.key(0), params, (5,))  # latent pytrees
        >>> draws["rate"].shape, draws["w"].shape, bool(jnp.all(draws["rate"] > 0))
        ((5,), (5, 3), True)
        >>> float(guide.median(params)["rate"])
        2.0
    """

    family: Family
    base: Family
    bijector: Bijector
    size: int

    def sample(self, key: ArrayLike, params: Any, sample_shape: Any = ()) -> Any:
        """Latents drawn from the guide, leading axes ``sample_shape``."""
        return self.family.sample(key, params, sample_shape)

    def sample_and_log_prob(
        self, key: ArrayLike, params: Any, sample_shape: Any = ()
    ) -> tuple[Any, Array]:
        """Latents and their log-density under the guide, from one draw of ``u``."""
        return self.family.sample_and_log_prob(key, params, sample_shape)

    def log_prob(self, params: Any, latents: Any) -> Array:
        """The guide's log-density of given latents (through ``T^-1``)."""
        return self.family.log_prob(params, latents)

    def transform(self, u: Array) -> tuple[Any, Array]:
        """``(T(u), log|det dT/du|)`` for ``u`` of shape ``(..., D)``."""
        return self.bijector.forward((), u)

    def median(self, params: Any) -> Any:
        """The image of the Gaussian's mean: the guide's median latents.

        For a flow guide, the image of its base Gaussian's mean through the
        flow and ``T``: a point of high density, not in general the median.
        """
        base = params.base
        if not isinstance(base, TransformedParams):
            return self.transform(base.loc)[0]
        # A flow over a mean-field Gaussian: its draw at scale 0 is the flow's
        # image of the Gaussian's mean (the key is then unused).
        gaussian = base.base
        point = gaussian._replace(
            log_scale_diag=jnp.full_like(gaussian.log_scale_diag, -jnp.inf)
        )
        u = self.base.sample(jax.random.key(0), base._replace(base=point))
        return self.transform(u)[0]


def _constraint(path: str, spec: Any) -> Constraint:
    if isinstance(spec, Constraint):
        return spec
    if isinstance(spec, Bijector):
        return Constraint(spec, spec.init())
    if isinstance(spec, str) and spec in CONSTRAINTS:
        return CONSTRAINTS[spec]
    raise ValueError(
        f"vi.make_guide: the constraint of latent {path} must be one of "
        f"{sorted(CONSTRAINTS)}, vi.interval(low, high) or a parameter-free "
        f"Bijector, got {spec!r}"
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
        x = constraint.bijector.inverse(constraint.params, leaf)[0]
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


def _sum_event(log_det: Array, num_batch: int) -> Array:
    return jnp.sum(log_det, axis=tuple(range(num_batch, log_det.ndim)))


def _tree_bijector(blocks: list[_Block], structure: Any, size: int) -> Bijector:
    """``T``: ``u`` of shape ``(..., D)`` onto the latents' pytree, block by block."""

    def forward(params: Any, u: Array) -> tuple[Any, Array]:
        del params
        u = jnp.asarray(u)
        batch = u.shape[:-1]
        latents, log_det = [], jnp.zeros(batch, u.dtype)
        for block in blocks:
            width = math.prod(block.unconstrained_shape)
            x = u[..., block.start : block.start + width]
            x = x.reshape(batch + block.unconstrained_shape)
            bijector, bijector_params = block.constraint
            y, block_log_det = bijector.forward(bijector_params, x)
            latents.append(jnp.broadcast_to(y, batch + block.shape))
            log_det = log_det + _sum_event(block_log_det, len(batch))
        return jax.tree.unflatten(structure, latents), log_det

    def inverse(params: Any, latents: Any) -> tuple[Array, Array]:
        del params
        leaves = structure.flatten_up_to(latents)
        if not blocks:
            return jnp.zeros(0), jnp.zeros(())
        first = jnp.asarray(leaves[0])
        batch = first.shape[: first.ndim - len(blocks[0].shape)]
        pieces, log_det = [], jnp.zeros((), first.dtype)
        for block, leaf in zip(blocks, leaves, strict=True):
            bijector, bijector_params = block.constraint
            x, block_log_det = bijector.inverse(bijector_params, jnp.asarray(leaf))
            x = jnp.broadcast_to(x, batch + block.unconstrained_shape)
            pieces.append(x.reshape(batch + (-1,)))
            log_det = log_det + _sum_event(block_log_det, len(batch))
        return jnp.concatenate(pieces, axis=-1), log_det

    def forward_shape(shape: tuple[int, ...]) -> Any:
        batch = tuple(shape[:-1])
        return jax.tree.unflatten(structure, [batch + b.shape for b in blocks])

    def inverse_shape(shape: Any) -> tuple[int, ...]:
        del shape
        raise NotImplementedError("vi's constraint bijector maps shapes one way")

    return Bijector(
        name="constraints",
        params_type=tuple,
        init=lambda key=None: (),
        forward=forward,
        inverse=inverse,
        event_ndims=1,
        forward_shape=forward_shape,
        inverse_shape=inverse_shape,
    )


def make_guide(
    example_latents: Any,
    constraints: Any = None,
    *,
    kind: str = "mean_field",
    init_scale: float = 0.1,
    flow: Any = None,
    key: ArrayLike = None,
) -> tuple[TransformedParams, Guide]:
    """A Gaussian or flow guide for latents shaped like ``example_latents``.

    The guide starts centred on ``example_latents`` (its median is that value),
    with standard deviation ``init_scale`` for every unconstrained coordinate.
    To start from a draw of a prior, pass :func:`prior_draw`'s latents.

    With ``kind="flow"`` the family of ``u`` is a normalizing flow over that
    mean-field Gaussian (``guide.base`` is ``jr.transformed(gaussian, flow)``),
    so the guide's params are ``TransformedParams(flow_params, ())`` with
    ``flow_params = TransformedParams(gaussian_params, layer_params)``: the
    Gaussian and the layers are learned together. A flow whose layers start at
    the identity (coupling, autoregressive and spline layers) starts as the
    mean-field guide; planar and radial layers start at a random small map.

    Args:
        example_latents: a pytree of arrays (or floats), one value of the
            latents; the guide starts centred on it.
        constraints: a pytree of the same structure whose leaves are constraint
            names (``"real"``, ``"positive"``, ``"simplex"`` on the last axis,
            ``"unit_interval"``), :func:`interval` values, parameter-free
            ``Bijector`` bundles (``jr.bijectors.softplus``) or
            ``Constraint(bijector, params)``; ``None``: all real.
        kind: ``"mean_field"`` (diagonal), ``"full_rank"`` (Cholesky) or
            ``"flow"`` (needs ``flow`` and ``key``).
        init_scale: the initial standard deviation of every unconstrained
            coordinate (numpyro's ``init_scale``), positive.
        flow: with ``kind="flow"``: a builder of :mod:`jaxreparam.flows`
            (``jr.flows.iaf``, or ``functools.partial(jr.flows.iaf,
            num_layers=4)`` with its options), called as ``flow(key, D,
            base=(gaussian, gaussian_params))``; or a ``Bijector`` acting on
            vectors (``event_ndims == 1``) of size ``D``, its params
            ``flow.init(key)``.
        key: with ``kind="flow"``: the PRNG key of the flow's initial params.

    Returns:
        ``(params, guide)``: ``TransformedParams`` of ``guide.family`` and the
        ``Guide``.

    Raises:
        ValueError: an unknown kind or constraint, constraints of another
            structure, an example value outside its constraint's domain, a
            non-positive ``init_scale``, ``kind="flow"`` without ``flow`` or
            ``key``, or ``flow`` with another kind.
        TypeError: ``flow`` is neither a ``Bijector`` nor callable, or a
            bijector that does not act on vectors.

    Examples:
        >>> import jax.numpy as jnp
        >>> from jaxreparam import vi
        >>> params, guide = vi.make_guide({"rate": 2.0, "w": jnp.zeros(3)},
        ...                               {"rate": "positive", "w": "real"})
        >>> guide.size, float(guide.median(params)["rate"])
        (4, 2.0)

        An inverse autoregressive flow guide (Kingma et al. 2016):

        >>> params, guide = vi.make_guide({"rate": 2.0, "w": jnp.zeros(3)},
        ...     {"rate": "positive", "w": "real"}, kind="flow",
        ...     flow=jr.flows.iaf, key=jax.random.key(0))
        >>> guide.sample(jax.random.key(1), params, (5,))["w"].shape
        (5, 3)
    """
    where = "vi.make_guide"
    if kind not in KINDS and kind != FLOW:
        raise ValueError(
            f"{where}: kind must be one of {sorted([*KINDS, FLOW])}, got {kind!r}"
        )
    if kind == FLOW and (flow is None or key is None):
        raise ValueError(f"{where}: kind='flow' needs a flow and a key")
    if kind != FLOW and flow is not None:
        raise ValueError(f"{where}: flow=... is for kind='flow', got kind={kind!r}")
    if not (isinstance(init_scale, int | float) and init_scale > 0):
        raise ValueError(
            f"{where}: init_scale must be a positive number, got {init_scale!r}"
        )
    blocks, structure, loc = _blocks(example_latents, constraints)
    base, size = KINDS.get(kind, KINDS["mean_field"]), int(loc.size)
    if kind == "full_rank":
        base_params = base.init(
            loc=loc, scale_tril=init_scale * jnp.eye(size, dtype=loc.dtype)
        )
    else:
        base_params = base.init(
            loc=loc, scale_diag=jnp.full(size, init_scale, loc.dtype)
        )
    if kind == FLOW:
        base_params, base = _flow_on(where, flow, key, size, base, base_params)
    bijector = _tree_bijector(blocks, structure, size)
    family = bijectors.transformed(base, bijector)
    return TransformedParams(base_params, ()), Guide(family, base, bijector, size)


def _flow_on(
    where: str, flow: Any, key: ArrayLike, size: int, base: Family, base_params: Any
) -> tuple[TransformedParams, Family]:
    """The params and family of ``flow`` over the Gaussian ``base`` on ``R^size``."""
    if isinstance(flow, Bijector):
        if flow.event_ndims != 1:
            raise TypeError(
                f"{where}: a flow bijector must act on vectors (event_ndims 1), "
                f"got {flow.name} with event_ndims {flow.event_ndims}"
            )
        family = bijectors.transformed(base, flow)
        return TransformedParams(base_params, flow.init(key)), family
    if not callable(flow):
        raise TypeError(
            f"{where}: flow must be a jaxreparam.flows builder or a Bijector, "
            f"got {type(flow).__name__}"
        )
    params, family = flow(key, size, base=(base, base_params))
    if not isinstance(family, Family) or not isinstance(params, TransformedParams):
        raise TypeError(
            f"{where}: the flow builder must return (TransformedParams, Family), "
            f"got ({type(params).__name__}, {type(family).__name__})"
        )
    return params, family


def prior_draw(key: ArrayLike, prior: Any, params: Any = None) -> Any:
    """One draw of the latents from a prior: a start for :func:`make_guide`.

    Args:
        key: a PRNG key.
        prior: a ``Family`` (drawn with ``params``), or a sampler ``prior(key)
            -> latents`` returning a pytree like the latents.
        params: the family's params; only with a ``Family``.

    Returns:
        The drawn latents.

    Raises:
        TypeError: ``prior`` is neither a ``Family`` nor callable, or a
            family is given without params.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> from jaxreparam import vi
        >>> start = vi.prior_draw(jax.random.key(0), jr.normal,
        ...                       jr.normal.init(loc=jax.numpy.zeros(3)))
        >>> params, guide = vi.make_guide(start)
        >>> bool((guide.median(params) == start).all())
        True
    """
    if isinstance(prior, Family):
        if params is None:
            raise TypeError(
                f"vi.prior_draw: a family prior ({prior.name}) needs its params"
            )
        return prior.sample(key, params)
    if params is not None or not callable(prior):
        raise TypeError(
            "vi.prior_draw: prior must be a Family with params, or a sampler "
            f"prior(key) -> latents; got {type(prior).__name__}"
        )
    return prior(key)


def pull_back(
    log_target: Callable[..., ArrayLike], bijector: Bijector, params: Any = ()
) -> Callable[..., Array]:
    """The density of ``log_target`` pulled back through ``T``: a density of ``u``.

    ``pulled(u, *args) = log_target(T(u), *args) + log|det dT/du|``, the
    unconstrained target of ADVI: the ELBO of a guide ``q_u`` on ``u`` against
    it equals the ELBO of the pushed-forward guide against ``log_target``.

    Args:
        log_target: ``log_target(latents, *args)``, a scalar.
        bijector: ``T``, a ``Bijector`` (a guide's ``guide.bijector``).
        params: the bijector's params.

    Returns:
        ``pulled(u, *args)``.

    Examples:
        >>> import jax.numpy as jnp, jaxreparam as jr
        >>> from jaxreparam import vi
        >>> log_rate = lambda rate: -rate  # Exponential(1) on (0, inf)
        >>> pulled = vi.pull_back(log_rate, jr.bijectors.exp)
        >>> float(pulled(jnp.log(2.0)))  # -2 + log 2: rate = e^u, d rate/du = e^u
        -1.3068528175354004
    """

    def pulled(u: Array, *args: Any) -> Array:
        latents, log_det = bijector.forward(params, u)
        return log_target(latents, *args) + log_det

    return pulled


def make_elbo_loss(
    guide: Guide,
    log_target: Callable[..., ArrayLike],
    *,
    num_samples: int = 1,
    entropy: str | None = None,
    gradient: str = "standard",
) -> Callable[..., Array]:
    """``loss(key, params, batch=None)``: minus ADVI's ELBO, for ``jaxreparam.fit``.

    The loss is ``-jaxreparam.objectives.elbo(key, params.base, guide.base,
    pulled)`` with ``pulled = pull_back(log_target, guide.bijector)``: the
    library's one ELBO, of the Gaussian on ``u``; under a mesh (``fit(...,
    mesh=...)``) it splits the ``num_samples`` draws across the devices.

    Args:
        guide: the ``Guide`` from :func:`make_guide`.
        log_target: ``log_target(latents)``, or ``log_target(latents, batch)``
            when the loss is called with a batch: the unnormalized
            log-density of one value of the latents (a pytree like the
            example), a scalar. For minibatches, see
            :func:`minibatch_log_joint`.
        num_samples: draws of the estimate, a positive Python int.
        entropy: ``"analytic"`` (the Gaussian's closed-form entropy, Stan's
            ADVI) or ``"monte_carlo"`` (``-log q`` of the draws); ``None``
            (the default): ``"analytic"`` for a Gaussian guide,
            ``"monte_carlo"`` for a flow guide (which has no closed form).
        gradient: ``"standard"`` or ``"stl"`` (sticking the landing; needs
            ``entropy="monte_carlo"``).

    Returns:
        ``loss(key, params, batch=None)``, minimised.

    Raises:
        ValueError: an unknown option, ``gradient="stl"`` with the analytic
            entropy, or ``num_samples < 1``.
        TypeError: ``num_samples`` is not an int, ``log_target`` not callable.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from jaxreparam import vi
        >>> params, guide = vi.make_guide(jnp.zeros(2))
        >>> loss = vi.make_elbo_loss(guide, lambda z: -0.5 * jnp.sum(z**2),
        ...                          num_samples=4)
        >>> jax.grad(loss, argnums=1)(jax.random.key(0), params).base.loc.shape
        (2,)
    """
    if entropy is None:
        entropy = "analytic" if guide.base.has("entropy") else "monte_carlo"
    # The objectives check the options once, now, and name the bad one.
    objectives.make_elbo_loss(
        guide.base,
        log_target,
        num_samples=num_samples,
        entropy=entropy,
        gradient=gradient,
    )
    if entropy == "analytic" and not guide.base.has("entropy"):
        raise ValueError(
            f"vi.make_elbo_loss: entropy='analytic' needs a closed-form entropy, "
            f"which the guide's {guide.base.name} has not; use "
            "entropy='monte_carlo' (the default for a flow)"
        )
    if gradient == "stl" and entropy == "analytic":
        raise ValueError(
            "vi.make_elbo_loss: gradient='stl' drops the score of the Monte Carlo "
            "entropy; use it with entropy='monte_carlo'"
        )

    def loss(key: ArrayLike, params: TransformedParams, batch: Any = None) -> Array:
        args = () if batch is None else (batch,)
        pulled = pull_back(log_target, guide.bijector, params.bijector)
        return -objectives.elbo(
            key,
            params.base,
            guide.base,
            lambda u: pulled(u, *args),
            num_samples=num_samples,
            entropy=entropy,
            gradient=gradient,
        )

    return loss


def elbo(
    key: ArrayLike,
    params: TransformedParams,
    guide: Guide,
    log_target: Callable[..., ArrayLike],
    batch: Any = None,
    **options: Any,
) -> Array:
    """ADVI's ELBO estimate, maximised (the negated :func:`make_elbo_loss`).

    ``elbo(key, params, guide, log_target, batch, **options)`` is
    ``-make_elbo_loss(guide, log_target, **options)(key, params, batch)``; the
    options are those of :func:`make_elbo_loss`.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from jaxreparam import vi
        >>> params, guide = vi.make_guide(jnp.zeros(2))
        >>> value = vi.elbo(jax.random.key(0), params, guide,
        ...                 lambda z: -0.5 * jnp.sum(z**2), num_samples=8)
        >>> value.shape
        ()
    """
    return -make_elbo_loss(guide, log_target, **options)(key, params, batch)


def minibatch_log_joint(
    log_prior: Callable[[Any], ArrayLike],
    log_likelihood: Callable[[Any, Any], ArrayLike],
    *,
    num_data: int,
) -> Callable[[Any, Any], Array]:
    """``log_joint(latents, batch)`` with the likelihood scaled to the data set.

    ``log_prior(latents) + num_data / B * sum_i log_likelihood(latents, x_i)``
    over the ``B`` examples ``x_i`` of ``batch`` (the leading axis of every
    leaf): for a uniformly drawn minibatch its expectation is the full data
    set's log-joint, so the ELBO of a minibatch is an unbiased estimate of the
    full ELBO; on the whole data set (``B = num_data``) it is the log-joint.

    Args:
        log_prior: ``log_prior(latents)``, a scalar.
        log_likelihood: ``log_likelihood(latents, x_i)`` of one example, a
            scalar.
        num_data: ``N``, the number of examples in the whole data set.

    Returns:
        ``log_joint(latents, batch)``, for :func:`make_elbo_loss` and
        ``jaxreparam.fit(..., batch_size=B)``.

    Raises:
        ValueError: ``num_data < 1``; (when called) the batch's leaves have
            different leading sizes, or more than ``num_data`` examples.
        TypeError: ``num_data`` is not an int.

    Examples:
        >>> import jax.numpy as jnp
        >>> from jaxreparam import vi
        >>> log_joint = vi.minibatch_log_joint(
        ...     lambda mu: -0.5 * mu**2,
        ...     lambda mu, x: -0.5 * (x - mu) ** 2, num_data=100)
        >>> float(log_joint(0.0, jnp.ones(4)))  # -0.5 * 100 / 4 * 4
        -50.0
    """
    where = "vi.minibatch_log_joint"
    num_data = check_count(where, "num_data", num_data)

    def log_joint(latents: Any, batch: Any) -> Array:
        target = minibatch_target(
            where, log_prior, log_likelihood, batch, num_data=num_data
        )
        return target(latents)

    return log_joint


def fit(
    key: ArrayLike,
    example_latents: Any,
    data: Any = None,
    *,
    optimizer: optax.GradientTransformation,
    num_steps: int,
    log_target: Callable[..., ArrayLike] | None = None,
    log_prior: Callable[[Any], ArrayLike] | None = None,
    log_likelihood: Callable[[Any, Any], ArrayLike] | None = None,
    constraints: Any = None,
    kind: str = "mean_field",
    num_samples: int = 1,
    entropy: str | None = None,
    gradient: str = "standard",
    init_scale: float = 0.1,
    flow: Any = None,
    **options: Any,
) -> tuple[Guide, fitting.FitResult]:
    """Fits a Gaussian or flow guide to a target: ADVI in one call.

    :func:`make_guide`, then :func:`make_elbo_loss`, then ``jaxreparam.fit``.
    Give either ``log_target`` or ``log_prior`` and ``log_likelihood`` (per
    example, with ``data``): the latter is :func:`minibatch_log_joint` with
    ``num_data`` the size of ``data``, so that minibatches (``batch_size=``)
    scale the likelihood to the data set.

    Args:
        key: a PRNG key.
        example_latents: a value of the latents, where the guide starts (or
            :func:`prior_draw`'s draw).
        data: an in-memory data set for ``log_target(latents, batch)``, or
            ``None`` for ``log_target(latents)``.
        optimizer: any optax ``GradientTransformation``.
        num_steps: optimizer steps.
        log_target: the unnormalized log-density of one value of the latents.
        log_prior: ``log_prior(latents)``, with ``log_likelihood``.
        log_likelihood: ``log_likelihood(latents, x_i)`` of one example of
            ``data``.
        constraints: see :func:`make_guide`.
        kind: ``"mean_field"``, ``"full_rank"`` or ``"flow"`` (with ``flow``).
        num_samples: Monte Carlo draws per step.
        entropy: see :func:`make_elbo_loss`.
        gradient: see :func:`make_elbo_loss`.
        init_scale: see :func:`make_guide`.
        flow: with ``kind="flow"``, a :mod:`jaxreparam.flows` builder or a
            ``Bijector`` on vectors (see :func:`make_guide`); its initial
            params are drawn with ``jax.random.split(key)[0]``, and the fit
            runs with ``jax.random.split(key)[1]`` (a Gaussian guide's fit
            runs with ``key`` itself).
        **options: passed on to ``jaxreparam.fit`` (``batch_size``,
            ``chunk_size``, ``progress``, ``mesh``, ``validation_loss``, ...).

    Returns:
        ``(guide, result)``; ``result.params`` are the guide's fitted params and
        ``result.history["loss"]`` the negative ELBO estimates.

    Raises:
        ValueError: not exactly one of ``log_target`` and ``log_prior`` with
            ``log_likelihood``, or ``log_likelihood`` without ``data``.

    Examples:
        >>> import optax
        >>> from jaxreparam import vi
        >>> data = 1.0 + jnp.linspace(-1.0, 1.0, 64)  # x_i ~ N(mu, 1)
        >>> def log_prior(latents):
        ...     return jr.normal.log_prob(jr.normal.init(scale=10.0), latents["mu"])
        ...
        >>> def log_likelihood(latents, x):
        ...     return jr.normal.log_prob(jr.normal.init(loc=latents["mu"]), x)
        ...
        >>> guide, result = vi.fit(jax.random.key(0), {"mu": 0.0}, data,
        ...     optimizer=optax.adam(0.05), num_steps=500, log_prior=log_prior,
        ...     log_likelihood=log_likelihood)  # batch_size=... for minibatches
        >>> round(float(guide.median(result.params)["mu"]), 1)  # exact: N(1.0, 0.125^2)
        1.0
    """
    if log_target is None:
        if log_prior is None or log_likelihood is None or data is None:
            raise ValueError(
                "vi.fit: give log_target, or log_prior and log_likelihood with data"
            )
        num_data = leading_size("vi.fit", data)
        log_target = minibatch_log_joint(log_prior, log_likelihood, num_data=num_data)
    elif log_prior is not None or log_likelihood is not None:
        raise ValueError(
            "vi.fit: give either log_target or log_prior and log_likelihood, not both"
        )
    flow_key = None
    if kind == FLOW:
        flow_key, key = jax.random.split(_checks.check_key(key))
    params, guide = make_guide(
        example_latents,
        constraints,
        kind=kind,
        init_scale=init_scale,
        flow=flow,
        key=flow_key,
    )
    loss = make_elbo_loss(
        guide, log_target, num_samples=num_samples, entropy=entropy, gradient=gradient
    )
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
