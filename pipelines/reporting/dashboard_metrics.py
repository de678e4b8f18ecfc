"""The service metrics of spec §4 that the dashboard shows, written once, with their
thresholds and how a rate reads, and the page's chart slots (``Chart``).

Everything else takes its list from ``METRICS``: the SQL (sql/dashboard/metric_ranges.sql
and metric_histograms.sql receive the histogram metrics as the ``$metrics`` list and expand
it with DuckDB's ``COLUMNS``), the plotly figures (one histogram per charted metric, one
trace per metric in the merchant panel) and the page's script (the payload's
``merchantMetrics``). Adding a metric here adds it everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from pipelines.policy import Policy


@dataclass(frozen=True)
class DashboardMetric:
    """One metric: its merchant_grades column, its chart label, and whether the page
    draws its histogram over the month's merchants (every metric shows in the merchant
    panel)."""

    name: str
    label: str
    histogram: bool


# In the merchant panel's order (its trace i is metric i); DSR last, on the right axis.
METRICS = (
    DashboardMetric("bad_order_rate", "Bad-order rate", histogram=True),
    DashboardMetric("seller_dispute_rate", "Seller-responsible dispute rate", histogram=True),
    DashboardMetric("positive_feedback_rate", "Positive-feedback rate", histogram=True),
    DashboardMetric("on_time_ship_rate", "On-time shipping rate", histogram=False),
    DashboardMetric("response_rate_24h", "24h response rate", histogram=False),
    DashboardMetric("dsr_item_avg", "DSR (item as described, 1-5)", histogram=True),
)
# Every metric, in the merchant panel's order.
HISTORY_METRICS = tuple(m.name for m in METRICS)
# The metrics drawn as histograms, in the page's order.
CHART_METRICS = tuple(m.name for m in METRICS if m.histogram)
# The metrics that are rates (a share of orders, feedback, shipments or messages): the page
# shows them as percentages. DSR is an average score, 1-5.
RATE_METRICS = tuple(m.name for m in METRICS if m.name != "dsr_item_avg")
METRIC_LABELS = {m.name: m.label for m in METRICS}


def thresholds(policy: Policy, metric: str) -> list[tuple[str, str, Fraction]]:
    """(tier, comparison, bound) of every tier with a condition on ``metric``."""
    found = []
    for rule in policy.tiers:
        if metric in rule.max_rates:
            found.append((rule.name, "<", rule.max_rates[metric]))
        if metric in rule.min_rates:
            found.append((rule.name, "≥", rule.min_rates[metric]))
    return found


def percent_text(value: Fraction) -> str:
    """An exact fraction as a short percentage: 1/100 -> '1%', 1/800 -> '0.125%'."""
    for decimals in range(0, 7):
        text = f"{float(value * 100):.{decimals}f}"
        if Fraction(text) == value * 100:
            return text + "%"
    return f"{float(value * 100):.6g}%"


@dataclass(frozen=True)
class Chart:
    """One chart div of the page: its id, the section it sits in, and its caption."""

    id: str
    section: str
    caption: str
