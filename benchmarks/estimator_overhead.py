"""The estimator surrogates against the same estimators written by hand.

``python -m benchmarks.estimator_overhead [--repeats 15] [--quick] [--json out.json]``

For the pathwise and the score-function estimator, on a scalar Normal and on
diagonal Gaussians (a batch of ``D`` Normals) with ``S`` draws, the jitted
gradient of ``E[f(z)]``, ``f(z) = |z|^2 / 2``, is computed two ways:

* ``jaxreparam``: ``jax.grad(estimators.pathwise / score_function, argnums=1)``
  on ``NormalParams``, the surrogate of this library;
* ``by hand``: the same estimator written inline with ``jax.random`` and
  ``jax.numpy``: for the pathwise estimator ``jax.grad`` of
  ``mean_s f(loc + exp(log_scale) eps_s)``; for the score function ``jax.grad``
  of the same surrogate, ``mean_s [f(z_s) + sg(f(z_s)) (log q(z_s) - sg(...))]``
  with the Normal log-density written out;
* ``closed form`` (score function only): the gradient an expert derives by hand,
  ``mean_s f(z_s) eps_s / sigma`` and ``mean_s f(z_s) (eps_s^2 - 1)``, with no
  autodiff at all: the floor.

All draw the same noise from the same key, and their gradients must agree to
float tolerance before anything is timed. Each contender is compiled first;
then, in each of ``repeats`` rounds, they run in turn (the first rotating),
a sample being the mean time of enough consecutive calls (each ending in
``jax.block_until_ready``) to last about 5 ms. Reported: the median sample of
process CPU time and of wall-clock time, and the ratios of the medians
(jaxreparam / by hand, jaxreparam / closed form) in CPU time, which is far
steadier than wall-clock time on a shared machine. ``OPENBLAS_NUM_THREADS=1``
is set before jax is imported (see CONVENTIONS.md).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxreparam as jr  # noqa: E402

__all__ = ["CASES", "contenders", "main", "measure"]

#: (estimator, shape of one draw, number of draws S).
CASES = [
    (estimator, shape, num_samples)
    for estimator in ("pathwise", "score_function")
    for shape, num_samples in (((), 1), ((10,), 16), ((1_000,), 16), ((100_000,), 4))
]
QUICK = [case for case in CASES if case[1] in ((), (1_000,))]


def _f(z):
    return 0.5 * jnp.sum(z**2)


def _hand_pathwise(num_samples):
    def loss(loc, log_scale, key):
        eps = jax.random.normal(key, (num_samples,) + loc.shape, loc.dtype)
        return jnp.mean(jax.vmap(_f)(loc + jnp.exp(log_scale) * eps))

    def grad(key, loc, log_scale):
        return jax.grad(loss, argnums=(0, 1))(loc, log_scale, key)

    return grad


def _hand_score_function(num_samples):
    def surrogate(loc, log_scale, key):
        eps = jax.random.normal(key, (num_samples,) + loc.shape, loc.dtype)
        z = jax.lax.stop_gradient(loc + jnp.exp(log_scale) * eps)
        values = jax.vmap(_f)(z)
        standardized = (z - loc) * jnp.exp(-log_scale)
        log_q = jnp.sum(
            (-0.5 * standardized**2 - log_scale).reshape(num_samples, -1), axis=1
        )
        score = log_q - jax.lax.stop_gradient(log_q)
        return jnp.mean(values + jax.lax.stop_gradient(values) * score)

    def grad(key, loc, log_scale):
        return jax.grad(surrogate, argnums=(0, 1))(loc, log_scale, key)

    return grad


def _closed_form_score_function(num_samples):
    def grad(key, loc, log_scale):
        eps = jax.random.normal(key, (num_samples,) + loc.shape, loc.dtype)
        z = loc + jnp.exp(log_scale) * eps
        values = jax.vmap(_f)(z).reshape((num_samples,) + (1,) * loc.ndim)
        # (z - loc) / sigma^2 = eps / sigma and (z - loc)^2 / sigma^2 = eps^2.
        return (
            jnp.mean(values * eps, axis=0) * jnp.exp(-log_scale),
            jnp.mean(values * (eps**2 - 1), axis=0),
        )

    return grad


def _library(estimator, num_samples):
    surrogate_grad = jax.grad(getattr(jr.estimators, estimator), argnums=1)

    def grad(key, loc, log_scale):
        params = jr.distributions.NormalParams(loc, log_scale)
        g = surrogate_grad(key, params, jr.normal, _f, num_samples=num_samples)
        return g.loc, g.log_scale

    return grad


def contenders(estimator: str, num_samples: int) -> dict:
    """``name -> jitted grad(key, loc, log_scale)`` for one case."""
    hand = {"pathwise": _hand_pathwise, "score_function": _hand_score_function}
    funs = {
        "by hand": jax.jit(hand[estimator](num_samples)),
        "jaxreparam": jax.jit(_library(estimator, num_samples)),
    }
    if estimator == "score_function":
        funs["closed form"] = jax.jit(_closed_form_score_function(num_samples))
    return funs


def _sample(fun, args, calls):
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        jax.block_until_ready(fun(*args))
    return (time.process_time() - cpu) / calls, (time.perf_counter() - wall) / calls


def measure(estimator: str, shape: tuple, num_samples: int, repeats: int) -> dict:
    """Times one case; returns medians (seconds), the ratio and the max deviation."""
    k1, k2 = jax.random.split(jax.random.key(1))
    loc = jax.random.normal(k1, shape)
    log_scale = 0.3 * jax.random.normal(k2, shape)
    args = (jax.random.key(0), loc, log_scale)
    funs = contenders(estimator, num_samples)
    outputs = {name: jax.block_until_ready(fun(*args)) for name, fun in funs.items()}
    deviation = max(
        float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))
        for name in funs
        for a, b in zip(outputs[name], outputs["by hand"], strict=True)
    )
    if deviation > 1e-4:
        raise AssertionError(f"{estimator} {shape}: gradients differ by {deviation}")
    once = max(_sample(fun, args, 3)[1] for fun in funs.values())
    calls = max(1, int(0.005 / max(once, 1e-7)))
    samples = {name: [] for name in funs}
    names = list(funs)
    for round_ in range(repeats):
        first = round_ % len(names)
        for name in names[first:] + names[:first]:
            samples[name].append(_sample(funs[name], args, calls))
    medians = {
        name: tuple(float(np.median([s[i] for s in got])) for i in (0, 1))
        for name, got in samples.items()
    }
    return {
        "estimator": estimator,
        "shape": list(shape),
        "num_samples": num_samples,
        "cpu": {name: m[0] for name, m in medians.items()},
        "wall": {name: m[1] for name, m in medians.items()},
        "ratio_cpu": medians["jaxreparam"][0] / medians["by hand"][0],
        "ratio_wall": medians["jaxreparam"][1] / medians["by hand"][1],
        "ratio_cpu_closed_form": (
            medians["jaxreparam"][0] / medians["closed form"][0]
            if "closed form" in medians
            else None
        ),
        "max_relative_deviation": deviation,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    """Runs every case, prints a table, optionally writes JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="two sizes only")
    parser.add_argument("--json", type=str, default=None, help="write results here")
    args = parser.parse_args(argv)
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, "
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
        f"{args.repeats} interleaved rounds, median per call"
    )
    print(
        f"{'estimator':<15} {'draw':>9} {'S':>3} {'by hand (us)':>13} "
        f"{'jaxreparam (us)':>16} {'ratio cpu':>10} {'ratio wall':>11} "
        f"{'closed form (us)':>17} {'ratio cpu':>10}"
    )
    results = []
    for estimator, shape, num_samples in QUICK if args.quick else CASES:
        r = measure(estimator, shape, num_samples, args.repeats)
        results.append(r)
        draw = "x".join(map(str, shape)) or "scalar"
        print(
            f"{estimator:<15} {draw:>9} {num_samples:>3} "
            f"{1e6 * r['cpu']['by hand']:>13.1f} {1e6 * r['cpu']['jaxreparam']:>16.1f} "
            f"{r['ratio_cpu']:>10.3f} {r['ratio_wall']:>11.3f} "
            + (
                f"{1e6 * r['cpu']['closed form']:>17.1f} "
                f"{r['ratio_cpu_closed_form']:>10.3f}"
                if r["ratio_cpu_closed_form"] is not None
                else f"{'-':>17} {'-':>10}"
            ),
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)
    return results


if __name__ == "__main__":
    main()
