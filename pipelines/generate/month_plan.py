"""The month plan: parsing the CLI's month range and each month's bounds.

Month syntax and arithmetic come from pipelines/months.py, the same rules the pipeline
applies to month folders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.generate.schema import DAY_US
from pipelines.months import add_months, month_range, parse_month


def parse_month_range(text: str) -> list[str]:
    """Parse 'YYYY-MM..YYYY-MM' (inclusive) or a single 'YYYY-MM' into consecutive months.

    >>> parse_month_range("2025-12..2026-02")
    ['2025-12', '2026-01', '2026-02']
    """
    parts = [part.strip() for part in text.strip().split("..")]
    if len(parts) > 2:
        raise ValueError(f"bad month range {text!r}: expected YYYY-MM or YYYY-MM..YYYY-MM")
    first, last = parse_month(parts[0]), parse_month(parts[-1])
    if last < first:
        raise ValueError(f"bad month range {text!r}: the end month is before the start month")
    return month_range(parts[0], parts[-1])


def _epoch_us(months: list[str]) -> np.ndarray:
    """First instant of each 'YYYY-MM' month, in epoch microseconds (UTC)."""
    return np.array(months, dtype="datetime64[M]").astype("datetime64[us]").astype(np.int64)


@dataclass(frozen=True)
class Calendar:
    """The generated months and their bounds in epoch microseconds (UTC)."""

    months: list[str]
    bounds: np.ndarray  # len(months) + 1 month starts; bounds[-1] = end of the last month

    @classmethod
    def of(cls, months: list[str]) -> Calendar:
        """Check that ``months`` are valid, consecutive and ascending; compute their bounds."""
        if not months:
            raise ValueError("months is empty: give at least one 'YYYY-MM'")
        for month in months:
            parse_month(month)
        if months != month_range(months[0], months[-1]):
            raise ValueError(f"months must be consecutive and ascending, got {months}")
        return cls(list(months), _epoch_us([*months, add_months(months[-1], 1)]))

    def start(self, k: int) -> int:
        """First instant of month k."""
        return int(self.bounds[k])

    def end(self, k: int) -> int:
        """First instant after month k."""
        return int(self.bounds[k + 1])

    def days(self, k: int) -> int:
        """Number of days of month k."""
        return (self.end(k) - self.start(k)) // DAY_US

    def next_start(self, k: int) -> int:
        """Start of the month after k, even past the generated range (for wrong-month rows)."""
        return int(_epoch_us([add_months(self.months[k], 1)])[0])

    def month_of(self, us: np.ndarray) -> np.ndarray:
        """Index of the generated month holding each timestamp (-1 / len before / after)."""
        return np.searchsorted(self.bounds, us, side="right") - 1
