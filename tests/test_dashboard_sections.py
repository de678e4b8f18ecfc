"""The dashboard's plain-number sections against the published tables (issue 19, items 2-3):
tier segments with provisional apart, compliance, exposure resources and data quality."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from pipelines.dashboard_data import build_payload
from pipelines.dashboard_sections import percent_text, section_payload, segment_names
from pipelines.policy import load_policy
from pipelines.warehouse import connect, fetch_rows
from tests.test_explain import MONTHS, published_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_warehouse(tmp_path_factory)


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
            assert sum(payload["segmentExposure"][m][c]) == pytest.approx(1.0, abs=1e-5)
        assert sum(payload["segmentExposure"][m][0]) == pytest.approx(1.0, abs=1e-5)


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
    assert [x["id"] for x in listed] == [i for i, _ in expected]  # fewer than 100 per category
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
    assert quality["limit"] == "1%" and quality["limitRatio"] == 0.01
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


def test_blocked_and_restated_months_come_from_the_run_log(warehouse, tmp_path):
    """A run that saw other landing files than the publication (a blocked run leaves only
    journal.landing_seen behind) and a restatement in main.run_log both show."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    con = connect(copy)
    try:
        con.execute(
            "UPDATE journal.landing_seen SET files_digest = 'changed' "
            "WHERE month = $m AND dataset = 'feedback'",
            {"m": MONTHS[1]},
        )
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
