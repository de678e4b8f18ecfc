"""The ten-day-period feedback count as one SQL query over any feedback rows query.

``sql/grading/feedback_period_counts.sql`` holds the counting rule of spec §3 (the
polars ``count_feedback_by_period``, in SQL) and reads the relation ``feedback_rows``;
``feedback_counts_sql`` binds that relation to one of the grading's feedback queries
(``month_feedback``, ``window_feedback``, ...). So each selection and the count are each
written once, and an engine that holds the rows elsewhere (Spark) runs the whole count
there and returns per-merchant, per-period counts instead of every feedback row.
"""

from __future__ import annotations

from pipelines.policy import Policy
from pipelines.rules.credit import min_counted_amount
from pipelines.sql_files import load_sql

FEEDBACK_COUNTS_QUERY = "grading/feedback_period_counts.sql"
# The parameter naming the feedback rows query the count reads (its sql/ name).
FEEDBACK_ROWS_PARAM = "feedback_rows"


def feedback_counts_sql(rows_query: str) -> str:
    """The count query (DuckDB SQL) over the rows of ``sql/<rows_query>``."""
    rows = load_sql(rows_query).strip().rstrip(";")
    count = load_sql(FEEDBACK_COUNTS_QUERY).strip().rstrip(";")
    return f"WITH feedback_rows AS (\n{rows}\n)\n{count}"


def feedback_count_params(policy: Policy) -> dict[str, object]:
    """The policy numbers the count query uses, as its parameters.

    The minimum amount is the same Decimal the polars rule compares with, so both
    engines draw the line at the same cent.
    """
    return {
        "positive_min_stars": policy.positive_min_stars,
        "negative_max_stars": policy.negative_max_stars,
        "min_order_amount_usd": min_counted_amount(policy),
        "period_start_days": list(policy.period_start_days),
    }


def query_text(name: str, params: dict[str, object]) -> str:
    """The DuckDB SQL of ``sql/<name>``; for the count query, bound to the rows query
    named by ``params["feedback_rows"]``."""
    if name == FEEDBACK_COUNTS_QUERY:
        return feedback_counts_sql(str(params[FEEDBACK_ROWS_PARAM]))
    return load_sql(name)
