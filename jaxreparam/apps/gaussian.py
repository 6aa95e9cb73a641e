"""Fits a diagonal Gaussian to a correlated Gaussian; compares gradient variance.

The target is ``p = N(m, S)`` in ``D = 4`` dimensions with correlated
coordinates. The variational family is a diagonal Gaussian, a batch of ``D``
``jr.normal`` params. Minimising ``KL(q || p)`` over diagonal Gaussians has a
closed-form answer: ``loc = m`` and ``scale_i = 1 / sqrt((S^-1)_ii)``, the
conditional standard deviations, narrower than the marginal ones.

The loss is the negative ELBO, ``-(E_q[log p(z)] + H(q))``, with the expectation
estimated by ``jr.estimators.pathwise`` and the entropy in closed form. It is
minimised by optax's adam in a jitted ``lax.scan`` over chunks of steps, with
progress reported between chunks. Then the variance of the loss's gradient is
measured, at the start and at the fit, under the pathwise and the score-function
estimators, and the score function with a control variate whose expectation is
differentiated pathwise (``jr.estimators.score_function_control_variate``: the
Taylor expansion of ``log_target`` around the mean of q, Grathwohl et al.'s LAX).

Run it with ``python -m jaxreparam gaussian --help``.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import pathlib
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxreparam as jr

__all__ = [
    "DESCRIPTION",
    "add_arguments",
    "exact_fit",
    "gradient_variance",
    "main",
    "make_loss",
    "optimal_loss",
    "run",
    "target",
]

DESCRIPTION = "fit a diagonal Gaussian to a correlated one; compare gradient variance"
ESTIMATORS = {
    "pathwise": jr.estimators.pathwise,
    "score function": jr.estimators.score_function,
    "control variate": jr.estimators.score_function_control_variate,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares this application's options on ``parser``."""
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the PRNG key")
    parser.add_argument(
        "--num-samples", type=int, default=8, help="Monte Carlo draws per gradient"
    )
    parser.add_argument("--learning-rate", type=float, default=0.1, help="adam's")
    parser.add_argument(
        "--variance-draws",
        type=int,
        default=1000,
        help="independent gradients drawn to measure each variance",
    )
    parser.add_argument(
        "--output", type=pathlib.Path, default=None, help="folder for a figure"
    )


def target() -> tuple[jax.Array, jax.Array]:
    """The target's mean ``m`` and covariance ``S``: an AR(1)-correlated Gaussian."""
    mean = jnp.array([1.0, -2.0, 0.5, 3.0])
    scale = jnp.array([0.5, 1.0, 2.0, 1.5])
    lags = jnp.abs(jnp.arange(4)[:, None] - jnp.arange(4)[None, :])
    return mean, scale[:, None] * scale[None, :] * 0.7**lags


def exact_fit(mean: jax.Array, covariance: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``loc`` and ``scale`` of the diagonal Gaussian closest to ``N(mean, cov)``."""
    return mean, 1.0 / jnp.sqrt(jnp.diag(jnp.linalg.inv(covariance)))


def optimal_loss(covariance: jax.Array) -> jax.Array:
    """The minimum of the negative ELBO, for the unnormalised ``log_target``.

    At the optimum ``KL(q || p) = (log det S + sum_i log (S^-1)_ii) / 2`` and
    ``log Z = (D log(2 pi) + log det S) / 2``, so ``-ELBO = KL - log Z`` is
    ``(sum_i log (S^-1)_ii - D log(2 pi)) / 2``.
    """
    diagonal = jnp.diag(jnp.linalg.inv(covariance))
    return 0.5 * (jnp.sum(jnp.log(diagonal)) - diagonal.size * math.log(2 * math.pi))


def make_loss(estimator, log_target, num_samples: int):
    """The negative ELBO ``loss(key, params)`` under ``estimator``."""

    def loss(key, params):
        expected = estimator(
            key, params, log_target, jr.normal, num_samples=num_samples
        )
        return -(expected + jnp.sum(jr.normal.entropy(params)))

    return loss


def _fit(key, loss, params, optimizer, steps: int, report) -> tuple[Any, np.ndarray]:
    """Minimises ``loss`` in a jitted scan over chunks; ``report(done, losses)``."""

    @functools.partial(jax.jit, static_argnums=3)
    def chunk(params, opt_state, first, length):
        def step(carry, index):
            params, opt_state = carry
            value, grads = jax.value_and_grad(loss, argnums=1)(
                jax.random.fold_in(key, index), params
            )
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), value

        indices = first + jnp.arange(length)
        return jax.lax.scan(step, (params, opt_state), indices)

    opt_state = optimizer.init(params)
    size = max(1, math.ceil(steps / 20))
    losses = []
    for first in range(0, steps, size):
        length = min(size, steps - first)
        (params, opt_state), values = chunk(params, opt_state, first, length)
        losses.append(np.asarray(values))
        report(first + length, losses[-1])
    return params, np.concatenate(losses) if losses else np.zeros(0)


def _progress(steps: int):
    """A tqdm bar on a terminal outside CI; plain printed lines otherwise."""
    tqdm = None
    if sys.stdout.isatty() and not os.environ.get("CI"):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            pass
    if tqdm is not None:
        bar = tqdm(total=steps, desc="fitting")

        def report(done, losses):
            bar.update(done - bar.n)
            bar.set_postfix(loss=f"{losses.mean():.4f}")
            if done == steps:
                bar.close()

        return report

    def report(done, losses):
        print(f"  step {done:>6}/{steps}   -ELBO {losses.mean():10.4f}", flush=True)

    return report


def gradient_variance(key, loss, params, draws: int) -> dict[str, float]:
    """Variance of ``grad loss`` over ``draws`` keys: per leaf and overall mean."""
    grads = jax.jit(jax.vmap(jax.grad(loss, argnums=1), (0, None)))(
        jax.random.split(key, draws), params
    )
    variances = [np.var(np.asarray(g), axis=0, ddof=1) for g in grads]
    result = {
        name: float(v.mean()) for name, v in zip(grads._fields, variances, strict=True)
    }
    result["all"] = float(np.concatenate([v.ravel() for v in variances]).mean())
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the application with parsed ``args``; returns the numbers it printed."""
    started = time.perf_counter()
    mean, covariance = target()
    precision = jnp.linalg.inv(covariance)
    exact_loc, exact_scale = exact_fit(mean, covariance)

    def log_target(z):
        return -0.5 * (z - mean) @ precision @ (z - mean)

    fit_key, start_key, end_key = jax.random.split(jax.random.key(args.seed), 3)
    initial = jr.normal.init(loc=jnp.zeros(4), scale=jnp.ones(4))
    losses_by = {
        n: make_loss(e, log_target, args.num_samples) for n, e in ESTIMATORS.items()
    }
    schedule = optax.cosine_decay_schedule(args.learning_rate, args.steps, alpha=0.01)
    print(
        f"Fitting a diagonal Gaussian to N(m, S) in 4 dimensions: {args.steps} "
        f"adam steps, pathwise gradient, {args.num_samples} samples per step"
    )
    params, losses = _fit(
        fit_key,
        losses_by["pathwise"],
        initial,
        optax.adam(schedule),
        args.steps,
        _progress(args.steps),
    )
    fitted = jr.normal.to_natural(params)

    print("\nFitted vs exact (argmin of KL(q || p) over diagonal Gaussians):")
    print(f"  {'dim':>3}  {'loc':>8}  {'exact':>8}  {'scale':>8}  {'exact':>8}")
    for i in range(4):
        print(
            f"  {i:>3}  {fitted['loc'][i]:8.4f}  {exact_loc[i]:8.4f}  "
            f"{fitted['scale'][i]:8.4f}  {exact_scale[i]:8.4f}"
        )
    loc_error = float(jnp.max(jnp.abs(fitted["loc"] - exact_loc)))
    scale_error = float(jnp.max(jnp.abs(fitted["scale"] - exact_scale)))
    print(f"  max |error|: loc {loc_error:.4f}, scale {scale_error:.4f}")
    tail = losses[-max(1, len(losses) // 20) :]
    print(
        f"  -ELBO over the last {len(tail)} steps: {tail.mean():.4f} "
        f"(optimum {float(optimal_loss(covariance)):.4f})"
    )

    variance = {}
    for where, point, key in (
        ("start", initial, start_key),
        ("fitted", params, end_key),
    ):
        keys = jax.random.split(key, len(ESTIMATORS))
        variance[where] = {
            name: gradient_variance(k, losses_by[name], point, args.variance_draws)
            for k, name in zip(keys, ESTIMATORS, strict=True)
        }
    print(
        f"\nGradient variance of -ELBO per parameter, averaged ({args.variance_draws} "
        f"gradients of {args.num_samples} samples each):"
    )
    print(
        f"  {'params':<7} {'leaf':<10} {'pathwise':>12} {'score function':>15} "
        f"{'control variate':>16} {'ratio':>9}"
    )
    for where, by_name in variance.items():
        for leaf in by_name["pathwise"]:
            path, score = by_name["pathwise"][leaf], by_name["score function"][leaf]
            control = by_name["control variate"][leaf]
            print(
                f"  {where:<7} {leaf:<10} {path:12.4g} {score:15.4g} "
                f"{control:16.4g} {score / path:9.3g}"
            )
    print("  (ratio: score function / pathwise)")

    result = {
        "initial_loc": np.asarray(jr.normal.to_natural(initial)["loc"]),
        "initial_scale": np.asarray(jr.normal.to_natural(initial)["scale"]),
        "loc": np.asarray(fitted["loc"]),
        "scale": np.asarray(fitted["scale"]),
        "exact_loc": np.asarray(exact_loc),
        "exact_scale": np.asarray(exact_scale),
        "losses": losses,
        "optimal_loss": float(optimal_loss(covariance)),
        "variance": variance,
    }
    if args.output is not None:
        _figure(result, args.output)
    print(f"\nDone in {time.perf_counter() - started:.1f} s.")
    return result


def _figure(result: dict[str, Any], folder: pathlib.Path) -> None:
    """Saves ``gaussian.png`` in ``folder`` if matplotlib is installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed: no figure written")
        return
    figure = Figure(figsize=(10, 3.5), layout="constrained")
    curve, marginals = figure.subplots(1, 2)
    losses = result["losses"]
    window = max(1, len(losses) // 50)
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    curve.plot(np.arange(len(smooth)) + window, smooth)
    curve.axhline(result["optimal_loss"], color="black", ls=":", label="optimum")
    curve.set(xlabel="step", ylabel="-ELBO (running mean)", title="Fit")
    curve.legend()
    dims = np.arange(len(result["loc"]))
    marginals.errorbar(
        dims - 0.1, result["loc"], result["scale"], fmt="o", label="fitted loc ± scale"
    )
    marginals.errorbar(
        dims + 0.1, result["exact_loc"], result["exact_scale"], fmt="s", label="exact"
    )
    marginals.set(xlabel="dimension", xticks=dims, title="Diagonal Gaussian")
    marginals.legend(loc="upper left")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gaussian.png"
    figure.savefig(path, dpi=120)
    print(f"Figure written to {path}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m jaxreparam.apps.gaussian``: parses ``argv`` and runs."""
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
