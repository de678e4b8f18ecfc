"""Dagster shows months after a restated month as stale until they are graded again.

Ingest assets carry the input fingerprint as their data version: an unchanged rerun
keeps it (later months stay fresh); changed inputs change it (later months go stale).
The status comes from Dagster's own resolver, the one behind the UI's "stale" badge.
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


def statuses(instance: dg.DagsterInstance, asset: str) -> dict[str, str]:
    resolver = CachingStaleStatusResolver(
        instance, defs.resolve_asset_graph(), LoadingContextForTest(instance)
    )
    return {m: resolver.get_status(dg.AssetKey(asset), m).value for m in MONTHS}


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

    grade("2026-02")  # unchanged inputs: same data versions, nothing goes stale
    assert set(statuses(instance, "merchant_grades").values()) == {"FRESH"}
    assert set(statuses(instance, "credit_ledger").values()) == {"FRESH"}

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

    grade("2026-03")
    assert set(statuses(instance, "merchant_grades").values()) == {"FRESH"}
    assert set(statuses(instance, "credit_ledger").values()) == {"FRESH"}
