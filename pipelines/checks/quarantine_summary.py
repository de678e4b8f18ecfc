"""Why a dataset's month is over its quarantine limit, in one line a person can act on.

The quarantine-ratio expectation only sees a boolean (``within_limit``), so on its own
it reports "1 unexpected of 1; e.g. [False]". This module reads raw.ingest_log and
raw.quarantine instead and says what went wrong: the ratio, the limit, the counts and
the commonest reasons, each with the rule it broke (the column of a ``bad_value``) and
a first example row, e.g.

    orders 2026-03: 3,003 of 103,210 rows quarantined (2.91% > 1%): bad_value status:
    2,950 rows (e.g. orders/month=2026-03/part-a.csv row 17: status 'shipped'); ...

Counting and grouping run in DuckDB; Python formats the few groups it returns.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import duckdb

from pipelines.datasets import DATASETS_BY_NAME, STORAGE_TYPES, Dataset
from pipelines.sql_files import load_sql
from pipelines.warehouse import fetch_rows

# Reasons shown with an example; the rest are summed up in one clause.
TOP_REASONS = 3
# The column an example shows for each reason with a fixed one (spec §1).
REASON_COLUMNS = {
    "unknown_merchant": ("merchant_id",),
    "unknown_order": ("order_id", "merchant_id"),
    "order_not_completed": ("order_id",),
}


@dataclass(frozen=True)
class ReasonGroup:
    """Quarantined rows of one reason and rule, with the first of them (file and row order)."""

    reason: str
    rule: str | None  # bad_value: the column or predicate; null_key: the empty key column
    rows: int
    source_file: str | None
    source_row: int | None
    example: dict[str, Any] = field(default_factory=dict)  # the columns the rule reads

    def describe(self) -> str:
        rule = f" {self.rule}" if self.rule else ""
        where = self.source_file or "unknown file"
        if self.source_row is not None:
            where += f" row {self.source_row}"
        values = ", ".join(f"{column} {_show(value)}" for column, value in self.example.items())
        rows = f"{self.rows:,} row{'s' if self.rows != 1 else ''}"
        return f"{self.reason}{rule}: {rows} (e.g. {where}: {values})"

    def as_metadata(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "rule": self.rule,
            "rows": self.rows,
            "example": {
                "source_file": self.source_file,
                "source_row": self.source_row,
                "values": self.example,
            },
        }


@dataclass(frozen=True)
class QuarantineRatio:
    """A dataset-month's quarantined share against the policy's limit."""

    dataset: str
    month: str
    rows_read: int
    rows_quarantined: int
    limit: Fraction
    groups: tuple[ReasonGroup, ...]

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.rows_quarantined, self.rows_read or 1)

    def message(self) -> str:
        ratio, limit = _percents(self.ratio, self.limit)
        compare = ">" if self.ratio > self.limit else "<="
        head = (
            f"{self.dataset} {self.month}: {self.rows_quarantined:,} of {self.rows_read:,} "
            f"rows quarantined ({ratio} {compare} {limit})"
        )
        shown = self.groups[:TOP_REASONS]
        clauses = [group.describe() for group in shown]
        rest = sum(group.rows for group in self.groups[TOP_REASONS:])
        if rest:
            clauses.append(f"{rest:,} more row{'s' if rest != 1 else ''} for other reasons")
        return head + (": " + "; ".join(clauses) if clauses else "")

    def as_metadata(self) -> dict[str, Any]:
        ratio, limit = _percents(self.ratio, self.limit)
        return {
            "dataset": self.dataset,
            "month": self.month,
            "rows_read": self.rows_read,
            "rows_quarantined": self.rows_quarantined,
            "ratio": ratio,
            "limit": limit,
            "reasons": [group.as_metadata() for group in self.groups],
        }


def quarantine_ratio(
    con: duckdb.DuckDBPyConnection, dataset: str, month: str, limit: Fraction
) -> QuarantineRatio:
    """The month's counts (raw.ingest_log) and its quarantine grouped by reason and rule."""
    logged = fetch_rows(
        con,
        "SELECT rows_read, rows_quarantined FROM raw.ingest_log "
        "WHERE dataset = $dataset AND month = $month",
        {"dataset": dataset, "month": month},
    )
    rows_read, rows_quarantined = logged[0] if logged else (0, 0)
    ds = DATASETS_BY_NAME[dataset]
    groups = tuple(
        ReasonGroup(reason, rule, int(rows), file, row, _example(ds, reason, rule, record))
        for reason, rule, rows, file, row, record in fetch_rows(
            con, _grouped_sql(ds), {"dataset": dataset, "month": month}
        )
    )
    return QuarantineRatio(dataset, month, int(rows_read), int(rows_quarantined), limit, groups)


def over_limit(
    con: duckdb.DuckDBPyConnection, month: str, limit: Fraction
) -> list[QuarantineRatio]:
    """The datasets of ``month`` whose quarantined share is over ``limit`` (spec §1: such
    a month is not published), by the blocking check's own query
    (sql/checks/quarantine_ratio.sql), so the two cannot judge a month differently."""
    check = load_sql("checks/quarantine_ratio.sql")
    params = {"month": month, "ratio_num": limit.numerator, "ratio_den": limit.denominator}
    return [
        quarantine_ratio(con, dataset, month, limit)
        for dataset in sorted(DATASETS_BY_NAME)
        for *_, within_limit in fetch_rows(con, check, {**params, "dataset": dataset})
        if not within_limit
    ]


def _grouped_sql(ds: Dataset) -> str:
    """Quarantined rows per (reason, rule), the commonest first, with the first example.

    Each record is read back into its typed columns (json_transform) so the rule that
    made a row ``bad_value`` is found by the same predicates as at ingest, first match.
    """
    structure = json.dumps({c: STORAGE_TYPES[t] for c, t in ds.columns.items()})
    return f"""
        SELECT _reason, _rule, count(*) AS rows_,
               first(_file ORDER BY _file, _row), first(_row ORDER BY _file, _row),
               first(_record ORDER BY _file, _row)
        FROM (
            SELECT _reason, _file, _row, _record,
                   CASE WHEN _reason = 'bad_value' THEN {_bad_value_rule(ds)}
                        WHEN _reason = 'null_key' THEN {_null_key_rule(ds)} END AS _rule
            FROM (
                SELECT reason AS _reason, source_file AS _file, source_row AS _row,
                       record AS _record, unnest(json_transform(record, '{structure}'))
                FROM raw.quarantine WHERE dataset = $dataset AND month = $month
            )
        )
        GROUP BY ALL
        ORDER BY rows_ DESC, _reason, _rule
    """


def _bad_value_rule(ds: Dataset) -> str:
    """CASE naming the first bad_value rule a row breaks, in the ingest's order."""
    branches = [f"WHEN {c} IS NULL THEN '{c}'" for c in ds.columns if c not in ds.key]
    for column, allowed in ds.enums.items():
        values = ", ".join(f"'{v}'" for v in allowed)
        branches.append(f"WHEN {column} NOT IN ({values}) THEN '{column}'")
    branches.extend(f"WHEN {p} THEN '{p}'" for p in ds.bad_value_sql)
    return f"CASE {' '.join(branches)} END"


def _null_key_rule(ds: Dataset) -> str:
    return f"CASE {' '.join(f'WHEN {k} IS NULL THEN {chr(39)}{k}{chr(39)}' for k in ds.key)} END"


def _example(ds: Dataset, reason: str, rule: str | None, record: str | None) -> dict[str, Any]:
    """The values of the example row that show why it was quarantined."""
    values = json.loads(record) if record else {}
    if rule:  # a column, or a predicate naming its columns
        columns = [c for c in ds.columns if re.search(rf"\b{c}\b", rule)]
    elif reason == "wrong_month" and ds.month_column:
        columns = [ds.month_column]
    else:
        columns = list(REASON_COLUMNS.get(reason, ds.key))
    return {c: values.get(c) for c in columns}


def _show(value: Any) -> str:
    return "empty" if value is None else repr(value)


def _percents(ratio: Fraction, limit: Fraction) -> tuple[str, str]:
    """Both as percents with the fewest decimals (two at least) that tell them apart."""
    for decimals in range(2, 9):
        shown = (_percent(ratio, decimals), _percent(limit, decimals))
        if ratio == limit or shown[0] != shown[1]:
            break
    return shown[0], _percent(limit, decimals, trim=True)


def _percent(value: Fraction, decimals: int, trim: bool = False) -> str:
    text = f"{float(value * 100):.{decimals}f}"
    if trim:
        text = text.rstrip("0").rstrip(".")
    return text + "%"
