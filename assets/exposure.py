"""The resource tilt: exposure weights and the tier distribution (staged in work.*)."""

import polars as pl

from assets.ingest import raw_key
from assets.metadata import count_metadata, value_counts
from assets.staged_tables import staged_table_asset
from pipelines import grading
from pipelines.policy import Policy

exposure_weights = staged_table_asset(
    "exposure_weights",
    compute=grading.weigh_exposure,
    summarize=lambda weights, _policy: {
        "merchants": weights.height,
        "eligible": int(weights["eligible"].sum()),
        **count_metadata("eligible_tier", value_counts(weights.filter("eligible"), "tier")),
    },
    deps=["merchant_grades", "merchant_compliance", raw_key("merchants")],
    group_name="exposure",
    description="Exposure weight, share within the main category and discrete resources.",
)


def _distribution_summary(distribution: pl.DataFrame, _policy: Policy) -> dict[str, object]:
    totals = distribution.group_by("tier").agg(pl.col("merchants").sum())
    return {
        "cells": distribution.height,
        **count_metadata("tier", {t: int(n) for t, n in totals.iter_rows()}),
    }


tier_distribution = staged_table_asset(
    "tier_distribution",
    compute=grading.distribute_tiers,
    summarize=_distribution_summary,
    deps=["merchant_grades", raw_key("merchants")],
    group_name="exposure",
    description="Active merchants by main category and tier.",
)
