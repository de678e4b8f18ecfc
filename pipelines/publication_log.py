"""A month's latest publication, as main.run_log records it.

main.run_log keeps one row per publication of a month; what a month *is* now (its run
key, the policy that graded it, whether that was an override, what its last publication
restated) is its latest row. The run key, the policy-rollback refusals, the preview, the
publication report and ``grading explain`` all ask for it, so it is read in one place:
each caller then looks at the fields it needs, and none can pick its "latest" otherwise.

Kept below ``run_key`` and free of the ingest, so reporting may use it too
(tests/test_import_direction.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.warehouse import fetch_rows

# A publication's fields, in the order ``_publication`` reads them.
PUBLICATION_COLUMNS = """
run_key, policy_version, policy_digest, coalesce(policy_override, false),
restated, restatement_reason, old_tier_counts, new_tier_counts, published_at, rules_version
"""
LATEST_PUBLICATION = f"""
SELECT {PUBLICATION_COLUMNS} FROM main.run_log WHERE month = $month
ORDER BY published_at DESC LIMIT 1
"""
PUBLISHED_WITH = "SELECT count(*) > 0 FROM main.run_log WHERE month = $month AND run_key = $key"
# Each month before $before with its latest publication, in month order.
LATEST_PUBLICATIONS_BEFORE = f"""
SELECT month, {PUBLICATION_COLUMNS} FROM main.run_log WHERE month < $before
QUALIFY row_number() OVER (PARTITION BY month ORDER BY published_at DESC) = 1
ORDER BY month
"""


@dataclass(frozen=True)
class Publication:
    """One row of main.run_log. ``policy_version`` and ``policy_digest`` are None for a
    publication recorded before they were kept; ``run_key`` and ``rules_version``
    likewise."""

    run_key: str | None
    policy_version: str | None
    policy_digest: str | None
    policy_override: bool
    restated: bool
    restatement_reason: str | None
    old_tier_counts: str | None
    new_tier_counts: str | None
    published_at: object
    rules_version: str | None


def latest_publication(con: duckdb.DuckDBPyConnection, month: str) -> Publication | None:
    """The month's latest publication; None when it was never published."""
    rows = fetch_rows(con, LATEST_PUBLICATION, {"month": month})
    return _publication(rows[0]) if rows else None


def was_published_with(con: duckdb.DuckDBPyConnection, month: str, run_key: str | None) -> bool:
    """Whether a publication of the month in this warehouse had ``run_key``."""
    if run_key is None:
        return False
    return bool(fetch_rows(con, PUBLISHED_WITH, {"month": month, "key": run_key})[0][0])


def latest_publications(
    con: duckdb.DuckDBPyConnection, before: str = "9999-12"
) -> list[tuple[str, Publication]]:
    """Each published month before ``before``, with its latest publication, in order."""
    rows = fetch_rows(con, LATEST_PUBLICATIONS_BEFORE, {"before": before})
    return [(month, _publication(row)) for month, *row in rows]


def _publication(row: tuple | list) -> Publication:
    key, version, digest, override, restated, reason, old, new, published, rules = row
    return Publication(
        run_key=key,
        policy_version=version,
        policy_digest=digest,
        policy_override=bool(override),
        restated=bool(restated),
        restatement_reason=reason,
        old_tier_counts=old,
        new_tier_counts=new,
        published_at=published,
        rules_version=rules,
    )
