"""What the generated files hold, taken from the contract (pipelines/datasets.py, spec §1).

The generator declares no column of its own: the column lists, their order, their logical
types and the enum labels all come from ``DATASETS``, so a change to the contract changes the
generated files with it. Only two things are the generator's own choices:
- amounts travel as integer cents (column ``amount_cents``) so that they stay exact; they become
  ``decimal128(12, 2)`` in Parquet and "12.34" text in CSV;
- CSV files list the columns in reverse order, so that readers must go by header name.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from pipelines.datasets import DATASETS, DATASETS_BY_NAME, Dataset

DATASET_NAMES: tuple[str, ...] = tuple(d.name for d in DATASETS)

US = 1_000_000  # microseconds per second
DAY_S = 86_400
DAY_US = DAY_S * US

TS = pl.Datetime("us", "UTC")
TS_ARROW = pa.timestamp("us", tz="UTC")
AMOUNT_ARROW = pa.decimal128(12, 2)  # two decimals: what a shop system exports
# The contract's one decimal column (orders.amount_usd); it fails loudly here if a second one
# appears. Frames carry it as integer cents under another name, so the two are never confused.
(AMOUNT_COLUMN,) = {c for d in DATASETS for c, kind in d.columns.items() if kind == "decimal"}
CENTS_COLUMN = "amount_cents"

# Contract type -> (polars type of the generator's frames, Arrow type of the Parquet files).
_TYPES: dict[str, tuple[pl.DataType, pa.DataType]] = {
    "str": (pl.String(), pa.string()),
    "bool": (pl.Boolean(), pa.bool_()),
    "int": (pl.Int64(), pa.int64()),
    "decimal": (pl.Int64(), AMOUNT_ARROW),  # integer cents in frames
    "timestamp": (TS, TS_ARROW),
    "date": (pl.Date(), pa.date32()),
}


def _frame_schema(dataset: Dataset) -> dict[str, pl.DataType]:
    """The polars schema of a dataset's frames: the contract's columns, amounts as cents."""
    return {
        CENTS_COLUMN if kind == "decimal" else column: _TYPES[kind][0]
        for column, kind in dataset.columns.items()
    }


def _parquet_schema(dataset: Dataset) -> pa.Schema:
    """The Arrow schema of a dataset's Parquet files, in the column order of the contract."""
    return pa.schema([(column, _TYPES[kind][1]) for column, kind in dataset.columns.items()])


# Internal (polars) schemas, amounts as integer cents.
FRAME_SCHEMAS: dict[str, dict[str, pl.DataType]] = {d.name: _frame_schema(d) for d in DATASETS}
# Parquet schemas, in the column order of spec §1.
SCHEMAS: dict[str, pa.Schema] = {d.name: _parquet_schema(d) for d in DATASETS}
# CSV files list the columns in reverse order: readers must go by header name, not position.
CSV_COLUMNS: dict[str, list[str]] = {name: schema.names[::-1] for name, schema in SCHEMAS.items()}


def labels(dataset: str, column: str) -> tuple[str, ...]:
    """The contract's labels of an enum column; the generator draws codes into this tuple."""
    return DATASETS_BY_NAME[dataset].enums[column]


ACCOUNT_TYPES = labels("merchants", "account_type")
SALES_PLANS = labels("merchants", "sales_plan")
STORE_TYPES = labels("merchants", "store_type")
MERCHANT_STATUSES = labels("merchants", "status")
ORDER_STATUSES = labels("orders", "status")
REASONS = labels("bad_orders", "reason")

# Codes into the label tuples above, looked up by label so they follow the contract's order.
ACTIVE, SUSPENDED, BANNED, TERMINATED = (
    MERCHANT_STATUSES.index(s) for s in ("active", "suspended", "banned", "terminated")
)
COMPLETED, CANCELLED, REFUNDED = (
    ORDER_STATUSES.index(s) for s in ("completed", "cancelled", "refunded")
)
