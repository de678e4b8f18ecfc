"""Which version of the grading rules this code is, and what a month graded by another
one means.

Kept apart from ``run_key`` (which reads landing files and the warehouse) so that the
reporting modules can tell a month graded before an upgrade without importing that.
Read as ``rules_version.RULES_VERSION`` at call time, not bound by name at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

# Bump when a rule or the ingest changes what the same inputs produce: every month is
# then regraded once (it is part of each month's run key), and a month graded under
# another version is no base for a later one (main.run_log.rules_version) until it is.
# 2026.12.4: thresholds and minimum amounts of many decimals compared exactly, unquoted
# policy decimals read as written, rates of counts past 2**53, UBIGINT counts (2026-12-06).
RULES_VERSION = "2026.12.4"


def graded_by_other_rules(month: str, rules_version: str | None) -> str | None:
    """Why ``month``, last published under ``rules_version``, is not graded as this code
    grades it; None when it is."""
    if rules_version == RULES_VERSION:
        return None
    graded = f"rules {rules_version}" if rules_version else "rules before 2026.12.4"
    return (
        f"{month} was graded by an earlier version of grading ({graded}; this one's are "
        f"{RULES_VERSION})"
    )


def month_graded_by_other_rules(con: duckdb.DuckDBPyConnection, month: str) -> str | None:
    """``graded_by_other_rules`` of the month's latest publication; None when this code's
    rules graded it, or it was never published."""
    from pipelines.publication_log import latest_publication

    latest = latest_publication(con, month)
    return graded_by_other_rules(month, latest.rules_version) if latest else None
