"""The dashboard's numbers: aggregate SQL over the published tables, shaped for the page.

A month can hold a million merchants, so every chart is aggregated (and histogrammed) in
DuckDB and only counts travel to the page. The one exception is the handful of
explained merchants, whose rows are embedded with their explanations. Aggregates arrive
long (month, category, key, value) and are scattered into dense arrays with numpy
indexing, index 0 of the category axis being "all categories", so the page's JavaScript
only picks a slice for the month and category chosen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import duckdb
import numpy as np
import polars as pl

from pipelines.months import add_months
from pipelines.policy import Policy
from pipelines.reporting.dashboard_at_risk import at_risk_payload
from pipelines.reporting.dashboard_metrics import CHART_METRICS, HISTORY_METRICS, thresholds
from pipelines.reporting.explain import (
    DSR_TOP_SCORE,
    UnknownMerchantError,
    explain_counts,
    load_counts,
    published_months,
)
from pipelines.sql_files import fill_sql
from pipelines.warehouse import bound_params, fetch_frame, fetch_value

TARGET_BINS = 40
MAX_BINS = 200
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))


@dataclass(frozen=True)
class Bins:
    """Histogram bins [low + i·width, low + (i+1)·width), i < count, for one metric."""

    metric: str
    low: Decimal
    width: Decimal
    count: int

    @property
    def edges(self) -> list[float]:
        return [float(self.low + i * self.width) for i in range(self.count + 1)]


def _nice_widths(start: Decimal) -> list[Decimal]:
    """Widths 1, 2, 2.5, 5 × 10^k from the first at least ``start``, going finer."""
    exponent = math.floor(math.log10(start)) + 1
    widths = [
        step * Decimal(10) ** e for e in range(exponent, exponent - 6, -1) for step in NICE_STEPS
    ]
    widths.sort(reverse=True)
    first = max(i for i, w in enumerate(widths) if w >= start)
    return widths[first:]


def choose_bins(metric: str, low: float, high: float, bounds: list[Fraction]) -> Bins:
    """Nice bins over [low, high], fine enough that every exact-decimal threshold is an edge.

    On an edge, a histogram bar never mixes merchants on both sides of a threshold.
    """
    span = Decimal(str(max(high - low, 1e-6)))
    lo = Decimal(str(low))
    decimals = [Decimal(b.numerator) / Decimal(b.denominator) for b in bounds]
    exact = [d for d, b in zip(decimals, bounds, strict=True) if d == Fraction(d) == b]
    candidates = _nice_widths(span / TARGET_BINS)
    chosen = candidates[0]
    for width in candidates:
        if span / width > MAX_BINS:
            break
        if all(d % width == 0 for d in exact):
            chosen = width
            break
    start = (lo / chosen).to_integral_value(rounding="ROUND_FLOOR") * chosen
    count = int(((Decimal(str(high)) - start) / chosen).to_integral_value(rounding="ROUND_CEILING"))
    return Bins(metric, start, chosen, max(count, 1))


def metric_bins(con: duckdb.DuckDBPyConnection, months: list[str], policy: Policy) -> list[Bins]:
    """Per charted metric: bins covering the bulk of the data (1st-99th percentile, from
    SQL) and every policy threshold with room around it, within the metric's scale."""
    ranges = _query(con, "metric_ranges", months=months, metrics=list(CHART_METRICS))
    result = []
    for metric in CHART_METRICS:
        p01, p99 = ranges.row(0, named=True)[metric] or (None, None)
        bottom, top = (1.0, float(DSR_TOP_SCORE)) if metric == "dsr_item_avg" else (0.0, 1.0)
        bounds = [b for _, _, b in thresholds(policy, metric)]
        values = [float(b) for b in bounds] or [bottom]
        if metric in ("bad_order_rate", "seller_dispute_rate"):
            low, high = bottom, max(p99 or 0.0, max(values) * 1.5)
        else:
            margin = (top - min(values)) * 0.5
            low, high = min(top if p01 is None else p01, min(values) - margin), top
        low, high = max(low, bottom), min(high, top)
        result.append(choose_bins(metric, low, high, bounds))
    return result


@dataclass(frozen=True)
class Axes:
    """The index of every month, category and tier in the dense arrays.

    Category index 0 is "all categories": SQL aggregates per category only, and the
    totals are sums over the category axis (every aggregate here is additive).
    """

    months: list[str]
    categories: list[str]
    tiers: list[str]

    def index(self, frame: pl.DataFrame, tier_columns: tuple[str, ...] = ()) -> pl.DataFrame:
        """Add m (month), c (category, from 1) and t_<col> indices; null tiers -> len(tiers)."""
        months = {m: i for i, m in enumerate(self.months)}
        categories = {c: i + 1 for i, c in enumerate(self.categories)}
        tiers = {t: i for i, t in enumerate(self.tiers)}
        return frame.with_columns(
            pl.col("month").replace_strict(months, return_dtype=pl.Int64).alias("m"),
            pl.col("main_category")
            .replace_strict(categories, default=0, return_dtype=pl.Int64)
            .alias("c"),
            *(
                pl.col(col)
                .replace_strict(tiers, default=len(self.tiers), return_dtype=pl.Int64)
                .alias(f"t_{col}")
                for col in tier_columns
            ),
        )

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.months), len(self.categories) + 1


def dense(frame: pl.DataFrame, index: list[str], value: str, shape: tuple[int, ...]) -> np.ndarray:
    """Scatter-add a long frame into a dense array (numpy indexing, no Python row loop),
    then fill category 0 (axis 1) with the sum over the categories."""
    array = np.zeros(shape)
    if frame.height:
        np.add.at(array, tuple(frame[c].to_numpy() for c in index), frame[value].to_numpy())
    array[:, 0] = array[:, 1:].sum(axis=1)
    return array


def _query(
    con: duckdb.DuckDBPyConnection,
    name: str,
    tables: dict[str, str] | None = None,
    **params: object,
) -> pl.DataFrame:
    """Run ``sql/dashboard/<name>.sql``; ``tables`` fills its ``__NAME__`` placeholders
    with queries (a table as published, say), which parameters cannot stand for."""
    sql = fill_sql(f"dashboard/{name}.sql", **(tables or {}))
    return fetch_frame(con, sql, bound_params(sql, params))


def shown_months(con: duckdb.DuckDBPyConnection, count: int) -> list[str]:
    """The last ``count`` published months, oldest first."""
    return published_months(con)[-count:]


def build_payload(
    con: duckdb.DuckDBPyConnection,
    months: list[str],
    policy: Policy,
    merchants: list[str] | None,
    per_tier: int = 3,
    window_days: Mapping[str, int] | None = None,
) -> dict:
    """Everything the page draws, as JSON-ready lists (ints and rounded floats);
    ``window_days``: each month's graded window, for its explanations (``load_counts``)."""
    tier_rows = _query(con, "tier_counts", months=months)
    seen = tier_rows["tier"].unique().sort().to_list()
    tiers = [*policy.tier_names, *(t for t in seen if t not in policy.tier_names)]
    categories = tier_rows["main_category"].unique().sort().to_list()
    axes = Axes(months, categories, tiers)
    shape = axes.shape
    tier_counts = dense(
        axes.index(tier_rows, ("tier",)),
        ["m", "c", "t_tier"],
        "merchants",
        (*shape, len(tiers) + 1),
    )
    levels = len(policy.level_lower_bounds) + 1
    level_rows = axes.index(_query(con, "levels", months=months)).filter(
        pl.col("level").is_between(0, levels - 1)
    )
    previous = [
        months.index(add_months(m, -1)) if add_months(m, -1) in months else -1 for m in months
    ]
    metric_histograms, provisional = histograms(con, axes, policy)
    return {
        "months": months,
        "previous": previous,
        "previousHidden": hidden_previous_months(con, months, previous),
        "categories": categories,
        "tiers": tiers,
        "fallbackTier": tiers.index(policy.fallback_tier),
        "levels": [f"L{i}" for i in range(levels)],
        "tierCounts": tier_counts[..., : len(tiers)].astype(int).tolist(),
        "levelCounts": dense(level_rows, ["m", "c", "level"], "merchants", (*shape, levels))
        .astype(int)
        .tolist(),
        "provisional": provisional,
        "migration": migration(con, axes, previous),
        "histograms": metric_histograms,
        "merchantMetrics": list(HISTORY_METRICS),
        "merchants": explained_merchants(con, months, policy, merchants, per_tier, window_days),
        "atRisk": at_risk_payload(con, months, tiers),  # None without a current preview
    }


def hidden_previous_months(
    con: duckdb.DuckDBPyConnection, months: list[str], previous: list[int]
) -> list[str | None]:
    """Per month shown without its previous month: that month when it is published all
    the same (older than the months shown), so the page says so instead of "no previous
    month published" (found by a review, 2026-12-06). One probe per such month (the first
    shown, usually), not another scan of every published month."""
    return [
        add_months(m, -1)
        if p < 0 and fetch_value(con, _PUBLISHED_SQL, {"month": add_months(m, -1)})
        else None
        for m, p in zip(months, previous, strict=True)
    ]


_PUBLISHED_SQL = "SELECT EXISTS (FROM main.merchant_grades WHERE month = $month)"


def migration(con: duckdb.DuckDBPyConnection, axes: Axes, previous: list[int]) -> list:
    """Per month and category a (tiers + new) × (tiers + left) matrix, None without M-1."""
    pairs = [(m, axes.months[p]) for m, p in zip(axes.months, previous, strict=True) if p >= 0]
    size = len(axes.tiers) + 1
    if not pairs:
        return [None] * len(axes.months)
    rows = axes.index(
        _query(
            con,
            "migration",
            months=[m for m, _ in pairs],
            previous_months=[p for _, p in pairs],
        ),
        ("from_tier", "to_tier"),
    )
    matrix = dense(
        rows, ["m", "c", "t_from_tier", "t_to_tier"], "merchants", (*axes.shape, size, size)
    )
    return [
        matrix[i].astype(int).tolist() if previous[i] >= 0 else None
        for i in range(len(axes.months))
    ]


def histograms(con: duckdb.DuckDBPyConnection, axes: Axes, policy: Policy) -> tuple[dict, list]:
    """Per charted metric: bin edges, counts per month and category, and the undefined
    count; and the provisional count per month and category (same pass over the grades)."""
    bins = metric_bins(con, axes.months, policy)
    rows = axes.index(
        _query(
            con,
            "metric_histograms",
            months=axes.months,
            metrics=[b.metric for b in bins],
            lows=[float(b.low) for b in bins],
            widths=[float(b.width) for b in bins],
            bin_counts=[b.count for b in bins],
        )
    )
    result = {}
    for b in bins:
        metric_rows = rows.filter(pl.col("histogram") == b.metric)
        result[b.metric] = {
            "edges": b.edges,
            "width": float(b.width),
            "counts": dense(
                metric_rows.filter(pl.col("bin").is_not_null()),
                ["m", "c", "bin"],
                "merchants",
                (*axes.shape, b.count),
            )
            .astype(int)
            .tolist(),
            "undefined": dense(
                metric_rows.filter(pl.col("bin").is_null()), ["m", "c"], "merchants", axes.shape
            )
            .astype(int)
            .tolist(),
        }
    provisional = rows.filter((pl.col("histogram") == "provisional") & (pl.col("bin") == 1))
    return result, dense(provisional, ["m", "c"], "merchants", axes.shape).astype(int).tolist()


def sample_merchants(
    con: duckdb.DuckDBPyConnection, month: str, policy: Policy, per_tier: int
) -> list[str]:
    """Up to ``per_tier`` merchants of each tier of ``month``, best tier first."""
    order = {t: i for i, t in enumerate(policy.tier_names)}
    sample = _query(con, "sample_merchants", month=month, per_tier=per_tier)
    return (
        sample.with_columns(
            pl.col("tier")
            .replace_strict(order, default=len(order), return_dtype=pl.Int64)
            .alias("rank")
        )
        .sort("rank", "merchant_id")["merchant_id"]
        .to_list()
    )


def explained_merchants(
    con: duckdb.DuckDBPyConnection,
    months: list[str],
    policy: Policy,
    merchants: list[str] | None,
    per_tier: int,
    window_days: Mapping[str, int] | None = None,
) -> list[dict]:
    """Month-by-month level, tier, metrics and explanation of each chosen merchant."""
    if merchants is None:
        merchants = sample_merchants(con, months[-1], policy, per_tier)
    else:
        merchants = list(dict.fromkeys(merchants))
        known = set(
            _query(con, "known_merchants", merchants=merchants, months=months)["merchant_id"]
        )
        unknown = [m for m in merchants if m not in known]
        if unknown:
            raise UnknownMerchantError(
                f"no published grade in {months[0]}..{months[-1]} for merchant(s) "
                + ", ".join(repr(m) for m in unknown)
            )
    if not merchants:
        return []
    counts = load_counts(con, merchants, months, policy, window_days)
    explanations = explain_counts(counts, policy)
    texts = pl.DataFrame(
        {
            "month": [e.month for e in explanations],
            "merchant_id": [e.merchant_id for e in explanations],
            "explanation": [e.text() for e in explanations],
        },
        schema={"month": pl.String, "merchant_id": pl.String, "explanation": pl.String},
    )
    grid = (
        pl.DataFrame({"merchant_id": merchants})
        .with_row_index("order")
        .join(pl.DataFrame({"month": months}), how="cross")
        .join(counts, on=["merchant_id", "month"], how="left")
        .join(texts, on=["merchant_id", "month"], how="left")
        .sort("order", "month")
    )
    return (
        grid.group_by("order", "merchant_id", maintain_order=True)
        .agg(
            pl.col("main_category").drop_nulls().last().alias("category"),
            "level",
            "credit_points",
            "tier",
            "provisional",
            *(pl.col(m).round(6) for m in HISTORY_METRICS),
            "explanation",
        )
        .drop("order")
        .rename({"merchant_id": "id"})
        .to_dicts()
    )
