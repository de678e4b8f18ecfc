"""The dashboard's plain numbers: tier segments, compliance, exposure and data quality.

Why a module of its own: these sections answer "how many, and how bad" with tables an
analyst can sort, next to the charts of pipelines.reporting.dashboard_data. They follow its layout:
aggregates come from DuckDB (sql/dashboard/*.sql), arrive long and are scattered into
dense arrays indexed [month][category][...], category 0 being "all categories".

A tier *segment* is a tier, or the provisional merchants of a tier (spec §4: too few
orders to be assessed, given the policy's provisional tier): "passing (provisional)" is
shown apart from "passing" in every tier chart and table.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import polars as pl

from pipelines.month_journal import as_published_sql
from pipelines.policy import Policy, PolicyError
from pipelines.reporting.dashboard_data import Axes, _query, dense
from pipelines.reporting.dashboard_metrics import RATE_METRICS, percent_text
from pipelines.reporting.summary import STALE_MONTHS_SQL
from pipelines.warehouse import fetch_rows

# How many ineligible merchants per month and main category travel to the page.
INELIGIBLE_PER_CATEGORY = 50
PROVISIONAL_SUFFIX = " (provisional)"
# Additive per-segment columns of sql/dashboard/segments.sql, as the payload names them.
RESOURCE_COLUMNS = {
    "merchants": "merchants",
    "eligible": "eligible",
    "showcase_slots": "showcaseSlots",
    "promotion_eligible": "promotionEligible",
    "email_quota": "emailQuota",
}


def segment_name(tier: str, provisional: bool) -> str:
    """'passing' or 'passing (provisional)'."""
    return tier + PROVISIONAL_SUFFIX if provisional else tier


def segment_names(tiers: list[str], policy: Policy, provisional_tiers: list[str]) -> list[str]:
    """Every tier, each followed by its provisional segment when it has one: always for the
    policy's provisional tier, and for any tier the data shows provisional merchants in."""
    with_provisional = {policy.provisional_tier, *provisional_tiers}
    names = []
    for tier in tiers:
        names.append(tier)
        if tier in with_provisional:
            names.append(segment_name(tier, True))
    return names


def section_payload(
    con: duckdb.DuckDBPyConnection,
    payload: dict,
    policy: Policy,
    month_policy: Callable[[str], Policy] | None = None,
) -> dict:
    """The payload keys of the segment charts, the pivot, compliance, exposure and data
    quality sections, on the axes of ``payload`` (``dashboard_data.build_payload``'s),
    which they are merged into. ``month_policy`` gives each month's policy (default:
    ``policy`` for every month), whose quarantine limit that month is judged by."""
    axes = Axes(payload["months"], payload["categories"], payload["tiers"])
    return {
        **segments(con, axes, policy),
        "rateMetrics": list(RATE_METRICS),
        "compliance": compliance(con, axes),
        "quality": data_quality(con, axes.months, in_force_or(month_policy, policy)),
    }


def in_force_or(
    month_policy: Callable[[str], Policy] | None, policy: Policy
) -> Callable[[str], Policy]:
    """Each month's policy by ``month_policy``, or ``policy`` for a month it has none in
    force for (a calendar given to ``grading dashboard`` that starts after the earliest
    month shown: that month is then judged as the page is, instead of no page at all)."""

    if month_policy is None:
        return lambda month: policy

    def policy_of(month: str) -> Policy:
        try:
            return month_policy(month)
        except PolicyError:
            return policy

    return policy_of


def segments(con: duckdb.DuckDBPyConnection, axes: Axes, policy: Policy) -> dict:
    """Per month, category and segment: merchants, exposure share and resources.

    ``exposure``: share of exposure held by each segment, Σ exposure_share within a
    category (sums to 1); for all categories, the segment's share of the month's total
    raw weight.
    """
    rows = _query(con, "segments", months=axes.months)
    provisional_tiers = rows.filter(pl.col("provisional"))["tier"].unique().sort().to_list()
    names = segment_names(axes.tiers, policy, provisional_tiers)
    rows = rows.with_columns(
        pl.when(pl.col("provisional"))
        .then(pl.col("tier") + PROVISIONAL_SUFFIX)
        .otherwise(pl.col("tier"))
        .alias("segment")
    )
    seg_axes = Axes(axes.months, axes.categories, names)
    indexed = seg_axes.index(rows, ("segment",))
    shape = (*axes.shape, len(names) + 1)
    index = ["m", "c", "t_segment"]
    shares = dense(indexed, index, "exposure_share", shape)
    weights = dense(indexed, index, "raw_weight", shape)[:, 0]
    totals = weights.sum(axis=-1, keepdims=True)
    shares[:, 0] = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    result: dict = {
        "segments": names,
        "segmentTiers": [axes.tiers.index(n.removesuffix(PROVISIONAL_SUFFIX)) for n in names],
        "segmentProvisional": [n.endswith(PROVISIONAL_SUFFIX) for n in names],
        "exposure": np.round(shares[..., : len(names)], 6).tolist(),
    }
    for column, key in RESOURCE_COLUMNS.items():
        array = dense(indexed, index, column, shape)[..., : len(names)]
        result["segment" + key[0].upper() + key[1:]] = array.astype(int).tolist()
    return result


def compliance(con: duckdb.DuckDBPyConnection, axes: Axes) -> dict:
    """Merchants in breach of each rule per month and category, and the ineligible
    merchants with their rules (at most INELIGIBLE_PER_CATEGORY per month and category)."""
    breaches = _query(con, "compliance_breaches", months=axes.months)
    rules = sorted(breaches["violation"].unique().to_list())
    rule_index = {r: i for i, r in enumerate(rules)}
    indexed = axes.index(breaches).with_columns(
        pl.col("violation").replace_strict(rule_index, return_dtype=pl.Int64).alias("r")
    )
    listed = axes.index(
        _query(
            con,
            "ineligible_merchants",
            months=axes.months,
            per_category=INELIGIBLE_PER_CATEGORY,
        )
    )
    by_month = listed.group_by("m").agg(
        pl.struct(
            pl.col("merchant_id").alias("id"),
            "c",
            "tier",
            pl.col("violations").list.eval(pl.element().replace_strict(rule_index)).alias("rules"),
        ).alias("merchants")
    )
    merchants: list[list[dict]] = [[] for _ in axes.months]
    for m, month_merchants in by_month.iter_rows():
        merchants[m] = month_merchants
    return {
        "rules": rules,
        "breaches": dense(indexed, ["m", "c", "r"], "merchants", (*axes.shape, len(rules)))
        .astype(int)
        .tolist(),
        "ineligible": merchants,
        "listedPerCategory": INELIGIBLE_PER_CATEGORY,
    }


def data_quality(
    con: duckdb.DuckDBPyConnection, months: list[str], month_policy: Callable[[str], Policy]
) -> dict:
    """Quarantined rows per month and dataset against the limit of that month's policy
    (a month is checked under its own: a review found every month judged by the newest
    policy's limit, 2026-12-06), the months whose latest run did not publish (blocked or
    failed), the restated months and the stale ones (``main.month_status``). The counts
    are the published ones: a run that has written a month and not published it (yet, or
    ever) has already rewritten its raw.ingest_log rows."""
    limits = [month_policy(m).max_quarantine_ratio for m in months]
    quarantine = _query(
        con,
        "quarantine_months",
        {"INGEST_LOG": as_published_sql(con, "raw.ingest_log")},
        months=months,
        limit_nums=[limit.numerator for limit in limits],
        limit_dens=[limit.denominator for limit in limits],
    ).with_columns(
        pl.col("month")
        .replace_strict(months, [percent_text(limit) for limit in limits], return_dtype=pl.String)
        .alias("limit")
    )
    unpublished = _query(con, "unpublished_months").with_columns(
        pl.col("seen_at").dt.strftime("%Y-%m-%d %H:%M UTC"),
        pl.col("published_at").dt.strftime("%Y-%m-%d %H:%M UTC"),
    )
    restated = _query(con, "restated_months").with_columns(
        pl.col("published_at").dt.strftime("%Y-%m-%d %H:%M UTC")
    )
    stale = fetch_rows(con, STALE_MONTHS_SQL)
    return {
        "stale": [month for (month,) in stale],
        "quarantine": quarantine.rename(
            {"rows_read": "read", "rows_quarantined": "quarantined", "over_limit": "over"}
        ).to_dicts(),
        "unpublished": unpublished.rename(
            {"seen_at": "seen", "published_at": "published"}
        ).to_dicts(),
        "restated": restated.rename(
            {
                "published_at": "published",
                "restatement_reason": "reason",
                "policy_version": "policy",
                "old_tier_counts": "before",
                "new_tier_counts": "after",
            }
        ).to_dicts(),
    }
