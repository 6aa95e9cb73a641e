"""Variational autoencoders on scikit-learn's digits: the ELBO against IWAE.

Trains two models of the same architecture on the 1437 training digits of the
fixed split (``jaxreparam.apps._data.digits``, 8x8 pixels, nothing
downloaded): a Gaussian-encoder VAE by the ELBO (Kingma & Welling 2014; the KL
in closed form) and an importance-weighted autoencoder by the IWAE bound with
``K = 5`` draws (Burda et al. 2016), both with ``jr.vae.make_vae`` and
``jr.fit`` (minibatches, adam with cosine decay, the same keys). Each is then
scored on the 360 test digits by the importance-sampled test log-likelihood
(``jr.vae.log_likelihood``, ``K = 5000`` draws per digit, chunked) and by its
number of active latent units (``jr.vae.active_units``, Burda et al.'s
covariance criterion), and the job ends with the line::

    vae: test log-likelihood VAE <a> IWAE <b> nats; active units VAE <u> IWAE <v>

(``n/a`` for a model that ``--objective`` left out). The log-likelihoods are
nats per digit, averaged over the test digits.

**The likelihood.** The digits' pixels are grey levels 0..16, so the default
decoder is a categorical over the 17 levels per pixel (``--likelihood
categorical``): a normalized distribution over the data as they are, whose
test log-likelihood is the log-probability of the actual digits. The classic
choice of the VAE literature, a Bernoulli on binarized pixels (Burda et al.'s
binarized MNIST; here ``levels > 8``), is ``--likelihood bernoulli``; it
models a different, coarser data set, so its numbers are not comparable with
the categorical ones.

Figures (matplotlib, the optional ``examples`` extra): samples from each
model, test digits and their reconstructions, and the test digits' posterior
means coloured by digit (with a latent size above 2, projected on their first
two principal components, computed in numpy).

Run it with ``python -m jaxreparam vae --help``.

References:
    Kingma & Welling, "Auto-encoding variational Bayes", ICLR 2014. Burda,
    Grosse & Salakhutdinov, "Importance weighted autoencoders", ICLR 2016.
"""

from __future__ import annotations

import argparse
import functools
import math
import pathlib
import time
from typing import Any

import jax
import numpy as np
import optax

import jaxreparam as jr
from jaxreparam.apps import _common, _data

__all__ = [
    "DESCRIPTION",
    "LIKELIHOODS",
    "OBJECTIVES",
    "add_arguments",
    "build",
    "evaluate",
    "latent_projection",
    "load",
    "main",
    "run",
    "summary",
    "train",
]

DESCRIPTION = (
    "variational autoencoders on scikit-learn's digits: ELBO vs IWAE (K = 5), "
    "test log-likelihood (K = 5000) and active units"
)
#: ``--likelihood`` -> the digits' pixel encoding it models.
LIKELIHOODS = {"categorical": "levels", "bernoulli": "binary"}
#: ``--objective`` -> the models it trains.
OBJECTIVES = {"vae": ("vae",), "iwae": ("iwae",), "both": ("vae", "iwae")}
NAMES = {"vae": "VAE", "iwae": "IWAE"}


def load(likelihood: str = "categorical") -> _data.Split:
    """The digits' fixed split (seed 0, 1437 / 360), encoded for ``likelihood``.

    Args:
        likelihood: ``"categorical"`` (grey levels 0..16, int32) or
            ``"bernoulli"`` (pixels ``> 8`` as 0/1 floats).

    Returns:
        The ``Split`` of ``jaxreparam.apps._data.digits``.
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(
            f"vae.load: likelihood must be one of {tuple(LIKELIHOODS)}, "
            f"got {likelihood!r}"
        )
    return _data.digits(0.2, 0, kind=LIKELIHOODS[likelihood])


def build(
    objective: str,
    *,
    latent_size: int = 16,
    likelihood: str = "categorical",
    num_samples: int = 5,
    hidden_sizes: tuple[int, ...] = (128,),
    **options: Any,
) -> jr.vae.VAE:
    """The digits model: 64 pixels -> MLP -> Gaussian ``q(z | x)``, and back.

    Args:
        objective: ``"vae"`` (the ELBO, one draw, analytic KL) or ``"iwae"``
            (the IWAE bound with ``num_samples`` draws).
        latent_size: the latent size.
        likelihood: ``"categorical"`` (17 grey levels) or ``"bernoulli"``.
        num_samples: IWAE's ``K``.
        hidden_sizes: the hidden widths of the encoder and decoder (tanh).
        **options: passed on to ``jr.vae.make_vae`` (``gradient``,
            ``warmup_steps``, ``posterior``, ...).

    Returns:
        The ``jr.vae.VAE``.
    """
    head = jr.vae.categorical(17) if likelihood == "categorical" else jr.vae.bernoulli
    if objective == "vae":
        options = {"objective": "elbo", **options}
    else:
        options = {"objective": "iwae", "num_samples": num_samples, **options}
    return jr.vae.make_vae(
        data_size=64,
        latent_size=latent_size,
        likelihood=head,
        hidden_sizes=tuple(hidden_sizes),
        **options,
    )


def train(
    key: jax.Array,
    vae: jr.vae.VAE,
    x_train: jax.Array,
    *,
    num_steps: int,
    batch_size: int = 100,
    learning_rate: float = 3e-3,
    report_every: int | None = None,
    label: str = "",
) -> tuple[jr.vae.VAEParams, Any]:
    """Fits ``vae`` to ``x_train`` with ``jr.fit`` and adam (cosine decay to 10%).

    Args:
        key: a PRNG key: the initial params and the fit's draws and minibatches.
        vae: the model.
        x_train: the training digits, ``(N, 64)``.
        num_steps: adam steps.
        batch_size: digits per step.
        learning_rate: adam's initial learning rate.
        report_every: print the mean training loss every this many steps
            (``None``: no printing).
        label: the name printed in front of each progress line.

    Returns:
        ``(params, result)``: the fitted params and ``jr.fit``'s ``FitResult``.
    """
    init_key, fit_key = jax.random.split(key)
    params = vae.init(init_key)

    def callback(step, params, metrics):
        bound = "elbo" if "elbo" in metrics else "iwae"
        print(
            f"  {label:<5} step {step:>6}  loss {metrics['loss'].mean():8.3f}  "
            f"{bound} {metrics[bound].mean():8.3f}",
            flush=True,
        )

    schedule = optax.cosine_decay_schedule(learning_rate, num_steps, alpha=0.1)
    result = jr.fit(
        fit_key,
        params,
        x_train,
        loss=vae.loss,
        optimizer=optax.adam(schedule),
        num_steps=num_steps,
        batch_size=batch_size,
        callback=callback if report_every else None,
        callback_every=report_every,
        progress=False,
    )
    return result.params, result


def evaluate(
    key: jax.Array,
    vae: jr.vae.VAE,
    params: jr.vae.VAEParams,
    x: jax.Array,
    *,
    num_samples: int = 5000,
    chunk_size: int = 500,
) -> dict[str, Any]:
    """Test log-likelihood (importance sampling) and active units of a model.

    Args:
        key: a PRNG key.
        vae: the model.
        params: its params.
        x: the test digits, ``(M, 64)``.
        num_samples: draws per digit of the log-likelihood estimate.
        chunk_size: draws per chunk (bounds the memory).

    Returns:
        A dict: ``log_likelihood`` (the mean over the digits), ``standard_error``
        (of that mean, over the digits: ``std / sqrt(M)``),
        ``monte_carlo_error`` (the mean per-digit importance-sampling standard
        error), ``per_digit`` (``(M,)``), ``active_units`` (an int) and
        ``variance`` (each unit's ``Var_x E_q[z_u]``).
    """
    ll_key, au_key = jax.random.split(key)
    estimate = jax.jit(
        functools.partial(
            jr.vae.log_likelihood,
            vae=vae,
            num_samples=num_samples,
            chunk_size=min(chunk_size, num_samples),
        )
    )(ll_key, params=params, x=x)
    values = np.asarray(estimate.value, np.float64)
    units = jr.vae.active_units(au_key, vae, params, x)
    return {
        "log_likelihood": float(values.mean()),
        "standard_error": float(values.std(ddof=1) / math.sqrt(values.size)),
        "monte_carlo_error": float(np.nanmean(np.asarray(estimate.standard_error))),
        "per_digit": values,
        "active_units": int(units.num_active),
        "variance": np.asarray(units.variance),
    }


def latent_projection(means: np.ndarray) -> tuple[np.ndarray, str]:
    """The posterior means in 2-D: as they are, or their first two principal axes.

    Args:
        means: ``(M, latent_size)`` posterior means.

    Returns:
        ``(points (M, 2), how)``, ``how`` a phrase for the figure's title.
    """
    means = np.asarray(means, np.float64)
    if means.shape[1] == 1:
        return np.c_[means, np.zeros(len(means))], "z (1-D)"
    if means.shape[1] == 2:
        return means, "posterior means (z1, z2)"
    centred = means - means.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, "posterior means, first 2 principal components"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares this application's options on ``parser``."""
    parser.add_argument("--steps", type=int, default=2000, help="adam steps per model")
    parser.add_argument(
        "--latent-dim", type=int, default=16, help="latent size of both models"
    )
    parser.add_argument(
        "--objective",
        choices=tuple(OBJECTIVES),
        default="both",
        help="train the ELBO model (vae), the IWAE model (iwae), or both",
    )
    parser.add_argument(
        "--likelihood",
        choices=tuple(LIKELIHOODS),
        default="categorical",
        help="categorical over the 17 grey levels (default: the data as they "
        "are) or Bernoulli on binarized pixels (the classic)",
    )
    parser.add_argument("--num-samples", type=int, default=5, help="IWAE's K")
    parser.add_argument(
        "--eval-samples",
        type=int,
        default=5000,
        help="importance samples per test digit of the log-likelihood",
    )
    parser.add_argument("--batch-size", type=int, default=100, help="digits per step")
    parser.add_argument(
        "--hidden", type=int, default=128, help="hidden width of encoder and decoder"
    )
    parser.add_argument(
        "--learning-rate", type=float, default=3e-3, help="adam's initial rate"
    )
    _common.add_common_arguments(parser, figures_folder="vae_figures")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the application with parsed ``args``; returns the numbers it printed."""
    started = time.perf_counter()
    data = load(args.likelihood)
    keys = jax.random.split(jax.random.key(args.seed), 3)
    train_key, eval_key, figure_key = keys[0], keys[1], keys[2]
    every = max(1, args.steps // 5)
    print(
        f"Digits: {data.x_train.shape[0]} training and {data.x_test.shape[0]} test "
        f"images of 8x8 pixels, {args.likelihood} likelihood; encoder and decoder "
        f"MLPs with {args.hidden} tanh units, latent size {args.latent_dim}; "
        f"jr.fit, {args.steps} adam steps of {args.batch_size} digits."
    )
    results: dict[str, Any] = {"models": {}, "args": vars(args), "data": data}
    for name in OBJECTIVES[args.objective]:
        vae = build(
            name,
            latent_size=args.latent_dim,
            likelihood=args.likelihood,
            num_samples=args.num_samples,
            hidden_sizes=(args.hidden,),
        )
        what = (
            "the ELBO" if name == "vae" else f"the IWAE bound, K = {args.num_samples}"
        )
        print(f"\n{NAMES[name]}: trained by {what}")
        params, fit = train(
            # Both models: the same initial params, draws' keys and minibatches.
            jax.random.clone(train_key),
            vae,
            data.x_train,
            num_steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            report_every=every,
            label=NAMES[name],
        )
        scores = evaluate(
            jax.random.clone(eval_key),
            vae,
            params,
            data.x_test,
            num_samples=args.eval_samples,
        )
        print(
            f"  test log-likelihood (K = {args.eval_samples}) "
            f"{scores['log_likelihood']:.3f} ± {scores['standard_error']:.3f} nats "
            f"(± over digits; importance-sampling error per digit "
            f"{scores['monte_carlo_error']:.3f}); active units "
            f"{scores['active_units']} of {args.latent_dim}"
        )
        results["models"][name] = {"vae": vae, "params": params, "history": fit.history}
        results["models"][name].update(scores)
    if len(results["models"]) == 2:
        difference = (
            results["models"]["iwae"]["per_digit"]
            - results["models"]["vae"]["per_digit"]
        )
        results["difference"] = float(difference.mean())
        results["difference_error"] = float(
            difference.std(ddof=1) / math.sqrt(difference.size)
        )
        print(
            f"\nIWAE - VAE test log-likelihood: {results['difference']:.3f} ± "
            f"{results['difference_error']:.3f} nats (paired over the test digits)"
        )
    if args.figures:
        _figures(results, args.output, figure_key)
    return _common.finish(results, started, summary)


def summary(results: dict[str, Any]) -> str:
    """The last line the application prints."""
    models = results["models"]

    def number(name: str, field: str, form: str) -> str:
        return format(models[name][field], form) if name in models else "n/a"

    return (
        f"vae: test log-likelihood VAE {number('vae', 'log_likelihood', '.3f')} "
        f"IWAE {number('iwae', 'log_likelihood', '.3f')} nats; active units "
        f"VAE {number('vae', 'active_units', 'd')} "
        f"IWAE {number('iwae', 'active_units', 'd')}"
    )


def _image(values: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """``rows * columns`` 8x8 digits tiled into one image, one pixel between."""
    values = np.asarray(values, np.float64).reshape(rows, columns, 8, 8)
    tiles = np.pad(values, ((0, 0), (0, 0), (0, 1), (0, 1)), constant_values=np.nan)
    return tiles.transpose(0, 2, 1, 3).reshape(rows * 9, columns * 9)[:-1, :-1]


def _figures(results: dict[str, Any], folder: pathlib.Path, key: jax.Array) -> None:
    """Writes the samples, reconstructions and latent-space PNGs, with matplotlib."""
    Figure = _common.figure_class()
    if Figure is None:
        return
    models = results["models"]
    data = results["data"]
    top = 16.0 if results["args"]["likelihood"] == "categorical" else 1.0
    sample_key, reconstruct_key = jax.random.split(key)
    style = {"cmap": "gray_r", "vmin": 0.0, "vmax": top}

    figure = Figure(figsize=(4.2 * len(models), 4.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(models)))
    for ax, (name, model) in zip(axes, models.items(), strict=True):
        vae, params = model["vae"], model["params"]
        means = jax.jit(lambda p, k, v=vae: v.sample(k, p, 64, mean=True))(
            params,
            jax.random.clone(sample_key),  # the same z for each model
        )
        ax.imshow(_image(np.asarray(means), 8, 8), **style)
        ax.set(
            xticks=[], yticks=[], title=f"{NAMES[name]}: means of p(x | z), z ~ p(z)"
        )
    _common.save_figure(figure, folder, "vae_samples.png")

    shown = np.asarray(data.x_test[:16])
    figure = Figure(figsize=(8, 0.4 + 0.7 * (1 + len(models))), layout="constrained")
    axes = figure.subplots(1 + len(models), 1)
    axes[0].imshow(_image(shown, 1, 16), **style)
    axes[0].set_ylabel("test digits")
    for ax, (name, model) in zip(axes[1:], models.items(), strict=True):
        vae, params = model["vae"], model["params"]
        rebuilt = jax.jit(vae.reconstruct)(
            jax.random.clone(reconstruct_key), params, data.x_test[:16]
        )
        ax.imshow(_image(np.asarray(rebuilt), 1, 16), **style)
        ax.set_ylabel(NAMES[name])
    for ax in axes:
        ax.set(xticks=[], yticks=[])
    axes[0].set_title("reconstructions: the mean of p(x | z) at one z ~ q(z | x)")
    _common.save_figure(figure, folder, "vae_reconstructions.png")

    labels = np.asarray(data.y_test)
    figure = Figure(figsize=(5.2 * len(models), 4.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(models)))
    for ax, (name, model) in zip(axes, models.items(), strict=True):
        vae, params = model["vae"], model["params"]
        q = jax.jit(vae.encode)(params, data.x_test)
        points, how = latent_projection(np.asarray(vae.posterior.mean(q)))
        scatter = ax.scatter(
            *points.T, c=labels, cmap="tab10", s=8, vmin=-0.5, vmax=9.5
        )
        ax.set_title(f"{NAMES[name]}: test digits' {how}", fontsize=9)
    figure.colorbar(scatter, ax=axes, ticks=range(10), label="digit")
    _common.save_figure(figure, folder, "vae_latent.png")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m jaxreparam.apps.vae``: parses ``argv`` and runs."""
    return _common.module_main(DESCRIPTION, add_arguments, run, argv)


if __name__ == "__main__":
    main()
