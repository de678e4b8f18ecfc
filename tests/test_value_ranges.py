"""Ranges of a column's values split rows into parts; every row must land in exactly one."""

from __future__ import annotations

import itertools

import duckdb
import pytest

from pipelines.value_ranges import in_range_sql, range_params, value_ranges
from pipelines.warehouse import bound_params, fetch_rows

# 1,000 rows over 38 merchants, one holding half of them, and 5 rows without a merchant.
ROWS_SQL = (
    "SELECT CASE WHEN i < 500 THEN 'M0500' WHEN i < 995 THEN printf('M%04d', i % 37) END "
    "AS merchant_id, i FROM range(1000) t(i) WHERE i >= $first"
)
PARAMS = {"first": 0}


@pytest.fixture()
def con():
    con = duckdb.connect()
    yield con
    con.close()


def parts_of_rows(con, ranges, with_null: bool) -> list[list[int]]:
    """The row numbers each range keeps, selected as the passes select them."""
    parts = []
    for lo, hi in ranges:
        sql = (
            f"SELECT i FROM ({ROWS_SQL}) "
            f"WHERE {in_range_sql('merchant_id', lo, hi, with_null)} ORDER BY i"
        )
        parts.append(
            [
                i
                for (i,) in fetch_rows(
                    con, sql, bound_params(sql, {**PARAMS, **range_params(lo, hi)})
                )
            ]
        )
    return parts


@pytest.mark.parametrize("parts", [2, 3, 7, 40, 5000])
def test_every_row_lands_in_exactly_one_range(con, parts) -> None:
    ranges = value_ranges(con, ROWS_SQL, "merchant_id", parts, PARAMS)
    assert 2 <= len(ranges) <= min(parts, 38 + 1)  # 38 merchants: at most 38 bounds
    assert ranges[0][0] is None and ranges[-1][1] is None
    assert all(hi == next_lo for (_, hi), (next_lo, _) in itertools.pairwise(ranges))
    split = parts_of_rows(con, ranges, with_null=True)
    kept = sorted(i for part in split for i in part)
    assert kept == list(range(1000))  # none lost, none twice (the merchantless in the first)
    assert set(range(995, 1000)) <= set(split[0])
    without_null = sorted(i for part in parts_of_rows(con, ranges, False) for i in part)
    assert without_null == list(range(995))


def test_a_merchant_is_never_split_and_a_bound_starts_its_range(con) -> None:
    ranges = value_ranges(con, ROWS_SQL, "merchant_id", 7, PARAMS)
    merchants_by_part = []
    for lo, hi in ranges:
        sql = (
            f"SELECT DISTINCT merchant_id FROM ({ROWS_SQL}) "
            f"WHERE {in_range_sql('merchant_id', lo, hi)}"
        )
        found = {
            m
            for (m,) in fetch_rows(con, sql, bound_params(sql, {**PARAMS, **range_params(lo, hi)}))
        }
        merchants_by_part.append(found)
        if lo is not None:
            assert lo in found  # [lo, hi): a bound is a merchant of the range it opens
    assert sum(len(m) for m in merchants_by_part) == len(set().union(*merchants_by_part)) == 38


def test_one_part_or_no_values_is_one_open_range(con) -> None:
    assert value_ranges(con, ROWS_SQL, "merchant_id", 1, PARAMS) == [(None, None)]
    assert value_ranges(con, ROWS_SQL, "merchant_id", 0, PARAMS) == [(None, None)]
    assert value_ranges(con, ROWS_SQL, "merchant_id", 4, {"first": 995}) == [(None, None)]
    assert in_range_sql("merchant_id", None, None, with_null=True) == "TRUE"
