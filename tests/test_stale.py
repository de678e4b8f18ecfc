"""Dagster shows months after a restated month as stale until they are graded again.

Ingest assets carry the input fingerprint as their data version, the staged tables and
the credit ledger their content, and the publication its run key: an unchanged rerun,
of a month or of one of its assets, keeps them (every month stays fresh); changed inputs
change them (later months go stale). The status comes from Dagster's own resolver, the
one behind the UI's "stale" badge.
"""

from __future__ import annotations

import shutil

import dagster as dg
from dagster._core.definitions.data_version import CachingStaleStatusResolver
from dagster._core.loader import LoadingContextForTest

from assets.definitions import ALL_ASSETS, defs
from assets.resources import GradingSettings, WarehouseResource
from tests.helpers import CONFORMANCE

MONTHS = ("2026-01", "2026-02", "2026-03")
MONTHLY_ASSETS = [a.key.to_user_string() for a in ALL_ASSETS if a.partitions_def is not None]


def statuses(instance: dg.DagsterInstance, asset: str) -> dict[str, str]:
    resolver = CachingStaleStatusResolver(
        instance, defs.resolve_asset_graph(), LoadingContextForTest(instance)
    )
    return {m: resolver.get_status(dg.AssetKey(asset), m).value for m in MONTHS}


def not_fresh(instance: dg.DagsterInstance) -> dict[str, dict[str, str]]:
    """Each monthly asset's months that Dagster does not show fresh (none materialized
    is not asked about: the at-risk preview is not part of a month's run)."""
    statuses_by_asset = {
        asset: {m: s for m, s in statuses(instance, asset).items() if s != "FRESH"}
        for asset in MONTHLY_ASSETS
        if instance.get_materialized_partitions(dg.AssetKey(asset))
    }
    return {asset: months for asset, months in statuses_by_asset.items() if months}


def test_restated_month_makes_later_months_stale(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    resources = {
        "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
        "settings": GradingSettings(landing_dir=str(landing), outputs_dir=str(tmp_path / "out")),
    }
    instance = dg.DagsterInstance.ephemeral()

    def grade(month: str) -> None:
        assert dg.materialize(
            ALL_ASSETS, partition_key=month, resources=resources, instance=instance
        ).success

    for month in MONTHS:
        grade(month)
    assert set(statuses(instance, "published_month").values()) == {"FRESH"}

    assert not_fresh(instance) == {}
    grade("2026-02")  # unchanged inputs: same data versions, nothing goes stale
    assert set(statuses(instance, "merchant_grades").values()) == {"FRESH"}
    assert set(statuses(instance, "credit_ledger").values()) == {"FRESH"}
    # ... the publication too: an unchanged regrade of February left March's stale in
    # the UI while the warehouse and `grading run` held it current (a review, 2026-12-06)
    assert not_fresh(instance) == {}
    for asset in ("merchant_grades", "merchant_compliance", "credit_ledger"):
        one_asset = [a for a in ALL_ASSETS if asset in {k.to_user_string() for k in a.keys}]
        assert dg.materialize(
            one_asset, partition_key="2026-01", resources=resources, instance=instance
        ).success
    assert not_fresh(instance) == {}  # one asset of a published month rerun unchanged

    feedback = landing / "feedback" / "month=2026-02" / "part-a.csv"
    lines = feedback.read_text().splitlines()
    fields = lines[3].split(",")
    fields[3] = "5" if fields[3] == "1" else "1"  # a buyer changes their stars
    lines[3] = ",".join(fields)
    feedback.write_text("\n".join(lines) + "\n")
    grade("2026-02")  # restated
    assert statuses(instance, "credit_ledger") == {
        "2026-01": "FRESH",
        "2026-02": "FRESH",
        "2026-03": "STALE",
    }
    assert statuses(instance, "merchant_grades")["2026-03"] == "STALE"
    assert statuses(instance, "published_month")["2026-03"] == "STALE"

    grade("2026-03")
    assert not_fresh(instance) == {}
