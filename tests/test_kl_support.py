"""KL divergences between families whose support depends on a parameter.

``KL(p || q)`` is finite only when p's support lies inside q's; otherwise p puts
mass where q has none, and the divergence is ``+inf``. (The Monte Carlo checks of
the finite cases are in ``test_kl.py``, over ``KL_CASES``.)
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreparam as jr


@pytest.mark.parametrize(
    ("low_q", "high_q"),
    [
        (0.5, 3.0),  # overlaps, but misses [0, 0.5)
        (-1.0, 1.5),  # overlaps, but misses (1.5, 2]
        (0.5, 1.5),  # inside p
        (5.0, 6.0),  # disjoint
    ],
)
def test_uniform_kl_is_inf_unless_nested(low_q, high_q):
    p = jr.uniform.init(low=0.0, high=2.0)
    q = jr.uniform.init(low=low_q, high=high_q)
    assert jr.kl_divergence(p, q) == jnp.inf
    # The reverse is finite exactly when q lies inside p.
    inside = low_q >= 0.0 and high_q <= 2.0
    expected = np.log(2.0 / (high_q - low_q)) if inside else np.inf
    np.testing.assert_allclose(jr.kl_divergence(q, p), expected, rtol=1e-6)


def test_uniform_kl_batch_mixes_finite_and_inf():
    p = jr.uniform.init(low=jnp.array([0.0, 0.0]), high=jnp.array([1.0, 1.0]))
    q = jr.uniform.init(low=jnp.array([-1.0, 0.5]), high=jnp.array([3.0, 3.0]))
    kl = jr.kl_divergence(p, q)
    np.testing.assert_allclose(kl[0], np.log(4.0), rtol=1e-6)
    assert kl[1] == jnp.inf


def test_pareto_kl_is_inf_when_p_starts_below_q():
    p = jr.pareto.init(scale=1.0, concentration=3.0)
    q = jr.pareto.init(scale=1.2, concentration=3.0)
    assert jr.kl_divergence(p, q) == jnp.inf
    assert jnp.isfinite(jr.kl_divergence(q, p))


@pytest.mark.parametrize("family", ["uniform", "pareto"])
def test_invalid_params_under_jit_give_nan_not_inf(family):
    """A NaN parameter (an invalid value under jit) is NaN, never a plausible inf."""
    module = getattr(jr, family)
    # The first argument is the one that moves the support.
    natural = (
        {"low": 0.0, "high": 1.0}
        if family == "uniform"
        else {"scale": 1.0, "concentration": 2.0}
    )

    @jax.jit
    def kl(bad):
        q = module.init(**natural)
        first = next(iter(natural))
        p = module.init(**dict(natural, **{first: bad}))
        return jr.kl_divergence(p, q)

    assert jnp.isnan(kl(jnp.float32(jnp.nan)))


def test_nested_kl_gradients_are_finite():
    def kl(nat):
        p = jr.uniform.init(low=nat[0], high=nat[1])
        q = jr.uniform.init(low=-1.0, high=3.0)
        return jr.kl_divergence(p, q)

    grad = jax.grad(kl)(jnp.array([0.0, 2.0]))
    # d/d(low, high) of log 4 - log(high - low) is (1/2, -1/2).
    np.testing.assert_allclose(grad, [0.5, -0.5], rtol=1e-6)
