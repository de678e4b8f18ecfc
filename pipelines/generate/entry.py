"""The entry point: check the arguments, prepare the folders, write month after month."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from pipelines.generate.bad_rows import FRESH_SEQ
from pipelines.generate.merchants import build_merchants
from pipelines.generate.month_plan import Calendar
from pipelines.generate.run import Run
from pipelines.generate.schema import DATASET_NAMES
from pipelines.generate.top_up import top_up_bad_orders
from pipelines.generate.writers import (
    write_merchants,
    write_orders_month,
    write_service_month,
)

CHUNK_ORDERS = 5_000_000  # orders per Parquet file: bounds memory at ~1-2 GB
MIN_CHUNK_ORDERS = 1_000
MIN_MERCHANTS = 50  # room for the crafted compliance cases
# Enough rows that the crafted bad rows (BAD_ROWS_PER_MONTH) stay under the shipped 1%
# quarantine limit: at 5,000 orders a month feedback holds ~2,000 rows or more, of which
# the crafted ones quarantine eight. Bad-order records, whose share of orders follows the
# merchants' drawn quality, are topped up where too few (``top_up_bad_orders``). At
# 3,000 orders a month was over the limit and could not be published (found by an audit).
MIN_ORDERS_PER_MONTH = 5_000
ORDERS_PER_MERCHANT = 50  # default orders_per_month = 50 * merchants, at least the minimum


def _prepare(root: Path, cal: Calendar, overwrite: bool) -> None:
    """Create the month folders; refuse to mix with files left by an earlier run."""
    for dataset in DATASET_NAMES:
        for month in cal.months:
            folder = root / dataset / f"month={month}"
            if folder.exists() and any(folder.iterdir()):
                if not overwrite:
                    raise FileExistsError(
                        f"{folder} already holds files; regenerate with --overwrite "
                        "(overwrite=True) to replace them"
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
    ``orders_per_month`` defaults to 50 * merchants, and at least ``MIN_ORDERS_PER_MONTH``
    (fewer would put the crafted bad rows over the 1% quarantine limit). Folders of the
    requested months that already hold files are refused unless ``overwrite`` is set,
    which deletes them first.
    """
    cal = Calendar.of(list(months))
    n_orders = (
        max(ORDERS_PER_MERCHANT * merchants, MIN_ORDERS_PER_MONTH)
        if orders_per_month is None
        else orders_per_month
    )
    _validate(merchants, n_orders, seed, chunk_orders)
    root = Path(out)
    _prepare(root, cal, overwrite)
    say = progress if progress is not None else _silent
    mer = build_merchants(merchants, cal, seed)
    run = Run(root, cal, mer, n_orders, chunk_orders, seed, say)
    counts = dict.fromkeys(DATASET_NAMES, 0)
    for k in range(len(cal.months)):
        counts["merchants"] += write_merchants(run, k)
        for name, rows in write_orders_month(run, k).items():
            counts[name] += rows
        counts["bad_orders"] += top_up_bad_orders(root, cal.months[k])
        counts["service_metrics"] += write_service_month(run, k)
        say(f"month {cal.months[k]} done")
    return counts


def _silent(_message: str) -> None:
    """Default progress callback."""


def _validate(merchants: int, orders_per_month: int, seed: int, chunk_orders: int) -> None:
    if merchants < MIN_MERCHANTS:
        raise ValueError(f"merchants must be at least {MIN_MERCHANTS}, got {merchants}")
    if orders_per_month < MIN_ORDERS_PER_MONTH:
        raise ValueError(
            f"orders_per_month must be at least {MIN_ORDERS_PER_MONTH}, got "
            f"{orders_per_month} (fewer would put the crafted bad rows over the 1% "
            "quarantine limit, and the months could not be published)"
        )
    if orders_per_month >= FRESH_SEQ:
        raise ValueError(f"orders_per_month must be below {FRESH_SEQ:,}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if chunk_orders < MIN_CHUNK_ORDERS:
        raise ValueError(f"chunk_orders must be at least {MIN_CHUNK_ORDERS}, got {chunk_orders}")
