"""Plotly set-up for the analyst notebooks: one renderer, one palette.

Why: with plotly's default renderer in a Jupyter kernel (``plotly_mimetype``) a figure is
stored only as plotly's own JSON mimetype. JupyterLab draws it, but ``jupyter nbconvert
--to html`` does not know that mimetype, so an exported notebook showed no plot at all.
Plotly's ``notebook`` renderer adds an HTML rendering, but each figure then loads MathJax
from a CDN, and ``notebook_connected`` loads plotly.js from one: an export read offline
shows errors or nothing. The renderer here adds the HTML rendering with plotly.js embedded
once (in the first cell that draws a figure) and no network reference at all, next to the
mimetype that JupyterLab prefers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.io as pio
import polars as pl
from plotly.io._base_renderers import HtmlRenderer

from pipelines.reporting.tier_palette import PROVISIONAL_COLOR, tier_colors

OFFLINE_RENDERER = "notebook_offline"
# JupyterLab shows the mimetype (its plotly extension); an HTML export shows the HTML.
NOTEBOOK_RENDERERS = f"plotly_mimetype+{OFFLINE_RENDERER}"
FIGURE_HEIGHT = 525


class OfflineNotebookRenderer(HtmlRenderer):
    """Figures as HTML that needs no network: plotly.js is embedded once per notebook (on
    activation), and no figure refers to MathJax on a CDN (the notebooks use no LaTeX)."""

    def __init__(self) -> None:
        super().__init__(connected=False, full_html=False, global_init=True)

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, str]:
        html = pio.to_html(
            fig_dict,
            config=self.config,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            default_width="100%",
            default_height=FIGURE_HEIGHT,
            validate=False,
        )
        return {"text/html": html}


def use_notebook_renderer() -> str:
    """Make plotly draw for JupyterLab and for an offline HTML export; return the setting."""
    pio.renderers[OFFLINE_RENDERER] = OfflineNotebookRenderer()
    pio.renderers.default = NOTEBOOK_RENDERERS
    return pio.renderers.default


def provisional_label(tier: str) -> str:
    """How provisional merchants are named in charts and tables: apart from the graded ones
    of the tier they were given, e.g. "passing (provisional)"."""
    return f"{tier} (provisional)"


def tier_color_map(tier_names: Sequence[str], provisional_tier: str | None = None) -> dict:
    """The dashboard's colour-blind-safe colours for the policy's tiers (best first), plus
    the provisional segment of ``provisional_tier`` when given."""
    colors = tier_colors(tier_names)
    if provisional_tier is not None:
        colors[provisional_label(provisional_tier)] = PROVISIONAL_COLOR
    return colors


def tier_segment() -> pl.Expr:
    """Each grade's segment: its tier, or e.g. "passing (provisional)" when provisional
    (the ``provisional_label`` of its tier), from ``tier`` and ``provisional`` columns."""
    return (
        pl.when(pl.col("provisional"))
        .then(pl.format(provisional_label("{}"), pl.col("tier")))
        .otherwise(pl.col("tier"))
        .alias("segment")
    )
