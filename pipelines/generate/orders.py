"""Orders, feedback and bad-order records of one chunk, as numpy arrays, and their frames.

Strings are only built when a frame is written; every draw is vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.merchants import Merchants
from pipelines.generate.schema import (
    CANCELLED,
    COMPLETED,
    DAY_S,
    ORDER_STATUSES,
    REASONS,
    REFUNDED,
    TS,
    US,
)
from pipelines.generate.strings import label_series, prefixed

SELLER_DISPUTE = REASONS.index("seller_responsible_dispute")
# Shares of the other reasons of a bad-order record, by label.
NON_DISPUTE_SHARE = {
    "negative_feedback": 0.24,
    "low_dsr": 0.20,
    "seller_cancelled": 0.14,
    "late_shipment": 0.32,
    "dispute_no_response": 0.10,
}
NON_DISPUTE = np.array([REASONS.index(r) for r in NON_DISPUTE_SHARE], dtype=np.int8)
NON_DISPUTE_P = tuple(NON_DISPUTE_SHARE.values())
SELLER_CANCELLED_IDX = list(NON_DISPUTE_SHARE).index("seller_cancelled")  # in NON_DISPUTE
FEEDBACK_SHARE = 0.6  # of completed orders
EXEMPT_SHARE = 0.05  # of bad-order records
LOYAL_SHARE = 0.15  # orders placed by one of a merchant's five regular buyers


@dataclass
class Orders:
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
class Records:
    """Feedback or bad-order records of a chunk: positions into the chunk's orders."""

    pos: np.ndarray
    at: np.ndarray  # feedback_at / recorded_at, epoch us
    value: np.ndarray  # stars / reason code
    exempt: np.ndarray | None = None


def draw_orders(
    rng: np.random.Generator,
    mer: Merchants,
    share: np.ndarray,
    n: int,
    seq0: int,
    bounds: tuple[int, int],
    buyers: int,
    tag: str,
) -> Orders:
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
    return Orders(
        tag=tag,
        merchant=merchant,
        seq=np.arange(seq0, seq0 + n, dtype=np.int64),
        buyer=buyer,
        created=ended - lag_s * US,
        ended=ended,
        status=status.astype(np.int8),
        cents=cents.astype(np.int64),
    )


def draw_feedback(
    rng: np.random.Generator, mer: Merchants, orders: Orders, horizon: int
) -> tuple[Records, np.ndarray]:
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
    return Records(pos[keep], at[keep], stars[keep].astype(np.int64)), given


def draw_bad_orders(
    rng: np.random.Generator, mer: Merchants, orders: Orders, horizon: int
) -> tuple[Records, np.ndarray]:
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
    return Records(pos[keep], at[keep], reason[keep], exempt[keep]), has_record


def order_ids(tag: str, seq: np.ndarray) -> pl.Series:
    """'O' + YYYYMM + 9-digit sequence: unique across months without a global counter."""
    return prefixed(f"O{tag}", seq, 9)


def orders_frame(mer: Merchants, o: Orders, sel: np.ndarray | slice) -> pl.DataFrame:
    """The selected orders as a frame of the contract's columns (amounts in cents)."""
    return pl.DataFrame(
        {
            "order_id": order_ids(o.tag, o.seq[sel]),
            "merchant_id": mer.ids.gather(pl.Series(o.merchant[sel])),
            "buyer_id": prefixed("B", o.buyer[sel]),
            "created_at": pl.Series(o.created[sel]).cast(TS),
            "ended_at": pl.Series(o.ended[sel]).cast(TS),
            "status": label_series(ORDER_STATUSES, o.status[sel]),
            "amount_cents": pl.Series(o.cents[sel]),
        }
    )


def feedback_frame(mer: Merchants, o: Orders, r: Records, sel: np.ndarray) -> pl.DataFrame:
    """The selected feedback records, with the ids of their orders."""
    pos = r.pos[sel]
    return pl.DataFrame(
        {
            "order_id": order_ids(o.tag, o.seq[pos]),
            "merchant_id": mer.ids.gather(pl.Series(o.merchant[pos])),
            "buyer_id": prefixed("B", o.buyer[pos]),
            "stars": pl.Series(r.value[sel]),
            "feedback_at": pl.Series(r.at[sel]).cast(TS),
        }
    )


def bad_orders_frame(mer: Merchants, o: Orders, r: Records, sel: np.ndarray) -> pl.DataFrame:
    """The selected bad-order records, with the ids of their orders."""
    pos = r.pos[sel]
    assert r.exempt is not None
    return pl.DataFrame(
        {
            "order_id": order_ids(o.tag, o.seq[pos]),
            "merchant_id": mer.ids.gather(pl.Series(o.merchant[pos])),
            "reason": label_series(REASONS, r.value[sel]),
            "recorded_at": pl.Series(r.at[sel]).cast(TS),
            "exempt": pl.Series(r.exempt[sel]),
        }
    )


@dataclass(frozen=True)
class Chunk:
    """One chunk of orders with the records drawn for them."""

    orders: Orders
    feedback: Records
    bad: Records
    feedback_month: np.ndarray  # generated-month index of each feedback record
    bad_month: np.ndarray
    has_feedback: np.ndarray  # per order: got feedback (also past the generated months)
    has_bad: np.ndarray  # per order: got a bad-order record (idem)
