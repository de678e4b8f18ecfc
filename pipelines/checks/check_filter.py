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
type pandas and DuckDB compare differently (DECIMAL, INTERVAL, lists), a bound float64
cannot hold exactly, or a connection whose strings do not compare byte by byte, is
streamed whole, as before. tests/test_validation.py checks that each bad batch comes out
the same either way; tests/test_check_filter.py does so on awkward values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

# Types whose values DuckDB and pandas (after Arrow) compare alike. Not DECIMAL (pandas
# holds Decimal objects and compares them with floats exactly, DuckDB through DOUBLE),
# not INTERVAL, LIST or STRUCT (DuckDB's equality is not Python's).
INTEGER_TYPE = re.compile(r"^U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?$")
FLOAT_TYPE = re.compile(r"^(FLOAT|DOUBLE)$")
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
        if INTEGER_TYPE.match(kind) or kind in OTHER_COMPARABLE_TYPES:
            return sql
        return None

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
    if present is None or not bounds or not c.numeric(column):
        return None
    if not all(_exact_number(b) for b in bounds) or not _flags(strict_min, strict_max):
        return None
    parts = [present]
    if min_value is not None:
        parts.append(f"{_quoted(column)} {'>' if strict_min else '>='} {c.value(min_value)}")
    if max_value is not None:
        parts.append(f"{_quoted(column)} {'<' if strict_max else '<='} {c.value(max_value)}")
    return " AND ".join(parts)


def _pair(c: _Condition, column_a: str, column_b: str, operator: str) -> str | None:
    present = [c.present(column_a), c.present(column_b)]
    if None in present:
        return None
    kinds = (c.types[column_a], c.types[column_b])
    if kinds[0] != kinds[1] and not (c.numeric(column_a) and c.numeric(column_b)):
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
