"""Tests of jaxreparam.flows: every builder's family as a family, and flows in vi.

Statistical tolerances are 5 standard errors of the quantity compared, with
fixed keys (a false-positive rate below 1e-6 per comparison under normality).
"""

import functools
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import jaxreparam as jr
from jaxreparam import flows, vi
from jaxreparam.bijectors import TransformedParams

DIM = 3
SMALL = {"num_layers": 2, "hidden_sizes": (8,)}
BUILDERS = {
    "planar_flow": functools.partial(flows.planar_flow, num_layers=3),
    "radial_flow": functools.partial(flows.radial_flow, num_layers=3),
    "real_nvp": functools.partial(flows.real_nvp, **SMALL),
    "maf": functools.partial(flows.maf, **SMALL),
    "iaf": functools.partial(flows.iaf, **SMALL),
    "nsf_coupling": functools.partial(flows.neural_spline_flow, **SMALL, num_bins=4),
    "nsf_autoregressive": functools.partial(
        flows.neural_spline_flow, **SMALL, num_bins=4, kind="autoregressive"
    ),
}
UNBUILT = {
    "planar_flow": flows.planar_flow,
    "radial_flow": flows.radial_flow,
    "real_nvp": flows.real_nvp,
    "maf": flows.maf,
    "iaf": flows.iaf,
    "neural_spline_flow": flows.neural_spline_flow,
}


def _cases(*fast):
    """Every builder's name; those not in ``fast`` run in the slow run only."""
    slow = pytest.mark.slow
    return [pytest.param(n, marks=() if n in fast else slow) for n in BUILDERS]


def _perturbed(key, params, size=0.3):
    """``params`` with every layer param moved by normal noise of sd ``size``.

    Coupling and autoregressive layers start at the identity; the noise makes
    every layer (and the base) a real map, so the checks below could fail.
    """
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    moved = [
        leaf + size * jax.random.normal(k, jnp.shape(leaf), jnp.result_type(leaf))
        for leaf, k in zip(leaves, keys, strict=True)
    ]
    return jax.tree.unflatten(tree, moved)


def _gaussian_log_target(z):
    """A correlated Gaussian on R^DIM, the target of the reverse-KL fits."""
    loc = jnp.arange(DIM, dtype=z.dtype) * 0.5
    d = z - loc
    return -0.5 * jnp.sum(d**2) - 0.4 * d[0] * d[-1]


def _eqns(jaxpr):
    """Equations of a jaxpr, counting those of every sub-jaxpr (scan bodies...)."""
    total = 0
    for eqn in jaxpr.eqns:
        total += 1
        for value in eqn.params.values():
            for sub in value if isinstance(value, tuple | list) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    total += _eqns(inner)
    return total


# --------------------------------------------------------------------------- #
# The family: shapes, densities, depth.


@pytest.mark.parametrize("name", _cases("iaf"))
def test_sample_and_log_prob_is_log_prob_of_the_sample_in_float64(name):
    """One pass each way (MAF: sequential sampling; IAF: sequential density)."""
    with jax.enable_x64(True):
        params, family = BUILDERS[name](jax.random.key(0), DIM)
        params = _perturbed(jax.random.key(1), params)

        @jax.jit
        def both(key, params):
            z, log_q = family.sample_and_log_prob(key, params, (7,))
            return z, log_q, family.log_prob(params, z)

        z, log_q, log_prob = both(jax.random.key(2), params)
        assert z.shape == (7, DIM)
        assert z.dtype == jnp.float64
        assert log_q.shape == (7,)
        np.testing.assert_allclose(log_prob, log_q, rtol=1e-9, atol=1e-9)
        # Not the base's density: the layers moved the draws.
        x = params.base
        base_log_q = jr.multivariate_normal_diag.log_prob(x, z)
        assert np.max(np.abs(np.asarray(base_log_q - log_q))) > 1e-3
        assert family.event_shape(params) == (DIM,)
        assert family.batch_shape(params) == ()


@pytest.mark.parametrize("name", _cases("maf"))
def test_the_layers_are_stacked_and_the_program_is_flat_in_depth(name):
    """repeat's scan: the jaxpr of 2 and of 7 layers has the same equations."""
    z = jnp.zeros((4, DIM))
    sizes = {}
    for num_layers in (2, 7):
        params, family = BUILDERS[name](jax.random.key(0), DIM, num_layers=num_layers)
        for leaf in jax.tree.leaves(params.bijector):
            assert leaf.shape[0] == num_layers
        sampled = jax.make_jaxpr(
            lambda p, f=family: f.sample_and_log_prob(jax.random.key(1), p, (4,))
        )(params)
        density = jax.make_jaxpr(family.log_prob)(params, z)
        sizes[num_layers] = (_eqns(sampled.jaxpr), _eqns(density.jaxpr))
    assert sizes[2] == sizes[7]


@pytest.mark.parametrize("name", _cases())
def test_estimators_objectives_and_gradients(name):
    """Pathwise, the ELBO (standard, STL) and IWAE with DReG: finite gradients."""
    params, family = BUILDERS[name](jax.random.key(0), DIM)
    params = _perturbed(jax.random.key(1), params, 0.1)
    objectives = {
        "pathwise": lambda k, p: jr.estimators.pathwise(
            k, p, family, _gaussian_log_target, num_samples=4
        ),
        "elbo": lambda k, p: jr.objectives.elbo(
            k, p, family, _gaussian_log_target, num_samples=4
        ),
        "elbo_stl": lambda k, p: jr.objectives.elbo(
            k, p, family, _gaussian_log_target, num_samples=4, gradient="stl"
        ),
        "iwae_dreg": lambda k, p: jr.objectives.iwae(
            k, p, family, _gaussian_log_target, num_samples=4, gradient="dreg"
        ),
    }
    keys = jax.random.split(jax.random.key(2), len(objectives))

    @jax.jit
    def all_of_them(keys, params):
        return {
            what: jax.value_and_grad(objective, argnums=1)(key, params)
            for (what, objective), key in zip(objectives.items(), keys, strict=True)
        }

    for what, (value, grads) in all_of_them(keys, params).items():
        assert np.isfinite(value), what
        leaves = jax.tree.leaves(grads)
        assert all(np.all(np.isfinite(leaf)) for leaf in leaves), what
        # The layers get a gradient, not only the base.
        layer_norm = sum(float(jnp.sum(g**2)) for g in jax.tree.leaves(grads.bijector))
        assert layer_norm > 0, what


def _log_weights(family, params, log_target, key, num=4000):
    z, log_q = family.sample_and_log_prob(key, params, (num,))
    return np.asarray(jax.vmap(log_target)(z) - log_q)


@pytest.mark.parametrize("name", _cases())
def test_fit_by_the_reverse_kl_raises_the_elbo(name):
    """The ELBO after 200 steps beats the start's by 5 SE (paired draws)."""
    params, family = BUILDERS[name](jax.random.key(0), DIM)
    loss = jr.objectives.make_elbo_loss(family, _gaussian_log_target, num_samples=8)
    result = jr.fit(
        jax.random.key(1), params, loss=loss, optimizer=optax.adam(0.02),
        num_steps=200, progress=False,
    )  # fmt: skip
    start, end = (
        _log_weights(family, p, _gaussian_log_target, jax.random.key(2))
        for p in (params, result.params)
    )
    gain = end - start
    error = gain.std(ddof=1) / math.sqrt(len(gain))
    assert gain.mean() > 5 * error, (start.mean(), end.mean(), error)


# --------------------------------------------------------------------------- #
# The sharded fit: a mesh of 4 CPU devices, in a fresh process.

SHARDED = textwrap.dedent(
    """
    import functools, json
    import jax, jax.numpy as jnp, numpy as np, optax
    from jax.sharding import Mesh
    import jaxreparam as jr

    def target(z):
        return -0.5 * jnp.sum((z - 1.0) ** 2)

    report = {"devices": jax.device_count()}
    small = {"num_layers": 2, "hidden_sizes": (8,)}
    builders = {
        "planar_flow": functools.partial(jr.flows.planar_flow, num_layers=2),
        "radial_flow": functools.partial(jr.flows.radial_flow, num_layers=2),
        "real_nvp": functools.partial(jr.flows.real_nvp, **small),
        "maf": functools.partial(jr.flows.maf, **small),
        "iaf": functools.partial(jr.flows.iaf, **small),
        "neural_spline_flow": functools.partial(
            jr.flows.neural_spline_flow, **small, num_bins=4),
    }
    mesh = Mesh(np.array(jax.devices()), ("data",))
    for name, builder in builders.items():
        params, family = builder(jax.random.key(0), 2)
        loss = jr.objectives.make_elbo_loss(family, target, num_samples=8)
        fits = [
            jr.fit(jax.random.key(1), params, loss=loss, optimizer=optax.adam(0.01),
                   num_steps=30, progress=False, mesh=where)
            for where in (None, mesh)
        ]
        pairs = zip(jax.tree.leaves(fits[0].params), jax.tree.leaves(fits[1].params))
        report[name] = {
            "max_abs_params": max(float(np.max(np.abs(a - b))) for a, b in pairs),
            "sharded_devices": len(
                jax.tree.leaves(fits[1].params)[0].sharding.device_set),
            "moved": float(
                np.max(np.abs(fits[1].params.base.loc - params.base.loc))),
        }
    print(json.dumps(report))
    """
)


@pytest.mark.slow
def test_the_sharded_fit_of_every_builder_equals_the_single_device_fit():
    """Draws split over 4 devices: the same fit up to float32 summation order."""
    import json

    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    env["OPENBLAS_NUM_THREADS"] = "1"
    root = str(Path(__file__).parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["devices"] == 4
    for name in UNBUILT:
        entry = report[name]
        assert entry["sharded_devices"] == 4, name
        assert entry["moved"] > 1e-3, name  # the fit did something
        # 30 adam steps of size <= 0.01, gradients differing by rounding only.
        assert entry["max_abs_params"] < 1e-4, (name, entry)


# --------------------------------------------------------------------------- #
# Conditional flows.


def test_the_context_reaches_every_layer_through_the_permutations():
    """A conditional RealNVP: the density depends on the context; draws invert."""
    params, family = flows.real_nvp(
        jax.random.key(0), 2, num_layers=2, hidden_sizes=(4,), context_size=1
    )
    params = _perturbed(jax.random.key(1), params)

    @jax.jit
    def densities(key, params):
        at = lambda c: params._replace(context=jnp.full((5, 1), c))
        z, log_q = family.sample_and_log_prob(key, at(0.5), (5,))
        return log_q, family.log_prob(at(0.5), z), family.log_prob(at(-0.5), z)

    log_q, same, other = densities(jax.random.key(2), params)
    np.testing.assert_allclose(same, log_q, rtol=1e-5, atol=1e-5)
    assert np.max(np.abs(np.asarray(other - log_q))) > 1e-3
    unconditional = jr.bijectors.chain(jr.bijectors.reverse)
    with pytest.raises(ValueError, match="reverse is not conditional"):
        unconditional.forward(((),), jnp.zeros(2), context=jnp.ones(1))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["real_nvp", "maf"])
def test_a_conditional_flow_learns_a_conditional_density(name):
    """y | c ~ N(c (1, -1), 0.1^2 I): the fitted test NLL is the exact one.

    The exact NLL of the test set is ``mean_i -log p(y_i | c_i)``; the fitted
    flow's test NLL must be within 5 standard errors of it (the standard
    error of the fitted NLL's mean over the test points).
    """
    sd = 0.1

    def draw(key, n):
        k1, k2 = jax.random.split(key)
        c = jax.random.uniform(k1, (n, 1), minval=-1.0, maxval=1.0)
        y = c * jnp.array([1.0, -1.0]) + sd * jax.random.normal(k2, (n, 2))
        return {"c": c, "y": y}

    train, test = draw(jax.random.key(0), 4000), draw(jax.random.key(1), 2000)
    params, family = BUILDERS[name](
        jax.random.key(2), 2, num_layers=3, hidden_sizes=(32, 32), context_size=1
    )

    def nll(params, batch):
        return -family.log_prob(params._replace(context=batch["c"]), batch["y"])

    loss = lambda key, params, batch: jnp.mean(nll(params, batch))
    result = jr.fit(
        jax.random.key(3), params, train, loss=loss, optimizer=optax.adam(3e-3),
        num_steps=3000, batch_size=256, progress=False,
    )  # fmt: skip
    fitted = np.asarray(nll(result.params, test))
    exact = -np.sum(
        -0.5 * ((test["y"] - test["c"] * jnp.array([1.0, -1.0])) / sd) ** 2
        - math.log(sd) - 0.5 * math.log(2 * math.pi), axis=-1,
    )  # fmt: skip
    error = fitted.std(ddof=1) / math.sqrt(len(fitted))
    assert abs(fitted.mean() - exact.mean()) < 5 * error, (
        fitted.mean(), exact.mean(), error,
    )  # fmt: skip
    # The context matters: without it (context 0 everywhere) the NLL is far worse.
    blind = np.asarray(nll(result.params, {**test, "c": jnp.zeros_like(test["c"])}))
    assert blind.mean() > fitted.mean() + 1.0


@pytest.mark.slow
def test_an_amortized_flow_encoder_works_with_make_amortized_loss():
    """q(z | x) = an IAF whose context is h(x); the model z ~ N(0, I), x ~ N(z, I)."""
    flow_params, family = flows.iaf(
        jax.random.key(0), 2, num_layers=2, hidden_sizes=(8,), context_size=4
    )
    encoder_weight = 0.1 * jax.random.normal(jax.random.key(1), (2, 4))
    # Moved off the identity (whose zero last layers ignore the context).
    flow_params = _perturbed(jax.random.key(5), flow_params, 0.1)
    params = {"flow": flow_params, "h": encoder_weight}

    def encoder(params, x):
        return TransformedParams(
            params["flow"].base,
            params["flow"].bijector,
            context=jnp.tanh(x @ params["h"]),
        )

    def log_joint(params, x, z):
        del params
        return -0.5 * jnp.sum(z**2) - 0.5 * jnp.sum((x - z) ** 2)

    loss = jr.objectives.make_amortized_loss(
        jr.objectives.elbo, family, encoder, log_joint, num_samples=4
    )
    data = 2.0 * jax.random.normal(jax.random.key(2), (64, 2))
    grads = jax.grad(loss, argnums=1)(jax.random.key(3), params, data)
    assert np.all(np.isfinite(np.asarray(grads["h"])))
    assert float(jnp.max(jnp.abs(grads["h"]))) > 0  # the encoder is trained
    result = jr.fit(
        jax.random.key(4), params, data, loss=loss, optimizer=optax.adam(0.01),
        num_steps=150, progress=False,
    )  # fmt: skip
    history = result.history["loss"]
    first, last = history[:15], history[-15:]
    error = math.sqrt(first.var(ddof=1) / 15 + last.var(ddof=1) / 15)
    assert first.mean() - last.mean() > 5 * error


# --------------------------------------------------------------------------- #
# Flow posteriors in vi.


def _banana(z):
    """z1 ~ N(0, 1), z2 | z1 ~ N(z1^2 - 1, 0.5^2): log Z = log(pi)."""
    z1, z2 = z[..., 0], z[..., 1]
    return -0.5 * z1**2 - 0.5 * ((z2 - (z1**2 - 1.0)) / 0.5) ** 2


def _elbo_and_error(guide, params, key, num=20000):
    """The ELBO over ``num`` draws, and its standard error."""
    z, log_q = guide.sample_and_log_prob(key, params, (num,))
    log_w = np.asarray(jax.vmap(_banana)(z) - log_q)
    return log_w.mean(), log_w.std(ddof=1) / math.sqrt(num)


@pytest.mark.slow
def test_an_iaf_posterior_beats_gaussian_ones_on_a_banana():
    """Same budget, keys and optimizer: the IAF's ELBO is the highest, by 5 SE."""
    common = {
        "log_target": _banana, "optimizer": optax.adam(5e-3), "num_steps": 3000,
        "num_samples": 16, "init_scale": 1.0, "progress": False,
    }  # fmt: skip
    iaf = functools.partial(flows.iaf, num_layers=4, hidden_sizes=(32, 32))
    values = {}
    for kind, extra in (
        ("mean_field", {}), ("full_rank", {}), ("flow", {"flow": iaf}),
    ):  # fmt: skip
        guide, result = vi.fit(
            jax.random.key(0), jnp.zeros(2), kind=kind, **extra, **common
        )
        values[kind] = _elbo_and_error(guide, result.params, jax.random.key(1))
    flow, flow_error = values["flow"]
    assert flow <= math.log(math.pi) + 5 * flow_error  # a lower bound on log Z
    for kind in ("mean_field", "full_rank"):
        value, error = values[kind]
        assert flow - value > 5 * math.hypot(flow_error, error), values
    assert math.log(math.pi) - flow < 0.1, values  # and close to log Z (0.04)


@pytest.mark.slow
def test_stl_and_dreg_gradients_of_a_flow_posterior_are_unbiased():
    """Mean over many keys of (STL - standard) and (DReG - standard): zero.

    Both estimators use the same keys, so the paired differences have a
    small spread; their mean must be within 5 standard errors of 0, for
    every coordinate of the gradient.
    """
    params, guide = vi.make_guide(
        jnp.zeros(2), kind="flow", key=jax.random.key(0),
        flow=functools.partial(flows.iaf, num_layers=2, hidden_sizes=(8,)),
    )  # fmt: skip
    params = _perturbed(jax.random.key(1), params, 0.2)
    # The same keys for every estimator (paired draws), as raw key data.
    keys = jax.random.key_data(jax.random.split(jax.random.key(2), 4000))

    def gradients(loss):
        def flat(data):
            key = jax.random.wrap_key_data(data)
            return ravel_pytree(jax.grad(loss, argnums=1)(key, params))[0]

        return np.asarray(jax.jit(jax.vmap(flat))(keys))

    elbo = functools.partial(vi.make_elbo_loss, guide, _banana, num_samples=2)
    standard = gradients(elbo(gradient="standard"))
    stl = gradients(elbo(gradient="stl"))
    flow, flow_params = guide.base, params.base

    def iwae(gradient):
        return lambda key, p: (
            -jr.objectives.iwae(
                key, p.base, flow, _banana, num_samples=4, gradient=gradient
            )
        )

    iwae_standard, dreg = gradients(iwae("standard")), gradients(iwae("dreg"))
    del flow_params
    for what, a, b in (("stl", stl, standard), ("dreg", dreg, iwae_standard)):
        difference = a - b
        mean = difference.mean(0)
        error = difference.std(0, ddof=1) / math.sqrt(len(keys))
        z = np.abs(mean) / np.maximum(error, 1e-12)
        assert np.all(z < 5), (what, np.round(z, 2))
        # The estimators do differ draw by draw (the test could fail).
        assert np.max(np.abs(difference)) > 1e-3, what


def test_flow_guides_refuse_bad_settings():
    with pytest.raises(ValueError, match="kind='flow' needs a flow and a key"):
        vi.make_guide(jnp.zeros(2), kind="flow", flow=flows.iaf)
    with pytest.raises(ValueError, match="flow=... is for kind='flow'"):
        vi.make_guide(jnp.zeros(2), flow=flows.iaf, key=jax.random.key(0))
    with pytest.raises(TypeError, match="flow must be a jaxreparam.flows builder"):
        vi.make_guide(jnp.zeros(2), kind="flow", flow=3, key=jax.random.key(0))
    with pytest.raises(TypeError, match="event_ndims 1"):
        vi.make_guide(
            jnp.zeros(2), kind="flow", flow=jr.bijectors.exp, key=jax.random.key(0)
        )
    # Any bijector on vectors is a flow too; its params come from flow.init(key).
    layer = jr.bijectors.affine_coupling(2, hidden_sizes=(4,))
    params, guide = vi.make_guide(
        jnp.array([1.0, 2.0]), kind="flow", flow=layer, key=jax.random.key(1)
    )
    assert guide.base.name == "transformed(multivariate_normal_diag, affine_coupling)"
    assert jax.tree.structure(params.base.bijector) == jax.tree.structure(
        layer.init(jax.random.key(2))
    )
    np.testing.assert_allclose(guide.median(params), [1.0, 2.0])


def test_a_flow_guide_over_constrained_latents(key):
    """A positive and a real latent; the flow starts as the mean-field guide."""
    example = {"rate": 2.0, "w": jnp.array([0.5, -1.0])}
    constraints = {"rate": "positive", "w": "real"}
    iaf = functools.partial(flows.iaf, num_layers=2, hidden_sizes=(8,))
    params, guide = vi.make_guide(
        example, constraints, kind="flow", flow=iaf, key=jax.random.key(0)
    )
    gaussian_params, gaussian = vi.make_guide(example, constraints)

    def log_target(latents):
        return -latents["rate"] + jnp.log(latents["rate"]) - jnp.sum(latents["w"] ** 2)

    loss = vi.make_elbo_loss(guide, log_target, num_samples=4)  # Monte Carlo entropy

    @jax.jit
    def everything(key, loss_key, params):
        latents, log_q = guide.sample_and_log_prob(key, params, (5,))
        expected = gaussian.log_prob(gaussian_params, latents)
        grads = jax.grad(loss, argnums=1)(loss_key, params)
        return guide.median(params), latents, log_q, expected, grads

    median, latents, log_q, expected, grads = everything(jax.random.key(1), key, params)
    np.testing.assert_allclose(median["rate"], 2.0, rtol=1e-6)
    np.testing.assert_allclose(median["w"], example["w"], rtol=1e-6)
    assert bool(jnp.all(latents["rate"] > 0))
    # Identity layers: the flow guide's density is the mean-field guide's.
    np.testing.assert_allclose(log_q, expected, rtol=1e-5)
    assert np.all(np.isfinite(ravel_pytree(grads)[0]))
    with pytest.raises(ValueError, match="entropy='analytic' needs a closed-form"):
        vi.make_elbo_loss(guide, log_target, entropy="analytic")


# --------------------------------------------------------------------------- #
# Bad input.


@pytest.mark.parametrize("name", UNBUILT)
def test_builders_name_a_bad_dim_or_depth(name):
    builder = UNBUILT[name]
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="dim must be at least 1, got 0"):
        builder(key, 0)
    with pytest.raises(ValueError, match="num_layers must be at least 1, got -2"):
        builder(key, 2, num_layers=-2)
    with pytest.raises(TypeError, match="dim must be an int, got float 2.0"):
        builder(key, 2.0)
    with pytest.raises(ValueError, match=r"event shape \(2,\) \(dim\), got \(3,\)"):
        builder(
            key, 2,
            base=(jr.multivariate_normal_diag,
                  jr.multivariate_normal_diag.init(loc=jnp.zeros(3), scale_diag=1.0)),
        )  # fmt: skip
    with pytest.raises(TypeError, match="key"):
        builder(2, key)


def test_other_bad_settings_are_named():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="dim must be at least 2, got 1"):
        flows.real_nvp(key, 1)
    with pytest.raises(ValueError, match="kind must be one of"):
        flows.neural_spline_flow(key, 2, kind="spline")
    with pytest.raises(ValueError, match="context_size must be at least 0, got -1"):
        flows.maf(key, 2, context_size=-1)
    with pytest.raises(TypeError, match="hidden_sizes"):
        flows.maf(key, 2, hidden_sizes=8)


@pytest.mark.parametrize("name", _cases("real_nvp"))
def test_wrong_event_shapes_and_nan_params(name):
    params, family = BUILDERS[name](jax.random.key(0), DIM)
    with pytest.raises(ValueError, match=r"event shape \(3,\)"):
        family.log_prob(params, jnp.zeros((4, 2)))
    log_prob = jax.jit(family.log_prob)
    sample = jax.jit(family.sample, static_argnums=2)
    nan_base = params._replace(base=params.base._replace(loc=jnp.full(DIM, jnp.nan)))
    leaves, tree = jax.tree.flatten(params.bijector)  # every layer param NaN
    nan_layers = params._replace(
        bijector=jax.tree.unflatten(tree, [jnp.full_like(v, jnp.nan) for v in leaves])
    )
    keys = jax.random.split(jax.random.key(1), 2)
    for bad, key in zip((nan_base, nan_layers), keys, strict=True):
        log_q = log_prob(bad, jnp.zeros((4, DIM)))
        assert np.all(np.isnan(np.asarray(log_q)))
        z = sample(key, bad, (4,))
        assert np.all(np.isnan(np.asarray(z)))
