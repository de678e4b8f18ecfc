"""The monthly merchant grading written plainly in pandas: the benchmark's baseline.

This is the grading of ``../shared/spec/grading-spec.md`` the way an analyst would write it
in a notebook: read every landing file with ``pandas.read_csv`` / ``pandas.read_parquet``,
drop the bad rows, then ``merge`` / ``groupby`` / boolean masks. It shares nothing with the
pipeline's computation (no DuckDB, no polars, no ``pipelines.rules``); only the policy
numbers are read with ``pipelines.policy.load_policy``, which is configuration.

There is no warehouse and no state: grading month M reads every landing month from the
folder's first one through M, because credit points are cumulative over all history and
a key must be unique across every ingested month. It gives the same grades as
``grading run --through M`` (the pipeline grades month by month and keeps a ledger).

Usage::

    python -m bench.pandas_baseline --landing L --month YYYY-MM [--policy P] [--out F]
        [--quarantine-out J]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.policy import Policy, load_policy

# ----------------------------------------------------------------------------------------
# The contract's datasets (spec §1): columns and types, keys, enums, row rules
# ----------------------------------------------------------------------------------------

DATASET_ORDER = ("merchants", "orders", "feedback", "bad_orders", "service_metrics")

COLUMNS = {
    "merchants": {
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
    "orders": {
        "order_id": "str",
        "merchant_id": "str",
        "buyer_id": "str",
        "created_at": "timestamp",
        "ended_at": "timestamp",
        "status": "str",
        "amount_usd": "decimal",
    },
    "feedback": {
        "order_id": "str",
        "merchant_id": "str",
        "buyer_id": "str",
        "stars": "int",
        "feedback_at": "timestamp",
    },
    "bad_orders": {
        "order_id": "str",
        "merchant_id": "str",
        "reason": "str",
        "recorded_at": "timestamp",
        "exempt": "bool",
    },
    "service_metrics": {
        "merchant_id": "str",
        "metric_date": "date",
        "messages_received": "int",
        "messages_replied_24h": "int",
        "dsr_item_sum": "int",
        "dsr_item_count": "int",
        "shipments_due": "int",
        "shipments_on_time": "int",
    },
}

KEYS = {
    "merchants": ["merchant_id"],
    "orders": ["order_id"],
    "feedback": ["order_id"],
    "bad_orders": ["order_id", "reason"],
    "service_metrics": ["merchant_id", "metric_date"],
}

# The column whose month must be the folder's month (merchants are a snapshot: none).
MONTH_COLUMN = {
    "orders": "ended_at",
    "feedback": "feedback_at",
    "bad_orders": "recorded_at",
    "service_metrics": "metric_date",
}

ENUMS = {
    "merchants": {
        "account_type": {"individual", "enterprise"},
        "sales_plan": {"basic", "standard"},
        "store_type": {"official", "exclusive", "specialty", "other"},
        "status": {"active", "suspended", "banned", "terminated"},
    },
    "orders": {"status": {"completed", "cancelled", "refunded"}},
    "feedback": {},
    "bad_orders": {
        "reason": {
            "negative_feedback",
            "low_dsr",
            "seller_cancelled",
            "late_shipment",
            "seller_responsible_dispute",
            "dispute_no_response",
        }
    },
    "service_metrics": {},
}

SERVICE_COUNTS = [
    "messages_received",
    "messages_replied_24h",
    "dsr_item_sum",
    "dsr_item_count",
    "shipments_due",
    "shipments_on_time",
]


def bad_values(dataset: str, df: pd.DataFrame) -> pd.Series:
    """Rows breaking a value rule of their own (spec §1 ``bad_value``), nulls excluded."""
    if dataset == "merchants":
        return df["product_count"] < 0
    if dataset == "orders":
        return (df["amount_usd"] < 0) | (df["ended_at"] < df["created_at"])
    if dataset == "feedback":
        return (df["stars"] < 1) | (df["stars"] > 5)
    if dataset == "service_metrics":
        negative = (df[SERVICE_COUNTS] < 0).any(axis=1)
        return (
            negative
            | (df["messages_replied_24h"] > df["messages_received"])
            | (df["shipments_on_time"] > df["shipments_due"])
            | (df["dsr_item_sum"] < df["dsr_item_count"])
            | (df["dsr_item_sum"] > 5 * df["dsr_item_count"])
        )
    return pd.Series(False, index=df.index)


class LandingFileError(ValueError):
    """A landing file cannot be used: the month stops (spec §1). Names file and column."""


class BlockedMonth(RuntimeError):
    """Too many rows of a dataset-month were quarantined: the pipeline would not publish."""


# ----------------------------------------------------------------------------------------
# Reading one dataset-month
# ----------------------------------------------------------------------------------------


def month_files(landing: Path, dataset: str, month: str) -> list[Path]:
    folder = landing / dataset / f"month={month}"
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")) or path.is_dir():
            continue
        if path.suffix.lower() not in (".csv", ".parquet"):
            raise LandingFileError(f"{path}: unsupported file type {path.suffix!r}")
        files.append(path)
    return files


def read_file(path: Path, dataset: str) -> pd.DataFrame:
    """One landing file with the contract's columns (found by name), cast to their types."""
    if path.suffix.lower() == ".csv":
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    else:
        raw = pd.read_parquet(path)
    by_lower = {str(c).strip().lower(): c for c in raw.columns}
    out = {}
    for column, kind in COLUMNS[dataset].items():
        source = column if column in raw.columns else by_lower.get(column)
        if source is None:
            raise LandingFileError(f"{path}: required column '{column}' is missing")
        out[column] = cast(raw[source], kind, f"{path}: column '{column}'")
    df = pd.DataFrame(out)
    df["_file"] = path.name
    return df


def cast(values: pd.Series, kind: str, where: str) -> pd.Series:
    """Cast a column to a contract type; a blank text value is missing, not an error."""
    if pd.api.types.is_string_dtype(values):  # CSV columns, and text in Parquet
        text = values.str.strip()
        text = text.where(values.notna() & (text != ""))
    else:
        text = None

    if kind == "str":  # the value itself is kept, untrimmed; blank is missing
        if text is None:
            return values.astype("str").where(values.notna())
        return values.where(text.notna())

    if kind == "int":
        if text is None:
            number = pd.to_numeric(values)
        else:
            ok = text.isna() | text.str.fullmatch(r"[+-]?[0-9]+").fillna(False)
            _refuse(~ok, text, where, "int")
            number = pd.to_numeric(text)
        _refuse(number.notna() & (number != np.floor(number)), values, where, "int")
        return number

    if kind == "decimal":
        if text is None:
            return values.astype("float64")
        number = pd.to_numeric(text, errors="coerce")
        _refuse(text.notna() & number.isna(), text, where, "decimal")
        return number

    if kind == "bool":
        if text is None:
            return values.astype("boolean")
        lower = text.str.lower()
        flag = pd.Series(pd.NA, index=values.index, dtype="boolean")
        flag[lower.isin(["true", "1"])] = True
        flag[lower.isin(["false", "0"])] = False
        _refuse(text.notna() & flag.isna(), text, where, "bool")
        return flag

    if kind == "timestamp":
        source = values if text is None else text
        if isinstance(source.dtype, pd.DatetimeTZDtype):
            stamp = source.dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_datetime64_dtype(source):
            stamp = source  # naive timestamps are UTC
        else:
            stamp = pd.to_datetime(source, utc=True, format="ISO8601", errors="coerce")
            _refuse(source.notna() & stamp.isna(), source, where, "timestamp")
            stamp = stamp.dt.tz_localize(None)
        return stamp.astype("datetime64[us]")

    if kind == "date":
        source = values if text is None else text
        if isinstance(source.dtype, pd.DatetimeTZDtype):
            source = source.dt.tz_convert("UTC").dt.tz_localize(None)
        day = pd.to_datetime(source, errors="coerce")
        _refuse(source.notna() & day.isna(), source, where, "date")
        return day.dt.normalize().astype("datetime64[us]")

    raise ValueError(f"unknown type {kind}")


def _refuse(bad: pd.Series, values: pd.Series, where: str, kind: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise LandingFileError(
            f"{where}, row {row + 1}: value {values.iloc[row]!r} cannot be read as {kind}"
        )


def read_month(landing: Path, dataset: str, month: str) -> pd.DataFrame:
    files = month_files(landing, dataset, month)
    if not files:  # an empty frame with the contract's types
        empty = pd.Series([], dtype="str")
        df = pd.DataFrame({c: cast(empty, kind, "") for c, kind in COLUMNS[dataset].items()})
        return df.assign(_file=empty)
    frames = [read_file(path, dataset) for path in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------
# Ingest: quarantine the bad rows month by month, keep the rest (spec §1)
# ----------------------------------------------------------------------------------------


@dataclass
class Landing:
    """The accepted rows of every dataset over the months read, and what was quarantined."""

    accepted: dict[str, pd.DataFrame] = field(default_factory=dict)
    quarantine: dict[tuple[str, str, str], int] = field(default_factory=dict)
    rows_read: dict[tuple[str, str], int] = field(default_factory=dict)


def month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(f"{month}-01")
    return start, start + pd.DateOffset(months=1)


def ingest_month(data: Landing, landing: Path, dataset: str, month: str) -> None:
    """Classify one dataset-month's rows and append the good ones to ``data.accepted``."""
    columns = list(COLUMNS[dataset])
    key = KEYS[dataset]
    df = read_month(landing, dataset, month)
    data.rows_read[(dataset, month)] = len(df)
    df = df.drop_duplicates(subset=columns).reset_index(drop=True)  # exact copies: one row

    # Reasons of the row alone, the first that applies.
    null_key = df[key].isna().any(axis=1)
    bad = df[[c for c in columns if c not in key]].isna().any(axis=1) | bad_values(dataset, df)
    for column, allowed in ENUMS[dataset].items():
        bad |= df[column].notna() & ~df[column].isin(allowed)
    checks = [("null_key", null_key), ("bad_value", bad)]
    if dataset in MONTH_COLUMN:
        start, end = month_bounds(month)
        stamp = df[MONTH_COLUMN[dataset]]
        checks.append(("wrong_month", stamp.notna() & ~((stamp >= start) & (stamp < end))))
    reason = first_reason(df, checks)

    # Reasons of the references: the merchant, the order.
    checks = []
    if dataset != "merchants":
        known = data.accepted["merchants"]["merchant_id"]
        checks.append(("unknown_merchant", ~df["merchant_id"].isin(known)))
    if dataset in ("feedback", "bad_orders"):
        orders = data.accepted["orders"]
        order = df[["order_id"]].merge(
            orders[["order_id", "merchant_id", "status", "amount_usd", "ended_at"]],
            on="order_id",
            how="left",
        )
        order.index = df.index
        checks.append(
            (
                "unknown_order",
                order["merchant_id"].isna() | order["merchant_id"].ne(df["merchant_id"]),
            )
        )
        if dataset == "feedback":
            checks.append(("order_not_completed", order["status"] != "completed"))
            df["order_amount_usd"] = order["amount_usd"]
        else:
            df["order_ended_at"] = order["ended_at"]
    if checks:  # merchants refer to nothing
        reason = reason.fillna(first_reason(df, checks))

    # Keys last (spec §1), compared among the rows that pass every other rule.
    # Two different rows with one key in the month: every copy goes.
    clean = reason.isna()
    same_key = df.loc[clean, key].duplicated(keep=False).reindex(df.index, fill_value=False)
    checks = [("duplicate_key", same_key)]
    # A key already accepted in an earlier month: the earlier row stands (not for the
    # merchants snapshot, whose key is unique within one month only).
    earlier = data.accepted.get(dataset)
    if dataset != "merchants" and earlier is not None and len(earlier):
        values = [c for c in columns if c not in key]
        seen = df[key].merge(
            earlier[columns].rename(columns={c: c + "_seen" for c in values}),
            on=key,
            how="left",
            indicator=True,
        )
        seen.index = df.index
        found = seen["_merge"] == "both"
        differs = pd.Series(False, index=df.index)
        for column in values:
            differs |= df[column].ne(seen[column + "_seen"])
        checks.append(("duplicate_key", found & differs))
        checks.append(("earlier_copy", found))  # the same row again: dropped, not quarantined
    reason = reason.fillna(first_reason(df, checks))

    quarantined = reason[reason.notna() & (reason != "earlier_copy")].value_counts()
    for name, n in quarantined.items():
        data.quarantine[(dataset, month, name)] = int(n)
    kept = df[reason.isna()].drop(columns="_file").assign(month=month)
    kept = kept.astype({c: "int64" for c, t in COLUMNS[dataset].items() if t == "int"})
    kept = kept.astype({c: bool for c, t in COLUMNS[dataset].items() if t == "bool"})
    if earlier is None or not len(earlier):
        data.accepted[dataset] = kept.reset_index(drop=True)
    else:
        data.accepted[dataset] = pd.concat([earlier, kept], ignore_index=True)


def first_reason(df: pd.DataFrame, checks: list[tuple[str, pd.Series]]) -> pd.Series:
    """The name of the first check a row fails, else missing."""
    conditions = [mask.fillna(False).to_numpy(dtype=bool) for _, mask in checks]
    names = [name for name, _ in checks]
    return pd.Series(np.select(conditions, names, default=None), index=df.index, dtype=object)


def landing_months(landing: Path) -> list[str]:
    months = set()
    for dataset in DATASET_ORDER:
        for folder in (landing / dataset).glob("month=*"):
            if re.fullmatch(r"month=\d{4}-\d{2}", folder.name):
                months.add(folder.name.removeprefix("month="))
    return sorted(months)


def ingest(landing: Path, month: str, policy: Policy) -> Landing:
    """Every month from the landing folder's first one through ``month``, in order."""
    data = Landing()
    months = [m for m in landing_months(landing) if m <= month]
    if month not in months:
        raise ValueError(f"{landing} holds nothing for {month}")
    months = list(pd.period_range(months[0], month, freq="M").strftime("%Y-%m"))
    ratio = policy.max_quarantine_ratio
    for m in months:
        for dataset in DATASET_ORDER:
            ingest_month(data, landing, dataset, m)
            read = data.rows_read[(dataset, m)]
            dropped = sum(n for (d, mm, _), n in data.quarantine.items() if (d, mm) == (dataset, m))
            if dropped * ratio.denominator > ratio.numerator * read:
                raise BlockedMonth(
                    f"{dataset} {m}: {dropped} of {read} rows quarantined, more than "
                    f"{float(ratio):g}: the month would not be published"
                )
    return data


# ----------------------------------------------------------------------------------------
# Grading (spec §2-§7)
# ----------------------------------------------------------------------------------------


def count_feedback(feedback: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Counted positives and negatives per merchant (§3): $5 minimum, one per polarity,
    merchant, buyer and ten-day period."""
    fb = feedback[feedback["order_amount_usd"] >= float(policy.min_order_amount_usd)]
    stars = fb["stars"]
    day = fb["feedback_at"].dt.day
    counted = pd.DataFrame(
        {
            "merchant_id": fb["merchant_id"],
            "buyer_id": fb["buyer_id"],
            "month": fb["feedback_at"].dt.year * 12 + fb["feedback_at"].dt.month,
            "period": sum((day >= start).astype("int8") for start in policy.period_start_days),
            "polarity": np.select(
                [stars >= policy.positive_min_stars, stars <= policy.negative_max_stars],
                [1, -1],
                default=0,
            ),
        }
    ).drop_duplicates()
    counts = (
        counted.assign(positive=counted["polarity"] == 1, negative=counted["polarity"] == -1)
        .groupby("merchant_id")[["positive", "negative"]]
        .sum()
    )
    return counts.rename(columns={"positive": "positive_feedback", "negative": "negative_feedback"})


def grade(data: Landing, month: str, policy: Policy) -> pd.DataFrame:
    start, cutoff = month_bounds(month)
    window_start = cutoff - pd.Timedelta(days=policy.window_days)
    merchants = data.accepted["merchants"]
    orders = data.accepted["orders"]
    feedback = data.accepted["feedback"]
    bad_orders = data.accepted["bad_orders"]
    service = data.accepted["service_metrics"]

    snapshot = merchants[merchants["month"] == month]
    if snapshot.empty:
        raise ValueError(f"no merchants snapshot for {month}")
    graded = snapshot.loc[snapshot["status"] == "active", ["merchant_id", "main_category"]]
    graded = graded.set_index("merchant_id")

    # Credit points: all feedback before the cutoff, then the level.
    fb = feedback[feedback["feedback_at"] < cutoff]
    credit = count_feedback(fb, policy)
    graded["credit_points"] = credit["positive_feedback"] - credit["negative_feedback"]
    graded["credit_points"] = graded["credit_points"].fillna(0).astype("int64")
    graded["level"] = np.searchsorted(policy.level_lower_bounds, graded["credit_points"], "right")

    # The window's counts (§4).
    in_window = (orders["ended_at"] >= window_start) & (orders["ended_at"] < cutoff)
    graded["assessed_orders"] = orders[in_window].groupby("merchant_id").size()
    bad = bad_orders[
        (bad_orders["recorded_at"] < cutoff)
        & (bad_orders["order_ended_at"] >= window_start)
        & (bad_orders["order_ended_at"] < cutoff)
        & ~bad_orders["exempt"]
    ]
    graded["bad_orders"] = bad.groupby("merchant_id")["order_id"].nunique()
    disputes = bad[bad["reason"] == "seller_responsible_dispute"]
    graded["seller_dispute_orders"] = disputes.groupby("merchant_id")["order_id"].nunique()
    window_fb = fb[fb["feedback_at"] >= window_start]
    graded = graded.join(count_feedback(window_fb, policy))
    days = service[(service["metric_date"] >= window_start) & (service["metric_date"] < cutoff)]
    graded = graded.join(days.groupby("merchant_id")[SERVICE_COUNTS].sum())
    counts = [
        "assessed_orders",
        "bad_orders",
        "seller_dispute_orders",
        "positive_feedback",
        "negative_feedback",
        *SERVICE_COUNTS,
    ]
    graded[counts] = graded[counts].fillna(0).astype("int64")
    graded["rated_feedback"] = graded["positive_feedback"] + graded["negative_feedback"]

    # Rates as numerator / denominator, defined from a minimum denominator.
    rates = {
        "bad_order_rate": ("bad_orders", "assessed_orders", 1),
        "seller_dispute_rate": ("seller_dispute_orders", "assessed_orders", 1),
        "positive_feedback_rate": ("positive_feedback", "rated_feedback", 1),
        "dsr_item_avg": ("dsr_item_sum", "dsr_item_count", policy.min_dsr_item_count),
        "on_time_ship_rate": ("shipments_on_time", "shipments_due", policy.min_shipments_due),
        "response_rate_24h": (
            "messages_replied_24h",
            "messages_received",
            policy.min_messages_received,
        ),
    }
    for name, (num, den, minimum) in rates.items():
        defined = graded[den] >= max(minimum, 1)
        graded[name] = (graded[num] / graded[den]).where(defined)

    # Tiers (§5): compared exactly, n/d < p/q as n*q < p*d on integers.
    def holds(rule) -> pd.Series:
        ok = graded["assessed_orders"] >= rule.min_assessed_orders
        for metric, bound in rule.max_rates.items():
            num, den, _ = rates[metric]
            below = graded[num] * bound.denominator < bound.numerator * graded[den]
            ok &= graded[metric].isna() | below
        for metric, bound in rule.min_rates.items():
            num, den, _ = rates[metric]
            at_least = graded[num] * bound.denominator >= bound.numerator * graded[den]
            ok &= graded[metric].isna() | at_least
        return ok

    graded["provisional"] = graded["assessed_orders"] < policy.provisional_min_assessed_orders
    graded["tier"] = np.select(
        [graded["provisional"], *(holds(rule) for rule in policy.tiers)],
        [policy.provisional_tier, *(rule.name for rule in policy.tiers)],
        default=policy.fallback_tier,
    )

    # Eligibility (§6) over the snapshot's active accounts.
    active = snapshot[snapshot["status"] == "active"].sort_values(["registered_at", "merchant_id"])
    rank = active.groupby(["auth_entity_id", "account_type"]).cumcount() + 1
    banned = snapshot.loc[snapshot["status"] == "banned", "auth_entity_id"]
    violation = (
        ~active["real_name_verified"]
        | ~active["collection_account_set"]
        | (active["product_count"] <= policy.min_product_count_exclusive)
        | ((active["account_type"] == "individual") & (rank > policy.individual_account_limit))
        | ((active["account_type"] == "enterprise") & (rank > policy.enterprise_account_limit))
        | active["auth_entity_id"].isin(banned)
    )
    graded["eligible"] = ~violation.set_axis(active["merchant_id"]).reindex(graded.index)

    # Exposure weights and resources (§7).
    tier = graded["tier"]
    multiplier = tier.map({t: float(v) for t, v in policy.tier_multiplier.items()})
    weight = multiplier * (1 + float(policy.level_step) * graded["level"])
    graded["raw_weight"] = weight.where(graded["eligible"], 0.0)
    total = graded.groupby("main_category")["raw_weight"].transform("sum")
    graded["exposure_share"] = (graded["raw_weight"] / total).where(total > 0, 0.0)
    eligible = graded["eligible"]
    graded["showcase_slots"] = tier.map(policy.showcase_slots).where(eligible, 0)
    graded["promotion_eligible"] = tier.map(policy.promotion_eligible).astype(bool) & eligible
    graded["email_quota"] = tier.map(policy.email_quota).where(eligible, 0)

    graded["month"] = month
    columns = [
        "month",
        "merchant_id",
        "main_category",
        "credit_points",
        "level",
        "assessed_orders",
        "bad_orders",
        "bad_order_rate",
        "seller_dispute_orders",
        "seller_dispute_rate",
        "positive_feedback",
        "negative_feedback",
        "positive_feedback_rate",
        "dsr_item_avg",
        "on_time_ship_rate",
        "response_rate_24h",
        "tier",
        "provisional",
        "eligible",
        "raw_weight",
        "exposure_share",
        "showcase_slots",
        "promotion_eligible",
        "email_quota",
    ]
    return graded.reset_index().sort_values("merchant_id")[columns].reset_index(drop=True)


def grade_month_pandas(landing: Path, month: str, policy_file: Path | None = None) -> pd.DataFrame:
    """One row per merchant graded in ``month`` (active in its snapshot), spec §3-§7.

    ``result.attrs["quarantine"]`` lists the rows left out of grading, as records
    ``{"dataset", "month", "reason", "rows"}`` for every month read (JSON-ready, so the
    frame still writes to Parquet).
    """
    policy = load_policy(policy_file)
    data = ingest(Path(landing), month, policy)
    result = grade(data, month, policy)
    result["policy_version"] = policy.version
    result.attrs["quarantine"] = [
        {"dataset": d, "month": m, "reason": r, "rows": n}
        for (d, m, r), n in sorted(data.quarantine.items())
    ]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pandas_baseline", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--policy", type=Path)
    parser.add_argument("--out", type=Path, help="write the grades to this Parquet file")
    parser.add_argument(
        "--quarantine-out",
        type=Path,
        help="write the rows left out of grading, counted by dataset, month and reason, "
        "to this JSON file",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = grade_month_pandas(args.landing, args.month, args.policy)
    seconds = time.perf_counter() - started
    print(f"{args.month}: {len(result):,} merchants graded")
    for tier, n in result["tier"].value_counts().items():
        print(f"  {tier:<10} {n:,}")
    print(f"wall time: {seconds:.2f}s")
    if args.out:
        result.to_parquet(args.out, index=False)
        print(f"wrote {args.out}")
    if args.quarantine_out:
        args.quarantine_out.write_text(json.dumps(result.attrs["quarantine"], indent=1) + "\n")
        print(f"wrote {args.quarantine_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
