"""Tables the analyst notebooks show: readable headers, rates as percentages, no dtypes.

Why: a polars frame left as a cell's result prints its dtype row (``str``, ``f64``), the
raw column names and rates as ``0.008929``; a manager reading the notebook, or its HTML
export, has to decode that. ``show_table`` renders a frame as a plain HTML table instead
(and as aligned text where there is no HTML). Every value is formatted by polars
expressions over whole columns; only the finished row strings are joined in Python.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import polars as pl

MISSING = "–"  # an undefined value (null), e.g. a rate with too small a denominator
HEADER_WORDS = {"24h": "in 24 h", "dsr": "DSR", "id": "ID", "avg": "average"}
STYLE = (  # table.nb-table outranks the notebook's own "td: right-aligned" rules
    "<style>table.nb-table{border-collapse:collapse;margin:0.4em 0;font-size:13px}"
    "table.nb-table caption{caption-side:top;text-align:left;font-weight:bold;padding:0.3em 0}"
    "table.nb-table th{border-bottom:2px solid #555;padding:3px 10px}"
    "table.nb-table td{border-bottom:1px solid #ddd;padding:3px 10px}"
    "table.nb-table th.txt,table.nb-table td.txt{text-align:left}"
    "table.nb-table th.num,table.nb-table td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}</style>"
)


@dataclass(frozen=True)
class Table:
    """A formatted table: HTML for Jupyter and an HTML export, text for a terminal."""

    html: str
    text: str
    frame: pl.DataFrame  # the formatted cells (all strings), under the readable headers

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def readable_header(column: str) -> str:
    """``bad_order_rate`` -> ``bad order rate``, ``response_rate_24h`` -> ``response rate in
    24 h``: the column name in words."""
    return " ".join(HEADER_WORDS.get(word, word) for word in column.split("_"))


def show_table(
    frame: pl.DataFrame,
    *,
    percent: Collection[str] = (),
    headers: Mapping[str, str] | None = None,
    caption: str = "",
    digits: int = 2,
) -> Table:
    """``frame`` as a readable table: ``percent`` columns (fractions, 0.0089) as ``0.88%``
    with ``digits`` decimals, cut (``percent_text``), headers in words (``headers``
    overrides some), lists joined, booleans as yes/no, nulls as a dash. Numbers are
    right-aligned."""
    missing = [c for c in (*percent, *(headers or {})) if c not in frame.columns]
    if missing:
        raise KeyError(f"show_table: no column {missing} in {frame.columns}")
    names = {c: (headers or {}).get(c) or readable_header(c) for c in frame.columns}
    numeric = {c for c, dtype in frame.schema.items() if dtype.is_numeric()}
    cells = frame.select(
        [_formatted(c, dtype, c in percent, digits) for c, dtype in frame.schema.items()]
    ).rename(names)
    return Table(
        html=_html(cells, {names[c] for c in numeric}, caption),
        text=_text(cells, caption),
        frame=cells,
    )


def percent_text(column: str, digits: int = 1) -> pl.Expr:
    """A fraction as a percentage string, cut (towards zero), never rounded, as the
    dashboard shows rates: 0.9496 -> "94.9%", 0.00893 -> "0.8%".

    Rounded, a rate just short of a bound read as meeting it: an on-time rate of 132/139
    showed "95.0%" beside a grade that missed excellent's 95%, and a dispute rate of 1/122
    "0.8%" (found by a review, 2026-12-06). Cut, a rate shown at a bound's precision sits
    on the same side of the bound as the rate. The product is first rounded to 8 places,
    so a float just under an exact value (0.29 is 0.28999...) is not cut a unit short.
    """
    scale = 10**digits
    scaled = (pl.col(column).cast(pl.Float64) * 100 * scale).abs().round(8).floor().cast(pl.Int64)
    fraction = (scaled % scale).cast(pl.String).str.zfill(digits) if digits else pl.lit("")
    sign = pl.when((pl.col(column) < 0) & (scaled > 0)).then(pl.lit("-")).otherwise(pl.lit(""))
    point = "." if digits else ""
    return pl.concat_str(
        [sign, (scaled // scale).cast(pl.String), pl.lit(point), fraction, pl.lit("%")]
    ).alias(column)


def _formatted(column: str, dtype: pl.DataType, as_percent: bool, digits: int) -> pl.Expr:
    if as_percent:
        text = percent_text(column, digits)
    elif dtype == pl.Boolean:
        text = pl.when(pl.col(column)).then(pl.lit("yes")).otherwise(pl.lit("no"))
    elif isinstance(dtype, pl.List):
        text = pl.col(column).cast(pl.List(pl.String)).list.join("; ")
    elif dtype.is_float():
        text = pl.col(column).round(3).cast(pl.String)
    else:
        text = pl.col(column).cast(pl.String)
    return pl.when(pl.col(column).is_null()).then(pl.lit(MISSING)).otherwise(text).alias(column)


def _escaped(expr: pl.Expr) -> pl.Expr:
    return (
        expr.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all('"', "&quot;", literal=True)
    )


def _html(cells: pl.DataFrame, numeric: set[str], caption: str) -> str:
    def cell(tag: str, column: str) -> str:
        kind = "num" if column in numeric else "txt"
        return f'<{tag} class="{kind}">'

    head = "".join(
        f"{cell('th', c)}{_escape_text(c)}</th>" for c in cells.columns
    )  # header cells: one per column, not per row
    rows = cells.select(
        pl.concat_str(
            [pl.lit("<tr>")]
            + [
                pl.concat_str([pl.lit(cell("td", c)), _escaped(pl.col(c)), pl.lit("</td>")])
                for c in cells.columns
            ]
            + [pl.lit("</tr>")]
        ).alias("row")
    )["row"].str.join("")
    title = f"<caption>{_escape_text(caption)}</caption>" if caption else ""
    body = rows.item() if cells.height else ""
    return (
        f'{STYLE}<table class="nb-table">{title}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _escape_text(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _text(cells: pl.DataFrame, caption: str) -> str:
    with pl.Config(
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=-1,
        tbl_cols=-1,
        fmt_str_lengths=200,
        tbl_width_chars=200,
    ):
        table = str(cells)
    return f"{caption}\n{table}" if caption else table
