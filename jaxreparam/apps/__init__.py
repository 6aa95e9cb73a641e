"""Worked applications behind ``python -m jaxreparam <app>``.

Each application is a module with a ``DESCRIPTION`` string, an
``add_arguments(parser)`` that declares its command-line options on an
``argparse`` parser, and a ``run(args)`` that runs it and returns its results as
a dict. To add one, write the module and add its name to ``APPS``. Modules keep
optional dependencies (matplotlib, scikit-learn, ...) inside ``run``, since
building the command line imports every application.
"""

from __future__ import annotations

__all__ = ["APPS", "DEFAULT"]

#: Subcommand name -> module implementing it.
APPS: dict[str, str] = {
    "bnn": "jaxreparam.apps.bnn",
    "flow": "jaxreparam.apps.flow",
    "gaussian": "jaxreparam.apps.gaussian",
    "logistic": "jaxreparam.apps.logistic",
    "vae": "jaxreparam.apps.vae",
}

#: The application run by a bare ``python -m jaxreparam``.
DEFAULT = "gaussian"
