"""The merchant population: attributes, monthly statuses, size and service quality.

Merchants stay clean (no bad rows) so that every merchant is graded; a few accounts are crafted
so that every compliance rule of spec §6 fires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.month_plan import Calendar
from pipelines.generate.schema import (
    ACCOUNT_TYPES,
    ACTIVE,
    BANNED,
    DAY_S,
    FRAME_SCHEMAS,
    MERCHANT_STATUSES,
    SALES_PLANS,
    STORE_TYPES,
    SUSPENDED,
    TERMINATED,
    TS,
    US,
)
from pipelines.generate.streams import S_MERCHANTS, S_STATUS, stream
from pipelines.generate.strings import label_series, prefixed

# Shares of the contract's store types, by label.
STORE_TYPE_SHARE = {"official": 0.08, "exclusive": 0.14, "specialty": 0.33, "other": 0.45}
STORE_TYPE_P = tuple(STORE_TYPE_SHARE[label] for label in STORE_TYPES)
CATEGORIES = ("apparel", "electronics", "home", "beauty", "toys", "sports")
CATEGORY_P = (0.24, 0.20, 0.18, 0.15, 0.12, 0.11)
INDIVIDUAL, ENTERPRISE = (ACCOUNT_TYPES.index(t) for t in ("individual", "enterprise"))
BASIC, STANDARD = (SALES_PLANS.index(p) for p in ("basic", "standard"))

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


@dataclass(frozen=True)
class Merchants:
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
            status=label_series(MERCHANT_STATUSES, self.status[k]),
        ).select(list(FRAME_SCHEMAS["merchants"]))


def build_merchants(n: int, cal: Calendar, seed: int) -> Merchants:
    """Draw the population once; monthly snapshots derive from it, so ids stay stable."""
    rng = stream(seed, S_MERCHANTS)
    width = max(7, len(str(n + 10_000)))
    enterprise = rng.random(n) < 0.3
    entity = np.arange(1, n + 1, dtype=np.int64)
    verified = np.ones(n, dtype=bool)
    collection = np.ones(n, dtype=bool)
    products = np.clip(np.rint(rng.lognormal(np.log(150), 1.1, n)), 11, 200_000).astype(np.int64)
    status = _base_status(rng, n)
    first = cal.start(0) // US
    # Registered since 2018-01-01, or ten years before the first month for an earlier one
    # (months before 2018-02 stopped the generator on "low >= high", a review).
    until = first - 30 * DAY_S
    since = 1_514_764_800 if until > 1_514_764_800 else until - 3_650 * DAY_S
    registered = rng.integers(since, until, n) * US
    locked, always_banned = _craft(rng, enterprise, entity, verified, collection, products, status)
    plan = np.where(rng.random(n) < np.where(enterprise, 0.7, 0.25), STANDARD, BASIC)
    account_type = np.where(enterprise, ENTERPRISE, INDIVIDUAL)
    static = pl.DataFrame(
        {
            "merchant_id": prefixed("M", np.arange(1, n + 1), width),
            "account_type": label_series(ACCOUNT_TYPES, account_type),
            "auth_entity_id": prefixed("E", entity, width),
            "real_name_verified": verified,
            "collection_account_set": collection,
            "sales_plan": label_series(SALES_PLANS, plan),
            "store_type": label_series(STORE_TYPES, rng.choice(4, n, p=STORE_TYPE_P)),
            "main_category": label_series(CATEGORIES, rng.choice(6, n, p=CATEGORY_P)),
            "registered_at": pl.Series(registered).cast(TS),
        }
    )
    rank = rng.permutation(n) + 1
    weight = np.exp(rng.normal(0.0, 0.8, n)) / rank  # Zipf by rank, blurred
    return Merchants(
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
    base: np.ndarray, locked: np.ndarray, cal: Calendar, seed: int
) -> list[np.ndarray]:
    """Statuses per month: a few suspensions, reinstatements, bans and terminations."""
    out = [base.astype(np.int8)]
    for k in range(1, len(cal.months)):
        rng = stream(seed, S_STATUS, k)
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
