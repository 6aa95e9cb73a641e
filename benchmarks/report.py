"""The results: machine description, goals, the markdown table and the JSON."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
from pathlib import Path
from typing import Any

import jax

from benchmarks.peers import PEERS, versions

__all__ = ["goals", "machine", "markdown", "write"]

README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"


def machine() -> dict[str, Any]:
    """The date, versions and machine, for the record."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()],
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def _standard_error(t: dict, clock: str) -> float:
    """The standard error of a median, from the interquartile range (normal)."""
    return 1.2533 * t[f"{clock}_iqr"] / 1.349 / math.sqrt(t["samples"])


def _compile_error(t: dict) -> float:
    """As :func:`_standard_error`, for the compile time (0 from one sample)."""
    n = t.get("compile_samples", 1)
    return 1.2533 * t.get("compile_iqr", 0.0) / 1.349 / math.sqrt(n) if n > 1 else 0.0


def _verdict(excess: float, noise: float) -> str:
    """``"met"``, or a miss, ``"within noise"`` if under two standard errors."""
    if excess <= 0:
        return "met"
    return "missed (within noise)" if excess <= 2 * noise else "missed"


def goals(row: dict, clock: str = "cpu") -> dict[str, str]:
    """Where jaxreparam stands on ``row`` against each goal that applies.

    Each goal is ``"met"``, ``"missed"`` or ``"missed (within noise)"``: by
    less than two standard errors of the difference of the medians (none for
    a compile time measured once).
    """
    times = row["times"]
    if "jaxreparam" not in times or row["reference"] not in times:
        return {}
    jr = times["jaxreparam"]
    peers = [times[p] for p in PEERS if p in times]
    out: dict[str, str] = {}

    def versus(bar: dict, factor: float = 1.0) -> str:
        noise = math.hypot(
            _standard_error(jr, clock), factor * _standard_error(bar, clock)
        )
        return _verdict(jr["time"] - factor * bar["time"], noise)

    if "hand-written" in times:
        ref = times["hand-written"]
        # The same optimized program as hand-written's is hand-written's.
        same = jr["hlo"] == ref["hlo"] != ""
        out["hand_written"] = "met" if same else versus(ref, 1.05)
    if peers:
        out["fastest_peer"] = versus(min(peers, key=lambda p: p["time"]))
        fastest = min(peers, key=lambda p: p["compile"])
        noise = math.hypot(*(_compile_error(t) for t in (jr, fastest)))
        out["compile"] = _verdict(jr["compile"] - fastest["compile"], noise)
    if row["memory_bound"] and "floor" in times:
        out["floor"] = versus(times["floor"], 2.0)
    return out


def _seconds(t: float) -> str:
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"


def _cell(row: dict, name: str) -> str:
    check = row["checks"].get(name)
    if check is not None and not check["passed"]:
        return "FAILED CHECK"
    if name not in row["times"]:
        return "—"
    times, reference = row["times"], row["reference"]
    ratio = times[name]["time"] / times[reference]["time"]
    mark = "" if check is None or check["kind"] != "monte carlo" else "†"
    if name != reference and times[name]["hlo"] == times[reference]["hlo"] != "":
        mark += "≡"
    return f"{ratio:.2f}x{mark}"


def markdown(result: dict) -> str:
    """The results as a markdown table, with the machine and notes under it."""
    head = (
        "| workload | size | hand-written time | jaxreparam | numpyro | distrax | tfp "
        "| flowjax | compile ms (hand / jr / fastest peer) | jr / floor | also |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |\n"
    )
    lines = []
    for row in result["rows"]:
        times, reference = row["times"], row["reference"]
        if reference not in times:
            failed = [n for n, c in row["checks"].items() if not c["passed"]]
            lines.append(
                f"| {row['workload']} | {row['size']} | not timed: "
                f"{', '.join(failed) or reference} failed |" + " |" * 8
            )
            continue
        peers = [times[p]["compile"] for p in PEERS if p in times]
        compile_ms = " / ".join(
            f"{c * 1e3:.0f}" if c is not None else "—"
            for c in (
                times[reference]["compile"],
                times.get("jaxreparam", {}).get("compile"),
                min(peers) if peers else None,
            )
        )
        floor = "—"
        if "floor" in times and "jaxreparam" in times:
            floor = f"{times['jaxreparam']['time'] / times['floor']['time']:.2f}x"
            floor += "" if row["memory_bound"] else " (compute)"
        also = [
            f"{name} {_cell(row, name)}"
            for name in times
            if name not in ("hand-written", "jaxreparam", "floor", *PEERS)
        ]
        for label, (a, b) in row.get("compare", {}).items():
            if a in times and b in times:
                also.append(f"{label} {times[a]['time'] / times[b]['time']:.2f}")
        missed = [
            k + (" (noise)" if "noise" in v else "")
            for k, v in row["goals"].items()
            if v != "met"
        ]
        if missed:
            also.append("misses: " + ", ".join(missed))
        cells = [
            row["workload"],
            row["size"],
            _seconds(times[reference]["time"])
            + ("" if reference == "hand-written" else f" ({reference})"),
            *(_cell(row, name) for name in ("jaxreparam", *PEERS)),
            compile_ms,
            floor,
            "; ".join(also + ([row["notes"]] if row["notes"] else [])),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    meta = result["machine"]
    v = meta["versions"]
    clock = {"cpu": "process CPU", "wall": "wall-clock"}[result["settings"]["clock"]]
    footer = (
        f"\n{result['mode']} run, {meta['date']}; {meta['cpu']}, {meta['cores']} "
        f"cores (shared), load average at the end {meta['load_average']}; "
        f"OPENBLAS_NUM_THREADS={meta['OPENBLAS_NUM_THREADS']}. "
        + ", ".join(f"{k} {v[k]}" for k in v)
        + f".\nRatios are median {clock} times per call over hand-written JAX's "
        "(lower is better); ≡ marks an optimized HLO identical to hand-written's, "
        "so any distance from 1.00x is noise; † marks a contender checked within "
        "Monte Carlo error (its draws differ), the rest matched hand-written's "
        "output to float tolerance under the same key.\n"
    )
    footer += _goal_summary(result["rows"])
    pending = result.get("pending")
    if pending:
        footer += "Not measured in this run: " + "; ".join(pending) + ".\n"
    return head + "\n".join(lines) + "\n" + footer


GOALS = {
    "hand_written": "jaxreparam within 1.05x of hand-written",
    "fastest_peer": "at or below the fastest peer",
    "compile": "compile time at or below the fastest peer's",
    "floor": "memory-bound rows within 2x of the floor",
}


def _goal_summary(rows: list[dict]) -> str:
    """One line per goal: on how many rows it was met, and where it was not."""
    lines = []
    for goal, label in GOALS.items():
        verdicts = [(r, r["goals"][goal]) for r in rows if goal in r.get("goals", {})]
        if not verdicts:
            continue
        met = sum(v == "met" for _, v in verdicts)
        noise = [f"{r['workload']} {r['size']}" for r, v in verdicts if "noise" in v]
        missed = [f"{r['workload']} {r['size']}" for r, v in verdicts if v == "missed"]
        line = f"- {label}: met on {met} of {len(verdicts)} rows"
        if noise:
            line += f"; missed within noise on {len(noise)}"
        if missed:
            line += "; missed on " + ", ".join(missed)
        lines.append(line + ".")
    return "\nGoals:\n\n" + "\n".join(lines) + "\n" if lines else ""


def write(result: dict, out: Path, readme: Path | None = None) -> tuple[Path, Path]:
    """Writes ``<mode>.json`` and ``<mode>.md`` under ``out``; maybe the README."""
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(result)
    json_path = out / f"{result['mode']}.json"
    md_path = out / f"{result['mode']}.md"
    json_path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    md_path.write_text(table)
    if readme is not None:
        text = readme.read_text()
        start, end = text.index(README_START), text.index(README_END)
        text = text[: start + len(README_START)] + "\n" + table + text[end:]
        readme.write_text(text)
    return json_path, md_path
