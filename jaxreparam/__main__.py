"""The command line: ``python -m jaxreparam [app] [options]``.

``python -m jaxreparam`` runs the default application (``gaussian``);
``python -m jaxreparam --help`` lists the applications and
``python -m jaxreparam <app> --help`` their options.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from jaxreparam.apps import APPS, DEFAULT

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser, with one subcommand per application in ``APPS``."""
    parser = argparse.ArgumentParser(
        prog="python -m jaxreparam",
        description="Worked examples of pathwise gradients with jaxreparam.",
        epilog=f"Without an application name, runs {DEFAULT!r}.",
    )
    subparsers = parser.add_subparsers(dest="app", metavar="APP")
    for name, module_name in APPS.items():
        module = importlib.import_module(module_name)
        subparser = subparsers.add_parser(
            name, help=module.DESCRIPTION, description=module.DESCRIPTION
        )
        module.add_arguments(subparser)
        subparser.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parses ``argv`` (default ``sys.argv[1:]``), runs the app, returns its results.

    Args:
        argv: command-line arguments; a first argument that is an option other
            than ``-h``/``--help``, or none at all, selects the default app.

    Returns:
        The dict of results that the application's ``run`` returns.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, DEFAULT)
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    main()
