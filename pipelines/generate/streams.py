"""Reproducible random streams: one per (kind of draw, dataset, month, chunk).

Every draw comes from ``np.random.default_rng([seed, *keys])``: each chunk has its own stream,
so the output does not depend on the order chunks are processed in, and a chunk can be
regenerated alone.
"""

from __future__ import annotations

import numpy as np

# Stream ids, one per kind of draw. Never renumber: they fix the bytes of a seed's output.
S_MERCHANTS, S_STATUS, S_ORDERS, S_SERVICE, S_CSV, S_PICK = range(1, 7)
# Dataset codes of the CSV streams. Spelled out rather than taken from the contract's
# ingestion order, so that reordering DATASETS cannot change a seed's output.
DATASET_CODE = {
    "merchants": 0,
    "orders": 1,
    "feedback": 2,
    "bad_orders": 3,
    "service_metrics": 4,
}


def stream(seed: int, *keys: int) -> np.random.Generator:
    """A reproducible stream for one (kind of draw, month, chunk): independent of run order."""
    return np.random.default_rng([seed, *keys])
