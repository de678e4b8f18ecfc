"""One month's grading against the warehouse: SQL reads, pure polars rules, staged writes.

These functions are what the Dagster assets call. Each reads what it needs with a query
from ``sql/grading``, applies the rules of ``pipelines.rules`` and replaces its month in
a ``work.*`` table in one transaction. Nothing here is published: ``publish_month``
(``pipelines.publishing``) moves a month into the ``main.*`` tables, all tables at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextvars import ContextVar

import duckdb
import polars as pl

from pipelines.env_settings import rows_setting
from pipelines.faults import crash_point
from pipelines.feedback_counts import (
    FEEDBACK_COUNTS_QUERY,
    FEEDBACK_ROWS_PARAM,
    feedback_count_params,
)
from pipelines.months import GradingWindow, add_months, grading_window
from pipelines.policy import Policy
from pipelines.rules.compliance import compliance_violations
from pipelines.rules.credit import (
    FEEDBACK_COUNT_COLUMNS,
    assign_levels,
    count_feedback_by_period,
    feedback_rule_key,
    period_after,
    points_from_counts,
    roll_credit_ledger,
    sum_feedback_counts,
)
from pipelines.rules.exposure import exposure_weights, tier_distribution
from pipelines.rules.metrics import window_metrics, with_rates
from pipelines.rules.tiers import assign_tiers
from pipelines.sql_files import load_sql
from pipelines.value_ranges import in_range_sql, range_params, value_ranges
from pipelines.warehouse import (
    bound_params,
    fetch_frame,
    fetch_rows,
    fetch_value,
    replace_month,
)

GRADE_COLUMNS = (
    "month",
    "merchant_id",
    "credit_points",
    "level",
    "assessed_orders",
    "bad_orders",
    "bad_order_rate",
    "seller_dispute_orders",
    "seller_dispute_rate",
    "positive_feedback",
    "negative_feedback",
    "positive_feedback_rate",
    "dsr_item_avg",
    "on_time_ship_rate",
    "response_rate_24h",
    "tier",
    "provisional",
    "reasons",
    "policy_version",
)
EXPOSURE_COLUMNS = (
    "month",
    "merchant_id",
    "main_category",
    "tier",
    "level",
    "eligible",
    "raw_weight",
    "exposure_share",
    "showcase_slots",
    "promotion_eligible",
    "email_quota",
    "policy_version",
)
LEDGER_COLUMNS = ("month", "merchant_id", "points_delta", "credit_points")
PERIOD_COUNT_COLUMNS = ("month", "merchant_id", "period_start", *FEEDBACK_COUNT_COLUMNS)
COMPLIANCE_COLUMNS = ("month", "merchant_id", "violation", "policy_version")
DISTRIBUTION_COLUMNS = ("month", "main_category", "tier", "merchants", "policy_version")


# Feedback rows handed to polars per pass (see in_passes): bounds Python's memory. 8M
# keeps a 10M-order month (5.7M feedback rows) in one pass, which saves the passes' sorted
# temp table (~2 s there) at no higher peak RSS (4.0 GB, the DuckDB side's).
FEEDBACK_ROWS_PER_PASS = rows_setting("GRADING_FEEDBACK_ROWS_PER_PASS", 8_000_000)


# With the Spark engine: the names of the row queries it runs, and its runner
# (pipelines/spark_engine/rows.py). None: every query runs on the DuckDB connection.
ROW_QUERIES: ContextVar[
    tuple[tuple[str, ...], Callable[[str, dict[str, object]], pl.DataFrame]] | None
] = ContextVar("ROW_QUERIES", default=None)


def _elsewhere(name: str) -> Callable[[str, dict[str, object]], pl.DataFrame] | None:
    """The runner of ``sql/<name>`` when another engine runs it (the Spark engine)."""
    engine = ROW_QUERIES.get()
    return engine[1] if engine is not None and name in engine[0] else None


class GradingError(RuntimeError):
    """The month cannot be graded as asked; the message says why and what to do."""


def query(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> pl.DataFrame:
    """Run ``sql/<name>`` with named parameters (only those the statement uses)."""
    runner = _elsewhere(name)
    if runner is not None:
        return runner(name, params)
    sql = load_sql(name)
    return fetch_frame(con, sql, bound_params(sql, params))


def in_passes(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: dict[str, object],
    per_merchant: Callable[[pl.LazyFrame], pl.LazyFrame],
) -> pl.LazyFrame:
    """Apply a per-merchant rule to the rows of ``sql/<name>``, a group of merchants at a time.

    The feedback rules need every feedback row (one count per merchant, buyer, ten-day
    period and polarity), and a month of 100M orders has ~55M of them: too many to hold
    in Python at once. Merchants are split into as many ranges of their ids as keep each
    pass near FEEDBACK_ROWS_PER_PASS rows (cut at quantiles of a sample of the rows, so
    a merchant with many rows counts for as many); as the rule is per merchant, the
    passes' results concatenated are the one-pass result.
    """
    runner = _elsewhere(name)
    if runner is not None:
        return per_merchant(runner(name, params).lazy()).collect().lazy()
    sql = load_sql(name).strip().rstrip(";")
    used = bound_params(sql, params)
    rows = fetch_value(con, f"SELECT count(*) FROM (\n{sql}\n)", used)
    passes = max(1, -(-rows // FEEDBACK_ROWS_PER_PASS))
    if passes == 1:
        return per_merchant(fetch_frame(con, sql, used).lazy()).collect().lazy()
    # Each pass runs the query again, keeping its own range of merchant ids: a scan of the
    # month's columns per pass, filtered as DuckDB reads them (pipelines.value_ranges).
    # Storing the rows once in a temp table ordered by pass (so that each pass read only
    # its row groups) sorted 55M rows at 100M orders: 21-35 s of a 48-77 s step, against
    # 37-45 s re-run by hash groups on the same machine; on another, by hash 47.4 s and by
    # ranges 12.8 s (bench/README.md).
    results = []
    for lo, hi in value_ranges(con, sql, "merchant_id", passes, used):
        part = (
            f"SELECT * FROM (\n{sql}\n) WHERE {in_range_sql('merchant_id', lo, hi, with_null=True)}"
        )
        rows_of_part = fetch_frame(con, part, bound_params(part, {**used, **range_params(lo, hi)}))
        results.append(per_merchant(rows_of_part.lazy()).collect())
    return pl.concat(results).lazy()


def feedback_counts(
    con: duckdb.DuckDBPyConnection,
    rows_query: str,
    params: dict[str, object],
    policy: Policy,
    then: Callable[[pl.LazyFrame], pl.LazyFrame] = lambda counts: counts,
) -> pl.LazyFrame:
    """``then`` of the counted feedback per merchant and period (count_feedback_by_period)
    of the rows of ``sql/<rows_query>``.

    On DuckDB the rows reach polars a group of merchants at a time (in_passes). When
    another engine holds the rows (Spark), the whole count runs there as one aggregation
    (sql/grading/feedback_period_counts.sql over the rows query) and only the counts per
    merchant and period come back.
    """
    runner = _elsewhere(rows_query)
    if runner is None:
        return in_passes(
            con, rows_query, params, lambda rows: then(count_feedback_by_period(rows, policy))
        )
    count_params = {**params, **feedback_count_params(policy), FEEDBACK_ROWS_PARAM: rows_query}
    return then(runner(FEEDBACK_COUNTS_QUERY, count_params).lazy()).collect().lazy()


def update_credit_ledger(
    con: duckdb.DuckDBPyConnection, month: str, policy: Policy
) -> pl.DataFrame:
    """Cumulative credit at month end = last month's ledger + points earned this month.

    Credit history is the stored ledger, not a re-read of old raw files, unless that
    ledger was counted under another counting rule (a new policy's first month: the
    history is then counted again once). Refuses to run when earlier feedback exists but
    last month's ledger does not.
    """
    ledger, period_counts = month_credit(con, grading_window(month, policy.window_days), policy)
    replace_month(
        con,
        "work.credit_ledger",
        month,
        ledger,
        LEDGER_COLUMNS,
    )
    replace_month(
        con,
        "work.feedback_period_counts",
        month,
        period_counts,
        PERIOD_COUNT_COLUMNS,
        also=(
            load_sql("grading/record_period_counts.sql"),
            {"month": month, "rule_key": feedback_rule_key(policy)},
        ),
    )
    return ledger


def month_credit(
    con: duckdb.DuckDBPyConnection, window: GradingWindow, policy: Policy
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The month's credit ledger and feedback counts per ten-day period, written nowhere.

    Counts the month's feedback before the window's cutoff (the month end, or the day
    after a preview's as-of day) on top of last month's stored ledger. Refuses when
    earlier feedback exists but last month's ledger does not.

    Every point is counted under this month's policy (spec §10: a month is graded under
    the policy in force for it, and §3's credit sums all history): when last month's
    ledger was counted under another counting rule (a policy that changes the stars,
    the minimum amount or the periods took effect), the history before this month is
    counted again under this one, a group of merchants at a time, instead of rolled on.
    """
    month = window.month
    previous_month = add_months(month, -1)
    history = fetch_rows(con, load_sql("grading/history_months.sql"), {"month": month})[0]
    has_previous = (
        fetch_value(con, load_sql("grading/ledger_months.sql"), {"previous_month": previous_month})
        > 0
    )
    if history[0] and not has_previous:
        raise GradingError(
            f"credit history for {previous_month} is missing while feedback up to "
            f"{history[1]} was ingested: grade {previous_month} before {month}"
        )
    if has_previous and _ledger_rule(con, previous_month) != feedback_rule_key(policy):
        previous = history_credit(con, previous_month, window.month_start, policy)
    else:  # the stored ledger is rolled on as it stands
        previous = query(con, "grading/previous_credit.sql", previous_month=previous_month)
    period_counts = (
        feedback_counts(
            con, "grading/month_feedback.sql", {"month": month, "cutoff": window.cutoff}, policy
        )
        .collect()
        .with_columns(pl.lit(month).alias("month"))
    )
    earned = points_from_counts(sum_feedback_counts(period_counts.lazy()))
    ledger = (
        roll_credit_ledger(previous.lazy(), earned)
        .collect()
        .with_columns(pl.lit(month).alias("month"))
    )
    return ledger, period_counts


def _ledger_rule(con: duckdb.DuckDBPyConnection, month: str) -> str | None:
    """The counting rule (feedback_rule_key) all of ``month``'s stored ledger was counted
    under; None when unknown or mixed (a ledger stored before 2026-12-04 that rolled on
    months counted under another rule)."""
    return fetch_value(con, load_sql("grading/ledger_rule.sql"), {"month": month})


def history_credit(
    con: duckdb.DuckDBPyConnection, month: str, cutoff: dt.datetime, policy: Policy
) -> pl.DataFrame:
    """merchant_id, credit_points: all feedback of the months up to ``month`` before
    ``cutoff``, counted under ``policy``'s rule, a group of merchants at a time."""
    earned = feedback_counts(
        con,
        "grading/history_feedback.sql",
        {"month": month, "cutoff": cutoff},
        policy,
        then=lambda counts: points_from_counts(sum_feedback_counts(counts)),
    )
    return earned.select("merchant_id", pl.col("points").alias("credit_points")).collect()


def window_feedback_counts(
    con: duckdb.DuckDBPyConnection, window: GradingWindow, policy: Policy, reuse: bool = True
) -> pl.LazyFrame:
    """Counted feedback per merchant over the window (count_feedback of its rows).

    Each month's credit step stores its counts per ten-day period. When every month of
    the window has them, made from the rows now ingested and under this policy's rule,
    the window adds up its whole periods and counts raw rows only for the period it
    starts inside of (at most ten days). Otherwise, or with ``reuse=False``, the
    window's raw feedback is counted, a group of merchants at a time.
    """
    params = window.sql_params
    if not (reuse and stored_counts_cover(con, window, policy)):
        return feedback_counts(
            con, "grading/window_feedback.sql", params, policy, then=sum_feedback_counts
        )
    parts = [query(con, "grading/window_period_counts.sql", **params).lazy()]
    start = window.window_start.date()
    if start.day not in policy.period_start_days:
        after = period_after(start, policy)
        period_end = dt.datetime(after.year, after.month, after.day)
        parts.append(
            feedback_counts(
                con,
                "grading/partial_period_feedback.sql",
                {**params, "period_end": period_end},
                policy,
            )
        )
    return sum_feedback_counts(pl.concat(parts, how="vertical_relaxed"))


def stored_counts_cover(
    con: duckdb.DuckDBPyConnection, window: GradingWindow, policy: Policy
) -> bool:
    """Whether every month of the window has period counts of its current feedback rows."""
    sql = load_sql("grading/stored_counts_missing.sql")
    params = {**window.sql_params, "rule_key": feedback_rule_key(policy)}
    return fetch_value(con, sql, bound_params(sql, params)) == 0


def compute_grades(
    con: duckdb.DuckDBPyConnection,
    month: str,
    policy: Policy,
    as_of: dt.date | None = None,
    credit: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """merchant_grades of the month's active merchants, computed, not written.

    Reads the window from raw.* (feedback counts from the stored periods where they
    apply) and credit from the stored ledger of the month, so it also serves a what-if
    on a read-only copy of the warehouse with another policy. ``as_of`` ends the window
    on that day (a preview, spec §11): the stored period counts are month-end counts, so
    the window's feedback is then counted from its raw rows. ``credit`` (merchant_id,
    credit_points) replaces the stored ledger: a what-if's points under other credit rules.
    """
    window = grading_window(month, policy.window_days, as_of)
    params = window.sql_params
    if not fetch_value(
        con, "SELECT count(*) FROM raw.merchants WHERE month = $month", {"month": month}
    ):
        raise GradingError(
            f"no merchants snapshot was ingested for {month}: the month's graded merchants "
            f"are unknown (expected files in merchants/month={month}/)"
        )
    graded = query(con, "grading/graded_merchants.sql", month=month)
    counts = window_metrics(
        graded.lazy(),
        query(con, "grading/window_assessed_orders.sql", **params).lazy(),
        query(con, "grading/window_bad_records.sql", **params).lazy(),
        window_feedback_counts(con, window, policy, reuse=window.ends_at_month_end),
        window_service_sums(con, params).lazy(),
    )
    if credit is None:
        credit = query(con, "grading/previous_credit.sql", previous_month=month)
    return (
        assign_tiers(with_rates(counts, policy), policy)
        .join(credit.lazy().select("merchant_id", "credit_points"), on="merchant_id", how="left")
        .with_columns(pl.col("credit_points").fill_null(0).cast(pl.Int64))
        .pipe(assign_levels, policy)
        .pipe(with_month_and_policy, month, policy)
        .sort("merchant_id")
        .select(GRADE_COLUMNS)
        .collect()
    )


def window_service_sums(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> pl.DataFrame:
    """Each merchant's service metrics summed over the window, as 64-bit counts.

    Every row's count is in range (the ingest refuses one past BIGINT), but a window's sum
    of them may not be: the cast then stopped the month with an engine's overflow error
    naming no dataset, merchant or column (found by a review, 2026-12-06). Then the sums
    are taken again in 128 bits to name the first that does not fit."""
    try:
        return query(con, "grading/window_service_sums.sql", **params)
    except Exception as exc:  # DuckDB's ConversionException, Spark's ARITHMETIC_OVERFLOW
        sql = load_sql("grading/window_service_overflow.sql")
        found = fetch_rows(con, sql, bound_params(sql, params))
        if not found:
            raise
        merchant, metric, total, rows = found[0]
        raise GradingError(
            f"service_metrics {params['month']}: {metric} of merchant {merchant!r} over the "
            f"window ({params['window_start']} to before {params['cutoff']}, {rows} rows) "
            f"sums to {total}, past the largest count the grading holds (2^63 - 1 = "
            f"9223372036854775807): each row is in range, their sum is not; correct its "
            f"rows in service_metrics (the month is not graded)"
        ) from exc


def with_month_and_policy(frame: pl.LazyFrame, month: str, policy: Policy) -> pl.LazyFrame:
    """The columns every grading table ends with: the month graded and the policy's version
    (one place, so the four tables cannot stamp them differently)."""
    return frame.with_columns(
        pl.lit(month).alias("month"), pl.lit(policy.version).alias("policy_version")
    )


def compute_compliance(con: duckdb.DuckDBPyConnection, month: str, policy: Policy) -> pl.DataFrame:
    """merchant_compliance of the month: one row per breach, computed, not written."""
    snapshot = query(con, "grading/merchant_snapshot.sql", month=month)
    return (
        compliance_violations(snapshot.lazy(), policy)
        .pipe(with_month_and_policy, month, policy)
        .select(COMPLIANCE_COLUMNS)
        .collect()
    )


def compute_exposure(
    con: duckdb.DuckDBPyConnection,
    month: str,
    policy: Policy,
    grades: pl.DataFrame,
    violations: pl.DataFrame,
) -> pl.DataFrame:
    """exposure_weights from grades and violations (frames), with the snapshot's categories."""
    categories = query(con, "grading/graded_merchants.sql", month=month)
    graded = grades.select("merchant_id", "tier", "level").join(
        categories, on="merchant_id", how="left"
    )
    return (
        exposure_weights(graded.lazy(), violations.lazy(), policy)
        .pipe(with_month_and_policy, month, policy)
        .sort("merchant_id")
        .select(EXPOSURE_COLUMNS)
        .collect()
    )


def compute_tier_distribution(
    con: duckdb.DuckDBPyConnection, month: str, policy: Policy, grades: pl.DataFrame
) -> pl.DataFrame:
    """tier_distribution from grades (a frame), with the snapshot's categories."""
    categories = query(con, "grading/graded_merchants.sql", month=month)
    graded = grades.select("merchant_id", "tier").join(categories, on="merchant_id", how="left")
    return (
        tier_distribution(graded.lazy())
        .pipe(with_month_and_policy, month, policy)
        .select(DISTRIBUTION_COLUMNS)
        .collect()
    )


def regrade_month(
    con: duckdb.DuckDBPyConnection, month: str, policy: Policy
) -> dict[str, pl.DataFrame]:
    """All four grading tables of a month under ``policy``, written nowhere (what-if).

    Credit points come from the stored ledger when it was counted under the policy's
    credit rules (stars, minimum order amount, periods); otherwise they are recounted
    from the feedback history (``credit_under``), so the what-if equals a full run under
    ``policy``. Levels follow the given policy's bounds.
    """
    grades = compute_grades(con, month, policy, credit=credit_under(con, month, policy))
    violations = compute_compliance(con, month, policy)
    return {
        "merchant_grades": grades,
        "merchant_compliance": violations,
        "exposure_weights": compute_exposure(con, month, policy, grades, violations),
        "tier_distribution": compute_tier_distribution(con, month, policy, grades),
    }


def credit_under(con: duckdb.DuckDBPyConnection, month: str, policy: Policy) -> pl.DataFrame | None:
    """Credit points at ``month`` under ``policy``'s credit rules; None: the stored ledger's.

    A month's stored ledger holds all its history counted under its policy's rule (see
    month_credit). When every feedback month up to ``month`` was counted from the rows
    now ingested under this policy's rule (``feedback_rule_key``), the ledger is right as
    it stands; otherwise the whole history is counted again with the pipeline's own rule
    (a group of merchants at a time), which gives what a run under ``policy`` stores.
    """
    params = {"month": month, "rule_key": feedback_rule_key(policy)}
    if fetch_value(con, load_sql("grading/ledger_rules_differ.sql"), params) == 0:
        return None
    return history_credit(con, month, grading_window(month, policy.window_days).cutoff, policy)


def staged(con: duckdb.DuckDBPyConnection, table: str, month: str) -> pl.DataFrame:
    return fetch_frame(con, f"SELECT * FROM work.{table} WHERE month = $month", {"month": month})


def grade_merchants(con: duckdb.DuckDBPyConnection, month: str, policy: Policy) -> pl.DataFrame:
    """Stage merchant_grades in work.merchant_grades."""
    grades = compute_grades(con, month, policy)
    replace_month(con, "work.merchant_grades", month, grades, GRADE_COLUMNS)
    crash_point("grading:after_grades", month)
    return grades


def check_compliance(con: duckdb.DuckDBPyConnection, month: str, policy: Policy) -> pl.DataFrame:
    """Stage merchant_compliance in work.merchant_compliance."""
    violations = compute_compliance(con, month, policy)
    replace_month(con, "work.merchant_compliance", month, violations, COMPLIANCE_COLUMNS)
    return violations


def weigh_exposure(con: duckdb.DuckDBPyConnection, month: str, policy: Policy) -> pl.DataFrame:
    """Stage exposure_weights from the staged grades and violations of the month."""
    weights = compute_exposure(
        con,
        month,
        policy,
        staged(con, "merchant_grades", month),
        staged(con, "merchant_compliance", month),
    )
    replace_month(con, "work.exposure_weights", month, weights, EXPOSURE_COLUMNS)
    return weights


def distribute_tiers(con: duckdb.DuckDBPyConnection, month: str, policy: Policy) -> pl.DataFrame:
    """Stage tier_distribution from the staged grades of the month."""
    distribution = compute_tier_distribution(
        con, month, policy, staged(con, "merchant_grades", month)
    )
    replace_month(con, "work.tier_distribution", month, distribution, DISTRIBUTION_COLUMNS)
    return distribution
