"""What changed since the previous month: tier, level and the metrics that decided a move.

The first question about a grade is often "why did it drop?". ``grading explain`` answers
it from the two published grades: the tier and level before and after, and, when the tier
moved, the conditions that decided the move, each with its value in both months:
- down from T: the conditions of T that fail now (they all held last month, unless the
  merchant was provisional then: in T by rule, not by its metrics);
- up to T: the conditions of T that failed last month and hold now.
A change of the provisional state (too few assessed orders to be assessed) is said too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the types only: pipelines.reporting.explain imports this module
    from pipelines.reporting.explain import Explanation, MetricCheck


def change_lines(
    previous: Explanation | None,
    current: Explanation,
    previous_month: str,
    tier_names: Sequence[str],
) -> tuple[str, ...]:
    """The lines of the explanation's "since the previous month" part."""
    if previous is None:
        return (f"Previous month {previous_month}: no published grade for this merchant",)
    lines = [
        f"Previous month {previous_month}: {_grade(previous)}, L{previous.level} "
        f"({_points(previous.credit_points)})",
        f"Changed: {_tier_move(previous, current, tier_names)}; {_level_move(previous, current)}",
    ]
    lines.extend(f"  - {line}" for line in deciding_lines(previous, current, tier_names))
    return tuple(lines)


def deciding_lines(
    previous: Explanation, current: Explanation, tier_names: Sequence[str]
) -> list[str]:
    """The conditions that decided a tier move, with their values before and after."""
    rank = {name: i for i, name in enumerate(tier_names)}
    before, after = rank.get(previous.tier), rank.get(current.tier)
    lines = _provisional_lines(previous, current)
    if before is None or after is None or before == after:
        return lines
    down = after > before
    tier = previous.tier if down else current.tier
    old_checks = {c.metric: c for c in previous.checks}
    for check in current.checks:
        old = old_checks.get(check.metric)
        cell, old_cell = check.by_tier.get(tier), old.by_tier.get(tier) if old else None
        if cell is None or old_cell is None:
            continue
        if not cell[1] if down else cell[1] and not old_cell[1]:
            verb = "now misses" if down else "now meets"
            lines.append(
                f"{check.metric} {_value(old)} → {_value(check)}: {verb} {cell[0]} of {tier}"
            )
    return lines


def _points(points: int) -> str:
    return f"{points} credit point{'s' if abs(points) != 1 else ''}"


def _grade(e: Explanation) -> str:
    return f"{e.tier} (provisional)" if e.provisional else e.tier


def _tier_move(previous: Explanation, current: Explanation, tier_names: Sequence[str]) -> str:
    if (previous.tier, previous.provisional) == (current.tier, current.provisional):
        return f"tier unchanged, {_grade(current)}"
    rank = {name: i for i, name in enumerate(tier_names)}
    before, after = rank.get(previous.tier, -1), rank.get(current.tier, -1)
    direction = " (down)" if after > before else " (up)" if after < before else ""
    return f"tier {_grade(previous)} → {_grade(current)}{direction}"


def _level_move(previous: Explanation, current: Explanation) -> str:
    points = f"{previous.credit_points} → {current.credit_points} credit points"
    if previous.level == current.level:
        return f"level unchanged, L{current.level} ({points})"
    return f"level L{previous.level} → L{current.level} ({points})"


def _provisional_lines(previous: Explanation, current: Explanation) -> list[str]:
    orders = next((c.value for c in current.checks if c.metric == "assessed_orders"), "?")
    if current.provisional and not previous.provisional:
        return [f"now provisional: {orders} assessed orders, too few to be assessed"]
    if previous.provisional and not current.provisional:
        return [f"no longer provisional: {orders} assessed orders"]
    return []


def _value(check: MetricCheck | None) -> str:
    return "—" if check is None else check.value
