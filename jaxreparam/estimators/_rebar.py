"""REBAR and RELAX: score functions with a relaxed, reparameterized control variate.

For a discrete ``b ~ q(b | params)`` (Bernoulli or Categorical) write ``b = H(z)``
with ``z`` continuous and reparameterized: ``z = logits + logit(u)`` and
``b = 1[z > 0]`` for a Bernoulli, ``z = log_softmax(logits) + Gumbel`` and
``b = one_hot(argmax z)`` for a Categorical. Draw a second ``z~ ~ p(z | b)``
by the conditional reparameterization (Tucker et al. 2017, appendix), also a
differentiable function of the params given ``b``. For any differentiable
control variate ``c`` of the relaxed variable, the RELAX gradient (Grathwohl et
al. 2018, eq. 5)

    (f(b) - c(z~)) grad log q(b) + grad c(z) - grad c(z~)

is unbiased: ``E[c(z~) grad log q(b)] + E[grad c(z~)] = grad E[c(z)]``. REBAR
is the case ``c(z) = eta f(relaxation(z / temperature))`` with the Concrete
relaxation (a sigmoid or a softmax at that temperature).

:func:`relax` returns the surrogate (value ``mean_s f(b_s)``); ``c`` and its
params are passed explicitly, and :func:`relax_variance_loss` gives a loss
whose gradient with respect to the control variate's params is an unbiased
estimate of the gradient of the estimator's variance (``E g`` does not depend
on them), the objective RELAX minimises. REBAR's
``eta`` and ``temperature`` are tuned the same way, through :class:`RebarParams`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxreparam import _checks
from jaxreparam.base import Array, ArrayLike, Family
from jaxreparam.estimators import _common


class RebarParams(NamedTuple):
    """REBAR's control-variate params.

    Attributes:
        log_temperature: the log of the Concrete relaxation's temperature.
        eta: the scale of the relaxed ``f``.
        baseline: a constant added to the control variate: it has no gradient,
            so it acts as a baseline in the score term only (Tucker et al.
            use one too, as in NVIL).

    Examples:
        >>> control = jr.estimators.init_rebar(temperature=0.5, eta=1.0)
        >>> control._fields
        ('log_temperature', 'eta', 'baseline')
        >>> round(float(jnp.exp(control.log_temperature)), 3), float(control.eta)
        (0.5, 1.0)
    """

    log_temperature: Array
    eta: Array
    baseline: Array


def init_rebar(
    *, temperature: ArrayLike = 0.5, eta: ArrayLike = 1.0, baseline: ArrayLike = 0.0
) -> RebarParams:
    """:class:`RebarParams` from a positive temperature, ``eta`` and a baseline.

    Examples:
        >>> control = jr.estimators.init_rebar(temperature=0.5)
        >>> round(float(control.log_temperature), 3), float(control.eta)
        (-0.693, 1.0)
    """
    temperature = _checks.positive("init_rebar", "temperature", temperature)
    eta = _checks.real("init_rebar", "eta", eta)
    baseline = _checks.real("init_rebar", "baseline", baseline)
    return RebarParams(jnp.log(temperature), eta, baseline)


def _uniform(key: Array, shape: tuple[int, ...], dtype: Any) -> Array:
    """``U(0, 1)`` draws that are never exactly 0, so every logarithm is finite."""
    return jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny)


def _bernoulli_noise(key, logits, shape, dtype):
    """``(z, b, z~)`` in logit space; ``z~ ~ p(z | b)`` by inverting the CDF."""
    key_u, key_v = jax.random.split(key)
    u, v = _uniform(key_u, shape, dtype), _uniform(key_v, shape, dtype)
    z = logits + jnp.log(u) - jnp.log1p(-u)
    b = (z > 0).astype(dtype)
    p = jax.nn.sigmoid(logits)
    # Given b = 1, u is uniform on (1 - p, 1); given b = 0, on (0, 1 - p).
    one = jax.nn.softplus(logits) + jnp.log1p(-p * (1 - v)) - jnp.log1p(-v)
    zero = -jax.nn.softplus(-logits) + jnp.log(v) - jnp.log1p(-v * (1 - p))
    return z, b, jnp.where(b == 1, one, zero)


def _categorical_noise(key, logits, shape, dtype):
    """``(z, b, z~)`` with Gumbel-max; ``z~`` the Gumbels conditioned on argmax b."""
    key_u, key_v = jax.random.split(key)
    shape = shape + logits.shape[-1:]
    u, v = _uniform(key_u, shape, dtype), _uniform(key_v, shape, dtype)
    log_p = jax.nn.log_softmax(logits, axis=-1)
    z = log_p - jnp.log(-jnp.log(u))
    b = jax.nn.one_hot(jnp.argmax(z, axis=-1), shape[-1], dtype=dtype)
    # The maximum is a standard Gumbel independent of b; the others are Gumbels
    # of location log p_k truncated below it (Tucker et al. 2017, appendix C).
    log_v = jnp.log(v)
    top = -jnp.sum(b * log_v, axis=-1, keepdims=True)  # -log v_b
    others = -jnp.log(-log_v * jnp.exp(-log_p) + top)
    return z, b, jnp.where(b == 1, -jnp.log(top), others)


#: family name -> (noise, relaxation of z / temperature).
_DISCRETE = {
    "bernoulli": (_bernoulli_noise, jax.nn.sigmoid),
    "categorical": (_categorical_noise, lambda x: jax.nn.softmax(x, axis=-1)),
}


def _discrete(where: str, family: Family):
    if family.name not in _DISCRETE:
        raise ValueError(
            f"{where}: no relaxation for family {family.name!r}; supported: "
            f"{', '.join(sorted(_DISCRETE))}"
        )
    return _DISCRETE[family.name]


def rebar_control_variate(
    family: Family, f: Callable[[Array], ArrayLike]
) -> Callable[[RebarParams, Array], Array]:
    """REBAR's ``c(z) = eta f(relaxation(z / temperature)) + baseline``.

    For :func:`relax`; its params are a :class:`RebarParams`.

    Args:
        family: ``jr.bernoulli`` or ``jr.categorical``.
        f: maps one draw to a scalar; must also accept relaxed draws (values
            in ``(0, 1)``, or points of the simplex), and be differentiable.

    Returns:
        ``c(control_params, z)`` with ``control_params`` a :class:`RebarParams`
        and ``z`` one draw of the continuous variable (logit space).

    Examples:
        >>> f = lambda b: (b - 0.45) ** 2
        >>> c = jr.estimators.rebar_control_variate(jr.bernoulli, f)
        >>> control = jr.estimators.init_rebar(temperature=0.5)
        >>> round(float(c(control, 0.0)), 4)  # eta f(sigmoid(0)) + baseline
        0.0025
    """
    _, relaxation = _discrete("estimators.rebar_control_variate", family)

    def control_variate(control_params: RebarParams, z: Array) -> Array:
        temperature = jnp.exp(control_params.log_temperature)
        relaxed = control_params.eta * f(relaxation(z / temperature))
        return relaxed + control_params.baseline

    return control_variate


def relax(
    key: ArrayLike,
    params: Any,
    family: Family,
    f: Callable[[Array], ArrayLike],
    *,
    control_variate: Callable[[Any, Array], ArrayLike],
    control_params: Any,
    num_samples: int = 1,
) -> Array:
    """The RELAX estimator of ``E_q[f(b)]`` for a discrete ``q``, as a surrogate.

    The value is ``mean_s f(b_s)``; the gradient with respect to ``params`` is
    ``mean_s [(f(b_s) - c(z~_s)) grad log q(b_s) + grad c(z_s) - grad c(z~_s)]``
    (see the module docstring), unbiased for any ``c``. ``control_params`` get a
    zero gradient from the surrogate, but the params' gradient is
    differentiable in them: fit them with :func:`relax_variance_loss`.

    Args:
        key: a PRNG key.
        params: ``BernoulliParams`` or ``CategoricalParams``; the gradient is
            taken with respect to them.
        family: ``jr.bernoulli`` or ``jr.categorical``.
        f: maps one discrete draw (zeros and ones, or one-hot rows) of shape
            ``batch_shape + event_shape`` to a scalar; need not be
            differentiable.
        control_variate: ``c(control_params, z)``, mapping one draw of the
            continuous variable (logits plus logistic or Gumbel noise, same
            shape as a draw) to a scalar; differentiable in both arguments.
        control_params: the pytree of ``c``'s params.
        num_samples: the number of draws averaged, a positive Python int.

    Returns:
        A scalar whose value is the Monte Carlo estimate and whose gradient is
        the RELAX estimate.

    Raises:
        ValueError: ``family`` is neither Bernoulli nor Categorical,
            ``num_samples < 1``, or ``f`` or ``c`` does not return a scalar.

    Examples:
        >>> f = lambda b: (b - 0.45) ** 2
        >>> c = jr.estimators.rebar_control_variate(jr.bernoulli, f)  # or any c
        >>> params = jr.bernoulli.init(logits=jnp.log(0.3 / 0.7))  # p = 0.3
        >>> g = jax.grad(jr.estimators.relax, argnums=1)(
        ...     jax.random.key(0), params, jr.bernoulli, f, control_variate=c,
        ...     control_params=jr.estimators.init_rebar(), num_samples=1000)
        >>> bool(abs(g.logits - 0.3 * 0.7 * 0.1) < 0.005)  # p (1 - p) (1 - 2 t)
        True

    References:
        Grathwohl, Choi, Wu, Roeder and Duvenaud, "Backpropagation through the
        void: optimizing control variates for black-box gradient estimation",
        ICLR 2018.
    """
    where = "estimators.relax"
    num_samples = _common.check_num_samples(where, num_samples)
    noise, _ = _discrete(where, family)
    logits = params.logits
    shape = (num_samples,) + tuple(family.batch_shape(params))
    key = _checks.check_key(key)
    z, b, z_tilde = noise(key, logits, shape, jnp.result_type(logits))
    b = jax.lax.stop_gradient(b)
    values = _common.evaluate(where, f, b)
    log_q = _common.draw_log_prob(family, params, b)

    def c(z: Array) -> Array:
        return _common.evaluate(where, lambda x: control_variate(control_params, x), z)

    weights = values - c(jax.lax.stop_gradient(z_tilde))
    correction = _common.zero_with_gradient(c, z)
    correction = correction - _common.zero_with_gradient(c, z_tilde)
    return jnp.mean(values + _common.score_term(weights, log_q) + correction)


def rebar(
    key: ArrayLike,
    params: Any,
    family: Family,
    f: Callable[[Array], ArrayLike],
    *,
    num_samples: int = 1,
    temperature: ArrayLike = 0.5,
    eta: ArrayLike = 1.0,
    baseline: ArrayLike = 0.0,
) -> Array:
    """The REBAR estimator: :func:`relax` with the Concrete control variate.

    ``c(z) = eta f(relaxation(z / temperature)) + baseline``, so ``f`` must
    accept relaxed draws and be differentiable there. The options may be traced
    values; to tune them by minimising the variance, call :func:`relax` with
    :func:`rebar_control_variate` and :class:`RebarParams` (see
    :func:`relax_variance_loss`). Without a baseline the score term carries the
    mean gap between ``f`` and its relaxation, which grows with the number of
    variables: set ``baseline`` near ``E[f(b)] - eta E[f(relaxed)]``.

    Args:
        key: a PRNG key.
        params: ``BernoulliParams`` or ``CategoricalParams``.
        family: ``jr.bernoulli`` or ``jr.categorical``.
        f: maps one draw to a scalar, differentiable on the relaxed draws.
        num_samples: the number of draws averaged, a positive Python int.
        temperature: the Concrete relaxation's temperature, positive.
        eta: the control variate's scale.
        baseline: a constant subtracted in the score term.

    Returns:
        A scalar whose value is ``mean_s f(b_s)`` and whose gradient is the
        REBAR estimate.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> params = jr.bernoulli.init(logits=jnp.log(0.3 / 0.7))  # p = 0.3
        >>> f = lambda b: (b - 0.45) ** 2
        >>> grad = jax.jit(jax.grad(lambda key, params: jr.estimators.rebar(
        ...     key, params, jr.bernoulli, f, num_samples=1000), argnums=1))
        >>> g = grad(jax.random.key(0), params)
        >>> bool(abs(g.logits - 0.3 * 0.7 * 0.1) < 0.005)  # p (1 - p) (1 - 2 t)
        True

    References:
        Tucker, Mnih, Maddison, Lawson and Sohl-Dickstein, "REBAR: low-variance,
        unbiased gradient estimates for discrete latent variable models",
        NeurIPS 2017.
    """
    control_params = init_rebar(temperature=temperature, eta=eta, baseline=baseline)
    return relax(
        key,
        params,
        family,
        f,
        control_variate=rebar_control_variate(family, f),
        control_params=control_params,
        num_samples=num_samples,
    )


def relax_variance_loss(
    key: ArrayLike,
    params: Any,
    control_params: Any,
    family: Family,
    f: Callable[[Array], ArrayLike],
    *,
    control_variate: Callable[[Any, Array], ArrayLike],
    num_samples: int = 1,
) -> tuple[Array, Any]:
    """A loss whose gradient in the control variate's params is that of the variance.

    With one draw the loss is ``sum(g^2)``, ``g`` the single-draw RELAX
    gradient (Grathwohl et al.): since ``E[g]`` does not depend on
    ``control_params``, its gradient with respect to them is an unbiased
    estimate of the gradient of ``tr Cov(g)``. With ``S = num_samples >= 2``
    draws (independent keys split from ``key``) the loss is the unbiased sample
    variance ``sum_i var_s(g_s)_i`` of the single-draw gradients: the same
    expected gradient, without the noise that ``E[g]`` multiplies in
    ``2 g dg/dphi``, and so a much steadier signal near the optimum.

    Args:
        key: a PRNG key.
        params: the discrete family's params.
        control_params: ``c``'s params; differentiate with respect to them
            (``argnums=2``).
        family: ``jr.bernoulli`` or ``jr.categorical``.
        f: maps one discrete draw to a scalar.
        control_variate: ``c(control_params, z)``, as for :func:`relax`.
        num_samples: the number of single-draw gradients, a positive int.

    Returns:
        ``(loss, g)`` with ``g`` the mean of the single-draw gradients, an
        estimate of the params' gradient from the same draws:
        ``jax.grad(relax_variance_loss, argnums=2, has_aux=True)`` gives both
        halves of one RELAX step.

    Examples:
        >>> import jax, jaxreparam as jr
        >>> f = lambda b: (b - 0.45) ** 2
        >>> cv = jr.estimators.rebar_control_variate(jr.bernoulli, f)
        >>> step = jax.jit(jax.grad(
        ...     lambda key, params, control: jr.estimators.relax_variance_loss(
        ...         key, params, control, jr.bernoulli, f, num_samples=8,
        ...         control_variate=cv),
        ...     argnums=2, has_aux=True))
        >>> d_control, g = step(
        ...     jax.random.key(0), jr.bernoulli.init(), jr.estimators.init_rebar())
        >>> d_control.eta.shape, g.logits.shape
        ((), ())
    """
    num_samples = _common.check_num_samples(
        "estimators.relax_variance_loss", num_samples
    )

    def single(key: Array) -> Any:
        return jax.grad(
            lambda params: relax(
                key,
                params,
                family,
                f,
                control_variate=control_variate,
                control_params=control_params,
            )
        )(params)

    key = _checks.check_key(key)
    if num_samples == 1:
        grads = single(key)
        squares = [jnp.sum(g**2) for g in jax.tree.leaves(grads)]
        return jnp.sum(jnp.stack(squares)), grads
    draws = jax.vmap(single)(jax.random.split(key, num_samples))
    variances = [jnp.sum(jnp.var(g, axis=0, ddof=1)) for g in jax.tree.leaves(draws)]
    return jnp.sum(jnp.stack(variances)), jax.tree.map(lambda g: g.mean(0), draws)
