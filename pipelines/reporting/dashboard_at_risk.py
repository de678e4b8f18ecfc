"""The dashboard's "At risk this month" section: the latest preview's at-risk list.

The rows come from ``preview.at_risk`` (written by pipelines/preview_store.py from
pipelines/at_risk.py), so the page shows exactly what ``grading preview`` and the
``at_risk_merchants`` asset computed. The section is shown when the latest preview
projects a month after the last published month shown (a preview of a month since
published is stale); a blocked latest preview shows why instead of a list.

The page embeds at most ``MAX_ROWS`` merchants, those falling furthest first; the full
list is in the warehouse (``preview.at_risk``) and ``<outputs>/preview/at_risk/``.
"""

from __future__ import annotations

import html

import duckdb

from pipelines.warehouse import fetch_frame, fetch_rows

MAX_ROWS = 5000
SECTION_ID = "section-at-risk"

# One row per merchant, its tiers ranked by the policy's order (given as a list, top
# first), worst fall first; the page reads the columns under these short names.
_ROWS_SQL = """
SELECT merchant_id AS id, main_category AS category, published_tier AS "from",
       projected_tier AS "to", provisional, deciding_metrics AS metrics, deciding,
       assessed_orders AS assessed, bad_orders AS bad, bad_order_limit AS "badLimit",
       bad_orders_to_cross AS "badCross", bad_orders_to_recover AS "badRecover",
       seller_dispute_orders AS disputes, dispute_limit AS "disputeLimit",
       disputes_to_cross AS "disputeCross", disputes_to_recover AS "disputeRecover"
FROM preview.at_risk
WHERE month = $month
ORDER BY coalesce(list_position($tiers, projected_tier), 0)
       - coalesce(list_position($tiers, published_tier), 0) DESC,
         list_position($tiers, published_tier), merchant_id
LIMIT $max_rows
"""


def at_risk_payload(
    con: duckdb.DuckDBPyConnection, months: list[str], tiers: list[str]
) -> dict | None:
    """The latest preview's at-risk list for the page, or None when there is no current
    preview (none made, or of a month already published: ``months[-1]`` or earlier)."""
    latest = latest_preview(con)
    if latest is None or latest["month"] <= months[-1]:
        return None
    header = {
        "month": latest["month"],
        "asOf": latest["as_of"].isoformat(),
        "comparedMonth": latest["compared_month"],
        "status": latest["status"],
        "reason": latest["reason"],
        "total": int(latest["at_risk"] or 0),
    }
    if latest["status"] != "projected":
        return {**header, "rows": []}
    rows = fetch_frame(
        con, _ROWS_SQL, {"month": latest["month"], "tiers": tiers, "max_rows": MAX_ROWS}
    )
    return {**header, "rows": rows.to_dicts()}


def latest_preview(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The most recent preview_log row, or None (also when no preview was ever stored;
    works on a read-only connection, which cannot create the schema)."""
    exists = fetch_rows(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'preview' "
        "AND table_name = 'preview_log'",
    )[0][0]
    if not exists:
        return None
    rows = con.execute(
        "SELECT * FROM preview.preview_log ORDER BY made_at DESC, as_of DESC LIMIT 1"
    )
    names = [d[0] for d in rows.description]
    found = rows.fetchall()
    return dict(zip(names, found[0], strict=True)) if found else None


def section_html(payload: dict) -> str:
    """The section's empty frame, filled by at_risk.js; nothing without a current preview."""
    if not payload.get("atRisk"):
        return ""
    note = (
        "Merchants whose tier projected for the running month is below their published "
        "tier, with the conditions they miss and how many bad orders or disputes they are "
        "from the threshold (orders assessed so far stay as they are). Filtered by the "
        "category chosen above."
    )
    return (
        f'<section id="{SECTION_ID}"><h2>At risk this month</h2>'
        f'<p class="note">{html.escape(note)}</p>'
        '<p id="at-risk-summary" class="note"></p>'
        '<div class="at-risk-wrap"><table id="at-risk" class="at-risk"><thead><tr>'
        "<th>Merchant</th><th>Category</th><th>Tier now → projected</th>"
        "<th>Deciding</th><th>Bad orders</th><th>Disputes</th><th>Distance</th>"
        "</tr></thead><tbody></tbody></table></div></section>"
    )
