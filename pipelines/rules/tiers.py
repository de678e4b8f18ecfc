"""The four service tiers, exactly, with the reasons a merchant missed the tier above (§5).

Every threshold is a Fraction p/q and every metric a pair n/d, so ``n/d < p/q`` is
decided as ``n*q < p*d`` on integers: 3 bad orders of 100 is never below 3%. The
products are taken in 128-bit integers (``cross``): a threshold of many decimals has a
large q, and in 64 bits ``n*q`` wrapped silently and graded wrongly (found by a review,
2026-12-06; the policy caps p and q at 10**19, so every product fits).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

import polars as pl

from pipelines.policy import Policy, TierRule
from pipelines.rules.metrics import Ratio, defined, ratios


@dataclass(frozen=True)
class Condition:
    """One condition of a tier: the predicate that holds, and the text when it does not."""

    tier: str
    metric: str
    holds: pl.Expr
    missed: pl.Expr


def _show(value: Fraction) -> str:
    """The threshold as a reason quotes it: short (``0.03``, ``4.7``), unless the short form
    is not the threshold itself, which is then written out whole (a review found
    "0.93 (93/100) is below the 0.93" for a bound of 0.9300000000000000001, 2026-12-06)."""
    short = f"{float(value):g}"
    if Fraction(short) == value:
        return short
    return _exact_decimal(value)


def _exact_decimal(value: Fraction) -> str:
    """Every digit of a threshold: the policy reads each from a decimal of at most 19
    places and 10**19 in its terms (MAX_THRESHOLD_TERM), so 60 significant digits hold it
    whole."""
    with localcontext() as context:
        context.prec = 60
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _value_text(r: Ratio) -> pl.Expr:
    rate = (pl.col(r.numerator) / pl.col(r.denominator)).round(4).cast(pl.String)
    return pl.format("{} ({}/{})", rate, pl.col(r.numerator), pl.col(r.denominator))


def wide(column: str) -> pl.Expr:
    """A count in 128-bit integers, to be multiplied by a threshold's numerator or
    denominator (at most the policy's MAX_THRESHOLD_TERM, 10**19)."""
    return pl.col(column).cast(pl.Int128)


def cross(column: str, factor: int) -> pl.Expr:
    """``column * factor`` in 128-bit integers, exact for 64-bit counts and factors up to
    the policy's MAX_THRESHOLD_TERM."""
    return wide(column) * pl.lit(factor, dtype=pl.Int128)


def tier_conditions(rule: TierRule, policy: Policy) -> list[Condition]:
    """The conditions of one tier; a condition on an undefined metric holds."""
    by_name = {r.name: r for r in ratios(policy)}
    conditions = [
        Condition(
            rule.name,
            "assessed_orders",
            pl.col("assessed_orders") >= rule.min_assessed_orders,
            pl.format(
                "assessed_orders {} is below the {} needed for {}",
                pl.col("assessed_orders"),
                pl.lit(rule.min_assessed_orders),
                pl.lit(rule.name),
            ),
        )
    ]
    for metric, bound in rule.max_rates.items():
        r = by_name[metric]
        below = cross(r.numerator, bound.denominator) < cross(r.denominator, bound.numerator)
        conditions.append(
            Condition(
                rule.name,
                metric,
                ~defined(r) | below,
                pl.format(
                    "{} {} is not below the {} needed for {}",
                    pl.lit(metric),
                    _value_text(r),
                    pl.lit(_show(bound)),
                    pl.lit(rule.name),
                ),
            )
        )
    for metric, bound in rule.min_rates.items():
        r = by_name[metric]
        at_least = cross(r.numerator, bound.denominator) >= cross(r.denominator, bound.numerator)
        conditions.append(
            Condition(
                rule.name,
                metric,
                ~defined(r) | at_least,
                pl.format(
                    "{} {} is below the {} needed for {}",
                    pl.lit(metric),
                    _value_text(r),
                    pl.lit(_show(bound)),
                    pl.lit(rule.name),
                ),
            )
        )
    return conditions


def assign_tiers(counts: pl.LazyFrame, policy: Policy) -> pl.LazyFrame:
    """Add ``tier``, ``provisional`` and ``reasons`` to the window counts.

    A merchant with fewer assessed orders than the provisional minimum is not yet
    assessable: the provisional tier, flagged. Otherwise the first tier from the top
    whose every condition holds, else the fallback.
    """
    provisional = pl.col("assessed_orders") < policy.provisional_min_assessed_orders
    tier = pl.when(provisional).then(pl.lit(policy.provisional_tier))
    for rule in policy.tiers:
        holds = pl.all_horizontal([c.holds for c in tier_conditions(rule, policy)])
        tier = tier.when(holds).then(pl.lit(rule.name))
    tier = tier.otherwise(pl.lit(policy.fallback_tier))

    reasons: list[pl.Expr] = [
        pl.when(provisional).then(
            pl.format(
                "provisional: {} assessed orders, fewer than the {} needed to be assessed",
                pl.col("assessed_orders"),
                pl.lit(policy.provisional_min_assessed_orders),
            )
        )
    ]
    names = policy.tier_names
    for above, below in zip(names, names[1:], strict=False):
        rule = next(r for r in policy.tiers if r.name == above)
        reasons.extend(
            pl.when((pl.col("tier") == below) & ~c.holds).then(c.missed)
            for c in tier_conditions(rule, policy)
        )
    return counts.with_columns(tier.alias("tier"), provisional.alias("provisional")).with_columns(
        pl.concat_list(reasons).list.drop_nulls().alias("reasons")
    )
