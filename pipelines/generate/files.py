"""Writing frames as landing files: typed Parquet, and CSV text spelled the way exports are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.generate.schema import (
    AMOUNT_ARROW,
    AMOUNT_COLUMN,
    CENTS_COLUMN,
    CSV_COLUMNS,
    FRAME_SCHEMAS,
    SCHEMAS,
    TS,
)

CSV_MAX_ROWS = 2_000  # the CSV file of a dataset and month stays small
CSV_SHARE = 50  # ... and holds about 1/50 of the month's rows of the first chunk
CSV_OFFSET_SHARE = 0.3  # CSV timestamps written with a +08:00 offset
CSV_NUMERIC_BOOL_SHARE = 0.4  # CSV booleans written as 1/0


def _decimal_from_cents(cents: np.ndarray) -> pa.Array:
    """Exact decimal128(12, 2) from integer cents (no float rounding on the way)."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    buffer = pa.py_buffer(words.tobytes())
    return pa.Array.from_buffers(AMOUNT_ARROW, len(cents), [None, buffer])


def write_parquet(df: pl.DataFrame, dataset: str, path: Path) -> int:
    """Write typed Parquet in the column order of spec §1; returns the row count."""
    table = df.to_arrow()
    if CENTS_COLUMN in df.columns:
        cents = df[CENTS_COLUMN].to_numpy()
        i = table.schema.get_field_index(CENTS_COLUMN)
        table = table.set_column(i, AMOUNT_COLUMN, _decimal_from_cents(cents))
    table = table.cast(SCHEMAS[dataset])
    pq.write_table(table, path, compression="zstd")
    return df.height


def _csv_text(df: pl.DataFrame, dataset: str, rng: np.random.Generator) -> pl.DataFrame:
    """Render a frame as CSV text the way exports look: mixed offsets and boolean spellings."""
    n = df.height
    flags = pl.DataFrame(
        {
            "_offset": rng.random(n) < CSV_OFFSET_SHARE,
            "_numeric": rng.random(n) < CSV_NUMERIC_BOOL_SHARE,
        }
    )
    exprs = [_csv_expr(name, dtype) for name, dtype in df.schema.items()]
    text = pl.concat([df, flags], how="horizontal").select(exprs)
    return text.select(CSV_COLUMNS[dataset])


def _csv_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == TS:
        local = (col + pl.duration(hours=8)).dt.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"
        utc = col.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return pl.when(pl.col("_offset")).then(local).otherwise(utc).alias(name)
    if dtype == pl.Boolean:
        digit = pl.when(col).then(pl.lit("1")).otherwise(pl.lit("0"))
        word = pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))
        return pl.when(pl.col("_numeric")).then(digit).otherwise(word).alias(name)
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d").alias(name)
    if name == CENTS_COLUMN:
        sign = pl.when(col < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        whole = (col.abs() // 100).cast(pl.String)
        cents = (col.abs() % 100).cast(pl.String).str.zfill(2)
        return (sign + whole + "." + cents).alias(AMOUNT_COLUMN)
    return col.cast(pl.String).alias(name)


def write_csv(
    df: pl.DataFrame, bad: pl.DataFrame, dataset: str, path: Path, rng: np.random.Generator
) -> int:
    """The small CSV file of a dataset and month: sampled clean rows with the bad rows mixed in."""
    rows = pl.concat([df, bad.cast(FRAME_SCHEMAS[dataset])])
    rows = rows[rng.permutation(rows.height)]
    _csv_text(rows, dataset, rng).write_csv(path)
    return rows.height


def csv_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    """Which rows go to the CSV file (the rest go to Parquet): about 2%, capped."""
    size = min(n, CSV_MAX_ROWS, max(5, n // CSV_SHARE))
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size, replace=False)] = True
    return mask
