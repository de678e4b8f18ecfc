"""The deliberate bad rows mixed into every month's CSV files, one per quarantine kind.

Each crafted row breaks exactly one rule of spec §1, so the ingest checks are exercised on every
run and the quarantine counts are known in advance (``BAD_ROWS_PER_MONTH``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.merchants import Merchants
from pipelines.generate.orders import Chunk, Orders, order_ids
from pipelines.generate.run import Run
from pipelines.generate.schema import (
    CANCELLED,
    COMPLETED,
    DAY_US,
    FRAME_SCHEMAS,
    ORDER_STATUSES,
    TS,
    US,
)
from pipelines.generate.streams import S_PICK, stream

FRESH_SEQ = 900_000_000  # order numbers of the crafted rows that exist only as bad rows
UNKNOWN_SEQ = 990_000_000  # order numbers that exist nowhere (unknown_order)


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


@dataclass(frozen=True)
class Crafter:
    """Builds the deliberate bad rows of month k from orders of the month's first chunk.

    The orders it borrows have no feedback, no bad-order record and sit on the Parquet side,
    so each crafted row breaks exactly one rule and drags no clean row into quarantine (except
    the original of a ``duplicate_key`` pair, which the spec quarantines on purpose).
    """

    mer: Merchants
    o: Orders
    plain: np.ndarray  # 6 completed orders
    cancelled: np.ndarray  # 2 cancelled orders
    end: int  # end of the month, epoch us
    next_start: int  # start of the next month, epoch us

    @classmethod
    def of(cls, run: Run, k: int, ch: Chunk, in_csv: np.ndarray) -> Crafter:
        rng = stream(run.seed, S_PICK, k)
        o = ch.orders
        free = ~ch.has_feedback & ~ch.has_bad & ~in_csv
        plain = rng.permutation(np.flatnonzero(free & (o.status == COMPLETED)))[:6]
        cancelled = rng.permutation(np.flatnonzero(free & (o.status == CANCELLED)))[:2]
        if len(plain) < 6 or len(cancelled) < 2:
            raise RuntimeError("too few orders in the first chunk to place the crafted bad rows")
        return cls(run.mer, o, plain, cancelled, run.cal.end(k), run.cal.next_start(k))

    def order_id(self, seq: int) -> str:
        return order_ids(self.o.tag, np.array([seq])).item()

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


def bad_service_rows(
    mer: Merchants, clean: pl.DataFrame, first_day: int, next_day: int
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
