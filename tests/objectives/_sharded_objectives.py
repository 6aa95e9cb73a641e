"""Objectives under a mesh, for tests/objectives/test_sharding.py (a subprocess).

``python tests/objectives/_sharded_objectives.py`` (with
``XLA_FLAGS=--xla_force_host_platform_device_count=4``) evaluates every
objective's value and gradient, jitted, once without a mesh and once inside
``jax.set_mesh`` over the 4 devices, with the same key, and prints a JSON
report: per case the largest difference between the two relative to the
largest entry (value or gradient), and the shardings that the compiler chose
for the draws seen by ``log_target``; last, an amortized IWAE loss over a
batch split across the devices.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh

import jaxreparam as jr

D = 3


def main():
    seen = []

    def record(sharding):
        seen.append(
            {
                "spec": str(getattr(sharding, "spec", None)),
                "devices": len(sharding.device_set),
                "replicated": bool(sharding.is_fully_replicated),
            }
        )

    def log_target(z):
        jax.debug.inspect_array_sharding(z, callback=record)
        return jnp.sum(jr.normal.log_prob(jr.normal.init(loc=jnp.ones(D)), z))

    objectives = jr.objectives
    cases = {
        "elbo": (objectives.elbo, {"num_samples": 8}),
        "elbo_stl": (objectives.elbo, {"num_samples": 8, "gradient": "stl"}),
        "elbo_score_function": (
            objectives.elbo,
            {"num_samples": 8, "estimator": jr.estimators.score_function},
        ),
        "elbo_analytic_entropy": (
            objectives.elbo,
            {"num_samples": 8, "entropy": "analytic"},
        ),
        "elbo_prior": (
            objectives.elbo,
            {"num_samples": 8, "prior": jr.normal.init(loc=jnp.zeros(D))},
        ),
        "iwae": (objectives.iwae, {"num_samples": 8}),
        "iwae_estimates": (objectives.iwae, {"num_samples": 3, "num_estimates": 4}),
        "iwae_dreg": (objectives.iwae, {"num_samples": 8, "gradient": "dreg"}),
        "iwae_score_function": (
            objectives.iwae,
            {"num_samples": 8, "estimator": jr.estimators.score_function},
        ),
        "renyi": (objectives.renyi_bound, {"num_samples": 8, "alpha": 0.5}),
    }
    params = jr.normal.init(loc=jnp.zeros(D), scale=jnp.full(D, 0.8))
    mesh = Mesh(np.array(jax.devices()), ("data",), axis_types=(AxisType.Auto,))
    report = {"devices": len(jax.devices())}
    for name, (objective, options) in cases.items():

        def value_and_grad(key, params, objective=objective, options=options):
            def bound(params):
                return objective(key, params, jr.normal, log_target, **options)

            value, grad = jax.value_and_grad(bound)(params)
            return jnp.concatenate([value[None], *jax.tree.leaves(grad)])

        seen.clear()
        single = np.asarray(jax.jit(value_and_grad)(jax.random.key(0), params))
        single_seen = list(seen)
        seen.clear()
        with jax.set_mesh(mesh):
            sharded = np.asarray(jax.jit(value_and_grad)(jax.random.key(0), params))
        report[name] = _result(single, single_seen, sharded, seen)

    # Amortized: the data axis is split (as jr.fit splits the batch), each data
    # point's draws stay together.
    def encoder(params, x):
        return jr.distributions.NormalParams(params["w"] * x, jnp.zeros_like(x))

    def log_joint(params, x, z):
        jax.debug.inspect_array_sharding(z, callback=record)
        prior = jr.normal.log_prob(jr.normal.init(loc=jnp.zeros(D)), z)
        return jnp.sum(prior + jr.normal.log_prob(jr.normal.init(loc=z), x))

    loss = jr.objectives.make_amortized_loss(
        jr.objectives.iwae, jr.normal, encoder, log_joint, num_samples=8
    )
    data = jax.random.normal(jax.random.key(1), (8, D))

    def amortized(key, params, data):
        data = jr.parallel.shard_leading(data)
        value, grad = jax.value_and_grad(loss, argnums=1)(key, params, data)
        return jnp.stack([value, grad["w"]])

    seen.clear()
    single = np.asarray(jax.jit(amortized)(jax.random.key(0), {"w": 0.5}, data))
    single_seen = list(seen)
    seen.clear()
    with jax.set_mesh(mesh):
        sharded = np.asarray(jax.jit(amortized)(jax.random.key(0), {"w": 0.5}, data))
    report["amortized_iwae"] = _result(single, single_seen, sharded, seen)
    print(json.dumps(report))


def _result(single, single_seen, sharded, sharded_seen):
    return {
        "max_rel": float(np.max(np.abs(sharded - single)) / np.max(np.abs(single))),
        "single_seen": list(single_seen),
        "sharded_seen": list(sharded_seen),
    }


if __name__ == "__main__":
    main()
