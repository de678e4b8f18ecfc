"""Registration and operating rules (spec §6): who may receive resources at all."""

from __future__ import annotations

import polars as pl

from pipelines.policy import Policy

VIOLATIONS = (
    "not_authenticated",
    "no_collection_account",
    "no_store",
    "individual_account_limit",
    "enterprise_account_limit",
    "banned_entity",
)


def compliance_violations(snapshot: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """One row per breach (merchant_id, violation) of the snapshot's active merchants.

    ``snapshot``: the month's merchants snapshot, every status (banned accounts matter
    for ``banned_entity``). Account limits keep the earliest registered accounts of an
    auth entity, ties broken by the smallest merchant_id.
    """
    active = snapshot.filter(pl.col("status") == "active")
    order_in_entity = (
        pl.struct("registered_at", "merchant_id")
        .rank(method="ordinal")
        .over("auth_entity_id", "account_type")
    )
    banned_entities = (
        snapshot.filter(pl.col("status") == "banned")
        .select("auth_entity_id")
        .unique()
        .with_columns(pl.lit(True).alias("entity_banned"))
    )
    flagged = (
        active.with_columns(order_in_entity.alias("account_rank"))
        .join(banned_entities, on="auth_entity_id", how="left")
        .select(
            "merchant_id",
            (~pl.col("real_name_verified")).alias("not_authenticated"),
            (~pl.col("collection_account_set")).alias("no_collection_account"),
            (pl.col("product_count") <= policy.min_product_count_exclusive).alias("no_store"),
            (
                (pl.col("account_type") == "individual")
                & (pl.col("account_rank") > policy.individual_account_limit)
            ).alias("individual_account_limit"),
            (
                (pl.col("account_type") == "enterprise")
                & (pl.col("account_rank") > policy.enterprise_account_limit)
            ).alias("enterprise_account_limit"),
            pl.col("entity_banned").fill_null(False).alias("banned_entity"),
        )
    )
    return (
        flagged.unpivot(
            index="merchant_id",
            on=list(VIOLATIONS),
            variable_name="violation",
            value_name="breached",
        )
        .filter(pl.col("breached"))
        .select("merchant_id", "violation")
        .sort("merchant_id", pl.col("violation").cast(pl.Enum(VIOLATIONS)))
    )
