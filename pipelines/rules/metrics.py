"""Service metrics over the 90-day assessment window (spec §4).

Each rate is carried as an exact numerator and denominator; the float shown in the
output is derived from them, and tiers compare the integers, never the float.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.policy import Policy

SERVICE_SUM_COLUMNS = (
    "messages_received",
    "messages_replied_24h",
    "dsr_item_sum",
    "dsr_item_count",
    "shipments_due",
    "shipments_on_time",
)
# The per-merchant counts of the window, before rated_feedback is derived from them.
WINDOW_COUNT_COLUMNS = (
    "assessed_orders",
    "bad_orders",
    "seller_dispute_orders",
    "positive_feedback",
    "negative_feedback",
    *SERVICE_SUM_COLUMNS,
)
DISPUTE_REASON = "seller_responsible_dispute"


@dataclass(frozen=True)
class Ratio:
    """A metric as numerator / denominator, defined when the denominator reaches a minimum."""

    name: str
    numerator: str
    denominator: str
    min_denominator: int


def ratios(policy: Policy) -> tuple[Ratio, ...]:
    return (
        Ratio("bad_order_rate", "bad_orders", "assessed_orders", 1),
        Ratio("seller_dispute_rate", "seller_dispute_orders", "assessed_orders", 1),
        Ratio("positive_feedback_rate", "positive_feedback", "rated_feedback", 1),
        Ratio("dsr_item_avg", "dsr_item_sum", "dsr_item_count", policy.min_dsr_item_count),
        Ratio("on_time_ship_rate", "shipments_on_time", "shipments_due", policy.min_shipments_due),
        Ratio(
            "response_rate_24h",
            "messages_replied_24h",
            "messages_received",
            policy.min_messages_received,
        ),
    )


def bad_order_counts(bad_records: pl.LazyFrame) -> pl.LazyFrame:
    """Distinct assessed orders with a non-exempt record, and with a non-exempt dispute.

    Input: the bad-order records of the window's orders recorded before the cutoff
    (merchant_id, order_id, reason, exempt).
    """
    counted = bad_records.filter(~pl.col("exempt"))
    return counted.group_by("merchant_id").agg(
        pl.col("order_id").n_unique().cast(pl.Int64).alias("bad_orders"),
        pl.col("order_id")
        .filter(pl.col("reason") == DISPUTE_REASON)
        .n_unique()
        .cast(pl.Int64)
        .alias("seller_dispute_orders"),
    )


def window_metrics(
    merchants: pl.LazyFrame,
    assessed_orders: pl.LazyFrame,
    bad_records: pl.LazyFrame,
    feedback_counts: pl.LazyFrame,
    service_sums: pl.LazyFrame,
) -> pl.LazyFrame:
    """Per graded merchant: the counts behind every metric of the window, zero-filled.

    merchants: merchant_id of the graded merchants. assessed_orders: merchant_id,
    assessed_orders. service_sums: merchant_id and the sums of SERVICE_SUM_COLUMNS.
    feedback_counts: rules.credit.count_feedback of the window's feedback (the §3 rules),
    computed beforehand: in passes over groups of merchants, or from stored periods, so
    a large window never sits in memory whole.
    """
    feedback = feedback_counts.select("merchant_id", "positive_feedback", "negative_feedback")
    counts = (
        merchants.select("merchant_id")
        .join(assessed_orders, on="merchant_id", how="left")
        .join(bad_order_counts(bad_records), on="merchant_id", how="left")
        .join(feedback, on="merchant_id", how="left")
        .join(service_sums, on="merchant_id", how="left")
    )
    return counts.with_columns(
        [pl.col(c).fill_null(0).cast(pl.Int64) for c in WINDOW_COUNT_COLUMNS]
    ).with_columns(
        (pl.col("positive_feedback") + pl.col("negative_feedback")).alias("rated_feedback")
    )


def defined(ratio: Ratio) -> pl.Expr:
    return pl.col(ratio.denominator) >= max(ratio.min_denominator, 1)


# Integers up to 2**53 are floats exactly, so their quotient is the nearest float to
# the fraction; past it, each side is rounded before the division.
EXACT_FLOAT_INTEGERS = 2**53


def ratio_value(numerator: str, denominator: str) -> pl.Expr:
    """numerator / denominator as a float, never past a bound the fraction is within.

    Counts past 2**53 are rounded when made floats, so 45035996273704965 dsr stars over
    9007199254740993 items (5 each) came out 5.000000000000001, above the 5 the output
    check allows, and the month was refused (found in review, 2026-12-06). Past 2**53
    the value is the whole part, exact, plus the remainder's fraction: a whole fraction
    stays whole (5, 1), and one below a whole number never rounds above it.
    """
    n, d = pl.col(numerator), pl.col(denominator)
    whole = n // d
    split = whole.cast(pl.Float64) + (n - whole * d).cast(pl.Float64) / d.cast(pl.Float64)
    small = (n.abs() <= EXACT_FLOAT_INTEGERS) & (d <= EXACT_FLOAT_INTEGERS)
    return pl.when(small).then(n / d).otherwise(split)


def with_rates(counts: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """Add each rate as a float, null where it is not defined."""
    return counts.with_columns(
        [
            pl.when(defined(r))
            .then(ratio_value(r.numerator, r.denominator))
            .otherwise(None)
            .cast(pl.Float64)
            .alias(r.name)
            for r in ratios(policy)
        ]
    )
