"""What a black-box review of the dashboard found (2026-12-06), each fixed here.

- Stale months (``main.month_status``) were shown as ordinary, with moves into them
  computed against a restated earlier month: the page now says which months are stale,
  in a banner and beside their movers.
- The oldest month shown said "no previous month published" when the month before it is
  published but older than the months shown.
- Every month's quarantine share was judged against the limit of the newest month's
  policy: each month is now judged by its own policy's limit.
- Months graded under several policies were named without saying which month had which.
"""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from pipelines.policy import DEFAULT_POLICY_PATH, load_policy
from pipelines.reporting.dashboard import month_spans, page_warnings, write_dashboard
from pipelines.reporting.dashboard_data import build_payload
from pipelines.reporting.dashboard_sections import data_quality, section_payload
from pipelines.warehouse import connect, fetch_rows
from tests.test_dashboard import Watched, page_data
from tests.test_dashboard_sections import mark_feedback_files_changed
from tests.test_explain import MONTHS, published_warehouse
from tests.test_policy_calendar import policy_text_from


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_warehouse(tmp_path_factory)


def stale_copy(warehouse: Path, tmp_path: Path) -> Path:
    """A copy of the warehouse whose first month's feedback files a later run saw changed
    (what a corrected landing month leaves before it is regraded): every month is stale."""
    copy = tmp_path / "stale.duckdb"
    shutil.copy(warehouse, copy)
    con = connect(copy)
    try:
        mark_feedback_files_changed(con, MONTHS[0])
        stale = fetch_rows(con, "SELECT month FROM main.month_status WHERE stale ORDER BY 1")
    finally:
        con.close()
    assert [m for (m,) in stale] == MONTHS
    return copy


def test_stale_months_are_named_in_the_payload_and_the_page_s_banner(warehouse, tmp_path):
    current = write_dashboard(warehouse, tmp_path / "current")
    assert page_data(current.path.read_text())["payload"]["quality"]["stale"] == []
    assert "Stale:" not in current.path.read_text()

    result = write_dashboard(stale_copy(warehouse, tmp_path), tmp_path / "site")
    assert page_data(result.path.read_text())["payload"]["quality"]["stale"] == MONTHS
    page = result.path.read_text()
    assert f"Stale: {MONTHS[0]}..{MONTHS[-1]}." in page
    assert f"grading run --through {MONTHS[-1]}" in page


@pytest.mark.browser
def test_a_stale_month_s_movers_say_the_moves_may_not_hold(warehouse, tmp_path, browser):
    site = write_dashboard(stale_copy(warehouse, tmp_path), tmp_path / "site").path
    watched = Watched(browser, site)
    note = watched.text("#movers-note")
    assert f"{MONTHS[-1]} is stale: these moves may not hold" in note
    assert watched.page.locator("p.warning", has_text="Stale:").count() == 1
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


def test_the_month_before_the_first_shown_is_named_when_it_is_published(warehouse, tmp_path):
    policy = load_policy()
    con = connect(warehouse, read_only=True)
    try:
        all_shown = build_payload(con, MONTHS, policy, None)
        later = build_payload(con, MONTHS[1:], policy, None)
    finally:
        con.close()
    assert all_shown["previousHidden"] == [None] * len(MONTHS)  # 2025-12 is not published
    assert later["previous"][0] == -1
    assert later["previousHidden"] == [MONTHS[0], None]


@pytest.mark.browser
def test_the_page_says_the_month_before_is_published_but_not_shown(warehouse, tmp_path, browser):
    site = write_dashboard(warehouse, tmp_path / "site", months_shown=len(MONTHS) - 1).path
    watched = Watched(browser, site)
    watched.page.select_option("#month", index=0)
    hidden = f"{MONTHS[0]} is published but not among the months shown"
    assert hidden in watched.text("#kpi-graded")
    assert hidden in watched.text("#movers-note")
    assert watched.page.locator("#chart-migration", has_text=hidden).count()
    assert "No previous month published" not in watched.text("#movers-note")
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


def test_each_month_s_quarantine_is_judged_by_its_own_policy_s_limit(warehouse):
    """A month whose policy allows less is over its limit; the others, under a policy
    allowing the usual 1%, are within theirs, whatever the page's own policy says."""
    con = connect(warehouse, read_only=True)
    try:
        month, read, quarantined = fetch_rows(
            con,
            "SELECT month, rows_read, rows_quarantined FROM raw.ingest_log "
            "WHERE rows_quarantined > 0 ORDER BY rows_quarantined DESC, month, dataset LIMIT 1",
        )[0]
    finally:
        con.close()
    shipped = load_policy()
    tight = shipped.__class__(
        **{**shipped.__dict__, "max_quarantine_ratio": Fraction(quarantined - 1, read)}
    )
    con = connect(warehouse, read_only=True)
    try:
        quality = data_quality(con, MONTHS, lambda m: tight if m == month else shipped)
        page_policy_tight = section_payload(
            con, build_payload(con, MONTHS, tight, None), tight, lambda m: shipped
        )["quality"]
    finally:
        con.close()
    over = {(q["month"], q["dataset"]) for q in quality["quarantine"] if q["over"]}
    assert over and {m for m, _ in over} == {month}
    assert {q["limit"] for q in quality["quarantine"] if q["month"] != month} == {"1%"}
    assert not any(q["over"] for q in page_policy_tight["quarantine"])


def test_the_policy_banner_names_each_version_s_months():
    policy = load_policy()
    versions = [("2026.1", ["2026-01", "2026-02"]), ("2026.2", ["2026-03", "2026-05"])]
    warnings = page_warnings(versions, policy, [])
    assert warnings == [
        "Months shown were graded under policy 2026.1 (2026-01..2026-02); 2026.2 "
        "(2026-03, 2026-05); thresholds and explanations use policy 2026.1."
    ]
    assert page_warnings([(policy.version, ["2026-01"])], policy, []) == []
    assert month_spans(["2025-11", "2025-12", "2026-01", "2026-03"]) == "2025-11..2026-01, 2026-03"


def test_a_calendar_that_starts_after_the_first_month_shown_still_gives_a_page(warehouse, tmp_path):
    """``grading dashboard --policy DIR`` with a calendar whose one policy takes effect
    from the last month shown: the earlier months are judged by the page's policy."""
    from pipelines.policy import load_calendar

    calendar_dir = tmp_path / "calendar"
    calendar_dir.mkdir()
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    (calendar_dir / "late.toml").write_text(policy_text_from(text, MONTHS[-1]), encoding="utf-8")
    result = write_dashboard(
        warehouse, tmp_path / "site", policy_for=load_calendar(calendar_dir).policy_for
    )
    quality = page_data(result.path.read_text())["payload"]["quality"]
    assert {q["month"] for q in quality["quarantine"]} == set(MONTHS)
    assert {q["limit"] for q in quality["quarantine"]} == {"1%"}
