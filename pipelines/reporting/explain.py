"""Why a merchant got its grade, and exactly how far it is from the next tier and level.

``grading explain`` and the dashboard's merchant panel both use this. The published grade
row gives the order and feedback counts; the service sums that merchant_grades does not
keep (DSR, shipments, messages) are recomputed from raw.service_metrics over the same
window the grading used. Every comparison goes through the pipeline's own
``tier_conditions`` and every distance is integer arithmetic on the policy's Fraction
thresholds, so "1 fewer bad order out of 100" is exact, never a rounded float.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl

from pipelines.month_journal import as_published_sql
from pipelines.months import add_months, grading_window, parse_month
from pipelines.policy import Policy, PolicyCalendar, TierRule, decimal_text, load_calendar
from pipelines.reporting.explain_change import change_lines
from pipelines.reporting.explain_remedies import DSR_TOP_SCORE as DSR_TOP_SCORE
from pipelines.reporting.explain_remedies import remedies, remedies_text
from pipelines.reporting.graded_policy import graded_policy_mismatch
from pipelines.rules.metrics import WINDOW_COUNT_COLUMNS, Ratio, ratios
from pipelines.rules.tiers import assign_tiers, tier_conditions
from pipelines.sql_files import fill_sql, load_sql
from pipelines.warehouse import (
    WarehouseLocked,
    connect,
    fetch_frame,
    fetch_rows,
    refuse_outdated_schema,
)

COUNT_COLUMNS = WINDOW_COUNT_COLUMNS


class ExplainError(ValueError):
    """The explanation cannot be given; the message says what is missing."""


class UnknownMonthError(ExplainError):
    """The month is not a published month of the warehouse."""


class NotGradedUnderPolicy(ExplainError):
    """The policy given is not the one the month was graded under."""


class UnknownMerchantError(ExplainError):
    """The merchant has no published grade in the month."""


# --- exact distances -----------------------------------------------------------------------
# One merchant's distances in scalars: the reference the set-based amounts of
# pipelines.reporting.explain_remedies are tested against (tests/test_explain_remedies.py).


def fewer_to_get_below(n: int, d: int, bound: Fraction) -> int | None:
    """How many of the n must go for n/d < p/q with d fixed; None when no n' ≥ 0 works.

    The largest n' with n'·q < p·d is (p·d − 1) // q (floor division of integers).
    """
    best = (bound.numerator * d - 1) // bound.denominator
    return None if best < 0 else max(n - best, 0)


def more_to_get_below(n: int, d: int, bound: Fraction) -> int | None:
    """How many more clean units in d make n/d < p/q with n fixed; None when p is 0.

    The smallest d' with n·q < p·d' is n·q // p + 1.
    """
    if bound.numerator == 0:
        return None
    return max(n * bound.denominator // bound.numerator + 1 - d, 0)


def more_to_reach(n: int, d: int, bound: Fraction, top: int = 1) -> int | None:
    """How many more units, each adding ``top`` to n and 1 to d, make n/d ≥ p/q.

    (n + top·k)·q ≥ p·(d + k)  ⇔  k·(top·q − p) ≥ p·d − n·q; None when never reachable.
    """
    p, q = bound.numerator, bound.denominator
    deficit = p * d - n * q
    if deficit <= 0:
        return 0
    gain = top * q - p
    return None if gain <= 0 else -(-deficit // gain)


def level_of(points: int, policy: Policy) -> int:
    """L0-L10 from credit points: how many of the policy's lower bounds they reach."""
    return sum(points >= bound for bound in policy.level_lower_bounds)


def points_to_next_level(points: int, policy: Policy) -> tuple[int, int] | None:
    """(next level, credit points still needed), or None at the top level."""
    level = level_of(points, policy)
    if level >= len(policy.level_lower_bounds):
        return None
    return level + 1, policy.level_lower_bounds[level] - points


# --- the explanation -----------------------------------------------------------------------


@dataclass(frozen=True)
class MetricCheck:
    """One metric against every tier: (threshold text, holds) per tier, None: no condition."""

    metric: str
    value: str
    is_defined: bool
    by_tier: dict[str, tuple[str, bool] | None]


@dataclass(frozen=True)
class Explanation:
    merchant_id: str
    month: str
    main_category: str | None
    tier: str
    provisional: bool
    level: int
    credit_points: int
    policy_version: str
    checks: tuple[MetricCheck, ...]
    next_tier: str | None
    misses: tuple[str, ...]
    level_text: str
    notes: tuple[str, ...]
    provisional_text: str = ""
    # Tier, level and deciding metrics against the previous month (explain_merchant).
    since_previous: tuple[str, ...] = ()

    def text(self) -> str:
        """The plain-text report ``grading explain`` prints."""
        category = f"category {self.main_category}; " if self.main_category else ""
        tier = f"{self.tier}, {self.provisional_text}" if self.provisional else self.tier
        lines = [
            f"Merchant {self.merchant_id}, {self.month} ({category}graded under policy "
            f"{self.policy_version})",
            f"Tier:  {tier}",
            f"Level: {self.level_text}",
            *self.since_previous,
            "",
            *_check_table(self.checks),
            "",
        ]
        if self.next_tier is None:
            lines.append(f"{self.tier} is the top tier: no tier above it to miss.")
        else:
            count = len(self.misses)
            lines.append(
                f"Missed {self.next_tier} (the next tier up) on {count} "
                f"condition{'s' if count != 1 else ''}:"
            )
            lines.extend(f"  - {m}" for m in self.misses)
        if self.notes:
            lines += ["", *(f"Note: {n}" for n in self.notes)]
        return "\n".join(lines)


def _check_table(checks: tuple[MetricCheck, ...]) -> list[str]:
    tiers = list(checks[0].by_tier) if checks else []
    rows = [["metric", "value", *tiers]]
    for check in checks:
        cells = []
        for tier in tiers:
            cell = check.by_tier[tier]
            if cell is None:
                cells.append("—")
            else:
                threshold, holds = cell
                suffix = "" if check.is_defined else " (n/a)"
                cells.append(f"{'✓' if holds else '✗'} {threshold}{suffix}")
        rows.append([check.metric, check.value, *cells])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return [
        *table,
        "(✓ met, ✗ missed, — no condition; n/a: metric not defined, so the condition holds)",
    ]


# Metrics that are averages (stars per rating), shown as numbers; every other ratio is a
# rate, shown as a percentage (issue 19: "rates as percentages everywhere").
AVERAGE_METRICS = frozenset({"dsr_item_avg"})


@lru_cache(maxsize=4096)
def _show(value: Fraction, metric: str) -> str:
    """A threshold exactly, with as many decimals as it has: 0.008 -> '0.8%', 4.5 -> '4.5',
    1e-19 -> '0.00000000000000001%' (not the '0.00000000%' of 8 places: a review).

    Cached: every explained row shows the same few thresholds, and finding their decimals
    with fractions was half the time of the dashboard's thousand explanations."""
    if metric in AVERAGE_METRICS:
        return decimal_text(value)
    return decimal_text(Fraction(value) * 100) + "%"


def _truncated(value: Fraction, decimals: int) -> str:
    """``value`` cut (not rounded) to ``decimals``: a value just under a threshold never
    reads as the threshold itself (1799/1999 is 89.99%, not 90.00%)."""
    scaled = value.numerator * 10**decimals // value.denominator
    sign = "-" if scaled < 0 else ""
    whole, part = divmod(abs(scaled), 10**decimals)
    return f"{sign}{whole}.{part:0{decimals}d}" if decimals else f"{sign}{whole}"


def _rate_decimals(policy: Policy, metric: str) -> int:
    """Decimals of a rate's percentage: two, or as many as its finest threshold has, so a
    cut value is on the same side of every threshold as the exact one."""
    bounds = [
        bound
        for rule in policy.tiers
        for bound in (rule.max_rates.get(metric), rule.min_rates.get(metric))
        if bound is not None
    ]
    shown = [_show(Fraction(b), metric).rstrip("%") for b in bounds]
    return max([2, *(len(t.partition(".")[2]) for t in shown)])


def _value(row: dict, r: Ratio, decimals: int = 2) -> tuple[str, bool]:
    n, d = row[r.numerator], row[r.denominator]
    if d < max(r.min_denominator, 1):
        return f"not defined ({r.denominator} {d} < {max(r.min_denominator, 1)})", False
    if r.name in AVERAGE_METRICS:
        return f"{_truncated(Fraction(n, d), 4)} ({n}/{d})", True
    return f"{_truncated(Fraction(n * 100, d), decimals)}% ({n}/{d})", True


def _miss_text(
    row: dict, rule: TierRule, metric: str, found: list[dict], by_name: dict, decimals: int
) -> str:
    """One missed condition of ``rule``, with every remedy's exact distance and outcome."""
    if metric == "assessed_orders":
        head = f"assessed_orders {row['assessed_orders']} is below {rule.min_assessed_orders}: "
        return head + remedies_text(row, None, metric, found, rule.name)
    r = by_name[metric]
    value, _ = _value(row, r, decimals)
    if metric in rule.max_rates:
        head = f"{metric} {value} is not below {_show(rule.max_rates[metric], metric)}: "
        if not found:
            return head + "cannot be met (the threshold is 0)"
    else:
        head = f"{metric} {value} is below {_show(rule.min_rates[metric], metric)}: "
    return head + remedies_text(row, r, metric, found, rule.name)


def _explain_row(
    row: dict,
    policy: Policy,
    policy_tier: str,
    found: dict[str, list[dict]],
    decimals: dict[str, int],
) -> Explanation:
    """``decimals``: each rate's decimals (``_rate_decimals``), found once for all rows."""
    by_name = {r.name: r for r in ratios(policy)}
    checks = [
        MetricCheck(
            "assessed_orders",
            str(row["assessed_orders"]),
            True,
            {
                rule.name: (
                    f"≥ {rule.min_assessed_orders}",
                    row[f"holds:{rule.name}:assessed_orders"],
                )
                for rule in policy.tiers
            },
        )
    ]
    for r in ratios(policy):
        value, is_defined = _value(row, r, decimals[r.name])
        by_tier: dict[str, tuple[str, bool] | None] = {}
        for rule in policy.tiers:
            if r.name in rule.max_rates:
                threshold = f"< {_show(rule.max_rates[r.name], r.name)}"
            elif r.name in rule.min_rates:
                threshold = f"≥ {_show(rule.min_rates[r.name], r.name)}"
            else:
                by_tier[rule.name] = None
                continue
            by_tier[rule.name] = (threshold, row[f"holds:{rule.name}:{r.name}"])
        checks.append(MetricCheck(r.name, value, is_defined, by_tier))

    names = policy.tier_names
    position = names.index(policy_tier) if policy_tier in names else 0
    next_tier = names[position - 1] if position > 0 else None
    misses: list[str] = []
    if next_tier is not None:
        rule = next(t for t in policy.tiers if t.name == next_tier)
        missed = [c.metric for c in checks if (c.by_tier[next_tier] or ("", True))[1] is False]
        misses = [
            _miss_text(row, rule, m, found.get(m, []), by_name, decimals.get(m, 2)) for m in missed
        ]

    points = row["credit_points"]
    level = level_of(points, policy)
    step = points_to_next_level(points, policy)
    level_text = f"L{level} with {points} credit point{'s' if abs(points) != 1 else ''}; " + (
        "the top level"
        if step is None
        else f"{step[1]} more credit point{'s' if step[1] != 1 else ''} to L{step[0]} "
        f"({policy.level_lower_bounds[step[0] - 1]})"
    )
    return Explanation(
        merchant_id=row["merchant_id"],
        month=row["month"],
        main_category=row.get("main_category"),
        tier=row["tier"],
        provisional=bool(row["provisional"]),
        level=row["level"],
        credit_points=points,
        policy_version=row.get("policy_version") or policy.version,
        checks=tuple(checks),
        next_tier=next_tier,
        misses=tuple(misses),
        level_text=level_text,
        notes=tuple(_notes(row, policy, policy_tier, level, by_name)),
        provisional_text=_provisional_text(row["assessed_orders"], policy),
    )


def _provisional_text(assessed: int, policy: Policy) -> str:
    """Why a merchant is provisional and how many assessed orders it still needs."""
    need = policy.provisional_min_assessed_orders - assessed
    if need <= 0:
        return ""
    return (
        f"provisional ({assessed} assessed orders; needs {need} more assessed "
        f"order{'s' if need != 1 else ''} to be assessed)"
    )


def _notes(row: dict, policy: Policy, policy_tier: str, level: int, by_name: dict) -> list[str]:
    """Where the published row and this policy (or today's raw data) disagree."""
    notes = []
    version = row.get("policy_version")
    if version and version != policy.version:
        notes.append(
            f"graded under policy {version}; the thresholds above are policy {policy.version}"
        )
    if policy_tier != row["tier"]:
        notes.append(f"under policy {policy.version} this merchant would be {policy_tier}")
    if level != row["level"]:
        notes.append(f"under policy {policy.version} the level would be L{level}")
    for metric in ("dsr_item_avg", "on_time_ship_rate", "response_rate_24h"):
        r, published = by_name[metric], row.get(metric, "absent")
        if published == "absent":
            continue
        _, is_defined = _value(row, r)
        recomputed = row[r.numerator] / row[r.denominator] if is_defined else None
        if (recomputed is None) != (published is None) or (
            recomputed is not None and abs(recomputed - published) > 1e-9
        ):
            notes.append(
                f"{metric} recomputed from raw.service_metrics differs from the published "
                f"{published}: raw data changed after the month was published"
            )
    return notes


def explain_counts(counts: pl.DataFrame, policy: Policy) -> list[Explanation]:
    """Explanations of grade rows (pure: no warehouse), one per row, in row order.

    ``counts``: month, merchant_id, credit_points, level, tier, provisional and every
    column of COUNT_COLUMNS (main_category, policy_version and the published rates are
    optional). The conditions are the pipeline's own ``tier_conditions``.
    """
    if counts.is_empty():
        return []
    frame = counts.with_columns(
        (pl.col("positive_feedback") + pl.col("negative_feedback")).alias("rated_feedback")
    )
    holds = [
        c.holds.alias(f"holds:{c.tier}:{c.metric}")
        for rule in policy.tiers
        for c in tier_conditions(rule, policy)
    ]
    graded = assign_tiers(
        frame.select("merchant_id", *COUNT_COLUMNS, "rated_feedback").lazy(), policy
    ).collect()
    found = _remedies_by_row(frame, graded["tier"], policy)
    evaluated = frame.with_columns(*holds)
    decimals = {r.name: _rate_decimals(policy, r.name) for r in ratios(policy)}
    return [
        _explain_row(row, policy, tier, found.get(index, {}), decimals)
        for index, (row, tier) in enumerate(zip(evaluated.to_dicts(), graded["tier"], strict=True))
    ]


def _remedies_by_row(
    frame: pl.DataFrame, tiers: pl.Series, policy: Policy
) -> dict[int, dict[str, list[dict]]]:
    """Each row's remedies by missed metric of its next tier (``remedies``), for the text."""
    names = policy.tier_names
    above = dict(zip(names[1:], names[:-1], strict=True))
    next_tiers = tiers.replace_strict(above, default=None, return_dtype=pl.String)
    found: dict[int, dict[str, list[dict]]] = {}
    table = remedies(frame.select(*COUNT_COLUMNS), next_tiers, policy)
    for remedy in table.to_dicts():
        found.setdefault(remedy["row"], {}).setdefault(remedy["metric"], []).append(remedy)
    return found


# --- reading the warehouse -----------------------------------------------------------------


def published_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Months with published grades, oldest first."""
    try:
        return [m for (m,) in fetch_rows(con, load_sql("explain/published_months.sql"))]
    except duckdb.CatalogException as exc:
        raise ExplainError("the warehouse has no published tables (main.merchant_grades)") from exc


def resolve_month(con: duckdb.DuckDBPyConnection, month: str | None) -> str:
    """The month asked for, checked against the published ones; None: the latest."""
    months = published_months(con)
    if not months:
        raise ExplainError("no month has been published in this warehouse yet")
    if month is None:
        return months[-1]
    try:
        parse_month(month)
    except ValueError as exc:
        raise UnknownMonthError(str(exc)) from exc
    if month not in months:
        raise UnknownMonthError(
            f"month {month} is not published; published months: {months[0]}..{months[-1]} "
            f"({len(months)})"
        )
    return month


def load_counts(
    con: duckdb.DuckDBPyConnection,
    merchants: list[str],
    months: list[str],
    policy: Policy,
    window_days: Mapping[str, int] | None = None,
) -> pl.DataFrame:
    """Published grade rows of ``merchants`` in ``months`` with their window service sums,
    over ``policy``'s window, or a month's own length in ``window_days`` (the dashboard's
    months may have been graded under policies of other windows)."""
    params = {"merchants": merchants, "months": months}
    grades = fetch_frame(con, load_sql("explain/merchant_grades.sql"), params)
    windows = [
        grading_window(m, (window_days or {}).get(m, policy.window_days)).sql_params for m in months
    ]
    sums = fetch_frame(
        con,
        fill_sql(
            "explain/service_sums.sql",
            SERVICE_METRICS=as_published_sql(con, "raw.service_metrics"),
        ),
        {
            **params,
            "first_months": [w["first_month"] for w in windows],
            "window_starts": [w["window_start"] for w in windows],
            "cutoffs": [w["cutoff"] for w in windows],
        },
    )
    return grades.join(sums, on=["month", "merchant_id"], how="left").with_columns(
        pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNT_COLUMNS
    )


def explain_merchant(
    con: duckdb.DuckDBPyConnection,
    merchant_id: str,
    month: str | None = None,
    policy: Policy | None = None,
    calendar: PolicyCalendar | None = None,
) -> Explanation:
    """One merchant's published grade in ``month`` (default: the latest), explained under
    ``policy`` (default: ``calendar``'s policy for that month; the shipped calendar's
    without one), which must be the policy the month was graded under: under another,
    the conditions, distances and remedies would not be those that made the grade."""
    month = resolve_month(con, month)
    explicit = policy
    calendar = calendar or load_calendar()
    policy = policy or calendar.policy_for(month)
    mismatch = graded_policy_mismatch(con, month, policy)
    if mismatch:
        raise NotGradedUnderPolicy(
            f"{mismatch}: explained under it, the grade's conditions and distances would not "
            f"be those that made it. Give the policy it was graded under with --policy (its "
            f"calendar folder, or its file) or GRADING_POLICY"
        )
    counts = load_counts(con, [merchant_id], [month], policy)
    if counts.is_empty():
        graded_in = [
            m
            for (m,) in fetch_rows(
                con, load_sql("explain/merchant_months.sql"), {"merchant": merchant_id}
            )
        ]
        where = (
            f"it is graded in {graded_in[0]}..{graded_in[-1]} ({len(graded_in)} months)"
            if graded_in
            else "it is in no published month"
        )
        raise UnknownMerchantError(
            f"merchant {merchant_id!r} has no published grade in {month}; {where}"
        )
    current = explain_counts(counts, policy)[0]
    return replace(current, since_previous=_since_previous(con, current, explicit, calendar))


def other_rules_note(con: duckdb.DuckDBPyConnection, month: str) -> str | None:
    """A warning for a month last graded by other rules than this code's (before an
    upgrade's first run, or archived since): its conditions, computed by these rules,
    could contradict its published grade (a review, 2026-12-06: every condition met,
    yet "failing"). None when this code's rules graded it."""
    from pipelines.rules_version import month_graded_by_other_rules

    other_rules = month_graded_by_other_rules(con, month)
    if not other_rules:
        return None
    return (
        f"Note: {other_rules}. The conditions below are this version's and may not be those "
        f"that made the grade; grading run grades the month again."
    )


def _since_previous(
    con: duckdb.DuckDBPyConnection,
    current: Explanation,
    explicit: Policy | None,
    calendar: PolicyCalendar,
) -> tuple[str, ...]:
    """The lines comparing the grade with the merchant's grade of the month before, that
    month explained under its own policy (the calendar's) unless one was given. Its tier
    and level are as published; its conditions are compared only under the policy that
    graded it."""
    previous_month = add_months(current.month, -1)
    if previous_month not in published_months(con):
        return (f"Previous month {previous_month}: not published",)
    policy = explicit or calendar.policy_for(previous_month)
    counts = load_counts(con, [current.merchant_id], [previous_month], policy)
    previous = explain_counts(counts, policy)[0] if counts.height else None
    lines = change_lines(previous, current, previous_month, policy.tier_names)
    mismatch = graded_policy_mismatch(con, previous_month, policy)
    if previous is None or not mismatch:
        return lines
    return (*lines[:2], f"  - its conditions are not compared: {mismatch}")


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse opened read-only, quiet (no progress bar on the terminal or in logs).

    DuckDB refuses while another process (or this one) holds the file read-write;
    ``connect`` waits for a short-lived writer, then this says so clearly.
    """
    if not path.is_file():
        raise ExplainError(f"warehouse {path} does not exist")
    try:
        con = connect(path, read_only=True)
    except (duckdb.Error, WarehouseLocked) as exc:
        raise ExplainError(f"cannot open {path} read-only: {exc}") from exc
    try:
        refuse_outdated_schema(con, path)
    except Exception:
        con.close()
        raise
    con.execute("SET enable_progress_bar = false")
    return con


def explain_text(
    warehouse: str | Path,
    merchant_id: str,
    month: str | None = None,
    policy: Policy | None = None,
    calendar: PolicyCalendar | None = None,
) -> str:
    """The text of ``grading explain``: the warehouse opened read-only, then closed."""
    con = open_read_only(Path(warehouse))
    try:
        explanation = explain_merchant(con, merchant_id, month, policy, calendar)
        note = other_rules_note(con, explanation.month)
    finally:
        con.close()
    return f"{note}\n{explanation.text()}" if note else explanation.text()
