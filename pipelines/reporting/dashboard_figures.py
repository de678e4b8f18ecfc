"""The dashboard's charts as plotly figures: styling, axes and policy thresholds, no data.

The figures are built here with plotly's validated graph objects and travel to the page
as JSON; the page's JavaScript fills each trace with the slice of the aggregates for the
month and category chosen, then draws it with Plotly.newPlot. Threshold lines come from
the Policy object, so a changed policy file moves them without touching code.
"""

from __future__ import annotations

import json
from fractions import Fraction

import plotly.graph_objects as go
import plotly.io as pio

from pipelines.policy import Policy
from pipelines.reporting.dashboard_metrics import (
    METRIC_LABELS,
    RATE_METRICS,
    Chart,
    percent_text,
    thresholds,
)
from pipelines.reporting.tier_palette import OTHER_COLOR, PROVISIONAL_COLOR
from pipelines.reporting.tier_palette import tier_colors as palette_colors

# The migration heatmap's colour scale: downgrades (negative) vermillion, upgrades
# (positive) blue, staying put (0) a neutral grey; Okabe-Ito ends, colour-blind safe.
MIGRATION_COLORSCALE = [[0.0, "#D55E00"], [0.5, "#F2F2F2"], [1.0, "#0072B2"]]


def plotly_text(text: str) -> str:
    """Text plotly shows literally: it reads a few HTML tags and entities in labels."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tier_colors(tiers: list[str], policy: Policy) -> list[str]:
    """The shared palette's colour of each tier (pipelines.reporting.tier_palette), grey for a tier
    the policy does not name."""
    palette = palette_colors(policy.tier_names)
    return [palette.get(tier, OTHER_COLOR) for tier in tiers]


def segment_colors(payload: dict, policy: Policy) -> list[str]:
    """Each segment's colour: its tier's, or the provisional tint."""
    tiers = tier_colors(payload["tiers"], policy)
    return [
        PROVISIONAL_COLOR if provisional else tiers[tier]
        for tier, provisional in zip(
            payload["segmentTiers"], payload["segmentProvisional"], strict=True
        )
    ]


def _layout(title: str, **extra: object) -> go.Layout:
    settings: dict[str, object] = {
        "title": {"text": plotly_text(title), "x": 0.01, "font": {"size": 15}},
        "margin": {"l": 56, "r": 24, "t": 56, "b": 48},
        "height": 340,
        "legend": {"orientation": "h", "y": -0.14, "traceorder": "normal"},
        "hovermode": "closest",
    }
    return go.Layout(**{**settings, **extra})


def warm_up() -> None:
    """Load the plotly classes the dashboard builds (plotly imports each on first use,
    with its validators: ~1.5 s). Meant for the run's background thread
    (assets.runner), so that this overlaps the ingest instead of delaying the
    dashboard, the run's last step."""
    go.Figure(data=[go.Bar(), go.Scatter(), go.Heatmap()], layout=_layout("warm-up"))


def _tier_bars(
    tiers: list[str], colors: list[str], layout: go.Layout, orientation: str = "v"
) -> go.Figure:
    bars = [
        go.Bar(name=plotly_text(t), marker_color=c, x=[], y=[], orientation=orientation)
        for t, c in zip(tiers, colors, strict=True)
    ]
    return go.Figure(bars, layout)


def _histogram(metric: str, edges: list[float], width: float, policy: Policy) -> go.Figure:
    """Merchants per bin, with a dashed line at each tier's threshold on this metric."""
    rate = metric in RATE_METRICS
    figure = go.Figure(
        go.Bar(x=[], y=[], width=width * 0.95, marker_color="#5c6bc0", name="merchants"),
        _layout(
            METRIC_LABELS[metric],
            xaxis={
                "title": {"text": metric},
                "range": [edges[0], edges[-1]],
                **({"tickformat": ".1~%"} if rate else {}),
            },
            yaxis={"title": {"text": "merchants"}},
            showlegend=False,
            bargap=0,
        ),
    )
    colors = dict(zip(policy.tier_names, tier_colors(list(policy.tier_names), policy), strict=True))
    grouped: dict[tuple[str, Fraction], list[str]] = {}
    for tier, comparison, bound in thresholds(policy, metric):
        grouped.setdefault((comparison, bound), []).append(tier)
    middle = (edges[0] + edges[-1]) / 2
    for i, ((comparison, bound), tiers) in enumerate(sorted(grouped.items())):
        value = float(bound)
        shown = percent_text(bound) if rate else f"{value:g}"
        figure.add_shape(
            type="line",
            x0=value,
            x1=value,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line={"color": colors[tiers[0]], "dash": "dash", "width": 2},
        )
        figure.add_annotation(
            x=value,
            xref="x",
            y=1.0 - 0.1 * (i % 4),
            yref="paper",
            text=plotly_text(f"{', '.join(tiers)} {comparison} {shown}"),
            showarrow=False,
            xanchor="left" if value < middle else "right",
            font={"size": 11, "color": colors[tiers[0]]},
            bgcolor="rgba(255,255,255,0.8)",
        )
    return figure


def build_figures(payload: dict, policy: Policy) -> tuple[list[Chart], dict[str, dict], dict]:
    """Charts in page order, each one's figure JSON (data left empty), and the template
    shared by all (sent once rather than inside every figure)."""
    tiers = payload["tiers"]
    colors = tier_colors(tiers, policy)
    segments, seg_colors = payload["segments"], segment_colors(payload, policy)
    share_axis = {
        "title": {"text": "share"},
        "tickformat": ".0%",
        "hoverformat": ".1%",
        "range": [0, 1],
    }
    months_axis = {"type": "category"}
    figures: dict[str, go.Figure] = {
        "tier_counts": _tier_bars(
            segments,
            seg_colors,
            _layout(
                "Merchants per tier and month",
                barmode="stack",
                xaxis=months_axis,
                yaxis={"title": {"text": "merchants"}},
            ),
        ),
        "tier_shares": _tier_bars(
            segments,
            seg_colors,
            _layout("Tier shares per month", barmode="stack", xaxis=months_axis, yaxis=share_axis),
        ),
        "tier_by_category": _tier_bars(
            segments,
            seg_colors,
            _layout(
                "Tier shares per main category",
                barmode="stack",
                xaxis={"tickformat": ".0%", "hoverformat": ".1%", "range": [0, 1]},
                yaxis={"type": "category", "autorange": "reversed", "automargin": True},
            ),
            orientation="h",
        ),
        "levels": go.Figure(
            go.Bar(x=payload["levels"], y=[], marker_color="#00838f", name="merchants"),
            _layout(
                "Level distribution L0-L10 (selected month)",
                xaxis={"type": "category", "title": {"text": "level"}},
                yaxis={"title": {"text": "merchants"}},
                showlegend=False,
            ),
        ),
        "migration": go.Figure(
            go.Heatmap(
                z=[],
                x=[],
                y=[],
                text=[],
                colorscale=MIGRATION_COLORSCALE,
                zmin=-1,
                zmax=1,
                zmid=0,
                texttemplate="%{text:,}",
                hovertemplate="from %{y} to %{x}: %{text:,} merchants (%{customdata})"
                "<extra></extra>",
                showscale=False,
            ),
            _layout(
                "Tier migration from the previous month",
                xaxis={"title": {"text": "tier this month"}, "type": "category", "side": "top"},
                yaxis={
                    "title": {"text": "tier the month before"},
                    "type": "category",
                    "autorange": "reversed",
                },
                margin={"l": 90, "r": 24, "t": 96, "b": 24},
            ),
        ),
        "exposure": _tier_bars(
            segments,
            seg_colors,
            _layout(
                "Exposure share held by each tier",
                barmode="stack",
                xaxis=months_axis,
                yaxis=share_axis,
            ),
        ),
    }
    for metric, histogram in payload["histograms"].items():
        figures[f"hist_{metric}"] = _histogram(
            metric, histogram["edges"], histogram["width"], policy
        )
    figures["merchant_level"] = go.Figure(
        [
            go.Scatter(name="level", x=[], y=[], mode="lines+markers", line={"color": "#00838f"}),
            go.Scatter(
                name="credit points",
                x=[],
                y=[],
                yaxis="y2",
                mode="lines",
                line={"color": "#9e9e9e", "dash": "dot"},
            ),
        ],
        _layout(
            "Level, tier and credit points",
            xaxis=months_axis,
            yaxis={"title": {"text": "level"}, "range": [-0.5, len(payload["levels"]) - 0.5]},
            yaxis2={
                "title": {"text": "credit points"},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "tickmode": "auto",
                "showgrid": False,
            },
        ),
    )
    figures["merchant_metrics"] = go.Figure(
        [
            go.Scatter(
                name=plotly_text(METRIC_LABELS[m]),
                x=[],
                y=[],
                mode="lines+markers",
                yaxis="y2" if m == "dsr_item_avg" else "y",
                hovertemplate="%{x}: %{y:.2%}<extra>%{fullData.name}</extra>"
                if m in RATE_METRICS
                else "%{x}: %{y:.2f}<extra>%{fullData.name}</extra>",
            )
            for m in payload["merchantMetrics"]
        ],
        _layout(
            "Service metrics (DSR on the right axis)",
            xaxis=months_axis,
            yaxis={"title": {"text": "rate"}, "range": [0, 1.02], "tickformat": ".0%"},
            yaxis2={
                "title": {"text": "DSR"},
                "overlaying": "y",
                "side": "right",
                "range": [1, 5.08],
                "tickmode": "auto",
                "showgrid": False,
            },
        ),
    )
    charts = [
        Chart(
            "tier_counts",
            "tiers",
            "Graded merchants per tier; provisional merchants (too few orders to be assessed) "
            "apart; the shaded month is selected.",
        ),
        Chart("tier_shares", "tiers", "The same as shares of each month's merchants."),
        Chart("tier_by_category", "tiers", "Every main category, selected month."),
        Chart(
            "exposure",
            "exposure",
            "How the exposure is split between the tiers. For one category: the share of "
            "that category's exposure each tier's merchants get (the shares add up to 100%). "
            "For all categories: the share of the whole marketplace's exposure weight.",
        ),
        Chart("levels", "levels", "Credit levels from the policy's lower bounds."),
        Chart(
            "migration",
            "levels",
            "Rows: tier last month ((new): not graded then); columns: tier this month. "
            "Vermillion: moved down a tier or more; blue: moved up; grey: stayed in the same "
            "tier (the diagonal) or joined or left; the darker, the more merchants.",
        ),
        *(
            Chart(f"hist_{m}", "metrics", "Dashed lines: the policy's tier thresholds.")
            for m in payload["histograms"]
        ),
        Chart("merchant_level", "merchant", "12 months of the chosen merchant; colour: tier."),
        Chart("merchant_metrics", "merchant", "The rates behind the tier."),
    ]

    as_json = {key: json.loads(pio.to_json(fig, validate=True)) for key, fig in figures.items()}
    template = json.loads(pio.json.to_json_plotly(pio.templates["plotly_white"].to_plotly_json()))
    for figure in as_json.values():
        figure["layout"].pop("template", None)
    return (
        charts,
        as_json,
        {"template": template, "tierColors": colors, "segmentColors": seg_colors},
    )
