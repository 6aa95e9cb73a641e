"""Implicit reparameterization gradients of Gamma, Beta and Dirichlet draws.

The jitted gradient, with respect to the concentrations, of

* Gamma: ``sum_i z_i``, ``z_i ~ Gamma(a_i, 1)``;
* Beta: ``sum_i z_i``, ``z_i ~ Beta(a_i, b_i)`` (gradient in ``a`` and ``b``);
* Dirichlet: ``sum_j p_j0``, ``p_j ~ Dirichlet(a_j)`` with 10 categories (the sum
  of all components is 1, whose gradient is 0);

over ``N`` gamma variates whose concentrations spread log-uniformly over
``[0.1, 100]``, so that every region of every derivative is exercised. Sizes:
``N = 1e3, 1e5`` (``1e6`` with ``--full``). Contenders: jaxreparam,
hand-written ``jax.random.gamma`` / ``beta`` / ``dirichlet`` (whose gradient is
jax's ``random_gamma_grad``, mapped element by element on CPU), numpyro (the same
jax calls) and TFP on JAX (its own sampler, with jax's ``random_gamma_grad``
vectorized). Every draw is checked within Monte Carlo error before it is timed
(:mod:`benchmarks.harness`).

Run alone, ``python -m benchmarks.implicit_gradients [--full] [--x64]`` prints
the time per call of every contender, its ratio to the fastest peer, and the
worst relative error of the Gamma gradient against finite differences of scipy's
``gammainc`` (float64), for jaxreparam and for jax's ``random_gamma_grad`` (TFP's
and numpyro's). Under ``python -m benchmarks.run`` its rows join the others.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxreparam as jr  # noqa: E402
from benchmarks.harness import Contender, Row, Settings, measure  # noqa: E402
from benchmarks.peers import numpyro_dist, tfd  # noqa: E402

__all__ = ["SIZES", "accuracy", "main", "rows"]

SIZES = {"quick": [1_000], "default": [1_000, 100_000]}
SIZES["full"] = SIZES["default"] + [1_000_000]
CATEGORIES = 10
PEERS = ("hand-written", "numpyro", "tfp")


def _spread(size: int, seed: int) -> jax.Array:
    a = jnp.exp(jnp.linspace(jnp.log(0.1), jnp.log(100.0), size))
    return jax.random.permutation(jax.random.key(seed), a)


def _grad(draw, objective=jnp.sum, argnums=0):
    def grad(key, *concentrations):
        def loss(*c):
            return objective(draw(key, *c))

        return jax.grad(loss, argnums=argnums)(*concentrations)

    return grad


def _first(p):
    return jnp.sum(p[..., 0])


def gamma_row(size: int) -> Row:
    contenders = {
        "jaxreparam": lambda k, a: jr.gamma.sample(k, jr.gamma.init(concentration=a)),
        "hand-written": lambda k, a: jax.random.gamma(k, a),
        "numpyro": lambda k, a: numpyro_dist().Gamma(a).rsample(k),
        "tfp": lambda k, a: tfd().Gamma(a, 1.0).sample(seed=k),
    }
    return _row("Gamma", size, (_spread(size, 1),), contenders, _grad)


def beta_row(size: int) -> Row:
    def ours(k, a, b):
        return jr.beta.sample(k, jr.beta.init(concentration1=a, concentration0=b))

    contenders = {
        "jaxreparam": ours,
        "hand-written": lambda k, a, b: jax.random.beta(k, a, b),
        "numpyro": lambda k, a, b: numpyro_dist().Beta(a, b).rsample(k),
        "tfp": lambda k, a, b: tfd().Beta(a, b).sample(seed=k),
    }
    args = (_spread(size // 2, 2), _spread(size // 2, 3))
    return _row("Beta", size, args, contenders, lambda d: _grad(d, argnums=(0, 1)))


def dirichlet_row(size: int) -> Row:
    def ours(k, a):
        return jr.dirichlet.sample(k, jr.dirichlet.init(concentration=a))

    contenders = {
        "jaxreparam": ours,
        "hand-written": lambda k, a: jax.random.dirichlet(k, a),
        "numpyro": lambda k, a: numpyro_dist().Dirichlet(a).rsample(k),
        "tfp": lambda k, a: tfd().Dirichlet(a).sample(seed=k),
    }
    args = (_spread(size, 4).reshape(-1, CATEGORIES),)
    return _row("Dirichlet", size, args, contenders, lambda d: _grad(d, _first))


def _row(family, size, args, contenders, make_grad) -> Row:
    def proxy():
        return {"Gamma": gamma_row, "Beta": beta_row, "Dirichlet": dirichlet_row}[
            family
        ](10_000)

    return Row(
        workload=f"{family} implicit gradient",
        size=f"N={size}",
        elements=size,
        args=(jax.random.key(0), *args),
        contenders=[
            Contender(name, make_grad(draw), same_noise=name in ("hand-written",))
            for name, draw in contenders.items()
        ],
        check_proxy=proxy if size > 10_000 else None,
        notes="concentrations log-uniform on [0.1, 100]; the bar is TFP",
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"``, ``"default"`` or ``"full"``)."""
    return [
        make(n) for n in SIZES[mode] for make in (gamma_row, beta_row, dirichlet_row)
    ]


def accuracy() -> dict[float, dict[str, float]]:
    """Worst relative error of ``dz/da`` (float64), by concentration 1e-3..1e3.

    At 64 samples per concentration and at probabilities 1e-12 and 1 - 1e-12,
    against ``-(dF/da)/q`` with ``dF/da`` a 4th-order central difference of
    ``log`` scipy ``gammainc`` (or ``gammaincc`` above the median). That
    reference is itself good to about 1e-11 (1e-10 at ``a = 1e3``, where
    scipy's ``gammainc`` is not smooth in ``a`` to the last digits): an error at
    that level is the reference's.
    """
    import scipy.special as sc
    import scipy.stats as st
    from jax._src.lax.special import random_gamma_grad

    from jaxreparam.distributions import _standard_gamma

    def reference(a, x):
        lower = sc.gammainc(a, x) < 0.5

        def log_tail(b):
            return np.log(np.where(lower, sc.gammainc(b, x), sc.gammaincc(b, x)))

        h = 1e-3 * a
        d1 = (log_tail(a + h) - log_tail(a - h)) / (2 * h)
        d2 = (log_tail(a + h / 2) - log_tail(a - h / 2)) / h
        slope = (4 * d2 - d1) / 3
        sign = np.where(lower, -1.0, 1.0)
        return sign * slope * np.exp(log_tail(a) - st.gamma.logpdf(x, a))

    out = {}
    with jax.enable_x64(True):
        for i, a in enumerate(np.logspace(-3, 3, 13)):
            log_x = _standard_gamma.draw_log(jax.random.key(i), a, (64,))
            tails = [sc.gammaincinv(a, 1e-12), sc.gammainccinv(a, 1e-12)]
            x = np.concatenate([np.exp(np.asarray(log_x)), tails])
            x = x[x > 1e-300]
            ref = reference(a, x)
            ours = x * _standard_gamma.log_sample_derivative(a, jnp.log(x))
            theirs = jax.vmap(random_gamma_grad, (None, 0))(jnp.float64(a), x)
            out[float(a)] = {
                name: float(np.nanmax(np.abs(np.asarray(got) - ref) / np.abs(ref)))
                for name, got in (("jaxreparam", ours), ("jax/TFP/numpyro", theirs))
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also N = 1e6")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--x64", action="store_true", help="in float64")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", args.x64)
    settings = Settings(repeats=args.repeats, mc_keys=16)
    threads = os.environ["OPENBLAS_NUM_THREADS"]
    dtype = "float64" if args.x64 else "float32"
    print(f"OPENBLAS_NUM_THREADS={threads}, jax {jax.__version__}, {dtype}")
    print(
        "median time per call after compilation (CPU time); ratio = ours / fastest peer"
    )
    for row in rows("full" if args.full else "default"):
        result = measure(row, settings)
        failed = [n for n, c in result["checks"].items() if not c["passed"]]
        times = {n: t["time"] for n, t in result["times"].items()}
        peers = {n: t for n, t in times.items() if n in PEERS}
        fastest = min(peers, key=peers.get) if peers else None
        cells = "  ".join(f"{n} {1e3 * t:9.3f} ms" for n, t in times.items())
        ratio = times["jaxreparam"] / peers[fastest] if fastest else float("nan")
        print(f"{row.workload:28s} {row.size:10s} {cells}")
        print(f"{'':39s}ratio to fastest peer ({fastest}): {ratio:.3f}")
        if failed:
            print(f"{'':39s}FAILED checks: {failed}")
    print("worst relative error of dz/da (float64) against scipy finite differences:")
    for a, errors in accuracy().items():
        cells = "  ".join(f"{name} {err:.1e}" for name, err in errors.items())
        print(f"  a = {a:8.3g}: {cells}")


if __name__ == "__main__":
    main()
