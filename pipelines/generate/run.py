"""The settings every month writer shares: output folder, months, merchants, sizes, seed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.generate.merchants import Merchants
from pipelines.generate.month_plan import Calendar
from pipelines.generate.schema import ACTIVE
from pipelines.generate.streams import DATASET_CODE, S_CSV, stream


@dataclass(frozen=True)
class Run:
    """What every month writer needs."""

    root: Path
    cal: Calendar
    mer: Merchants
    orders_per_month: int
    chunk_orders: int
    seed: int
    say: Callable[[str], None]

    def folder(self, dataset: str, k: int) -> Path:
        return self.root / dataset / f"month={self.cal.months[k]}"

    def csv_rng(self, dataset: str, k: int, purpose: int) -> np.random.Generator:
        """Streams for the CSV split (purpose 0) and the CSV spelling (purpose 1)."""
        return stream(self.seed, S_CSV, DATASET_CODE[dataset], k, purpose)

    def active_share(self, k: int) -> np.ndarray:
        """Order share per merchant in month k: only active merchants sell."""
        w = np.where(self.mer.status[k] == ACTIVE, self.mer.weight, 0.0)
        return w / w.sum()
