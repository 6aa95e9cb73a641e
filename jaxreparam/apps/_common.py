"""What the applications share: common options, saving figures, ``main``.

Private to ``jaxreparam.apps``. Every application that writes figures declares
the same three options with :func:`add_common_arguments` (``--seed``,
``--output`` alias ``--out``, ``--figures/--no-figures``), saves each figure
with :func:`save_figure` and runs as ``python -m jaxreparam.apps.<name>``
through :func:`module_main`; those with a summary line end with :func:`finish`.
"""

from __future__ import annotations

import argparse
import pathlib
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "add_common_arguments",
    "figure_class",
    "finish",
    "module_main",
    "save_figure",
]


def add_common_arguments(
    parser: argparse.ArgumentParser,
    *,
    figures_folder: str | None,
    seed_help: str = "PRNG key",
) -> None:
    """Declares ``--seed``, ``--output`` (alias ``--out``) and ``--figures``.

    The parsed values are ``args.seed`` (an int, default 0), ``args.output``
    (a ``pathlib.Path``, or ``None``) and ``args.figures`` (a bool, default
    ``True``; ``--no-figures`` turns it off).

    Args:
        parser: the application's parser.
        figures_folder: the default folder of the figures; ``None``: no
            default, figures are written only when ``--output`` is given.
        seed_help: the help text of ``--seed`` (what the seed draws).
    """
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    if figures_folder is None:
        default, where = None, "default: none, no figure written"
        when = " into the --output folder"
    else:
        default, where, when = pathlib.Path(figures_folder), "default: %(default)s", ""
    parser.add_argument(
        "--output",
        "--out",
        type=pathlib.Path,
        default=default,
        help=f"folder for the PNG figures ({where})",
    )
    parser.add_argument(
        "--figures",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"write the figures{when} (needs matplotlib)",
    )


def figure_class(what: str = "figures") -> Any:
    """The class ``matplotlib.figure.Figure``, or ``None`` without matplotlib.

    Without matplotlib, it says on stdout that no ``what`` is written.

    Args:
        what: the word for what is then not written (``"figure"``, ...).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print(f"matplotlib is not installed: no {what} written")
        return None
    return Figure


def save_figure(
    figure: Any, folder: pathlib.Path, name: str, dpi: int = 100
) -> pathlib.Path:
    """Saves ``figure`` as ``folder / name`` (making the folder); says so.

    Returns:
        The path written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    figure.savefig(path, dpi=dpi)
    print(f"Figure written to {path}")
    return path


def finish(
    results: dict[str, Any], started: float, summary: Callable[[dict[str, Any]], str]
) -> dict[str, Any]:
    """Records and prints the run's seconds, then its summary line; returns ``results``.

    Args:
        results: the run's results; ``results["seconds"]`` is set.
        started: ``time.perf_counter()`` at the run's start.
        summary: the application's ``summary(results)``, its last line.
    """
    results["seconds"] = time.perf_counter() - started
    print(f"\nDone in {results['seconds']:.1f} s.")
    print(summary(results))
    return results


def module_main(
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], dict[str, Any]],
    argv: list[str] | None = None,
) -> dict[str, Any]:
    """Parses ``argv`` with the application's options, runs it, returns its results.

    Args:
        description: the parser's description (the application's
            ``DESCRIPTION``).
        add_arguments: the application's ``add_arguments(parser)``.
        run: the application's ``run(args)``.
        argv: the command-line arguments (default ``sys.argv[1:]``).

    Returns:
        What ``run`` returns.
    """
    parser = argparse.ArgumentParser(description=description)
    add_arguments(parser)
    return run(parser.parse_args(argv))
