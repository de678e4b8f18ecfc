"""The run key of a month: everything its grades depend on, so an unchanged month is skipped.

A month's published tables are a function of its landing files, the policy, the code's
rules and the months before it. The key digests the first three and chains in the key of
the previous month's latest publication, so restating an earlier month (new files, new
policy) changes the key of every later month, while re-publishing it from the same
inputs does not. `grading run` compares the key with the one recorded in main.run_log
and skips a month whose key is unchanged and whose exports are in place.

The policy digested is the one in force for THAT month (pipelines.policy.PolicyCalendar):
adding a policy from July changes July's key (and, through the chain, every later one)
and leaves January to June skipped. A month restated under ``--policy-override`` keeps
its override: its key is checked against the policy digest it was published under.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from pipelines import rules_version
from pipelines.datasets import DATASETS
from pipelines.landing import IngestError, files_digest, landing_files
from pipelines.months import add_months
from pipelines.policy import Policy, policy_digest
from pipelines.publication_log import latest_publication
from pipelines.warehouse import fetch_rows


def landing_digests(landing: Path, month: str, datasets: list[str] | None = None) -> dict[str, str]:
    """Each dataset's (or each of ``datasets``') files digest for the month, as the landing
    folder is now."""
    names = datasets if datasets is not None else [ds.name for ds in DATASETS]
    return {name: files_digest(landing_files(landing, name, month)) for name in names}


def record_landing_seen(
    con: duckdb.DuckDBPyConnection, month: str, digests: dict[str, str]
) -> None:
    """Note the month's landing files (dataset -> files digest) as this run sees them.

    Each ingest records its dataset before loading anything, committed at once; the runner
    records a month it skips as unchanged. main.month_status compares them with the files
    later months' publications were built from, so a changed earlier month marks them
    stale even when its own regrade then fails and its raw rows are rolled back.
    """
    con.execute(
        "INSERT OR REPLACE INTO journal.landing_seen "
        "SELECT $month, unnest($datasets), unnest($digests), CAST(now() AS TIMESTAMP)",
        {"month": month, "datasets": list(digests), "digests": list(digests.values())},
    )


def ingested_digests(con: duckdb.DuckDBPyConnection, month: str) -> dict[str, str]:
    """Each dataset's files digest for the month, as it was when ingested."""
    rows = fetch_rows(
        con,
        "SELECT dataset, files_digest FROM raw.ingest_log WHERE month = $month",
        {"month": month},
    )
    return {dataset: digest or "" for dataset, digest in rows}


def latest_run_key(con: duckdb.DuckDBPyConnection, month: str) -> str:
    """The key of the month's latest publication ('' when it was never published)."""
    latest = latest_publication(con, month)
    return (latest.run_key if latest else None) or ""


def month_run_key(
    con: duckdb.DuckDBPyConnection,
    month: str,
    digests: dict[str, str],
    policy: Policy | str,
    previous: str | None = None,
) -> str:
    """The key of grading ``month`` from these files under ``policy`` (or a policy digest),
    after the previous month's latest publication (or after its key ``previous``)."""
    payload = {
        "rules": rules_version.RULES_VERSION,
        "files": dict(sorted(digests.items())),
        "policy": policy if isinstance(policy, str) else policy_digest(policy),
        "previous": (latest_run_key(con, add_months(month, -1)) if previous is None else previous),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def unchanged_since(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    outputs: Path,
    month: str,
    policy: Policy,
    policy_override: bool = False,
    previous: str | None = None,
) -> str | None:
    """When the month was published from exactly these inputs, that time; else None.

    ``previous``: the previous month's key as a run will have published it (see
    ``months_regraded``); None takes its latest publication's.

    Also None when the month's exports are not exactly what was recorded when they were
    written and what main.* holds (missing, edited, or never finished), so they are
    written again. Unless this run is itself a ``policy_override``, a month last
    published under an override counts as unchanged while its inputs are: an ordinary
    run does not quietly undo an explicit restatement.
    """
    from pipelines.exports import exports_match

    latest = latest_publication(con, month)
    recorded = (latest.run_key if latest else None) or ""
    if not recorded:
        return None
    if not exports_match(con, outputs, month):
        return None
    try:
        digests = landing_digests(landing, month)
    except (IngestError, OSError):
        # A file the ingest refuses (say a README.txt) or cannot open (a dangling link)
        # is not the landing the month was graded from: the month's job runs and its
        # ingest names the file.
        return None
    # What is stored must be what the landing holds now (a month whose new rows were
    # kept by a run that then failed would otherwise pass as unchanged).
    if ingested_digests(con, month) != digests:
        return None
    if month_run_key(con, month, digests, policy, previous) != recorded:
        overridden = latest.policy_digest if latest.policy_override else None
        if (
            policy_override
            or not overridden
            or month_run_key(con, month, digests, overridden, previous) != recorded
        ):
            return None
    return str(latest.published_at)


def months_regraded(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    outputs: Path,
    months: list[str],
    policies: dict[str, Policy],
    policy_override: bool = False,
) -> list[str]:
    """The months of a run (in order) that it will grade rather than skip as unchanged.

    Worked out before anything runs, so that a run can refuse a month it would regrade
    before it has published the months before it (a refusal half-way leaves those
    published). A month regraded publishes a new key, which the next month's key chains;
    so each month is judged against the key its previous month will have by then.
    """
    regraded: list[str] = []
    previous: str | None = None  # None: the previous month's latest publication
    for month in months:
        if unchanged_since(
            con, landing, outputs, month, policies[month], policy_override, previous
        ):
            previous = None
            continue
        regraded.append(month)
        try:
            digests = landing_digests(landing, month)
        except (IngestError, OSError):
            previous = "(not readable)"  # the month's ingest stops the run; no key to chain
            continue
        previous = month_run_key(con, month, digests, policies[month], previous)
    return regraded
