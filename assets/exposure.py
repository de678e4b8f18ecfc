"""The resource tilt: exposure weights and the tier distribution (staged in work.*)."""

import dagster as dg
import polars as pl

from assets.checks import run_suite_check, suite_check_spec
from assets.ingest import raw_key
from assets.metadata import count_metadata, markdown_preview, value_counts
from assets.partitions import monthly_partitions
from assets.resources import GradingSettings, WarehouseResource
from pipelines import grading


@dg.asset(
    partitions_def=monthly_partitions,
    deps=["merchant_grades", "merchant_compliance", raw_key("merchants")],
    group_name="exposure",
    kinds={"duckdb", "polars"},
    check_specs=[suite_check_spec("exposure_weights", "outputs/exposure_weights")],
    description="Exposure weight, share within the main category and discrete resources.",
)
def exposure_weights(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: GradingSettings
) -> dg.MaterializeResult:
    with warehouse.month_writer(context) as con:
        weights = grading.weigh_exposure(
            con, context.partition_key, settings.policy_for(context.partition_key)
        )
        check = run_suite_check(context, con, settings, "outputs/exposure_weights")
    eligible = weights.filter("eligible")
    return dg.MaterializeResult(
        check_results=[check],
        metadata={
            "merchants": weights.height,
            "eligible": eligible.height,
            **count_metadata("eligible_tier", value_counts(eligible, "tier")),
            "preview": markdown_preview(weights),
        },
    )


@dg.asset(
    partitions_def=monthly_partitions,
    deps=["merchant_grades", raw_key("merchants")],
    group_name="exposure",
    kinds={"duckdb", "polars"},
    check_specs=[suite_check_spec("tier_distribution", "outputs/tier_distribution")],
    description="Active merchants by main category and tier.",
)
def tier_distribution(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: GradingSettings
) -> dg.MaterializeResult:
    with warehouse.month_writer(context) as con:
        distribution = grading.distribute_tiers(
            con, context.partition_key, settings.policy_for(context.partition_key)
        )
        check = run_suite_check(context, con, settings, "outputs/tier_distribution")
    totals = distribution.group_by("tier").agg(pl.col("merchants").sum())
    return dg.MaterializeResult(
        check_results=[check],
        metadata={
            "cells": distribution.height,
            **count_metadata("tier", {t: int(n) for t, n in totals.iter_rows()}),
            "preview": markdown_preview(distribution),
        },
    )
