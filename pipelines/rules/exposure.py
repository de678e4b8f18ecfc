"""Exposure weights and discrete resources: the resource tilt (spec §7)."""

from __future__ import annotations

import math

import polars as pl

from pipelines.policy import Policy


def weight_table(policy: Policy) -> pl.DataFrame:
    """raw_weight for every (tier, level), exact, also as an integer count of a common unit.

    Summing the integer units makes a category's total exact and independent of the
    order rows are added in, so a rerun gives bit-identical shares.
    """
    exact = {
        (tier, level): multiplier * (1 + policy.level_step * level)
        for tier, multiplier in policy.tier_multiplier.items()
        for level in range(len(policy.level_lower_bounds) + 1)
    }
    unit = math.lcm(*(w.denominator for w in exact.values()))
    rows = [(tier, level, float(w), int(w * unit)) for (tier, level), w in exact.items()]
    return pl.DataFrame(
        rows,
        schema={
            "tier": pl.String,
            "level": pl.Int32,
            "weight": pl.Float64,
            "weight_units": pl.Int64,
        },
        orient="row",
    )


def resource_table(policy: Policy) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tier": list(policy.tier_names),
            "tier_showcase_slots": [policy.showcase_slots[t] for t in policy.tier_names],
            "tier_promotion_eligible": [policy.promotion_eligible[t] for t in policy.tier_names],
            "tier_email_quota": [policy.email_quota[t] for t in policy.tier_names],
        },
        schema_overrides={"tier_showcase_slots": pl.Int32, "tier_email_quota": pl.Int32},
    )


def exposure_weights(
    grades: pl.LazyFrame, violations: pl.LazyFrame, policy: Policy
) -> pl.LazyFrame:
    """Per graded merchant: eligibility, raw weight, share within its category, resources.

    grades: merchant_id, main_category, tier, level. violations: merchant_id, violation.
    A merchant with any violation gets weight 0 and no resources.
    """
    breached = (
        violations.select("merchant_id").unique().with_columns(pl.lit(True).alias("breached"))
    )
    weighted = (
        grades.join(breached, on="merchant_id", how="left")
        .with_columns(pl.col("breached").is_null().alias("eligible"))
        .join(weight_table(policy).lazy(), on=["tier", "level"], how="left")
        .join(resource_table(policy).lazy(), on="tier", how="left")
        .with_columns(
            pl.when(pl.col("eligible")).then(pl.col("weight")).otherwise(0.0).alias("raw_weight"),
            pl.when(pl.col("eligible")).then(pl.col("weight_units")).otherwise(0).alias("units"),
        )
    )
    # Each category's total joined on, not broadcast with .over(): polars divides a column
    # by a broadcast value as a product with its reciprocal, 1 ulp off the fraction
    # (500/2010 came out 0.24875621890547261, not ...264); a division of two columns is
    # the nearest float to the exact share, as the integer units make it.
    totals = weighted.group_by("main_category").agg(pl.col("units").sum().alias("category_total"))
    weighted = weighted.join(totals, on="main_category", how="left")
    category_total = pl.col("category_total")
    eligible = pl.col("eligible")
    return weighted.select(
        "merchant_id",
        "main_category",
        "tier",
        "level",
        "eligible",
        "raw_weight",
        pl.when(category_total > 0)
        .then(pl.col("units") / category_total)
        .otherwise(0.0)
        .alias("exposure_share"),
        pl.when(eligible)
        .then(pl.col("tier_showcase_slots"))
        .otherwise(0)
        .cast(pl.Int32)
        .alias("showcase_slots"),
        (eligible & pl.col("tier_promotion_eligible")).alias("promotion_eligible"),
        pl.when(eligible)
        .then(pl.col("tier_email_quota"))
        .otherwise(0)
        .cast(pl.Int32)
        .alias("email_quota"),
    )


def tier_distribution(grades: pl.LazyFrame) -> pl.LazyFrame:
    """Count of graded merchants by main category and tier (empty cells left out)."""
    return (
        grades.group_by("main_category", "tier")
        .agg(pl.len().cast(pl.Int64).alias("merchants"))
        .sort("main_category", "tier")
    )
