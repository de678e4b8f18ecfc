"""Skewed but valid landing folders: rows piled up where a split of the work could go wrong.

Adapted from the generator of the skew review (2026-12-07) for
tests/test_skewed_landing.py. tests/boundary_landing.py spreads a few rows over the
contract's boundaries; these landings put thousands of rows in one place instead:

- a hot merchant (``HOT_MERCHANT``) with ``hot_share`` of each month's orders, and in the
  last month one buyer (``HOT_BUYER``) with ``hot_buyer_feedback`` more orders of it, all
  rated in the month's first ten-day period: one merchant, which no range of merchant ids
  can split, holding more feedback than a small pass of the grading, and thousands of rows
  that the per-(merchant, buyer, period) rule of spec §3 counts once per polarity;
- degenerate times, month by month (``Times``): ``"instant"`` puts every order, feedback
  and bad-order record of the month at its first microsecond (for a month that is the
  first of a 90-day window, the window's first instant); ``"edges"`` puts them all on the
  edges of the ten-day periods: the month's first microsecond, the 10th's and 20th's last
  (…T23:59:59.999999Z), the 11th's and 21st's first, and the month's last;
- a month's rows in one file, or shuffled over many, CSV and Parquet in turn
  (``write_landing``), so that the reading of many files can be compared with one.

Every row is valid (spec §1): ids are unique, feedback and bad-order records belong to
an order of their merchant and are no earlier than its end, feedback is on completed
orders only, every timestamp lies in its folder's month, and the service counts keep
their bounds. The pipeline must quarantine nothing and grade as tests/spec_oracle.py does.
"""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from pipelines.datasets import BAD_ORDERS, DATASETS

# A month's times: spread over the month, all at its first instant, or all on period edges.
Times = Literal["uniform", "instant", "edges"]
# dataset -> month -> its rows, columns in contract order
Landing = dict[str, dict[str, pl.DataFrame]]

COLUMNS = {dataset.name: list(dataset.columns) for dataset in DATASETS}
REASONS = list(BAD_ORDERS.enums["reason"])
HOT_MERCHANT = "M00000"
HOT_BUYER = "B-hot"
DAY = 86_400_000_000  # microseconds
CSV_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%.6fZ"


def _utc(microseconds: np.ndarray) -> pl.Series:
    return pl.Series(microseconds).cast(pl.Datetime("us", "UTC"))


def _bounds(month: str) -> tuple[int, int]:
    """The month's first instant and the next month's, in microseconds since the epoch."""
    year, number = map(int, month.split("-"))
    first = dt.datetime(year, number, 1, tzinfo=dt.UTC)
    days = calendar.monthrange(year, number)[1]
    start = int(first.timestamp()) * 1_000_000
    return start, start + days * DAY


def _merchants(rng: np.random.Generator, count: int) -> pl.DataFrame:
    """One snapshot, the same every month: 90% active (the hot merchant among them), one
    authenticated entity each, all registered at one instant."""
    status = rng.choice(
        ["active", "suspended", "banned", "terminated"], count, p=[0.9, 0.05, 0.03, 0.02]
    )
    status[0] = "active"
    return pl.DataFrame(
        {
            "merchant_id": [f"M{i:05d}" for i in range(count)],
            "account_type": rng.choice(["individual", "enterprise"], count, p=[0.7, 0.3]),
            "auth_entity_id": [f"E{i:05d}" for i in range(count)],
            "real_name_verified": rng.random(count) < 0.97,
            "collection_account_set": rng.random(count) < 0.97,
            "sales_plan": rng.choice(["basic", "standard"], count),
            "store_type": rng.choice(["official", "exclusive", "specialty", "other"], count),
            "main_category": [f"cat{c:02d}" for c in rng.integers(0, 20, count)],
            "product_count": rng.integers(0, 500, count),
            "status": status,
            "registered_at": _utc(np.full(count, _bounds("2024-01")[0])),
        }
    )


class _Clock:
    """A month's timestamps under ``times``: order ends, and later instants for the
    feedback and bad-order records of those orders (never before the end, never after
    the month)."""

    def __init__(self, rng: np.random.Generator, month: str, times: Times) -> None:
        self.rng, self.times = rng, times
        self.start, self.cutoff = _bounds(month)
        self.edges = np.array(
            [
                self.start,
                *(self.start + d * DAY + e for d in (10, 20) for e in (-1, 0)),
                self.cutoff - 1,
            ]
        )

    def ends(self, count: int) -> np.ndarray:
        """``count`` orders' ends."""
        if self.times == "instant":
            return np.full(count, self.start)
        if self.times == "edges":
            return self.edges[self.rng.integers(0, len(self.edges), count)]
        return self.rng.integers(self.start, self.cutoff, count)

    def after(self, ends: np.ndarray) -> np.ndarray:
        """A record's time for each order end: on or after it, in the month."""
        if self.times == "instant":
            return ends
        if self.times == "edges":
            index = np.searchsorted(self.edges, ends)
            return self.edges[self.rng.integers(index, len(self.edges))]
        return self.rng.integers(ends, self.cutoff)


def _amounts(rng: np.random.Generator, count: int) -> pl.Series:
    """Dollar amounts, 5% of them $4.99 (which earn no credit) and 5% exactly $5.00."""
    cents = rng.integers(100, 20_000, count)
    cents = np.where(rng.random(count) < 0.1, rng.choice([499, 500], count), cents)
    return pl.Series([f"{c // 100}.{c % 100:02d}" for c in cents]).cast(pl.Decimal(12, 2))


def _orders(
    rng: np.random.Generator,
    clock: _Clock,
    month: str,
    merchant_ids: pl.Series,
    count: int,
    buyers: int,
    hot_share: float,
) -> pl.DataFrame:
    """``count`` orders of ``buyers`` buyers, ``hot_share`` of them the hot merchant's."""
    merchant = np.where(rng.random(count) < hot_share, 0, rng.integers(0, len(merchant_ids), count))
    ended = clock.ends(count)
    return pl.DataFrame(
        {
            "order_id": [f"O{month}-{i:06d}" for i in range(count)],
            "merchant_id": merchant_ids.gather(merchant),
            "buyer_id": [f"B{b:05d}" for b in rng.integers(0, buyers, count)],
            "created_at": _utc(ended - rng.integers(0, 20 * DAY, count)),
            "ended_at": _utc(ended),
            "status": rng.choice(
                ["completed", "cancelled", "refunded"], count, p=[0.9, 0.06, 0.04]
            ),
            "amount_usd": _amounts(rng, count),
        }
    )


def _feedback(rng: np.random.Generator, clock: _Clock, orders: pl.DataFrame) -> pl.DataFrame:
    """Feedback on 55% of the completed orders, mostly five stars."""
    rated = orders.filter(pl.col("status") == "completed")
    rated = rated.filter(pl.Series(rng.random(rated.height) < 0.55))
    ends = rated["ended_at"].cast(pl.Int64).to_numpy()
    return rated.select("order_id", "merchant_id", "buyer_id").with_columns(
        stars=pl.Series(rng.choice([5, 4, 3, 2, 1], rated.height, p=[0.7, 0.15, 0.06, 0.04, 0.05])),
        feedback_at=_utc(clock.after(ends)),
    )


def _hot_buyer(
    rng: np.random.Generator, month: str, start: int, count: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``HOT_BUYER``'s ``count`` completed $10 orders of the hot merchant, ended in the
    month's first nine days and each rated within a day, all in the first ten-day period
    (80% five stars, 10% three, 10% one): orders and feedback."""
    ended = start + rng.integers(0, 9 * DAY, count)
    orders = pl.DataFrame(
        {
            "order_id": [f"H{month}-{i:06d}" for i in range(count)],
            "merchant_id": HOT_MERCHANT,
            "buyer_id": HOT_BUYER,
            "created_at": _utc(ended - 3_600_000_000),
            "ended_at": _utc(ended),
            "status": "completed",
            "amount_usd": pl.Series(["10.00"] * count).cast(pl.Decimal(12, 2)),
        }
    )
    feedback = orders.select("order_id", "merchant_id", "buyer_id").with_columns(
        stars=pl.Series(rng.choice([5, 3, 1], count, p=[0.8, 0.1, 0.1])),
        feedback_at=_utc(ended + rng.integers(0, DAY, count)),
    )
    return orders, feedback


def _bad_orders(rng: np.random.Generator, clock: _Clock, orders: pl.DataFrame) -> pl.DataFrame:
    """One record for 3% of the orders (any status), 10% of them exempt."""
    bad = orders.filter(pl.Series(rng.random(orders.height) < 0.03))
    ends = bad["ended_at"].cast(pl.Int64).to_numpy()
    return bad.select(
        "order_id",
        "merchant_id",
        reason=pl.Series(rng.choice(REASONS, bad.height)),
        recorded_at=_utc(clock.after(ends)),
        exempt=pl.Series(rng.random(bad.height) < 0.1),
    )


def _service_metrics(rng: np.random.Generator, month: str, merchant_ids: pl.Series) -> pl.DataFrame:
    """A row for every merchant and day, every count within its bounds."""
    start, cutoff = _bounds(month)
    days = (cutoff - start) // DAY
    rows = days * len(merchant_ids)
    received, dsr_count, due = rng.poisson(3, rows), rng.poisson(2, rows), rng.poisson(3, rows)
    first = np.datetime64(f"{month}-01")
    return pl.DataFrame(
        {
            "merchant_id": merchant_ids.gather(np.tile(np.arange(len(merchant_ids)), days)),
            "metric_date": pl.Series(first + np.repeat(np.arange(days), len(merchant_ids))),
            "messages_received": received,
            "messages_replied_24h": rng.binomial(received, 0.9),
            "dsr_item_sum": dsr_count + rng.binomial(4 * dsr_count, 0.9),
            "dsr_item_count": dsr_count,
            "shipments_due": due,
            "shipments_on_time": rng.binomial(due, 0.96),
        }
    )


def skewed_rows(
    times: dict[str, Times],
    merchants: int,
    orders: int,
    buyers: int,
    hot_share: float = 0.0,
    hot_buyer_feedback: int = 0,
    seed: int = 1,
) -> Landing:
    """The rows of a landing of the months of ``times`` (consecutive, in order), each with
    ``orders`` orders of ``merchants`` merchants (``HOT_MERCHANT`` the first) by ``buyers``
    buyers; ``hot_buyer_feedback``: the hot buyer's orders of the last month."""
    rng = np.random.default_rng(seed)
    snapshot = _merchants(rng, merchants)
    landing: Landing = {name: {} for name in COLUMNS}
    for month, month_times in times.items():
        clock = _Clock(rng, month, month_times)
        month_orders = _orders(
            rng, clock, month, snapshot["merchant_id"], orders, buyers, hot_share
        )
        feedback = _feedback(rng, clock, month_orders)
        bad_orders = _bad_orders(rng, clock, month_orders)
        if hot_buyer_feedback and month == max(times):
            hot_orders, hot_feedback = _hot_buyer(rng, month, clock.start, hot_buyer_feedback)
            month_orders = pl.concat([month_orders, hot_orders])
            feedback = pl.concat([feedback, hot_feedback])
        month_rows = {
            "merchants": snapshot,
            "orders": month_orders,
            "feedback": feedback,
            "bad_orders": bad_orders,
            "service_metrics": _service_metrics(rng, month, snapshot["merchant_id"]),
        }
        for name, frame in month_rows.items():
            landing[name][month] = frame.select(COLUMNS[name])
    return landing


def write_landing(rows: Landing, landing: Path, files: int = 1) -> None:
    """Write ``rows`` under ``landing``: each dataset month in one CSV file, or shuffled
    over ``files`` files (fewer when it has fewer rows), CSV and Parquet in turn."""
    for name, months in rows.items():
        for month, frame in months.items():
            folder = landing / name / f"month={month}"
            folder.mkdir(parents=True)
            parts = max(1, min(files, frame.height))
            if parts > 1:
                frame = frame.sample(fraction=1.0, shuffle=True, seed=parts)
            cuts = [frame.height * i // parts for i in range(parts + 1)]
            for i, (lo, hi) in enumerate(zip(cuts, cuts[1:], strict=False)):
                part = frame.slice(lo, hi - lo)
                if i % 2:
                    part.write_parquet(folder / f"part-{i:03d}.parquet")
                else:
                    part.write_csv(folder / f"part-{i:03d}.csv", datetime_format=CSV_TIMESTAMP)
