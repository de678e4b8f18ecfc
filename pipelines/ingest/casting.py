"""Cast a landing column to the contract's type, in SQL, exactly.

Text is trimmed and parsed with fixed patterns (no locale, no guessing); a decimal is
kept as written or refused, never rounded; a value that cannot be cast is reported, not
nulled, so the month stops with the file, column and row (see ``reading``).
"""

from __future__ import annotations

import re

from pipelines.datasets import STORAGE_TYPES

INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
# Integer types a BIGINT holds every value of: their cast to it cannot fail. A UBIGINT,
# HUGEINT or UHUGEINT value past 2**63 - 1 is a value that cannot be cast, named by its
# row (a plain CAST stopped the file on DuckDB's error, which names no row).
BIGINT_HOLDS = INTEGER_TYPES - {"UBIGINT", "HUGEINT", "UHUGEINT"}
DECIMAL_TYPE = STORAGE_TYPES["decimal"]
DECIMAL_PRECISION, DECIMAL_SCALE = map(
    int, re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", DECIMAL_TYPE).groups()
)
# A number as written in plain or exponent notation, nothing else (no '_', no tab).
PLAIN_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
# A date alone, as both engines' casts read it alike (see _text_date).
DATE_TEXT = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
# A text timestamp as spec §1 writes it: ISO 8601 with `Z`, no offset or a numeric offset
# (±hh, ±hhmm, ±hh:mm, up to ±18:00) after the seconds, or " UTC". DuckDB's cast alone
# also takes zone names (`Asia/Shanghai`, `EST`, `UTC+8` with POSIX's inverted sign) and
# applies offsets out of range (`+99:00` moved a time by 99 hours, `+08:75` by 8h75m):
# those are cast errors, naming the file, column and row. The forms allowed are the ones
# DuckDB and Spark both read, as the same instant (tests/test_spark_engine.py).
ISO_TIMESTAMP = DATE_TEXT + (
    r"([T ]([01]?[0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]+)?(Z| UTC|[+-](0[0-9]|1[0-7])(:?[0-5][0-9])?|[+-]18(:?00)?)?)?)?"
)
# ISO 8601 also writes a time to the minute with a zone (`2026-01-10T12:00Z`,
# `...T14:00+02:00`). DuckDB reads it; Spark's cast reads a zone only after seconds, so
# both engines read such a text with ":00" put in after the minutes (_iso_instant). Only
# the zero-padded layout, whose minutes end at character 16.
MINUTE_ZONED_TIMESTAMP = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(Z| UTC|[+-](0[0-9]|1[0-7])(:?[0-5][0-9])?|[+-]18(:?00)?)"
)


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def cast_expr(col: str, source_type: str, logical: str) -> tuple[str, str]:
    """SQL turning a source column into the contract type, and the cast-failure predicate
    (``FALSE`` when the cast cannot fail).

    One rule for CSV text and Parquet alike: surrounding spaces are not part of a value
    (text is trimmed, as typed values are), a blank value is a missing value, not a cast
    failure, an integer is a whole number (4, 4.0; 4.5 is refused, never rounded), and a
    decimal is stored only when exact (see _exact_decimal).
    """
    source_type = source_type.upper()
    is_text = source_type == "VARCHAR"
    text = f"trim(CAST({col} AS VARCHAR), ' ')"
    if logical == "str":
        if is_text:
            return _trimmed_text(col), "FALSE"
        expr = f"CAST({col} AS VARCHAR)"
    elif logical == "int":
        if source_type in BIGINT_HOLDS:
            expr = f"CAST({col} AS BIGINT)"
        elif source_type in INTEGER_TYPES:
            expr = f"TRY_CAST({col} AS BIGINT)"
        elif source_type.startswith(("DECIMAL", "DOUBLE", "FLOAT")):
            # A whole number by its remainder: sqlglot writes DuckDB's trunc() for Spark as
            # a CAST to BIGINT, which overflowed past 2**63 under ANSI mode (found 2026-12-06)
            expr = f"CASE WHEN {col} % 1 = 0 THEN TRY_CAST({col} AS BIGINT) END"
        else:  # a whole number, its fraction (if written) all zeros, as a DOUBLE 4.0 is;
            # the digits before the point are cast: Spark's cast of '4.0' to BIGINT is NULL
            # where DuckDB's is 4, and the Spark engine refused the value (found by an audit)
            expr = (
                f"CASE WHEN regexp_full_match({text}, '[+-]?[0-9]+(\\.0*)?') "
                f"THEN TRY_CAST(split_part({text}, '.', 1) AS BIGINT) END"
            )
    elif logical == "decimal":
        if source_type in INTEGER_TYPES or _decimal_fits(source_type):
            expr = f"TRY_CAST({col} AS {DECIMAL_TYPE})"
        else:  # text, and floats and decimals finer than the storage scale, as written
            expr = _exact_decimal(col if is_text else f"CAST({col} AS VARCHAR)")
    elif logical == "bool":
        expr = col if source_type == "BOOLEAN" else _text_boolean(text)
    elif logical == "timestamp":
        # An instant with a zone becomes naive UTC through its epoch microseconds, which
        # is exact and skips the calendar work of a cast to TIMESTAMP (5x cheaper).
        if source_type == "TIMESTAMP":
            expr = col
        elif source_type.startswith("TIMESTAMP"):
            expr = _microsecond_timestamp(col, source_type)
        elif source_type == "DATE":
            expr = f"CAST({col} AS TIMESTAMP)"
        else:
            expr = _iso_instant(text, "make_timestamp(epoch_us(TRY_CAST({} AS TIMESTAMPTZ)))")
    elif logical == "date":
        if source_type == "DATE":
            expr = col
        elif source_type.startswith("TIMESTAMP"):
            expr = f"CAST({_microsecond_timestamp(col, source_type)} AS DATE)"
        else:
            expr = _text_date(text)
    else:  # pragma: no cover - the dataset table only uses the types above
        raise ValueError(f"unknown logical type {logical}")
    if not is_text and _cast_cannot_fail(source_type, logical):
        return expr, "FALSE"
    failed = f"({col} IS NOT NULL AND ({expr}) IS NULL"
    failed += f" AND {text} <> '')" if is_text else ")"
    return expr, failed


def _microsecond_timestamp(col: str, source_type: str) -> str:
    """SQL: a typed timestamp as naive UTC microseconds, the finer digits cut off as the
    text cast cuts them. DuckDB's cast of a nanosecond timestamp rounds instead: the
    last nanosecond of January became February's first instant (``wrong_month``)."""
    if source_type.endswith("_NS"):  # TIMESTAMP_NS, TIMESTAMPTZ_NS
        return f"make_timestamp(epoch_us(CAST({col} AS TIMESTAMP_NS)))"
    if source_type == "TIMESTAMP WITH TIME ZONE":
        # Through its epoch microseconds: exact, and 5x cheaper than a cast's calendar work.
        return f"make_timestamp(epoch_us({col}))"
    return f"CAST({col} AS TIMESTAMP)"  # TIMESTAMP_S, TIMESTAMP_MS: exact


def _text_date(text: str) -> str:
    """SQL: the day a text date names. A date alone is that day; a date with a time and
    an offset is an instant, and its day is the UTC day (as a Parquet TIMESTAMPTZ's is):
    DuckDB's date cast would drop the offset and keep the local day.

    A date alone must be year-month-day in digits: Spark's cast also reads '2026' and
    '2026-01' (as the 1st) and skips control characters around the value, DuckDB's reads
    '2026/01/05'; the pattern keeps both engines to the one form."""
    return (
        f"CASE WHEN strlen({text}) <= 10 THEN CASE WHEN regexp_full_match({text}, "
        f"'{DATE_TEXT}') THEN TRY_CAST({text} AS DATE) END "
        f"ELSE {_iso_instant(text, 'CAST(TRY_CAST({} AS TIMESTAMPTZ) AS DATE)')} END"
    )


def _iso_instant(text: str, convert: str) -> str:
    """SQL: ``convert`` (a template whose ``{}`` takes the text) of an ISO 8601 timestamp,
    NULL for any other text: a cast error even where DuckDB's cast would read it.

    Texts matching ISO_TIMESTAMP go as written; a time to the minute with a zone
    (MINUTE_ZONED_TIMESTAMP) gets ':00' after its minutes. Its branch comes last, so the
    common texts never reach its test. Every text takes the pattern: a cheaper LIKE test
    of the common layouts (any character where a digit goes) let through texts DuckDB's
    cast reads and Spark's refuses, an hour of 24 or ' 1', a year after a tab, seconds
    '5.' (found in review, 2026-12-04); the pattern costs ~0.2 s more per 10M values."""
    with_seconds = f"substr({text}, 1, 16) || ':00' || substr({text}, 17)"
    return (
        f"CASE WHEN regexp_full_match({text}, '{ISO_TIMESTAMP}') "
        f"THEN {convert.format(text)} "
        f"WHEN regexp_full_match({text}, '{MINUTE_ZONED_TIMESTAMP}') "
        f"THEN {convert.format(with_seconds)} END"
    )


def _trimmed_text(col: str) -> str:
    """SQL: a text value without surrounding spaces, NULL when blank.

    Spaces around an id are an artefact of how a file was written (`` M123 `` is
    merchant M123), so they go before keys, copies and lookups see the value. The
    common value, with no space at either end, skips trim (LIKE on a fixed prefix or
    suffix is the cheapest test: 3M values 0.13 s, against 0.33 s for trimming all).
    """
    return (
        f"CASE WHEN {col} LIKE ' %' OR {col} LIKE '% ' OR {col} = '' "
        f"THEN nullif(trim({col}, ' '), '') ELSE {col} END"
    )


def _decimal_fits(source_type: str) -> bool:
    """True for a DECIMAL type whose every value the storage decimal holds exactly."""
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", source_type)
    if not decimal:
        return False
    precision, scale = int(decimal[1]), int(decimal[2])
    return scale <= DECIMAL_SCALE and precision - scale <= DECIMAL_PRECISION - DECIMAL_SCALE


def _exact_decimal(value: str) -> str:
    """SQL: the number the text ``value`` writes as the storage decimal, NULL (a cast
    error) when it is not a number or has a non-zero digit past the storage scale.

    DuckDB's cast rounds such a digit away (4.99999999999 becomes 5.0000000000, which
    then earns credit under the $5 rule), so an amount the warehouse cannot hold exactly
    is refused, never rounded. A DOUBLE or FLOAT is read as the shortest decimal that
    is that same float (DuckDB's text of it: 4.99, not 4.9900000000000002131...), a
    DECIMAL as its exact digits. Nearly every value is short, without exponent, and
    goes straight to the cast (which ignores surrounding spaces); the others are
    measured, trimmed: the significant decimals, less any exponent, must fit the scale.
    """
    scale = DECIMAL_SCALE
    point = f"instr({value}, '.')"
    # DuckDB's cast reads '_' between digits (4_99 as 499): such a text is measured,
    # and refused by PLAIN_NUMBER, as the integer rule refuses 1_0.
    short = (
        f"NOT contains({value}, 'e') AND NOT contains({value}, 'E') AND NOT contains("
        f"{value}, '_') AND (strlen({value}) <= {scale + 1} OR {point} = 0 OR "
        f"strlen({value}) - {point} <= {scale})"
    )
    text = f"trim({value}, ' ')"
    decimals = f"length(regexp_extract({text}, '\\.([0-9]*?)0*([eE]|$)', 1))"
    exponent = f"coalesce(TRY_CAST(regexp_extract({text}, '[eE]([+-]?[0-9]+)$', 1) AS INTEGER), 0)"
    # Measured only when written plainly: DuckDB's cast also skips tabs and line breaks
    # around a number and reads '_' between digits, which the measure would miss, and
    # then it rounds (4.9999999999999999999 + tab became 5).
    plain = f"regexp_full_match({text}, '{PLAIN_NUMBER}')"
    return (
        f"CASE WHEN {short} THEN TRY_CAST({value} AS {DECIMAL_TYPE}) "
        f"WHEN {plain} AND {decimals} - {exponent} <= {scale} "
        f"THEN TRY_CAST({text} AS {DECIMAL_TYPE}) END"
    )


def _cast_cannot_fail(source_type: str, logical: str) -> bool:
    """Typed sources whose every value converts (or whose conversion raises, as an integer
    overflow does, stopping the file): such a column needs no per-row failure test, and
    a Parquet file of them needs no pass over its values before it is stored."""
    return {
        "str": True,
        "int": source_type in BIGINT_HOLDS,
        "decimal": _decimal_fits(source_type)
        or source_type in INTEGER_TYPES - {"HUGEINT", "UHUGEINT"},
        "bool": source_type == "BOOLEAN",
        "timestamp": source_type.startswith("TIMESTAMP") or source_type == "DATE",
        "date": source_type.startswith("TIMESTAMP") or source_type == "DATE",
    }.get(logical, False)


def _text_boolean(text: str) -> str:
    """Text booleans, in CSV and in Parquet string columns alike: true/false in any case,
    1/0 (spec §1); anything else is a cast error."""
    return (
        f"CASE WHEN lower({text}) IN ('true', '1') THEN TRUE "
        f"WHEN lower({text}) IN ('false', '0') THEN FALSE END"
    )
