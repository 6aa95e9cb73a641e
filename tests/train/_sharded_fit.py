"""Fits for tests/train/test_sharding.py, run in subprocesses with several devices.

``python tests/train/_sharded_fit.py devices`` (with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``) fits the breast-cancer
logistic regression with ``jaxreparam.vi`` twice per mode, on one device and
data-parallel over a mesh of the 8 devices, with the same keys, and prints a
JSON report: the largest differences between the two fits, and the shardings
that the compiler chose for the batch and the Monte Carlo draws inside the loss.

``python tests/train/_sharded_fit.py hosts <process_id> <port>`` is one of two
processes (4 devices each) joined by ``jax.distributed.initialize``: together
they run the minibatch fit over a mesh of all 8 devices; each prints its params.

``python tests/train/_sharded_fit.py bnn`` (8 devices) fits a Bayesian MLP by
its minibatch ELBO with a KL warm-up, on one device and over the mesh, and
prints the largest differences between the two fits
(tests/nn/test_bnn_reproductions.py).
"""

import json
import os
import sys

NUM_STEPS = 300


def problem():
    """The data, starting params, loss and optimizer; ``seen`` records shardings."""
    import jax
    import jax.numpy as jnp
    import optax

    from jaxreparam import vi
    from jaxreparam.apps import logistic

    data = logistic.load_data(0)
    train = {"x": data["x_train"], "y": data["y_train"]}
    params, guide = vi.make_guide(logistic.example_latents(train["x"].shape[1]))
    seen = {"batch": [], "draws": []}

    def record(name):
        def callback(sharding):
            seen[name].append(
                {
                    "spec": str(getattr(sharding, "spec", None)),
                    "devices": len(sharding.device_set),
                    "replicated": bool(sharding.is_fully_replicated),
                }
            )

        return callback

    def log_target(latents, batch):
        jax.debug.inspect_array_sharding(latents["w"], callback=record("draws"))
        w, b = latents["w"], latents["b"]
        prior = jax.scipy.stats.norm.logpdf(jnp.append(w, b)).sum()
        logits = batch["x"] @ w + b
        likelihood = jnp.sum(batch["y"] * logits - jnp.logaddexp(0.0, logits))
        return prior + train["x"].shape[0] / batch["x"].shape[0] * likelihood

    def loss(key, params, batch):
        jax.debug.inspect_array_sharding(batch["x"], callback=record("batch"))
        return -vi.elbo(key, params, guide, log_target, batch, num_samples=16)

    modes = {  # full batch: 448 rows split 56 per device; minibatches of 64
        "full_batch": ({k: v[:448] for k, v in train.items()}, None),
        "minibatch": (train, 64),
    }
    return params, modes, loss, optax.adam(0.02), seen


def run(params, data, batch_size, loss, optimizer, mesh):
    """The fit that every mode and placement runs."""
    import jax

    from jaxreparam.train import fit

    return fit(
        jax.random.key(0), params, data, loss=loss, optimizer=optimizer,
        num_steps=NUM_STEPS, batch_size=batch_size, chunk_size=100, progress=False,
        mesh=mesh,
    )  # fmt: skip


def devices():
    """One process, 8 devices: single-device and sharded fits, compared."""
    import jax
    import numpy as np
    from jax.sharding import Mesh

    params, modes, loss, optimizer, seen = problem()
    mesh = Mesh(np.array(jax.devices()), ("data",))
    report = {"devices": jax.device_count()}
    for mode, (data, batch_size) in modes.items():
        results = {}
        for name, where in (("single", None), ("sharded", mesh)):
            for values in seen.values():
                values.clear()
            results[name] = run(params, data, batch_size, loss, optimizer, where)
            report[f"{mode}_{name}_seen"] = {k: v[:1] for k, v in seen.items()}
        single, sharded = results["single"], results["sharded"]
        pairs = zip(
            jax.tree.leaves(single.params), jax.tree.leaves(sharded.params), strict=True
        )
        report[mode] = {
            "max_abs_params": max(float(np.max(np.abs(a - b))) for a, b in pairs),
            "max_rel_loss": float(
                np.max(
                    np.abs(single.history["loss"] - sharded.history["loss"])
                    / np.abs(single.history["loss"])
                )
            ),
            "params_devices": len(sharded.params.base.loc.sharding.device_set),
            "params_replicated": bool(
                sharded.params.base.loc.sharding.is_fully_replicated
            ),
            "single_devices": len(single.params.base.loc.sharding.device_set),
        }
    print(json.dumps(report))


def bnn():
    """One process, 8 devices: a Bayesian MLP's minibatch ELBO fit (KL warm-up).

    ``jr.nn.make_bnn_loss`` over a local-reparameterization MLP on the
    breast-cancer data, with ``jr.nn.linear_warmup`` (the loss takes ``step``),
    on one device and over the mesh; prints the largest relative difference
    of the losses and of the params.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from jax.sharding import Mesh

    import jaxreparam as jr
    from jaxreparam.apps import logistic

    data = logistic.load_data(0)
    x, y = data["x_train"], data["y_train"].astype(jnp.int32)
    net = jr.nn.bayesian_mlp((x.shape[1], 16, 2))

    def log_likelihood(logits, labels):
        log_probs = jax.nn.log_softmax(logits)
        return jnp.take_along_axis(log_probs, labels[:, None], axis=-1)[:, 0]

    loss = jr.nn.make_bnn_loss(
        net.apply, log_likelihood, jr.nn.normal_prior(), num_data=x.shape[0],
        kl_weight=jr.nn.linear_warmup(50),
    )  # fmt: skip
    params = net.init(jax.random.key(1))
    mesh = Mesh(np.array(jax.devices()), ("data",))
    results = {}
    for name, where in (("single", None), ("sharded", mesh)):
        results[name] = jr.fit(
            jax.random.key(0), params, (x, y), loss=loss, optimizer=optax.adam(0.01),
            num_steps=NUM_STEPS, batch_size=64, chunk_size=100, progress=False,
            mesh=where,
        )  # fmt: skip
    single, sharded = results["single"], results["sharded"]
    pairs = zip(
        jax.tree.leaves(single.params), jax.tree.leaves(sharded.params), strict=True
    )
    report = {
        "devices": jax.device_count(),
        "max_abs_params": max(float(np.max(np.abs(a - b))) for a, b in pairs),
        "max_rel_loss": float(
            np.max(
                np.abs(single.history["loss"] - sharded.history["loss"])
                / np.abs(single.history["loss"])
            )
        ),
        "params_devices": len(jax.tree.leaves(sharded.params)[0].sharding.device_set),
    }
    print(json.dumps(report))


def hosts(process_id, port):
    """One of two processes of 4 devices each: the minibatch fit over all 8."""
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"localhost:{port}", num_processes=2, process_id=process_id
    )
    import numpy as np
    from jax.sharding import Mesh

    params, modes, loss, optimizer, seen = problem()
    data, batch_size = modes["minibatch"]
    mesh = Mesh(np.array(jax.devices()), ("data",))
    result = run(params, data, batch_size, loss, optimizer, mesh)
    local = lambda x: np.asarray(x.addressable_data(0)).tolist()
    report = {
        "process_count": jax.process_count(),
        "devices": jax.device_count(),
        "local_devices": jax.local_device_count(),
        "params": [local(x) for x in jax.tree.leaves(result.params)],
        "batch_seen": seen["batch"][:1],
        "draws_seen": seen["draws"][:1],
    }
    print("REPORT " + json.dumps(report), flush=True)


if __name__ == "__main__":
    if "jax" in sys.modules:
        raise RuntimeError("XLA_FLAGS must be set before jax is imported")
    flags = os.environ.get("XLA_FLAGS", "")
    if sys.argv[1] == "devices":
        assert "device_count=8" in flags, flags
        devices()
    elif sys.argv[1] == "bnn":
        assert "device_count=8" in flags, flags
        bnn()
    else:
        assert "device_count=4" in flags, flags
        hosts(int(sys.argv[2]), int(sys.argv[3]))
