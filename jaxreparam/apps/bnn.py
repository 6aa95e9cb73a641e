"""Bayesian neural networks: calibrated digits, diabetes, and a widening band.

Three fits of a Bayesian MLP (``jr.nn.bayesian_mlp``: a mean-field Normal
posterior over every weight, local reparameterization by default), each by
``jr.fit`` with minibatches and optax's adam on the minibatch negative ELBO
per data point (``jr.nn.make_bnn_loss``, KL weight 1: the true ELBO, no
tempering; prior ``N(0, 1)`` on every weight, KL in closed form):

* **digits** (scikit-learn's 8x8 images, 1437 training and 360 test images):
  classification, categorical likelihood. The pixels (grey levels 0-16) are
  standardized per pixel with the training images' mean and standard
  deviation, the latter floored at one grey level (some border pixels are
  constant in the training images). Reported: test accuracy, NLL and expected
  calibration error (15 bins) of the predictive probabilities, the mean over
  ``--num-samples`` draws of the softmax (``jr.nn.predictive``), and, for
  comparison, the same numbers for a deterministic MLP of the same size
  trained by the same loop for the same steps (maximum likelihood).
* **diabetes** (442 patients, 10 features; 353 training, 89 test rows):
  regression, Gaussian likelihood ``N(y; f(x), sigma^2)``. The noise scale
  ``sigma`` is **learned**, a point estimate (``log sigma``, no prior, next to
  the posterior's params: the priors' KL counts ``MeanFieldParams`` nodes
  only). Features and target are standardized with the training rows'
  statistics; the test RMSE is reported in the target's original units
  (disease progression one year after baseline), the NLL in nats per test
  patient of the density of the target in those original units. The
  predictive distribution is taken as Gaussian with the Monte Carlo mean of
  ``f(x)`` and variance ``Var f(x) + sigma^2``.
* **toy**: Blundell et al. (2015)'s 1-D regression (their figure 5): 100
  noisy points of a curve on ``[0, 0.5]``, the predictive mean and a band of
  two predictive standard deviations on ``[-0.5, 1.2]``, which widens away
  from the data.

The job ends with the line ``bnn: digits test accuracy <a> NLL <n> ECE <e>;
diabetes test RMSE <r> NLL <m>`` and writes two figures: ``bnn_toy.png`` (the
band) and ``bnn_reliability.png`` (digits' reliability diagram,
``jr.nn.metrics.calibration_bins``).

Run it with ``python -m jaxreparam bnn --help``.

References:
    Blundell, Cornebise, Kavukcuoglu & Wierstra, "Weight uncertainty in neural
    networks", ICML 2015. Kingma, Salimans & Welling, "Variational dropout and
    the local reparameterization trick", NeurIPS 2015. Guo, Pleiss, Sun &
    Weinberger, "On calibration of modern neural networks", ICML 2017.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxreparam as jr
from jaxreparam.apps import _common, _data

__all__ = [
    "DESCRIPTION",
    "Fitted",
    "add_arguments",
    "classification_metrics",
    "digits_data",
    "fit_classifier",
    "fit_deterministic",
    "fit_regression",
    "log_softmax_likelihood",
    "main",
    "regression_predictive",
    "run",
    "summary",
]

DESCRIPTION = (
    "Bayesian neural networks: a Bayesian MLP on digits (accuracy, NLL, "
    "calibration) and diabetes (RMSE, NLL), and Blundell et al.'s 1-D band"
)
#: The floor, in grey levels, of the digits' per-pixel standard deviation.
PIXEL_STD_FLOOR = 1.0


class Fitted(NamedTuple):
    """A fitted network: its params, ``apply``, and ``jr.fit``'s result.

    ``apply(key, params, x)`` for the Bayesian networks; the deterministic
    one's is ``apply(params, x)``.
    """

    params: Any
    apply: Callable[..., jax.Array]
    result: Any


def digits_data(seed: int = 0) -> _data.Split:
    """Digits with pixels standardized by the training images' statistics.

    Each pixel's grey level (0-16) minus its training mean, over its training
    standard deviation floored at :data:`PIXEL_STD_FLOOR` grey levels.

    Args:
        seed: the split's seed (``_data.digits``).

    Returns:
        A ``Split``: ``x`` float32 ``(N, 64)``, ``y`` int32 labels.
    """
    data = _data.digits(seed=seed, kind="levels")
    x_train = np.asarray(data.x_train, np.float64)
    mean = x_train.mean(0)
    std = np.maximum(x_train.std(0), PIXEL_STD_FLOOR)

    def standardize(x):
        return jnp.asarray((np.asarray(x, np.float64) - mean) / std, jnp.float32)

    return _data.Split(
        standardize(data.x_train), data.y_train, standardize(data.x_test), data.y_test
    )


def log_softmax_likelihood(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """``log softmax(logits)[label]`` per example: the categorical likelihood."""
    log_probs = jax.nn.log_softmax(logits)
    return jnp.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]


def _printer(label: str, every: int | None) -> Callable | None:
    if not every:
        return None

    def callback(step, params, metrics):
        del params
        parts = [f"loss {metrics['loss'].mean():8.4f}"]
        parts += [
            f"{k} {metrics[k].mean():9.4f}" for k in ("nll", "kl") if k in metrics
        ]
        print(f"  {label:<9} {step:>6}  " + "  ".join(parts), flush=True)

    return callback


def _fit(
    key: jax.Array,
    params: Any,
    data: Any,
    loss: Callable,
    *,
    num_steps: int,
    batch_size: int | None,
    learning_rate: float,
    label: str,
    report_every: int | None,
) -> jr.FitResult:
    """``jr.fit`` by adam, its rate decaying (cosine) to 5% of ``learning_rate``.

    The fit loop shared by the three networks: a progress line every
    ``report_every`` steps (``None``: none), headed by ``label``.
    """
    schedule = optax.cosine_decay_schedule(learning_rate, num_steps, alpha=0.05)
    return jr.fit(
        key,
        params,
        data,
        loss=loss,
        optimizer=optax.adam(schedule),
        num_steps=num_steps,
        batch_size=batch_size,
        callback=_printer(label, report_every),
        callback_every=report_every,
        progress=False,
    )


def fit_classifier(
    key: jax.Array,
    data: _data.Split,
    *,
    hidden: Sequence[int] = (100,),
    num_steps: int = 2000,
    batch_size: int = 128,
    learning_rate: float = 0.01,
    reparameterization: str = "local",
    init_scale: float = 0.01,
    prior_scale: float = 1.0,
    report_every: int | None = None,
) -> Fitted:
    """A Bayesian MLP classifier fitted by the minibatch ELBO (KL weight 1).

    Args:
        key: a PRNG key (the initial params, then the fit).
        data: a ``Split`` with float inputs and int labels.
        hidden: the hidden widths.
        num_steps: adam steps.
        batch_size: examples per step.
        learning_rate: adam's initial learning rate (cosine decay to 5%).
        reparameterization: ``"weight"``, ``"local"`` or ``"flipout"``.
        init_scale: the initial posterior standard deviation of each weight.
        prior_scale: the standard deviation of the ``N(0, s^2)`` prior.
        report_every: steps between progress lines (``None``: none).

    Returns:
        A :class:`Fitted` with the posterior's params and the network's apply.
    """
    sizes = (data.x_train.shape[-1], *hidden, int(data.y_train.max()) + 1)
    net = jr.nn.bayesian_mlp(
        sizes, reparameterization=reparameterization, init_scale=init_scale
    )
    init_key, fit_key = jax.random.split(key)
    loss = jr.nn.make_bnn_loss(
        net.apply,
        log_softmax_likelihood,
        jr.nn.normal_prior(prior_scale),
        num_data=int(data.x_train.shape[0]),
    )
    result = _fit(
        fit_key,
        jax.jit(net.init)(init_key),
        (data.x_train, data.y_train),
        loss,
        num_steps=num_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        label="digits",
        report_every=report_every,
    )
    return Fitted(result.params, net.apply, result)


def fit_deterministic(
    key: jax.Array,
    data: _data.Split,
    *,
    hidden: Sequence[int] = (100,),
    num_steps: int = 2000,
    batch_size: int = 128,
    learning_rate: float = 0.01,
    report_every: int | None = None,
) -> Fitted:
    """The same MLP, deterministic, by maximum likelihood with the same loop.

    Its initial weights are the Bayesian network's posterior means at
    initialisation for the same ``key`` (``jr.nn.posterior_mean``), so the two
    fits differ only in the weights' noise and the KL term.
    """
    sizes = (data.x_train.shape[-1], *hidden, int(data.y_train.max()) + 1)
    init_key, fit_key = jax.random.split(key)
    params = jr.nn.posterior_mean(jax.jit(jr.nn.bayesian_mlp(sizes).init)(init_key))
    net = jr.nn.mlp(sizes[0], sizes[-1], tuple(hidden))

    def loss(key, params, batch):
        del key
        inputs, labels = batch
        return -jnp.mean(log_softmax_likelihood(net.apply(params, inputs), labels))

    result = _fit(
        fit_key,
        params,
        (data.x_train, data.y_train),
        loss,
        num_steps=num_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        label="MLP",
        report_every=report_every,
    )
    return Fitted(result.params, net.apply, result)


def classification_metrics(probs: jax.Array, labels: jax.Array) -> dict[str, float]:
    """Accuracy, NLL (nats per example) and ECE (15 bins) of ``probs``."""
    m = jr.nn.metrics
    return {
        "accuracy": float(m.accuracy(probs, labels)),
        "nll": float(m.negative_log_likelihood(probs, labels)),
        "ece": float(m.expected_calibration_error(probs, labels)),
    }


def _regression_net(
    in_size: int, hidden: Sequence[int], reparameterization: str, init_scale: float
) -> tuple[Callable, Callable]:
    """``init(key) -> {"net", "log_noise"}`` and ``apply -> (..., 2)``.

    ``apply(key, params, x)[..., 0]`` is the network's output ``f(x)``,
    ``[..., 1]`` the learned ``log sigma`` broadcast to it, so that the
    likelihood (a function of the outputs and targets only) can read it.
    """
    net = jr.nn.bayesian_mlp(
        (in_size, *hidden, 1),
        reparameterization=reparameterization,
        init_scale=init_scale,
    )

    def init(key):
        return {"net": net.init(key), "log_noise": jnp.log(jnp.float32(0.5))}

    def apply(key, params, x):
        mean = net.apply(key, params["net"], x)[..., 0]
        log_noise = jnp.broadcast_to(params["log_noise"], mean.shape)
        return jnp.stack([mean, log_noise], axis=-1)

    return init, apply


def _gaussian_likelihood(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    mean, log_noise = outputs[..., 0], outputs[..., 1]
    z = (targets - mean) * jnp.exp(-log_noise)
    return -0.5 * z * z - log_noise - 0.5 * math.log(2 * math.pi)


def fit_regression(
    key: jax.Array,
    x: jax.Array,
    y: jax.Array,
    *,
    hidden: Sequence[int] = (50,),
    num_steps: int = 2000,
    batch_size: int | None = 64,
    learning_rate: float = 0.01,
    reparameterization: str = "local",
    init_scale: float = 0.01,
    prior_scale: float = 1.0,
    report_every: int | None = None,
    label: str = "regression",
) -> Fitted:
    """A Bayesian MLP regression ``y ~ N(f(x), sigma^2)``, ``sigma`` learned.

    Args:
        key: a PRNG key (the initial params, then the fit).
        x: inputs ``(N, D)``.
        y: targets ``(N,)``.
        hidden: the hidden widths.
        num_steps: adam steps.
        batch_size: examples per step (``None``: all).
        learning_rate: adam's initial learning rate (cosine decay to 5%).
        reparameterization: ``"weight"``, ``"local"`` or ``"flipout"``.
        init_scale: the initial posterior standard deviation of each weight.
        prior_scale: the standard deviation of the ``N(0, s^2)`` prior.
        report_every: steps between progress lines (``None``: none).
        label: the name printed in front of each progress line.

    Returns:
        A :class:`Fitted`: params ``{"net": MeanFieldParams, "log_noise":
        scalar}``; ``apply(key, params, x) -> (..., 2)``, ``f(x)`` and ``log
        sigma`` (see :func:`regression_predictive`).
    """
    init, apply = _regression_net(x.shape[-1], hidden, reparameterization, init_scale)
    init_key, fit_key = jax.random.split(key)
    loss = jr.nn.make_bnn_loss(
        apply,
        _gaussian_likelihood,
        jr.nn.normal_prior(prior_scale),
        num_data=int(x.shape[0]),
    )
    result = _fit(
        fit_key,
        jax.jit(init)(init_key),
        (x, y),
        loss,
        num_steps=num_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        label=label,
        report_every=report_every,
    )
    return Fitted(result.params, apply, result)


def regression_predictive(
    key: jax.Array, fitted: Fitted, x: jax.Array, num_samples: int = 100
) -> tuple[jax.Array, jax.Array]:
    """The predictive mean and standard deviation of ``y`` at ``x``.

    ``mean = E f(x)`` and ``std = sqrt(Var f(x) + sigma^2)`` over the
    posterior's draws (``jr.nn.predictive``): the moments of the predictive
    distribution of ``y`` (a Gaussian mixture), in the units of the fit.
    """
    out = jr.nn.predictive(key, fitted.apply, fitted.params, x, num_samples=num_samples)
    noise = jnp.exp(fitted.params["log_noise"])
    return out.mean[..., 0], jnp.sqrt(out.std[..., 0] ** 2 + noise**2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares this application's options on ``parser``."""
    parser.add_argument(
        "--steps", type=int, default=2000, help="adam steps of the digits fits"
    )
    parser.add_argument(
        "--regression-steps",
        type=int,
        default=2000,
        help="adam steps of the diabetes and toy fits",
    )
    parser.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=[100],
        help="hidden widths of the digits MLP (the regressions use 50)",
    )
    parser.add_argument(
        "--reparameterization",
        choices=("local", "flipout", "weight"),
        default="local",
        help="gradient estimator: local reparameterization (Kingma et al. 2015), "
        "Flipout (Wen et al. 2018) or one weight draw per batch (Blundell et al.)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=128, help="digits examples per step"
    )
    parser.add_argument(
        "--num-samples", type=int, default=100, help="posterior draws per prediction"
    )
    _common.add_common_arguments(parser, figures_folder="bnn_figures")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the application with parsed ``args``; returns the numbers it printed."""
    started = time.perf_counter()
    keys = jax.random.split(jax.random.key(args.seed), 8)
    hidden = tuple(args.hidden)
    every = max(1, args.steps // 4)
    # The deterministic MLP starts where the Bayesian one does: the same key.
    bnn_key = keys[0]
    mlp_key = jax.random.clone(bnn_key)
    data = digits_data()
    print(
        f"Digits: {data.x_train.shape[0]} training and {data.x_test.shape[0]} test "
        f"images; Bayesian MLP {(64, *hidden, 10)} ({args.reparameterization}), "
        f"prior N(0, 1), KL weight 1, {args.steps} adam steps of "
        f"{args.batch_size}; loss = -ELBO / N (nats per image)."
    )
    bnn = fit_classifier(
        bnn_key,
        data,
        hidden=hidden,
        num_steps=args.steps,
        batch_size=args.batch_size,
        reparameterization=args.reparameterization,
        report_every=every,
    )
    probs = jr.nn.predictive(
        keys[1],
        bnn.apply,
        bnn.params,
        data.x_test,
        num_samples=args.num_samples,
        transform=jax.nn.softmax,
    ).mean
    digits = classification_metrics(probs, data.y_test)
    mlp = fit_deterministic(
        mlp_key,
        data,
        hidden=hidden,
        num_steps=args.steps,
        batch_size=args.batch_size,
        report_every=every,
    )
    mlp_probs = jax.nn.softmax(mlp.apply(mlp.params, data.x_test))
    deterministic = classification_metrics(mlp_probs, data.y_test)
    print(f"  {'':<14}{'accuracy':>9}{'NLL':>9}{'ECE':>9}")
    for name, values in (("Bayesian MLP", digits), ("MLP (ML)", deterministic)):
        print(
            f"  {name:<14}{values['accuracy']:9.4f}{values['nll']:9.4f}"
            f"{values['ece']:9.4f}"
        )

    diabetes = _data.diabetes()
    print(
        f"\nDiabetes: {diabetes.x_train.shape[0]} training and "
        f"{diabetes.x_test.shape[0]} test patients, standardized; Bayesian MLP "
        f"(10, 50, 1), Gaussian likelihood with a learned noise scale, "
        f"{args.regression_steps} adam steps of 64."
    )
    reg = fit_regression(
        keys[2],
        diabetes.x_train,
        diabetes.y_train,
        num_steps=args.regression_steps,
        reparameterization=args.reparameterization,
        report_every=max(1, args.regression_steps // 4),
        label="diabetes",
    )
    mean, std = regression_predictive(keys[3], reg, diabetes.x_test, args.num_samples)
    y_std = float(diabetes.y_std)
    m = jr.nn.metrics
    rmse = float(m.root_mean_squared_error(mean, diabetes.y_test)) * y_std
    # The density of y in original units: divide by y_std (add log y_std).
    nll = float(m.gaussian_negative_log_likelihood(mean, std, diabetes.y_test))
    nll += math.log(y_std)
    noise = float(jnp.exp(reg.params["log_noise"])) * y_std
    print(f"  test RMSE {rmse:.2f}, NLL {nll:.3f} nats; learned sigma {noise:.2f}")

    toy = _data.regression_toy(keys[4])
    print(
        f"\nToy (Blundell et al. 2015, fig. 5): {toy.x_train.shape[0]} points on "
        f"[0, 0.5]; Bayesian MLP (1, 50, 50, 1), {args.regression_steps} adam steps."
    )
    toy_fit = fit_regression(
        keys[5],
        toy.x_train,
        toy.y_train,
        hidden=(50, 50),
        num_steps=args.regression_steps,
        batch_size=None,
        reparameterization=args.reparameterization,
        report_every=max(1, args.regression_steps // 4),
        label="toy",
    )
    toy_mean, toy_std = regression_predictive(
        keys[6], toy_fit, toy.x_grid, args.num_samples
    )
    x = np.asarray(toy.x_grid[:, 0])
    inside = float(np.mean(np.asarray(toy_std)[(x >= 0) & (x <= 0.5)]))
    outside = float(np.mean(np.asarray(toy_std)[(x >= 0.8) | (x <= -0.2)]))
    print(
        f"  predictive std: {inside:.3f} on the data [0, 0.5], {outside:.3f} on "
        f"[-0.5, -0.2] and [0.8, 1.2] ({outside / inside:.1f}x)"
    )

    results = {
        "digits": digits,
        "deterministic": deterministic,
        "probs": probs,
        "labels": data.y_test,
        "diabetes_rmse": rmse,
        "diabetes_nll": nll,
        "diabetes_noise": noise,
        "toy": toy,
        "toy_mean": toy_mean,
        "toy_std": toy_std,
        "toy_std_ratio": outside / inside,
        "histories": {
            "digits": bnn.result.history,
            "diabetes": reg.result.history,
            "toy": toy_fit.result.history,
        },
    }
    if args.figures:
        _figures(results, args.output)
    return _common.finish(results, started, summary)


def summary(results: dict[str, Any]) -> str:
    """The last line the application prints."""
    d = results["digits"]
    return (
        f"bnn: digits test accuracy {d['accuracy']:.4f} NLL {d['nll']:.4f} "
        f"ECE {d['ece']:.4f}; diabetes test RMSE {results['diabetes_rmse']:.2f} "
        f"NLL {results['diabetes_nll']:.3f}"
    )


def _figures(results: dict[str, Any], folder: pathlib.Path) -> None:
    """Writes ``bnn_toy.png`` and ``bnn_reliability.png`` if matplotlib is here."""
    Figure = _common.figure_class()
    if Figure is None:
        return
    toy = results["toy"]
    x = np.asarray(toy.x_grid[:, 0])
    mean, std = np.asarray(results["toy_mean"]), np.asarray(results["toy_std"])
    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.subplots()
    ax.fill_between(x, mean - 2 * std, mean + 2 * std, alpha=0.3, label="±2 std")
    ax.plot(x, mean, label="predictive mean")
    ax.plot(x, np.asarray(toy.y_grid), "k--", lw=1, label="true curve")
    ax.scatter(np.asarray(toy.x_train[:, 0]), np.asarray(toy.y_train), s=8, c="k")
    ax.set(xlabel="x", ylabel="y", ylim=(-1.5, 2.0))
    ax.set_title(
        "Bayesian MLP on Blundell et al.'s toy: the band widens away from the data"
    )
    ax.legend(loc="upper left")
    _common.save_figure(figure, folder, "bnn_toy.png")

    bins = jr.nn.metrics.calibration_bins(
        results["probs"], results["labels"], num_bins=10
    )
    edges = np.asarray(bins.edges)
    accuracy = np.nan_to_num(np.asarray(bins.accuracy))
    figure = Figure(figsize=(5, 5), layout="constrained")
    ax = figure.subplots()
    ax.bar(edges[:-1], accuracy, width=np.diff(edges), align="edge", edgecolor="k")
    ax.plot([0, 1], [0, 1], "r--", label="perfect calibration")
    d = results["digits"]
    ax.set(
        xlabel="confidence (top predictive probability)",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"digits, Bayesian MLP: ECE {d['ece']:.3f}",
    )
    ax.legend(loc="upper left")
    _common.save_figure(figure, folder, "bnn_reliability.png")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m jaxreparam.apps.bnn``: parses ``argv`` and runs."""
    return _common.module_main(DESCRIPTION, add_arguments, run, argv)


if __name__ == "__main__":
    main()
