"""Calendar arithmetic of the graded month: cutoff, assessment window, month ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> date:
    """'YYYY-MM' -> the first day of that month; anything else is refused."""
    match = MONTH_PATTERN.match(text or "")
    if not match:
        raise ValueError(f"not a month: {text!r} (expected YYYY-MM)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, n: int) -> str:
    first = parse_month(month)
    index = first.year * 12 + first.month - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    """Inclusive list of months from ``first`` to ``last``."""
    start, end = parse_month(first), parse_month(last)
    count = (end.year - start.year) * 12 + end.month - start.month
    return [add_months(first, i) for i in range(count + 1)]


@dataclass(frozen=True)
class GradingWindow:
    """Month M graded as of its cutoff, with the assessment window ending on its last day."""

    month: str
    month_start: datetime
    cutoff: datetime  # first instant of M+1: records must be strictly before it
    window_start: datetime  # last_day(M) - (days - 1), at 00:00
    last_day: date

    @property
    def window_months(self) -> list[str]:
        """Months whose folders can hold a record of the window."""
        return month_range(month_key(self.window_start.date()), self.month)

    @property
    def sql_params(self) -> dict[str, object]:
        """The named parameters the window's SQL reads ($month, $first_month, ...)."""
        return {
            "month": self.month,
            "first_month": self.window_months[0],
            "window_start": self.window_start,
            "cutoff": self.cutoff,
        }


def grading_window(month: str, window_days: int) -> GradingWindow:
    first = parse_month(month)
    cutoff_day = parse_month(add_months(month, 1))
    last_day = cutoff_day - timedelta(days=1)
    window_start_day = last_day - timedelta(days=window_days - 1)
    return GradingWindow(
        month=month,
        month_start=datetime(first.year, first.month, 1),
        cutoff=datetime(cutoff_day.year, cutoff_day.month, 1),
        window_start=datetime(window_start_day.year, window_start_day.month, window_start_day.day),
        last_day=last_day,
    )
