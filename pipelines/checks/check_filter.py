"""The rows of a check batch that could fail, so that GE need not see the rest.

GE validates a batch in pandas, about a second per million rows once the rows are
streamed out of DuckDB; at 10 million orders the checks took ~13 s of a run. Nearly
every row passes every expectation. For the expectations whose pass condition is plain
SQL (a value present, in a set, between bounds; one column greater than or equal to
another), DuckDB keeps only the rows that do not certainly pass, and GE validates those.
Every row left out passes every expectation of the batch, so GE finds exactly the
unexpected rows, counts and samples it would find in the whole batch; the batch's row
count is taken apart and reported as each expectation's element count.

The condition errs one way only: a row it cannot vouch for (a NULL, a NaN, an infinite
time) goes to GE, which applies its own rules. A batch holding any expectation or
argument not listed here (``mostly``, ``row_condition``, uniqueness, ...), a column of a
type pandas and DuckDB compare differently (INTERVAL, lists), a bound float64 cannot
hold exactly, or a connection whose strings do not compare byte by byte, is streamed
whole, as before.

A DECIMAL column reaches GE as DuckDB's DOUBLE of it (``ge_columns_sql``), so its bounds
are GE's comparisons of that DOUBLE. That cast costs ~0.25 us a value for a
DECIMAL(38,18) (2.5 s of a 10M-order check), so the condition first compares the decimal
itself with the bound moved inwards by a margin no conversion error reaches, which
vouches for nearly every value, and casts only the values near a bound.

tests/test_validation.py checks that each bad batch comes out the same either way;
tests/test_check_filter.py does so on awkward values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import Any

import duckdb

from pipelines.datasets import AMOUNT_PRECISION, AMOUNT_SCALE, STORAGE_TYPES

# Types whose values DuckDB and pandas (after Arrow) compare alike, and DECIMAL, which GE
# sees as DOUBLE (ge_columns_sql). Not INTERVAL, LIST or STRUCT (DuckDB's equality is not
# Python's).
INTEGER_TYPE = re.compile(r"^U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?$")
FLOAT_TYPE = re.compile(r"^(FLOAT|DOUBLE)$")
DECIMAL_TYPE = re.compile(r"^DECIMAL\(\d+,\s*\d+\)$")
# A decimal this far inside a bound (relative to the bound, at least 1e-9 absolute) is on
# the same side of it as DuckDB's DOUBLE of it: the cast errs by ~1e-16 of the value.
DECIMAL_MARGIN = Decimal("1e-9")
# The decimal comparison is made for the type amounts are stored as only, with a moved
# bound that type holds: another scale, or a bound beyond it, would make DuckDB cast the
# column or the bound to a decimal that may overflow (an error, not a verdict).
STORED_DECIMAL = STORAGE_TYPES["decimal"]
DECIMAL_PLACES = Decimal(1).scaleb(-AMOUNT_SCALE)
STORED_DECIMAL_LIMIT = Decimal(10) ** (AMOUNT_PRECISION - AMOUNT_SCALE)
TIME_TYPE = re.compile(r"^(DATE|TIMESTAMP|TIMESTAMP WITH TIME ZONE|TIMESTAMP_(S|MS|NS))$")
OTHER_COMPARABLE_TYPES = {"VARCHAR", "BOOLEAN"}
# Integers beyond 2^53 lose precision in pandas' float64 (an integer column with a NULL).
EXACT_FLOAT_LIMIT = 2**53


@dataclass
class _Condition:
    """SQL true for the rows that certainly pass; the values it names travel as parameters."""

    types: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)

    def value(self, value: Any) -> str:
        name = f"expected_{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def present(self, column: str) -> str | None:
        """Not NULL and, in a float column, not NaN (pandas counts NaN as missing); a
        date or time also finite (pandas cannot hold infinity: GE must see it fail).
        None for a column absent (GE reports it) or of a type not compared alike."""
        kind = self.types.get(column, "")
        quoted = _quoted(column)
        sql = f"{quoted} IS NOT NULL"
        if FLOAT_TYPE.match(kind):
            return f"{sql} AND NOT isnan({quoted})"
        if TIME_TYPE.match(kind):
            return f"{sql} AND isfinite({quoted})"
        if INTEGER_TYPE.match(kind) or DECIMAL_TYPE.match(kind) or kind in OTHER_COMPARABLE_TYPES:
            return sql  # a decimal has no NaN: its DOUBLE is never one
        return None

    def decimal(self, column: str) -> bool:
        return bool(DECIMAL_TYPE.match(self.types.get(column, "")))

    def numeric(self, column: str) -> bool:
        kind = self.types.get(column, "")
        return bool(INTEGER_TYPE.match(kind) or FLOAT_TYPE.match(kind))


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _not_null(c: _Condition, column: str) -> str | None:
    return c.present(column)


def _in_set(c: _Condition, column: str, value_set: list[Any]) -> str | None:
    present = c.present(column)
    if present is None or not isinstance(value_set, list):
        return None
    if not value_set:
        return "FALSE"
    # Strings and booleans only: numbers would meet DuckDB's casts, not pandas' equality.
    for kind, python_type in (("VARCHAR", str), ("BOOLEAN", bool)):
        if c.types[column] == kind and all(isinstance(v, python_type) for v in value_set):
            return f"{present} AND list_contains({c.value(value_set)}, {_quoted(column)})"
    return None


def _between(
    c: _Condition,
    column: str,
    min_value: Any = None,
    max_value: Any = None,
    strict_min: bool = False,
    strict_max: bool = False,
) -> str | None:
    present = c.present(column)
    bounds = [b for b in (min_value, max_value) if b is not None]
    if present is None or not bounds or not (c.numeric(column) or c.decimal(column)):
        return None
    if not all(_exact_number(b) for b in bounds) or not _flags(strict_min, strict_max):
        return None
    value = _quoted(column)
    if c.decimal(column):  # GE compares DuckDB's DOUBLE of it
        value = f"CAST({value} AS DOUBLE)"
    parts = []
    if min_value is not None:
        parts.append(f"{value} {'>' if strict_min else '>='} {c.value(min_value)}")
    if max_value is not None:
        parts.append(f"{value} {'<' if strict_max else '<='} {c.value(max_value)}")
    within = " AND ".join(parts)
    inside = _well_inside(c, column, min_value, max_value)
    if inside is not None:
        within = f"CASE WHEN {inside} THEN TRUE ELSE {within} END"
    return f"{present} AND {within}"


def _well_inside(c: _Condition, column: str, min_value: Any, max_value: Any) -> str | None:
    """SQL: the decimal lies inside the bounds by more than DECIMAL_MARGIN, compared as a
    decimal (cheap); its DOUBLE then certainly passes, strict bounds too. CASE evaluates
    the DOUBLE comparison only for the other rows (an OR inside the condition would not).
    None (every row's DOUBLE is compared) for a column not of STORED_DECIMAL, or a bound
    it cannot hold."""
    if c.types.get(column, "").replace(" ", "") != STORED_DECIMAL:
        return None
    parts = []
    for bound, operator, inward in ((min_value, ">=", 1), (max_value, "<=", -1)):
        if bound is not None:
            with localcontext() as exact_arithmetic:
                exact_arithmetic.prec = 80  # a float's exact value to 18 places, unrounded
                exact = Decimal(bound)
                moved = exact + inward * max(abs(exact), Decimal(1)) * DECIMAL_MARGIN
                # to 18 places, further inwards: it binds as a DECIMAL, not a DOUBLE
                moved = moved.quantize(DECIMAL_PLACES, ROUND_CEILING if inward > 0 else ROUND_FLOOR)
            if abs(moved) >= STORED_DECIMAL_LIMIT:
                return None
            parts.append(f"{_quoted(column)} {operator} {c.value(moved)}")
    return " AND ".join(parts)


def _pair(c: _Condition, column_a: str, column_b: str, operator: str) -> str | None:
    present = [c.present(column_a), c.present(column_b)]
    if None in present:
        return None
    kinds = (c.types[column_a], c.types[column_b])
    if kinds[0] != kinds[1] and not (c.numeric(column_a) and c.numeric(column_b)):
        return None
    if c.decimal(column_a) or c.decimal(column_b):  # two decimals' DOUBLEs may tie
        return None
    return f"{' AND '.join(present)} AND {_quoted(column_a)} {operator} {_quoted(column_b)}"


def _greater(c: _Condition, column_A: str, column_B: str, or_equal: bool = False) -> str | None:  # noqa: N803
    if not _flags(or_equal):
        return None
    return _pair(c, column_A, column_B, ">=" if or_equal else ">")


def _exact_number(value: Any) -> bool:
    """A finite int or float that float64 holds exactly enough to compare alike."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and abs(value) < EXACT_FLOAT_LIMIT


def _flags(*flags: Any) -> bool:
    """GE reads its flags by truth only when they are real booleans (a string "false"
    is true here but false to GE)."""
    return all(isinstance(flag, bool) for flag in flags)


def _equal(c: _Condition, column_A: str, column_B: str) -> str | None:  # noqa: N803
    return _pair(c, column_A, column_B, "=")


PASS_CONDITIONS: dict[str, Callable[..., str | None]] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_be_between": _between,
    "expect_column_pair_values_a_to_be_greater_than_b": _greater,
    "expect_column_pair_values_to_be_equal": _equal,
}


def ge_columns_sql(types: dict[str, str]) -> str:
    """The select list GE's rows come through: each DECIMAL column as DuckDB's DOUBLE of
    it (what GE compared before decimals were filtered as decimals), the rest as they are.
    Applied after the suspect filter, so only the rows it selects are cast."""
    doubles = [
        f"CAST({_quoted(name)} AS DOUBLE) AS {_quoted(name)}"
        for name, kind in types.items()
        if DECIMAL_TYPE.match(kind)
    ]
    return f"* REPLACE ({', '.join(doubles)})" if doubles else "*"


def column_types(relation: duckdb.DuckDBPyRelation) -> dict[str, str]:
    """A query's columns and their DuckDB types, as suspect_filter takes them."""
    return {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}


def suspect_filter(
    expectations: list[dict[str, Any]],
    expectation_params: dict[str, Any],
    types: dict[str, str],
) -> tuple[str, dict[str, Any]] | None:
    """A WHERE condition selecting the batch rows that could fail any of ``expectations``,
    with its parameters; None when one of them has no SQL pass condition here."""
    condition = _Condition(types)
    passes = []
    for expectation in expectations:
        build = PASS_CONDITIONS.get(expectation["type"])
        kwargs = {
            name: _resolved(value, expectation_params)
            for name, value in (expectation.get("kwargs") or {}).items()
        }
        if build is None or any(v is _UNRESOLVED for v in kwargs.values()):
            return None
        try:
            sql = build(condition, **kwargs)
        except TypeError:  # an argument the builder does not know, e.g. mostly
            return None
        if sql is None:
            return None
        passes.append(f"({sql})")
    if not passes:
        return None
    return f"NOT coalesce({' AND '.join(passes)}, FALSE)", condition.params


_UNRESOLVED = object()


def _resolved(value: Any, expectation_params: dict[str, Any]) -> Any:
    """A suite's {"$PARAMETER": name} as its value (GE's own substitution)."""
    if isinstance(value, dict) and set(value) == {"$PARAMETER"}:
        return expectation_params.get(value["$PARAMETER"], _UNRESOLVED)
    return value
