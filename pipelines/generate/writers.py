"""Month writers: merchants snapshots, order chunks with their records, service metrics.

Orders are written in chunks of at most ``chunk_orders`` (one Parquet file each); feedback and
bad-order records of a chunk are split by the month of their own timestamp, because a review
written on 3 February for a January order belongs in the February folder. The first chunk of a
month also feeds the month's small CSV files, with the deliberate bad rows mixed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.bad_rows import Crafter, bad_service_rows
from pipelines.generate.files import csv_mask, write_csv, write_parquet
from pipelines.generate.orders import (
    Chunk,
    bad_orders_frame,
    draw_bad_orders,
    draw_feedback,
    draw_orders,
    feedback_frame,
    orders_frame,
)
from pipelines.generate.run import Run
from pipelines.generate.schema import ACTIVE, DAY_US
from pipelines.generate.service import draw_service
from pipelines.generate.streams import S_ORDERS, S_SERVICE, stream


@dataclass(frozen=True)
class _CsvSplit:
    """Rows of a month's first chunk that go to the month's CSV files instead of Parquet."""

    orders: np.ndarray
    feedback: np.ndarray
    bad: np.ndarray

    @classmethod
    def none(cls, ch: Chunk) -> _CsvSplit:
        """Later chunks: everything goes to Parquet."""
        zeros = [np.zeros(len(a), dtype=bool) for a in (ch.orders.seq, ch.feedback.at, ch.bad.at)]
        return cls(*zeros)

    @classmethod
    def of(cls, run: Run, k: int, ch: Chunk) -> _CsvSplit:
        """About 2% of the chunk's orders, and of its records dated in month k."""
        orders = csv_mask(run.csv_rng("orders", k, 0), len(ch.orders.seq))
        feedback = _records_csv_mask(run.csv_rng("feedback", k, 0), ch.feedback_month == k)
        bad = _records_csv_mask(run.csv_rng("bad_orders", k, 0), ch.bad_month == k)
        return cls(orders, feedback, bad)


def _records_csv_mask(rng: np.random.Generator, here: np.ndarray) -> np.ndarray:
    """The CSV share of the records marked ``here`` (those dated in the month)."""
    where = np.flatnonzero(here)
    mask = np.zeros(len(here), dtype=bool)
    mask[where[csv_mask(rng, len(where))]] = True
    return mask


def write_merchants(run: Run, k: int) -> int:
    """The month-k merchants snapshot: one Parquet file and a small clean CSV file."""
    snap = run.mer.snapshot(k)
    in_csv = csv_mask(run.csv_rng("merchants", k, 0), snap.height)
    folder = run.folder("merchants", k)
    rows = write_parquet(snap.filter(pl.Series(~in_csv)), "merchants", folder / "part-0.parquet")
    rng = run.csv_rng("merchants", k, 1)
    rows += write_csv(
        snap.filter(pl.Series(in_csv)), snap.clear(), "merchants", folder / "part-csv.csv", rng
    )
    run.say(f"merchants {run.cal.months[k]}: {rows:,} rows")
    return rows


def _draw_chunk(run: Run, k: int, c: int, share: np.ndarray) -> Chunk:
    """Orders of chunk c of month k, their feedback and bad-order records (one rng stream)."""
    rng = stream(run.seed, S_ORDERS, k, c)
    size = min(run.chunk_orders, run.orders_per_month - c * run.chunk_orders)
    buyers = max(100_000, 3 * run.orders_per_month)
    bounds = (run.cal.start(k), run.cal.end(k))
    tag = run.cal.months[k].replace("-", "")
    seq0 = c * run.chunk_orders + 1
    o = draw_orders(rng, run.mer, share, size, seq0, bounds, buyers, tag)
    horizon = run.cal.end(len(run.cal.months) - 1)
    fb, has_fb = draw_feedback(rng, run.mer, o, horizon)
    bo, has_bad = draw_bad_orders(rng, run.mer, o, horizon)
    return Chunk(o, fb, bo, run.cal.month_of(fb.at), run.cal.month_of(bo.at), has_fb, has_bad)


def write_orders_month(run: Run, k: int) -> dict[str, int]:
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
    run: Run, k: int, part: str, ch: Chunk, split: _CsvSplit
) -> dict[str, int]:
    """The Parquet files of one chunk; records go to the folder of their own month."""
    mer, o = run.mer, ch.orders
    orders_path = run.folder("orders", k) / f"{part}.parquet"
    return {
        "orders": write_parquet(orders_frame(mer, o, ~split.orders), "orders", orders_path),
        "feedback": _write_records(
            run,
            "feedback",
            part,
            ch.feedback_month,
            ~split.feedback,
            lambda sel: feedback_frame(mer, o, ch.feedback, sel),
        ),
        "bad_orders": _write_records(
            run,
            "bad_orders",
            part,
            ch.bad_month,
            ~split.bad,
            lambda sel: bad_orders_frame(mer, o, ch.bad, sel),
        ),
    }


def _write_month_csvs(run: Run, k: int, ch: Chunk, split: _CsvSplit) -> dict[str, int]:
    """The CSV files of month k for orders, feedback and bad_orders, bad rows mixed in."""
    mer, o = run.mer, ch.orders
    crafter = Crafter.of(run, k, ch, split.orders)
    fb_parquet = np.flatnonzero((ch.feedback_month == k) & ~split.feedback)
    bo_parquet = np.flatnonzero((ch.bad_month == k) & ~split.bad)
    sets = {
        "orders": (orders_frame(mer, o, split.orders), crafter.orders_rows()),
        "feedback": (
            feedback_frame(mer, o, ch.feedback, np.flatnonzero(split.feedback)),
            crafter.feedback_rows(feedback_frame(mer, o, ch.feedback, fb_parquet[:2])),
        ),
        "bad_orders": (
            bad_orders_frame(mer, o, ch.bad, np.flatnonzero(split.bad)),
            crafter.bad_order_rows(bad_orders_frame(mer, o, ch.bad, bo_parquet[:1])),
        ),
    }
    return {
        name: write_csv(
            clean, bad, name, run.folder(name, k) / "part-csv.csv", run.csv_rng(name, k, 1)
        )
        for name, (clean, bad) in sets.items()
    }


def _write_records(
    run: Run,
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
            rows += write_parquet(frame(idx), dataset, run.folder(dataset, t) / f"{part}.parquet")
    return rows


def write_service_month(run: Run, k: int) -> int:
    """Service metrics of month k for active merchants, in blocks of whole merchants."""
    mer, cal = run.mer, run.cal
    days, first_day = cal.days(k), cal.start(k) // DAY_US
    active = np.flatnonzero(mer.status[k] == ACTIVE).astype(np.int32)
    per_day = run.active_share(k) * run.orders_per_month / days
    block = max(1, run.chunk_orders // days)
    n_blocks = -(-len(active) // block)
    rows = 0
    for b in range(n_blocks):
        rng = stream(run.seed, S_SERVICE, k, b)
        sm = draw_service(rng, mer, active[b * block : (b + 1) * block], per_day, first_day, days)
        folder, part = run.folder("service_metrics", k), f"part-{cal.months[k]}-{b:03d}"
        if b == 0:
            in_csv = csv_mask(run.csv_rng("service_metrics", k, 0), sm.height)
            parquet_side = sm.filter(pl.Series(~in_csv))
            bad = bad_service_rows(mer, parquet_side, first_day, cal.next_start(k) // DAY_US)
            rows += write_csv(
                sm.filter(pl.Series(in_csv)),
                bad,
                "service_metrics",
                folder / "part-csv.csv",
                run.csv_rng("service_metrics", k, 1),
            )
            sm = parquet_side
        rows += write_parquet(sm, "service_metrics", folder / f"{part}.parquet")
        run.say(f"service_metrics {cal.months[k]} block {b + 1}/{n_blocks}: {sm.height:,} rows")
    return rows
