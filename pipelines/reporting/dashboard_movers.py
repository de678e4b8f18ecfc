"""The dashboard's movers: merchants whose tier changed from the previous month, and why.

One SQL query (sql/dashboard/movers.sql) pairs every shown month's grades with the month
before. The deciding conditions are read from the stored ``merchant_grades.reasons``,
which carry the exact counts (``1/112``) and the threshold the merchant was graded
against: for a merchant that went down, this month's reasons (the conditions of the tier
above its new one that it missed); for one that went up, last month's reasons (what held
it back then). The reasons are parsed set-based with polars regular expressions and
dictionary-encoded: the page receives (condition, numerator, denominator) integers and
formats "seller disputes 1/112 = 0.89% ≥ 0.8%" itself.

The page embeds the movers column by column (merchant ids once, in a dictionary; tiers and
categories as indices into the payload's lists; exposure shares as integer parts per
billion), so a month of a million merchants fits. Two caps bound the size (see
docs/decisions/dashboard-movers.md): ``MOVER_ROWS_CAP`` rows of movers, whole months newest
first, and ``EXPLAINED_CAP`` movers with a full explanation, newest month first and the
largest exposure change first. What is left out is a ``grading explain`` away.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from decimal import Decimal

import duckdb
import polars as pl

from pipelines.policy import Policy
from pipelines.reporting.dashboard_metrics import HISTORY_METRICS
from pipelines.reporting.explain import explain_counts, load_counts
from pipelines.sql_files import load_sql
from pipelines.warehouse import bound_params, fetch_frame

# Mover rows embedded in the page, in all: months are taken whole, newest first, while
# they fit; the newest month is always embedded, cut to this many rows if it is larger.
MOVER_ROWS_CAP = 200_000
# Movers with a full explanation (12-month history and the `grading explain` text).
EXPLAINED_CAP = 1_000
# Exposure shares travel as integers: share × SHARE_UNITS, rounded.
SHARE_UNITS = 10**9

# How each stored reason reads; a reason no pattern matches is shown as it is stored.
RATE_REASON = (
    r"^(?P<metric>[a-z_0-9]+) \S+ \((?P<n>\d+)/(?P<d>\d+)\) is (?P<op>not below|below) "
    r"the (?P<bound>\S+) needed for (?P<tier>.+)$"
)
ORDERS_REASON = r"^assessed_orders (?P<n>\d+) is below the (?P<bound>\d+) needed for (?P<tier>.+)$"
PROVISIONAL_REASON = (
    r"^provisional: (?P<n>\d+) assessed orders, fewer than the (?P<bound>\d+) needed to be "
    r"assessed$"
)
# The words the page shows for each metric of a reason.
METRIC_WORDS = {
    "assessed_orders": "assessed orders",
    "provisional": "provisional: assessed orders",
    "bad_order_rate": "bad orders",
    "seller_dispute_rate": "seller disputes",
    "positive_feedback_rate": "positive feedback",
    "dsr_item_avg": "item DSR",
    "on_time_ship_rate": "on-time shipments",
    "response_rate_24h": "messages answered in 24h",
}
# The columns of sql/dashboard/movers.sql.
MOVER_SCHEMA = {
    "month": pl.String,
    "merchant_id": pl.String,
    "main_category": pl.String,
    "tier_before": pl.String,
    "tier_after": pl.String,
    "level_before": pl.Int32,
    "level_after": pl.Int32,
    "share_before": pl.Float64,
    "share_after": pl.Float64,
    "reasons_before": pl.List(pl.String),
    "reasons_after": pl.List(pl.String),
}
# The explanation texts of the explained movers.
TEXT_SCHEMA = {"month": pl.String, "merchant_id": pl.String, "explanation": pl.String}
# Metrics shown as a plain number (an average or a count), not a percentage.
PLAIN_METRICS = ("dsr_item_avg", "assessed_orders", "provisional")


def load_movers(
    con: duckdb.DuckDBPyConnection, months: list[str], previous: list[int], tiers: list[str]
) -> pl.DataFrame:
    """Every mover of every shown month that has its previous month shown, with its
    direction, tier steps and exposure change; in the page's default order (per month:
    down first, the biggest tier step first, then the largest exposure change)."""
    pairs = [(m, months[p]) for m, p in zip(months, previous, strict=True) if p >= 0]
    if not pairs:
        return classify_movers(pl.DataFrame(schema=MOVER_SCHEMA), tiers)
    sql = load_sql("dashboard/movers.sql")
    params = {"months": [m for m, _ in pairs], "previous_months": [p for _, p in pairs]}
    return classify_movers(fetch_frame(con, sql, bound_params(sql, params)), tiers)


def classify_movers(frame: pl.DataFrame, tiers: list[str]) -> pl.DataFrame:
    """Add direction (down: a lower tier than last month), tier steps and exposure change
    to movers.sql's rows, and sort them in the page's default order."""
    rank = {t: i for i, t in enumerate(tiers)}
    steps = pl.col("tier_after").replace_strict(
        rank, default=len(tiers), return_dtype=pl.Int64
    ) - pl.col("tier_before").replace_strict(rank, default=len(tiers), return_dtype=pl.Int64)
    return (
        frame.with_columns(steps.alias("steps"))
        .with_columns(
            pl.when(pl.col("steps") > 0)
            .then(pl.lit("down"))
            .otherwise(pl.lit("up"))
            .alias("direction"),
            (pl.col("share_after") - pl.col("share_before")).alias("share_change"),
        )
        .sort(
            ["month", "steps", "share_change", "merchant_id"],
            descending=[True, True, False, False],
            nulls_last=True,
        )
    )


def embedded_rows(movers: pl.DataFrame, cap: int = MOVER_ROWS_CAP) -> pl.DataFrame:
    """The movers the page embeds: whole months, newest first, while the total stays
    within ``cap``; the newest month always, cut to ``cap`` rows if it is larger.

    ``movers`` must be in load_movers' order (newest month first)."""
    with_totals = movers.with_columns(
        pl.col("month").rank("dense", descending=True).alias("month_rank"),
        pl.int_range(pl.len()).over("month").alias("row_in_month"),
    )
    totals = (
        with_totals.group_by("month_rank")
        .len()
        .sort("month_rank")
        .with_columns(pl.col("len").cum_sum().alias("running_total"))
    )
    return (
        with_totals.join(totals, on="month_rank")
        .filter(
            ((pl.col("month_rank") == 1) & (pl.col("row_in_month") < cap))
            | (pl.col("running_total") <= cap)
        )
        .drop("len", "running_total")
    )


def explained_pairs(embedded: pl.DataFrame, cap: int = EXPLAINED_CAP) -> pl.DataFrame:
    """(month, merchant_id) of the movers given a full explanation: the newest month first,
    and within a month the largest exposure change (either way) first."""
    return (
        embedded.sort(
            [pl.col("month"), pl.col("share_change").abs(), pl.col("merchant_id")],
            descending=[True, True, False],
        )
        .head(cap)
        .select("month", "merchant_id")
    )


def parse_reasons(movers: pl.DataFrame) -> pl.DataFrame:
    """One row per deciding reason of each mover (row ``row``): down, this month's
    reasons; up, last month's. Columns: row, text, kind, metric, op, bound, tier, n, d."""
    deciding = pl.when(pl.col("direction") == "down").then("reasons_after")
    exploded = (
        movers.with_row_index("row")
        .select("row", deciding.otherwise("reasons_before").alias("text"))
        .explode("text")
        .drop_nulls("text")
    )
    text = pl.col("text")
    rate = text.str.extract_groups(RATE_REASON)
    orders = text.str.extract_groups(ORDERS_REASON)
    provisional = text.str.extract_groups(PROVISIONAL_REASON)
    parsed = exploded.select(
        "row",
        "text",
        pl.when(rate.struct.field("metric").is_not_null())
        .then(pl.lit("rate"))
        .when(orders.struct.field("n").is_not_null())
        .then(pl.lit("orders"))
        .when(provisional.struct.field("n").is_not_null())
        .then(pl.lit("provisional"))
        .otherwise(pl.lit("text"))
        .alias("kind"),
        pl.coalesce(
            rate.struct.field("metric"),
            pl.when(orders.struct.field("n").is_not_null()).then(pl.lit("assessed_orders")),
            pl.when(provisional.struct.field("n").is_not_null()).then(pl.lit("provisional")),
        ).alias("metric"),
        pl.coalesce(
            rate.struct.field("op"),
            pl.when(orders.struct.field("n").is_not_null()).then(pl.lit("below")),
            pl.when(provisional.struct.field("n").is_not_null()).then(pl.lit("below")),
        ).alias("op"),
        pl.coalesce(
            rate.struct.field("bound"),
            orders.struct.field("bound"),
            provisional.struct.field("bound"),
        ).alias("bound"),
        pl.coalesce(rate.struct.field("tier"), orders.struct.field("tier")).alias("tier"),
        pl.coalesce(rate.struct.field("n"), orders.struct.field("n"), provisional.struct.field("n"))
        .cast(pl.Int64)
        .fill_null(0)
        .alias("n"),
        rate.struct.field("d").cast(pl.Int64).fill_null(0).alias("d"),
    )
    # A provisional merchant's reasons also say its assessed orders miss the tier above
    # by the same count: the provisional reason says it already.
    repeated = (
        (pl.col("kind") == "orders")
        & (pl.col("kind") == "provisional").any().over("row")
        & (pl.col("n") == pl.col("n").filter(pl.col("kind") == "provisional").first().over("row"))
    )
    return parsed.filter(~repeated)


def condition_entry(kind: str, metric: str | None, op: str | None, bound: str | None) -> dict:
    """How the page shows one kind of condition: its words, the comparison the merchant
    met (a missed "< 0.008" reads "≥ 0.8%"), the threshold in the unit shown, and the
    decimals that keep a truncated value on the right side of that threshold."""
    if kind == "text":
        return {"kind": "text"}
    plain = metric in PLAIN_METRICS
    threshold = Decimal(bound) if plain else Decimal(bound) * 100
    text = format(threshold.normalize(), "f")
    decimals = max(2, -threshold.normalize().as_tuple().exponent)
    return {
        "kind": kind,
        "label": METRIC_WORDS.get(metric, str(metric)),
        "op": "\u2265" if op == "not below" else "<",
        "bound": text if plain else f"{text}%",
        "scale": 1 if plain else 100,
        "unit": "" if plain else "%",
        "decimals": decimals,
    }


def encode_reasons(reasons: pl.DataFrame) -> tuple[pl.DataFrame, list[dict]]:
    """Dictionary-encode the parsed reasons: each row gets ``condition`` (an index into the
    returned list); an unparsed reason is its own entry, keeping its stored text."""
    key = pl.when(pl.col("kind") == "text").then(pl.col("text"))
    keyed = reasons.with_columns(
        pl.concat_str(
            [pl.col("kind"), pl.col("metric"), pl.col("op"), pl.col("bound"), key],
            separator="|",
            ignore_nulls=True,
        ).alias("key")
    )
    dictionary = (
        keyed.group_by("key")
        .agg(pl.col("kind", "metric", "op", "bound", "text").first())
        .sort("key")
        .with_row_index("condition")
    )
    entries = [
        {**condition_entry(kind, metric, op, bound), **({"text": text} if kind == "text" else {})}
        for kind, metric, op, bound, text in dictionary.select(
            "kind", "metric", "op", "bound", "text"
        ).iter_rows()
    ]
    encoded = keyed.with_row_index("order").join(dictionary.select("key", "condition"), on="key")
    return encoded.sort("order").drop("order"), entries


def history_rows(
    con: duckdb.DuckDBPyConnection,
    pairs: pl.DataFrame,
    months: list[str],
    tiers: list[str],
    policy: Policy,
    window_days: Mapping[str, int] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """For the explained movers: each merchant's 12-month history (columnar, one list per
    column and merchant) and the explanation text of each (month, merchant) pair."""
    merchants = pairs["merchant_id"].unique().sort().to_list()
    if not merchants:
        return pl.DataFrame(schema={"merchant_id": pl.String}), pl.DataFrame(schema=TEXT_SCHEMA)
    counts = load_counts(con, merchants, months, policy, window_days)
    wanted = counts.join(pairs, on=["month", "merchant_id"], how="semi")
    explanations = explain_counts(wanted, policy)
    texts = pl.DataFrame(
        {
            "month": [e.month for e in explanations],
            "merchant_id": [e.merchant_id for e in explanations],
            "explanation": [e.text() for e in explanations],
        },
        schema=TEXT_SCHEMA,
    )
    rank = {t: i for i, t in enumerate(tiers)}
    grid = (
        pl.DataFrame({"merchant_id": merchants})
        .join(pl.DataFrame({"month": months}), how="cross")
        .join(counts, on=["merchant_id", "month"], how="left")
        .sort("merchant_id", "month")
    )
    history = grid.group_by("merchant_id", maintain_order=True).agg(
        pl.col("main_category").drop_nulls().last().alias("category"),
        pl.col("tier").replace_strict(rank, default=None, return_dtype=pl.Int64),
        "level",
        "credit_points",
        pl.col("provisional").cast(pl.Int8),
        # Cut to 6 decimals, not rounded: the page cuts again to what it shows, so 3/112
        # reads 2.67% as in the explanation (1e-6 keeps 0.29 from becoming 0.289999).
        *(((pl.col(m) * 1_000_000 + 1e-6).floor() / 1_000_000).alias(m) for m in HISTORY_METRICS),
    )
    return history, texts


def movers_payload(
    con: duckdb.DuckDBPyConnection,
    months: list[str],
    previous: list[int],
    tiers: list[str],
    categories: list[str],
    policy: Policy,
    window_days: Mapping[str, int] | None = None,
) -> dict:
    """The movers section's data, read from the warehouse and encoded for the page
    (``window_days``: each month's graded window, for the explanations)."""
    movers = load_movers(con, months, previous, tiers)
    embedded = embedded_rows(movers)
    pairs = explained_pairs(embedded)
    history, texts = history_rows(con, pairs, months, tiers, policy, window_days)
    return encode_movers(movers, embedded, history, texts, months, previous, tiers, categories)


def encode_movers(
    movers: pl.DataFrame,
    embedded: pl.DataFrame,
    history: pl.DataFrame,
    texts: pl.DataFrame,
    months: list[str],
    previous: list[int],
    tiers: list[str],
    categories: list[str],
) -> dict:
    """The JSON-ready movers section: per shown month either None (no previous month) or
    its totals and, when embedded, its rows column by column; the condition and merchant
    dictionaries; and the explained movers' history and texts.

    Pure (no warehouse), so the size at a million merchants is tested on synthetic frames.
    """
    embedded = embedded.sort("month", "row_in_month", descending=[False, False])
    ids = pl.concat([embedded["merchant_id"], history["merchant_id"]]).unique().sort().to_list()
    id_index = {m: i for i, m in enumerate(ids)}
    category_index = {c: i + 1 for i, c in enumerate(categories)}
    tier_index = {t: i for i, t in enumerate(tiers)}
    reasons, conditions = encode_reasons(parse_reasons(embedded))
    rows = embedded.with_row_index("row").with_columns(
        pl.col("merchant_id").replace_strict(id_index, return_dtype=pl.Int64).alias("merchant"),
        pl.col("main_category")
        .replace_strict(category_index, default=0, return_dtype=pl.Int64)
        .alias("category"),
        *(
            pl.col(c).replace_strict(tier_index, default=None, return_dtype=pl.Int64)
            for c in ("tier_before", "tier_after")
        ),
        *(
            (pl.col(c) * SHARE_UNITS).round(0).cast(pl.Int64)
            for c in ("share_before", "share_after")
        ),
    )
    rows = rows.join(reasons.group_by("row").agg("condition", "n", "d"), on="row", how="left").join(
        texts, on=["month", "merchant_id"], how="left"
    )
    totals = movers.group_by("month", "direction").len()
    by_month = [
        _month_block(rows.filter(pl.col("month") == month), totals, month) if before >= 0 else None
        for month, before in zip(months, previous, strict=True)
    ]
    return {
        "ids": ids,
        "conditions": conditions,
        "shareUnits": SHARE_UNITS,
        "caps": {"rows": MOVER_ROWS_CAP, "explained": EXPLAINED_CAP},
        "months": by_month,
        "history": _history_block(history, id_index),
    }


def _month_block(rows: pl.DataFrame, totals: pl.DataFrame, month: str) -> dict:
    """One month's totals by direction and its embedded rows, column by column."""
    count = dict(totals.filter(pl.col("month") == month).select("direction", "len").iter_rows())
    rows = rows.sort("row")
    explained = rows.with_row_index("position").filter(pl.col("explanation").is_not_null())
    return {
        "down": count.get("down", 0),
        "up": count.get("up", 0),
        "rows": rows.height,
        "merchant": rows["merchant"].to_list(),
        "category": rows["category"].to_list(),
        "tierBefore": rows["tier_before"].to_list(),
        "tierAfter": rows["tier_after"].to_list(),
        "levelBefore": rows["level_before"].to_list(),
        "levelAfter": rows["level_after"].to_list(),
        "shareBefore": rows["share_before"].to_list(),
        "shareAfter": rows["share_after"].to_list(),
        "reasonCount": rows["condition"].list.len().fill_null(0).to_list(),
        "reasonCondition": rows["condition"].explode().drop_nulls().to_list(),
        "reasonN": rows["n"].explode().drop_nulls().to_list(),
        "reasonD": rows["d"].explode().drop_nulls().to_list(),
        "explained": explained["position"].to_list(),
        "explanation": explained["explanation"].to_list(),
    }


def _history_block(history: pl.DataFrame, id_index: dict[str, int]) -> dict:
    """The explained movers' months, one list per column and merchant."""
    if history.is_empty():
        return {"merchant": []}
    return {
        "merchant": history["merchant_id"].replace_strict(id_index).to_list(),
        **{
            column: history[column].to_list()
            for column in history.columns
            if column != "merchant_id"
        },
    }


# The section's columns: (sort key the script knows, heading).
COLUMNS = (
    ("merchant", "Merchant"),
    ("category", "Main category"),
    ("tier", "Tier before \u2192 after"),
    ("level", "Level before \u2192 after"),
    ("deciding", "Deciding metrics"),
    ("share", "Exposure share before \u2192 after"),
)
NOTE = (
    "Merchants whose tier changed from the previous month, for the month and category "
    "chosen above. Deciding metrics: for a merchant that went down, the conditions of the "
    "tier above its new one that it missed this month; for one that went up, what held it "
    "back the month before. Exposure share: within the merchant's category. Click a heading "
    "to sort, a row for that merchant's explanation."
)


def movers_section_html() -> str:
    """The movers section's markup: no data in it (movers.js fills the table)."""
    headings = "".join(
        f'<th data-sort="{key}" aria-sort="none">{html.escape(label)}</th>'
        for key, label in COLUMNS
    )
    return (
        '<section id="section-movers"><h2>Movers</h2>'
        f'<p class="note">{html.escape(NOTE)}</p>'
        '<div class="controls">'
        '<label>Direction <select id="movers-direction"><option value="all">down and up'
        '</option><option value="down">down</option><option value="up">up</option>'
        "</select></label>"
        '<label>Merchant id <input id="movers-search" type="search" autocomplete="off" '
        'placeholder="search"></label>'
        '<a id="movers-csv" href="#" download="movers.csv">Download CSV</a>'
        "</div>"
        '<p id="movers-note" class="note"></p>'
        f'<div class="movers-wrap"><table id="movers-table"><thead><tr>{headings}</tr>'
        "</thead><tbody></tbody></table></div>"
        '<div class="movers-pager"><button id="movers-prev" type="button">Previous</button>'
        '<span id="movers-page"></span><button id="movers-next" type="button">Next</button>'
        "</div>"
        '<div id="movers-detail" hidden><h3 id="movers-detail-title"></h3>'
        '<table id="movers-history"></table>'
        '<pre id="movers-explanation" class="explanation"></pre></div>'
        "</section>"
    )
