"""The dashboard's movers: the data (SQL, parsed reasons, caps, encoding) and the page.

Browser tests drive headless chromium like tests/test_dashboard.py (its fixtures and
``Watched`` page wrapper are reused), from a file:// URL with every network request
aborted and recorded.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest

from pipelines.policy import load_policy
from pipelines.reporting.dashboard import build_dashboard
from pipelines.reporting.dashboard_metrics import HISTORY_METRICS
from pipelines.reporting.dashboard_movers import (
    EXPLAINED_CAP,
    MOVER_SCHEMA,
    TEXT_SCHEMA,
    classify_movers,
    condition_entry,
    embedded_rows,
    encode_movers,
    encode_reasons,
    explained_pairs,
    load_movers,
    parse_reasons,
)
from pipelines.reporting.dashboard_page import render_page, script_json
from pipelines.reporting.explain import open_read_only
from pipelines.rules.tiers import assign_tiers
from pipelines.warehouse import fetch_rows
from tests.helpers import EXCELLENT_COUNTS
from tests.test_dashboard import (
    DATA_BLOCK,
    EVIL_CATEGORY,
    EVIL_MERCHANT,
    Watched,
    page_data,
)
from tests.test_explain import MONTHS, published_warehouse

POLICY = load_policy()
TIERS = list(POLICY.tier_names)
YEAR = [f"2025-{m:02d}" for m in range(7, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_warehouse(tmp_path_factory)


@pytest.fixture(scope="session")
def site(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dashboard(warehouse, tmp_path_factory.mktemp("movers_site"))


def synthetic_movers(merchants: int, months: list[str], share_moving: float) -> pl.DataFrame:
    """movers.sql's rows for ``merchants`` merchants of which ``share_moving`` change tier
    every month after the first, built with polars expressions (no row loop): ids like
    the generator's (M + 7 digits), 25 categories, category-sized exposure shares and the
    stored reasons' wording with varied counts."""
    per_month = int(merchants * share_moving)
    frame = (
        pl.DataFrame({"month": months[1:]})
        .join(pl.DataFrame({"i": pl.int_range(per_month, eager=True)}), how="cross")
        .with_columns(key=(pl.col("i") * 7919 + pl.col("month").rank("dense") * 104729) % merchants)
    )
    tier = pl.col("key") % 4
    step = 1 + pl.col("key") % 3
    n, d = pl.col("key") % 5 + 1, pl.col("key") % 400 + 30
    return classify_movers(
        frame.select(
            "month",
            pl.format("M{}", pl.col("key").cast(pl.String).str.zfill(7)).alias("merchant_id"),
            pl.format("category_{}", pl.col("key") % 25).alias("main_category"),
            tier.replace_strict(dict(enumerate(TIERS))).alias("tier_before"),
            ((tier + step) % 4).replace_strict(dict(enumerate(TIERS))).alias("tier_after"),
            (pl.col("key") % 11).cast(pl.Int32).alias("level_before"),
            (pl.col("key") % 7).cast(pl.Int32).alias("level_after"),
            ((pl.col("key") % 997) / 997 * 25 / merchants).alias("share_before"),
            ((pl.col("key") % 991) / 991 * 25 / merchants).alias("share_after"),
            pl.concat_list(
                pl.format(
                    "bad_order_rate 0.0312 ({}/{}) is not below the 0.03 needed for excellent", n, d
                )
            ).alias("reasons_before"),
            pl.concat_list(
                pl.format(
                    "seller_dispute_rate 0.0089 ({}/{}) is not below the 0.008 needed for passing",
                    n,
                    d,
                ),
                pl.format(
                    "on_time_ship_rate 0.9057 ({}/{}) is below the 0.95 needed for excellent",
                    d - n,
                    d,
                ),
            ).alias("reasons_after"),
        ).cast(MOVER_SCHEMA),
        TIERS,
    )


# --- the data, without a browser -----------------------------------------------------------


def graded(**changes: dict[str, int]) -> pl.DataFrame:
    """Merchants graded by the pipeline's own assign_tiers: each starts excellent and gets
    the counts given, so their reasons are worded exactly as merchant_grades stores them."""
    rows = [{"merchant_id": m, **EXCELLENT_COUNTS, **c} for m, c in changes.items()]
    counts = pl.DataFrame(rows).with_columns(
        (pl.col("positive_feedback") + pl.col("negative_feedback")).alias("rated_feedback")
    )
    return assign_tiers(counts.lazy(), POLICY).collect()


BOUNDARY = graded(
    dispute={"assessed_orders": 112, "seller_dispute_orders": 1, "bad_orders": 1},
    late={"assessed_orders": 1999, "shipments_due": 1999, "shipments_on_time": 1799},
    exact={"bad_orders": 3},
    dsr={"dsr_item_sum": 469},
    new={"assessed_orders": 8},
)
# What the page must show for each of BOUNDARY's merchants, worked out by hand.
EXPECTED_DECIDING = {
    "dispute": "seller disputes 1/112 = 0.89% \u2265 0.8%",
    "late": "on-time shipments 1799/1999 = 89.99% < 90%",
    "exact": "bad orders 3/100 = 3% \u2265 3%",
    "dsr": "item DSR 469/100 = 4.69 < 4.7",
    "new": "provisional: 8 assessed orders < 30",
}


def boundary_movers(month: str, tiers: list[str]) -> pl.DataFrame:
    """BOUNDARY's merchants as movers down from excellent into ``month``."""
    return classify_movers(
        BOUNDARY.select(
            pl.lit(month).alias("month"),
            "merchant_id",
            pl.lit("toys").alias("main_category"),
            pl.lit("excellent").alias("tier_before"),
            pl.col("tier").alias("tier_after"),
            pl.lit(5).alias("level_before"),
            pl.lit(4).alias("level_after"),
            pl.lit(0.25).alias("share_before"),
            pl.lit(0.125).alias("share_after"),
            pl.lit([], dtype=pl.List(pl.String)).alias("reasons_before"),
            pl.col("reasons").alias("reasons_after"),
        ).cast(MOVER_SCHEMA),
        tiers,
    )


def test_stored_reasons_are_parsed_into_exact_counts_and_thresholds():
    movers = boundary_movers("2026-03", TIERS)
    unknown = movers.head(1).with_columns(
        pl.lit(["a reason worded some other way"]).alias("reasons_after")
    )
    parsed = parse_reasons(pl.concat([movers, unknown]))
    by_merchant = dict(zip(movers["merchant_id"], range(movers.height), strict=True))
    rows = {(r["row"], r["metric"]): r for r in parsed.filter(pl.col("kind") != "text").to_dicts()}
    dispute = rows[(by_merchant["dispute"], "seller_dispute_rate")]
    assert (dispute["n"], dispute["d"], dispute["bound"], dispute["op"]) == (
        1,
        112,
        "0.008",
        "not below",
    )
    late = rows[(by_merchant["late"], "on_time_ship_rate")]
    assert (late["n"], late["d"], late["bound"], late["op"]) == (1799, 1999, "0.9", "below")
    assert rows[(by_merchant["new"], "provisional")]["n"] == 8
    assert (by_merchant["new"], "assessed_orders") not in rows  # said by the provisional one
    assert parsed.filter(pl.col("kind") == "text")["text"].to_list() == [
        "a reason worded some other way"
    ]
    _, conditions = encode_reasons(parsed)
    assert {"kind": "text", "text": "a reason worded some other way"} in conditions
    seller = next(c for c in conditions if c.get("label") == "seller disputes")
    assert (seller["op"], seller["bound"], seller["decimals"]) == ("\u2265", "0.8%", 2)


def test_a_threshold_with_more_decimals_keeps_its_decimals():
    entry = condition_entry("rate", "bad_order_rate", "not below", "0.00125")
    assert (entry["bound"], entry["decimals"]) == ("0.125%", 3)
    assert condition_entry("rate", "dsr_item_avg", "below", "4.75")["bound"] == "4.75"


def test_movers_are_the_merchants_whose_tier_changed(warehouse):
    con = open_read_only(warehouse)
    try:
        previous = [-1, *range(len(MONTHS) - 1)]
        movers = load_movers(con, MONTHS, previous, TIERS)
        expected = fetch_rows(
            con,
            "SELECT a.month, a.merchant_id, b.tier, a.tier FROM main.merchant_grades a "
            "JOIN main.merchant_grades b ON b.merchant_id = a.merchant_id "
            "AND b.month = strftime(strptime(a.month, '%Y-%m') - INTERVAL 1 MONTH, '%Y-%m') "
            "WHERE a.tier <> b.tier",
        )
    finally:
        con.close()
    got = movers.select("month", "merchant_id", "tier_before", "tier_after").rows()
    assert sorted(got) == sorted(expected) and len(got) > 0
    rank = {t: i for i, t in enumerate(TIERS)}
    for merchant, before, after, direction in movers.select(
        "merchant_id", "tier_before", "tier_after", "direction"
    ).iter_rows():
        assert direction == ("down" if rank[after] > rank[before] else "up"), merchant
    assert movers["month"].to_list() == sorted(movers["month"].to_list(), reverse=True)


def test_caps_keep_whole_months_newest_first_and_cut_only_the_newest():
    months = ["2026-01", "2026-02", "2026-03", "2026-04"]
    movers = synthetic_movers(1000, months, 0.1)  # 100 movers in each of 3 months
    assert embedded_rows(movers, cap=250)["month"].unique().sort().to_list() == months[2:]
    cut = embedded_rows(movers, cap=60)
    assert cut["month"].unique().to_list() == ["2026-04"] and cut.height == 60
    assert cut["merchant_id"].to_list() == movers.head(60)["merchant_id"].to_list()
    pairs = explained_pairs(embedded_rows(movers, cap=250), cap=120)
    assert pairs.height == 120
    assert pairs["month"].value_counts().sort("month").rows() == [("2026-03", 20), ("2026-04", 100)]


def test_the_page_stays_under_25_mb_at_a_million_merchants(site, tmp_path):
    """1M merchants, 15% of them moving every month for 12 months (the demo's rate is
    about 13%): the caps keep the page with plotly and every other chart under 25 MB."""
    movers = synthetic_movers(1_000_000, YEAR, 0.15)
    embedded = embedded_rows(movers)
    pairs = explained_pairs(embedded)
    merchants = pairs["merchant_id"].unique().sort()
    history = pl.DataFrame({"merchant_id": merchants}).with_columns(
        pl.lit("category_01").alias("category"),
        *(pl.lit([0, 1, 2, 3] * 3).alias(c) for c in ("tier", "level", "provisional")),
        pl.lit([123456] * 12).alias("credit_points"),
        *(pl.lit([0.9876] * 12).alias(m) for m in HISTORY_METRICS),
    )
    data = page_data(site.read_text(encoding="utf-8"))
    text = data["payload"]["merchants"][0]["explanation"][-1]  # a real one, about 1.1 kB
    texts = pairs.with_columns(pl.lit(text).alias("explanation"))
    data["payload"]["movers"] = encode_movers(
        movers,
        embedded,
        history,
        texts,
        YEAR,
        [-1, *range(len(YEAR) - 1)],
        TIERS,
        [f"category_{i}" for i in range(25)],
    )
    size = len(render_page(data, [], [], []).encode("utf-8"))
    latest = data["payload"]["movers"]["months"][-1]
    assert latest["rows"] == latest["down"] + latest["up"] == 150_000  # every mover, newest
    assert len(latest["explanation"]) == EXPLAINED_CAP
    assert size < 25_000_000, f"{size:,} bytes"


# --- in a real browser ---------------------------------------------------------------------


def latest_movers(warehouse) -> dict[str, tuple[str, str, str]]:
    """The latest month's movers from the published table: id -> (category, before, after)."""
    con = open_read_only(warehouse)
    try:
        rows = fetch_rows(
            con,
            "SELECT a.merchant_id, coalesce(e.main_category, '(none)'), b.tier, a.tier "
            "FROM main.merchant_grades a JOIN main.merchant_grades b "
            "ON b.merchant_id = a.merchant_id AND b.month = $before "
            "LEFT JOIN main.exposure_weights e ON e.month = a.month "
            "AND e.merchant_id = a.merchant_id WHERE a.month = $month AND a.tier <> b.tier",
            {"month": MONTHS[-1], "before": MONTHS[-2]},
        )
    finally:
        con.close()
    return {m: (c, b, a) for m, c, b, a in rows}


def table(watched: Watched) -> list[list[str]]:
    return watched.page.eval_on_selector_all(
        "#movers-table tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))",
    )


@pytest.mark.browser
def test_movers_table_lists_filters_sorts_and_searches(browser, site, warehouse):
    expected = latest_movers(warehouse)
    assert len(expected) > 2
    watched = Watched(browser, site)
    rows = table(watched)
    assert {r[0] for r in rows} == set(expected)
    for merchant, category, tiers, *_ in rows:
        assert category == expected[merchant][0]
        assert tiers.endswith(f"{expected[merchant][1]} \u2192 {expected[merchant][2]}")
    downs = {m for m, (_, b, a) in expected.items() if TIERS.index(a) > TIERS.index(b)}
    watched.page.select_option("#movers-direction", "down")
    assert {r[0] for r in table(watched)} == downs
    watched.page.select_option("#movers-direction", "up")
    assert {r[0] for r in table(watched)} == set(expected) - downs
    watched.page.select_option("#movers-direction", "all")

    watched.page.click("#movers-table th[data-sort=merchant]")
    ids = [r[0] for r in table(watched)]
    assert ids == sorted(expected)
    watched.page.click("#movers-table th[data-sort=merchant]")
    assert [r[0] for r in table(watched)] == sorted(expected, reverse=True)
    header = "#movers-table th[data-sort=merchant]"
    assert watched.page.get_attribute(header, "aria-sort") == "descending"

    watched.page.fill("#movers-search", ids[1].lower())
    assert [r[0] for r in table(watched)] == [ids[1]]
    watched.page.fill("#movers-search", "")

    category = expected[ids[0]][0]
    watched.page.select_option("#category", label=category)
    in_category = {m for m, v in expected.items() if v[0] == category}
    assert {r[0] for r in table(watched)} == in_category
    down_here = len(in_category & downs)
    assert f"in {category}: {down_here} down, {len(in_category) - down_here} up" in watched.text(
        "#movers-note"
    )
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_movers_csv_is_built_in_the_page(browser, site, warehouse, tmp_path):
    expected = latest_movers(warehouse)
    watched = Watched(browser, site)
    watched.page.select_option("#movers-direction", "down")
    with watched.page.expect_download() as download:
        watched.page.click("#movers-csv")
    assert watched.page.get_attribute("#movers-csv", "href").startswith("blob:")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == f"movers-{MONTHS[-1]}-down.csv"
    lines = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    shown = table(watched)
    assert [line["merchant_id"] for line in lines] == [r[0] for r in shown]
    for line, row in zip(lines, shown, strict=True):
        category, before, after = expected[line["merchant_id"]]
        assert (line["month"], line["previous_month"]) == (MONTHS[-1], MONTHS[-2])
        assert (line["main_category"], line["tier_before"], line["tier_after"]) == (
            category,
            before,
            after,
        )
        assert line["direction"] == "down" and line["deciding_metrics"] == row[4]
        assert f"L{line['level_before']} \u2192 L{line['level_after']}" == row[3]
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_choosing_any_mover_shows_its_explanation(browser, site, warehouse):
    expected = latest_movers(warehouse)
    watched = Watched(browser, site)
    for merchant in expected:
        watched.page.click(f"#movers-table tbody tr[data-merchant='{merchant}']")
        text = watched.text("#movers-explanation")
        assert text.startswith(f"Merchant {merchant}, {MONTHS[-1]} "), merchant
        assert "(the next tier up)" in text or "is the top tier" in text
        assert watched.text("#explanation") == text  # the merchant panel follows
        assert watched.text("#merchant option:checked").startswith(merchant)
        history = watched.page.eval_on_selector_all(
            "#movers-history tr", "rows => rows.map(r => r.cells[0].textContent)"
        )
        assert history[:4] == ["month", "tier", "level", "credit points"]
        tiers = watched.page.eval_on_selector_all(
            "#movers-history tr:nth-child(2) td", "cells => cells.map(c => c.textContent)"
        )
        assert tiers[-1].startswith(expected[merchant][2])
        assert tiers[-2].startswith(expected[merchant][1])
    watched.page.select_option("#month", index=len(MONTHS) - 2)  # the panel keeps the merchant
    assert watched.text("#explanation").startswith(
        f"The page holds the {MONTHS[-1]} explanation of {merchant} only. Run: grading explain"
    )
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_a_month_without_a_previous_month_keeps_the_fixed_picks(browser, site):
    watched = Watched(browser, site)
    watched.page.select_option("#month", index=0)
    assert "No previous month published" in watched.text("#movers-note")
    assert table(watched) == []
    assert watched.text("#explanation").startswith("Merchant ")
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


def page_with_movers(site: Path, folder: Path, movers: pl.DataFrame) -> Path:
    """The site's page with its movers replaced by ``movers`` (latest month, no
    explanations embedded), written to ``folder/index.html``."""
    html = site.read_text(encoding="utf-8")
    data = page_data(html)
    payload = data["payload"]
    payload["movers"] = encode_movers(
        movers,
        embedded_rows(movers),
        pl.DataFrame(schema={"merchant_id": pl.String}),
        pl.DataFrame(schema=TEXT_SCHEMA),
        MONTHS,
        payload["previous"],
        payload["tiers"],
        payload["categories"],
    )
    page = folder / "index.html"
    block = f'<script type="application/json" id="dashboard-data">{script_json(data)}</script>'
    page.write_text(DATA_BLOCK.sub(lambda _: block, html), encoding="utf-8")
    return page


@pytest.mark.browser
def test_deciding_metrics_read_exactly_at_the_thresholds(browser, site, tmp_path):
    """Counts on and next to each threshold, graded by assign_tiers: the page's truncated
    percentages stay on the side of the threshold the grading decided."""
    page = page_with_movers(site, tmp_path, boundary_movers(MONTHS[-1], TIERS))
    watched = Watched(browser, page)
    assert {r[0]: r[4] for r in table(watched)} == EXPECTED_DECIDING
    watched.page.click("#movers-table tbody tr[data-merchant='dispute']")
    assert "grading explain --warehouse" in watched.text("#movers-explanation")
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_markup_in_a_mover_shows_as_text_in_the_table_and_the_csv(browser, site, tmp_path):
    movers = boundary_movers(MONTHS[-1], TIERS).head(1)
    movers = movers.with_columns(
        pl.lit(EVIL_MERCHANT).alias("merchant_id"),
        pl.lit([EVIL_CATEGORY]).alias("reasons_after"),
    )
    watched = Watched(browser, page_with_movers(site, tmp_path, movers))
    assert table(watched)[0][0] == EVIL_MERCHANT and table(watched)[0][4] == EVIL_CATEGORY
    watched.page.fill("#movers-search", "<IMG")
    assert [r[0] for r in table(watched)] == [EVIL_MERCHANT]
    with watched.page.expect_download() as download:
        watched.page.click("#movers-csv")
    path = tmp_path / "movers.csv"
    download.value.save_as(path)
    line = next(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert line["merchant_id"] == EVIL_MERCHANT
    assert watched.page.locator("img").count() == 0
    assert watched.dialogs == [] and watched.errors == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_a_csv_cell_that_looks_like_a_formula_is_quoted_as_text(browser, site, tmp_path):
    movers = boundary_movers(MONTHS[-1], TIERS).head(1)
    movers = movers.with_columns(pl.lit('=HYPERLINK("x")').alias("merchant_id"))
    watched = Watched(browser, page_with_movers(site, tmp_path, movers))
    with watched.page.expect_download() as download:
        watched.page.click("#movers-csv")
    path = tmp_path / "movers.csv"
    download.value.save_as(path)
    line = next(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert line["merchant_id"] == '\'=HYPERLINK("x")'
    assert watched.errors == [] and watched.requests == []
    watched.page.close()
