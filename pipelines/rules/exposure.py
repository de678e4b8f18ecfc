"""Exposure weights and discrete resources: the resource tilt (spec §7)."""

from __future__ import annotations

from fractions import Fraction

import polars as pl

from pipelines.policy import Policy


def exact_weights(policy: Policy) -> dict[tuple[str, int], Fraction]:
    """raw_weight of every (tier, level) as an exact fraction:
    tier_multiplier x (1 + level_step x level)."""
    return {
        (tier, level): multiplier * (1 + policy.level_step * level)
        for tier, multiplier in policy.tier_multiplier.items()
        for level in range(len(policy.level_lower_bounds) + 1)
    }


def weight_table(policy: Policy) -> pl.DataFrame:
    """raw_weight for every (tier, level): the exact weight's nearest float."""
    rows = [(tier, level, float(w)) for (tier, level), w in exact_weights(policy).items()]
    return pl.DataFrame(
        rows, schema={"tier": pl.String, "level": pl.Int32, "weight": pl.Float64}, orient="row"
    )


def category_shares(eligible_counts: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Each eligible (main_category, tier, level)'s exposure_share, from the merchants
    counted in each: weight / category total, both exact, as the nearest float.

    The total is summed in Python fractions over the few groups (categories x tiers x
    levels), not per merchant: a sum of floats depends on the order rows are added in,
    and integer units of a common denominator overflowed 64 bits for a policy whose
    multipliers have many decimals (1.3333333333333333 blocked every month on wrapped
    shares; found in review, 2026-12-06). Equal inputs give bit-identical shares.
    """
    weights = exact_weights(policy)
    groups = eligible_counts.select("main_category", "tier", "level", "merchants").rows()
    totals: dict[str, Fraction] = {}
    for category, tier, level, merchants in groups:
        totals[category] = totals.get(category, Fraction(0)) + merchants * weights[tier, level]
    shares = [
        (
            category,
            tier,
            level,
            float(weights[tier, level] / totals[category]) if totals[category] else 0.0,
        )
        for category, tier, level, _ in groups
    ]
    return pl.DataFrame(
        shares,
        schema={
            "main_category": eligible_counts.schema["main_category"],
            "tier": eligible_counts.schema["tier"],
            "level": eligible_counts.schema["level"],
            "exposure_share": pl.Float64,
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
            pl.when(pl.col("eligible")).then(pl.col("weight")).otherwise(0.0).alias("raw_weight")
        )
        .collect()  # once: the shares' group counts and the result both read it
        .lazy()
    )
    eligible_counts = (
        weighted.filter("eligible")
        .group_by("main_category", "tier", "level")
        .agg(pl.len().alias("merchants"))
        .collect()
    )
    weighted = weighted.join(
        category_shares(eligible_counts, policy).lazy(),
        on=["main_category", "tier", "level"],
        how="left",
        nulls_equal=True,
    )
    eligible = pl.col("eligible")
    return weighted.select(
        "merchant_id",
        "main_category",
        "tier",
        "level",
        "eligible",
        "raw_weight",
        pl.when(eligible).then(pl.col("exposure_share")).otherwise(0.0).alias("exposure_share"),
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
