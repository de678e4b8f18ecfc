"""DuckDB SQL to Spark SQL, with sqlglot: one definition of each query, two engines.

The warehouse's queries (``sql/``) and the ingest's generated SQL are written once, in
DuckDB's dialect. The Spark engine runs them transpiled (``read="duckdb"``,
``write="spark"``), with the few DuckDB functions sqlglot passes through unchanged
mapped to their Spark equivalents here, and ``raw.<table>`` read from the lake's views.
A function neither engine shares is an error here, not a wrong answer on the cluster.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlglot
from sqlglot import exp

from pipelines.sql_files import load_sql

# DuckDB functions sqlglot leaves as they are -> the Spark function of the same meaning.
RENAMED_FUNCTIONS = {
    "strlen": "octet_length",  # bytes, as DuckDB's strlen counts them
    "epoch_us": "unix_micros",
    # A different hash function: right only where a hash is compared with hashes of the
    # same query (sql/checks/duplicate_keys.sql), never where its value is kept or shown.
    "hash": "xxhash64",
}
# Functions the Spark side cannot run: a query using one has no Spark form.
UNSUPPORTED = {"getvariable", "struct_pack", "list", "quantile_disc"}


class NotTranspilable(ValueError):
    """A DuckDB query with no faithful Spark form (names the query and what is missing)."""


def _spark_form(node: exp.Expression) -> exp.Expression:
    """One node in its Spark form: anchored regular expressions, renamed functions,
    ``raw.<table>`` as the lake view ``raw_<table>``."""
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if not isinstance(pattern, exp.Literal):
            raise NotTranspilable("regexp_full_match needs a literal pattern")
        # \z, not $: Java's $ also matches before a final line break ("5\n" is no number)
        anchored = exp.Literal.string(f"^(?:{pattern.this})\\z")
        return exp.RegexpLike(this=node.this, expression=anchored)
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)  # a DuckDB plan hint: Spark's optimizer decides
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "getvariable":
            raise NotTranspilable("getvariable() has no value: its SET VARIABLE did not run")
        if name in UNSUPPORTED:
            raise NotTranspilable(f"{name}() has no Spark form")
        if name in RENAMED_FUNCTIONS:  # its arguments too: transform does not enter a
            # node it replaced, so a regexp_full_match inside would stay DuckDB's
            arguments = [argument.transform(_spark_form) for argument in node.expressions]
            return exp.Anonymous(this=RENAMED_FUNCTIONS[name], expressions=arguments)
    if isinstance(node, exp.Table) and node.db.lower() == "raw":
        return exp.Table(this=exp.to_identifier(f"raw_{node.name}"), alias=node.args.get("alias"))
    return node


def to_spark(
    duckdb_sql: str,
    params: dict[str, object] | None = None,
    variables: dict[str, object] | None = None,
) -> str:
    """A DuckDB statement as Spark SQL, its ``$name`` parameters bound as typed literals
    from ``params`` (a datetime as a naive-UTC timestamp, as DuckDB's are), and its
    ``getvariable('name')`` as the literal value of ``variables`` (pipelines/spark_engine/
    variables.py runs the SET VARIABLE statements that give them)."""
    statements = sqlglot.parse(duckdb_sql.strip().rstrip(";"), read="duckdb")
    if len(statements) != 1 or statements[0] is None:
        raise NotTranspilable("one statement expected")
    tree = statements[0]
    if params is not None:
        tree = tree.transform(lambda node: _bound(node, params))
    if variables is not None:
        from pipelines.spark_engine.variables import bound_variable

        tree = tree.transform(lambda node: bound_variable(node, variables))
    return tree.transform(_spark_form).sql(dialect="spark")


def _bound(node: exp.Expression, params: dict[str, object]) -> exp.Expression:
    """A ``$name`` placeholder replaced by its value as a literal of its type."""
    if not isinstance(node, exp.Placeholder) or not node.name:
        return node
    if node.name not in params:
        raise NotTranspilable(f"parameter ${node.name} has no value")
    return sql_literal(params[node.name])


def sql_literal(value: object) -> exp.Expression:
    """A Python value as a DuckDB literal of its type."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, dt.datetime):
        return exp.cast(
            exp.Literal.string(value.isoformat(sep=" ")),
            exp.DataType.build("TIMESTAMP", dialect="duckdb"),
        )
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[sql_literal(item) for item in value])
    raise NotTranspilable(f"no literal for {type(value).__name__} {value!r}")


def spark_query(name: str, params: dict[str, object] | None = None, text: str | None = None) -> str:
    """``sql/<name>`` (DuckDB) as Spark SQL, its parameters bound; ``text``: the query as
    composed from that file (the feedback count over a rows query), when not the file."""
    try:
        return to_spark(load_sql(name) if text is None else text, params)
    except (NotTranspilable, sqlglot.errors.SqlglotError) as exc:
        raise NotTranspilable(f"sql/{name}: {exc}") from exc
