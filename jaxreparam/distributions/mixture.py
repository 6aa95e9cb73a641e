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

:func:`make` builds the family of mixtures of any univariate family; ``normal`` is
the ready mixture of Normals. Params are ``(mixture_logits, components)``: the
logits have shape ``batch_shape + (K,)`` and the component params broadcast to it,
their trailing axis indexing the components.

Honest metadata: the mixture is ``reparameterized`` only if its component family is
and has a ``cdf``. Otherwise its sample still draws exactly but its gradient flows
only through the chosen component's own sample, never into the weights (what peers
return silently for every mixture); ``estimators.pathwise`` then refuses it.

Multivariate components (a non-empty event shape) are refused with a ``ValueError``:
their mixture has no single CDF to invert. Score-function gradients
(``estimators.score_function``) work for them; for independent coordinates, a batch
of univariate mixtures is the exact reparameterized alternative.

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
from jaxreparam.base import Array, Family, register_family
from jaxreparam.distributions import _common
from jaxreparam.distributions import normal as _normal
from jaxreparam.implicit import implicit_sampler

__all__ = ["MixtureParams", "families", "make", "normal"]


class MixtureParams(NamedTuple):
    """Params of a mixture: ``mixture_logits`` and the component params.

    :func:`make` gives each component family its own subclass (``NormalMixtureParams``
    for ``normal``), so that ``family_of`` tells mixtures of different families apart.
    """

    mixture_logits: Array
    components: Any


_MADE: dict[Family, Family] = {}


def make(component: Family) -> Family:
    """The family of finite mixtures of ``component``, a univariate family.

    Args:
        component: the components' family bundle (one family for every component);
            its event shape must be ``()``.

    Returns:
        A registered ``Family`` named ``"mixture_" + component.name``. Its
        ``init(*, mixture_logits, **component_natural)`` takes the logits (shape
        ``batch_shape + (K,)``; a scalar is one component) and the component's
        natural values with the component axis last. ``sample`` is pathwise
        differentiable in every param when ``component`` is reparameterized and
        has a ``cdf``; ``reparameterized`` says whether it is. The same
        ``component`` gives the same family.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> mix = jr.mixture.make(jr.normal.family)
        >>> mix is jr.mixture_normal
        True
        >>> params = mix.init(mixture_logits=[0.0, 1.0], loc=[-2.0, 2.0], scale=1.0)
        >>> g = jax.grad(lambda p: mix.sample(jax.random.key(0), p))(params)
        >>> bool(g.mixture_logits[1] != 0)  # the weights get a gradient
        True
    """
    if component in _MADE:
        return _MADE[component]
    name = "mixture_" + component.name
    title = "".join(part.capitalize() for part in component.name.split("_"))
    params_type = type(f"{title}MixtureParams", (MixtureParams,), {"__slots__": ()})
    params_type.__doc__ = f"Params of a mixture of {component.name} components."

    def check_univariate(where: str, components: Any) -> None:
        event = tuple(component.event_shape(components))
        if event:
            raise ValueError(
                f"{where}: component family {component.name!r} has event shape "
                f"{event}; mixtures need univariate components (event shape ()): a "
                "multivariate mixture has no single CDF to differentiate through"
            )

    def shapes(params: Any) -> tuple[int, ...]:
        """``batch_shape + (K,)``."""
        check_univariate(name, params.components)
        return _checks.broadcast_shapes(
            name,
            mixture_logits=jnp.shape(params.mixture_logits),
            components=tuple(component.batch_shape(params.components)),
        )

    def batch_shape(params: Any) -> tuple[int, ...]:
        return shapes(params)[:-1]

    def init(*, mixture_logits: Any, **component_natural: Any) -> Any:
        where = f"{name}.init"
        logits = jnp.atleast_1d(_checks.real(where, "mixture_logits", mixture_logits))
        components = component.init(**component_natural)
        check_univariate(where, components)
        _checks.broadcast_shapes(
            where,
            mixture_logits=logits.shape,
            components=tuple(component.batch_shape(components)),
        )
        dtype = jnp.result_type(logits, *jax.tree.leaves(components))
        cast = lambda x: jnp.asarray(x, dtype)
        return params_type(cast(logits), jax.tree.map(cast, components))

    init.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("mixture_logits", inspect.Parameter.KEYWORD_ONLY)]
        + list(inspect.signature(component.init).parameters.values())
    )
    init.__doc__ = (
        f"Params of a mixture of {component.name} components from natural values.\n\n"
        "Args:\n"
        "    mixture_logits: unnormalized log weights, shape batch_shape + (K,).\n"
        f"    **component_natural: the arguments of {component.name}.init, each\n"
        "        broadcasting to batch_shape + (K,).\n\n"
        "Returns:\n    The params.\n"
    )

    def to_natural(params: Any) -> dict[str, Array]:
        natural = component.to_natural(params.components)
        return {"mixture_logits": params.mixture_logits, **natural}

    def _log_weights(params: Any) -> Array:
        return jax.nn.log_softmax(params.mixture_logits, axis=-1)

    def log_prob(params: Any, z: Any) -> Array:
        """``log sum_k w_k p(z; theta_k)``, of the broadcast of ``z`` and batch."""
        z = jnp.asarray(z)[..., None]
        terms = _log_weights(params) + component.log_prob(params.components, z)
        return jax.nn.logsumexp(terms, axis=-1)

    def cdf(params: Any, z: Any) -> Array:
        """``sum_k w_k P(Z_k <= z)``."""
        weights = jax.nn.softmax(params.mixture_logits, axis=-1)
        z = jnp.asarray(z)[..., None]
        return jnp.sum(weights * component.cdf(params.components, z), axis=-1)

    def draw(key: Any, params: Any, sample_shape: Any = ()) -> Array:
        """Draws ``k ~ Categorical(w)``, then ``z ~ p(.; theta_k)``.

        Returns an array of shape ``sample_shape + batch_shape``; its derivative is
        the implicit one when the family is reparameterized.
        """
        full = shapes(params)
        leaves = jax.tree.leaves(params)
        key, shape, _ = _common.prepare(key, leaves, sample_shape, full[:-1])
        key_index, key_component = jax.random.split(key)
        logits = jnp.broadcast_to(params.mixture_logits, full)
        index = jax.random.categorical(key_index, logits, shape=shape)
        sample_shape = shape[: len(shape) - len(full) + 1]
        draws = component.sample(key_component, params.components, sample_shape)
        draws = jnp.broadcast_to(draws, shape + full[-1:])
        z = jnp.take_along_axis(draws, index[..., None], axis=-1)[..., 0]
        # A NaN logit (an invalid value under jit) must not pick a plausible draw.
        return jnp.where(jnp.isnan(logits).any(-1), jnp.nan, z)

    reparameterized = component.reparameterized and component.has("cdf")
    sample = implicit_sampler(draw, cdf, log_prob) if reparameterized else draw

    def sample_and_log_prob(key: Any, params: Any, sample_shape: Any = ()) -> Any:
        """``sample`` and its ``log_prob``."""
        z = sample(key, params, sample_shape)
        return z, log_prob(params, z)

    def mean(params: Any) -> Array:
        """``sum_k w_k E[Z_k]``."""
        weights = jax.nn.softmax(params.mixture_logits, axis=-1)
        return jnp.sum(weights * component.mean(params.components), axis=-1)

    def variance(params: Any) -> Array:
        """``sum_k w_k (Var Z_k + E[Z_k]^2) - (sum_k w_k E[Z_k])^2``."""
        weights = jax.nn.softmax(params.mixture_logits, axis=-1)
        means = component.mean(params.components)
        second = component.variance(params.components) + means**2
        return jnp.sum(weights * second, axis=-1) - mean(params) ** 2

    optional: dict[str, Any] = {"cdf": cdf} if component.has("cdf") else {}
    if component.has("mean"):
        optional["mean"] = mean
        if component.has("variance"):
            optional["variance"] = variance
    family = Family(
        name=name,
        params_type=params_type,
        init=init,
        sample=sample,
        log_prob=log_prob,
        sample_and_log_prob=sample_and_log_prob,
        to_natural=to_natural,
        batch_shape=batch_shape,
        event_shape=_common.scalar_event_shape,
        reparameterized=reparameterized,
        **optional,
    )
    _MADE[component] = register_family(family)
    return family


#: The mixture of Normals, ``init(*, mixture_logits, loc, scale)``.
normal = make(_normal.family)

#: The mixtures registered in ``jaxreparam.distributions.FAMILIES``.
families = (normal,)
