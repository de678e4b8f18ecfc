"""Vectorised building of the generated text columns (labels, ids): no loop over rows."""

from __future__ import annotations

import numpy as np
import polars as pl


def label_series(names: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """Map small integer codes to their labels without a Python loop."""
    return pl.Series(list(names), dtype=pl.String).gather(pl.Series(codes.astype(np.uint32)))


def prefixed(prefix: str, numbers: np.ndarray, width: int = 0) -> pl.Series:
    """Vectorised f'{prefix}{n:0{width}d}'."""
    text = pl.Series(numbers.astype(np.int64)).cast(pl.String)
    if width:
        text = text.str.zfill(width)
    return pl.select(pl.lit(prefix) + pl.lit(text)).to_series()
