"""An independent reading of the contract (spec §1–§8), to test the pipeline against.

Written from ``grading-spec.md`` alone, by a reviewer who had not read ``pipelines/``,
``sql/`` or ``assets/`` (the twenty-first review, docs/decisions/conformance-review.md).
It shares no code with the pipeline: plain Python over a small landing folder, row by
row, with exact fractions for every rate, so that a rule the pipeline gets wrong and an
oracle built on the pipeline's own helpers would get wrong the same way is still seen.
Its default numbers are those the spec states for the shipped policy (2026.1), on
purpose: a second reading of the contract, not of the policy file. Another policy's
numbers are given as a ``Policy`` (a third review, 2026-12-07, added them and §11's
projection).

Its row classification follows §1's reasons in their order, enough for the fixture's bad
rows, but not the project's readings where the spec is silent (surrounding spaces, empty
values): tests/test_spec_oracle.py feeds it valid landings only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

UTC = dt.UTC
DATASETS = ["merchants", "orders", "feedback", "bad_orders", "service_metrics"]
COLUMNS = {
    "merchants": [
        "merchant_id",
        "account_type",
        "auth_entity_id",
        "real_name_verified",
        "collection_account_set",
        "sales_plan",
        "store_type",
        "main_category",
        "product_count",
        "status",
        "registered_at",
    ],
    "orders": [
        "order_id",
        "merchant_id",
        "buyer_id",
        "created_at",
        "ended_at",
        "status",
        "amount_usd",
    ],
    "feedback": ["order_id", "merchant_id", "buyer_id", "stars", "feedback_at"],
    "bad_orders": ["order_id", "merchant_id", "reason", "recorded_at", "exempt"],
    "service_metrics": [
        "merchant_id",
        "metric_date",
        "messages_received",
        "messages_replied_24h",
        "dsr_item_sum",
        "dsr_item_count",
        "shipments_due",
        "shipments_on_time",
    ],
}
TIMESTAMPS = {"registered_at", "created_at", "ended_at", "feedback_at", "recorded_at"}
BOOLEANS = {"real_name_verified", "collection_account_set", "exempt"}
INTEGERS = {"product_count", "stars", *COLUMNS["service_metrics"][2:]}
KEYS = {
    "merchants": ["merchant_id"],
    "orders": ["order_id"],
    "feedback": ["order_id"],
    "bad_orders": ["order_id", "reason"],
    "service_metrics": ["merchant_id", "metric_date"],
}
MONTH_COLUMN = {
    "orders": "ended_at",
    "feedback": "feedback_at",
    "bad_orders": "recorded_at",
    "service_metrics": "metric_date",
}
ENUMS = {
    "account_type": {"individual", "enterprise"},
    "sales_plan": {"basic", "standard"},
    "store_type": {"official", "exclusive", "specialty", "other"},
    "merchant_status": {"active", "suspended", "banned", "terminated"},
    "order_status": {"completed", "cancelled", "refunded"},
    "reason": {
        "negative_feedback",
        "low_dsr",
        "seller_cancelled",
        "late_shipment",
        "seller_responsible_dispute",
        "dispute_no_response",
    },
}

F = Fraction


@dataclass(frozen=True)
class Policy:
    """The numbers of a policy; the defaults are 2026.1's as spec §3–§7 state them."""

    version: str = "2026.1"
    min_amount: Decimal = Decimal("5.00")
    positive_min_stars: int = 4
    negative_max_stars: int = 2
    period_start_days: tuple[int, ...] = (1, 11, 21)
    level_bounds: tuple[int, ...] = (3, 10, 30, 100, 200, 500, 1000, 2000, 5000, 10000)
    window_days: int = 90
    min_dsr_count: int = 10
    min_shipments_due: int = 20
    min_messages_received: int = 10
    # tier, assessed >=, bad <, dispute <, positive >=, dsr >=, on time >=, response >=
    tiers: tuple[tuple, ...] = (
        ("excellent", 90, F(3, 100), F(8, 1000), F(97, 100), F(47, 10), F(95, 100), F(4, 5)),
        ("good", 30, F(6, 100), F(8, 1000), F(95, 100), F(9, 2), F(9, 10), None),
        ("passing", 30, F(12, 100), F(8, 1000), F(9, 10), None, None, None),
    )
    fallback_tier: str = "failing"
    provisional_below: int = 30
    provisional_tier: str = "passing"
    max_products_without_store: int = 10
    individual_accounts: int = 1
    enterprise_accounts: int = 6
    level_step: Fraction = F(2, 100)
    tier_multiplier: dict = field(
        default_factory=lambda: {
            "excellent": F(3, 2),
            "good": F(6, 5),
            "passing": F(1),
            "failing": F(1, 2),
        }
    )
    # showcase_slots, promotion_eligible, email_quota
    resources: dict = field(
        default_factory=lambda: {
            "excellent": (3, True, 2000),
            "good": (1, True, 1000),
            "passing": (0, True, 500),
            "failing": (0, False, 0),
        }
    )


DEFAULT_POLICY = Policy()


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _timestamp(value: object) -> dt.datetime | None:
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, dt.datetime):
        text = str(value).strip()
        if text == "":
            return None
        if text[-1] in "Zz":
            text = text[:-1] + "+00:00"
        value = dt.datetime.fromisoformat(text)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _date(value: object) -> dt.date | None:
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    return None if text == "" else dt.date.fromisoformat(text)


def _boolean(value: object) -> bool | None:
    if _missing(value):
        return None
    if type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    if text == "":
        return None
    raise ValueError(f"not a boolean: {value!r}")


def _integer(value: object) -> int | None:
    if _missing(value):
        return None
    text = str(value).strip()
    return None if text == "" else int(text)


def _text(value: object) -> str | None:
    if _missing(value):
        return None
    text = str(value)
    return None if text == "" else text


def _typed(dataset: str, raw: dict) -> dict:
    row = {}
    for column in COLUMNS[dataset]:
        value = raw.get(column)
        if column in TIMESTAMPS:
            row[column] = _timestamp(value)
        elif column == "metric_date":
            row[column] = _date(value)
        elif column in BOOLEANS:
            row[column] = _boolean(value)
        elif column in INTEGERS:
            row[column] = _integer(value)
        elif column == "amount_usd":
            text = None if _missing(value) else str(value).strip()
            row[column] = Decimal(text) if text else None
        else:
            row[column] = _text(value)
    return row


def _read_month(landing: Path, dataset: str, month: str) -> list[dict]:
    rows = []
    for path in sorted((landing / dataset / f"month={month}").glob("*")):
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            continue
        rows += [_typed(dataset, record) for record in frame.to_dict("records")]
    return rows


def _month_of(moment: dt.date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _bad_value(dataset: str, row: dict) -> bool:
    if dataset == "merchants":
        return (
            row["account_type"] not in ENUMS["account_type"]
            or row["sales_plan"] not in ENUMS["sales_plan"]
            or row["store_type"] not in ENUMS["store_type"]
            or row["status"] not in ENUMS["merchant_status"]
            or (row["product_count"] is not None and row["product_count"] < 0)
        )
    if dataset == "orders":
        return (
            row["status"] not in ENUMS["order_status"]
            or (row["amount_usd"] is not None and row["amount_usd"] < 0)
            or row["ended_at"] < row["created_at"]
        )
    if dataset == "feedback":
        return not 1 <= row["stars"] <= 5
    if dataset == "bad_orders":
        return row["reason"] not in ENUMS["reason"]
    counts = [row[column] for column in COLUMNS[dataset][2:]]
    return (
        any(count < 0 for count in counts)
        or row["messages_replied_24h"] > row["messages_received"]
        or row["shipments_on_time"] > row["shipments_due"]
        or not row["dsr_item_count"] <= row["dsr_item_sum"] <= 5 * row["dsr_item_count"]
    )


class History:
    """What months ingested so far accepted, and what they quarantined."""

    def __init__(self) -> None:
        self.known_merchants: set[str] = set()
        self.snapshots: dict[str, dict[str, dict]] = {}
        self.accepted: dict[str, dict] = {ds: {} for ds in DATASETS[1:]}
        self.quarantined: list[tuple[str, str, str]] = []

    def _reason(self, dataset: str, month: str, row: dict) -> str | None:
        if any(row[key] is None for key in KEYS[dataset]):
            return "null_key"
        if _bad_value(dataset, row):
            return "bad_value"
        if dataset == "merchants":
            return None
        if _month_of(row[MONTH_COLUMN[dataset]]) != month:
            return "wrong_month"
        if row["merchant_id"] not in self.known_merchants:
            return "unknown_merchant"
        if dataset in ("feedback", "bad_orders"):
            order = self.accepted["orders"].get(row["order_id"])
            if order is None or order["merchant_id"] != row["merchant_id"]:
                return "unknown_order"
            if dataset == "feedback" and order["status"] != "completed":
                return "order_not_completed"
        return None

    def ingest(self, landing: Path, month: str) -> None:
        for dataset in DATASETS:
            by_key: dict[tuple, dict[tuple, int]] = {}
            for row in _read_month(landing, dataset, month):
                reason = self._reason(dataset, month, row)
                if reason:
                    self.quarantined.append((dataset, month, reason))
                    continue
                key = tuple(row[column] for column in KEYS[dataset])
                values = tuple(row[column] for column in COLUMNS[dataset])
                by_key.setdefault(key, {})
                by_key[key][values] = by_key[key].get(values, 0) + 1
            accepted = {}
            for key, versions in by_key.items():
                if len(versions) > 1:  # every copy of a conflicting key (copies collapsed)
                    self.quarantined += [(dataset, month, "duplicate_key")] * len(versions)
                    continue
                (values,) = versions
                row = dict(zip(COLUMNS[dataset], values, strict=True))
                stored_key = key[0] if dataset in ("orders", "feedback") else key
                if dataset != "merchants" and stored_key in self.accepted[dataset]:
                    earlier = self.accepted[dataset][stored_key]
                    if tuple(earlier[c] for c in COLUMNS[dataset]) != values:
                        self.quarantined.append((dataset, month, "duplicate_key"))
                    continue
                accepted[stored_key] = row
            if dataset == "merchants":
                self.snapshots[month] = {key[0]: row for key, row in accepted.items()}
                self.known_merchants |= set(self.snapshots[month])
            else:
                self.accepted[dataset].update(accepted)


def _next_month(month: str) -> str:
    year, number = map(int, month.split("-"))
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _period(moment: dt.datetime, policy: Policy) -> tuple[int, int, int]:
    return (moment.year, moment.month, sum(moment.day >= day for day in policy.period_start_days))


def _points(stars: int, policy: Policy) -> int:
    if stars >= policy.positive_min_stars:
        return 1
    return -1 if stars <= policy.negative_max_stars else 0


def _counted(feedback: list[dict], orders: dict[str, dict], policy: Policy) -> set[tuple]:
    """(merchant, buyer, period, points): at most one of each kind a period (spec §3)."""
    return {
        (
            row["merchant_id"],
            row["buyer_id"],
            _period(row["feedback_at"], policy),
            _points(row["stars"], policy),
        )
        for row in feedback
        if orders[row["order_id"]]["amount_usd"] >= policy.min_amount
    }


# merchant_grades' rate columns, in the order grade() computes them
RATE_COLUMNS = [
    "bad_order_rate",
    "seller_dispute_rate",
    "positive_feedback_rate",
    "dsr_item_avg",
    "on_time_ship_rate",
    "response_rate_24h",
]


def _rate(numerator: int, denominator: int, defined: bool) -> Fraction | None:
    return Fraction(numerator, denominator) if defined else None


def _meets(value: Fraction | None, bound: Fraction | None, below: bool) -> bool:
    if value is None or bound is None:  # an undefined metric, or no condition
        return True
    return value < bound if below else value >= bound


def grade(
    history: History, month: str, policy: Policy = DEFAULT_POLICY, as_of: dt.date | None = None
) -> dict[str, list[dict]]:
    """Month's four output tables (spec §2–§8), values as plain Python. ``as_of``: the
    projection of spec §11, whose cutoff is the first instant of the day after it."""
    next_day = (
        as_of + dt.timedelta(days=1) if as_of else dt.date.fromisoformat(_next_month(month) + "-01")
    )
    cutoff = dt.datetime.combine(next_day, dt.time(), UTC)
    last_day = (cutoff - dt.timedelta(days=1)).date()
    first_day = last_day - dt.timedelta(days=policy.window_days - 1)
    window_start = dt.datetime.combine(first_day, dt.time(), UTC)
    snapshot = history.snapshots[month]
    active = {mid: row for mid, row in snapshot.items() if row["status"] == "active"}
    orders = history.accepted["orders"]

    feedback = [f for f in history.accepted["feedback"].values() if f["feedback_at"] < cutoff]
    credit: dict[str, int] = {}
    for merchant_id, _buyer, _slot, points in _counted(feedback, orders, policy):
        credit[merchant_id] = credit.get(merchant_id, 0) + points
    positive: dict[str, int] = {}
    negative: dict[str, int] = {}
    in_window = [f for f in feedback if f["feedback_at"] >= window_start]
    for merchant_id, _buyer, _slot, points in _counted(in_window, orders, policy):
        if points == 1:
            positive[merchant_id] = positive.get(merchant_id, 0) + 1
        elif points == -1:
            negative[merchant_id] = negative.get(merchant_id, 0) + 1

    bad, disputed = set(), set()
    for (order_id, reason), record in history.accepted["bad_orders"].items():
        if not record["exempt"] and record["recorded_at"] < cutoff:
            bad.add(order_id)
            if reason == "seller_responsible_dispute":
                disputed.add(order_id)
    assessed: dict[str, list[int]] = {}
    for order_id, order in orders.items():
        if window_start <= order["ended_at"] < cutoff:
            counts = assessed.setdefault(order["merchant_id"], [0, 0, 0])
            counts[0] += 1
            counts[1] += order_id in bad
            counts[2] += order_id in disputed
    service: dict[str, list[int]] = {}
    for (merchant_id, day), row in history.accepted["service_metrics"].items():
        if first_day <= day <= last_day:
            sums = service.setdefault(merchant_id, [0] * 6)
            for i, column in enumerate(COLUMNS["service_metrics"][2:]):
                sums[i] += row[column]

    grades, tier_level = [], {}
    for merchant_id in sorted(active):
        points = credit.get(merchant_id, 0)
        level = sum(points >= bound for bound in policy.level_bounds)
        n, n_bad, n_disputed = assessed.get(merchant_id, [0, 0, 0])
        pos, neg = positive.get(merchant_id, 0), negative.get(merchant_id, 0)
        received, replied, dsr_sum, dsr_count, due, on_time = service.get(merchant_id, [0] * 6)
        rates = [
            _rate(n_bad, n, n > 0),
            _rate(n_disputed, n, n > 0),
            _rate(pos, pos + neg, pos + neg >= 1),
            _rate(dsr_sum, dsr_count, dsr_count >= policy.min_dsr_count),
            _rate(on_time, due, due >= policy.min_shipments_due),
            _rate(replied, received, received >= policy.min_messages_received),
        ]
        provisional = n < policy.provisional_below
        tier = policy.provisional_tier if provisional else policy.fallback_tier
        if not provisional:
            for name, least, *bounds in policy.tiers:
                if n >= least and all(
                    _meets(value, bound, below=i < 2)
                    for i, (value, bound) in enumerate(zip(rates, bounds, strict=True))
                ):
                    tier = name
                    break
        grades.append(
            {
                "month": month,
                "merchant_id": merchant_id,
                "credit_points": points,
                "level": level,
                "assessed_orders": n,
                "bad_orders": n_bad,
                "seller_dispute_orders": n_disputed,
                "positive_feedback": pos,
                "negative_feedback": neg,
                **{
                    name: None if rate is None else float(rate)
                    for name, rate in zip(RATE_COLUMNS, rates, strict=True)
                },
                "tier": tier,
                "provisional": provisional,
                "policy_version": policy.version,
            }
        )
        tier_level[merchant_id] = (tier, level)

    violations = _violations(snapshot, active, policy)
    compliance = [
        {"month": month, "merchant_id": mid, "violation": violation}
        for mid in sorted(violations)
        for violation in violations[mid]
    ]
    raw_weight = {
        mid: policy.tier_multiplier[tier_level[mid][0]]
        * (1 + policy.level_step * tier_level[mid][1])
        if not violations[mid]
        else Fraction(0)
        for mid in active
    }
    category_sum: dict[str, Fraction] = {}
    for mid, row in active.items():
        category_sum[row["main_category"]] = (
            category_sum.get(row["main_category"], 0) + raw_weight[mid]
        )
    exposure, distribution = [], {}
    for mid in sorted(active):
        category = active[mid]["main_category"]
        tier, level = tier_level[mid]
        eligible = not violations[mid]
        total = category_sum[category]
        slots, promotion, email = policy.resources[tier] if eligible else (0, False, 0)
        exposure.append(
            {
                "month": month,
                "merchant_id": mid,
                "main_category": category,
                "tier": tier,
                "level": level,
                "eligible": eligible,
                "raw_weight": float(raw_weight[mid]),
                "exposure_share": float(raw_weight[mid] / total) if total else 0.0,
                "showcase_slots": slots,
                "promotion_eligible": promotion,
                "email_quota": email,
            }
        )
        distribution[(category, tier)] = distribution.get((category, tier), 0) + 1
    return {
        "merchant_grades": grades,
        "exposure_weights": exposure,
        "merchant_compliance": compliance,
        "tier_distribution": [
            {"month": month, "main_category": category, "tier": tier, "merchants": n}
            for (category, tier), n in sorted(distribution.items())
        ],
    }


def _violations(
    snapshot: dict[str, dict], active: dict[str, dict], policy: Policy
) -> dict[str, list[str]]:
    """Spec §6, for every active merchant (an empty list: eligible)."""
    found: dict[str, list[str]] = {mid: [] for mid in active}
    for mid, row in active.items():
        if not row["real_name_verified"]:
            found[mid].append("not_authenticated")
        if not row["collection_account_set"]:
            found[mid].append("no_collection_account")
        if row["product_count"] <= policy.max_products_without_store:
            found[mid].append("no_store")
    for account_type, allowed, violation in (
        ("individual", policy.individual_accounts, "individual_account_limit"),
        ("enterprise", policy.enterprise_accounts, "enterprise_account_limit"),
    ):
        groups: dict[str, list[tuple]] = {}
        for mid, row in active.items():
            if row["account_type"] == account_type:
                groups.setdefault(row["auth_entity_id"], []).append((row["registered_at"], mid))
        for accounts in groups.values():
            for _registered, mid in sorted(accounts)[allowed:]:
                found[mid].append(violation)
    banned = {row["auth_entity_id"] for row in snapshot.values() if row["status"] == "banned"}
    for mid, row in active.items():
        if row["auth_entity_id"] in banned:
            found[mid].append("banned_entity")
    return found


def grade_landing(
    landing: Path, through: str, policy: Policy = DEFAULT_POLICY, as_of: dt.date | None = None
) -> dict[str, list[dict]]:
    """Every month from the landing's first through ``through``, as ``grading run`` does
    (the last projected as of ``as_of`` when given), with ``quarantine_counts`` (dataset,
    month, reason, rows) as in expected.json."""
    months = {p.name.removeprefix("month=") for p in landing.glob("*/month=*")}
    history = History()
    tables: dict[str, list[dict]] = {}
    month = min(months)
    while month <= through:
        history.ingest(landing, month)
        projected = as_of if month == through else None
        for table, rows in grade(history, month, policy, projected).items():
            tables.setdefault(table, []).extend(rows)
        month = _next_month(month)
    counts: dict[tuple, int] = {}
    for key in history.quarantined:
        counts[key] = counts.get(key, 0) + 1
    tables["quarantine_counts"] = [
        {"dataset": d, "month": m, "reason": r, "rows": n}
        for (d, m, r), n in sorted(counts.items())
    ]
    return tables
