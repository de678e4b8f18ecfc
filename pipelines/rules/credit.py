"""Credit points from buyer feedback, and the eleven levels (spec §3)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl

from pipelines.datasets import AMOUNT_PRECISION, AMOUNT_SCALE
from pipelines.policy import Policy

FEEDBACK_COUNT_COLUMNS = ("positive_feedback", "neutral_feedback", "negative_feedback")


def feedback_polarity(policy: Policy) -> pl.Expr:
    """+1 positive, 0 neutral, -1 negative, from the stars."""
    stars = pl.col("stars")
    return (
        pl.when(stars >= policy.positive_min_stars)
        .then(1)
        .when(stars <= policy.negative_max_stars)
        .then(-1)
        .otherwise(0)
        .cast(pl.Int8)
    )


def ten_day_period(policy: Policy) -> pl.Expr:
    """Index of the period of the month a feedback falls in (days 1-10, 11-20, 21-end)."""
    day = pl.col("feedback_at").dt.day()
    return pl.sum_horizontal(
        [(day >= start).cast(pl.Int8) for start in policy.period_start_days]
    ).cast(pl.Int8)


def min_counted_amount(policy: Policy) -> Decimal:
    """The smallest stored amount whose feedback earns credit: the policy's minimum
    rounded *up* to the amounts' 18 decimals.

    Amounts are stored with at most 18 decimals (a landing amount with a non-zero digit
    past them stops its month), while a policy number may have 19. Cast to the amounts'
    scale, a minimum of 5.0000000000000000001 rounded to 5.000000000000000000 and an
    order of exactly 5.00 earned credit (found in review, 2026-12-06). For an amount on
    the 18-decimal grid, ``amount >= minimum`` holds exactly when ``amount >=`` the
    minimum's ceiling on that grid, so both engines compare with this one value.
    """
    minimum = policy.min_order_amount_usd
    units = -(-minimum.numerator * 10**AMOUNT_SCALE // minimum.denominator)
    return Decimal(f"{units}E-{AMOUNT_SCALE}")  # from text: exact at any precision


def count_feedback_by_period(feedback: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """Counted positives, neutrals and negatives per merchant and period.

    Input columns: merchant_id, buyer_id, stars, feedback_at, order_amount_usd.
    Feedback on an order under the minimum amount earns nothing; per merchant, buyer and
    ten-day period at most one of each polarity counts. Returns merchant_id,
    period_start (the period's first day, a Date) and the three counts. As no counted
    feedback is shared between periods, counts over any set of whole periods are sums
    of these rows: each month's are stored, and a window adds up its periods.
    """
    minimum = min_counted_amount(policy)
    start_offsets = [day - 1 for day in policy.period_start_days]
    counted = (
        feedback.filter(
            pl.col("order_amount_usd").cast(pl.Decimal(AMOUNT_PRECISION, AMOUNT_SCALE))
            >= pl.lit(minimum).cast(pl.Decimal(AMOUNT_PRECISION, AMOUNT_SCALE))
        )
        .select(
            "merchant_id",
            "buyer_id",
            pl.col("feedback_at").dt.truncate("1mo").dt.date().alias("period_month"),
            ten_day_period(policy).alias("period"),
            feedback_polarity(policy).alias("polarity"),
        )
        .unique()
    )
    return (
        counted.group_by("merchant_id", "period_month", "period")
        .agg(
            (pl.col("polarity") == 1).sum().cast(pl.Int64).alias("positive_feedback"),
            (pl.col("polarity") == 0).sum().cast(pl.Int64).alias("neutral_feedback"),
            (pl.col("polarity") == -1).sum().cast(pl.Int64).alias("negative_feedback"),
        )
        .select(
            "merchant_id",
            (
                pl.col("period_month")
                + pl.duration(
                    days=pl.col("period").replace_strict(
                        list(range(1, len(start_offsets) + 1)), start_offsets, return_dtype=pl.Int64
                    )
                )
            ).alias("period_start"),
            *FEEDBACK_COUNT_COLUMNS,
        )
    )


def sum_feedback_counts(period_counts: pl.LazyFrame) -> pl.LazyFrame:
    """Per merchant: the counts of the given periods added up."""
    return period_counts.group_by("merchant_id").agg(
        pl.col(c).sum().cast(pl.Int64) for c in FEEDBACK_COUNT_COLUMNS
    )


def count_feedback(feedback: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """Counted positives, neutrals and negatives per merchant (see count_feedback_by_period)."""
    return sum_feedback_counts(count_feedback_by_period(feedback, policy))


def credit_points_earned(feedback: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """Points each merchant earned from the given feedback: positives minus negatives."""
    return points_from_counts(count_feedback(feedback, policy))


def points_from_counts(counts: pl.LazyFrame) -> pl.LazyFrame:
    """merchant_id, points: positives minus negatives of per-merchant counts."""
    return counts.select(
        "merchant_id",
        (pl.col("positive_feedback") - pl.col("negative_feedback")).alias("points"),
    )


def feedback_rule_key(policy: Policy) -> str:
    """The policy numbers count_feedback_by_period depends on, with a version of the rule.

    Stored period counts are reused only under the same key: a policy that changes
    what counts (stars, periods, minimum amount) has them counted again from raw rows.
    """
    return repr(
        (
            "feedback-periods-1",
            policy.positive_min_stars,
            policy.negative_max_stars,
            str(policy.min_order_amount_usd),
            tuple(policy.period_start_days),
        )
    )


def period_after(moment: date, policy: Policy) -> date:
    """The first day of the ten-day period after the one ``moment`` falls in."""
    later = [day for day in policy.period_start_days if day > moment.day]
    if later:
        return moment.replace(day=later[0])
    return (moment.replace(day=28) + timedelta(days=4)).replace(day=1)


def roll_credit_ledger(previous: pl.LazyFrame, earned: pl.LazyFrame) -> pl.LazyFrame:
    """Cumulative credit after a month: last month's total plus this month's points.

    ``previous``: merchant_id, credit_points. ``earned``: merchant_id, points.
    Returns merchant_id, points_delta, credit_points for every merchant with history.
    """
    return (
        previous.select("merchant_id", pl.col("credit_points").alias("before"))
        .join(
            earned.select("merchant_id", pl.col("points").alias("points_delta")),
            on="merchant_id",
            how="full",
            coalesce=True,
        )
        .select(
            "merchant_id",
            pl.col("points_delta").fill_null(0).cast(pl.Int64),
            (pl.col("before").fill_null(0) + pl.col("points_delta").fill_null(0))
            .cast(pl.Int64)
            .alias("credit_points"),
        )
    )


def level_expr(policy: Policy, points: str = "credit_points") -> pl.Expr:
    """L0-L10: the number of level lower bounds the points reach (negative: L0)."""
    return pl.sum_horizontal(
        [(pl.col(points) >= bound).cast(pl.Int32) for bound in policy.level_lower_bounds]
    ).cast(pl.Int32)


def assign_levels(frame: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """Add ``level`` from ``credit_points``."""
    return frame.with_columns(level_expr(policy).alias("level"))
