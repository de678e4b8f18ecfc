"""Where the monthly partitions start: the configured first month, else the data's.

A partition range that starts years before the first landing month shows in the Dagster
UI as a mostly empty bar ("17% filled") and looks broken. So the partitions start at
``GRADING_FIRST_MONTH`` when it is set; otherwise at the earliest month of the landing
folder or of the warehouse's published months, whichever is earlier (a landing folder
pruned of old months keeps the months the warehouse has published). With neither, they
start at ``NO_DATA_FIRST_MONTH``.
"""

from __future__ import annotations

from pathlib import Path

from assets.settings import FIRST_MONTH, LANDING, LEGACY_FIRST_MONTH, WAREHOUSE
from pipelines.env_settings import SettingInvalid
from pipelines.landing import LandingError, landing_months
from pipelines.months import EARLIEST_GRADEABLE_MONTH, parse_month
from pipelines.warehouse import read_value_if_readable

# The start with no data at all (a fresh checkout's `make ui`): a few years of empty
# months, not two thousand. The shipped policy is in force from any month, so this bounds
# only what the UI lists before a landing folder or a warehouse says where data starts.
NO_DATA_FIRST_MONTH = "2024-01"


def configured_first_month() -> str | None:
    """The first month set in the environment, checked; None when unset."""
    setting = FIRST_MONTH if FIRST_MONTH.at_load() else LEGACY_FIRST_MONTH
    month = setting.at_load()
    if not month:
        return None
    try:
        parse_month(month)
    except ValueError as exc:  # SettingInvalid: one line from the CLI, not a traceback
        raise SettingInvalid(f"{setting.variable}: {exc}") from None
    return month


def first_landing_month(landing: Path) -> str | None:
    """The landing folder's first month; None when there is no usable landing folder
    (a broken one is reported by the run that reads it, not by the partitions)."""
    try:
        return landing_months(landing)[0]
    except (LandingError, OSError):
        return None


def first_published_month(warehouse: Path) -> str | None:
    """The warehouse's first published month, read-only; None when there is none or
    the file cannot be read now (another process writing it holds DuckDB's lock)."""
    return read_value_if_readable(warehouse, "SELECT min(month) FROM main.run_log") or None


def first_month(landing: Path, warehouse: Path, configured: str | None = None) -> str:
    """The partitions' first month: ``configured``, else the earliest of the landing's
    and the warehouse's, else ``NO_DATA_FIRST_MONTH``."""
    if configured:
        parse_month(configured)
        month = configured
    else:
        found = [m for m in (first_landing_month(landing), first_published_month(warehouse)) if m]
        month = min(found) if found else NO_DATA_FIRST_MONTH
    return max(month, EARLIEST_GRADEABLE_MONTH)


def first_month_from_environment() -> str:
    """The first month for the code location, from the same variables ``make ui`` sets,
    read when the location loads (the partitions are part of the graph)."""
    return first_month(Path(LANDING.at_load()), Path(WAREHOUSE.at_load()), configured_first_month())
