"""Who owns each asset group: the team a data engineer asks about a red asset.

The five groups follow the pipeline's stages; each has one owning team, shown as the
asset's owner in the Dagster UI (and filterable there).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

GROUP_OWNERS: dict[str, str] = {
    "ingest": "team:data-engineering",  # landing files -> raw.*, quarantine, input checks
    "grading": "team:seller-performance",  # credit ledger, grades, compliance
    "exposure": "team:seller-performance",  # exposure weights, tier distribution
    "publish": "team:data-engineering",  # the month's publication and Parquet exports
    "reporting": "team:marketplace-analytics",  # the offline dashboard
}


def with_owners(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The assets with their group's owning team as owner (a group without one is refused,
    so a new group cannot ship without an owner)."""

    def owned(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.group_name not in GROUP_OWNERS:
            raise ValueError(f"asset group {spec.group_name!r} has no owner in GROUP_OWNERS")
        return spec.replace_attributes(owners=[GROUP_OWNERS[spec.group_name]])

    return list(dg.map_asset_specs(owned, assets))
