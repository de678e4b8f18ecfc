"""The dashboard's plain-number sections against the published tables (issue 19, items 2-3):
tier segments with provisional apart, compliance, exposure resources and data quality."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from pipelines.policy import load_policy
from pipelines.reporting import dashboard_sections
from pipelines.reporting.dashboard import build_dashboard
from pipelines.reporting.dashboard_data import build_payload
from pipelines.reporting.dashboard_metrics import percent_text
from pipelines.reporting.dashboard_sections import section_payload, segment_names
from pipelines.reporting.tier_palette import PROVISIONAL_COLOR, tier_colors
from pipelines.warehouse import connect, fetch_rows
from tests.test_dashboard import Watched, page_data
from tests.test_explain import MONTHS, published_warehouse


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_warehouse(tmp_path_factory)


@pytest.fixture(scope="session")
def site(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dashboard(warehouse, tmp_path_factory.mktemp("site"))


def payload_of(warehouse: Path) -> dict:
    policy = load_policy()
    con = connect(warehouse, read_only=True)
    try:
        payload = build_payload(con, MONTHS, policy, None)
        payload.update(section_payload(con, payload, policy))
        return payload
    finally:
        con.close()


@pytest.fixture(scope="module")
def payload(warehouse: Path) -> dict:
    return payload_of(warehouse)


def rows(warehouse: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = connect(warehouse, read_only=True)
    try:
        return fetch_rows(con, sql, params)
    finally:
        con.close()


def test_provisional_merchants_are_a_segment_of_their_own(payload, warehouse):
    policy = load_policy()
    assert payload["segments"] == [
        "excellent",
        "good",
        "passing",
        "passing (provisional)",
        "failing",
    ]
    assert segment_names(["a", "b"], policy, ["b"]) == ["a", "b", "b (provisional)"]
    counted = rows(
        warehouse,
        "SELECT month, e.main_category, g.tier, g.provisional, count(*) "
        "FROM main.merchant_grades g JOIN main.exposure_weights e USING (month, merchant_id) "
        "GROUP BY ALL",
    )
    assert any(provisional for *_, provisional, _ in counted)
    for month, category, tier, provisional, n in counted:
        name = tier + (" (provisional)" if provisional else "")
        m, c = MONTHS.index(month), payload["categories"].index(category) + 1
        assert payload["segmentMerchants"][m][c][payload["segments"].index(name)] == n
    # The segments add up to the tiers of the tier charts, category by category.
    for m in range(len(MONTHS)):
        for c in range(len(payload["categories"]) + 1):
            by_tier = [0] * len(payload["tiers"])
            for s, n in enumerate(payload["segmentMerchants"][m][c]):
                by_tier[payload["segmentTiers"][s]] += n
            assert by_tier == payload["tierCounts"][m][c]


def test_exposure_resources_add_up_to_the_published_rows(payload, warehouse):
    totals = rows(
        warehouse,
        "SELECT month, sum(showcase_slots), count_if(promotion_eligible), sum(email_quota), "
        "count_if(eligible) FROM main.exposure_weights GROUP BY month",
    )
    for month, slots, promoted, quota, eligible in totals:
        m = MONTHS.index(month)
        assert sum(payload["segmentShowcaseSlots"][m][0]) == slots
        assert sum(payload["segmentPromotionEligible"][m][0]) == promoted
        assert sum(payload["segmentEmailQuota"][m][0]) == quota
        assert sum(payload["segmentEligible"][m][0]) == eligible
        for c in range(1, len(payload["categories"]) + 1):
            assert sum(payload["exposure"][m][c]) == pytest.approx(1.0, abs=1e-5)
        assert sum(payload["exposure"][m][0]) == pytest.approx(1.0, abs=1e-5)


def test_compliance_breaches_and_ineligible_merchants(payload, warehouse):
    compliance = payload["compliance"]
    breaches = rows(
        warehouse,
        "SELECT c.month, e.main_category, c.violation, count(*) FROM main.merchant_compliance c "
        "JOIN main.exposure_weights e USING (month, merchant_id) GROUP BY ALL",
    )
    assert breaches and compliance["rules"] == sorted({r for _, _, r, _ in breaches})
    for month, category, rule, n in breaches:
        m, c = MONTHS.index(month), payload["categories"].index(category) + 1
        assert compliance["breaches"][m][c][compliance["rules"].index(rule)] == n
    month = MONTHS[-1]
    expected = rows(
        warehouse,
        "SELECT merchant_id, list(violation ORDER BY violation) FROM main.merchant_compliance "
        "WHERE month = $m GROUP BY ALL ORDER BY merchant_id",
        {"m": month},
    )
    listed = sorted(compliance["ineligible"][-1], key=lambda x: x["id"])
    assert [x["id"] for x in listed] == [i for i, _ in expected]  # fewer than 50 per category
    assert [[compliance["rules"][r] for r in x["rules"]] for x in listed] == [
        v for _, v in expected
    ]
    ineligible = rows(
        warehouse,
        "SELECT count(*) FROM main.exposure_weights WHERE month = $m AND NOT eligible",
        {"m": month},
    )[0][0]
    assert len(listed) == ineligible


def test_quarantine_per_month_and_dataset_against_the_policy_limit(payload, warehouse):
    quality = payload["quality"]
    assert {q["limit"] for q in quality["quarantine"]} == {"1%"}
    assert quality["stale"] == []
    logged = rows(
        warehouse,
        "SELECT month, dataset, rows_read, rows_quarantined FROM raw.ingest_log ORDER BY ALL",
    )
    assert [
        (q["month"], q["dataset"], q["read"], q["quarantined"]) for q in quality["quarantine"]
    ] == [r for r in logged if r[0] in MONTHS]
    reasons = rows(
        warehouse, "SELECT month, dataset, reason, count(*) FROM main.quarantine GROUP BY ALL"
    )
    assert reasons
    shown = {
        (q["month"], q["dataset"], r["reason"]): r["rows"]
        for q in quality["quarantine"]
        for r in q["reasons"]
    }
    assert shown == {(m, d, r): n for m, d, r, n in reasons}
    assert not any(q["over"] for q in quality["quarantine"])


def test_the_quarantine_limit_is_the_policys_and_compared_exactly(warehouse, tmp_path):
    """A limit equal to a dataset's exact share is not exceeded; one below it is."""
    month, dataset, read, quarantined = next(
        r
        for r in rows(
            warehouse,
            "SELECT month, dataset, rows_read, rows_quarantined FROM raw.ingest_log "
            "WHERE rows_quarantined > 0 ORDER BY ALL",
        )
    )
    policy = load_policy()
    con = connect(warehouse, read_only=True)
    try:
        base = build_payload(con, MONTHS, policy, None)
        for limit, over in (
            (Fraction(quarantined, read), False),
            (Fraction(quarantined - 1, read), True),
        ):
            tight = policy.__class__(**{**policy.__dict__, "max_quarantine_ratio": limit})
            quality = section_payload(con, base, tight)["quality"]
            row = next(
                q for q in quality["quarantine"] if (q["month"], q["dataset"]) == (month, dataset)
            )
            assert row["over"] is over
    finally:
        con.close()
    assert percent_text(Fraction(1, 800)) == "0.125%" and percent_text(Fraction(3, 100)) == "3%"


def mark_feedback_files_changed(con, month: str) -> None:
    """What a run that saw the month's feedback files changed leaves behind (a blocked or
    not yet regraded correction): journal.landing_seen differs from the publication."""
    con.execute(
        "UPDATE journal.landing_seen SET files_digest = 'changed' "
        "WHERE month = $m AND dataset = 'feedback'",
        {"m": month},
    )


def test_blocked_and_restated_months_come_from_the_run_log(warehouse, tmp_path):
    """A run that saw other landing files than the publication (a blocked run leaves only
    journal.landing_seen behind) and a restatement in main.run_log both show."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    con = connect(copy)
    try:
        mark_feedback_files_changed(con, MONTHS[1])
        con.execute("INSERT INTO journal.landing_seen VALUES ('2099-01', 'orders', 'x', now())")
        con.execute(
            "INSERT INTO main.run_log (month, published_at, input_fingerprint, restated, "
            "restatement_reason, policy_version) "
            "VALUES ($m, now(), 'f', true, 'inputs changed', '2026.1')",
            {"m": MONTHS[0]},
        )
    finally:
        con.close()
    quality = payload_of(copy)["quality"]
    unpublished = {u["month"]: u for u in quality["unpublished"]}
    assert list(unpublished) == [MONTHS[1], "2099-01"]
    assert unpublished[MONTHS[1]]["datasets"] == ["feedback"]
    assert unpublished[MONTHS[1]]["published"] is not None
    assert unpublished["2099-01"]["published"] is None
    assert [(r["month"], r["reason"]) for r in quality["restated"]] == [
        (MONTHS[0], "inputs changed")
    ]


def test_a_month_written_and_not_published_shows_its_published_counts(warehouse, tmp_path):
    """A run that has ingested a month and not published it (a partial selection in the
    UI, a killed run not yet put back) has rewritten the month's raw.ingest_log rows; the
    page shows the counts of the month as published, beside its published reasons."""
    from pipelines.month_journal import as_published_sql, open_month

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    published = [
        (q["month"], q["dataset"], q["read"], q["quarantined"], q["over"])
        for q in payload_of(copy)["quality"]["quarantine"]
    ]
    month = MONTHS[-1]
    con = connect(copy)
    try:
        assert open_month(con, month, "pending-run")
        con.execute(
            "UPDATE raw.ingest_log SET rows_read = 10, rows_quarantined = 9 WHERE month = $m",
            {"m": month},
        )
        assert "journal." in as_published_sql(con, "raw.ingest_log")
    finally:
        con.close()
    pending = rows(
        copy, "SELECT DISTINCT rows_read FROM raw.ingest_log WHERE month = $m", {"m": month}
    )
    assert pending == [(10,)]
    shown = [
        (q["month"], q["dataset"], q["read"], q["quarantined"], q["over"])
        for q in payload_of(copy)["quality"]["quarantine"]
    ]
    assert shown == published
    assert any(m == month for m, *_ in shown)


def test_as_published_refuses_a_table_no_run_writes(warehouse):
    from pipelines.month_journal import as_published_sql

    con = connect(warehouse, read_only=True)
    try:
        assert as_published_sql(con, "raw.ingest_log") == "SELECT * FROM raw.ingest_log"
        with pytest.raises(ValueError, match="main.run_log is not a table"):
            as_published_sql(con, "main.run_log")
    finally:
        con.close()


def test_a_month_put_back_reads_as_it_stands(warehouse, tmp_path):
    """A month whose run was rolled back has its rows back and no kept copy."""
    from pipelines.month_journal import as_published_sql, open_month, roll_back

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    con = connect(copy)
    try:
        assert open_month(con, MONTHS[-1], "failed-run")
        assert roll_back(con) == [MONTHS[-1]]
        assert as_published_sql(con, "raw.ingest_log") == "SELECT * FROM raw.ingest_log"
    finally:
        con.close()


# --- in a real browser ---------------------------------------------------------------------


def table_column(watched: Watched, table: str, column: int, part: str = "tbody") -> list[str]:
    """The data-value (else the text) of one column of a table's body rows."""
    return watched.page.eval_on_selector_all(
        f"#{table} {part} tr",
        "(rows, i) => rows.map(r => r.children[i].getAttribute('data-value') "
        "?? r.children[i].textContent)",
        column,
    )


@pytest.mark.browser
def test_pivot_sorts_by_percent_failing(browser, site):
    payload = page_data(site.read_text(encoding="utf-8"))["payload"]
    failing = payload["segments"].index("failing")
    m = len(MONTHS) - 1

    def share(c: int, s: int) -> float:
        counts = payload["segmentMerchants"][m][c + 1]
        return counts[s] / sum(counts)

    by_failing = sorted(
        range(len(payload["categories"])),
        key=lambda c: (-share(c, failing), payload["categories"][c]),
    )
    watched = Watched(browser, site)
    names = table_column(watched, "pivot", 0)
    # The worst categories first: sorted by % failing, highest first, from the start.
    assert names == [payload["categories"][c] for c in by_failing]
    header = watched.page.locator("#pivot thead button", has_text="% failing")
    assert header.locator("xpath=..").get_attribute("aria-sort") == "descending"
    header.click()
    ascending = [float(v) for v in table_column(watched, "pivot", failing + 2)]
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    assert header.locator("xpath=..").get_attribute("aria-sort") == "ascending"
    watched.page.locator("#pivot thead button", has_text="% excellent").click()
    excellent = [float(v) for v in table_column(watched, "pivot", 2)]
    assert excellent == sorted(excellent, reverse=True)
    # The all-categories row stays at the foot, with counts and percentages.
    foot = watched.page.text_content("#pivot tfoot tr")
    total = sum(payload["segmentMerchants"][m][0])
    assert foot.startswith(f"All categories{total}") and "%" in foot
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_provisional_merchants_show_apart_in_every_tier_chart(browser, site, warehouse):
    watched = Watched(browser, site)
    expected = {**tier_colors(load_policy().tier_names), "passing (provisional)": PROVISIONAL_COLOR}
    for chart in ("tier_counts", "tier_shares", "tier_by_category", "exposure"):
        traces = watched.page.evaluate(
            "id => document.getElementById('chart-' + id).data.map(t => [t.name, t.marker.color])",
            chart,
        )
        assert dict(traces) == expected, chart
    provisional = dict(
        rows(
            warehouse,
            "SELECT month, count(*) FROM main.merchant_grades WHERE provisional GROUP BY month",
        )
    )
    counts = watched.page.evaluate(
        "() => { const d = document.getElementById('chart-tier_counts').data; "
        "return d.find(t => t.name === 'passing (provisional)').y; }"
    )
    assert counts == [provisional[m] for m in MONTHS]
    header = watched.page.eval_on_selector_all("#pivot thead th", "ts => ts.map(t => t.innerText)")
    assert "% passing (provisional)" in [h.strip(" ▼▲") for h in header]
    assert watched.errors == []
    watched.page.close()


@pytest.mark.browser
def test_rates_show_as_percentages(browser, site):
    watched = Watched(browser, site)
    ticks = watched.page.eval_on_selector_all(
        "#chart-hist_bad_order_rate .xtick text", "ts => ts.map(t => t.textContent)"
    )
    assert ticks and all(t.endswith("%") for t in ticks)
    notes = watched.page.eval_on_selector_all(
        "#chart-hist_bad_order_rate .annotation-text", "ts => ts.map(t => t.textContent)"
    )
    assert "excellent < 3%" in notes and "passing < 12%" in notes
    rate_ticks = watched.page.eval_on_selector_all(
        "#chart-merchant_metrics .yaxislayer-above .ytick text", "ts => ts.map(t => t.textContent)"
    )
    assert rate_ticks and all(t.endswith("%") for t in rate_ticks)
    dsr_ticks = watched.page.eval_on_selector_all(
        "#chart-hist_dsr_item_avg .xtick text", "ts => ts.map(t => t.textContent)"
    )
    assert not any(t.endswith("%") for t in dsr_ticks)  # a 1-5 score, not a rate
    for chart, axis in (("tier_shares", "yaxis"), ("tier_by_category", "xaxis")):
        hover = watched.page.evaluate(
            "([id, a]) => document.getElementById('chart-' + id).layout[a].hoverformat",
            [chart, axis],
        )
        assert hover.endswith("%"), chart
    watched.page.close()


@pytest.mark.browser
def test_migration_colours_moves_down_and_up_apart(browser, site):
    payload = page_data(site.read_text(encoding="utf-8"))["payload"]
    matrix = payload["migration"][-1][0]
    tiers = len(payload["tiers"])
    watched = Watched(browser, site)
    z, text = watched.trace("migration", "z"), watched.trace("migration", "text")
    assert text == matrix
    downs = [(i, j) for i in range(tiers) for j in range(tiers) if j > i and matrix[i][j]]
    ups = [(i, j) for i in range(tiers) for j in range(tiers) if j < i and matrix[i][j]]
    assert downs and ups
    assert all(z[i][j] < 0 for i, j in downs) and all(z[i][j] > 0 for i, j in ups)
    assert all(z[i][i] == 0 for i in range(tiers))  # the diagonal takes no colour
    largest = max(matrix[i][j] for i, j in downs + ups)
    assert max(abs(z[i][j]) for i, j in downs + ups) == 1.0  # scaled to the largest move
    assert any(matrix[i][j] == largest for i, j in downs + ups)
    watched.page.close()


@pytest.mark.browser
def test_month_and_category_live_in_the_url_fragment(browser, site):
    payload = page_data(site.read_text(encoding="utf-8"))["payload"]
    category = payload["categories"][1]
    watched = Watched(browser, site, f"#month={MONTHS[0]}&category={category}")
    assert watched.page.eval_on_selector("#month", "s => s.selectedOptions[0].text") == MONTHS[0]
    assert watched.page.eval_on_selector("#category", "s => s.selectedOptions[0].text") == (
        category
    )
    counts = payload["segmentMerchants"][0][2]
    assert watched.text("#kpi-graded .kpi-value") == f"{sum(counts):,}"
    assert f"{MONTHS[0]}, {category}" in watched.text("#chart-levels .gtitle")
    assert watched.page.evaluate("location.hash") == f"#month={MONTHS[0]}&category={category}"

    watched.page.select_option("#month", label=MONTHS[-1])
    assert watched.page.evaluate("location.hash") == f"#month={MONTHS[-1]}&category={category}"
    watched.page.select_option("#category", index=0)
    assert watched.page.evaluate("location.hash") == f"#month={MONTHS[-1]}"
    assert f"{MONTHS[-1]}, All categories" in watched.text("#chart-levels .gtitle")
    # Editing the fragment (or following a shared link in the open tab) moves the controls.
    watched.page.evaluate(f"location.hash = '#month={MONTHS[1]}'")
    watched.page.wait_for_function(
        f"document.getElementById('month').selectedOptions[0].text === '{MONTHS[1]}'"
    )
    assert f"{MONTHS[1]}, All categories" in watched.text("#chart-levels .gtitle")
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_merchant_labels_show_the_tier_of_the_selected_month(browser, site):
    merchants = page_data(site.read_text(encoding="utf-8"))["payload"]["merchants"]
    changed = next(i for i, x in enumerate(merchants) if x["tier"][0] != x["tier"][-1])
    x = merchants[changed]
    watched = Watched(browser, site)

    def label() -> str:
        return watched.page.eval_on_selector_all(
            "#merchant option", "(os, i) => os[i].textContent", changed
        )

    assert f"{x['tier'][-1]}" in label() and f"in {MONTHS[-1]}" in label()
    watched.page.select_option("#month", index=0)
    first = x["tier"][0] or "not graded"
    assert first in label() and MONTHS[0] in label() and x["tier"][-1] not in label()
    watched.page.close()


@pytest.mark.browser
def test_compliance_and_exposure_sections(browser, site, warehouse):
    payload = page_data(site.read_text(encoding="utf-8"))["payload"]
    rules = payload["compliance"]["rules"]
    watched = Watched(browser, site)
    headers = watched.page.eval_on_selector_all(
        "#compliance-breaches thead th", "ts => ts.map(t => t.textContent)"
    )
    assert headers == ["Main category", "Merchants", "Ineligible", *rules]
    month = MONTHS[-1]
    breaches = dict(
        rows(
            warehouse,
            "SELECT violation, count(*) FROM main.merchant_compliance WHERE month = $m "
            "GROUP BY ALL",
            {"m": month},
        )
    )
    foot = table_column(watched, "compliance-breaches", 0, "tfoot")
    cells = watched.page.eval_on_selector_all(
        "#compliance-breaches tfoot td", "ts => ts.map(t => Number(t.getAttribute('data-value')))"
    )
    assert foot == ["All categories"] and cells[3:] == [breaches.get(r, 0) for r in rules]
    ineligible = rows(
        warehouse,
        "SELECT e.main_category, c.merchant_id, string_agg(c.violation, ', ' ORDER BY violation) "
        "FROM main.merchant_compliance c JOIN main.exposure_weights e USING (month, merchant_id) "
        "WHERE month = $m GROUP BY ALL ORDER BY ALL",
        {"m": month},
    )
    assert sorted(table_column(watched, "ineligible", 0)) == sorted(i for _, i, _ in ineligible)
    category = ineligible[0][0]
    watched.page.select_option("#category", label=category)
    assert table_column(watched, "ineligible", 0) == [i for c, i, _ in ineligible if c == category]
    assert table_column(watched, "ineligible", 3) == [v for c, _, v in ineligible if c == category]

    caption = watched.text("#section-exposure figcaption")
    assert "share of the total raw weight" not in caption and "add up to 100%" in caption
    totals = rows(
        warehouse,
        "SELECT count(*), count_if(eligible), sum(showcase_slots), count_if(promotion_eligible), "
        "sum(email_quota) FROM main.exposure_weights WHERE month = $m AND main_category = $c",
        {"m": month, "c": category},
    )[0]
    resources = watched.page.eval_on_selector_all(
        "#resources tfoot td", "ts => ts.map(t => t.getAttribute('data-value'))"
    )
    assert [int(v) for v in resources[2:]] == list(totals)
    shares = watched.page.eval_on_selector_all(
        "#exposure-shares tbody tr", "rs => rs.map(r => r.children[0].textContent)"
    )
    assert shares == payload["categories"]
    assert watched.errors == []
    watched.page.close()


@pytest.mark.browser
def test_data_quality_section(browser, warehouse, tmp_path):
    """Quarantine per month and dataset against the policy's limit, a month a blocked run
    left unpublished, and a restated month."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    con = connect(copy)
    try:
        con.execute("INSERT INTO journal.landing_seen VALUES ('2099-01', 'feedback', 'x', now())")
        con.execute(
            "INSERT INTO main.run_log (month, published_at, input_fingerprint, restated, "
            "restatement_reason, policy_version) "
            "VALUES ($m, now(), 'f', true, 'policy 2026.1 -> 2026.2', '2026.2')",
            {"m": MONTHS[0]},
        )
    finally:
        con.close()
    site_path = build_dashboard(copy, tmp_path / "site")
    logged = rows(
        copy, "SELECT month, dataset, rows_quarantined FROM raw.ingest_log ORDER BY month, dataset"
    )
    watched = Watched(browser, site_path)
    assert "Against the month's limit" in watched.text("#quarantine thead")
    assert set(table_column(watched, "quarantine", 5, "tbody")) == {"0"}
    assert {t.strip() for t in watched.page.locator("#quarantine tbody td:nth-child(6)")
            .all_text_contents()} == {"within 1%"}  # fmt: skip
    assert (
        list(
            zip(
                table_column(watched, "quarantine", 0),
                table_column(watched, "quarantine", 1),
                [int(v) for v in table_column(watched, "quarantine", 3)],
                strict=True,
            )
        )
        == logged
    )
    assert set(table_column(watched, "quarantine", 5)) == {"0"}  # none over the limit
    assert table_column(watched, "unpublished", 0) == ["2099-01"]
    assert table_column(watched, "unpublished", 3) == ["none"]
    assert table_column(watched, "restated", 0) == [MONTHS[0]]
    assert table_column(watched, "restated", 2) == ["policy 2026.1 -> 2026.2"]
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


def test_a_blocked_regrade_shows_as_a_month_not_published(warehouse, tmp_path):
    """End to end: a month's regrade blocked by its quarantine ratio leaves its earlier
    publication standing, and the dashboard names the month and the changed dataset."""
    from assets.runner import RunFailed, grade_months
    from tests.helpers import FEEDBACK_COLUMNS, write_csv

    landing, copy = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    shutil.copytree(warehouse.parent / "landing", landing)
    shutil.copy(warehouse, copy)
    month = MONTHS[-1]
    orders = rows(
        copy,
        "SELECT order_id, merchant_id, buyer_id FROM raw.orders WHERE month = $m "
        "AND status = 'completed' ORDER BY order_id LIMIT 200",
        {"m": month},
    )
    invalid = [[o, m, b, 9, f"{month}-15T10:00:00Z"] for o, m, b in orders]
    write_csv(landing, "feedback", month, invalid, FEEDBACK_COLUMNS, "late-bad.csv")
    with pytest.raises(RunFailed, match="rows quarantined"):
        grade_months(landing, copy, tmp_path / "outputs", month)

    quality = payload_of(copy)["quality"]
    assert [(u["month"], u["datasets"]) for u in quality["unpublished"]] == [(month, ["feedback"])]
    published = rows(
        copy, "SELECT max(published_at) FROM main.run_log WHERE month = $m", {"m": month}
    )
    assert quality["unpublished"][0]["published"] == published[0][0].strftime("%Y-%m-%d %H:%M UTC")


def test_the_ineligible_list_is_capped_per_month_and_category(warehouse, monkeypatch):
    """At a million merchants the page lists only the first few per category by id."""
    monkeypatch.setattr(dashboard_sections, "INELIGIBLE_PER_CATEGORY", 1)
    compliance = payload_of(warehouse)["compliance"]
    assert compliance["listedPerCategory"] == 1
    firsts = rows(
        warehouse,
        "SELECT month, e.main_category, min(merchant_id) FROM main.merchant_compliance c "
        "JOIN main.exposure_weights e USING (month, merchant_id) GROUP BY ALL",
    )
    categories = ["", *payload_of(warehouse)["categories"]]
    listed = {
        (MONTHS[m], categories[x["c"]], x["id"])
        for m, month in enumerate(compliance["ineligible"])
        for x in month
    }
    assert listed == set(firsts)
