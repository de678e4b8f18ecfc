"""The five landing datasets of the contract (spec §1): columns, types, keys and row rules.

One declarative table drives ingestion, so that adding a rule is a data change and the
SQL that enforces it is generated the same way for every dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AMOUNT_PRECISION, AMOUNT_SCALE = 38, 18
# Logical column types of the contract and their DuckDB storage types.
STORAGE_TYPES = {
    "str": "VARCHAR",
    "bool": "BOOLEAN",
    "int": "BIGINT",
    # 18 decimals hold any amount a file writes in practice exactly (a Parquet DOUBLE's
    # shortest form included), so no rounding moves an amount across the $5 rule.
    "decimal": f"DECIMAL({AMOUNT_PRECISION},{AMOUNT_SCALE})",
    "timestamp": "TIMESTAMP",  # naive, always UTC
    "date": "DATE",
}


@dataclass(frozen=True)
class Dataset:
    """One landing dataset.

    ``bad_value_sql`` are SQL predicates over the typed columns; a row matching any of
    them is quarantined as ``bad_value``. ``month_column`` is the column whose month must
    equal the month folder (``wrong_month``).
    """

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]
    month_column: str
    enums: dict[str, tuple[str, ...]]
    bad_value_sql: tuple[str, ...] = ()
    key_unique_across_months: bool = True
    checks_merchant: bool = True
    checks_order: bool = False
    requires_completed_order: bool = False
    # Stored column -> the column of the row's order it copies at ingest, so grading
    # never joins order history (feedback: the $5 rule; bad orders: the window).
    copied_from_order: dict[str, str] = field(default_factory=dict)

    @property
    def value_columns(self) -> tuple[str, ...]:
        return tuple(self.columns)


MERCHANTS = Dataset(
    name="merchants",
    columns={
        "merchant_id": "str",
        "account_type": "str",
        "auth_entity_id": "str",
        "real_name_verified": "bool",
        "collection_account_set": "bool",
        "sales_plan": "str",
        "store_type": "str",
        "main_category": "str",
        "product_count": "int",
        "status": "str",
        "registered_at": "timestamp",
    },
    key=("merchant_id",),
    month_column="",  # a snapshot: no row timestamp to check against the folder
    enums={
        "account_type": ("individual", "enterprise"),
        "sales_plan": ("basic", "standard"),
        "store_type": ("official", "exclusive", "specialty", "other"),
        "status": ("active", "suspended", "banned", "terminated"),
    },
    bad_value_sql=("product_count < 0",),
    key_unique_across_months=False,
    checks_merchant=False,
)

ORDERS = Dataset(
    name="orders",
    columns={
        "order_id": "str",
        "merchant_id": "str",
        "buyer_id": "str",
        "created_at": "timestamp",
        "ended_at": "timestamp",
        "status": "str",
        "amount_usd": "decimal",
    },
    key=("order_id",),
    month_column="ended_at",
    enums={"status": ("completed", "cancelled", "refunded")},
    bad_value_sql=("amount_usd < 0", "ended_at < created_at"),
)

FEEDBACK = Dataset(
    name="feedback",
    columns={
        "order_id": "str",
        "merchant_id": "str",
        "buyer_id": "str",
        "stars": "int",
        "feedback_at": "timestamp",
    },
    key=("order_id",),
    month_column="feedback_at",
    enums={},
    bad_value_sql=("stars < 1", "stars > 5"),
    checks_order=True,
    requires_completed_order=True,
    copied_from_order={"order_amount_usd": "amount_usd"},
)

BAD_ORDERS = Dataset(
    name="bad_orders",
    columns={
        "order_id": "str",
        "merchant_id": "str",
        "reason": "str",
        "recorded_at": "timestamp",
        "exempt": "bool",
    },
    key=("order_id", "reason"),
    month_column="recorded_at",
    enums={
        "reason": (
            "negative_feedback",
            "low_dsr",
            "seller_cancelled",
            "late_shipment",
            "seller_responsible_dispute",
            "dispute_no_response",
        )
    },
    checks_order=True,
    copied_from_order={"order_ended_at": "ended_at"},
)

SERVICE_METRICS = Dataset(
    name="service_metrics",
    columns={
        "merchant_id": "str",
        "metric_date": "date",
        "messages_received": "int",
        "messages_replied_24h": "int",
        "dsr_item_sum": "int",
        "dsr_item_count": "int",
        "shipments_due": "int",
        "shipments_on_time": "int",
    },
    key=("merchant_id", "metric_date"),
    month_column="metric_date",
    enums={},
    bad_value_sql=(
        "messages_received < 0",
        "messages_replied_24h < 0",
        "dsr_item_sum < 0",
        "dsr_item_count < 0",
        "shipments_due < 0",
        "shipments_on_time < 0",
        "messages_replied_24h > messages_received",
        "shipments_on_time > shipments_due",
        "dsr_item_sum < dsr_item_count",
        # 5.0 is a DECIMAL literal in DuckDB and Spark: the product is exact past 64 bits,
        # where 5 * dsr_item_count stopped the month on an overflow for any count over
        # 1,844,674,407,370,955,161 (found in review, 2026-12-06).
        "dsr_item_sum > 5.0 * dsr_item_count",
    ),
)

# Ingestion order matters: references are checked against what is already ingested.
DATASETS: tuple[Dataset, ...] = (MERCHANTS, ORDERS, FEEDBACK, BAD_ORDERS, SERVICE_METRICS)
DATASETS_BY_NAME = {d.name: d for d in DATASETS}

# Spec §1: one reason per row, the first that applies, in this order. duplicate_key comes
# last: keys are compared only among the rows that pass every other rule.
QUARANTINE_REASONS = (
    "null_key",
    "bad_value",
    "wrong_month",
    "unknown_merchant",
    "unknown_order",
    "order_not_completed",
    "duplicate_key",
)
