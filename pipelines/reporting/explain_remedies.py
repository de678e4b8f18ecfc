"""The ways to meet each missed condition of the next tier, and whether one alone is enough.

``grading explain`` tells a merchant how far it is from the tier above. A minimum rate can
be met in two ways that read very differently: turning some of the merchant's own failures
into successes (the denominator stays), or adding new units that are all successes (the
denominator grows). A maximum rate can be met with fewer bad units, or more clean ones.
This module computes every such remedy for every missed condition, in integers on whole
frames, then applies each one alone to the counts and grades the result with the
pipeline's own ``assign_tiers``: "would have made it" is said only when that one change
really reaches the tier, and names the tier it reaches, which is higher than the next one
when the condition is shared by the tiers above (the seller dispute rate's bound is the
same in every tier of the shipped policy, so one dispute fewer can lift failing to
excellent). The amounts are those of the scalar distances of
``pipelines.reporting.explain`` (``fewer_to_get_below``, ``more_to_get_below``, ``more_to_reach``)
computed on frames; a property test holds them equal.

Counting rules the remedies keep (spec §4):
- every seller-responsible dispute order is a bad order, so fewer bad orders can go no
  lower than the dispute count unless disputes go too (``disputes_too``), and a dispute
  avoided is a bad order avoided;
- a DSR item rating adds at most 5 stars, so "more stars on your ratings" is capped by
  the stars they are short of 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.policy import Policy, TierRule
from pipelines.rules.metrics import Ratio, ratios
from pipelines.rules.tiers import assign_tiers, cross, tier_conditions, wide

# The DSR scale of spec §1 (dsr_item_sum ≤ 5 × count): the best rating a buyer can add.
DSR_TOP_SCORE = 5
REMEDY_SCHEMA = {
    "row": pl.UInt32,
    "metric": pl.String,
    "remedy": pl.String,
    "amount": pl.Int128,
    "disputes_too": pl.Int64,
    "reaches": pl.Boolean,
    "reached": pl.String,
}
# Counts that move together: every seller dispute order is also a bad order.
BAD, DISPUTES = "bad_orders", "seller_dispute_orders"
# The counts the grading holds (64-bit): a remedy whose counts go past them is said, and
# its amount given exactly, but not graded.
COUNT_RANGE = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Remedy:
    """One way to meet a condition: its amount, and the counts after it is applied."""

    name: str
    amount: pl.Expr
    changes: dict[str, pl.Expr]


def ceil_div(numerator: pl.Expr, denominator: int) -> pl.Expr:
    """⌈a / b⌉ of integers, b > 0: ⌊(a + b - 1) / b⌋ (polars negates no 128-bit integer)."""
    b = pl.lit(denominator, dtype=pl.Int128)
    return (numerator + b - 1) // b


def at_least_zero(count: pl.Expr) -> pl.Expr:
    """max(count, 0), kept in 128 bits: under a threshold of many decimals, or with counts
    near 2**63, the units needed can be past 64 bits (a review's `seller_dispute_rate_max`
    of 1e-19 needed 9,999,999,999,999,999,958 more orders, and the dashboard failed on
    the cast, 2026-12-06)."""
    return pl.max_horizontal(count, pl.lit(0, pl.Int128))


def top_score(metric: str) -> int:
    """What one new unit adds to the numerator at best: 5 stars for DSR, else 1."""
    return DSR_TOP_SCORE if metric == "dsr_item_avg" else 1


def max_rate_remedies(r: Ratio, rule: TierRule) -> list[Remedy]:
    """n/d < p/q: fewer bad units with d fixed, or more clean units with n fixed."""
    bound = rule.max_rates[r.name]
    p, q = bound.numerator, bound.denominator
    if p == 0:
        return []  # a zero threshold cannot be got below by counting
    n, d = pl.col(r.numerator), pl.col(r.denominator)
    p_, q_ = pl.lit(p, dtype=pl.Int128), pl.lit(q, dtype=pl.Int128)
    fewer = at_least_zero(wide(r.numerator) - (cross(r.denominator, p) - 1) // q_)
    more = at_least_zero(cross(r.numerator, q) // p_ + 1 - wide(r.denominator))
    if r.numerator == BAD:  # the disputes among the bad orders go only if they must
        fewer_changes = {
            BAD: n - fewer,
            DISPUTES: pl.min_horizontal(pl.col(DISPUTES), n - fewer),
        }
    elif r.numerator == DISPUTES:  # an order without its dispute is no bad order either
        fewer_changes = {DISPUTES: n - fewer, BAD: pl.col(BAD) - fewer}
    else:
        fewer_changes = {r.numerator: n - fewer}
    return [
        Remedy("fewer", fewer, fewer_changes),
        Remedy("more_clean", more, {r.denominator: d + more}),
    ]


def min_rate_remedies(r: Ratio, rule: TierRule) -> list[Remedy]:
    """n/d ≥ p/q: some of the merchant's own units made good (d fixed), or new units at
    the top score (n and d grow together); no second when p/q is the top score itself."""
    bound = rule.min_rates[r.name]
    p, q = bound.numerator, bound.denominator
    top = top_score(r.name)
    n, d = pl.col(r.numerator), pl.col(r.denominator)
    fix = at_least_zero(ceil_div(cross(r.denominator, p), q) - wide(r.numerator))
    fix_changes = {r.numerator: n + fix}
    if r.name == "positive_feedback_rate":  # a negative turned positive
        fix_changes["negative_feedback"] = pl.col("negative_feedback") - fix
    remedies = [Remedy("fix", fix, fix_changes)]
    gain = top * q - p
    if gain > 0:
        add = at_least_zero(ceil_div(cross(r.denominator, p) - cross(r.numerator, q), gain))
        add_changes = {r.numerator: n + add * top}
        if r.name != "positive_feedback_rate":  # rated_feedback is derived from both
            add_changes[r.denominator] = d + add
        remedies.append(Remedy("add", add, add_changes))
    return remedies


def condition_remedies(metric: str, rule: TierRule, policy: Policy) -> list[Remedy]:
    """Every remedy of one condition of ``rule``."""
    if metric == "assessed_orders":
        more = pl.lit(rule.min_assessed_orders, pl.Int128) - wide("assessed_orders")
        return [Remedy("more", more, {"assessed_orders": pl.col("assessed_orders") + more})]
    r = next(x for x in ratios(policy) if x.name == metric)
    if metric in rule.max_rates:
        return max_rate_remedies(r, rule)
    return min_rate_remedies(r, rule)


def remedies(counts: pl.DataFrame, next_tiers: pl.Series, policy: Policy) -> pl.DataFrame:
    """Per row (its index in ``counts``), missed condition of its next tier and remedy:
    the amount, the disputes that must go too, whether that change alone reaches the next
    tier (graded by ``assign_tiers``, provisional rule included), and the tier it gives.

    ``counts``: the COUNT_COLUMNS of each row; ``next_tiers``: the tier above each row's
    tier under ``policy``, null at the top.
    """
    frame = counts.with_row_index("row").with_columns(next_tier=next_tiers)
    frame = frame.with_columns(
        (pl.col("positive_feedback") + pl.col("negative_feedback")).alias("rated_feedback")
    )
    scenarios = [
        scenario
        for rule in policy.tiers
        for condition in tier_conditions(rule, policy)
        for scenario in _scenarios(frame, rule, condition.metric, condition.holds, policy)
    ]
    if not scenarios:
        return pl.DataFrame(schema=REMEDY_SCHEMA)
    changed = (
        pl.concat(scenarios, how="vertical_relaxed")
        .with_columns(
            (pl.col("positive_feedback") + pl.col("negative_feedback")).alias("rated_feedback")
        )
        .with_row_index("_scenario")
        # One chunk per column: polars 2.1 panicked ("i < self.len()") grading a filter
        # of this frame whose index had one chunk and the counts one per scenario.
        .rechunk()
    )
    count_columns = counts.columns
    within = pl.all_horizontal([pl.col(c).is_between(*COUNT_RANGE) for c in count_columns])
    gradable = changed.filter(within).with_columns(
        [pl.col(c).cast(pl.Int64) for c in count_columns]
    )
    graded = pl.concat(
        [
            assign_tiers(gradable.lazy(), policy).collect(),
            # Past 64-bit counts: not graded, so never said to reach a tier; the condition
            # itself is met by construction ("would meet the ... threshold").
            changed.filter(~within).with_columns(pl.lit(None, pl.String).alias("tier")),
        ],
        how="diagonal_relaxed",
    ).sort("_scenario")
    rank = {name: i for i, name in enumerate(policy.tier_names)}
    return graded.select(
        "row",
        "metric",
        "remedy",
        "amount",
        pl.when((pl.col("metric") == "bad_order_rate") & (pl.col("remedy") == "fewer"))
        .then(pl.col("disputes_before") - pl.col(DISPUTES))
        .otherwise(0)
        .alias("disputes_too"),
        (
            pl.col("tier").replace_strict(rank, default=None, return_dtype=pl.Int32)
            <= pl.col("next_tier").replace_strict(rank, return_dtype=pl.Int32)
        )
        .fill_null(False)
        .alias("reaches"),
        pl.col("tier").alias("reached"),
    ).cast(REMEDY_SCHEMA)


def _scenarios(
    frame: pl.DataFrame, rule: TierRule, metric: str, holds: pl.Expr, policy: Policy
) -> list[pl.DataFrame]:
    """The rows whose next tier is ``rule`` and that miss ``metric``, once per remedy, with
    that remedy applied. ``disputes_before`` keeps the count the disputes are taken from."""
    missed = frame.filter((pl.col("next_tier") == rule.name) & ~holds)
    if missed.is_empty():
        return []
    out = []
    for remedy in condition_remedies(metric, rule, policy):
        with_amount = missed.with_columns(
            remedy.amount.cast(pl.Int128).alias("amount"),
            pl.lit(metric).alias("metric"),
            pl.lit(remedy.name).alias("remedy"),
            pl.col(DISPUTES).alias("disputes_before"),
        )
        out.append(with_amount.with_columns(**remedy.changes))
    return out


# --- the words -----------------------------------------------------------------------------

# A minimum rate's two readings: (one failure, failures, made good, one new unit, new units,
# what new units are). DSR is worded apart (stars, not units).
MIN_RATE_WORDS = {
    "on_time_ship_rate": (
        "late shipment",
        "late shipments",
        "on time",
        "shipment",
        "shipments",
        "on time",
    ),
    "response_rate_24h": (
        "message not answered within 24h",
        "messages not answered within 24h",
        "answered in time",
        "message",
        "messages",
        "answered within 24h",
    ),
    "positive_feedback_rate": (
        "negative feedback",
        "negative feedback",
        "positive instead",
        "feedback",
        "feedback",
        "positive",
    ),
}
# "N fewer/more <unit>": what one unit of a numerator is (singular, plural).
UNITS = {
    "bad_order_rate": ("bad order", "bad orders"),
    "seller_dispute_rate": ("seller-responsible dispute", "seller-responsible disputes"),
    "positive_feedback_rate": ("positive feedback", "positive feedback"),
    "dsr_item_avg": (f"{DSR_TOP_SCORE}-star item rating", f"{DSR_TOP_SCORE}-star item ratings"),
    "on_time_ship_rate": ("on-time shipment", "on-time shipments"),
    "response_rate_24h": ("message answered within 24h", "messages answered within 24h"),
    "assessed_orders": ("assessed order", "assessed orders"),
}


def plural(k: int, singular: str, many: str) -> str:
    return singular if k == 1 else many


def units(k: int, metric: str) -> str:
    """The unit of ``metric``'s numerator, singular for one."""
    return plural(k, *UNITS[metric])


def some_of_yours(k: int, total: int, noun: str) -> str:
    """ "2 of your 5 late shipments", "your 1 late shipment", "all 3 of your late shipments"."""
    if k < total:
        return f"{k} of your {total} {noun}"
    return f"your {total} {noun}" if total == 1 else f"all {total} of your {noun}"


def remedy_phrase(row: dict, r: Ratio | None, metric: str, remedy: dict) -> str:
    """One remedy in words, with the merchant's own counts where it changes them."""
    k, kind = remedy["amount"], remedy["remedy"]
    if kind == "more":
        return f"{k} more {units(k, metric)}"
    assert r is not None
    n, d = row[r.numerator], row[r.denominator]
    if kind == "fewer":
        text = f"{k} fewer {units(k, metric)} out of {d}"
        j = remedy["disputes_too"]
        if j > 0:
            disputes = f"seller-responsible {plural(row[DISPUTES], 'dispute', 'disputes')}"
            text += f", {some_of_yours(j, row[DISPUTES], disputes)} among them"
            text += " (every dispute is a bad order too)"
        return text
    if kind == "more_clean":
        noun = r.denominator.replace("_", " ")
        return f"{k} more {noun if k != 1 else noun.rstrip('s')} without one"
    if metric == "dsr_item_avg":
        if kind == "fix":
            return f"{k} more {plural(k, 'star', 'stars')} across your {d} item ratings"
        return f"{k} more {units(k, metric)}"
    one_bad, bad, made_good, one_new, new, quality = MIN_RATE_WORDS[metric]
    if kind == "fix":
        return f"{some_of_yours(k, d - n, plural(d - n, one_bad, bad))} {made_good}"
    return f"{k} more {plural(k, one_new, new)} {'all ' if k != 1 else ''}{quality}"


def outcome(remedy: dict, next_tier: str) -> str:
    """What a remedy does: alone it reaches the next tier (naming the tier it gives, which
    can be higher), or it meets one of the next tier's conditions."""
    if remedy["reaches"]:
        return f"would have made it {remedy['reached']}"
    return f"would meet the {next_tier} threshold"


def remedies_text(
    row: dict, r: Ratio | None, metric: str, found: list[dict], next_tier: str
) -> str:
    """The remedies of one missed condition joined in one sentence, each with its outcome
    (said once when they share it). A minimum rate whose two readings give the same count
    says it once: "1 more on-time shipment" is then true either way."""
    found = sorted(found, key=lambda x: ORDER.index(x["remedy"]))
    if (
        len(found) == 2
        and metric in MIN_RATE_WORDS
        and found[0]["amount"] == found[1]["amount"]
        and outcome(found[0], next_tier) == outcome(found[1], next_tier)
    ):
        k = found[0]["amount"]
        return f"{k} more {units(k, metric)} {outcome(found[0], next_tier)}"
    phrases = [remedy_phrase(row, r, metric, x) for x in found]
    outcomes = [outcome(x, next_tier) for x in found]
    if len(set(outcomes)) == 1:
        joined = ", or ".join(phrases)
        return f"{joined}, {outcomes[0]}" if len(phrases) > 1 else f"{joined} {outcomes[0]}"
    return ", or ".join(f"{p} {o}" for p, o in zip(phrases, outcomes, strict=True))


ORDER = ("more", "fewer", "fix", "more_clean", "add")
