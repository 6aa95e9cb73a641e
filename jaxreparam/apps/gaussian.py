"""Fits a diagonal Gaussian to a correlated Gaussian; compares gradient estimators.

The target is ``p = N(m, S)`` in ``D = 4`` dimensions with correlated
coordinates. The variational family is a diagonal Gaussian, a batch of ``D``
``jr.normal`` params. Minimising ``KL(q || p)`` over diagonal Gaussians has a
closed-form answer: ``loc = m`` and ``scale_i = 1 / sqrt((S^-1)_ii)``, the
conditional standard deviations, narrower than the marginal ones.

Everything is the library's:

* the loss is the negative ELBO, ``jr.objectives.make_elbo_loss`` with the
  entropy in closed form (``entropy="analytic"``, Stan's ADVI), its expectation
  estimated by ``jr.estimators.pathwise``;
* ``jr.fit`` minimises it with optax's adam in compiled chunks, and calls back
  every ``--report-every`` steps to print the -ELBO and the distance to the
  exact answer, which it records in its history;
* ``jr.diagnostics.compare`` then draws the loss's gradient under many keys, at
  the start and at the fit, for the same ELBO under three estimators: pathwise,
  score function, and score function with a control variate whose expectation
  is differentiated pathwise (``jr.estimators.score_function_control_variate``,
  the Taylor expansion of ``log_target`` around the mean of q, Grathwohl et
  al.'s LAX), and reports each gradient's variance and signal-to-noise ratio.

Run it with ``python -m jaxreparam gaussian --help``.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxreparam as jr
from jaxreparam.apps import _common

__all__ = [
    "DESCRIPTION",
    "add_arguments",
    "exact_fit",
    "gradient_report",
    "main",
    "make_losses",
    "optimal_loss",
    "run",
    "target",
]

DESCRIPTION = "fit a diagonal Gaussian to a correlated one; compare gradient estimators"
ESTIMATORS = {
    "pathwise": jr.estimators.pathwise,
    "score function": jr.estimators.score_function,
    "control variate": jr.estimators.score_function_control_variate,
}
WIDTHS = (6, 10, 17, 17)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares this application's options on ``parser``."""
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps")
    parser.add_argument(
        "--num-samples", type=int, default=8, help="Monte Carlo draws per gradient"
    )
    parser.add_argument("--learning-rate", type=float, default=0.1, help="adam's")
    parser.add_argument(
        "--report-every",
        type=int,
        default=None,
        help="steps between progress lines (default: a tenth of --steps)",
    )
    parser.add_argument(
        "--variance-draws",
        type=int,
        default=1000,
        help="independent gradients drawn to measure each variance",
    )
    _common.add_common_arguments(
        parser, figures_folder=None, seed_help="seed of the PRNG key"
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


def make_losses(log_target, num_samples: int) -> dict[str, Any]:
    """The negative ELBO ``loss(key, params)`` under each estimator of ``ESTIMATORS``.

    The entropy is in closed form, so the Monte Carlo integrand is
    ``log_target`` alone, which does not depend on the params, as the
    control-variate estimator requires.
    """
    return {
        name: jr.objectives.make_elbo_loss(
            jr.normal,
            log_target,
            num_samples=num_samples,
            estimator=estimator,
            entropy="analytic",
        )
        for name, estimator in ESTIMATORS.items()
    }


def gradient_report(
    statistics: dict[str, jr.diagnostics.GradientStatistics],
) -> dict[str, dict[str, dict[str, float]]]:
    """Mean variance and mean SNR per estimator and params leaf (and ``"all"``).

    Args:
        statistics: estimator name -> its ``jr.diagnostics.GradientStatistics``.

    Returns:
        ``{"variance": table, "snr": table}``, each ``table[name][leaf]`` the
        average over the leaf's elements (SNRs that are ``nan`` left out).
    """
    report: dict[str, dict[str, dict[str, float]]] = {"variance": {}, "snr": {}}
    for name, stats in statistics.items():
        for field, tree in (("variance", stats.variance), ("snr", stats.snr)):
            paths = jax.tree_util.tree_flatten_with_path(tree)[0]
            leaves = {
                jax.tree_util.keystr(path, simple=True, separator="."): np.asarray(v)
                for path, v in paths
            }
            leaves["all"] = np.concatenate([v.ravel() for v in leaves.values()])
            report[field][name] = {k: float(np.nanmean(v)) for k, v in leaves.items()}
    return report


def _reporter(exact_loc: jax.Array, exact_scale: jax.Array):
    """The callback of ``jr.fit``: prints a line, returns the errors to record."""
    columns = ("step", "-ELBO", "max |loc error|", "max |scale error|")
    print("  " + "  ".join(f"{c:>{w}}" for c, w in zip(columns, WIDTHS, strict=True)))

    def callback(step: int, params: Any, metrics: dict[str, np.ndarray]):
        fitted = jr.normal.to_natural(params)
        loc_error = jnp.max(jnp.abs(fitted["loc"] - exact_loc))
        scale_error = jnp.max(jnp.abs(fitted["scale"] - exact_scale))
        print(
            f"  {step:>6}  {metrics['loss'].mean():10.4f}  {float(loc_error):17.4f}  "
            f"{float(scale_error):17.4f}",
            flush=True,
        )
        return {"loc_error": loc_error, "scale_error": scale_error}

    return callback


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
    losses = make_losses(log_target, args.num_samples)
    schedule = optax.cosine_decay_schedule(args.learning_rate, args.steps, alpha=0.01)
    every = args.report_every or max(1, args.steps // 10)
    print(
        f"Fitting a diagonal Gaussian to N(m, S) in 4 dimensions: jr.fit, {args.steps} "
        f"adam steps, pathwise gradient of the ELBO, {args.num_samples} samples per "
        f"step; -ELBO averaged over the last {every} steps"
    )
    result = jr.fit(
        fit_key,
        initial,
        loss=losses["pathwise"],
        optimizer=optax.adam(schedule),
        num_steps=args.steps,
        callback=_reporter(exact_loc, exact_scale),
        callback_every=every,
        progress=False,
    )
    params = result.params
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
    history = result.history
    tail = history["loss"][-max(1, len(history["loss"]) // 20) :]
    print(
        f"  -ELBO over the last {len(tail)} steps: {tail.mean():.4f} "
        f"(optimum {float(optimal_loss(covariance)):.4f})"
    )

    statistics, variance, snr = {}, {}, {}
    for where, point, key in (
        ("start", initial, start_key),
        ("fitted", params, end_key),
    ):
        statistics[where] = jr.diagnostics.compare(
            losses, key, point, num_keys=args.variance_draws
        )
        report = gradient_report(statistics[where])
        variance[where], snr[where] = report["variance"], report["snr"]
    _print_table(
        f"\nGradient variance of -ELBO per parameter, averaged "
        f"(jr.diagnostics.compare: {args.variance_draws} gradients of "
        f"{args.num_samples} samples each, the same keys for each estimator):",
        variance,
        ratio=True,
    )
    print("  (ratio: score function / pathwise)")
    _print_table(
        "\nGradient signal-to-noise ratio |mean| / std per parameter, averaged "
        "(near the optimum the mean gradient, and so the SNR, goes to zero):",
        snr,
        ratio=False,
    )

    results = {
        "initial_loc": np.asarray(jr.normal.to_natural(initial)["loc"]),
        "initial_scale": np.asarray(jr.normal.to_natural(initial)["scale"]),
        "loc": np.asarray(fitted["loc"]),
        "scale": np.asarray(fitted["scale"]),
        "exact_loc": np.asarray(exact_loc),
        "exact_scale": np.asarray(exact_scale),
        "losses": history["loss"],
        "history": history,
        "optimal_loss": float(optimal_loss(covariance)),
        "statistics": statistics,
        "variance": variance,
        "snr": snr,
    }
    if args.figures and args.output is not None:
        _figure(results, args.output)
    print(f"\nDone in {time.perf_counter() - started:.1f} s.")
    return results


def _print_table(title: str, table: dict, *, ratio: bool) -> None:
    """Rows ``where leaf value...`` of ``table[where][estimator][leaf]``."""
    print(title)
    header = "".join(f" {name:>16}" for name in ESTIMATORS)
    print(f"  {'params':<7} {'leaf':<10}{header}" + (f" {'ratio':>9}" if ratio else ""))
    for where, by_name in table.items():
        for leaf in by_name["pathwise"]:
            values = [by_name[name][leaf] for name in ESTIMATORS]
            row = "".join(f" {v:16.4g}" for v in values)
            if ratio:
                row += f" {values[1] / values[0]:9.3g}"
            print(f"  {where:<7} {leaf:<10}{row}")


def _figure(result: dict[str, Any], folder: pathlib.Path) -> None:
    """Saves ``gaussian.png`` in ``folder`` if matplotlib is installed."""
    Figure = _common.figure_class("figure")
    if Figure is None:
        return
    figure = Figure(figsize=(14, 3.8), layout="constrained")
    curve, marginals, bars = figure.subplots(1, 3)
    losses = result["losses"]
    window = max(1, len(losses) // 50)
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    curve.plot(np.arange(len(smooth)) + window, smooth, label="-ELBO (running mean)")
    curve.axhline(result["optimal_loss"], color="black", ls=":", label="optimum")
    curve.set(xlabel="step", ylabel="-ELBO", title="Fit (jr.fit)")
    errors = curve.twinx()
    history = result["history"]
    for name, marker in (("loc_error", "o"), ("scale_error", "s")):
        errors.semilogy(
            history["callback_step"], history[name], marker, color="gray", ms=4,
            label=name.replace("_", " "),
        )  # fmt: skip
    errors.set_ylabel("max |error| (callback)")
    curve.legend(loc="upper right")
    errors.legend(loc="center right")
    dims = np.arange(len(result["loc"]))
    marginals.errorbar(
        dims - 0.1, result["loc"], result["scale"], fmt="o", label="fitted loc ± scale"
    )
    marginals.errorbar(
        dims + 0.1, result["exact_loc"], result["exact_scale"], fmt="s", label="exact"
    )
    marginals.set(xlabel="dimension", xticks=dims, title="Diagonal Gaussian")
    marginals.legend(loc="upper left")
    names = list(ESTIMATORS)
    width = 0.8 / len(result["variance"])
    for i, (where, by_name) in enumerate(result["variance"].items()):
        heights = [by_name[name]["all"] for name in names]
        bars.bar(np.arange(len(names)) + i * width, heights, width, label=where)
    bars.set_yscale("log")
    bars.set(
        xticks=np.arange(len(names)) + width / 2,
        xticklabels=names,
        ylabel="mean gradient variance",
        title="jr.diagnostics.compare",
    )
    bars.legend()
    _common.save_figure(figure, folder, "gaussian.png", dpi=120)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m jaxreparam.apps.gaussian``: parses ``argv`` and runs."""
    return _common.module_main(DESCRIPTION, add_arguments, run, argv)


if __name__ == "__main__":
    main()
