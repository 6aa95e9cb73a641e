"""Mixtures of one univariate family, reparameterized through the mixture's CDF.

A mixture of ``K`` components of one family ``p(z; theta_k)`` with weights
``w = softmax(mixture_logits)`` has density and CDF::

    q(z) = sum_k w_k p(z; theta_k),        F(z) = sum_k w_k P(z; theta_k).

Sampling picks ``k ~ Categorical(w)`` and draws ``z ~ p(.; theta_k)`` exactly. The
draw has the law of the distributional transform ``z = F^{-1}(u)``, ``u ~ U(0, 1)``,
whose pathwise derivative is the implicit one (Figurnov et al. 2018)::

    dz/dphi = -(dF(z; phi)/dphi) / q(z),    phi = (mixture_logits, theta_1..K),

so the sample is differentiable in the mixing params *and* the component params
(:func:`jaxreparam.implicit_sampler` supplies the derivative, the exact draw is never
differentiated), as TFP's ``MixtureSameFamily(reparameterize=True)`` does.

:func:`mixture` builds the family of mixtures of any univariate family; ``normal`` is
the ready mixture of Normals. Params are ``(mixture_logits, components)``: the
logits have shape ``batch_shape + (K,)`` and the component params broadcast to it,
their trailing axis indexing the components.

Honest metadata: the mixture is ``reparameterized`` only if its component family is
and has a ``cdf``. Otherwise its sample still draws exactly but its gradient flows
only through the chosen component's own sample, never into the weights (what peers
return silently for every mixture); ``estimators.pathwise`` then refuses it.

Multivariate components. A component family with a non-empty event shape (a
full-covariance Gaussian, say) is refused with a ``ValueError``: its mixture has no
CDF to differentiate through. ``mixture(univariate, event_ndims=1)`` builds instead the
mixture on ``R^D`` whose components are products of ``D`` independent univariates
(``independent_normal``: a mixture of diagonal Gaussians). Its sample is
differentiated through the sequential (Rosenblatt) transform
``z_d = F_d^{-1}(u_d | z_<d)``, where ``F_d`` is the conditional CDF, a mixture of the
``d``-th coordinates with weights ``w_k prod_{j<d} p_k(z_j)`` renormalized; holding
every ``F_d`` fixed gives a lower-triangular system for ``dz``, solved exactly in
``D`` sweeps (TFP's ``MixtureSameFamily`` does the same for independent events).

Examples:
    >>> params = jr.mixture_normal.init(
    ...     mixture_logits=jnp.zeros(2), loc=jnp.array([-1.0, 1.0]), scale=0.5)
    >>> z = jr.mixture_normal.sample(jax.random.key(0), params, (4,))
    >>> z.shape, jr.mixture_normal.log_prob(params, z).shape
    ((4,), (4,))
    >>> round(float(jr.mixture_normal.variance(params)), 3)  # 0.5^2 + 1
    1.25
    >>> params = jr.mixture_independent_normal.init(  # 2 diagonal Gaussians on R^3
    ...     mixture_logits=jnp.zeros(2), loc=jnp.zeros((3, 2)), scale=jnp.ones((3, 2)))
    >>> jr.mixture_independent_normal.event_shape(params)
    (3,)

References:
    Figurnov, Mohamed and Mnih. Implicit Reparameterization Gradients. NeurIPS 2018.
    Graves. Stochastic Backpropagation through Mixture Density Distributions. 2016.
"""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, Family
from jaxreparam.distributions import _bundle, _common
from jaxreparam.distributions._normal import normal as _normal
from jaxreparam.implicit import implicit_sampler


class MixtureParams(NamedTuple):
    """Params of a mixture: ``mixture_logits`` and the component params.

    :func:`mixture` gives each mixture family its own subclass (``NormalMixtureParams``
    for ``normal``), so that ``family_of`` tells mixtures of different families apart.

    Examples:
        >>> params = jr.mixture_normal.init(
        ...     mixture_logits=jnp.zeros(2), loc=jnp.array([-1.0, 1.0]), scale=0.5)
        >>> isinstance(params, jr.MixtureParams), type(params).__name__
        (True, 'NormalMixtureParams')
        >>> params.mixture_logits.shape, type(params.components).__name__
        ((2,), 'NormalParams')
    """

    mixture_logits: Array
    components: Any


_MADE: dict[tuple[Family, int], Family] = {}


def _shapes(component: Family, ndims: int, where: str, logits_shape, components):
    """``batch_shape + event_shape + (K,)``, checked."""
    event = tuple(component.event_shape(components))
    if event:
        raise ValueError(
            f"{where}: component family {component.name!r} has event shape {event}; "
            "mixtures need univariate components (a multivariate mixture has no "
            "single CDF to differentiate through); for coordinates independent "
            "within each component use mixture(univariate, event_ndims=1)"
        )
    logits_shape = tuple(logits_shape)
    if ndims:  # the logits have no coordinate axis: insert one.
        logits_shape = logits_shape[:-1] + (1,) + logits_shape[-1:]
    return _checks.broadcast_shapes(
        where,
        mixture_logits=logits_shape,
        components=tuple(component.batch_shape(components)),
    )


def _log_weights(params: Any, ndims: int) -> Array:
    log_w = jax.nn.log_softmax(params.mixture_logits, axis=-1)
    return log_w[..., None, :] if ndims else log_w


def _component_log_probs(component: Family, params: Any, z: Any) -> Array:
    """``log p_k(z_d)``, shape ``(..., [D,] K)``."""
    return component.log_prob(params.components, jnp.asarray(z)[..., None])


def _log_prob(component: Family, ndims: int, params: Any, z: Any) -> Array:
    terms = _component_log_probs(component, params, z)
    if ndims:
        terms = jnp.sum(terms, axis=-2)
    return jax.nn.logsumexp(_log_weights(params, 0) + terms, axis=-1)


def _draw(component: Family, ndims: int, key: Any, params: Any, sample_shape) -> Array:
    """``k ~ Categorical(w)``, then ``z ~ p(.; theta_k)`` (every coordinate)."""
    full = _shapes(component, ndims, "mixture", params.mixture_logits.shape, params[1])
    leaves = jax.tree.leaves(params)
    key, shape, _ = _common.prepare(key, leaves, sample_shape, full[:-1])
    key_index, key_component = jax.random.split(key)
    logits = jnp.broadcast_to(params.mixture_logits, full[: -1 - ndims] + full[-1:])
    index = jax.random.categorical(key_index, logits, shape=shape[: len(shape) - ndims])
    sample_shape = shape[: len(shape) - len(full) + 1]
    draws = component.sample(key_component, params.components, sample_shape)
    draws = jnp.broadcast_to(draws, shape + full[-1:])
    index = jnp.broadcast_to(index.reshape(index.shape + (1,) * ndims), shape)
    z = jnp.take_along_axis(draws, index[..., None], axis=-1)[..., 0]
    # A NaN logit (an invalid value under jit) must not pick a plausible draw.
    invalid = jnp.isnan(logits).any(-1)
    return jnp.where(invalid.reshape(invalid.shape + (1,) * ndims), jnp.nan, z)


def _conditional_logits(params: Any, log_p: Array) -> Array:
    """``log w_k + sum_(j<d) log p_k(z_j)`` from ``log_p`` of shape ``(..., D, K)``."""
    before = jnp.cumsum(log_p, axis=-2)[..., :-1, :]  # sum over j < d, exclusive
    before = jnp.concatenate([jnp.zeros_like(log_p[..., :1, :]), before], axis=-2)
    return _log_weights(params, 1) + before


def _conditional_cdfs(component: Family, params: Any, z: Array) -> Array:
    """``F_d(z_d | z_<d)`` for every coordinate ``d``, shape ``(..., D)``."""
    log_p = _component_log_probs(component, params, z)
    weights = jax.nn.softmax(_conditional_logits(params, log_p), axis=-1)
    cdfs = component.cdf(params.components, z[..., None])
    return jnp.sum(weights * cdfs, axis=-1)


def _rosenblatt_sampler(component: Family):
    """The draw with the derivative of the sequential (Rosenblatt) transform.

    ``z_d = F_d^{-1}(u_d | z_<d)``: holding every ``F_d`` fixed gives the lower
    triangular system ``dF/dphi dphi + dF/dz dz = 0`` with diagonal ``q_d``, the
    conditional densities; ``D`` Jacobi sweeps solve it exactly.
    """

    def draw(key: Any, params: Any, sample_shape: tuple[int, ...]) -> Array:
        return _draw(component, 1, key, params, sample_shape)

    draw = jax.custom_jvp(draw, nondiff_argnums=(2,))

    def draw_jvp(sample_shape, primals, tangents):
        key, params = primals
        z = draw(key, params, sample_shape)
        z0 = jax.lax.stop_gradient(z)
        log_p = _component_log_probs(component, params, z0)
        log_cond_w = jax.nn.log_softmax(_conditional_logits(params, log_p), axis=-1)
        inv_q = jnp.exp(-jax.nn.logsumexp(log_cond_w + log_p, axis=-1))
        cdfs = lambda p, zz: _conditional_cdfs(component, p, zz)

        def sweep(_, dz):
            _, d_cdf = jax.jvp(cdfs, (params, z0), (tangents[1], dz))
            return dz - d_cdf * inv_q

        dz = jax.lax.fori_loop(0, z.shape[-1], sweep, jnp.zeros_like(z0))
        return z, dz.astype(z.dtype)

    draw.defjvp(draw_jvp)

    def sample(key: Any, params: Any, sample_shape: Any = ()) -> Array:
        return draw(key, params, tuple(_checks.check_sample_shape(sample_shape)))

    return sample


def _in_mixture(arg: Any, ndims: int) -> Any:
    """A component's natural argument as the mixture's (see :func:`mixture`)."""
    arg = arg._replace(event_ndims=1 + ndims)
    if arg.domain == "positive" and arg.range is not None:
        arg = arg._replace(range=(arg.range[0], min(arg.range[1], 1e18)))
    return arg


def mixture(component: Family, *, event_ndims: int = 0) -> Family:
    """The family of finite mixtures of ``component``, a univariate family.

    Args:
        component: the components' family bundle (one family for every component);
            its event shape must be ``()``.
        event_ndims: 0 for a univariate mixture; 1 for a mixture on ``R^D`` whose
            ``k``-th component is a product of ``D`` independent ``component`` laws
            (a mixture of diagonal Gaussians, say), reparameterized by the
            sequential (Rosenblatt) transform of the conditional CDFs.

    Returns:
        A registered ``Family`` named ``"mixture_" + component.name`` (or
        ``"mixture_independent_" + component.name``). Its
        ``init(*, mixture_logits, **component_natural)`` takes the logits (shape
        ``batch_shape + (K,)``; a scalar is one component) and the component's
        natural values broadcasting to ``batch_shape + (K,)``, or to
        ``batch_shape + (D, K)`` with ``event_ndims=1``. ``sample`` is pathwise
        differentiable in every param when ``component`` is reparameterized and
        has a ``cdf``; ``reparameterized`` says whether it is. The same arguments
        give the same family.

    Examples:
        >>> mix = jr.mixture(jr.normal)
        >>> mix is jr.mixture_normal
        True
        >>> params = mix.init(mixture_logits=[0.0, 1.0], loc=[-2.0, 2.0], scale=1.0)
        >>> g = jax.grad(lambda p: mix.sample(jax.random.key(0), p))(params)
        >>> bool(g.mixture_logits[1] != 0)  # the weights get a gradient
        True
    """
    if event_ndims not in (0, 1):
        raise ValueError(f"mixture: event_ndims must be 0 or 1, got {event_ndims}")
    if (component, event_ndims) in _MADE:
        return _MADE[component, event_ndims]
    ndims = event_ndims
    prefix = "independent_" if ndims else ""
    name = f"mixture_{prefix}{component.name}"
    title = "".join(part.capitalize() for part in (prefix + component.name).split("_"))
    params_type = type(f"{title}MixtureParams", (MixtureParams,), {"__slots__": ()})
    params_type.__doc__ = f"Params of a mixture of {prefix}{component.name} components."

    def shapes(params: Any) -> tuple[int, ...]:
        return _shapes(
            component, ndims, name, params.mixture_logits.shape, params.components
        )

    def batch_shape(params: Any) -> tuple[int, ...]:
        return shapes(params)[: -1 - ndims]

    def event_shape(params: Any) -> tuple[int, ...]:
        return shapes(params)[-1 - ndims : -1]

    # The component's arguments (their ranges checked by component.init), with
    # the component axis (and the coordinate axis) as event axes.
    # A positive argument's range ends at 1e18 at most: beyond, the implicit
    # gradient overflows in float32.
    natural_args = component.natural_args and (
        _bundle.real("mixture_logits", event_ndims=1),
        *(_in_mixture(a, ndims) for a in component.natural_args),
    )

    def init(*, mixture_logits: Any, **component_natural: Any) -> Any:
        where = f"{name}.init"
        logits = jnp.atleast_1d(_checks.real(where, "mixture_logits", mixture_logits))
        for arg in natural_args[1:]:  # the ranges narrower than the component's
            if arg.name in component_natural and arg.range is not None:
                value = _checks.as_float(where, arg.name, component_natural[arg.name])
                component_natural[arg.name] = _bundle.in_range(where, arg, value)
        components = component.init(**component_natural)
        _shapes(component, ndims, where, logits.shape, components)
        dtype = jnp.result_type(logits, *jax.tree.leaves(components))
        cast = lambda x: jnp.asarray(x, dtype)
        return params_type(cast(logits), jax.tree.map(cast, components))

    init.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("mixture_logits", inspect.Parameter.KEYWORD_ONLY)]
        + list(inspect.signature(component.init).parameters.values())
    )
    axes = "(D, K)" if ndims else "(K,)"
    init.__doc__ = (
        f"Params of a mixture of {prefix}{component.name} components: the logits\n"
        f"(batch_shape + (K,)) and {component.name}.init's arguments (broadcasting\n"
        f"to batch_shape + {axes})."
    )

    def to_natural(params: Any) -> dict[str, Array]:
        natural = component.to_natural(params.components)
        return {"mixture_logits": params.mixture_logits, **natural}

    def log_prob(params: Any, z: Any) -> Array:
        """``log sum_k w_k p_k(z)``, event dimensions reduced."""
        return _log_prob(component, ndims, params, z)

    def cdf(params: Any, z: Any) -> Array:
        """``sum_k w_k P(Z_k <= z)``."""
        weights = jax.nn.softmax(params.mixture_logits, axis=-1)
        z = jnp.asarray(z)[..., None]
        return jnp.sum(weights * component.cdf(params.components, z), axis=-1)

    def draw(key: Any, params: Any, sample_shape: Any = ()) -> Array:
        """Draws ``k ~ Categorical(w)``, then ``z ~ p_k``.

        Returns an array of shape ``sample_shape + batch_shape + event_shape``,
        pathwise differentiable in every param when the family is reparameterized.
        """
        return _draw(component, ndims, key, params, sample_shape)

    reparameterized = component.reparameterized and component.has("cdf")
    if not reparameterized:
        sample = draw
    elif ndims:
        sample = _rosenblatt_sampler(component)
        sample.__doc__ = draw.__doc__
    else:
        sample = implicit_sampler(draw, cdf, log_prob)

    def mean(params: Any) -> Array:
        """``sum_k w_k E[Z_k]``."""
        weights = jnp.exp(_log_weights(params, ndims))
        return jnp.sum(weights * component.mean(params.components), axis=-1)

    def variance(params: Any) -> Array:
        """``sum_k w_k (Var Z_k + E[Z_k]^2) - mean^2``, per coordinate."""
        weights = jnp.exp(_log_weights(params, ndims))
        means = component.mean(params.components)
        second = component.variance(params.components) + means**2
        return jnp.sum(weights * second, axis=-1) - mean(params) ** 2

    closed_forms = [cdf] if component.has("cdf") and not ndims else []
    if component.has("mean"):
        closed_forms += [mean, variance] if component.has("variance") else [mean]
    functions = (init, to_natural, log_prob, batch_shape, event_shape, *closed_forms)
    _MADE[component, event_ndims] = _bundle.family(
        name,
        params_type,
        *functions,
        sample=sample,
        reparameterized=reparameterized,
        natural_args=natural_args,
    )
    return _MADE[component, event_ndims]


#: The mixture of Normals, ``init(*, mixture_logits, loc, scale)``.
mixture_normal = mixture(_normal)

#: The mixture of diagonal Gaussians on ``R^D``: loc and scale of shape
#: ``batch_shape + (D, K)``.
mixture_independent_normal = mixture(_normal, event_ndims=1)
