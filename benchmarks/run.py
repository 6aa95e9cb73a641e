"""Runs the benchmark suite: ``python -m benchmarks.run [--quick | --full]``.

Every workload module in ``WORKLOADS`` has ``rows(mode) -> list[Row]``; this
script checks each row's contenders against hand-written JAX, times them
interleaved (see :mod:`benchmarks.harness`), prints one line per row, and writes
``<mode>.json`` and ``<mode>.md`` to ``--out`` (``benchmarks/results/``).
``--update-readme`` also puts the table into ``benchmarks/README.md``. The exit
status is 1 if any contender failed its check.
"""

from __future__ import annotations

import os

# Before jax is imported: OpenBLAS's thread pool makes jaxlib's CPU triangular
# solves 10-30x slower and bimodal on a loaded machine.
_PINNED = "jax" not in __import__("sys").modules
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):  # ``python benchmarks/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # noqa: E402

from benchmarks import harness, report  # noqa: E402
from benchmarks.harness import Settings  # noqa: E402

__all__ = ["MODES", "WORKLOADS", "main", "run"]

HERE = Path(__file__).resolve().parent

#: Workload name -> the module that builds its rows (``rows(mode)``).
WORKLOADS = {
    "normal pathwise gradient": "benchmarks.normal_pathwise",
    "multivariate normal": "benchmarks.multivariate_normal",
    "implicit gradients": "benchmarks.implicit_rows",
    "von Mises": "benchmarks.von_mises",
    "gumbel-softmax": "benchmarks.gumbel_softmax",
    "VAE step": "benchmarks.vae",
    "IWAE step": "benchmarks.iwae",
    "fit loop": "benchmarks.fit_loop_rows",
    "score-function gradient": "benchmarks.estimator_rows",
    "Bernoulli log-likelihood": "benchmarks.bernoulli",
    "normalizing flows": "benchmarks.flows",
    "jr.vae model": "benchmarks.vae_model",
    "Bayesian neural networks": "benchmarks.bnn",
}

MODES = {
    "quick": Settings(
        repeats=7, round_budget=1.0, compile_repeats=1, min_sample=0.003, mc_keys=16
    ),
    "full": Settings(
        repeats=15, round_budget=8.0, compile_repeats=3, min_sample=0.02, mc_keys=32
    ),
}


def _line(row: dict) -> str:
    times = row["times"]
    reference = row["reference"]
    if reference not in times:
        return f"{row['workload']} {row['size']}: not timed"
    ref = times[reference]
    parts = [
        f"{reference} {ref['cpu'] * 1e6:.0f} µs cpu, {ref['wall'] * 1e6:.0f} µs wall"
    ]
    for name, t in times.items():
        if name != reference:
            parts.append(
                f"{name} {t['cpu'] / ref['cpu']:.2f}x ({t['wall'] / ref['wall']:.2f}x)"
            )
    failed = [n for n, c in row["checks"].items() if not c["passed"]]
    if failed:
        parts.append("FAILED CHECK: " + ", ".join(failed))
    return f"{row['workload']} {row['size']}: " + ", ".join(parts)


def run(
    mode: str = "quick",
    *,
    only: list[str] | None = None,
    smallest: bool = False,
    settings: Settings | None = None,
    out: Path | None = None,
    readme: Path | None = None,
    echo=print,
) -> dict:
    """Checks and times the rows of ``mode``; returns (and writes) the results.

    Args:
        mode: ``"quick"`` or ``"full"``.
        only: keep the workloads whose name contains one of these strings.
        smallest: keep only the smallest size of each workload.
        settings: overrides the mode's ``Settings``.
        out: the folder for ``<mode>.json`` and ``<mode>.md``; ``None``: none.
        readme: a README whose results block gets the table.
        echo: where progress lines go.

    Returns:
        ``{"mode", "machine", "rows": [...], "pending": [...], "failed": bool}``.
    """
    settings = settings or MODES[mode]
    echo(
        f"jaxreparam benchmarks, {mode} mode; OPENBLAS_NUM_THREADS="
        f"{os.environ['OPENBLAS_NUM_THREADS']}"
        + ("" if _PINNED else " (set after jax was imported: may not apply)")
    )
    jax.jit(lambda x: x + 1).lower(1.0).compile()  # the first compile's set-up
    rows, pending, results, cache = [], [], [], {}
    for name, module_name in WORKLOADS.items():
        if only and not any(s.lower() in name.lower() for s in only):
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:  # a workload still being written
            if not (error.name or "").startswith("benchmarks."):
                raise
            pending.append(f"{name} ({error.name} not written yet)")
            continue
        built = list(module.rows(mode))
        if not built:
            pending.append(f"{name} ({getattr(module, 'PENDING', '') or 'no rows'})")
            continue
        if smallest:
            built = [min(built, key=lambda r: r.elements)]
        rows.extend(built)
    seen = set()
    for row in rows:
        start = time.perf_counter()
        first = row.workload not in seen and settings.compile_repeats > 1
        seen.add(row.workload)
        measured = harness.measure(row, settings, cache, warm_up=first)
        checks, times = measured["checks"], measured["times"]
        result = {
            "workload": row.workload,
            "size": row.size,
            "elements": row.elements,
            "reference": row.reference,
            "memory_bound": row.memory_bound,
            "notes": row.notes,
            "compare": row.compare,
            "checks": checks,
            "times": times,
            "seconds": time.perf_counter() - start,
        }
        result["goals"] = report.goals(result, settings.clock)
        results.append(result)
        echo(_line(result))
    failed = any(not c["passed"] for r in results for c in r["checks"].values())
    result = {
        "mode": mode,
        "settings": vars(settings),
        "machine": report.machine(),
        "rows": results,
        "pending": pending,
        "failed": failed,
    }
    if out is not None:
        json_path, md_path = report.write(result, out, readme)
        echo(f"wrote {json_path} and {md_path}")
    echo(report.markdown(result))
    return result


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="about a minute")
    group.add_argument("--full", action="store_true", help="every size")
    parser.add_argument("--only", nargs="*", help="workloads whose name contains")
    parser.add_argument("--smallest", action="store_true", help="smallest sizes")
    parser.add_argument("--repeats", type=int, help="timing rounds per row")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), help="rank by CPU (default) or wall time"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--update-readme", action="store_true", help="table into benchmarks/README.md"
    )
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"
    settings = MODES[mode]
    overrides = {"repeats": args.repeats, "clock": args.clock}
    settings = Settings(
        **{**vars(settings), **{k: v for k, v in overrides.items() if v}}
    )
    result = run(
        mode,
        only=args.only,
        smallest=args.smallest,
        settings=settings,
        out=args.out,
        readme=HERE / "README.md" if args.update_readme else None,
    )
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
