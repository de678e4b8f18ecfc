"""The quarantine classification (spec §1) as one portable query, written in DuckDB SQL.

DuckDB's ingest (pipelines/ingest/classify.py) is tuned for one machine: hashes, temp
tables, an UPDATE for in-month duplicates. This is the same classification as a single
statement of joins and window functions, which sqlglot transpiles for Spark, with the
row rules taken from the same place (``row_reason_sql``): the reasons, their order and
the key rules are defined once. tests/test_spark_classify.py runs it on DuckDB too and
compares it with the tuned ingest, row for row.

Input: a view ``_stage`` of typed rows with ``_file`` (the file's number in the sorted
list) and ``_row``. Output: one row per distinct staged row with ``_copies`` (how many
exact copies collapsed into it, the first in file order kept), the order columns it
copies (``_<column>``) and ``_reason`` (NULL: accepted; ``earlier_copy``: the same row
an earlier month accepted, counted as a copy).
"""

from __future__ import annotations

from pipelines.datasets import Dataset
from pipelines.ingest.classify import null_key_sql, row_reason_sql


def classification_sql(ds: Dataset) -> str:
    """The classification of ``_stage`` for ``ds`` (parameters: $month, $month_start,
    $cutoff), reading ``raw.*`` for earlier months, merchants and orders."""
    cols = list(ds.columns)
    col_list = ", ".join(cols)
    b_cols = ", ".join(f"b.{c}" for c in cols)
    key_list = ", ".join(ds.key)
    row_reason = row_reason_sql(ds, null_key_sql(ds))
    joins, reference, extras = [], [], []
    if ds.checks_merchant:
        joins.append(
            "LEFT JOIN (SELECT DISTINCT merchant_id, TRUE AS _known FROM raw.merchants "
            "WHERE month <= $month) m ON m.merchant_id = b.merchant_id"
        )
        reference.append("WHEN m._known IS NULL THEN 'unknown_merchant'")
    if ds.checks_order:
        order_cols = ["order_id", "merchant_id", "status", *ds.copied_from_order.values()]
        joins.append(
            f"LEFT JOIN (SELECT {', '.join(dict.fromkeys(order_cols))} FROM raw.orders "
            "WHERE month <= $month) o ON o.order_id = b.order_id"
        )
        reference.append(
            "WHEN o.order_id IS NULL OR o.merchant_id <> b.merchant_id THEN 'unknown_order'"
        )
        if ds.requires_completed_order:
            reference.append("WHEN o.status <> 'completed' THEN 'order_not_completed'")
        extras = [f"o.{src} AS _{dst}" for dst, src in ds.copied_from_order.items()]
    earlier_reasons = ""
    seen = "FALSE"
    differs = "FALSE"
    if ds.key_unique_across_months:
        same_key = " AND ".join(f"e.{k} = b.{k}" for k in ds.key)
        joins.append(
            f"LEFT JOIN (SELECT {col_list}, TRUE AS _seen FROM raw.{ds.name} "
            f"WHERE month < $month) e ON {same_key}"
        )
        seen = "coalesce(e._seen, FALSE)"
        differs = " OR ".join(f"b.{c} IS DISTINCT FROM e.{c}" for c in cols)
        earlier_reasons = (
            "WHEN _seen AND _differs THEN 'duplicate_key' WHEN _seen THEN 'earlier_copy'"
        )
    ref_reason = " ".join(["WHEN b._row_reason IS NOT NULL THEN b._row_reason", *reference])
    extra_cols = "".join(f", {e}" for e in extras)
    extra_names = "".join(f", _{dst}" for dst in ds.copied_from_order)
    return f"""
WITH numbered AS (
    SELECT {col_list}, _file, _row,
           row_number() OVER (PARTITION BY {col_list} ORDER BY _file, _row) AS _copy_no,
           count(*) OVER (PARTITION BY {col_list}) AS _copies
    FROM _stage
),
base AS (
    SELECT {col_list}, _file, _row, _copies, CASE {row_reason} END AS _row_reason
    FROM numbered WHERE _copy_no = 1
),
checked AS (
    SELECT {b_cols}, b._file, b._row, b._copies{extra_cols},
           CASE {ref_reason} END AS _ref_reason,
           {seen} AS _seen, ({differs}) AS _differs
    FROM base b {" ".join(joins)}
),
keyed AS (
    SELECT *, sum(CASE WHEN _ref_reason IS NULL THEN 1 ELSE 0 END)
                  OVER (PARTITION BY {key_list}) AS _valid_holders
    FROM checked
)
SELECT {col_list}, _file, _row, _copies{extra_names},
       CASE WHEN _ref_reason IS NOT NULL THEN _ref_reason
            WHEN _valid_holders > 1 THEN 'duplicate_key'
            {earlier_reasons} END AS _reason
FROM keyed
"""
