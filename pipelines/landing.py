"""What a landing folder holds: its datasets' month folders, validated by name."""

from __future__ import annotations

from pathlib import Path

from pipelines.datasets import DATASETS_BY_NAME
from pipelines.months import MONTH_PATTERN


class LandingError(ValueError):
    """The landing folder does not follow the contract's layout."""


def landing_months(landing: Path) -> list[str]:
    """Every month that has a folder in any dataset, sorted.

    A folder that is not ``month=YYYY-MM`` inside a dataset is refused rather than
    skipped: a misnamed month would otherwise silently go ungraded.
    """
    landing = Path(landing)
    if not landing.is_dir():
        raise LandingError(f"landing folder {landing} does not exist")
    months: set[str] = set()
    for dataset in DATASETS_BY_NAME:
        root = landing / dataset
        if not root.is_dir():
            continue
        for entry in root.iterdir():
            if entry.name.startswith("."):
                continue
            name = entry.name.removeprefix("month=")
            if (
                not entry.is_dir()
                or not entry.name.startswith("month=")
                or not MONTH_PATTERN.match(name)
            ):
                raise LandingError(f"{entry}: not a month folder (expected month=YYYY-MM)")
            months.add(name)
    if not months:
        raise LandingError(
            f"landing folder {landing} holds no month folder of any dataset "
            f"({', '.join(DATASETS_BY_NAME)})"
        )
    return sorted(months)
