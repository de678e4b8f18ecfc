"""The quarantine classification (spec §1): each distinct staged row gets its reason.

Reasons are checked in the spec's order and keys are compared last, among rows passing
every other rule, against earlier months only. Exact copies collapse into one row.

Sized for 100 million rows: only rows whose key repeats in the month (usually a handful)
can be exact copies or in-month duplicates, so only they are grouped on all columns; every
other row is classified in one streaming pass. Earlier months' rows are found by a semi
join on this month's keys, and the orders an event refers to by a join whose hash table
holds this month's rows (a range of them, for a large month): history is streamed past
either, so memory stays bounded as history grows, and DuckDB skips history row groups
whose key range cannot match.

``classify`` runs the steps in that order; the functions below build and run them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb

from pipelines.datasets import Dataset
from pipelines.env_settings import rows_setting
from pipelines.months import grading_window
from pipelines.value_ranges import Bound, in_range_sql, range_params, value_ranges
from pipelines.warehouse import bound_params, fetch_value

# Staged rows looked up among the orders at once (see order_id_ranges).
ORDER_LOOKUP_ROWS = rows_setting("GRADING_ORDER_LOOKUP_ROWS", 10_000_000)


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
    """
    ctx = _context(con, ds, month, stage)
    _store_repeated_keys(ctx)
    _store_repeated_rows(ctx)
    _store_duplicate_key_candidates(ctx)
    _set_month_key_range(ctx)
    earlier = _earlier_rows_filter(ctx) if ds.key_unique_across_months else None
    lookups = _lookups(ds)
    if ds.checks_order:
        result = _classify_by_order_range(ctx, lookups, earlier)
    else:
        if earlier is not None:
            _find_earlier(ctx, earlier)
        result = _classify_direct(ctx, lookups)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _rejected AS FROM ({result.sql}) WHERE _reason IS NOT NULL",
        result.params,
    )
    return result


@dataclass(frozen=True)
class _Context:
    """What every statement of one classification shares: the connection, the dataset and
    its staged rows, the SQL pieces built once from the dataset's contract, and the named
    parameters (each statement is given exactly those it uses, as DuckDB requires)."""

    con: duckdb.DuckDBPyConnection
    ds: Dataset
    month: str
    stage: str
    params: dict[str, object]
    col_list: str
    key_using: str
    null_key: str
    row_reason: str

    def run(self, sql: str) -> None:
        """Run one statement with the parameters it names."""
        self.con.execute(sql, bound_params(sql, self.params))

    def with_params(self, **params: object) -> _Context:
        """The same context with more parameters (an order id range's bounds)."""
        return replace(self, params={**self.params, **params})


def _context(con: duckdb.DuckDBPyConnection, ds: Dataset, month: str, stage: str) -> _Context:
    """The shared context of classifying ``stage``: the month's window bounds the
    wrong_month rule, and the key and column lists recur in nearly every statement."""
    null_key = null_key_sql(ds)
    window = grading_window(month, 1)
    return _Context(
        con=con,
        ds=ds,
        month=month,
        stage=stage,
        params={"month": month, "month_start": window.month_start, "cutoff": window.cutoff},
        col_list=", ".join(ds.columns),
        key_using=", ".join(ds.key),
        null_key=null_key,
        row_reason=row_reason_sql(ds, null_key),
    )


def _store_repeated_keys(ctx: _Context) -> None:
    """``_repeated``: the complete keys held by more than one staged row. Only their rows
    can be exact copies or in-month duplicates, so only they are grouped on all columns.

    Keys whose hash repeats are found first (sorting 64-bit hashes and comparing
    neighbours is about twice as fast as grouping them, and much cheaper than grouping
    strings), then the keys among those that really repeat: exact.
    """
    key_using, stage, null_key = ctx.key_using, ctx.stage, ctx.null_key
    key_hash = f"hash({key_using})"
    ctx.run(
        f"CREATE OR REPLACE TEMP TABLE _repeated AS SELECT {key_using} FROM {stage} "
        f"WHERE NOT ({null_key}) AND {key_hash} IN (SELECT key_hash FROM ("
        f"SELECT key_hash, key_hash = lag(key_hash) OVER (ORDER BY key_hash) AS again "
        f"FROM (SELECT {key_hash} AS key_hash FROM {stage} WHERE NOT ({null_key}))) "
        f"WHERE again) GROUP BY ALL HAVING count(*) > 1"
    )


def _store_repeated_rows(ctx: _Context) -> None:
    """``_repeated_rows``: the rows of repeated keys and those without a key, exact copies
    collapsed into one (counted in ``_copies``, placed at the first copy's source), so
    that each distinct row is classified once."""
    col_list, stage = ctx.col_list, ctx.stage
    ctx.run(
        f"""
        CREATE OR REPLACE TEMP TABLE _repeated_rows AS
        -- The first copy in file order: _file is the file's number in the sorted list,
        -- or its name (the same order: names in one folder, sorted).
        SELECT {col_list}, min(struct_pack(f := _file, r := _row)) AS _src,
               count(*) AS _copies, TRUE AS _rep
        FROM (
            SELECT * FROM {stage} SEMI JOIN _repeated USING ({ctx.key_using})
            UNION ALL
            SELECT * FROM {stage} WHERE {ctx.null_key}
        )
        GROUP BY {col_list}
        """
    )


def _store_duplicate_key_candidates(ctx: _Context) -> None:
    """``_duplicate_keys``: the keys held by two distinct rows that pass their own rules (a
    few, found among the repeated rows). A key held by two distinct rows that pass every
    other rule is a duplicate key; once the merchant and order rules have been applied
    too, ``_mark_duplicate_keys`` keeps those still held by two."""
    ctx.run(
        f"CREATE OR REPLACE TEMP TABLE _duplicate_keys AS SELECT {ctx.key_using} "
        f"FROM _repeated_rows WHERE (CASE {ctx.row_reason} END) IS NULL "
        f"GROUP BY ALL HAVING count(*) > 1"
    )


def _set_month_key_range(ctx: _Context) -> None:
    """The month's key range as a constant (``_month_key_range``): history rows outside it
    cannot match, and DuckDB skips their row groups by their statistics (ids that grow
    over time skip nearly all history) instead of joining them."""
    ranges = ", ".join(f"{k}: {{lo: min({k}), hi: max({k})}}" for k in ctx.ds.key)
    ctx.run(f"SET VARIABLE _month_key_range = (SELECT {{{ranges}}} FROM {ctx.stage})")


def _in_month_key_range(key: str) -> str:
    """SQL: ``key`` lies within the month's range of it (see _set_month_key_range)."""
    bound = f"getvariable('_month_key_range').{key}"
    return f"{key} BETWEEN {bound}.lo AND {bound}.hi"


def _earlier_rows_filter(ctx: _Context) -> str:
    """SQL: a history row is from an earlier month and within the month's key range; or
    ``FALSE`` when no such row exists (orders, whose ids grow), so that the lookup of
    earlier rows is skipped: DuckDB would still build its hash table on the month's keys.
    """
    ds = ctx.ds
    earlier = f"month < $month AND {' AND '.join(_in_month_key_range(k) for k in ds.key)}"
    any_earlier = f"SELECT EXISTS (SELECT 1 FROM raw.{ds.name} WHERE {earlier})"
    if not fetch_value(ctx.con, any_earlier, {"month": ctx.month}):
        return "FALSE"
    return earlier


def _find_earlier(ctx: _Context, earlier: str, rows: str = "TRUE") -> None:
    """``_earlier``: earlier rows with the keys of the staged ``rows``, found first on their
    own (a semi join whose hash table holds keys only), so the final pass joins a small
    table. Their keys first, reading only the key columns of history (faster: see
    bench/README.md), then the whole rows of those few keys (none, usually: DuckDB then
    reads nothing). ``earlier`` is _earlier_rows_filter's."""
    key_using, table = ctx.key_using, f"raw.{ctx.ds.name}"
    ctx.run(
        f"CREATE OR REPLACE TEMP TABLE _earlier_keys AS SELECT {key_using} "
        f"FROM {table} SEMI JOIN (SELECT {key_using} FROM {ctx.stage} WHERE {rows}) "
        f"USING ({key_using}) WHERE {earlier} AND {rows}"
    )
    ctx.run(
        f"CREATE OR REPLACE TEMP TABLE _earlier AS SELECT {ctx.col_list}, TRUE AS _seen "
        f"FROM {table} SEMI JOIN _earlier_keys USING ({key_using}) "
        f"WHERE {earlier} AND {rows}"
    )


@dataclass(frozen=True)
class _Lookups:
    """What the final pass looks each row up in, and the reasons it reads from them."""

    joins: str  # joined for every row: earlier rows, merchants (orders join per range)
    reasons: str  # the CASE branches giving _reason, in the order of spec §1
    order_columns: tuple[str, ...]  # the columns of raw.orders the order join reads
    copied: str  # select-list tail: the order values a row stores (_order_amount_usd...)


def _lookups(ds: Dataset) -> _Lookups:
    """The reasons in the order of spec §1: the row's own, its merchant's, its order's,
    then its key's, so that keys are compared only among rows passing every other rule."""
    key_joins, key_reasons = _earlier_row_rule(ds)
    merchant_joins, merchant_reasons = _merchant_rule(ds)
    reasons = [
        "WHEN b._row_reason IS NOT NULL THEN b._row_reason",
        *merchant_reasons,
        *_order_reasons(ds),
        *key_reasons,
    ]
    return _Lookups(
        joins=" ".join([*key_joins, *merchant_joins]),
        reasons=" ".join(reasons),
        order_columns=_order_columns(ds),
        copied=_copied_from_order_sql(ds),
    )


def _earlier_row_rule(ds: Dataset) -> tuple[list[str], list[str]]:
    """The join to ``_earlier`` and its reasons: a key seen in an earlier month with other
    values is a duplicate key, with the same values an earlier copy."""
    if not ds.key_unique_across_months:
        return [], []
    differ = " OR ".join(f"b.{c} IS DISTINCT FROM e.{c}" for c in ds.columns)
    return [f"LEFT JOIN _earlier e USING ({', '.join(ds.key)})"], [
        f"WHEN e._seen AND ({differ}) THEN 'duplicate_key'",
        "WHEN e._seen THEN 'earlier_copy'",
    ]


def _merchant_rule(ds: Dataset) -> tuple[list[str], list[str]]:
    """The join to the merchants known by the month, and the unknown_merchant reason."""
    if not ds.checks_merchant:
        return [], []
    join = (
        "LEFT JOIN (SELECT DISTINCT merchant_id, TRUE AS _known FROM raw.merchants "
        "WHERE month <= $month) m ON m.merchant_id = b.merchant_id"
    )
    return [join], ["WHEN m._known IS NULL THEN 'unknown_merchant'"]


def _order_reasons(ds: Dataset) -> list[str]:
    """The reasons read from a row's order (joined as ``o``, per range of order ids)."""
    if not ds.checks_order:
        return []
    reasons = ["WHEN o.order_id IS NULL OR o.merchant_id <> b.merchant_id THEN 'unknown_order'"]
    if ds.requires_completed_order:
        reasons.append("WHEN o.status <> 'completed' THEN 'order_not_completed'")
    return reasons


def _order_columns(ds: Dataset) -> tuple[str, ...]:
    """The order columns the join reads: only those this dataset checks or copies."""
    if not ds.checks_order:
        return ()
    status = ["status"] if ds.requires_completed_order else []
    return ("order_id", "merchant_id", *status, *ds.copied_from_order.values())


def _copied_from_order_sql(ds: Dataset) -> str:
    """Select-list tail: the values a row stores from its order, as ``_<column>``."""
    if not ds.checks_order:
        return ""
    return "".join(f", o.{src} AS _{dst}" for dst, src in ds.copied_from_order.items())


def _classified_sql(ctx: _Context, lookups: _Lookups, collapsed: str, order_join: str = "") -> str:
    """The classification of ``collapsed``, but for keys repeated in the month: those
    need every row's other reasons first (``_mark_duplicate_keys``)."""
    return f"""
            WITH collapsed AS ({collapsed}),
            base AS (SELECT *, CASE {ctx.row_reason} END AS _row_reason FROM collapsed)
            SELECT b.*, CASE {lookups.reasons} END AS _reason{lookups.copied}
            FROM base b {lookups.joins} {order_join}
            """


def _unrepeated_rows_sql(ctx: _Context) -> str:
    """The rows of keys held once in the month, nearly all of them: each is its own
    distinct row, so it is classified as it streams, never grouped."""
    return (
        f"SELECT {ctx.col_list}, struct_pack(f := _file, r := _row) AS _src, "
        f"CAST(1 AS BIGINT) AS _copies, FALSE AS _rep FROM {ctx.stage} "
        f"ANTI JOIN _repeated USING ({ctx.key_using}) WHERE NOT ({ctx.null_key})"
    )


def _classify_direct(ctx: _Context, lookups: _Lookups) -> Classified:
    """For a dataset that looks no order up: the repeated rows are classified and kept on
    their own (the direct path puts their accepted copies back after deleting every row
    of their keys); the rest is left as a query, classified as it streams."""
    ctx.run(
        "CREATE OR REPLACE TEMP TABLE _repeated_classified AS "
        + _classified_sql(ctx, lookups, "FROM _repeated_rows")
    )
    _mark_duplicate_keys(ctx.con, ctx.ds, "_repeated_classified")
    streamed = _classified_sql(ctx, lookups, _unrepeated_rows_sql(ctx))
    sql = f"{streamed} UNION ALL FROM _repeated_classified"
    return Classified(sql, bound_params(sql, ctx.params))


def _classify_by_order_range(ctx: _Context, lookups: _Lookups, earlier: str | None) -> Classified:
    """For a dataset that looks orders up: each row's order is looked up by a left join on
    the order history, classified and kept (``_classified``), in ranges of order ids
    when the month is too large for the join to fit in memory.

    DuckDB builds the join's hash table on the month's rows and streams the orders of the
    range past it: one join, faster than a semi join finding the orders first, then a
    join to those (bench/README.md has the measurement). The side it builds on comes from its
    estimates: the plans at 10M and 100M put the orders on the probe side; were they
    built, a range's orders would spill. ``earlier`` is _earlier_rows_filter's, or None
    when keys are not compared across months.
    """
    others = _unrepeated_rows_sql(ctx)
    for index, (lo, hi) in enumerate(order_id_ranges(ctx.con, ctx.stage)):
        in_range = ctx.with_params(**range_params(lo, hi))
        order_in_range = in_range_sql("order_id", lo, hi)
        if earlier is not None:
            _find_earlier(in_range, earlier, order_in_range)
        rows_in_range = (
            f"{others} AND {order_in_range} UNION ALL FROM _repeated_rows "
            f"WHERE {in_range_sql('order_id', lo, hi, with_null=True)}"
        )
        into = "INSERT INTO _classified " if index else "CREATE TEMP TABLE _classified AS "
        in_range.run(
            into
            + _classified_sql(ctx, lookups, rows_in_range, _order_join(lookups, order_in_range))
        )
    _mark_duplicate_keys(ctx.con, ctx.ds, "_classified")
    return Classified("FROM _classified", {})


def _order_join(lookups: _Lookups, order_in_range: str) -> str:
    """The join to the orders of one range of order ids, known by the month.

    Also bounded by the month's own smallest and largest order id (_month_key_range):
    DuckDB 2.0's dynamic join filter skips no row group of ``raw.orders``, so without
    the bound the lookup read every month of history. Where ids grow with time, the
    bound keeps it to the months the rows point at (at 10M orders with five months of
    history, 2.4 s instead of 3.4 s for feedback: bench/README.md); it cannot drop a
    match, since every id looked up lies within the staged ids' min and max."""
    return (
        f"LEFT JOIN (SELECT {', '.join(lookups.order_columns)} FROM raw.orders "
        f"WHERE month <= $month AND {order_in_range} AND {_in_month_key_range('order_id')}) "
        "o ON o.order_id = b.order_id"
    )


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


def order_id_ranges(con: duckdb.DuckDBPyConnection, stage: str) -> list[tuple[Bound, Bound]]:
    """Consecutive ranges of the staged order ids, each of about ORDER_LOOKUP_ROWS rows
    (one open range when the stage is smaller).

    At 100M orders a month holds ~55M feedback rows: looked up and classified at once,
    their joins' hash tables outgrow DuckDB's memory limit and spill. In ranges, each
    join fits, and the order history is read once in all: DuckDB skips every row group
    of raw.orders whose ids lie outside a range by their min/max, and ids that grow over
    time keep each range to a few row groups. Any bounds give the same result, since
    every row of a key lands in one range (pipelines.value_ranges).
    """
    rows = fetch_value(con, f"SELECT count(*) FROM {stage}")
    return value_ranges(
        con, f"SELECT order_id FROM {stage}", "order_id", -(-rows // ORDER_LOOKUP_ROWS)
    )


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
