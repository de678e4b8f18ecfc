"""Synthetic landing folders in the data contract (spec §1), for demos, tests and load runs.

Why a generator: the conformance fixture is small and hand-made; to see the grading show a real
spread (levels L0-L10, all four service tiers, every compliance rule) and to time the pipeline
at 10 million orders a month we need data that looks like a marketplace, is reproducible byte
for byte from a seed, and carries a few bad rows of every quarantine kind so the ingest checks
are exercised on every run.

Design choices:
- Every random draw comes from ``np.random.default_rng([seed, dataset, month, chunk])``: each
  chunk has its own stream, so the output does not depend on chunk processing order and a
  chunk can be regenerated alone.
- Everything is vectorised with numpy (draws) and polars (strings, formatting); Python loops
  only run over months, datasets and chunks, never over rows.
- Orders are written in chunks of at most ``chunk_orders`` (one Parquet file each); feedback
  and bad-order records of a chunk are split by the month of their own timestamp, because a
  review written on 3 February for a January order belongs in the February folder.
- Merchants stay clean (no bad rows) so that every merchant is graded.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

DATASETS = ("merchants", "orders", "feedback", "bad_orders", "service_metrics")
CHUNK_ORDERS = 5_000_000  # orders per Parquet file: bounds memory at ~1-2 GB
MIN_CHUNK_ORDERS = 1_000
CSV_MAX_ROWS = 2_000  # the CSV file of a dataset and month stays small
CSV_SHARE = 50  # ... and holds about 1/50 of the month's rows of the first chunk
MIN_MERCHANTS = 50  # room for the crafted compliance cases
MIN_ORDERS_PER_MONTH = 1_000  # room for the crafted bad rows
ORDERS_PER_MERCHANT = 50  # default orders_per_month = 50 * merchants

US = 1_000_000  # microseconds per second
DAY_S = 86_400
DAY_US = DAY_S * US

TS = pl.Datetime("us", "UTC")
TS_ARROW = pa.timestamp("us", tz="UTC")

# Internal (polars) schemas. Amounts travel as integer cents so that they are exact; they become
# decimal128(12, 2) in Parquet and "12.34" text in CSV.
FRAME_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "merchants": {
        "merchant_id": pl.String(),
        "account_type": pl.String(),
        "auth_entity_id": pl.String(),
        "real_name_verified": pl.Boolean(),
        "collection_account_set": pl.Boolean(),
        "sales_plan": pl.String(),
        "store_type": pl.String(),
        "main_category": pl.String(),
        "product_count": pl.Int64(),
        "status": pl.String(),
        "registered_at": TS,
    },
    "orders": {
        "order_id": pl.String(),
        "merchant_id": pl.String(),
        "buyer_id": pl.String(),
        "created_at": TS,
        "ended_at": TS,
        "status": pl.String(),
        "amount_cents": pl.Int64(),
    },
    "feedback": {
        "order_id": pl.String(),
        "merchant_id": pl.String(),
        "buyer_id": pl.String(),
        "stars": pl.Int64(),
        "feedback_at": TS,
    },
    "bad_orders": {
        "order_id": pl.String(),
        "merchant_id": pl.String(),
        "reason": pl.String(),
        "recorded_at": TS,
        "exempt": pl.Boolean(),
    },
    "service_metrics": {
        "merchant_id": pl.String(),
        "metric_date": pl.Date(),
        "messages_received": pl.Int64(),
        "messages_replied_24h": pl.Int64(),
        "dsr_item_sum": pl.Int64(),
        "dsr_item_count": pl.Int64(),
        "shipments_due": pl.Int64(),
        "shipments_on_time": pl.Int64(),
    },
}

_ARROW_TYPES = {
    pl.String(): pa.string(),
    pl.Boolean(): pa.bool_(),
    pl.Int64(): pa.int64(),
    pl.Date(): pa.date32(),
    TS: TS_ARROW,
}

# Parquet schemas, in the column order of spec §1.
SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema(
        [
            ("amount_usd", pa.decimal128(12, 2))
            if col == "amount_cents"
            else (col, _ARROW_TYPES[dtype])
            for col, dtype in cols.items()
        ]
    )
    for name, cols in FRAME_SCHEMAS.items()
}

# CSV files list the columns in reverse order: readers must go by header name, not position.
CSV_COLUMNS: dict[str, list[str]] = {name: schema.names[::-1] for name, schema in SCHEMAS.items()}

# Deliberate bad rows written to the CSV file of every month (counts per month). "exact_duplicate"
# rows collapse into their original; every other row is quarantined, and "duplicate_key" also
# quarantines its original (which sits in a Parquet file of the same month).
BAD_ROWS_PER_MONTH: dict[str, dict[str, int]] = {
    "merchants": {},
    "orders": {
        "null_key": 1,  # order_id empty
        "bad_value:status": 1,  # status 'shipped'
        "bad_value:negative_amount": 1,
        "bad_value:ended_before_created": 1,
        "unknown_merchant": 1,
        "duplicate_key": 1,  # cancelled order re-sent with another amount
        "exact_duplicate": 1,
        "wrong_month": 1,  # ended_at in the next month
    },
    "feedback": {
        "null_key": 1,
        "bad_value:stars": 2,  # stars 0 and 6
        "unknown_order": 1,
        "order_not_completed": 1,  # feedback on a cancelled order
        "duplicate_key": 1,  # same order, other stars
        "exact_duplicate": 1,
        "wrong_month": 1,  # feedback_at in the next month
    },
    "bad_orders": {
        "bad_value:reason": 1,  # reason 'late_delivery'
        "unknown_order": 1,
        "exact_duplicate": 1,
    },
    "service_metrics": {
        "null_key": 1,
        "bad_value:replied_gt_received": 1,
        "bad_value:on_time_gt_due": 1,
        "bad_value:dsr_sum_out_of_range": 1,
        "bad_value:negative_count": 1,
        "unknown_merchant": 1,
        "duplicate_key": 1,  # same merchant and day, one more message
        "exact_duplicate": 1,
        "wrong_month": 1,  # metric_date in the next month
    },
}

ACCOUNT_TYPES = ("individual", "enterprise")
SALES_PLANS = ("basic", "standard")
STORE_TYPES = ("official", "exclusive", "specialty", "other")
STORE_TYPE_P = (0.08, 0.14, 0.33, 0.45)
CATEGORIES = ("apparel", "electronics", "home", "beauty", "toys", "sports")
CATEGORY_P = (0.24, 0.20, 0.18, 0.15, 0.12, 0.11)
MERCHANT_STATUSES = ("active", "suspended", "banned", "terminated")
ACTIVE, SUSPENDED, BANNED, TERMINATED = range(4)
ORDER_STATUSES = ("completed", "cancelled", "refunded")
COMPLETED, CANCELLED, REFUNDED = range(3)
REASONS = (
    "negative_feedback",
    "low_dsr",
    "seller_cancelled",
    "late_shipment",
    "seller_responsible_dispute",
    "dispute_no_response",
)
SELLER_DISPUTE = 4
NON_DISPUTE = np.array([0, 1, 2, 3, 5], dtype=np.int8)  # reason codes, dispute excluded
NON_DISPUTE_P = (0.24, 0.20, 0.14, 0.32, 0.10)
SELLER_CANCELLED_IDX = 2  # index of 'seller_cancelled' in NON_DISPUTE

# Quality profiles (excellent, good, passing, failing), set so that each one tends to land in
# its tier of spec §5; per-merchant jitter and small samples blur the borders, as in real life.
PROFILE_P = (0.35, 0.30, 0.20, 0.15)
PROFILES: dict[str, tuple[float, float, float, float]] = {
    "cancel_p": (0.020, 0.035, 0.050, 0.080),
    "refund_p": (0.015, 0.025, 0.035, 0.050),
    "bad_p": (0.010, 0.035, 0.070, 0.150),  # orders with a non-dispute bad record
    "dispute_p": (0.0008, 0.0015, 0.0025, 0.012),  # orders with a seller dispute
    "neg_p": (0.008, 0.025, 0.050, 0.120),  # feedback with 1-2 stars
    "neu_p": (0.020, 0.040, 0.050, 0.070),  # feedback with 3 stars
    "resp_p": (0.93, 0.80, 0.72, 0.55),
    "ontime_p": (0.985, 0.935, 0.88, 0.78),
    "dsr_mean": (4.85, 4.62, 4.35, 3.90),
}
FEEDBACK_SHARE = 0.6  # of completed orders
EXEMPT_SHARE = 0.05  # of bad-order records
LOYAL_SHARE = 0.15  # orders placed by one of a merchant's five regular buyers
CSV_OFFSET_SHARE = 0.3  # CSV timestamps written with a +08:00 offset
CSV_NUMERIC_BOOL_SHARE = 0.4  # CSV booleans written as 1/0
FRESH_SEQ = 900_000_000  # order numbers of the crafted rows that exist only as bad rows
UNKNOWN_SEQ = 990_000_000  # order numbers that exist nowhere (unknown_order)

# Stream ids for _rng, one per kind of draw.
S_MERCHANTS, S_STATUS, S_ORDERS, S_SERVICE, S_CSV, S_PICK = range(1, 7)
DATASET_CODE = {name: i for i, name in enumerate(DATASETS)}

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# --------------------------------------------------------------------------------------------
# Months
# --------------------------------------------------------------------------------------------


def _month_number(text: str) -> int:
    """'2026-03' -> months since year 0, so that month ranges are plain integer ranges."""
    match = _MONTH_RE.match(text.strip())
    if match is None:
        raise ValueError(f"bad month {text!r}: expected YYYY-MM, e.g. 2026-01")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def _month_text(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def parse_month_range(text: str) -> list[str]:
    """Parse 'YYYY-MM..YYYY-MM' (inclusive) or a single 'YYYY-MM' into consecutive months.

    >>> parse_month_range("2025-12..2026-02")
    ['2025-12', '2026-01', '2026-02']
    """
    parts = text.strip().split("..")
    if len(parts) > 2:
        raise ValueError(f"bad month range {text!r}: expected YYYY-MM or YYYY-MM..YYYY-MM")
    first, last = _month_number(parts[0]), _month_number(parts[-1])
    if last < first:
        raise ValueError(f"bad month range {text!r}: the end month is before the start month")
    return [_month_text(n) for n in range(first, last + 1)]


@dataclass(frozen=True)
class _Calendar:
    """The generated months and their bounds in epoch microseconds (UTC)."""

    months: list[str]
    bounds: np.ndarray  # len(months) + 1 month starts; bounds[-1] = end of the last month

    @classmethod
    def of(cls, months: list[str]) -> _Calendar:
        if not months:
            raise ValueError("months is empty: give at least one 'YYYY-MM'")
        numbers = [_month_number(m) for m in months]
        if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
            raise ValueError(f"months must be consecutive and ascending, got {months}")
        edges = [*numbers, numbers[-1] + 1]
        starts = np.array([_month_text(n) for n in edges], dtype="datetime64[M]")
        bounds = starts.astype("datetime64[us]").astype(np.int64)
        return cls([_month_text(n) for n in numbers], bounds)

    def start(self, k: int) -> int:
        return int(self.bounds[k])

    def end(self, k: int) -> int:
        return int(self.bounds[k + 1])

    def days(self, k: int) -> int:
        return (self.end(k) - self.start(k)) // DAY_US

    def next_start(self, k: int) -> int:
        """Start of the month after k, even past the generated range (for wrong-month rows)."""
        nxt = np.datetime64(self.months[k], "M") + 1
        return int(nxt.astype("datetime64[us]").astype(np.int64))

    def month_of(self, us: np.ndarray) -> np.ndarray:
        """Index of the generated month holding each timestamp (-1 / len before / after)."""
        return np.searchsorted(self.bounds, us, side="right") - 1


def _rng(seed: int, *keys: int) -> np.random.Generator:
    """A reproducible stream for one (kind of draw, month, chunk): independent of run order."""
    return np.random.default_rng([seed, *keys])


# --------------------------------------------------------------------------------------------
# Merchants
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Merchants:
    """The merchant population: attributes, monthly statuses, size and quality."""

    ids: pl.Series  # merchant_id strings, index = merchant number
    static: pl.DataFrame  # attributes that never change
    product_count: np.ndarray
    growth: np.ndarray  # monthly product_count growth rate
    status: list[np.ndarray]  # per generated month, codes into MERCHANT_STATUSES
    weight: np.ndarray  # share of orders before the status mask (heavy-tailed)
    quality: dict[str, np.ndarray]  # per-merchant draws of PROFILES
    always_banned: int  # a merchant banned in every month
    id_width: int

    def unknown_id(self, j: int) -> str:
        """An id that no merchants snapshot holds."""
        return f"M{len(self.ids) + 1000 + j:0{self.id_width}d}"

    def snapshot(self, k: int) -> pl.DataFrame:
        """The month-k snapshot: same ids and attributes, current status and product count."""
        count = np.where(
            self.product_count > 10,
            np.floor(self.product_count * (1.0 + self.growth) ** k),
            self.product_count,
        ).astype(np.int64)
        return self.static.with_columns(
            product_count=pl.Series(count),
            status=_labels(MERCHANT_STATUSES, self.status[k]),
        ).select(list(FRAME_SCHEMAS["merchants"]))


def _labels(names: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """Map small integer codes to their labels without a Python loop."""
    return pl.Series(list(names), dtype=pl.String).gather(pl.Series(codes.astype(np.uint32)))


def _prefixed(prefix: str, numbers: np.ndarray, width: int = 0) -> pl.Series:
    """Vectorised f'{prefix}{n:0{width}d}'."""
    text = pl.Series(numbers.astype(np.int64)).cast(pl.String)
    if width:
        text = text.str.zfill(width)
    return pl.select(pl.lit(prefix) + pl.lit(text)).to_series()


def _build_merchants(n: int, cal: _Calendar, seed: int) -> _Merchants:
    """Draw the population once; monthly snapshots derive from it, so ids stay stable."""
    rng = _rng(seed, S_MERCHANTS)
    width = max(7, len(str(n + 10_000)))
    enterprise = rng.random(n) < 0.3
    entity = np.arange(1, n + 1, dtype=np.int64)
    verified = np.ones(n, dtype=bool)
    collection = np.ones(n, dtype=bool)
    products = np.clip(np.rint(rng.lognormal(np.log(150), 1.1, n)), 11, 200_000).astype(np.int64)
    status = _base_status(rng, n)
    first = cal.start(0) // US
    registered = rng.integers(1_514_764_800, first - 30 * DAY_S, n) * US  # since 2018-01-01
    locked, always_banned = _craft(rng, enterprise, entity, verified, collection, products, status)
    plan = np.where(rng.random(n) < np.where(enterprise, 0.7, 0.25), 1, 0)
    static = pl.DataFrame(
        {
            "merchant_id": _prefixed("M", np.arange(1, n + 1), width),
            "account_type": _labels(ACCOUNT_TYPES, enterprise.astype(np.int8)),
            "auth_entity_id": _prefixed("E", entity, width),
            "real_name_verified": verified,
            "collection_account_set": collection,
            "sales_plan": _labels(SALES_PLANS, plan),
            "store_type": _labels(STORE_TYPES, rng.choice(4, n, p=STORE_TYPE_P)),
            "main_category": _labels(CATEGORIES, rng.choice(6, n, p=CATEGORY_P)),
            "registered_at": pl.Series(registered).cast(TS),
        }
    )
    rank = rng.permutation(n) + 1
    weight = np.exp(rng.normal(0.0, 0.8, n)) / rank  # Zipf by rank, blurred
    return _Merchants(
        ids=static["merchant_id"],
        static=static,
        product_count=products,
        growth=rng.uniform(0.0, 0.03, n),
        status=_monthly_status(status, locked, cal, seed),
        weight=weight,
        quality=_draw_quality(rng, n),
        always_banned=always_banned,
        id_width=width,
    )


def _base_status(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mostly active; a few suspended, banned and terminated accounts."""
    u = rng.random(n)
    return np.select([u < 0.015, u < 0.022, u < 0.030], [SUSPENDED, BANNED, TERMINATED], ACTIVE)


def _craft(
    rng: np.random.Generator,
    enterprise: np.ndarray,
    entity: np.ndarray,
    verified: np.ndarray,
    collection: np.ndarray,
    products: np.ndarray,
    status: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Make every compliance rule of spec §6 fire for a few accounts (arrays edited in place).

    Returns the mask of crafted accounts (their status never changes, so the cases persist
    every month) and one always-banned account.
    """
    n = len(entity)
    order = rng.permutation(n)
    k_flag, g_ind = max(2, n // 400), max(2, n // 1000)  # flagged accounts, individual groups
    g_ent, g_ban = max(1, n // 20_000), max(1, n // 2000)  # enterprise groups, banned entities
    taken = 0

    def take(count: int) -> np.ndarray:
        nonlocal taken
        picked = order[taken : taken + count]
        taken += count
        return picked

    verified[take(k_flag)] = False
    collection[take(k_flag)] = False
    products[take(k_flag)] = rng.integers(0, 11, k_flag)
    _share_entity(take, enterprise, entity, 2 + np.arange(g_ind) % 2, is_enterprise=False)
    _share_entity(take, enterprise, entity, np.full(g_ent, 8), is_enterprise=True)
    pairs = take(2 * g_ban).reshape(g_ban, 2)
    entity[pairs[:, 1]] = entity[pairs[:, 0]]
    crafted = order[:taken]
    status[crafted] = ACTIVE
    status[pairs[:, 0]] = BANNED
    locked = np.zeros(n, dtype=bool)
    locked[crafted] = True
    return locked, int(pairs[0, 0])


def _share_entity(
    take: Callable[[int], np.ndarray],
    enterprise: np.ndarray,
    entity: np.ndarray,
    sizes: np.ndarray,
    *,
    is_enterprise: bool,
) -> None:
    """Give groups of accounts (of the given sizes) one auth_entity_id and account type."""
    members = take(int(sizes.sum()))
    group = np.repeat(np.arange(len(sizes)), sizes)
    leader = members[np.concatenate([[0], np.cumsum(sizes)[:-1]])]
    entity[members] = entity[leader[group]]
    enterprise[members] = is_enterprise


def _monthly_status(
    base: np.ndarray, locked: np.ndarray, cal: _Calendar, seed: int
) -> list[np.ndarray]:
    """Statuses per month: a few suspensions, reinstatements, bans and terminations."""
    out = [base.astype(np.int8)]
    for k in range(1, len(cal.months)):
        rng = _rng(seed, S_STATUS, k)
        prev = out[-1]
        u = rng.random(len(prev))
        nxt = prev.copy()
        nxt[(prev == ACTIVE) & (u < 0.004)] = SUSPENDED
        nxt[(prev == ACTIVE) & (u >= 0.004) & (u < 0.005)] = TERMINATED
        nxt[(prev == SUSPENDED) & (u < 0.25)] = ACTIVE
        nxt[(prev == SUSPENDED) & (u >= 0.25) & (u < 0.30)] = BANNED
        nxt[locked] = prev[locked]
        out.append(nxt)
    return out


def _draw_quality(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per-merchant service quality: a profile, then jitter so tiers do not form hard bins."""
    profile = rng.choice(4, n, p=PROFILE_P)
    quality: dict[str, np.ndarray] = {}
    for name, values in PROFILES.items():
        base = np.asarray(values)[profile]
        if name == "dsr_mean":
            quality[name] = np.clip(base + rng.normal(0.0, 0.08, n), 1.0, 5.0)
        elif name in ("resp_p", "ontime_p"):
            quality[name] = np.clip(base + rng.normal(0.0, 0.03, n), 0.0, 1.0)
        else:
            quality[name] = np.clip(base * rng.lognormal(0.0, 0.25, n), 0.0, 0.5)
    quality["profile"] = profile
    return quality


# --------------------------------------------------------------------------------------------
# Orders, feedback and bad-order records (numpy arrays per chunk)
# --------------------------------------------------------------------------------------------


@dataclass
class _Orders:
    """One chunk of orders as arrays; strings are only built when a frame is written."""

    tag: str  # 'YYYYMM' of the month: order_id = 'O' + tag + 9-digit sequence
    merchant: np.ndarray
    seq: np.ndarray
    buyer: np.ndarray
    created: np.ndarray  # epoch us
    ended: np.ndarray
    status: np.ndarray
    cents: np.ndarray


@dataclass
class _Records:
    """Feedback or bad-order records of a chunk: positions into the chunk's orders."""

    pos: np.ndarray
    at: np.ndarray  # feedback_at / recorded_at, epoch us
    value: np.ndarray  # stars / reason code
    exempt: np.ndarray | None = None


def _draw_orders(
    rng: np.random.Generator,
    mer: _Merchants,
    share: np.ndarray,
    n: int,
    seq0: int,
    bounds: tuple[int, int],
    buyers: int,
    tag: str,
) -> _Orders:
    """Orders ended in one month. Counts per merchant follow the heavy-tailed share."""
    counts = rng.multinomial(n, share)
    merchant = np.repeat(np.arange(len(share), dtype=np.int32), counts)
    start, end = bounds
    ended = start + rng.integers(0, (end - start) // US, n) * US
    lag_s = np.clip(rng.lognormal(np.log(4 * DAY_S), 0.8, n), 600, 45 * DAY_S).astype(np.int64)
    cancel, refund = mer.quality["cancel_p"][merchant], mer.quality["refund_p"][merchant]
    u = rng.random(n)
    status = np.select([u < cancel, u < cancel + refund], [CANCELLED, REFUNDED], COMPLETED)
    cents = np.clip(np.rint(rng.lognormal(np.log(2600), 0.95, n)), 50, 2_000_000)
    regular = (merchant.astype(np.int64) * 7919 + rng.integers(0, 5, n) * 104_729) % buyers
    buyer = np.where(rng.random(n) < LOYAL_SHARE, regular, rng.integers(0, buyers, n))
    return _Orders(
        tag=tag,
        merchant=merchant,
        seq=np.arange(seq0, seq0 + n, dtype=np.int64),
        buyer=buyer,
        created=ended - lag_s * US,
        ended=ended,
        status=status.astype(np.int8),
        cents=cents.astype(np.int64),
    )


def _draw_feedback(
    rng: np.random.Generator, mer: _Merchants, orders: _Orders, horizon: int
) -> tuple[_Records, np.ndarray]:
    """Feedback on ~60% of completed orders, 0-20 days later (a few later still).

    Returns the records with feedback_at before ``horizon`` and the mask of orders that got
    feedback at all (also past the horizon), used to pick orders for crafted bad rows.
    """
    n = len(orders.seq)
    given = (orders.status == COMPLETED) & (rng.random(n) < FEEDBACK_SHARE)
    pos = np.flatnonzero(given)
    delay_s = np.maximum(60, rng.gamma(1.3, 3.5 * DAY_S, len(pos))).astype(np.int64)
    at = orders.ended[pos] + delay_s * US
    merchant = orders.merchant[pos]
    neg, neu = mer.quality["neg_p"][merchant], mer.quality["neu_p"][merchant]
    u = rng.random(len(pos))
    top = np.where(rng.random(len(pos)) < 0.25, 4, 5)
    stars = np.select([u < 0.6 * neg, u < neg, u < neg + neu], [1, 2, 3], top)
    keep = at < horizon
    return _Records(pos[keep], at[keep], stars[keep].astype(np.int64)), given


def _draw_bad_orders(
    rng: np.random.Generator, mer: _Merchants, orders: _Orders, horizon: int
) -> tuple[_Records, np.ndarray]:
    """Bad-experience records: a few % of orders, some with two reasons, a few disputes.

    Keys (order_id, reason) are unique by construction: the second reason differs from the
    first and disputes are drawn apart from the other reasons.
    """
    n = len(orders.seq)
    merchant = orders.merchant
    first = np.flatnonzero(rng.random(n) < mer.quality["bad_p"][merchant])
    idx = rng.choice(len(NON_DISPUTE), len(first), p=NON_DISPUTE_P)
    cancelled = (orders.status[first] == CANCELLED) & (rng.random(len(first)) < 0.7)
    idx = np.where(cancelled, SELLER_CANCELLED_IDX, idx)
    two = rng.random(len(first)) < 0.1
    second_idx = (idx[two] + 1 + rng.integers(0, len(NON_DISPUTE) - 1, int(two.sum()))) % len(
        NON_DISPUTE
    )
    dispute = np.flatnonzero(rng.random(n) < mer.quality["dispute_p"][merchant])
    pos = np.concatenate([first, first[two], dispute])
    reason = np.concatenate(
        [NON_DISPUTE[idx], NON_DISPUTE[second_idx], np.full(len(dispute), SELLER_DISPUTE)]
    ).astype(np.int8)
    delay_s = rng.exponential(2.5 * DAY_S, len(pos)).astype(np.int64)
    at = orders.ended[pos] + delay_s * US
    exempt = rng.random(len(pos)) < EXEMPT_SHARE
    sort = np.argsort(pos, kind="stable")
    pos, reason, at, exempt = pos[sort], reason[sort], at[sort], exempt[sort]
    has_record = np.zeros(n, dtype=bool)
    has_record[pos] = True
    keep = at < horizon
    return _Records(pos[keep], at[keep], reason[keep], exempt[keep]), has_record


def _order_ids(tag: str, seq: np.ndarray) -> pl.Series:
    return _prefixed(f"O{tag}", seq, 9)


def _orders_frame(mer: _Merchants, o: _Orders, sel: np.ndarray | slice) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": _order_ids(o.tag, o.seq[sel]),
            "merchant_id": mer.ids.gather(pl.Series(o.merchant[sel])),
            "buyer_id": _prefixed("B", o.buyer[sel]),
            "created_at": pl.Series(o.created[sel]).cast(TS),
            "ended_at": pl.Series(o.ended[sel]).cast(TS),
            "status": _labels(ORDER_STATUSES, o.status[sel]),
            "amount_cents": pl.Series(o.cents[sel]),
        }
    )


def _feedback_frame(mer: _Merchants, o: _Orders, r: _Records, sel: np.ndarray) -> pl.DataFrame:
    pos = r.pos[sel]
    return pl.DataFrame(
        {
            "order_id": _order_ids(o.tag, o.seq[pos]),
            "merchant_id": mer.ids.gather(pl.Series(o.merchant[pos])),
            "buyer_id": _prefixed("B", o.buyer[pos]),
            "stars": pl.Series(r.value[sel]),
            "feedback_at": pl.Series(r.at[sel]).cast(TS),
        }
    )


def _bad_orders_frame(mer: _Merchants, o: _Orders, r: _Records, sel: np.ndarray) -> pl.DataFrame:
    pos = r.pos[sel]
    assert r.exempt is not None
    return pl.DataFrame(
        {
            "order_id": _order_ids(o.tag, o.seq[pos]),
            "merchant_id": mer.ids.gather(pl.Series(o.merchant[pos])),
            "reason": _labels(REASONS, r.value[sel]),
            "recorded_at": pl.Series(r.at[sel]).cast(TS),
            "exempt": pl.Series(r.exempt[sel]),
        }
    )


# --------------------------------------------------------------------------------------------
# Service metrics
# --------------------------------------------------------------------------------------------


def _draw_service(
    rng: np.random.Generator,
    mer: _Merchants,
    merchants: np.ndarray,
    per_day: np.ndarray,
    first_day: int,
    days: int,
) -> pl.DataFrame:
    """One row per merchant and day; counts scale with the merchant's daily orders.

    Built so that replied <= received, on_time <= due and count <= sum <= 5 * count hold.
    """
    m = np.repeat(merchants, days)
    day = np.tile(np.arange(days, dtype=np.int32), len(merchants)) + first_day
    lam = per_day[m]
    q = mer.quality
    received = rng.poisson(0.25 * lam + 0.4)
    due = rng.poisson(0.9 * lam)
    count = rng.poisson(0.3 * lam)
    return pl.DataFrame(
        {
            "merchant_id": mer.ids.gather(pl.Series(m)),
            "metric_date": pl.Series(day).cast(pl.Date),
            "messages_received": received,
            "messages_replied_24h": rng.binomial(received, q["resp_p"][m]),
            "dsr_item_sum": count + rng.binomial(4 * count, (q["dsr_mean"][m] - 1.0) / 4.0),
            "dsr_item_count": count,
            "shipments_due": due,
            "shipments_on_time": rng.binomial(due, q["ontime_p"][m]),
        },
        schema=FRAME_SCHEMAS["service_metrics"],
    )


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def _decimal_from_cents(cents: np.ndarray) -> pa.Array:
    """Exact decimal128(12, 2) from integer cents (no float rounding on the way)."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    buffer = pa.py_buffer(words.tobytes())
    return pa.Array.from_buffers(pa.decimal128(12, 2), len(cents), [None, buffer])


def _write_parquet(df: pl.DataFrame, dataset: str, path: Path) -> int:
    """Write typed Parquet in the column order of spec §1; returns the row count."""
    table = df.to_arrow()
    if "amount_cents" in df.columns:
        cents = df["amount_cents"].to_numpy()
        i = table.schema.get_field_index("amount_cents")
        table = table.set_column(i, "amount_usd", _decimal_from_cents(cents))
    table = table.cast(SCHEMAS[dataset])
    pq.write_table(table, path, compression="zstd")
    return df.height


def _csv_text(df: pl.DataFrame, dataset: str, rng: np.random.Generator) -> pl.DataFrame:
    """Render a frame as CSV text the way exports look: mixed offsets and boolean spellings."""
    n = df.height
    flags = pl.DataFrame(
        {
            "_offset": rng.random(n) < CSV_OFFSET_SHARE,
            "_numeric": rng.random(n) < CSV_NUMERIC_BOOL_SHARE,
        }
    )
    exprs = [_csv_expr(name, dtype) for name, dtype in df.schema.items()]
    text = pl.concat([df, flags], how="horizontal").select(exprs)
    return text.select(CSV_COLUMNS[dataset])


def _csv_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == TS:
        local = (col + pl.duration(hours=8)).dt.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"
        utc = col.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return pl.when(pl.col("_offset")).then(local).otherwise(utc).alias(name)
    if dtype == pl.Boolean:
        digit = pl.when(col).then(pl.lit("1")).otherwise(pl.lit("0"))
        word = pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))
        return pl.when(pl.col("_numeric")).then(digit).otherwise(word).alias(name)
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d").alias(name)
    if name == "amount_cents":
        sign = pl.when(col < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        whole = (col.abs() // 100).cast(pl.String)
        return (sign + whole + "." + (col.abs() % 100).cast(pl.String).str.zfill(2)).alias(
            "amount_usd"
        )
    return col.cast(pl.String).alias(name)


def _write_csv(
    df: pl.DataFrame, bad: pl.DataFrame, dataset: str, path: Path, rng: np.random.Generator
) -> int:
    """The small CSV file of a dataset and month: sampled clean rows with the bad rows mixed in."""
    rows = pl.concat([df, bad.cast(FRAME_SCHEMAS[dataset])])
    rows = rows[rng.permutation(rows.height)]
    _csv_text(rows, dataset, rng).write_csv(path)
    return rows.height


def _csv_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    """Which rows go to the CSV file (the rest go to Parquet): about 2%, capped."""
    size = min(n, CSV_MAX_ROWS, max(5, n // CSV_SHARE))
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size, replace=False)] = True
    return mask


def _frame(dataset: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    """A small frame of crafted rows; timestamps given as epoch us, dates as epoch days."""
    schema = FRAME_SCHEMAS[dataset]
    raw = pl.DataFrame(rows, schema={c: _raw_dtype(t) for c, t in schema.items()})
    return raw.cast(schema)


def _raw_dtype(dtype: pl.DataType) -> pl.DataType:
    if dtype == TS:
        return pl.Int64()
    if dtype == pl.Date:
        return pl.Int32()
    return dtype


# --------------------------------------------------------------------------------------------
# Crafted bad rows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Crafter:
    """Builds the deliberate bad rows of month k from orders of the month's first chunk.

    The orders it borrows have no feedback, no bad-order record and sit on the Parquet side,
    so each crafted row breaks exactly one rule and drags no clean row into quarantine (except
    the original of a ``duplicate_key`` pair, which the spec quarantines on purpose).
    """

    mer: _Merchants
    o: _Orders
    plain: np.ndarray  # 6 completed orders
    cancelled: np.ndarray  # 2 cancelled orders
    end: int  # end of the month, epoch us
    next_start: int  # start of the next month, epoch us

    @classmethod
    def of(cls, run: _Run, k: int, ch: _Chunk, in_csv: np.ndarray) -> _Crafter:
        rng = _rng(run.seed, S_PICK, k)
        o = ch.orders
        free = ~ch.has_feedback & ~ch.has_bad & ~in_csv
        plain = rng.permutation(np.flatnonzero(free & (o.status == COMPLETED)))[:6]
        cancelled = rng.permutation(np.flatnonzero(free & (o.status == CANCELLED)))[:2]
        if len(plain) < 6 or len(cancelled) < 2:
            raise RuntimeError("too few orders in the first chunk to place the crafted bad rows")
        return cls(run.mer, o, plain, cancelled, run.cal.end(k), run.cal.next_start(k))

    def order_id(self, seq: int) -> str:
        return _order_ids(self.o.tag, np.array([seq])).item()

    def midway(self, i: int) -> int:
        """A second between the order's end and the month's end: a valid same-month time."""
        ended = int(self.o.ended[i])
        return ended + (self.end - ended) // US // 2 * US

    def order(self, i: int, **changes: object) -> dict[str, object]:
        """Order i of the chunk as a row, with some values changed."""
        o = self.o
        row = {
            "order_id": self.order_id(int(o.seq[i])),
            "merchant_id": self.mer.ids[int(o.merchant[i])],
            "buyer_id": f"B{o.buyer[i]}",
            "created_at": int(o.created[i]),
            "ended_at": int(o.ended[i]),
            "status": ORDER_STATUSES[o.status[i]],
            "amount_cents": int(o.cents[i]),
        }
        return {**row, **changes}

    def feedback(self, i: int, **changes: object) -> dict[str, object]:
        """Five-star feedback on order i within the month, with some values changed."""
        order = self.order(i)
        row = {
            "order_id": order["order_id"],
            "merchant_id": order["merchant_id"],
            "buyer_id": order["buyer_id"],
            "stars": 5,
            "feedback_at": self.midway(i),
        }
        return {**row, **changes}

    def orders_rows(self) -> pl.DataFrame:
        t, victim = int(self.plain[5]), int(self.cancelled[0])
        fresh = [self.order_id(FRESH_SEQ + j) for j in range(1, 6)]
        te, nxt = int(self.o.ended[t]), self.next_start
        late = {"created_at": nxt - DAY_US, "ended_at": nxt + 7200 * US}
        rows = [
            self.order(t, order_id=None),  # null_key
            self.order(t, order_id=fresh[0], status="shipped"),  # bad_value: enum
            self.order(t, order_id=fresh[1], amount_cents=-1250),  # bad_value: negative amount
            # bad_value: ended_at before created_at
            self.order(t, order_id=fresh[2], created_at=te + 2 * DAY_US),
            # unknown_merchant
            self.order(t, order_id=fresh[3], merchant_id=self.mer.unknown_id(0)),
            self.order(t, order_id=fresh[4], **late),  # wrong_month: ended in the next month
            self.order(victim, amount_cents=int(self.o.cents[victim]) + 100),  # duplicate_key
            self.order(t),  # exact_duplicate
        ]
        return _frame("orders", rows)

    def feedback_rows(self, clean: pl.DataFrame) -> pl.DataFrame:
        """``clean`` holds two Parquet-side feedback rows of the month to duplicate."""
        a, b, c, d = (int(i) for i in self.plain[:4])
        rows = [
            self.feedback(a, order_id=None),  # null_key
            self.feedback(b, stars=0),  # bad_value
            self.feedback(c, stars=6),  # bad_value
            self.feedback(a, order_id=self.order_id(UNKNOWN_SEQ + 1), stars=4),  # unknown_order
            self.feedback(int(self.cancelled[1]), stars=2),  # order_not_completed
            self.feedback(d, feedback_at=self.next_start + 3 * 3600 * US),  # wrong_month
        ]
        changed = clean.head(1).with_columns(  # duplicate_key: other stars
            stars=pl.when(pl.col("stars") == 5).then(4).otherwise(5).cast(pl.Int64)
        )
        return pl.concat([_frame("feedback", rows), changed, clean.slice(1, 1)])

    def bad_order_rows(self, clean: pl.DataFrame) -> pl.DataFrame:
        """``clean`` holds one Parquet-side record of the month to duplicate exactly."""
        i = int(self.plain[4])
        order = self.order(i)
        record = {
            "order_id": order["order_id"],
            "merchant_id": order["merchant_id"],
            "reason": "late_delivery",  # bad_value: enum
            "recorded_at": self.midway(i),
            "exempt": False,
        }
        unknown = {**record, "order_id": self.order_id(UNKNOWN_SEQ + 2), "reason": "low_dsr"}
        return pl.concat([_frame("bad_orders", [record, unknown]), clean.head(1)])


def _bad_service_rows(
    mer: _Merchants, clean: pl.DataFrame, first_day: int, next_day: int
) -> pl.DataFrame:
    """Deliberate bad service_metrics rows. ``clean`` holds Parquet-side rows to duplicate.

    The bad values sit on an always-banned merchant: only active merchants get clean rows, so
    these keys collide with nothing and each row breaks exactly one rule.
    """
    base = {
        "merchant_id": mer.ids[mer.always_banned],
        "metric_date": first_day,
        "messages_received": 1,
        "messages_replied_24h": 1,
        "dsr_item_sum": 5,
        "dsr_item_count": 1,
        "shipments_due": 1,
        "shipments_on_time": 1,
    }
    rows = [
        {**base, "merchant_id": None, "metric_date": first_day + 5},  # null_key
        {**base, "messages_received": 2, "messages_replied_24h": 3},  # replied > received
        {**base, "metric_date": first_day + 1, "shipments_on_time": 2},  # on_time > due
        {**base, "metric_date": first_day + 2, "dsr_item_sum": 11, "dsr_item_count": 2},
        {**base, "metric_date": first_day + 3, "messages_received": -1, "messages_replied_24h": -1},
        {**base, "merchant_id": mer.unknown_id(1)},  # unknown_merchant
        {**base, "metric_date": next_day},  # wrong_month
    ]
    changed = clean.head(1).with_columns(pl.col("messages_received") + 1)  # duplicate_key
    return pl.concat([_frame("service_metrics", rows), changed, clean.slice(1, 1)])


# --------------------------------------------------------------------------------------------
# Month writers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """What every month writer needs."""

    root: Path
    cal: _Calendar
    mer: _Merchants
    orders_per_month: int
    chunk_orders: int
    seed: int
    say: Callable[[str], None]

    def folder(self, dataset: str, k: int) -> Path:
        return self.root / dataset / f"month={self.cal.months[k]}"

    def csv_rng(self, dataset: str, k: int, purpose: int) -> np.random.Generator:
        """Streams for the CSV split (purpose 0) and the CSV spelling (purpose 1)."""
        return _rng(self.seed, S_CSV, DATASET_CODE[dataset], k, purpose)

    def active_share(self, k: int) -> np.ndarray:
        """Order share per merchant in month k: only active merchants sell."""
        w = np.where(self.mer.status[k] == ACTIVE, self.mer.weight, 0.0)
        return w / w.sum()


@dataclass(frozen=True)
class _Chunk:
    """One chunk of orders with the records drawn for them."""

    orders: _Orders
    feedback: _Records
    bad: _Records
    feedback_month: np.ndarray  # generated-month index of each feedback record
    bad_month: np.ndarray
    has_feedback: np.ndarray  # per order: got feedback (also past the generated months)
    has_bad: np.ndarray  # per order: got a bad-order record (idem)


@dataclass(frozen=True)
class _CsvSplit:
    """Rows of a month's first chunk that go to the month's CSV files instead of Parquet."""

    orders: np.ndarray
    feedback: np.ndarray
    bad: np.ndarray

    @classmethod
    def none(cls, ch: _Chunk) -> _CsvSplit:
        zeros = [np.zeros(len(a), dtype=bool) for a in (ch.orders.seq, ch.feedback.at, ch.bad.at)]
        return cls(*zeros)

    @classmethod
    def of(cls, run: _Run, k: int, ch: _Chunk) -> _CsvSplit:
        """About 2% of the chunk's orders, and of its records dated in month k."""
        orders = _csv_mask(run.csv_rng("orders", k, 0), len(ch.orders.seq))
        feedback = _records_csv_mask(run.csv_rng("feedback", k, 0), ch.feedback_month == k)
        bad = _records_csv_mask(run.csv_rng("bad_orders", k, 0), ch.bad_month == k)
        return cls(orders, feedback, bad)


def _records_csv_mask(rng: np.random.Generator, here: np.ndarray) -> np.ndarray:
    where = np.flatnonzero(here)
    mask = np.zeros(len(here), dtype=bool)
    mask[where[_csv_mask(rng, len(where))]] = True
    return mask


def _write_merchants(run: _Run, k: int) -> int:
    snap = run.mer.snapshot(k)
    in_csv = _csv_mask(run.csv_rng("merchants", k, 0), snap.height)
    folder = run.folder("merchants", k)
    rows = _write_parquet(snap.filter(pl.Series(~in_csv)), "merchants", folder / "part-0.parquet")
    rng = run.csv_rng("merchants", k, 1)
    rows += _write_csv(
        snap.filter(pl.Series(in_csv)), snap.clear(), "merchants", folder / "part-csv.csv", rng
    )
    run.say(f"merchants {run.cal.months[k]}: {rows:,} rows")
    return rows


def _draw_chunk(run: _Run, k: int, c: int, share: np.ndarray) -> _Chunk:
    """Orders of chunk c of month k, their feedback and bad-order records (one rng stream)."""
    rng = _rng(run.seed, S_ORDERS, k, c)
    size = min(run.chunk_orders, run.orders_per_month - c * run.chunk_orders)
    buyers = max(100_000, 3 * run.orders_per_month)
    bounds = (run.cal.start(k), run.cal.end(k))
    tag = run.cal.months[k].replace("-", "")
    seq0 = c * run.chunk_orders + 1
    o = _draw_orders(rng, run.mer, share, size, seq0, bounds, buyers, tag)
    horizon = run.cal.end(len(run.cal.months) - 1)
    fb, has_fb = _draw_feedback(rng, run.mer, o, horizon)
    bo, has_bad = _draw_bad_orders(rng, run.mer, o, horizon)
    return _Chunk(o, fb, bo, run.cal.month_of(fb.at), run.cal.month_of(bo.at), has_fb, has_bad)


def _write_orders_month(run: _Run, k: int) -> dict[str, int]:
    """All order chunks of month k, with their feedback and bad-order records; the first
    chunk also feeds the month's CSV files and the deliberate bad rows."""
    counts = dict.fromkeys(("orders", "feedback", "bad_orders"), 0)
    share = run.active_share(k)
    n_chunks = -(-run.orders_per_month // run.chunk_orders)
    for c in range(n_chunks):
        ch = _draw_chunk(run, k, c, share)
        split = _CsvSplit.of(run, k, ch) if c == 0 else _CsvSplit.none(ch)
        written = [_write_chunk_parquet(run, k, f"part-{run.cal.months[k]}-{c:03d}", ch, split)]
        if c == 0:
            written.append(_write_month_csvs(run, k, ch, split))
        for part in written:
            for name, rows in part.items():
                counts[name] += rows
        run.say(f"orders {run.cal.months[k]} chunk {c + 1}/{n_chunks}: {len(ch.orders.seq):,}")
    return counts


def _write_chunk_parquet(
    run: _Run, k: int, part: str, ch: _Chunk, split: _CsvSplit
) -> dict[str, int]:
    """The Parquet files of one chunk; records go to the folder of their own month."""
    mer, o = run.mer, ch.orders
    orders_path = run.folder("orders", k) / f"{part}.parquet"
    return {
        "orders": _write_parquet(_orders_frame(mer, o, ~split.orders), "orders", orders_path),
        "feedback": _write_records(
            run,
            "feedback",
            part,
            ch.feedback_month,
            ~split.feedback,
            lambda sel: _feedback_frame(mer, o, ch.feedback, sel),
        ),
        "bad_orders": _write_records(
            run,
            "bad_orders",
            part,
            ch.bad_month,
            ~split.bad,
            lambda sel: _bad_orders_frame(mer, o, ch.bad, sel),
        ),
    }


def _write_month_csvs(run: _Run, k: int, ch: _Chunk, split: _CsvSplit) -> dict[str, int]:
    """The CSV files of month k for orders, feedback and bad_orders, bad rows mixed in."""
    mer, o = run.mer, ch.orders
    crafter = _Crafter.of(run, k, ch, split.orders)
    fb_parquet = np.flatnonzero((ch.feedback_month == k) & ~split.feedback)
    bo_parquet = np.flatnonzero((ch.bad_month == k) & ~split.bad)
    sets = {
        "orders": (_orders_frame(mer, o, split.orders), crafter.orders_rows()),
        "feedback": (
            _feedback_frame(mer, o, ch.feedback, np.flatnonzero(split.feedback)),
            crafter.feedback_rows(_feedback_frame(mer, o, ch.feedback, fb_parquet[:2])),
        ),
        "bad_orders": (
            _bad_orders_frame(mer, o, ch.bad, np.flatnonzero(split.bad)),
            crafter.bad_order_rows(_bad_orders_frame(mer, o, ch.bad, bo_parquet[:1])),
        ),
    }
    return {
        name: _write_csv(
            clean, bad, name, run.folder(name, k) / "part-csv.csv", run.csv_rng(name, k, 1)
        )
        for name, (clean, bad) in sets.items()
    }


def _write_records(
    run: _Run,
    dataset: str,
    part: str,
    month: np.ndarray,
    keep: np.ndarray,
    frame: Callable[[np.ndarray], pl.DataFrame],
) -> int:
    """Write the kept records of a chunk into the folder of the month of their timestamp."""
    rows = 0
    for t in range(len(run.cal.months)):
        idx = np.flatnonzero((month == t) & keep)
        if len(idx):
            rows += _write_parquet(frame(idx), dataset, run.folder(dataset, t) / f"{part}.parquet")
    return rows


def _write_service_month(run: _Run, k: int) -> int:
    """Service metrics of month k for active merchants, in blocks of whole merchants."""
    mer, cal = run.mer, run.cal
    days, first_day = cal.days(k), cal.start(k) // DAY_US
    active = np.flatnonzero(mer.status[k] == ACTIVE).astype(np.int32)
    per_day = run.active_share(k) * run.orders_per_month / days
    block = max(1, run.chunk_orders // days)
    n_blocks = -(-len(active) // block)
    rows = 0
    for b in range(n_blocks):
        rng = _rng(run.seed, S_SERVICE, k, b)
        sm = _draw_service(rng, mer, active[b * block : (b + 1) * block], per_day, first_day, days)
        folder, part = run.folder("service_metrics", k), f"part-{cal.months[k]}-{b:03d}"
        if b == 0:
            in_csv = _csv_mask(run.csv_rng("service_metrics", k, 0), sm.height)
            parquet_side = sm.filter(pl.Series(~in_csv))
            bad = _bad_service_rows(mer, parquet_side, first_day, cal.next_start(k) // DAY_US)
            rows += _write_csv(
                sm.filter(pl.Series(in_csv)),
                bad,
                "service_metrics",
                folder / "part-csv.csv",
                run.csv_rng("service_metrics", k, 1),
            )
            sm = parquet_side
        rows += _write_parquet(sm, "service_metrics", folder / f"{part}.parquet")
        run.say(f"service_metrics {cal.months[k]} block {b + 1}/{n_blocks}: {sm.height:,} rows")
    return rows


def _prepare(root: Path, cal: _Calendar, overwrite: bool) -> None:
    """Create the month folders; refuse to mix with files left by an earlier run."""
    for dataset in DATASETS:
        for month in cal.months:
            folder = root / dataset / f"month={month}"
            if folder.exists() and any(folder.iterdir()):
                if not overwrite:
                    raise FileExistsError(
                        f"{folder} already holds files; pass overwrite=True to replace them"
                    )
                shutil.rmtree(folder)
            folder.mkdir(parents=True, exist_ok=True)


def generate_landing(
    out: str | Path,
    merchants: int,
    months: list[str],
    orders_per_month: int | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    *,
    chunk_orders: int = CHUNK_ORDERS,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write a landing folder <out>/<dataset>/month=YYYY-MM/<files> in the contract; return row
    counts per dataset (every row written, bad rows and CSV rows included).

    ``months`` are consecutive 'YYYY-MM' strings (see ``parse_month_range``). The output is a
    pure function of the arguments: the same arguments give byte-identical files.
    ``orders_per_month`` defaults to 50 * merchants. Folders of the requested months that
    already hold files are refused unless ``overwrite`` is set, which deletes them first.
    """
    cal = _Calendar.of(list(months))
    n_orders = ORDERS_PER_MERCHANT * merchants if orders_per_month is None else orders_per_month
    _validate(merchants, n_orders, seed, chunk_orders)
    root = Path(out)
    _prepare(root, cal, overwrite)
    say = progress if progress is not None else _silent
    mer = _build_merchants(merchants, cal, seed)
    run = _Run(root, cal, mer, n_orders, chunk_orders, seed, say)
    counts = dict.fromkeys(DATASETS, 0)
    for k in range(len(cal.months)):
        counts["merchants"] += _write_merchants(run, k)
        for name, rows in _write_orders_month(run, k).items():
            counts[name] += rows
        counts["service_metrics"] += _write_service_month(run, k)
        say(f"month {cal.months[k]} done")
    return counts


def _silent(_message: str) -> None:
    """Default progress callback."""


def _validate(merchants: int, orders_per_month: int, seed: int, chunk_orders: int) -> None:
    if merchants < MIN_MERCHANTS:
        raise ValueError(f"merchants must be at least {MIN_MERCHANTS}, got {merchants}")
    if orders_per_month < MIN_ORDERS_PER_MONTH:
        raise ValueError(
            f"orders_per_month must be at least {MIN_ORDERS_PER_MONTH}, got {orders_per_month}"
        )
    if orders_per_month >= FRESH_SEQ:
        raise ValueError(f"orders_per_month must be below {FRESH_SEQ:,}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if chunk_orders < MIN_CHUNK_ORDERS:
        raise ValueError(f"chunk_orders must be at least {MIN_CHUNK_ORDERS}, got {chunk_orders}")
