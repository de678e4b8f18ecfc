"""Service metrics: one row per active merchant and day."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.merchants import Merchants
from pipelines.generate.schema import FRAME_SCHEMAS


def draw_service(
    rng: np.random.Generator,
    mer: Merchants,
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
