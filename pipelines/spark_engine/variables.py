"""DuckDB scripts with SET VARIABLE setup statements, as one Spark SQL query.

A query tuned for DuckDB may compute a value first and read it back as a constant
(sql/checks/duplicate_keys.sql: ``SET VARIABLE month_key_range = (SELECT {lo: min(..),
hi: max(..)} ...)``, then ``getvariable('month_key_range').lo``): DuckDB prunes row
groups by a constant, not by a subquery. Spark has no session variables that sqlglot can
write, so the script keeps its one DuckDB definition and runs here in two steps: each
``SET VARIABLE``'s SELECT is transpiled and run on Spark for its one value, and the main
query is transpiled with every ``getvariable('name')`` (or its ``.field``) bound as a
literal of that value. Any other setup statement has no Spark form and is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from pipelines.spark_engine.transpile import NotTranspilable, sql_literal, to_spark
from pipelines.warehouse import statements

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Runs one Spark SQL query and returns its single value (None when it has no row).
ScalarRunner = Callable[[str], Any]


def spark_script(duckdb_script: str, params: dict[str, object], scalar: ScalarRunner) -> str:
    """A DuckDB script (setup statements, then one query) as one Spark SQL query: each
    ``SET VARIABLE`` evaluated with ``scalar`` in order, its value bound in what follows."""
    *setup, query = statements(duckdb_script)
    variables: dict[str, object] = {}
    for statement in setup:
        name, select = _set_variable(statement)
        variables[name] = scalar(to_spark(select, params, variables))
    return to_spark(query, params, variables)


def _set_variable(statement: str) -> tuple[str, str]:
    """The variable a ``SET VARIABLE name = <expression>`` statement sets, and the DuckDB
    SELECT that computes its value; any other statement is refused."""
    try:
        tree = sqlglot.parse_one(statement.rstrip(";"), read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        raise NotTranspilable(f"setup statement does not parse: {exc}") from exc
    items = tree.expressions if isinstance(tree, exp.Set) else []
    item = items[0] if len(items) == 1 else None
    assignment = item.this if item is not None else None
    if (
        item is None
        or str(item.args.get("kind") or "").upper() != "VARIABLE"
        or not isinstance(assignment, exp.EQ)
        or not isinstance(assignment.this, exp.Column)
    ):
        first_line = statement.strip().splitlines()[0]
        raise NotTranspilable(
            f"setup statement {first_line!r} has no Spark form: only "
            "SET VARIABLE name = (SELECT ...) runs on Spark"
        )
    value = assignment.expression
    select = value.this if isinstance(value, exp.Subquery) else exp.select(value)
    return assignment.this.name, select.sql(dialect="duckdb")


def bound_variable(node: exp.Expression, variables: dict[str, object]) -> exp.Expression:
    """``getvariable('name')`` as a literal of the variable's value, and
    ``getvariable('name').field`` as the literal of that field of a struct value (NULL
    when the value is NULL)."""
    if isinstance(node, exp.Dot) and _variable_name(node.this):
        value = _value(_variable_name(node.this), variables)
        field = node.expression.name
        if value is None:  # a NULL struct's fields are NULL
            return exp.Null()
        if not isinstance(value, dict) or field not in value:
            raise NotTranspilable(f"getvariable({_variable_name(node.this)!r}) has no .{field}")
        return _literal(value[field])
    name = _variable_name(node)
    return _literal(_value(name, variables)) if name else node


def _variable_name(node: exp.Expression) -> str:
    """The variable a ``getvariable('name')`` call reads; '' for any other node."""
    if not isinstance(node, exp.Anonymous) or node.name.lower() != "getvariable":
        return ""
    args = node.expressions
    if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
        raise NotTranspilable("getvariable() needs the variable's name as a literal")
    return args[0].this


def _value(name: str, variables: dict[str, object]) -> object:
    if name not in variables:
        raise NotTranspilable(f"getvariable({name!r}): no SET VARIABLE {name} before it")
    return variables[name]


def _literal(value: object) -> exp.Expression:
    """A variable's value as a DuckDB literal: NULL, a struct of literals, or a scalar."""
    if value is None:
        return exp.Null()
    if isinstance(value, dict):
        fields = [
            exp.PropertyEQ(this=exp.to_identifier(key), expression=_literal(item))
            for key, item in value.items()
        ]
        return exp.Struct(expressions=fields)
    return sql_literal(value)


def spark_scalar(spark: SparkSession) -> ScalarRunner:
    """Runs a query on ``spark`` for its one value, as DuckDB's scalar subquery gives it:
    None without a row, a struct as a dict of its fields; more than one row is an error."""

    def scalar(spark_sql: str) -> Any:
        rows = spark.sql(spark_sql).take(2)
        if len(rows) > 1 or (rows and len(rows[0]) != 1):
            raise ValueError(f"a SET VARIABLE query must give one value: {spark_sql}")
        return _plain(rows[0][0]) if rows else None

    return scalar


def _plain(value: Any) -> Any:
    """A Spark value as a Python one: a struct (Row) as a dict of its fields."""
    from pyspark.sql import Row

    if isinstance(value, Row):
        return {key: _plain(item) for key, item in value.asDict().items()}
    return value
