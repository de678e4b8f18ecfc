"""Publishing a graded month: its staged work.* tables and quarantine into main.*, at once.

Publication is the only write readers see. It refuses a month whose ingest stopped
half-way or whose previous month was ingested but never published, records the run in
main.run_log (with its run key and whether it restates the month), replaces the month in
every main.* table and discards the month's journal copies, all in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from pipelines import month_journal, rules_version
from pipelines.datasets import DATASETS
from pipelines.faults import crash_point
from pipelines.grading import GradingError
from pipelines.ingest import dataset_fingerprint
from pipelines.month_order import (
    refuse_outdated_past,
    refuse_stale_previous,
    refuse_unfinished_ingests,
    refuse_unpublished_previous,
)
from pipelines.policy import Policy, policy_digest
from pipelines.publication_log import latest_publication
from pipelines.run_key import ingested_digests, month_run_key
from pipelines.sql_files import load_sql
from pipelines.warehouse import fetch_rows, fetch_value, run_script, transaction


def input_fingerprint(con: duckdb.DuckDBPyConnection, month: str) -> str:
    """A digest of everything ingested for the month, over all datasets.

    Each dataset's part was computed by its ingest (raw.ingest_log.rows_digest); a
    month ingested before that column existed has it computed here.
    """
    stored = dict(
        fetch_rows(
            con,
            "SELECT dataset, rows_digest FROM raw.ingest_log WHERE month = $month",
            {"month": month},
        )
    )
    parts = [stored.get(ds.name) or dataset_fingerprint(con, ds, month) for ds in DATASETS]
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def publish_month(
    con: duckdb.DuckDBPyConnection,
    month: str,
    policy: Policy,
    policy_override: bool = False,
    first_landing_month: str | None = None,
    landing: Path | None = None,
) -> dict[str, int]:
    """Move the month's staged tables and its quarantine into main.*, all or nothing.

    ``policy_override``: ``policy`` is not the calendar's for the month but one asked for
    explicitly (``--policy-override``); main.run_log records the publication as a
    restatement under it. ``first_landing_month``: the landing folder's first month
    (None when unknown); see ``refuse_unpublished_previous``. ``landing``: the landing
    folder, whose months before ``month`` must be as the warehouse ingested them
    (``refuse_outdated_past``); None skips that check (a caller that made it).
    """
    if not fetch_value(
        con,
        "SELECT count(*) FROM raw.ingest_log WHERE month = $month AND dataset = 'merchants'",
        {"month": month},
    ):
        raise GradingError(f"{month} has not been ingested")
    refuse_unpublished_previous(con, month, first_landing_month)
    refuse_stale_previous(con, month)
    refuse_unfinished_ingests(con, month, policy.window_days)
    if landing is not None:
        refuse_outdated_past(con, landing, month)
    fingerprint = input_fingerprint(con, month)
    digests = ingested_digests(con, month)
    params = {
        "month": month,
        "policy_version": policy.version,
        "fingerprint": fingerprint,
        "run_key": month_run_key(con, month, digests, policy),
        "policy_digest": policy_digest(policy),
        "policy_override": policy_override,
        "landing_digests": json.dumps(dict(sorted(digests.items()))),
        "rules_version": rules_version.RULES_VERSION,
    }
    with transaction(con):
        run_script(con, load_sql("publish/record_run.sql"), params)
        run_script(con, load_sql("publish/publish_month.sql"), params)
        month_journal.discard(con, month)
        crash_point("publish:before_commit", month)
    counts = {}
    for table in (
        "merchant_grades",
        "exposure_weights",
        "merchant_compliance",
        "tier_distribution",
        "quarantine",
    ):
        counts[table] = fetch_value(
            con, f"SELECT count(*) FROM main.{table} WHERE month = $month", {"month": month}
        )
    return counts


def restatement(con: duckdb.DuckDBPyConnection, month: str) -> dict[str, object]:
    """What the month's latest publication restated: whether, why, and its tier counts
    before and after (JSON objects of tier -> merchants), for the run's report."""
    latest = latest_publication(con, month)
    if latest is None:
        raise ValueError(f"{month} has no publication in main.run_log")
    return {
        "restated": latest.restated,
        "restatement_reason": latest.restatement_reason or "",
        "old_tier_counts": json.loads(latest.old_tier_counts) if latest.old_tier_counts else {},
        "new_tier_counts": json.loads(latest.new_tier_counts) if latest.new_tier_counts else {},
    }


def quarantine_counts(con: duckdb.DuckDBPyConnection, month: str) -> dict[str, dict[str, int]]:
    """Published quarantine rows of the month by dataset and reason."""
    rows = fetch_rows(
        con,
        "SELECT dataset, reason, count(*) FROM main.quarantine "
        "WHERE month = $month GROUP BY ALL ORDER BY ALL",
        {"month": month},
    )
    counts: dict[str, dict[str, int]] = {}
    for dataset, reason, n in rows:
        counts.setdefault(dataset, {})[reason] = int(n)
    return counts
