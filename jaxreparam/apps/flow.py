"""Normalizing flows: Rezende & Mohamed's energy densities, and two moons.

Part 1 (variational inference) fits the four 2-D densities ``p(z) ∝ exp(-U(z))``
of Rezende & Mohamed (2015, table 1) by the reverse KL, with planar flows
(``jr.flows.planar_flow``) and, as a baseline, a diagonal Gaussian
(``jr.multivariate_normal_diag``, the flow's base alone). The loss is the
negative ELBO of ``jr.objectives.elbo`` (pathwise gradient, the flow's
``sample_and_log_prob`` in one pass), minimised by ``jr.make_step`` with
optax's adam in a compiled ``lax.scan``; the four targets are fitted at once,
``vmap``-ed, and the target is annealed as in the paper, ``exp(-beta_t U)``
with ``beta_t`` rising linearly from 0.01 to 1 over the first half of the
steps. Each fit is scored by ``KL(q || p) = log Z - ELBO``, ``log Z`` by
quadrature on a grid (converged to about 1e-6) and the ELBO estimated from
``--elbo-samples`` draws, with its Monte Carlo standard error.

``U2``-``U4`` depend on ``z1`` only through a periodic wave, so as written in
the paper they are not normalizable (their mass is infinite along ``z1``). As
the paper's figures show them on ``[-4, 4]^2``, a soft box ``(z1 / 4)^8`` is
added to them here; ``U1`` is left as it is.

Part 2 (density estimation) fits a neural spline flow
(``jr.flows.neural_spline_flow``) by maximum likelihood to scikit-learn's
``make_moons`` (noise 0.05, ``--seed``; 2 000 training and 1 000 test points,
standardized with the training mean and standard deviation), with
``jr.fit``'s minibatches and optax's adam, and compares its test negative
log-likelihood (nats per point, in the standardized coordinates) with that of
the maximum-likelihood full-covariance Gaussian.

Run it with ``python -m jaxreparam flow --help``.

References:
    Rezende & Mohamed, "Variational inference with normalizing flows", ICML
    2015. Durkan, Bekasov, Murray & Papamakarios, "Neural spline flows",
    NeurIPS 2019.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxreparam as jr
from jaxreparam.apps import _common

__all__ = [
    "DESCRIPTION",
    "ENERGIES",
    "add_arguments",
    "built",
    "densities",
    "energy",
    "estimate_kl",
    "fit_energies",
    "fit_moons",
    "gaussian_nll",
    "grid",
    "load_moons",
    "log_normalizer",
    "main",
    "run",
]

DESCRIPTION = (
    "normalizing flows: Rezende & Mohamed's U1-U4 by reverse KL (planar flows), "
    "two moons by maximum likelihood (spline flow)"
)
NAMES = ("U1", "U2", "U3", "U4")
#: The quadrature grid of ``log_normalizer``: ``[-LIMIT, LIMIT]^2``, ``GRID``
#: points a side (spacing 0.02; halving it changes ``log Z`` by < 1e-6).
LIMIT, GRID = 8.0, 801


def _w1(z):
    return jnp.sin(2.0 * math.pi * z[..., 0] / 4.0)


def _w2(z):
    return 3.0 * jnp.exp(-0.5 * ((z[..., 0] - 1.0) / 0.6) ** 2)


def _w3(z):
    return 3.0 * jax.nn.sigmoid((z[..., 0] - 1.0) / 0.3)


def _box(z):
    """The soft box ``(z1 / 4)^8`` that makes ``U2``-``U4`` normalizable."""
    return (z[..., 0] / 4.0) ** 8


def _two_bumps(a, scale_a, b, scale_b):
    """``-log(exp(-a^2 / 2 scale_a^2) + exp(-b^2 / 2 scale_b^2))``."""
    return -jnp.logaddexp(-0.5 * (a / scale_a) ** 2, -0.5 * (b / scale_b) ** 2)


def _u1(z):
    radius = jnp.sqrt(jnp.sum(z * z, axis=-1))
    ring = 0.5 * ((radius - 2.0) / 0.4) ** 2
    return ring + _two_bumps(z[..., 0] - 2.0, 0.6, z[..., 0] + 2.0, 0.6)


def _u2(z):
    return 0.5 * ((z[..., 1] - _w1(z)) / 0.4) ** 2 + _box(z)


def _u3(z):
    wave = z[..., 1] - _w1(z)
    return _two_bumps(wave, 0.35, wave + _w2(z), 0.35) + _box(z)


def _u4(z):
    wave = z[..., 1] - _w1(z)
    return _two_bumps(wave, 0.4, wave + _w3(z), 0.35) + _box(z)


#: Rezende & Mohamed's energies ``U(z)``, ``z`` of shape ``(..., 2)``.
ENERGIES: tuple[Callable[[jax.Array], jax.Array], ...] = (_u1, _u2, _u3, _u4)


def energy(index: Any, z: jax.Array) -> jax.Array:
    """``U_{index + 1}(z)``: Rezende & Mohamed (2015), table 1.

    With ``w1 = sin(pi z1 / 2)``, ``w2 = 3 exp(-((z1 - 1) / 0.6)^2 / 2)``,
    ``w3 = 3 sigmoid((z1 - 1) / 0.3)`` and ``b(a, s) = exp(-(a / s)^2 / 2)``:

    * ``U1 = ((|z| - 2) / 0.4)^2 / 2 - log(b(z1 - 2, 0.6) + b(z1 + 2, 0.6))``
    * ``U2 = ((z2 - w1) / 0.4)^2 / 2``
    * ``U3 = -log(b(z2 - w1, 0.35) + b(z2 - w1 + w2, 0.35))``
    * ``U4 = -log(b(z2 - w1, 0.4) + b(z2 - w1 + w3, 0.35))``

    plus ``(z1 / 4)^8`` for ``U2``-``U4`` (see the module docstring).

    Args:
        index: 0, 1, 2 or 3 (an int, or an int array under ``jax.vmap``).
        z: points of shape ``(..., 2)``.

    Returns:
        The energies, of shape ``(...)``.

    Examples:
        >>> from jaxreparam.apps import flow
        >>> round(float(flow.energy(1, jnp.array([0.0, 0.0]))), 4)
        0.0
    """
    return jax.lax.switch(index, ENERGIES, z)


def grid(limit: float, size: int) -> tuple[jax.Array, jax.Array]:
    """The points ``(size, size, 2)`` of ``[-limit, limit]^2`` and their spacing.

    ``points[i, j] = (x_i, x_j)``: the first axis runs along ``z1``, so an
    image of values on the grid is shown transposed (``imshow(values.T,
    origin="lower")``).
    """
    axis = jnp.linspace(-limit, limit, size)
    return jnp.stack(jnp.meshgrid(axis, axis, indexing="ij"), -1), axis[1] - axis[0]


@jax.jit
def log_normalizer() -> jax.Array:
    """``log Z_i = log ∫ exp(-U_i(z)) dz`` of the four energies, shape ``(4,)``.

    A Riemann sum on ``[-8, 8]^2`` with spacing 0.02: the densities are smooth
    and vanish (below ``e^-25``) at the edge, so the sum converges fast (to
    about 1e-6 here: halving the spacing or widening the square leaves it
    unchanged in float32).
    """
    points, spacing = grid(LIMIT, GRID)
    log_mass = [jax.nn.logsumexp(-u(points)) for u in ENERGIES]
    return jnp.stack(log_mass) + 2.0 * jnp.log(spacing)


def _anneal(step: jax.Array, num_steps: int) -> jax.Array:
    """``beta_t = min(1, 0.01 + t / (num_steps / 2))`` (Rezende & Mohamed, 6.1)."""
    return jnp.minimum(1.0, 0.01 + step / (0.5 * num_steps))


def fit_energies(
    key: jax.Array,
    family: jr.Family,
    params: Any,
    *,
    num_steps: int,
    num_samples: int = 256,
    learning_rate: float = 0.01,
    report_every: int | None = None,
    label: str = "",
) -> tuple[Any, np.ndarray]:
    """Fits ``family`` to each of ``U1``-``U4`` by the reverse KL, all at once.

    Minimises ``-ELBO_beta = E_q[log q(z) + beta_t U(z)]``
    (``jr.objectives.elbo``, pathwise, ``num_samples`` draws per step) with
    ``jr.make_step`` and adam (cosine decay to 5% of ``learning_rate``), under a
    ``jax.lax.scan`` compiled once; the four fits are ``jax.vmap``-ed over the
    targets and over ``params``' leading axis.

    Args:
        key: a PRNG key; step ``t`` of target ``i`` uses ``fold_in(fold_in(key,
            i), t)``.
        family: the variational ``Family`` (draws of shape ``(2,)``).
        params: its params, stacked along a leading axis of 4 (one per target).
        num_steps: adam steps.
        num_samples: draws per step and target.
        learning_rate: adam's initial learning rate.
        report_every: print the mean loss per target every this many steps
            (``None``: no printing).
        label: the name printed in front of each progress line.

    Returns:
        The fitted params (stacked) and the loss history, shape ``(num_steps,
        4)``, ``-ELBO`` of the annealed target.
    """
    schedule = optax.cosine_decay_schedule(learning_rate, num_steps, alpha=0.05)
    optimizer = optax.adam(schedule)
    targets = jnp.arange(len(ENERGIES))

    def loss(key, params, batch):
        index, beta = batch
        log_target = lambda z: -beta * energy(index, z)
        return -jr.objectives.elbo(
            key, params, family, log_target, num_samples=num_samples
        )

    step = jax.vmap(jr.make_step(loss, optimizer))

    @jax.jit
    def chunk(params, opt_state, steps):
        def body(carry, t):
            params, opt_state = carry
            keys = jax.vmap(
                lambda i: jax.random.fold_in(jax.random.fold_in(key, i), t)
            )(targets)
            beta = jnp.broadcast_to(_anneal(t, num_steps), targets.shape)
            params, opt_state, metrics = step(keys, params, opt_state, (targets, beta))
            return (params, opt_state), metrics["loss"]

        return jax.lax.scan(body, (params, opt_state), steps)

    opt_state = jax.vmap(optimizer.init)(params)
    every = report_every or num_steps
    losses = []
    for start in range(0, num_steps, every):
        steps = jnp.arange(start, min(start + every, num_steps))
        (params, opt_state), chunk_losses = chunk(params, opt_state, steps)
        losses.append(np.asarray(chunk_losses))
        if report_every is not None:
            done = int(steps[-1]) + 1
            beta = float(_anneal(steps[-1], num_steps))
            mean = ", ".join(f"{v:7.3f}" for v in losses[-1].mean(0))
            print(f"  {label:<9} {done:>6}  beta {beta:4.2f}  -ELBO {mean}", flush=True)
    return params, np.concatenate(losses)


def built(builder: Callable, keys: jax.Array) -> tuple[Any, jr.Family]:
    """``builder(key) -> (params, family)`` run under ``jax.jit``, vmapped over keys.

    A flow's initial params take many small operations; run eagerly, each is
    compiled on its own. Traced once instead, they cost one compilation.

    Args:
        builder: ``key -> (params, family)``, such as ``functools.partial(
            jr.flows.planar_flow, dim=2)``.
        keys: one PRNG key, or a batch of them for params stacked along a
            leading axis.

    Returns:
        ``(params, family)``.
    """
    families = []

    def params_of(key):
        params, family = builder(key)
        families.append(family)
        return params

    function = params_of if keys.ndim == 0 else jax.vmap(params_of)
    params = jax.jit(function)(keys)
    return params, families[0]


def estimate_kl(
    key: jax.Array, family: jr.Family, params: Any, num_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """``KL(q_i || p_i) = log Z_i - ELBO_i`` for stacked params, with its error.

    Args:
        key: a PRNG key.
        family: the variational ``Family``.
        params: its params stacked along a leading axis of 4 (one per target).
        num_samples: draws per target for the ELBO.

    Returns:
        ``(kl, standard_error)``, each of shape ``(4,)``: the KL estimate and
        the Monte Carlo standard error of the ELBO's (the quadrature's error is
        negligible beside it).
    """

    @jax.jit
    def elbo_terms(keys, params):
        def one(key, params, index):
            z, log_q = family.sample_and_log_prob(key, params, (num_samples,))
            log_w = -energy(index, z) - log_q
            return jnp.mean(log_w), jnp.std(log_w) / jnp.sqrt(num_samples)

        return jax.vmap(one)(keys, params, jnp.arange(len(ENERGIES)))

    mean, error = elbo_terms(jax.random.split(key, len(ENERGIES)), params)
    return np.asarray(log_normalizer() - mean), np.asarray(error)


def load_moons(
    seed: int = 0, num_train: int = 2000, num_test: int = 1000, noise: float = 0.05
) -> dict[str, jax.Array]:
    """Two moons (scikit-learn), standardized with the training mean and std.

    Args:
        seed: ``make_moons``' ``random_state``.
        num_train: training points (the first ones drawn).
        num_test: test points (the next ones).
        noise: the standard deviation of the Gaussian noise, in raw units.

    Returns:
        ``{"train": (num_train, 2), "test": (num_test, 2)}``, float32.
    """
    from sklearn.datasets import make_moons

    points, _ = make_moons(num_train + num_test, noise=noise, random_state=seed)
    train, test = points[:num_train], points[num_train:]
    mean, std = train.mean(0), train.std(0)
    return {
        "train": jnp.asarray((train - mean) / std, jnp.float32),
        "test": jnp.asarray((test - mean) / std, jnp.float32),
    }


def gaussian_nll(train: jax.Array, test: jax.Array) -> float:
    """Test NLL (nats per point) of the maximum-likelihood full-covariance Gaussian."""
    mean = jnp.mean(train, axis=0)
    centred = train - mean
    covariance = centred.T @ centred / train.shape[0]
    params = jr.multivariate_normal_tril.init(
        loc=mean, scale_tril=jnp.linalg.cholesky(covariance)
    )
    return float(-jnp.mean(jr.multivariate_normal_tril.log_prob(params, test)))


def fit_moons(
    key: jax.Array,
    data: dict[str, jax.Array],
    *,
    num_steps: int,
    batch_size: int = 256,
    learning_rate: float = 3e-3,
    num_layers: int = 4,
    hidden_sizes: tuple[int, ...] = (32, 32),
    num_bins: int = 8,
    kind: str = "spline",
    report_every: int | None = None,
) -> tuple[Any, jr.Family, Any]:
    """A neural spline flow fitted to ``data["train"]`` by maximum likelihood.

    ``jr.fit`` minimises the mean negative log-likelihood of minibatches of
    ``batch_size`` points with adam (cosine decay to 5% of ``learning_rate``);
    a callback prints the training and test NLL every ``report_every`` steps.

    Args:
        key: a PRNG key (the flow's initial weights and the minibatches).
        data: ``{"train": (n, 2), "test": (m, 2)}``, from :func:`load_moons`.
        num_steps: adam steps.
        batch_size: points per step.
        learning_rate: adam's initial learning rate.
        num_layers: spline coupling layers.
        hidden_sizes: the hidden widths of each layer's conditioner.
        num_bins: spline bins per coordinate.
        kind: ``"spline"`` (``jr.flows.neural_spline_flow``, coupling layers)
            or ``"maf"`` (``jr.flows.maf``, affine autoregressive layers).
        report_every: steps between progress lines (``None``: none).

    Returns:
        ``(params, family, result)``: the fitted flow and ``jr.fit``'s
        ``FitResult`` (its history holds ``"test_nll"`` with a callback).
    """
    init_key, fit_key = jax.random.split(key)
    if kind == "spline":
        builder = lambda key: jr.flows.neural_spline_flow(
            key,
            2,
            num_layers=num_layers,
            hidden_sizes=hidden_sizes,
            num_bins=num_bins,
            bound=4.0,
        )
    else:
        builder = lambda key: jr.flows.maf(
            key, 2, num_layers=num_layers, hidden_sizes=hidden_sizes
        )
    params, family = built(builder, init_key)

    def loss(key, params, batch):
        return -jnp.mean(family.log_prob(params, batch))

    test_nll = jax.jit(lambda params: loss(None, params, data["test"]))

    def callback(step, params, metrics):
        value = float(test_nll(params))
        print(
            f"  moons     {step:>6}  train NLL {metrics['loss'].mean():7.4f}  "
            f"test NLL {value:7.4f}",
            flush=True,
        )
        return {"test_nll": value}

    schedule = optax.cosine_decay_schedule(learning_rate, num_steps, alpha=0.05)
    result = jr.fit(
        fit_key,
        params,
        data["train"],
        loss=loss,
        optimizer=optax.adam(schedule),
        num_steps=num_steps,
        batch_size=batch_size,
        callback=callback if report_every else None,
        callback_every=report_every,
        progress=False,
    )
    return result.params, family, result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares this application's options on ``parser``."""
    parser.add_argument(
        "--steps", type=int, default=4000, help="adam steps per U1-U4 fit"
    )
    parser.add_argument(
        "--layers", type=int, default=32, help="planar layers K of the U1-U4 flows"
    )
    parser.add_argument(
        "--num-samples", type=int, default=256, help="draws per U1-U4 step"
    )
    parser.add_argument(
        "--elbo-samples",
        type=int,
        default=100_000,
        help="draws per target for the final ELBO (and KL) estimate",
    )
    parser.add_argument(
        "--moons-steps", type=int, default=2000, help="adam steps of the moons fit"
    )
    parser.add_argument(
        "--batch-size", type=int, default=256, help="moons points per step"
    )
    parser.add_argument(
        "--moons-flow",
        choices=("spline", "maf"),
        default="spline",
        help="the moons flow: neural spline (coupling) or MAF",
    )
    _common.add_common_arguments(
        parser, figures_folder="flow_figures", seed_help="PRNG key and data"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the application with parsed ``args``; returns the numbers it printed."""
    started = time.perf_counter()
    keys = jax.random.split(jax.random.key(args.seed), 8)
    every = max(1, args.steps // 4)
    print(
        f"Part 1: U1-U4 (Rezende & Mohamed 2015) by reverse KL, {args.steps} adam "
        f"steps of {args.num_samples} draws, the target annealed over the first "
        "half; -ELBO of the annealed target per U1..U4."
    )
    num = len(ENERGIES)
    base = jr.multivariate_normal_diag
    gaussian = jax.vmap(lambda _: base.init(loc=jnp.zeros(2), scale_diag=jnp.ones(2)))(
        jnp.arange(num)
    )
    gaussian, _ = fit_energies(
        keys[0], base, gaussian, num_steps=args.steps,
        num_samples=args.num_samples, report_every=every, label="Gaussian",
    )  # fmt: skip
    flow_params, planar = built(
        lambda key: jr.flows.planar_flow(key, 2, num_layers=args.layers),
        jax.random.split(keys[1], num),
    )
    flow_params, _ = fit_energies(
        keys[2], planar, flow_params, num_steps=args.steps,
        num_samples=args.num_samples, report_every=every,
        label=f"planar {args.layers}",
    )  # fmt: skip
    gaussian_kl, gaussian_error = estimate_kl(
        keys[3], base, gaussian, args.elbo_samples
    )
    kl, kl_error = estimate_kl(keys[4], planar, flow_params, args.elbo_samples)
    log_z = np.asarray(log_normalizer())
    print(
        f"\nKL(q || p) = log Z - ELBO, log Z by quadrature, the ELBO from "
        f"{args.elbo_samples} draws (± its standard error):"
    )
    print(f"  {'':<4} {'log Z':>7}  {'Gaussian':>17}  {f'planar K={args.layers}':>17}")
    for i, name in enumerate(NAMES):
        print(
            f"  {name:<4} {log_z[i]:7.4f}  {gaussian_kl[i]:8.4f} "
            f"± {gaussian_error[i]:.4f}  {kl[i]:8.4f} ± {kl_error[i]:.4f}"
        )

    data = load_moons(args.seed)
    print(
        f"\nPart 2: two moons, {data['train'].shape[0]} training and "
        f"{data['test'].shape[0]} test points (standardized); a neural spline flow "
        f"by maximum likelihood, jr.fit, {args.moons_steps} adam steps of "
        f"{args.batch_size} points."
    )
    moons_params, moons_flow, moons_result = fit_moons(
        keys[5],
        data,
        num_steps=args.moons_steps,
        batch_size=args.batch_size,
        kind=args.moons_flow,
        report_every=max(1, args.moons_steps // 5),
    )
    nll = float(-jnp.mean(moons_flow.log_prob(moons_params, data["test"])))
    reference = gaussian_nll(data["train"], data["test"])
    print(f"  test NLL: flow {nll:.4f}, full-covariance Gaussian {reference:.4f} nats")

    results = {
        "log_z": log_z,
        "layers": args.layers,
        "kl": kl,
        "kl_error": kl_error,
        "gaussian_kl": gaussian_kl,
        "gaussian_kl_error": gaussian_error,
        "planar": (planar, flow_params),
        "gaussian": (base, gaussian),
        "moons_nll": nll,
        "moons_gaussian_nll": reference,
        "moons": (moons_flow, moons_params),
        "moons_history": moons_result.history,
        "data": data,
    }
    if args.figures:
        _figures(results, args.output, keys[7])
    return _common.finish(results, started, summary)


def summary(results: dict[str, Any]) -> str:
    """The last line the application prints."""
    kl = ",".join(f"{v:.3f}" for v in results["kl"])
    gaussian = ",".join(f"{v:.3f}" for v in results["gaussian_kl"])
    return (
        f"flow: moons test NLL {results['moons_nll']:.3f} nats "
        f"(Gaussian {results['moons_gaussian_nll']:.3f}); "
        f"U1-U4 KL {kl} (Gaussian {gaussian})"
    )


def densities(family: jr.Family, params: Any, points: jax.Array) -> jax.Array:
    """``exp(family.log_prob)`` at ``points`` for params stacked on a leading axis.

    Args:
        family: a ``Family`` of 2-D draws.
        params: its params, stacked along a leading axis (one per target).
        points: shape ``(..., 2)``.

    Returns:
        The densities, shape ``(num_params, ...)``.
    """
    log_prob = jax.jit(jax.vmap(family.log_prob, (0, None)))
    return jnp.exp(log_prob(params, points))


def _figures(results: dict[str, Any], folder: pathlib.Path, key: jax.Array) -> None:
    """Writes ``flow_energies.png`` and ``flow_moons.png`` if matplotlib is here."""
    Figure = _common.figure_class()
    if Figure is None:
        return
    points, _ = grid(4.0, 200)
    extent = (-4.0, 4.0, -4.0, 4.0)
    grids = {
        "target": jax.jit(jax.vmap(lambda i: jnp.exp(-energy(i, points))))(
            jnp.arange(len(ENERGIES))
        ),
        **{
            name: densities(family, params, points)
            for name, (family, params) in (
                ("gaussian", results["gaussian"]),
                ("planar", results["planar"]),
            )
        },
    }
    figure = Figure(figsize=(12, 9), layout="constrained")
    axes = figure.subplots(3, len(ENERGIES))
    rows = (("target exp(-U)", "target"), ("diagonal Gaussian", "gaussian"))
    rows += ((f"planar flow, K = {results['layers']}", "planar"),)
    for i, name in enumerate(NAMES):
        for row, (title, which) in enumerate(rows):
            ax = axes[row, i]
            ax.imshow(np.asarray(grids[which][i]).T, origin="lower", extent=extent)
            ax.set(xticks=[], yticks=[])
            if which == "target":
                ax.set_title(name)
            else:
                value = results["kl" if which == "planar" else "gaussian_kl"][i]
                ax.set_title(f"KL {value:.3f}", fontsize=9)
            if i == 0:
                ax.set_ylabel(title)
    _common.save_figure(figure, folder, "flow_energies.png")

    family, params = results["moons"]
    train = np.asarray(results["data"]["train"])
    samples = jax.jit(family.sample, static_argnums=2)(key, params, train.shape[:1])
    samples = np.asarray(samples)
    moons_points, _ = grid(3.0, 200)
    density = np.asarray(jax.jit(family.log_prob)(params, moons_points))
    density = np.exp(density)
    figure = Figure(figsize=(12, 4), layout="constrained")
    data_ax, sample_ax, density_ax = figure.subplots(1, 3)
    for ax, xy, title in (
        (data_ax, train, "training data"),
        (sample_ax, samples, "flow samples"),
    ):
        ax.scatter(xy[:, 0], xy[:, 1], s=2)
        ax.set(xlim=(-3, 3), ylim=(-3, 3), title=title, aspect="equal")
    density_ax.imshow(density.T, origin="lower", extent=(-3, 3, -3, 3))
    density_ax.set_title(f"flow density (test NLL {results['moons_nll']:.3f})")
    _common.save_figure(figure, folder, "flow_moons.png")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m jaxreparam.apps.flow``: parses ``argv`` and runs."""
    return _common.module_main(DESCRIPTION, add_arguments, run, argv)


if __name__ == "__main__":
    main()
