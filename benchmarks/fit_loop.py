"""The fit loop's time per step, as a ratio to hand-written jitted optax loops.

``python -m benchmarks.fit_loop [--repeats 15] [--json out.json]``

Two problems, each fitted with the same loss, optimizer (adam) and keys
(``fold_in(fold_in(key, 0), step)``, as ``fit`` draws them):

* ``logistic``: the Bayesian logistic regression of ``python -m jaxreparam
  logistic`` (455 x 30 data, full batch, 8 Monte Carlo draws, mean-field guide),
  a realistic step;
* ``tiny``: a 4-dimensional Gaussian target, 8 draws: a step of a few
  microseconds, where any per-step overhead of the loop would show.

Contenders, all returning the final params and the loss of every step:

* ``scan``: one ``jax.jit`` of a ``lax.scan`` over every step (the floor);
* ``python loop``: a jitted step called from a Python ``for`` loop (the common
  hand-written loop);
* ``fit``: ``jaxreparam.fit.fit`` with ``progress=False`` (one chunk);
* ``fit, progress``: ``progress=True``, 20 chunks with a report between them
  (printed lines, sent to a buffer here);
* ``fit, uneven chunks``: ``chunk_size`` not dividing the steps, so every step
  runs under the ``lax.cond`` that masks the last chunk's extra steps;
* ``scan, closure``, ``fit, closure``, ``fit, closure, progress``: the same with
  the data closed over by the loss (compile-time constants) instead of passed
  as an argument; these ``fit`` rows are compared with ``scan, closure``.

Each contender is compiled (and checked against the scan's params and losses)
first, then the contenders run in turn, ``repeats`` times, interleaved. Reported:
the median wall-clock and process CPU time per step over the repeats, their
ratios to the matching scan's medians, and the ratio of the fastest repeats
(``min x``), which is steadier when other processes share the machine.
``OPENBLAS_NUM_THREADS=1`` is set before jax is imported (see CONVENTIONS.md:
OpenBLAS's thread pool is erratic under load).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from jaxreparam import vi  # noqa: E402
from jaxreparam.apps import logistic  # noqa: E402
from jaxreparam.train import fit  # noqa: E402

__all__ = ["main", "problems"]


def problems():
    """``name -> (loss, params, data, num_steps)``; ``loss(key, params, batch)``."""
    data = logistic.load_data(0)
    train = {"x": data["x_train"], "y": data["y_train"]}
    params, guide = vi.make_guide(logistic.example_latents(train["x"].shape[1]))
    logistic_loss = vi.make_elbo_loss(
        guide, logistic.make_log_joint(1.0), num_samples=8
    )
    mean = jnp.array([1.0, -2.0, 0.5, 3.0])
    tiny_params, tiny_guide = vi.make_guide(jnp.zeros(4))
    tiny_loss = vi.make_elbo_loss(
        tiny_guide,
        lambda z, batch: -0.5 * jnp.sum((z - batch["mean"]) ** 2),
        num_samples=8,
    )
    return {
        "logistic": (logistic_loss, params, train, 2000),
        "tiny": (tiny_loss, tiny_params, {"mean": mean[None]}, 5000),
    }


def contenders(loss, params, data, num_steps, optimizer):
    """``name -> (run, reference name)``; ``run()`` returns one fit's params, losses.

    Two styles of passing the data: as an argument (``fit(..., data)``, and the
    hand-written scan taking it as an argument) and closed over by the loss
    (``fit(..., data=None)``, and a scan whose data are compile-time constants,
    which XLA may optimize further). Each ``fit`` is compared with the scan of
    its own style.
    """
    key = jax.random.key(0)
    loss_key = jax.random.fold_in(key, 0)
    closed_loss = lambda key, params: loss(key, params, data)

    def step(params, opt_state, t, data):
        value, grads = jax.value_and_grad(loss, argnums=1)(
            jax.random.fold_in(loss_key, t), params, data
        )
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    @jax.jit
    def scan(params, data):
        def body(carry, t):
            params, opt_state, value = step(*carry, t, data)
            return (params, opt_state), value

        carry = (params, optimizer.init(params))
        (params, _), values = jax.lax.scan(body, carry, jnp.arange(num_steps))
        return params, values

    scan_closed = jax.jit(lambda params: scan(params, data))
    jitted_step = jax.jit(step)

    def python_loop():
        p, opt_state, values = params, optimizer.init(params), []
        for t in range(num_steps):
            p, opt_state, value = jitted_step(p, opt_state, t, data)
            values.append(value)
        return p, np.asarray(jax.device_get(values))

    def with_fit(closed=False, **options):
        def run():
            with contextlib.redirect_stdout(io.StringIO()):
                result = fit(
                    key, params, None if closed else data,
                    loss=closed_loss if closed else loss, optimizer=optimizer,
                    num_steps=num_steps, **options,
                )  # fmt: skip
            return result.params, result.history["loss"]

        return run

    chunk, uneven = num_steps // 20, num_steps // 7 + 1
    return {
        "scan": (lambda: scan(params, data), "scan"),
        "python loop": (python_loop, "scan"),
        "fit": (with_fit(progress=False), "scan"),
        "fit, progress": (with_fit(progress=True, chunk_size=chunk), "scan"),
        "fit, uneven chunks": (with_fit(progress=False, chunk_size=uneven), "scan"),
        "scan, closure": (lambda: scan_closed(params), "scan, closure"),
        "fit, closure": (with_fit(closed=True, progress=False), "scan, closure"),
        "fit, closure, progress": (
            with_fit(closed=True, progress=True, chunk_size=chunk),
            "scan, closure",
        ),
    }


def _time(run) -> tuple[float, float]:
    """Wall-clock and process CPU seconds of one ``run()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    jax.block_until_ready(run())
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(name, repeats):
    """Per-step medians and ratios to the matching scan, for one problem."""
    loss, params, data, num_steps = problems()[name]
    runs = contenders(loss, params, data, num_steps, optax.adam(0.01))
    reference = None
    for label, (run, _) in runs.items():  # compile, and check that all agree
        final, losses = run()
        if reference is None:
            reference = (final, np.asarray(losses))
        np.testing.assert_allclose(np.asarray(losses), reference[1], rtol=1e-4)
        for a, b in zip(
            jax.tree.leaves(final), jax.tree.leaves(reference[0]), strict=True
        ):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=label)
    times = {label: [] for label in runs}
    for _ in range(repeats):
        for label, (run, _) in runs.items():
            times[label].append(np.array(_time(run)) / num_steps)
    medians = {label: np.median(np.stack(t), axis=0) for label, t in times.items()}
    minima = {label: np.min(np.stack(t), axis=0) for label, t in times.items()}
    rows = {}
    for label, (_, against) in runs.items():
        (wall, cpu), (wall_ref, cpu_ref) = medians[label], medians[against]
        rows[label] = {
            "against": against,
            "wall_us_per_step": 1e6 * float(wall),
            "cpu_us_per_step": 1e6 * float(cpu),
            "wall_ratio": float(wall / wall_ref),
            "cpu_ratio": float(cpu / cpu_ref),
            "min_wall_ratio": float(minima[label][0] / minima[against][0]),
        }
    return {"num_steps": num_steps, "repeats": repeats, "rows": rows}


def main(argv=None):
    """Measures both problems and prints a table (and writes JSON if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    results = {}
    for name in ("logistic", "tiny"):
        results[name] = measure(name, args.repeats)
        print(
            f"\n{name}: {results[name]['num_steps']} steps, medians of "
            f"{args.repeats} interleaved repeats (us per step; ratio to 'against')"
        )
        header = ("wall", "cpu", "wall x", "cpu x", "min x")
        print(f"  {'':<24}" + "".join(f"{h:>8}" for h in header) + "  against")
        for label, row in results[name]["rows"].items():
            print(
                f"  {label:<24}{row['wall_us_per_step']:8.2f}"
                f"{row['cpu_us_per_step']:8.2f}{row['wall_ratio']:8.3f}"
                f"{row['cpu_ratio']:8.3f}{row['min_wall_ratio']:8.3f}  {row['against']}"
            )
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)
    return results


if __name__ == "__main__":
    main()
