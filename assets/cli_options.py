"""Shared pieces of the ``grading`` command line's options: the version, the path options
that default to the GRADING_* environment variables, and the warehouse path check.

The Dagster code location reads GRADING_LANDING, GRADING_WAREHOUSE, GRADING_OUTPUTS and
GRADING_POLICY (assets/definitions.py); the command line takes the same variables as the
defaults of its --landing, --warehouse, --outputs and (run, preview, explain, dashboard)
--policy, so one shell setup serves both: a shell that exports GRADING_POLICY for Dagster
and runs ``grading run`` without --policy used to grade under the shipped calendar, and
``grading explain`` explained under it (found by an audit and a review, 2026-12-05).
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path
from typing import Any

DISTRIBUTION = "merchant-grading"
# option -> the environment variable that is its default when the option is not given
PATH_VARIABLES = {
    "--landing": "GRADING_LANDING",
    "--warehouse": "GRADING_WAREHOUSE",
    "--outputs": "GRADING_OUTPUTS",
    "--policy": "GRADING_POLICY",
}


def package_version() -> str:
    """The installed distribution's version; 'unknown' in a checkout that is not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def path_option(
    option: str, help_text: str, required: bool = True, otherwise: str = ""
) -> dict[str, Any]:
    """argparse keywords of a path option whose default is its GRADING_* variable.

    A required option stops being required when its variable is set (and not empty), so
    a missing option is still refused by argparse when neither is given. ``otherwise``
    says what an optional one falls back to when its variable is not set either.
    """
    variable = PATH_VARIABLES[option]
    value = os.environ.get(variable) or None
    return {
        "type": Path,
        "default": Path(value) if value else None,
        "required": required and value is None,
        "help": f"{help_text} (default: ${variable}"
        + (f", now {value}" if value else "")
        + (f"; without it, {otherwise})" if otherwise else ")"),
    }


def missing_warehouse_folder(warehouse: Path, create: bool) -> str | None:
    """Why a run must not start on ``warehouse``, or None.

    A new warehouse is created by the first run, and a run on a new warehouse grades
    every landing month from scratch; so a warehouse in a folder that does not exist,
    most often a typo in the path, is refused unless --create says it is meant.
    """
    folder = warehouse.parent
    if folder.is_dir():
        return None
    if folder.exists():
        return f"the warehouse's folder {folder} is not a folder: check --warehouse {warehouse}"
    if create:
        return None
    return (
        f"the warehouse's folder {folder} does not exist: check --warehouse {warehouse}, "
        f"or add --create to start a new warehouse there (its first run grades every month)"
    )
