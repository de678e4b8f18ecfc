"""The monthly partitions every asset shares; keys are 'YYYY-MM' like the landing folders."""

from __future__ import annotations

import dagster as dg

from assets.first_month import first_month_from_environment

# The first partition: GRADING_FIRST_MONTH, else the first month of the landing folder or
# the warehouse (GRADING_LANDING, GRADING_WAREHOUSE); see assets/first_month.py.
PARTITIONS_START = first_month_from_environment()

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
