"""Consecutive ranges of one column's values, about equal in rows: how a month too large
for one pass is worked through a part at a time (the order lookup of feedback and
bad-order records, the feedback count in polars).

A part is a range of the column's own values, a condition DuckDB applies as it scans
(it reads the other columns only for rows that pass, and skips row groups whose min and
max lie outside), rather than a hash of the column (``hash(c) % n = i``), which is
computed on every row, with every column read, for every part: at 100M orders the seven
feedback passes took 5.3-6.0 s each to fetch by hash and 0.5-0.9 s by range, with the
same counts (bench/README.md).
"""

from __future__ import annotations

import itertools

import duckdb

# Rows sampled to place the bounds: any bounds give the same result, only the parts'
# sizes depend on them.
SAMPLE_ROWS = 100_000

Bound = object | None


def value_ranges(
    con: duckdb.DuckDBPyConnection,
    rows_sql: str,
    column: str,
    parts: int,
    params: dict[str, object] | None = None,
) -> list[tuple[Bound, Bound]]:
    """About ``parts`` consecutive half-open ranges [lo, hi) of ``column`` over the rows
    of ``rows_sql`` (a bound of None is open), cut at quantiles of a sample of its values,
    so each range holds about as many rows; fewer when values repeat, one open range when
    ``parts`` <= 1. Every value lies in exactly one range, so a rule applied per value
    (per merchant, per order) gives the same result range by range as in one pass.
    ``params``: exactly the parameters ``rows_sql`` uses (DuckDB refuses others).

    A leaf module (DuckDB only): the ingest and the grading both use it, and it must not
    lengthen their import chains (tests/test_import_direction.py).
    """
    if parts <= 1:
        return [(None, None)]
    sql = (
        "SELECT list(DISTINCT bound ORDER BY bound) FROM (SELECT unnest(quantile_disc("
        f"{column}, $quantiles)) AS bound FROM (SELECT {column} FROM ({rows_sql}) "
        f"WHERE {column} IS NOT NULL USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (1)))"
    )
    quantiles = [k / parts for k in range(1, parts)]
    [(bounds,)] = con.execute(sql, {**(params or {}), "quantiles": quantiles}).fetchall()
    return list(itertools.pairwise([None, *(bounds or []), None]))


def in_range_sql(column: str, lo: Bound, hi: Bound, with_null: bool = False) -> str:
    """SQL: ``column`` lies in [$range_lo, $range_hi) (an absent bound is open). With
    ``with_null``, rows without a value belong to the first range (none is lost)."""
    bounds = [
        sql
        for sql, bound in ((f"{column} >= $range_lo", lo), (f"{column} < $range_hi", hi))
        if bound is not None
    ]
    sql = " AND ".join(bounds) or "TRUE"
    return f"({column} IS NULL OR {sql})" if with_null and lo is None and bounds else sql


def range_params(lo: Bound, hi: Bound) -> dict[str, object]:
    """The parameters of ``in_range_sql`` for one range (pass them through bound_params:
    an open bound's parameter is not in the SQL)."""
    return {"range_lo": lo, "range_hi": hi}
