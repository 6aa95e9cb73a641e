"""A VAE fit for tests/vae/test_reproductions.py, run in a subprocess of 8 devices.

``python tests/vae/_sharded_vae_fit.py`` (with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``) fits a small VAE to the
binarized digits with ``jr.fit`` twice, on one device and data-parallel over a
mesh of the 8 devices, with the same keys, minibatches and warm-up, and prints
a JSON report of the largest differences between the two fits.
"""

import json
import os
import sys

NUM_STEPS = 100


def main():
    import jax
    import numpy as np
    import optax
    from jax.sharding import Mesh

    import jaxreparam as jr
    from jaxreparam.apps import vae as app

    data = app.load("bernoulli")
    vae = app.build(
        "vae", latent_size=4, likelihood="bernoulli", hidden_sizes=(32,),
        warmup_steps=50,
    )  # fmt: skip
    params = vae.init(jax.random.key(0))
    optimizer = optax.adam(3e-3)
    mesh = Mesh(np.array(jax.devices()), ("data",))
    fits = {
        name: jr.fit(
            jax.random.key(1),
            params,
            data.x_train,
            loss=vae.loss,
            optimizer=optimizer,
            num_steps=NUM_STEPS,
            batch_size=64,
            chunk_size=50,
            progress=False,
            mesh=where,
        )  # fmt: skip
        for name, where in (("single", None), ("sharded", mesh))
    }
    single, sharded = fits["single"], fits["sharded"]
    pairs = zip(
        jax.tree.leaves(single.params), jax.tree.leaves(sharded.params), strict=True
    )
    leaf = jax.tree.leaves(sharded.params)[0]
    report = {
        "devices": jax.device_count(),
        "params_devices": len(leaf.sharding.device_set),
        "max_abs_params": max(float(np.max(np.abs(a - b))) for a, b in pairs),
        "max_rel_loss": float(
            np.max(
                np.abs(single.history["loss"] - sharded.history["loss"])
                / np.abs(single.history["loss"])
            )
        ),
        "kl_weight": np.asarray(sharded.history["kl_weight"]).tolist(),
        "loss_first_last": [
            float(single.history["loss"][0]),
            float(single.history["loss"][-1]),
        ],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    if "jax" in sys.modules:
        raise RuntimeError("XLA_FLAGS must be set before jax is imported")
    assert "device_count=8" in os.environ.get("XLA_FLAGS", ""), os.environ
    main()
