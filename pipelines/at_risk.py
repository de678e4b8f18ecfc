"""Merchants at risk: projected below the tier they hold now (issue 19 §4, spec §11).

One pure polars function, ``at_risk_merchants``, used by every caller (``grading
preview``, the ``at_risk_merchants`` Dagster asset, the dashboard through the stored
``preview.at_risk`` table), so they cannot disagree on who is at risk or by how much.

A merchant is at risk when the tier of its projection (a preview as of a day of the
running month) is below the tier of its latest published grade. The deciding metrics
are the conditions of that published tier the projection misses, decided exactly by
``pipelines.rules.tiers.tier_conditions`` (integer cross-multiplication).

The distances are exact integers from the policy's fractions p/q, with the assessed
orders d fixed (bad records land on orders already assessed):

- the bad orders at which n/d stops being below p/q: the smallest n with n·q ≥ p·d,
  which is ``(p·d − 1) // q + 1``;
- ``*_to_cross``: how many more bad orders (disputes) would reach it, while below;
- ``*_to_recover``: how many fewer would get back below it, once reached (null when
  none would: a limit of 0).
"""

from __future__ import annotations

import polars as pl

from pipelines.policy import Policy, decimal_text
from pipelines.rules.tiers import tier_conditions, wide

# The columns of the at-risk list, in order (preview.at_risk, the exports, the page).
AT_RISK_COLUMNS = (
    "month",
    "merchant_id",
    "main_category",
    "published_month",
    "published_tier",
    "projected_tier",
    "provisional",
    "deciding_metrics",
    "deciding",
    "assessed_orders",
    "bad_orders",
    "bad_order_limit",
    "bad_orders_to_cross",
    "bad_orders_to_recover",
    "seller_dispute_orders",
    "dispute_limit",
    "disputes_to_cross",
    "disputes_to_recover",
    "policy_version",
)
# (metric, numerator count, column prefix of its distances, column of its limit)
COUNTED_LIMITS = (
    ("bad_order_rate", "bad_orders", "bad_orders", "bad_order_limit"),
    ("seller_dispute_rate", "seller_dispute_orders", "disputes", "dispute_limit"),
)


def at_risk_merchants(
    projected: pl.LazyFrame, published: pl.LazyFrame, policy: Policy
) -> pl.LazyFrame:
    """The projected merchants whose projected tier is below their published tier.

    ``projected``: one row per merchant of the previewed month with ``month``,
    ``merchant_id``, ``main_category``, ``tier``, ``provisional`` and the window counts
    the tier rules read (``pipelines.rules.metrics.window_metrics``, with
    ``rated_feedback``). ``published``: ``merchant_id``, ``month`` and ``tier`` of the
    latest published grade each merchant is compared with. Merchants on one side only
    are not at risk (new, or no longer graded). A tier the policy does not name (a
    month graded under another policy) is not compared.
    """
    rank = {tier: index for index, tier in enumerate(policy.tier_names)}
    compared = projected.join(
        published.select(
            "merchant_id",
            pl.col("month").alias("published_month"),
            pl.col("tier").alias("published_tier"),
        ),
        on="merchant_id",
        how="inner",
    ).rename({"tier": "projected_tier"})
    falling = compared.filter(
        pl.col("projected_tier").replace_strict(rank, default=None, return_dtype=pl.Int64)
        > pl.col("published_tier").replace_strict(rank, default=None, return_dtype=pl.Int64)
    )
    return (
        falling.with_columns(
            _missed(policy, "metric").alias("deciding_metrics"),
            _missed(policy, "text").alias("deciding"),
            *_limits_and_distances(policy),
            pl.lit(policy.version).alias("policy_version"),
        )
        .select(AT_RISK_COLUMNS)
        .sort("merchant_id")
    )


def _missed(policy: Policy, what: str) -> pl.Expr:
    """The published tier's conditions the projection misses: metric names or texts.

    A provisional projection (too few assessed orders to be assessed) says so first.
    """
    provisional = pl.when(pl.col("provisional")).then(
        pl.lit("assessed_orders")
        if what == "metric"
        else pl.format(
            "provisional: {} assessed orders, fewer than the {} needed to be assessed",
            pl.col("assessed_orders"),
            pl.lit(policy.provisional_min_assessed_orders),
        )
    )
    missed = [
        pl.when((pl.col("published_tier") == rule.name) & ~condition.holds).then(
            pl.lit(condition.metric) if what == "metric" else condition.missed
        )
        for rule in policy.tiers
        for condition in tier_conditions(rule, policy)
    ]
    found = pl.concat_list([provisional, *missed]).list.drop_nulls()
    return found.list.unique(maintain_order=True) if what == "metric" else found


def _limits_and_distances(policy: Policy) -> list[pl.Expr]:
    """Per counted metric: the published tier's limit (as text) and the two distances."""
    columns: list[pl.Expr] = []
    for metric, count, prefix, limit_column in COUNTED_LIMITS:
        bounds = {r.name: r.max_rates[metric] for r in policy.tiers if metric in r.max_rates}
        # In 128-bit integers: p and q may be up to 10**19 (pipelines.rules.tiers.wide).
        numerator = _by_tier({t: b.numerator for t, b in bounds.items()}, pl.Int128)
        denominator = _by_tier({t: b.denominator for t, b in bounds.items()}, pl.Int128)
        # The smallest count n with n·q ≥ p·d: where n/d stops being below the limit.
        reached_at = ((numerator * wide("assessed_orders") - 1) // denominator + 1).cast(pl.Int64)
        assessed = pl.col("assessed_orders") > 0
        columns += [
            _by_tier({t: decimal_text(b) for t, b in bounds.items()}, pl.String).alias(
                limit_column
            ),
            pl.when(assessed & (pl.col(count) < reached_at))
            .then(reached_at - pl.col(count))
            .alias(f"{prefix}_to_cross"),
            pl.when(assessed & (pl.col(count) >= reached_at) & (reached_at > 0))
            .then(pl.col(count) - reached_at + 1)
            .alias(f"{prefix}_to_recover"),
        ]
    return columns


def _by_tier(values: dict[str, object], dtype: pl.DataType = pl.Int64) -> pl.Expr:
    """The value of the merchant's published tier (null for a tier without one)."""
    return pl.col("published_tier").replace_strict(values, default=None, return_dtype=dtype)
