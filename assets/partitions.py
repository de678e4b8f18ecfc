"""The monthly partitions every asset shares; keys are 'YYYY-MM' like the landing folders."""

from __future__ import annotations

import os

import dagster as dg

# The first gradeable month. Landing folders may start later; earlier partitions are
# simply never materialized. Override with GRADING_PARTITIONS_START=YYYY-MM.
PARTITIONS_START = os.environ.get("GRADING_PARTITIONS_START", "2024-01")

monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=PARTITIONS_START, timezone="UTC", fmt="%Y-%m"
)

# Month M's window can reach three months back (90 days before the end of M).
window_mapping = dg.TimeWindowPartitionMapping(
    start_offset=-3, end_offset=0, allow_nonexistent_upstream_partitions=True
)
# Credit points at M count all feedback so far. Dagster resolves staleness only for
# fewer than 100 upstream partitions per edge, hence 99 months (8 years) of history: a
# restated month's feedback marks every later ledger and grade partition stale.
history_mapping = dg.TimeWindowPartitionMapping(
    start_offset=-98, end_offset=0, allow_nonexistent_upstream_partitions=True
)
# Credit at M builds on the ledger at M-1 (which builds on M-2, ...).
previous_month_mapping = dg.TimeWindowPartitionMapping(
    start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True
)
