"""Whether a policy is the one a published month was graded under.

An explanation is exact only under the policy that made the grade: its thresholds, its
window and its tiers decide which conditions hold and how far the next tier is. Explained
under another (the shipped calendar's, on a warehouse graded with ``--policy DIR``, or a
month restated with ``--policy-override``), a "passing" merchant is shown meeting every
condition of good (found by a review, 2026-12-06). The warehouse keeps each publication's
policy version and the digest of its rules and numbers (``main.run_log``), so the policy
given can be checked against them before anything is said.
"""

from __future__ import annotations

import duckdb

from pipelines.policy import Policy, policy_digest
from pipelines.publication_log import latest_publication


def graded_policy_mismatch(
    con: duckdb.DuckDBPyConnection, month: str, policy: Policy
) -> str | None:
    """Why ``policy`` is not the policy ``month`` was last published under; None when it
    is, or when the warehouse does not say (a publication recorded before digests were
    kept is compared by version alone)."""
    latest = latest_publication(con, month)
    if latest is None:
        return None
    version, digest = latest.policy_version, latest.policy_digest
    given = f"policy {policy.version}" + (f" ({policy.source})" if policy.source else "")
    if version != policy.version:
        return f"{month} was graded under policy {version}, not {given}"
    if digest is not None and digest != policy_digest(policy):
        return f"{month} was graded under policy {version} with other rules or numbers than {given}"
    return None
