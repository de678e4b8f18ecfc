"""The what-if notebook's parameters and its private warehouse copy.

Why a module: the notebook copies the live warehouse (a file of up to gigabytes) to a
temporary folder and deletes the copy in its last cell. When a cell in between failed, the
last cell never ran and the copy stayed behind, one more for every failed run. Now
  * the parameters are checked before anything is copied, so a typo costs no copy; and
  * the copy's folder is deleted when the kernel exits (an ``atexit`` hook), whether the
    last cell ran or not, and at once when the copy itself fails half-way.
"""

from __future__ import annotations

import atexit
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.checks.quarantine_summary import over_limit
from pipelines.months import parse_month
from pipelines.policy import Policy, load_calendar
from pipelines.reporting.analysis import COPY_PREFIX, readonly_copy, resolve_path, what_if_policy
from pipelines.scratch import make_scratch_folder


class WhatIfParameterError(ValueError):
    """A parameter of the what-if notebook is unusable; the message names the parameter."""


def check_parameters(
    warehouse: str | Path,
    month: str,
    base_policy: str | Path,
    changes: Any,
) -> Path:
    """Refuse unusable parameters before any copy is made; return the warehouse's path.

    The changed policy is built once here as a check (the notebook builds it again for the
    month it grades): with no ``month`` and no ``base_policy`` it is checked against the
    latest policy of the shipped calendar, the one the latest month is normally graded under.
    """
    source = resolve_path(warehouse) if str(warehouse) else Path("")
    if not str(warehouse) or not source.is_file():
        raise WhatIfParameterError(f"WAREHOUSE: no warehouse file at {source or '(empty)'}")
    if month:
        try:
            parse_month(month)
        except ValueError as error:
            raise WhatIfParameterError(f"MONTH: {error}") from None
    if base_policy and not resolve_path(base_policy).is_file():
        raise WhatIfParameterError(f"BASE_POLICY: no policy file at {resolve_path(base_policy)}")
    if not isinstance(changes, Mapping):
        raise WhatIfParameterError(
            f"POLICY_CHANGES: expected a dict of dotted policy keys to values, got "
            f"{type(changes).__name__} {changes!r}"
        )
    base = _base_policy(month, base_policy)
    try:
        what_if_policy(changes, base)
    except (KeyError, ValueError) as error:
        raise WhatIfParameterError(f"POLICY_CHANGES: {error}") from None
    return source


def _base_policy(month: str, base_policy: str | Path) -> str | Path:
    if base_policy:
        return resolve_path(base_policy)
    calendar = load_calendar()
    return calendar.policy_for(month).source if month else calendar.policies[-1].source


def private_copy(warehouse: str | Path) -> Path:
    """A read-only copy of ``warehouse`` in a private temporary folder, deleted when the
    kernel exits (or now, when copying fails); return the copy's path."""
    folder = make_scratch_folder(COPY_PREFIX)  # a killed kernel's is deleted by the next
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    try:
        return readonly_copy(warehouse, into=folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def publish_blockers(con: duckdb.DuckDBPyConnection, month: str, policy: Policy) -> list[str]:
    """Why a run under ``policy`` would not publish ``month``: each dataset whose
    quarantined share is over the policy's limit, in the blocking check's words.

    ``regrade_month`` grades the rows whatever their quarantine, so a what-if that tightens
    ``ingest.max_quarantine_ratio`` showed "0 merchants change tier" for a month such a
    run would refuse (found by a review, 2026-12-06); the notebook says this first."""
    return [ratio.message() for ratio in over_limit(con, month, policy.max_quarantine_ratio)]


def exposure_sentence(by_tier: pl.DataFrame, categories: int) -> str:
    """How much exposure the what-if hands from one tier to another, in words.

    ``by_tier`` is ``exposure_shift(..., by=["tier"])``. Shares sum to 1 in each category,
    so the tiers' deltas, halved and divided by the number of categories, are the part of
    all exposure (every category weighing the same) that ends up with a different tier.
    """
    if categories <= 0 or by_tier.is_empty():
        return "no exposure to compare"
    moved = by_tier.select(pl.col("exposure_delta").abs().sum() / 2 / categories).item()
    if moved == 0:
        return "no exposure changes tier"
    biggest = by_tier.sort(pl.col("exposure_delta").abs(), descending=True).row(0, named=True)
    change = "gains" if biggest["exposure_delta"] > 0 else "loses"
    return (
        f"{moved:.2%} of all exposure (each category counted equally) moves from one tier "
        f"to another; {biggest['tier']} {change} the most, "
        f"{abs(biggest['exposure_delta']) / categories:.2%} of all exposure"
    )
