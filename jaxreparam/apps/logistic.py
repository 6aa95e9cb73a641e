"""Bayesian logistic regression on scikit-learn's breast-cancer data, by ADVI.

The data set (569 tumours, 30 features, benign or malignant) ships inside
scikit-learn: no download. Features are standardized with the training set's
mean and standard deviation; 20% of the rows are held out, stratified.

Model: ``w ~ N(0, prior_scale^2 I)`` (30 weights), ``b ~ N(0, prior_scale^2)``,
``y_i ~ Bernoulli(sigmoid(x_i . w + b))``. The posterior of ``{"w", "b"}`` is
approximated by a Gaussian guide (mean field by default) fitted with
``jaxreparam.vi.fit`` (the library's ELBO of a Gaussian on the
unconstrained latents): pathwise ELBO gradients, optax's adam, the fit loop's
compiled chunks. The final ELBO is estimated with many draws, with its standard
error; the held-out accuracy uses the posterior predictive probability,
averaged over draws of the guide.

Run it with ``python -m jaxreparam logistic --help``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxreparam import vi

__all__ = [
    "DESCRIPTION",
    "accuracy",
    "add_arguments",
    "estimate_elbo",
    "example_latents",
    "load_data",
    "make_log_joint",
    "run",
]

DESCRIPTION = "Bayesian logistic regression on the breast-cancer data set (ADVI)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares this application's options on ``parser``."""
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps")
    parser.add_argument("--seed", type=int, default=0, help="PRNG key and data split")
    parser.add_argument(
        "--num-samples", type=int, default=8, help="Monte Carlo draws per step"
    )
    parser.add_argument("--learning-rate", type=float, default=0.02, help="adam's")
    parser.add_argument("--prior-scale", type=float, default=1.0, help="of w and b")
    parser.add_argument(
        "--kind", choices=sorted(vi.KINDS), default="mean_field", help="guide"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="report progress between chunks of steps",
    )


def load_data(seed: int = 0, test_fraction: float = 0.2) -> dict[str, jax.Array]:
    """Standardized train and test splits: ``x_train``, ``y_train``, ``x_test``, ..."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    mean, std = x_train.mean(0), x_train.std(0)
    as_array = lambda a: jnp.asarray(a, jnp.float32)
    return {
        "x_train": as_array((x_train - mean) / std),
        "y_train": as_array(y_train),
        "x_test": as_array((x_test - mean) / std),
        "y_test": as_array(y_test),
    }


def example_latents(num_features: int) -> dict[str, jax.Array]:
    """Zeros, the prior's median: where the guide starts."""
    return {"w": jnp.zeros(num_features), "b": jnp.zeros(())}


def make_log_joint(prior_scale: float = 1.0):
    """``log_joint(latents, batch)``, ``batch = {"x": (n, d), "y": (n,)}``."""

    def log_joint(latents: dict[str, jax.Array], batch: dict[str, jax.Array]):
        w, b = latents["w"], latents["b"]
        prior = jax.scipy.stats.norm.logpdf(jnp.append(w, b), 0.0, prior_scale)
        logits = batch["x"] @ w + b
        likelihood = batch["y"] * logits - jnp.logaddexp(0.0, logits)
        return jnp.sum(prior) + jnp.sum(likelihood)

    return log_joint


def estimate_elbo(key, params, guide, log_target, batch, num_samples=20000):
    """ELBO estimate and its standard error, from ``num_samples`` draws.

    The entropy of the Gaussian guide is exact; only ``E[log p(T(u)) + log|det|]``
    is estimated, so the standard error is that of its mean.
    """
    u = guide.base.sample(key, params.base, (num_samples,))
    pulled = vi.pull_back(log_target, guide.bijector, params.bijector)
    terms = jax.vmap(pulled, (0, None))(u, batch)
    value = jnp.mean(terms) + guide.base.entropy(params.base)
    return float(value), float(jnp.std(terms) / np.sqrt(num_samples))


def accuracy(key, params, guide, x, y, num_samples=1000):
    """Held-out accuracy of the posterior predictive, and its predictions."""
    latents = guide.sample(key, params, (num_samples,))
    logits = x @ latents["w"].T + latents["b"]
    probability = jnp.mean(jax.nn.sigmoid(logits), axis=-1)
    predicted = np.asarray(probability > 0.5)
    return float(np.mean(predicted == np.asarray(y, bool))), predicted


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the application with parsed ``args``; returns the numbers it printed."""
    started = time.perf_counter()
    data = load_data(args.seed)
    train = {"x": data["x_train"], "y": data["y_train"]}
    num_features = train["x"].shape[1]
    log_joint = make_log_joint(args.prior_scale)
    print(
        f"Bayesian logistic regression, breast-cancer data: {train['x'].shape[0]} "
        f"training and {data['x_test'].shape[0]} held-out rows, {num_features} "
        f"features.\n{args.kind} Gaussian guide, {args.steps} adam steps "
        f"(learning rate {args.learning_rate}), {args.num_samples} draws per step."
    )
    fit_key, elbo_key, predict_key = jax.random.split(jax.random.key(args.seed), 3)
    guide, result = vi.fit(
        fit_key,
        example_latents(num_features),
        train,
        log_target=log_joint,
        optimizer=optax.adam(args.learning_rate),
        num_steps=args.steps,
        kind=args.kind,
        num_samples=args.num_samples,
        progress=args.progress,
    )
    elbo, elbo_error = estimate_elbo(elbo_key, result.params, guide, log_joint, train)
    test_accuracy, _ = accuracy(
        predict_key, result.params, guide, data["x_test"], data["y_test"]
    )
    print(f"Final ELBO: {elbo:.3f} +- {elbo_error:.3f} (20000 draws)")
    print(f"Held-out accuracy: {test_accuracy:.4f}")
    print(f"Done in {time.perf_counter() - started:.1f} s.")
    return {
        "elbo": elbo,
        "elbo_error": elbo_error,
        "test_accuracy": test_accuracy,
        "losses": result.history["loss"],
        "params": result.params,
        "guide": guide,
    }
