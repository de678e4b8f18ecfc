"""The check prefilter never hides a failing row from Great Expectations.

A table of awkward values (NULLs, NaN, values on and beside each bound, pairs equal and
out of order) is validated by GE three ways: whole, only the rows the filter selects,
and only the rows it leaves out. The selected rows must give GE's unexpected counts for
the whole table, and the rows left out must pass every expectation.
"""

from __future__ import annotations

import duckdb
import pytest

from pipelines.checks.check_filter import column_types, ge_columns_sql, suspect_filter
from pipelines.checks.validation import _binary_collation, validate_frame

PARAMS = {"top": 10, "names": ["a", "b"]}
EXPECTATIONS = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "name"}},
    {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "name", "value_set": {"$PARAMETER": "names"}},
    },
    {
        "type": "expect_column_values_to_be_between",
        "kwargs": {
            "column": "x",
            "min_value": 0,
            "max_value": {"$PARAMETER": "top"},
            "strict_max": True,
        },
    },
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "y", "min_value": 1}},
    {
        "type": "expect_column_pair_values_a_to_be_greater_than_b",
        "kwargs": {"column_A": "x", "column_B": "y", "or_equal": True},
    },
    {
        "type": "expect_column_pair_values_a_to_be_greater_than_b",
        "kwargs": {"column_A": "ended", "column_B": "created"},
    },
    {
        "type": "expect_column_pair_values_to_be_equal",
        "kwargs": {"column_A": "flag", "column_B": "expected_flag"},
    },
    {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "flag", "value_set": [True]},
    },
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "y"}},
]
AWKWARD_ROWS = """
SELECT * FROM
    (VALUES ('a'), ('b'), ('c'), (''), (NULL)) n(name),
    (VALUES (-1.0), (0.0), (9.5), (10.0), (NULL), ('nan'::DOUBLE)) x(x),
    (VALUES (0.5), (1.0), (NULL), ('nan'::DOUBLE)) y(y),
    (VALUES (TIMESTAMP '2026-03-01 10:00:00'), (NULL)) c(created),
    (VALUES (TIMESTAMP '2026-03-01 10:00:00'), (TIMESTAMP '2026-03-02 00:00:00'), (NULL))
        e(ended),
    (VALUES (true, true), (false, false), (true, false), (NULL, true), (NULL, NULL))
        f(flag, expected_flag),
    (VALUES (1, 1), (2, 1)) l(level, expected_level)
"""


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE awkward AS {AWKWARD_ROWS}")
    yield con
    con.close()


def unexpected(outcomes) -> list[tuple[bool, int]]:
    return [(o.success, o.unexpected_count, o.error) for o in outcomes]


def frame(con, sql: str, params: dict | None = None):
    """Rows as the checks hand them to GE: through Arrow, then pandas."""
    return con.sql(sql, params=params or {}).to_arrow_table().to_pandas()


def test_selected_rows_hold_every_unexpected_row_and_the_rest_pass(con):
    condition, params = suspect_filter(EXPECTATIONS, PARAMS, column_types(con.table("awkward")))
    whole = frame(con, "SELECT * FROM awkward")
    selected = frame(con, f"SELECT * FROM awkward WHERE {condition}", params)
    left_out = frame(con, f"SELECT * FROM awkward WHERE NOT ({condition})", params)
    assert len(selected) + len(left_out) == len(whole) == 5 * 6 * 4 * 2 * 3 * 5 * 2
    assert 0 < len(left_out) < len(whole)  # the filter does leave rows out

    whole_outcomes = validate_frame(EXPECTATIONS, whole, PARAMS)
    assert not any(o.success for o in whole_outcomes)  # each expectation meets a bad row
    assert unexpected(validate_frame(EXPECTATIONS, selected, PARAMS)) == unexpected(whole_outcomes)
    assert all(
        o.success and not o.unexpected_count for o in validate_frame(EXPECTATIONS, left_out, PARAMS)
    )


@pytest.mark.parametrize(
    ("value", "selected"),
    [(0, False), (9.999, False), (10, True), (-0.001, True), (None, True), ("nan", True)],
)
def test_bounds_are_exact_and_strict_where_the_suite_says(con, value, selected):
    between = EXPECTATIONS[2]
    condition, params = suspect_filter([between], PARAMS, {"x": "DOUBLE"})
    row = con.sql(
        f"SELECT CAST($v AS DOUBLE) AS x WHERE {condition}", params={**params, "v": value}
    )
    assert (len(row.fetchall()) == 1) is selected


def expect(kind: str, **kwargs) -> dict:
    return {"type": f"expect_{kind}", "kwargs": kwargs}


@pytest.mark.parametrize(
    ("expectation", "types"),
    [
        (expect("column_values_to_be_between", column="x", min_value=0, mostly=0.9),
         {"x": "DOUBLE"}),
        (expect("column_values_to_be_in_set", column="n", value_set=[0],
                row_condition="eligible == False", condition_parser="pandas"),
         {"n": "INTEGER"}),
        (expect("compound_columns_to_be_unique", column_list=["a", "b"]),
         {"a": "VARCHAR", "b": "VARCHAR"}),
        (expect("column_values_to_be_between", column="x", min_value={"$PARAMETER": "nowhere"}),
         {"x": "DOUBLE"}),
        (expect("column_values_to_be_between", column="x", min_value="2026-03-01"),
         {"x": "VARCHAR"}),
        (expect("column_values_to_be_between", column="x"), {"x": "DOUBLE"}),
        (expect("column_values_to_be_in_set", column="n", value_set=[0, 1]), {"n": "INTEGER"}),
        (expect("column_values_to_not_be_null", column="absent"), {"x": "DOUBLE"}),
        (expect("column_pair_values_to_be_equal", column_A="a", column_B="b"),
         {"a": "VARCHAR", "b": "INTEGER"}),
        # values pandas and DuckDB compare differently
        (expect("column_pair_values_a_to_be_greater_than_b", column_A="a", column_B="b"),
         {"a": "DECIMAL(38,18)", "b": "DECIMAL(38,18)"}),
        (expect("column_values_to_be_in_set", column="d", value_set=[1]),
         {"d": "DECIMAL(18,2)"}),
        (expect("column_pair_values_to_be_equal", column_A="a", column_B="b"),
         {"a": "INTERVAL", "b": "INTERVAL"}),
        (expect("column_pair_values_to_be_equal", column_A="a", column_B="b"),
         {"a": "INTEGER[]", "b": "INTEGER[]"}),
        (expect("column_values_to_be_between", column="x", max_value=float("nan")),
         {"x": "DOUBLE"}),
        (expect("column_values_to_be_between", column="n", min_value=2**53 + 1),
         {"n": "BIGINT"}),
        (expect("column_pair_values_a_to_be_greater_than_b", column_A="a", column_B="b",
                or_equal="false"),
         {"a": "BIGINT", "b": "BIGINT"}),
    ],
)  # fmt: skip
def test_a_batch_with_any_expectation_it_cannot_express_is_validated_whole(expectation, types):
    not_null = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}}
    assert suspect_filter([not_null], PARAMS, {"x": "DOUBLE"}) is not None
    assert suspect_filter([not_null, expectation], PARAMS, {**types, "x": "DOUBLE"}) is None


def test_an_empty_value_set_selects_every_row():
    in_nothing = {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "n", "value_set": []},
    }
    condition, params = suspect_filter([in_nothing], PARAMS, {"n": "VARCHAR"})
    rows = duckdb.sql(f"SELECT * FROM (VALUES ('a'), (NULL)) t(n) WHERE {condition}", params=params)
    assert len(rows.fetchall()) == 2


def test_an_infinite_time_goes_to_ge():
    """pandas cannot hold an infinite timestamp: GE must meet it and fail, not miss it."""
    later = expect("column_pair_values_a_to_be_greater_than_b", column_A="e", column_B="c")
    condition, params = suspect_filter([later], PARAMS, {"e": "TIMESTAMP", "c": "TIMESTAMP"})
    rows = duckdb.sql(
        "SELECT * FROM (VALUES ('infinity'::TIMESTAMP, TIMESTAMP '2026-03-01'), "
        f"(TIMESTAMP '2026-03-02', TIMESTAMP '2026-03-01')) t(e, c) WHERE {condition}",
        params=params,
    )
    assert len(rows.fetchall()) == 1


def test_no_filter_when_strings_do_not_compare_byte_by_byte(con):
    assert _binary_collation(con)
    con.execute("SET default_collation = 'nocase'")
    try:
        assert not _binary_collation(con)
    finally:
        con.execute("RESET default_collation")


# Decimals on and a hair beside each bound, below and above what a DOUBLE tells apart.
DECIMAL_EXPECTATIONS = [
    expect("column_values_to_be_between", column="d", min_value=0),
    expect("column_values_to_be_between", column="e", min_value=0.1, max_value=5, strict_max=True),
    expect("column_values_to_be_between", column="big", min_value=-3, max_value=2400),
]
DECIMAL_ROWS = """
SELECT CAST(d AS DECIMAL(38,18)) AS d, CAST(e AS DECIMAL(38,18)) AS e,
       CAST(big AS DECIMAL(38,18)) AS big
FROM (VALUES ('-0.000000000000000001'), ('0'), ('0.000000000000000001'), ('0.0000000001'),
             ('0.000000001'), ('5'), (NULL)) d(d),
     (VALUES ('0.099999999999999999'), ('0.1'), ('0.100000000000000001'), ('0.1000000011'),
             ('4.999999999999999999'), ('4.99999999'), ('5'), ('5.000000000000000001')) e(e),
     (VALUES ('-3.000000000000000001'), ('-3'), ('2400'), ('2400.000000000000000001'),
             ('99999999999999999999.999999999999999999'), ('-2.999999999')) b(big)
"""


def test_decimals_are_judged_as_the_doubles_ge_sees_and_cast_only_near_a_bound():
    """GE compares DuckDB's DOUBLE of a decimal; the filter compares the decimal first,
    with its bound moved inwards, so it must never leave out a row whose DOUBLE fails."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE decimals AS {DECIMAL_ROWS}")
    types = column_types(con.table("decimals"))
    condition, params = suspect_filter(DECIMAL_EXPECTATIONS, PARAMS, types)
    as_ge = f"SELECT {ge_columns_sql(types)} FROM decimals"
    whole = frame(con, as_ge)
    selected = frame(con, f"{as_ge} WHERE {condition}", params)
    left_out = frame(con, f"{as_ge} WHERE NOT ({condition})", params)
    assert str(whole.dtypes["e"]) == "float64"  # GE meets doubles, not Decimal objects
    assert len(selected) + len(left_out) == len(whole) == 7 * 8 * 6
    assert 0 < len(left_out) < len(whole)

    whole_outcomes = validate_frame(DECIMAL_EXPECTATIONS, whole, PARAMS)
    assert not any(o.success for o in whole_outcomes)
    selected_outcomes = validate_frame(DECIMAL_EXPECTATIONS, selected, PARAMS)
    assert unexpected(selected_outcomes) == unexpected(whole_outcomes)
    assert all(
        o.success and not o.unexpected_count
        for o in validate_frame(DECIMAL_EXPECTATIONS, left_out, PARAMS)
    )
    # 0.099999999999999999 is below 0.1 as a decimal, but its DOUBLE is 0.1: GE passes it,
    # and so does the filter; -0.000000000000000001 fails as its DOUBLE does.
    near = con.execute(
        f"SELECT count(*) FROM decimals WHERE e = 0.099999999999999999 AND NOT ({condition})",
        params,
    ).fetchone()[0]
    assert near > 0
    assert con.execute(
        f"SELECT bool_and({condition}) FROM decimals WHERE d < 0", params
    ).fetchone()[0]


@pytest.mark.parametrize(
    ("column_type", "values", "bounds"),
    [
        # bounds of 1e10 and more: the moved bound needs more than 28 digits to 18 places
        ("DECIMAL(38,18)", ["-9999999999.5", "-9999999999", "0", "1e12", "1000000000000.01"],
         {"min_value": -9999999999.0, "max_value": 1e12}),
        ("DECIMAL(38,18)", ["4503599627370495.5", "4503599627370495.6", "4503599627370497", "1"],
         {"max_value": 4503599627370495.5}),
        # other decimal types: compared as DOUBLEs only (a DECIMAL(38,18) bound would
        # overflow them, or they it)
        ("DECIMAL(38,2)", ["100000000000000000000", "-0.01", "0"], {"min_value": 0}),
        ("DECIMAL(38,30)", ["1", "99999999.5", "-1"], {"min_value": 0, "max_value": 1e9}),
    ],
)  # fmt: skip
def test_large_bounds_and_other_decimal_types_keep_ge_s_verdict(column_type, values, bounds):
    """The filter's decimal shortcut is taken only where it is exact: a large bound or a
    decimal of another scale gets a condition that runs, and hides no failing row."""
    con = duckdb.connect()
    rows = ", ".join([*(f"('{v}')" for v in values), "(NULL)"])
    con.execute(
        f"CREATE TABLE decimals AS SELECT CAST(d AS {column_type}) AS d FROM (VALUES {rows}) t(d)"
    )
    expectations = [expect("column_values_to_be_between", column="d", **bounds)]
    types = column_types(con.table("decimals"))
    condition, params = suspect_filter(expectations, {}, types)
    # the decimal comparison is still made for the stored type, whatever the bound
    assert ("CASE WHEN" in condition) == (column_type == "DECIMAL(38,18)")
    as_ge = f"SELECT {ge_columns_sql(types)} FROM decimals"
    whole = frame(con, as_ge)
    selected = frame(con, f"{as_ge} WHERE {condition}", params)
    left_out = frame(con, f"{as_ge} WHERE NOT ({condition})", params)
    whole_outcomes = validate_frame(expectations, whole)
    assert not whole_outcomes[0].success  # each case has a failing row
    assert unexpected(validate_frame(expectations, selected)) == unexpected(whole_outcomes)
    assert len(left_out) > 0
    assert validate_frame(expectations, left_out)[0].unexpected_count == 0
