"""Every data-check suite passes on good data and fails, on the expected expectation, on bad.

The good batch is the conformance fixture, ingested and graded (staged, not published);
each bad batch is that warehouse with one crafted defect for March 2026.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from pipelines import grading
from pipelines.checks.check_filter import column_types, suspect_filter
from pipelines.checks.validation import (
    all_suites,
    batch_of,
    batch_sql,
    batch_sql_name,
    check_parameters,
    load_suite_json,
    validate_suite,
)
from pipelines.datasets import DATASETS
from pipelines.ingest import ingest_month
from pipelines.policy import load_policy
from pipelines.sql_files import load_sql
from pipelines.warehouse import bound_params, connect, statements
from tests.helpers import CONFORMANCE

MONTH = "2026-03"
POLICY = load_policy()


@pytest.fixture(scope="module")
def good_warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("validation") / "good.duckdb"
    con = connect(path)
    for month in ("2026-01", "2026-02", "2026-03"):
        for dataset in DATASETS:
            ingest_month(con, CONFORMANCE / "landing", dataset, month)
        grading.update_credit_ledger(con, month, POLICY)
        grading.grade_merchants(con, month, POLICY)
        grading.check_compliance(con, month, POLICY)
        grading.weigh_exposure(con, month, POLICY)
        grading.distribute_tiers(con, month, POLICY)
    con.close()
    return path


def validate(
    path: Path,
    suite: str,
    chunk_rows: int = 1_000_000,
    month: str = MONTH,
    prefilter: bool = True,
    policy=POLICY,
):
    con = connect(path)
    try:
        sql, expectation = check_parameters(month, policy, suite.split("/")[1])
        return validate_suite(
            con, suite, month, sql, expectation, chunk_rows=chunk_rows, prefilter=prefilter
        )
    finally:
        con.close()


def with_defect(good_warehouse: Path, tmp_path: Path, defect: str) -> Path:
    """A copy of the good warehouse with one crafted defect (SQL run on it)."""
    path = tmp_path / "bad.duckdb"
    shutil.copy(good_warehouse, path)
    con = connect(path)
    con.execute(defect)
    con.close()
    return path


def test_suites_are_ge_json_files_one_per_dataset_and_output():
    assert all_suites() == [
        "inputs/bad_orders", "inputs/feedback", "inputs/merchants", "inputs/orders",
        "inputs/service_metrics", "outputs/exposure_weights", "outputs/merchant_compliance",
        "outputs/merchant_grades", "outputs/tier_distribution",
    ]  # fmt: skip
    for suite in all_suites():
        data = load_suite_json(suite)
        assert data["expectations"] and all(
            e["type"].startswith("expect_") for e in data["expectations"]
        )


@pytest.mark.parametrize("suite", all_suites())
def test_good_batch_passes(good_warehouse, suite):
    report = validate(good_warehouse, suite)
    assert report.success, report.summary()
    assert report.outcomes and all(o.element_count >= 0 for o in report.outcomes)


M = f"month = '{MONTH}'"
BAD_BATCHES = [
    # suite, defect (SQL on the warehouse), expected failure (type, batch, column)
    (
        "inputs/merchants",
        f"UPDATE raw.merchants SET status = 'zombie' WHERE {M} "
        "AND merchant_id = (SELECT min(merchant_id) FROM raw.merchants WHERE " + M + ")",
        ("expect_column_values_to_be_in_set", "rows", "status"),
    ),
    (
        "inputs/merchants",
        f"INSERT INTO raw.merchants SELECT * FROM raw.merchants WHERE {M} LIMIT 1",
        ("expect_table_row_count_to_equal", "duplicate_keys", ""),
    ),
    (
        "inputs/merchants",
        f"UPDATE raw.merchants SET product_count = -1 WHERE {M} "
        "AND merchant_id = (SELECT min(merchant_id) FROM raw.merchants WHERE " + M + ")",
        ("expect_column_values_to_be_between", "rows", "product_count"),
    ),
    *(
        (  # 2 of 150 is over 1%: every input suite's ratio check can fail
            f"inputs/{dataset.name}",
            "UPDATE raw.ingest_log SET rows_quarantined = 2, rows_read = 150 "
            f"WHERE dataset = '{dataset.name}' AND {M}",
            ("expect_column_values_to_be_in_set", "quarantine_ratio", "within_limit"),
        )
        for dataset in DATASETS
    ),
    (
        "inputs/orders",
        f"UPDATE raw.orders SET amount_usd = -1 WHERE {M} AND order_id = "
        f"(SELECT min(order_id) FROM raw.orders WHERE {M})",
        ("expect_column_values_to_be_between", "rows", "amount_usd"),
    ),
    (
        "inputs/orders",
        f"UPDATE raw.orders SET ended_at = TIMESTAMP '2026-04-01 00:00:00' "
        f"WHERE {M} AND order_id = (SELECT min(order_id) FROM raw.orders WHERE {M})",
        ("expect_column_values_to_be_between", "rows", "ended_at_us"),
    ),
    (
        "inputs/orders",
        f"UPDATE raw.orders SET created_at = ended_at + INTERVAL 1 SECOND "
        f"WHERE {M} AND order_id = (SELECT min(order_id) FROM raw.orders WHERE {M})",
        ("expect_column_pair_values_a_to_be_greater_than_b", "rows", "ended_at"),
    ),
    (
        "inputs/orders",
        "INSERT INTO raw.orders SELECT * REPLACE ('2026-03' AS month) "
        "FROM raw.orders WHERE month = '2026-01' LIMIT 3",
        ("expect_table_row_count_to_equal", "duplicate_keys", ""),
    ),
    (
        "inputs/orders",
        f"INSERT INTO raw.orders SELECT * FROM raw.orders WHERE {M} LIMIT 1",
        ("expect_table_row_count_to_equal", "duplicate_keys", ""),
    ),
    (
        "inputs/feedback",
        f"INSERT INTO raw.feedback SELECT * REPLACE ('2026-01' AS month) "
        f"FROM raw.feedback WHERE {M} LIMIT 2",
        ("expect_table_row_count_to_equal", "duplicate_keys", ""),
    ),
    (
        "inputs/bad_orders",
        f"INSERT INTO raw.bad_orders SELECT * FROM raw.bad_orders WHERE {M} LIMIT 1",
        ("expect_table_row_count_to_equal", "duplicate_keys", ""),
    ),
    (
        "inputs/service_metrics",
        f"INSERT INTO raw.service_metrics SELECT * REPLACE ('2026-02' AS month) "
        f"FROM raw.service_metrics WHERE {M} LIMIT 1",
        ("expect_table_row_count_to_equal", "duplicate_keys", ""),
    ),
    (  # another month holds a key from the middle of this month's key range
        "inputs/orders",
        "INSERT INTO raw.orders SELECT * REPLACE ('2026-02' AS month) FROM raw.orders "
        f"WHERE {M} ORDER BY order_id LIMIT 1 OFFSET 5",
        ("expect_table_row_count_to_equal", "duplicate_keys", ""),
    ),
    (
        "inputs/bad_orders",
        "INSERT INTO raw.bad_orders SELECT * REPLACE ('2026-01' AS month) "
        f"FROM raw.bad_orders WHERE {M} LIMIT 1",
        ("expect_table_row_count_to_equal", "duplicate_keys", ""),
    ),
    (  # a row of this month dated in another month, whose key that month holds too
        "inputs/service_metrics",
        "INSERT INTO raw.service_metrics SELECT * REPLACE ('2026-03' AS month) "
        "FROM raw.service_metrics WHERE month = '2026-02' LIMIT 1",
        ("expect_table_row_count_to_equal", "duplicate_keys", ""),
    ),
    (
        "inputs/orders",
        f"UPDATE raw.orders SET merchant_id = NULL WHERE {M} AND order_id = "
        f"(SELECT max(order_id) FROM raw.orders WHERE {M})",
        ("expect_column_values_to_not_be_null", "rows", "merchant_id"),
    ),
    (
        "inputs/feedback",
        f"UPDATE raw.feedback SET stars = 7 WHERE {M} AND order_id IN "
        f"(SELECT order_id FROM raw.feedback WHERE {M} ORDER BY order_id LIMIT 4)",
        ("expect_column_values_to_be_between", "rows", "stars"),
    ),
    (
        "inputs/feedback",
        f"UPDATE raw.feedback SET feedback_at = TIMESTAMP '2026-02-28 23:59:59' "
        f"WHERE {M} AND order_id = (SELECT min(order_id) FROM raw.feedback WHERE {M})",
        ("expect_column_values_to_be_between", "rows", "feedback_at_us"),
    ),
    (
        "inputs/bad_orders",
        f"UPDATE raw.bad_orders SET reason = 'rude' WHERE {M} AND order_id = "
        f"(SELECT min(order_id) FROM raw.bad_orders WHERE {M})",
        ("expect_column_values_to_be_in_set", "rows", "reason"),
    ),
    (
        "inputs/bad_orders",
        f"UPDATE raw.bad_orders SET exempt = NULL WHERE {M} AND order_id = "
        f"(SELECT min(order_id) FROM raw.bad_orders WHERE {M})",
        ("expect_column_values_to_not_be_null", "rows", "exempt"),
    ),
    (
        "inputs/service_metrics",
        "UPDATE raw.service_metrics SET messages_replied_24h = "
        f"messages_received + 1 WHERE {M} AND metric_date = DATE '2026-03-10'",
        ("expect_column_pair_values_a_to_be_greater_than_b", "rows", "messages_received"),
    ),
    (
        "inputs/service_metrics",
        "UPDATE raw.service_metrics SET dsr_item_sum = "
        f"6 * dsr_item_count WHERE {M} AND dsr_item_count > 0 AND metric_date = DATE '2026-03-11'",
        ("expect_column_pair_values_a_to_be_greater_than_b", "rows", "dsr_item_max"),
    ),
    (
        "inputs/service_metrics",
        "UPDATE raw.service_metrics SET metric_date = DATE '2026-04-02' "
        f"WHERE {M} AND metric_date = DATE '2026-03-31'",
        ("expect_column_values_to_be_between", "rows", "metric_date_us"),
    ),
    (
        "outputs/merchant_grades",
        f"UPDATE work.merchant_grades SET level = level + 1 WHERE {M} "
        "AND level < 10 AND merchant_id = (SELECT min(merchant_id) FROM work.merchant_grades "
        f"WHERE {M} AND level < 10)",
        ("expect_column_pair_values_to_be_equal", "rows", "level"),
    ),
    (
        "outputs/merchant_grades",
        f"UPDATE work.merchant_grades SET tier = 'platinum' WHERE {M} "
        f"AND merchant_id = (SELECT min(merchant_id) FROM work.merchant_grades WHERE {M})",
        ("expect_column_values_to_be_in_set", "rows", "tier"),
    ),
    (
        "outputs/merchant_grades",
        f"UPDATE work.merchant_grades SET provisional = NOT provisional "
        f"WHERE {M} AND merchant_id = (SELECT min(merchant_id) FROM work.merchant_grades "
        f"WHERE {M})",
        ("expect_column_pair_values_to_be_equal", "rows", "provisional"),
    ),
    (
        "outputs/merchant_grades",
        f"UPDATE work.merchant_grades SET bad_order_rate = 1.5 "
        f"WHERE {M} AND bad_order_rate IS NOT NULL AND merchant_id = (SELECT min(merchant_id) "
        f"FROM work.merchant_grades WHERE {M} AND bad_order_rate IS NOT NULL)",
        ("expect_column_values_to_be_between", "rows", "bad_order_rate"),
    ),
    (
        "outputs/merchant_grades",
        f"UPDATE work.merchant_grades SET dsr_item_avg = NULL "
        f"WHERE {M} AND dsr_item_avg IS NOT NULL",
        ("expect_column_values_to_be_in_set", "rows", "dsr_item_avg_null_iff_undefined"),
    ),
    (
        "outputs/merchant_grades",
        f"DELETE FROM work.merchant_grades WHERE {M} AND merchant_id = "
        f"(SELECT min(merchant_id) FROM work.merchant_grades WHERE {M})",
        ("expect_table_row_count_to_equal", "coverage", ""),
    ),
    (
        "outputs/exposure_weights",
        f"UPDATE work.exposure_weights SET email_quota = 500 WHERE {M} AND NOT eligible",
        ("expect_column_values_to_be_in_set", "rows", "email_quota"),
    ),
    (
        "outputs/exposure_weights",
        f"UPDATE work.exposure_weights SET exposure_share = "
        f"exposure_share * 0.5 WHERE {M} AND main_category = 'home'",
        ("expect_column_values_to_be_between", "category_shares", "share_sum"),
    ),
    (  # a merchant of no weight with a share (a category of no weight is all 0, §7)
        "outputs/exposure_weights",
        f"UPDATE work.exposure_weights SET raw_weight = 0 WHERE {M} AND merchant_id = "
        f"(SELECT min(merchant_id) FROM work.exposure_weights WHERE {M} AND eligible)",
        ("expect_column_values_to_be_in_set", "rows", "exposure_share"),
    ),
    (  # and shares that sum to more than 1
        "outputs/exposure_weights",
        f"UPDATE work.exposure_weights SET exposure_share = "
        f"exposure_share * 1.5 WHERE {M} AND main_category = 'home'",
        ("expect_column_values_to_be_between", "category_shares", "share_sum"),
    ),
    (
        "outputs/exposure_weights",
        f"UPDATE work.exposure_weights SET eligible = TRUE WHERE {M} "
        "AND merchant_id IN (SELECT merchant_id FROM work.merchant_compliance WHERE " + M + ")",
        ("expect_table_row_count_to_equal", "eligibility", ""),
    ),
    (
        "outputs/merchant_compliance",
        f"UPDATE work.merchant_compliance SET violation = 'rude' "
        f"WHERE {M} AND merchant_id = (SELECT min(merchant_id) FROM work.merchant_compliance "
        f"WHERE {M})",
        ("expect_column_values_to_be_in_set", "rows", "violation"),
    ),
    (  # the part of the key that raw.bad_orders does not declare NOT NULL
        "inputs/bad_orders",
        f"UPDATE raw.bad_orders SET reason = NULL WHERE {M} AND order_id = "
        f"(SELECT min(order_id) FROM raw.bad_orders WHERE {M})",
        ("expect_column_values_to_not_be_null", "rows", "reason"),
    ),
    (  # likewise for raw.service_metrics
        "inputs/service_metrics",
        f"UPDATE raw.service_metrics SET metric_date = NULL WHERE {M} AND merchant_id = "
        f"(SELECT min(merchant_id) FROM raw.service_metrics WHERE {M})",
        ("expect_column_values_to_not_be_null", "rows", "metric_date_us"),
    ),
    (
        "outputs/merchant_compliance",
        "INSERT INTO work.merchant_compliance VALUES "
        f"('{MONTH}', 'M-NOT-ACTIVE', 'no_store', '2026.1')",
        ("expect_table_row_count_to_equal", "not_active", ""),
    ),
    (
        "outputs/tier_distribution",
        f"UPDATE work.tier_distribution SET merchants = merchants + 1 "
        f"WHERE {M} AND tier = 'good' AND main_category = 'home'",
        ("expect_table_row_count_to_equal", "mismatch", ""),
    ),
]


@pytest.mark.parametrize(
    ("suite", "defect", "expected"),
    BAD_BATCHES,
    ids=[f"{s}:{e[2] or e[1]}" for s, _, e in BAD_BATCHES],
)
def test_bad_batch_fails_on_the_expected_expectation(
    good_warehouse, tmp_path, suite, defect, expected
):
    report = validate(with_defect(good_warehouse, tmp_path, defect), suite)
    assert not report.success
    failed = {(f.expectation, f.batch, f.column) for f in report.failures}
    assert expected in failed, report.summary()


@pytest.mark.parametrize("dataset", [d.name for d in DATASETS])
def test_a_quarantine_ratio_exactly_at_the_limit_passes(good_warehouse, tmp_path, dataset):
    """Spec §1 blocks a month only when *more than* the limit is quarantined: exactly the
    limit (2 of 200 at 1%) passes, and one row more of quarantine fails."""
    limit = POLICY.max_quarantine_ratio
    quarantined, read = 2 * limit.numerator, 2 * limit.denominator
    suite = f"inputs/{dataset}"
    set_counts = (
        f"UPDATE raw.ingest_log SET rows_quarantined = {{}}, rows_read = {read} "
        f"WHERE dataset = '{dataset}' AND {M}"
    )
    at_limit = validate(
        with_defect(good_warehouse, tmp_path, set_counts.format(quarantined)), suite
    )
    assert at_limit.success, at_limit.summary()
    over = validate(
        with_defect(good_warehouse, tmp_path, set_counts.format(quarantined + 1)), suite
    )
    failed = {(f.batch, f.column) for f in over.failures}
    assert failed == {("quarantine_ratio", "within_limit")}, over.summary()


def test_a_limit_of_many_decimals_is_compared_exactly_not_overflowed(good_warehouse, tmp_path):
    """A policy may give the limit to 19 decimals (numerator and denominator up to 10**19);
    its product with a count does not fit 64 bits. The check failed every month with
    DuckDB's "Overflow in multiplication of INT64" under 0.010000000000000001 (found in
    review, 2026-12-06); it compares in 128 bits: 10,000 of 1,000,000 rows is within
    0.010000000000000001 and over 0.009999999999999999."""
    set_counts = (
        "UPDATE raw.ingest_log SET rows_quarantined = {}, rows_read = 1000000 "
        f"WHERE dataset = 'orders' AND {M}"
    )
    above = dataclasses.replace(POLICY, max_quarantine_ratio=Fraction("0.010000000000000001"))
    below = dataclasses.replace(POLICY, max_quarantine_ratio=Fraction("0.009999999999999999"))
    at_one_percent = with_defect(good_warehouse, tmp_path, set_counts.format(10_000))
    within = validate(at_one_percent, "inputs/orders", policy=above)
    assert within.success, within.summary()
    over = validate(at_one_percent, "inputs/orders", policy=below)
    assert {(f.batch, f.column, f.error) for f in over.failures} == {
        ("quarantine_ratio", "within_limit", None)
    }, over.summary()


def test_a_category_of_many_merchants_sums_its_shares_without_drift():
    """Each float share of a category is right to half an ulp, but adding 19 million of
    them one by one lost up to half an ulp of the running sum each time: here 1.03e-9
    in all, past the check's 1e-9, so a right month was refused. The batch sums with
    compensation (``fsum``). One thread and the rows in this order make the plain sum's
    drift happen; the shares' exact sum is 1 to within 1e-25."""
    ulp = 2.0**-53  # of a running sum in [0.5, 1)
    tiny, count = 1.49 * ulp, 19_000_000
    big = 1 - count * tiny
    assert abs(Fraction(big) + count * Fraction(tiny) - 1) < Fraction(1, 10**25)
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.execute("CREATE SCHEMA work")
        con.execute(
            "CREATE TABLE work.exposure_weights AS SELECT * FROM ("
            f"SELECT {big!r}::DOUBLE AS exposure_share UNION ALL "
            f"SELECT {tiny!r}::DOUBLE FROM range({count})) "
            "CROSS JOIN (SELECT '2026-03' AS month, 'home' AS main_category, TRUE AS eligible, "
            "1.0::DOUBLE AS raw_weight) "
            "ORDER BY exposure_share DESC"
        )
        query = batch_sql("outputs/exposure_weights", "category_shares")
        ((category, share_sum, merchants),) = con.execute(query, {"month": "2026-03"}).fetchall()
        plain = con.execute("SELECT sum(exposure_share) FROM work.exposure_weights").fetchone()
    finally:
        con.close()
    assert (category, merchants) == ("home", count + 1)
    assert abs(plain[0] - 1) > 1e-9  # the drift this test is about
    assert abs(share_sum - 1) < 1e-15


def test_a_collision_of_two_other_months_does_not_fail_this_month(good_warehouse, tmp_path):
    """Two earlier months holding one key dated in March are their fault, not March's."""
    path = with_defect(
        good_warehouse,
        tmp_path,
        "INSERT INTO raw.service_metrics SELECT s.* REPLACE (v.m AS month, 'M-ELSEWHERE' AS "
        "merchant_id) FROM (SELECT * FROM raw.service_metrics WHERE "
        f"{M} AND metric_date = DATE '2026-03-05' LIMIT 1) s, "
        "(VALUES ('2026-01'), ('2026-02')) v(m)",
    )
    assert validate(path, "inputs/service_metrics").success
    report = validate(path, "inputs/service_metrics", month="2026-02")
    failed = {(f.expectation, f.batch) for f in report.failures}
    assert ("expect_table_row_count_to_equal", "duplicate_keys") in failed


def test_chunked_validation_adds_counts_across_chunks(good_warehouse, tmp_path):
    path = tmp_path / "bad.duckdb"
    shutil.copy(good_warehouse, path)
    con = connect(path)
    con.execute(
        f"UPDATE raw.feedback SET stars = 9 WHERE {M} AND order_id IN "
        f"(SELECT order_id FROM raw.feedback WHERE {M} ORDER BY order_id LIMIT 25)"
    )
    rows = con.execute(f"SELECT count(*) FROM raw.feedback WHERE {M}").fetchall()[0][0]
    con.close()
    whole = validate(path, "inputs/feedback")
    chunked = validate(path, "inputs/feedback", chunk_rows=500)
    stars = [[o for o in r.failures if o.column == "stars"][0] for r in (whole, chunked)]
    assert stars[0].unexpected_count == stars[1].unexpected_count == 25
    assert stars[0].element_count == stars[1].element_count == rows
    assert stars[1].samples[:1] == [9]
    json.dumps(chunked.as_metadata())  # metadata is JSON for the Dagster UI


@pytest.mark.parametrize(
    ("suite", "defect", "expected"),
    BAD_BATCHES,
    ids=[f"{s}:{e[2] or e[1]}" for s, _, e in BAD_BATCHES],
)
def test_prefiltered_batches_give_the_outcomes_of_whole_batches(
    good_warehouse, tmp_path, suite, defect, expected
):
    """GE on the rows that could fail (the default) reports what GE on every row reports."""
    path = with_defect(good_warehouse, tmp_path, defect)
    both = [validate(path, suite, prefilter=prefilter) for prefilter in (True, False)]

    def outcomes(report):
        # Samples are the first unexpected rows met, so the same set only when all fit.
        return [
            (o.expectation, o.batch, o.column, o.success, o.unexpected_count, o.element_count)
            + (o.error, sorted(map(str, o.samples)) if o.unexpected_count <= 10 else len(o.samples))
            for o in report.outcomes
        ]

    assert outcomes(both[0]) == outcomes(both[1])
    assert expected in {(f.expectation, f.batch, f.column) for f in both[0].failures}


@pytest.mark.parametrize("suite", [s for s in all_suites() if s != "outputs/merchant_compliance"])
def test_row_batches_are_prefiltered(good_warehouse, suite):
    """Every suite but two keeps GE to the suspect rows of its rows batch (the check above
    would pass vacuously if the filter never applied); merchant_compliance asks for a
    uniqueness GE alone checks, and exposure_weights' conditional rows are checked whole."""
    con = connect(good_warehouse, read_only=True)
    try:
        sql_params, expectation = check_parameters(MONTH, POLICY, suite.split("/")[1])
        rows_sql = statements(load_sql(batch_sql_name(suite, "rows")))[-1].rstrip(";")
        types = column_types(con.sql(rows_sql, params=bound_params(rows_sql, sql_params)))
    finally:
        con.close()
    rows_expectations = [e for e in load_suite_json(suite)["expectations"] if batch_of(e) == "rows"]
    applies = suspect_filter(rows_expectations, expectation, types) is not None
    assert applies is (suite != "outputs/exposure_weights")


@pytest.mark.parametrize(
    "dataset", [d for d in DATASETS if d.key_unique_across_months], ids=lambda d: d.name
)
def test_the_shared_duplicate_keys_query_names_each_datasets_table_and_key(dataset):
    """One query serves every key unique across months; each dataset fills in its names."""
    assert batch_sql_name(f"inputs/{dataset.name}", "duplicate_keys") == (
        "checks/duplicate_keys.sql"
    )
    sql = batch_sql(f"inputs/{dataset.name}", "duplicate_keys")
    assert "__" not in "\n".join(statements(sql))
    assert f"FROM raw.{dataset.name} SEMI JOIN colliding USING ({', '.join(dataset.key)})" in sql
