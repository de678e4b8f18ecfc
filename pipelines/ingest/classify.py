"""The quarantine classification (spec §1): each distinct staged row gets its reason.

Reasons are checked in the spec's order and keys are compared last, among rows passing
every other rule, against earlier months only. Exact copies collapse into one row.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import duckdb

from pipelines.datasets import Dataset
from pipelines.months import grading_window
from pipelines.warehouse import bound_params, fetch_value

# Staged rows looked up among the orders at once (see order_id_ranges).
ORDER_LOOKUP_ROWS = int(os.environ.get("GRADING_ORDER_LOOKUP_ROWS", "10000000"))


@dataclass(frozen=True)
class Classified:
    """The query giving each distinct staged row its reason, and its parameters."""

    sql: str
    params: dict[str, object]


def classify(con: duckdb.DuckDBPyConnection, ds: Dataset, month: str, stage: str) -> Classified:
    """Collapse exact copies, then give each distinct row of ``stage`` its quarantine
    reason (or none): the first that applies in the order of spec §1, the key last, so
    keys are compared only among rows that pass every other rule.

    Returns the query of all classified rows, and leaves temp tables ``_repeated`` (the
    keys that repeat in the month) and ``_rejected`` (every rejected row). When it looks
    orders up, the classification is stored once (``_classified``); otherwise only the
    rows of repeated keys and without a key are (``_repeated_classified``), and the
    rest, nearly the whole month, is classified as it streams.

    Sized for 100 million rows: only rows whose key repeats in the month (usually a
    handful) can be exact copies or in-month duplicates, so only they are grouped on all
    columns; every other row is classified in one streaming pass. Earlier months' rows
    are found by a semi join on this month's keys, and the orders an event refers to by
    a join whose hash table holds this month's rows (a range of them, for a large month):
    history is streamed past either, so memory stays bounded as history grows, and
    DuckDB skips history row groups whose key range cannot match.
    """
    cols = list(ds.columns)
    col_list = ", ".join(cols)
    key_using = ", ".join(ds.key)
    null_key = null_key_sql(ds)
    row_reason = row_reason_sql(ds, null_key)
    window = grading_window(month, 1)
    params = {"month": month, "month_start": window.month_start, "cutoff": window.cutoff}

    def run(sql: str) -> None:
        con.execute(sql, bound_params(sql, params))

    # Keys whose hash repeats first (sorting 64-bit hashes and comparing neighbours is
    # about twice as fast as grouping them, and much cheaper than grouping strings),
    # then the keys among those that really repeat: exact.
    key_hash = f"hash({key_using})"
    run(
        f"CREATE OR REPLACE TEMP TABLE _repeated AS SELECT {key_using} FROM {stage} "
        f"WHERE NOT ({null_key}) AND {key_hash} IN (SELECT key_hash FROM ("
        f"SELECT key_hash, key_hash = lag(key_hash) OVER (ORDER BY key_hash) AS again "
        f"FROM (SELECT {key_hash} AS key_hash FROM {stage} WHERE NOT ({null_key}))) "
        f"WHERE again) GROUP BY ALL HAVING count(*) > 1"
    )
    run(
        f"""
        CREATE OR REPLACE TEMP TABLE _repeated_rows AS
        -- The first copy in file order: _file is the file's number in the sorted list,
        -- or its name (the same order: names in one folder, sorted).
        SELECT {col_list}, min(struct_pack(f := _file, r := _row)) AS _src,
               count(*) AS _copies, TRUE AS _rep
        FROM (
            SELECT * FROM {stage} SEMI JOIN _repeated USING ({key_using})
            UNION ALL
            SELECT * FROM {stage} WHERE {null_key}
        )
        GROUP BY {col_list}
        """
    )
    # A key held by two distinct rows that pass every other rule is a duplicate key. The
    # candidates: keys held by two distinct rows that pass their own rules (a few, found
    # among the repeated rows); once the merchant and order rules have been applied too,
    # _mark_duplicate_keys keeps those still held by two.
    run(
        f"CREATE OR REPLACE TEMP TABLE _duplicate_keys AS SELECT {key_using} "
        f"FROM _repeated_rows WHERE (CASE {row_reason} END) IS NULL "
        f"GROUP BY ALL HAVING count(*) > 1"
    )

    # The month's key range as a constant: history rows outside it cannot match, and
    # DuckDB skips their row groups by their statistics (ids that grow over time skip
    # nearly all history) instead of joining them.
    ranges = ", ".join(f"{k}: {{lo: min({k}), hi: max({k})}}" for k in ds.key)
    run(f"SET VARIABLE _month_key_range = (SELECT {{{ranges}}} FROM {stage})")

    def in_range(key: str) -> str:
        bound = f"getvariable('_month_key_range').{key}"
        return f"{key} BETWEEN {bound}.lo AND {bound}.hi"

    joins = []
    # The reasons in the order of spec §1: the row's own, its merchant's, its order's,
    # then its key's, so that keys are compared only among rows passing every other rule.
    reference_reasons: list[str] = []
    key_reasons: list[str] = []
    if ds.key_unique_across_months:
        differ = " OR ".join(f"b.{c} IS DISTINCT FROM e.{c}" for c in cols)
        # Earlier rows with this month's keys, found first on their own (a semi join
        # whose hash table holds keys only), so the final pass joins a small table. When
        # no earlier row lies in the month's key range (orders, whose ids grow), the join
        # is skipped: DuckDB would still build its hash table on the month's keys.
        earlier = f"month < $month AND {' AND '.join(in_range(k) for k in ds.key)}"
        any_earlier = f"SELECT EXISTS (SELECT 1 FROM raw.{ds.name} WHERE {earlier})"
        if not fetch_value(con, any_earlier, {"month": month}):
            earlier = "FALSE"

        def find_earlier(rows: str = "TRUE") -> None:
            """Earlier rows with the keys of the staged ``rows``: their keys first, reading
            only the key columns of history (10M feedback: 1.6 s -> 0.9 s), then the
            whole rows of those few keys (none, usually: DuckDB then reads nothing)."""
            run(
                f"CREATE OR REPLACE TEMP TABLE _earlier_keys AS SELECT {key_using} "
                f"FROM raw.{ds.name} SEMI JOIN (SELECT {key_using} FROM {stage} WHERE {rows}) "
                f"USING ({key_using}) WHERE {earlier} AND {rows}"
            )
            run(
                f"CREATE OR REPLACE TEMP TABLE _earlier AS SELECT {col_list}, TRUE AS _seen "
                f"FROM raw.{ds.name} SEMI JOIN _earlier_keys USING ({key_using}) "
                f"WHERE {earlier} AND {rows}"
            )

        if not ds.checks_order:  # else found for each range of order ids, below
            find_earlier()
        joins.append(f"LEFT JOIN _earlier e USING ({key_using})")
        key_reasons.append(f"WHEN e._seen AND ({differ}) THEN 'duplicate_key'")
        key_reasons.append("WHEN e._seen THEN 'earlier_copy'")
    if ds.checks_merchant:
        joins.append(
            "LEFT JOIN (SELECT DISTINCT merchant_id, TRUE AS _known FROM raw.merchants "
            "WHERE month <= $month) m ON m.merchant_id = b.merchant_id"
        )
        reference_reasons.append("WHEN m._known IS NULL THEN 'unknown_merchant'")
    extras = ""
    if ds.checks_order:
        # The join reads only the order columns this dataset checks or copies.
        order_cols = ["order_id", "merchant_id"]
        reference_reasons.append(
            "WHEN o.order_id IS NULL OR o.merchant_id <> b.merchant_id THEN 'unknown_order'"
        )
        if ds.requires_completed_order:
            order_cols.append("status")
            reference_reasons.append("WHEN o.status <> 'completed' THEN 'order_not_completed'")
        order_cols.extend(ds.copied_from_order.values())
        extras = "".join(f", o.{src} AS _{dst}" for dst, src in ds.copied_from_order.items())

    reasons = " ".join(
        ["WHEN b._row_reason IS NOT NULL THEN b._row_reason", *reference_reasons, *key_reasons]
    )

    def classified(collapsed: str, order_join: str = "") -> str:
        """The classification of ``collapsed``, but for keys repeated in the month: those
        need every row's other reasons first (``_mark_duplicate_keys``)."""
        return f"""
            WITH collapsed AS ({collapsed}),
            base AS (SELECT *, CASE {row_reason} END AS _row_reason FROM collapsed)
            SELECT b.*, CASE {reasons} END AS _reason{extras}
            FROM base b {" ".join(joins)} {order_join}
            """

    others = (
        f"SELECT {col_list}, struct_pack(f := _file, r := _row) AS _src, "
        f"CAST(1 AS BIGINT) AS _copies, FALSE AS _rep FROM {stage} "
        f"ANTI JOIN _repeated USING ({key_using}) WHERE NOT ({null_key})"
    )
    if ds.checks_order:
        # Each row's order is looked up by a left join on the order history, classified
        # and kept, in ranges of order ids when the month is too large for the join to fit
        # in memory. DuckDB builds the join's hash table on the month's rows and streams
        # the orders of the range past it (one join: 10M orders, feedback ingest 17 s ->
        # 13 s, against a semi join finding the orders first, then a join to those). The
        # side it builds on comes from its estimates: the plans at 10M and 100M put the
        # orders on the probe side; were they built, a range's orders would spill.
        for index, (lo, hi) in enumerate(order_id_ranges(con, stage)):
            params.update(range_lo=lo, range_hi=hi)
            in_range_sql = _order_id_in_range(lo, hi)
            if ds.key_unique_across_months:
                find_earlier(in_range_sql)
            order_join = (
                f"LEFT JOIN (SELECT {', '.join(order_cols)} FROM raw.orders "
                f"WHERE month <= $month AND {in_range_sql}) o ON o.order_id = b.order_id"
            )
            rows_in_range = (
                f"{others} AND {in_range_sql} UNION ALL FROM _repeated_rows "
                f"WHERE {_order_id_in_range(lo, hi, with_null=True)}"
            )
            into = "INSERT INTO _classified " if index else "CREATE TEMP TABLE _classified AS "
            run(into + classified(rows_in_range, order_join=order_join))
        _mark_duplicate_keys(con, ds, "_classified")
        result = Classified("FROM _classified", {})
    else:
        # The repeated rows are kept on their own: the direct path puts their accepted
        # copies back after deleting every row of their keys.
        run(
            "CREATE OR REPLACE TEMP TABLE _repeated_classified AS "
            + classified("FROM _repeated_rows")
        )
        _mark_duplicate_keys(con, ds, "_repeated_classified")
        sql = f"{classified(others)} UNION ALL FROM _repeated_classified"
        result = Classified(sql, bound_params(sql, params))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _rejected AS FROM ({result.sql}) WHERE _reason IS NOT NULL",
        result.params,
    )
    return result


def _mark_duplicate_keys(con: duckdb.DuckDBPyConnection, ds: Dataset, classified: str) -> None:
    """Quarantine as ``duplicate_key`` every row of a key that two distinct rows passing
    every other rule hold in the month (spec §1).

    Keys are compared only once the other reasons are known: a copy quarantined for its
    merchant or its order leaves its twin valid. Only the rows of candidate keys
    (``_duplicate_keys``, usually none) are looked at: the ``_rep`` rows of ``classified``
    (the repeated keys), whose reason is none or one of the key's own, which a duplicate
    in the month overrides (all copies go, the earlier month's row stands either way).
    """
    if not fetch_value(con, "SELECT EXISTS (FROM _duplicate_keys)"):
        return
    key_using = ", ".join(ds.key)
    same_key = " AND ".join(f"t.{k} = d.{k}" for k in ds.key)
    valid = "(_reason IS NULL OR _reason IN ('duplicate_key', 'earlier_copy'))"
    con.execute(
        f"""
        UPDATE {classified} AS t SET _reason = 'duplicate_key'
        FROM (
            SELECT {key_using} FROM {classified} SEMI JOIN _duplicate_keys USING ({key_using})
            WHERE _rep AND {valid}
            GROUP BY ALL HAVING count(*) > 1
        ) AS d
        WHERE t._rep AND {same_key} AND (t._reason IS NULL OR t._reason = 'earlier_copy')
        """
    )


def order_id_ranges(
    con: duckdb.DuckDBPyConnection, stage: str
) -> list[tuple[str | None, str | None]]:
    """Consecutive ranges of the staged order ids, each of about ORDER_LOOKUP_ROWS rows
    (one open range when the stage is smaller).

    At 100M orders a month holds ~55M feedback rows: looked up and classified at once,
    their joins' hash tables outgrow DuckDB's memory limit and spill. In ranges, each
    join fits, and the order history is read once in all: DuckDB skips every row group
    of raw.orders whose ids lie outside a range by their min/max, and ids that grow over
    time keep each range to a few row groups. The bounds come from a sample of the ids;
    any bounds give the same result, since every row of a key lands in one range.
    """
    rows = fetch_value(con, f"SELECT count(*) FROM {stage}")
    ranges = -(-rows // ORDER_LOOKUP_ROWS)
    if ranges <= 1:
        return [(None, None)]
    bounds = fetch_value(
        con,
        "SELECT list(DISTINCT bound ORDER BY bound) FROM (SELECT unnest(quantile_disc("
        f"order_id, $quantiles)) AS bound FROM (SELECT order_id FROM {stage} "
        "WHERE order_id IS NOT NULL USING SAMPLE reservoir(100000 ROWS) REPEATABLE (1)))",
        {"quantiles": [k / ranges for k in range(1, ranges)]},
    )
    return list(itertools.pairwise([None, *(bounds or []), None]))


def _order_id_in_range(lo: str | None, hi: str | None, with_null: bool = False) -> str:
    """SQL: the order id lies in [$range_lo, $range_hi) (an absent bound is open). Rows
    without an order id belong to the first range, when asked for."""
    bounds = [
        sql
        for sql, bound in (("order_id >= $range_lo", lo), ("order_id < $range_hi", hi))
        if bound is not None
    ]
    sql = " AND ".join(bounds) or "TRUE"
    return f"(order_id IS NULL OR {sql})" if with_null and lo is None and bounds else sql


def null_key_sql(ds: Dataset) -> str:
    """SQL: true when a row's key is incomplete (a stored row never is)."""
    return " OR ".join(f"{k} IS NULL" for k in ds.key)


def row_reason_sql(ds: Dataset, null_key: str) -> str:
    """CASE branches giving a row's own reason: null_key, bad_value, wrong_month."""
    bad_value = [f"{c} IS NULL" for c in ds.columns if c not in ds.key]
    for column, allowed in ds.enums.items():
        values = ", ".join("'" + v + "'" for v in allowed)
        bad_value.append(f"{column} NOT IN ({values})")
    bad_value.extend(f"({p})" for p in ds.bad_value_sql)
    branches = [
        f"WHEN {null_key} THEN 'null_key'",
        f"WHEN {' OR '.join(bad_value)} THEN 'bad_value'",
    ]
    if ds.month_column:
        branches.append(
            f"WHEN NOT ({ds.month_column} >= $month_start AND "
            f"{ds.month_column} < $cutoff) THEN 'wrong_month'"
        )
    return " ".join(branches)
