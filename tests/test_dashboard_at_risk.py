"""The dashboard's "At risk this month" section: its data, and the page in headless Chromium."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from assets.cli import main
from assets.runner import grade_months
from pipelines.months import grading_window
from pipelines.preview import PreviewBlocked
from pipelines.preview_store import store_blocked
from pipelines.reporting.dashboard import build_dashboard
from pipelines.warehouse import connect, fetch_frame
from tests.helpers import CONFORMANCE
from tests.test_dashboard import ARTIFACTS, Watched, page_data

AS_OF = "2026-03-15"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path]:
    """The conformance landing and a warehouse graded through February, no preview."""
    root = tmp_path_factory.mktemp("dash-at-risk")
    shutil.copytree(CONFORMANCE / "landing", root / "landing")
    grade_months(root / "landing", root / "w.duckdb", root / "outputs", "2026-02")
    return root / "landing", root / "w.duckdb"


@pytest.fixture(scope="module")
def previewed(graded, tmp_path_factory) -> Path:
    """A copy of it with March previewed as of the 15th by ``grading preview``."""
    landing, warehouse = graded
    copy = tmp_path_factory.mktemp("previewed") / "w.duckdb"
    shutil.copyfile(warehouse, copy)
    args = ["preview", "--landing", str(landing), "--warehouse", str(copy), "--as-of", AS_OF]
    assert main(args) == 0
    return copy


@pytest.fixture(scope="module")
def site(previewed, tmp_path_factory) -> Path:
    return build_dashboard(previewed, tmp_path_factory.mktemp("site"))


def stored_at_risk(warehouse: Path) -> pl.DataFrame:
    con = connect(warehouse, read_only=True)
    try:
        return fetch_frame(con, "SELECT * FROM preview.at_risk ORDER BY merchant_id")
    finally:
        con.close()


def percent_text(limit: str) -> str:
    """A limit's exact decimal text as a percentage: 0.0075 → 0.75%, 0.03 → 3%."""
    return f"{(Decimal(limit) * 100).normalize():f}" + "%"


def distance(row: dict) -> str:
    """The distance column as the page words it, from the stored integers."""

    def part(noun: str, recover: int | None, cross: int | None, limit: str) -> list[str]:
        percent = percent_text(limit)
        if recover is not None:
            return [f"{recover} fewer {noun}{'' if recover == 1 else 's'} to get under {percent}"]
        if cross is not None:
            return [f"{cross} more {noun}{'' if cross == 1 else 's'} would reach {percent}"]
        return []

    return "; ".join(
        part(
            "bad order",
            row["bad_orders_to_recover"],
            row["bad_orders_to_cross"],
            row["bad_order_limit"],
        )
        + part(
            "dispute", row["disputes_to_recover"], row["disputes_to_cross"], row["dispute_limit"]
        )
    )


def test_the_page_embeds_the_stored_at_risk_list(site, previewed) -> None:
    stored = stored_at_risk(previewed)
    assert stored.height > 0, "the fixture has merchants projected to fall"
    html = site.read_text(encoding="utf-8")
    assert 'id="section-at-risk"' in html
    risk = page_data(html)["payload"]["atRisk"]
    assert (risk["month"], risk["asOf"], risk["comparedMonth"]) == ("2026-03", AS_OF, "2026-02")
    assert risk["status"] == "projected" and risk["total"] == stored.height
    assert sorted(r["id"] for r in risk["rows"]) == stored["merchant_id"].to_list()
    by_id = {r["id"]: r for r in risk["rows"]}
    for row in stored.iter_rows(named=True):
        shown = by_id[row["merchant_id"]]
        assert (shown["from"], shown["to"]) == (row["published_tier"], row["projected_tier"])
        assert shown["deciding"] == row["deciding"]
        assert (shown["badRecover"], shown["disputeCross"]) == (
            row["bad_orders_to_recover"],
            row["disputes_to_cross"],
        )


def test_no_section_without_a_preview_and_a_blocked_preview_says_why(graded, tmp_path) -> None:
    _, warehouse = graded
    html = build_dashboard(warehouse, tmp_path / "none").read_text(encoding="utf-8")
    assert 'id="section-at-risk"' not in html
    assert page_data(html)["payload"]["atRisk"] is None
    blocked = tmp_path / "w.duckdb"
    shutil.copyfile(warehouse, blocked)
    reason = "data check raw_orders.expectations failed: too many quarantined"
    store_blocked(
        blocked, None, PreviewBlocked(grading_window("2026-03", 90, date(2026, 3, 9)), "x", reason)
    )
    risk = page_data(build_dashboard(blocked, tmp_path / "b").read_text(encoding="utf-8"))[
        "payload"
    ]["atRisk"]
    assert (risk["status"], risk["reason"], risk["rows"]) == ("blocked", reason, [])


def test_the_page_shows_only_the_current_month_s_preview_worst_fall_first(graded, tmp_path) -> None:
    """A preview of February, a published month, is not current: the page has no at-risk
    section. Once March is previewed, the page lists March's at-risk merchants only (not
    February's, still stored), the largest fall in tiers first, then by published tier
    (top first) and merchant."""
    landing, warehouse = graded
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(warehouse, copy)
    args = ["preview", "--landing", str(landing), "--warehouse", str(copy), "--as-of"]

    assert main([*args, "2026-02-20"]) == 0
    assert stored_at_risk(copy)["month"].unique().to_list() == ["2026-02"]
    page = page_data(build_dashboard(copy, tmp_path / "feb").read_text(encoding="utf-8"))
    assert page["payload"]["atRisk"] is None

    assert main([*args, AS_OF]) == 0
    stored = stored_at_risk(copy)
    assert set(stored["month"]) == {"2026-02", "2026-03"}
    payload = page_data(build_dashboard(copy, tmp_path / "mar").read_text(encoding="utf-8"))[
        "payload"
    ]
    rank = {tier: i for i, tier in enumerate(payload["tiers"])}
    march = [r for r in stored.iter_rows(named=True) if r["month"] == "2026-03"]
    expected = sorted(
        march,
        key=lambda r: (
            rank[r["published_tier"]] - rank[r["projected_tier"]],
            rank[r["published_tier"]],
            r["merchant_id"],
        ),
    )
    assert len({r["published_tier"] for r in march}) > 1, "falls from more than one tier"
    risk = payload["atRisk"]
    assert risk["month"] == "2026-03"
    assert [r["id"] for r in risk["rows"]] == [r["merchant_id"] for r in expected]


def test_a_merchant_falling_two_tiers_is_listed_before_one_falling_one(previewed, tmp_path) -> None:
    """The page keeps the MAX_ROWS merchants falling furthest, so the fall is the first
    sort key. In the fixture every at-risk merchant falls one tier; here one that would
    not come first by its published tier and id is made to fall to the bottom tier (its
    stored row edited on a copy), so it must come first, ahead of every one-tier fall."""
    from pipelines.policy import load_policy
    from pipelines.reporting.dashboard_at_risk import at_risk_payload

    tiers = list(load_policy().tier_names)
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(previewed, copy)
    march = stored_at_risk(copy).filter(pl.col("month") == "2026-03")
    rank = {t: i for i, t in enumerate(tiers)}
    one_tier = march.filter(
        pl.col("published_tier").replace_strict(rank) + 1
        == pl.col("projected_tier").replace_strict(rank)
    )
    assert one_tier.height == march.height > 2, "the fixture's falls are all one tier"
    candidates = march.filter(pl.col("published_tier").is_in(tiers[:-2]))
    assert candidates.height > 0, "someone can fall two tiers or more"
    furthest = candidates["merchant_id"].max()
    by_tier_then_id = march.sort(
        pl.col("published_tier").replace_strict(rank), pl.col("merchant_id")
    )
    assert by_tier_then_id["merchant_id"][0] != furthest, "first only by its fall"
    con = connect(copy)
    try:
        con.execute(
            "UPDATE preview.at_risk SET projected_tier = $bottom "
            "WHERE month = '2026-03' AND merchant_id = $id",
            {"bottom": tiers[-1], "id": furthest},
        )
        payload = at_risk_payload(con, ["2026-01", "2026-02"], tiers)
    finally:
        con.close()
    ids = [row["id"] for row in payload["rows"]]
    assert ids[0] == furthest
    assert sorted(ids[1:]) == sorted(set(march["merchant_id"]) - {furthest})


@pytest.mark.browser
def test_at_risk_section_lists_them_and_follows_the_category(browser, site, previewed) -> None:
    stored = stored_at_risk(previewed)
    watched = Watched(browser, site)
    watched.page.wait_for_selector("#section-at-risk[data-ready=true]", timeout=30_000)
    rows = watched.page.locator("#at-risk tbody tr")
    assert rows.count() == stored.height
    summary = watched.text("#at-risk-summary")
    assert f"Projected 2026-03 as of {AS_OF} against the tiers published for 2026-02" in summary
    assert f"{stored.height} merchants at risk" in summary

    first = stored.row(0, named=True)
    row = watched.page.locator(f'#at-risk tr[data-merchant="{first["merchant_id"]}"]')
    text = row.text_content()
    assert f"{first['published_tier']} → {first['projected_tier']}" in text
    assert first["deciding"][0] in text
    assert f"{first['bad_orders']}/{first['assessed_orders']}" in text

    cells = watched.page.eval_on_selector_all(
        "#at-risk tbody tr", "rs => rs.map(r => [r.dataset.merchant, r.lastChild.textContent])"
    )
    assert dict(cells) == {r["merchant_id"]: distance(r) for r in stored.iter_rows(named=True)}

    category = stored["main_category"].mode().sort()[0]
    watched.page.select_option("#category", label=category)
    in_category = stored.filter(pl.col("main_category") == category).height
    assert rows.count() == in_category
    assert f"; {in_category} in {category}." in watched.text("#at-risk-summary")
    ARTIFACTS.mkdir(exist_ok=True)
    watched.page.locator("#section-at-risk").screenshot(path=str(ARTIFACTS / "at_risk.png"))
    assert watched.errors == [] and watched.dialogs == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_limits_read_as_their_exact_percentages(browser, previewed, tmp_path) -> None:
    """A dispute limit of 0.0075 read "0.8%", rounded, beside a rate of 8/1001 = 0.799%
    said to reach it (a review, 2026-12-06). The page shows the limit's exact decimal as
    a percentage, as the deciding conditions beside it do."""
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(previewed, copy)
    con = connect(copy)
    try:
        con.execute(
            "UPDATE preview.at_risk SET dispute_limit = '0.0075', "
            "bad_order_limit = '0.1200000000000000001' WHERE month = '2026-03'"
        )
    finally:
        con.close()
    stored = stored_at_risk(copy)
    watched = Watched(browser, build_dashboard(copy, tmp_path / "site"))
    watched.page.wait_for_selector("#section-at-risk[data-ready=true]", timeout=30_000)
    cells = watched.page.eval_on_selector_all(
        "#at-risk tbody tr", "rs => rs.map(r => [r.dataset.merchant, r.lastChild.textContent])"
    )
    assert dict(cells) == {r["merchant_id"]: distance(r) for r in stored.iter_rows(named=True)}
    shown = " ".join(text for _, text in cells)
    assert "would reach 0.75%" in shown and "0.8%" not in shown
    table = watched.text("#at-risk tbody")
    assert "(limit 0.75%)" in table and "(limit 12.00000000000000001%)" in table
    assert watched.errors == [] and watched.dialogs == [] and watched.requests == []
    watched.page.close()
