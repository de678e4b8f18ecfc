"""The dashboard explains each month over the window it was graded on.

A review of long history (2026-12-07) drew a page whose twelve months spanned a calendar:
months graded under a 60-day window, then under a 120-day one. The page explains every
month under its latest month's policy, and its explanations recomputed the service sums
(DSR, shipments, messages) over that policy's window for every month: a month graded on 60
days showed the sums of 120 ("dsr_item_avg 4.7692 (434/91)" for a published 4.8235 of
246/51), and a note said "raw data changed after the month was published", which it had
not. The sums now cover each month's own graded window (the calendar's policy for it, when
that policy graded it).
"""

from __future__ import annotations

import json
from pathlib import Path

from assets.runner import grade_months
from pipelines.policy import load_calendar
from pipelines.reporting.dashboard import write_dashboard
from tests.test_dashboard import page_data
from tests.test_policy_calendar import policy_text, query, write_policy
from tests.test_policy_refusals import calendar, landing  # noqa: F401  (fixture)

RAW_CHANGED = "raw data changed after the month was published"


def explanations(data: object) -> list[str]:
    """Every explanation text of the page's data (the merchant panel's and the movers')."""
    if isinstance(data, dict):
        return [text for value in data.values() for text in explanations(value)]
    if isinstance(data, list):
        return [text for value in data for text in explanations(value)]
    return [data] if isinstance(data, str) and data.startswith("Merchant ") else []


def test_a_month_graded_under_another_window_is_explained_over_its_own(
    tmp_path: Path,
    landing: Path,  # noqa: F811
) -> None:
    folder = calendar(tmp_path / "policies")
    text = policy_text("2026.2", "2026-03").replace("\ndays = 90\n", "\ndays = 30\n")
    assert "\ndays = 30\n" in text, "test setup: the window line moved"
    write_policy(folder, "policy-2026.2.toml", text)
    warehouse = tmp_path / "w.duckdb"
    grade_months(landing, warehouse, tmp_path / "out", "2026-03", folder, dashboard=False)
    assert dict(
        query(
            warehouse,
            "SELECT month, any_value(policy_version) FROM main.merchant_grades GROUP BY ALL",
        )
    ) == {"2026-01": "2026.1", "2026-02": "2026.1", "2026-03": "2026.2"}
    merchants = [
        m
        for (m,) in query(
            warehouse,
            "SELECT merchant_id FROM main.merchant_grades WHERE month = '2026-02' "
            "AND dsr_item_avg IS NOT NULL ORDER BY merchant_id",
        )
    ]
    assert merchants, "test setup: no merchant of February with a DSR average"

    result = write_dashboard(
        warehouse,
        tmp_path / "site",
        merchants=merchants,
        policy_for=load_calendar(folder).policy_for,
    )
    data = page_data(result.path.read_text(encoding="utf-8"))
    texts = explanations(data["payload"])
    february = [t for t in texts if t.split("\n", 1)[0].split(", ")[1].startswith("2026-02")]
    assert february, json.dumps(texts[:2])
    assert [t for t in texts if RAW_CHANGED in t] == []
    published = dict(
        query(
            warehouse,
            "SELECT merchant_id, dsr_item_avg FROM main.merchant_grades WHERE month = '2026-02'",
        )
    )
    for text in february:  # the sums shown are the published average's, e.g. (246/51)
        merchant = text.split(",", 1)[0].removeprefix("Merchant ")
        line = next(row for row in text.splitlines() if row.startswith("dsr_item_avg"))
        numerator, denominator = line.split("(")[1].split(")")[0].split("/")
        assert abs(int(numerator) / int(denominator) - published[merchant]) < 1e-9, line
