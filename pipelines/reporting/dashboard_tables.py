"""The markup of the dashboard's table sections: empty containers the page's script fills.

Why apart from ``dashboard_page``: the pivot, compliance, exposure and data-quality
sections are tables (plain numbers an analyst can sort and read), drawn by
``dashboard_assets/dashboard_sections.js`` from the payload of ``dashboard_sections``.
No text from the data is put here: the script writes it with ``textContent``.
"""

from __future__ import annotations

import html

# The sections, in page order after "tiers": (key, title, note). The charts of a section
# (pipelines.reporting.dashboard_figures) come before its tables.
TABLE_SECTIONS = (
    (
        "pivot",
        "Tiers by main category",
        "Merchants per main category and tier in the selected month, with each tier's share "
        "of the category. Click a column header to sort by it.",
    ),
    (
        "compliance",
        "Compliance",
        "Merchants breaking each registration and operating rule in the selected month. "
        "A merchant breaking any rule is ineligible: no exposure weight and no resources.",
    ),
    (
        "exposure",
        "Exposure and resources",
        "How exposure and the discrete resources are shared out in the selected month.",
    ),
    (
        "quality",
        "Data quality",
        "Rows set aside (quarantined) at ingest, per month and dataset, against the policy's "
        "limit; a month over the limit for any dataset is not published.",
    ),
)


def _table(table_id: str, caption: str) -> str:
    """A titled, empty table with a note line above it, both filled by the script."""
    return (
        f'<div class="table-box"><h3>{html.escape(caption)}</h3>'
        f'<p class="note" id="{table_id}-note"></p>'
        f'<table class="numbers" id="{table_id}"></table></div>'
    )


# Each section's tables, by section key.
SECTION_TABLES = {
    "pivot": _table("pivot", "Category × tier, selected month"),
    "compliance": _table("compliance-breaches", "Merchants in breach by rule and category")
    + _table("ineligible", "Ineligible merchants and the rules they break"),
    "exposure": _table("exposure-shares", "Exposure share by tier within each category")
    + _table("resources", "Resources by tier, selected category"),
    "quality": _table("quarantine", "Quarantined rows per month and dataset")
    + _table("unpublished", "Months not published: blocked or failed runs")
    + _table("restated", "Restated months"),
}
