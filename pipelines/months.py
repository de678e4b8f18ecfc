"""Calendar arithmetic of the graded month: cutoff, assessment window, month ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# The earliest month that can be graded. Dagster's monthly partitions look up the month
# before their first: 0001-01 has none, and a landing starting there stopped every command
# with "year 0 is out of range" (a review, 2026-12-06). So the partitions start at 0001-02
# at the earliest, and an earlier month is refused as outside them.
EARLIEST_GRADEABLE_MONTH = "0001-02"


def parse_month(text: str) -> date:
    """'YYYY-MM' -> the first day of that month; anything else is refused."""
    match = MONTH_PATTERN.match(text or "")
    if not match or match.group(1) == "0000":
        raise ValueError(f"not a month: {text!r} (expected YYYY-MM, from 0001-01)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, n: int) -> str:
    first = parse_month(month)
    index = first.year * 12 + first.month - 1 + n
    if not 12 <= index < 10000 * 12:
        raise ValueError(f"{n:+d} months from {month} leaves the calendar (0001-01 to 9999-12)")
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    """Inclusive list of months from ``first`` to ``last``."""
    start, end = parse_month(first), parse_month(last)
    count = (end.year - start.year) * 12 + end.month - start.month
    return [add_months(first, i) for i in range(count + 1)]


@dataclass(frozen=True)
class GradingWindow:
    """Month M graded as of its cutoff, with the assessment window ending on its last day.

    The last day is the month's own, or, for a projection (spec §11), the as-of day: the
    window and every "before the cutoff" filter then end with that day.
    """

    month: str
    month_start: datetime
    cutoff: datetime  # first instant after last_day: records must be strictly before it
    window_start: datetime  # last_day - (days - 1), at 00:00
    last_day: date

    @property
    def window_months(self) -> list[str]:
        """Months whose folders can hold a record of the window."""
        return month_range(month_key(self.window_start.date()), self.month)

    @property
    def ends_at_month_end(self) -> bool:
        """Whether this is the month's own window (not a projection as of an earlier day)."""
        return self.cutoff.date() == parse_month(add_months(self.month, 1))

    @property
    def sql_params(self) -> dict[str, object]:
        """The named parameters the window's SQL reads ($month, $first_month, ...)."""
        return {
            "month": self.month,
            "first_month": self.window_months[0],
            "window_start": self.window_start,
            "cutoff": self.cutoff,
        }


def grading_window(month: str, window_days: int, as_of: date | None = None) -> GradingWindow:
    """The window of ``month``, ending on its last day, or on ``as_of`` (a day of the month).

    ``as_of`` projects the month as of that day (spec §11): the cutoff becomes the first
    instant of the next day, and the window the ``window_days`` days before it.
    """
    first = parse_month(month)
    month_end = parse_month(add_months(month, 1)) - timedelta(days=1)
    if as_of is not None and not first <= as_of <= month_end:
        raise ValueError(f"{as_of.isoformat()} is not a day of {month}")
    last_day = as_of or month_end
    cutoff_day = last_day + timedelta(days=1)
    try:
        window_start_day = last_day - timedelta(days=window_days - 1)
    except OverflowError:  # a clear word, not "date value out of range" (a review)
        raise ValueError(
            f"{month}: its {window_days}-day window would start before 0001-01-01, the "
            "first day the calendar holds"
        ) from None
    return GradingWindow(
        month=month,
        month_start=datetime(first.year, first.month, 1),
        cutoff=datetime(cutoff_day.year, cutoff_day.month, cutoff_day.day),
        window_start=datetime(window_start_day.year, window_start_day.month, window_start_day.day),
        last_day=last_day,
    )


def parse_day(text: str) -> date:
    """'YYYY-MM-DD' -> that day; anything else (including 2026-02-30) is refused."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text or ""):
        raise ValueError(f"not a date: {text!r} (expected YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a date: {text!r} (expected YYYY-MM-DD: {exc})") from None
