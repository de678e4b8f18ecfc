"""Does the pandas baseline grade like the pipeline? Merchant by merchant, value by value.

A speed comparison means something only if both sides did the same work: the benchmark
compares the baseline's grades of month M with the pipeline's published exports of M
(``merchant_grades`` joined with ``exposure_weights``) and its quarantine counts with
the pipeline's ``quarantine`` exports, and refuses a result where they differ.
``tests/test_pandas_baseline.py`` makes the same comparison on small generated data and
on the conformance fixture.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

# Columns compared exactly; the rates and the exposure share as floats (see same_float).
EXACT = (
    "credit_points",
    "level",
    "tier",
    "provisional",
    "assessed_orders",
    "bad_orders",
    "seller_dispute_orders",
    "positive_feedback",
    "negative_feedback",
    "main_category",
    "eligible",
    "showcase_slots",
    "promotion_eligible",
    "email_quota",
)
FLOATS = (
    "bad_order_rate",
    "seller_dispute_rate",
    "positive_feedback_rate",
    "dsr_item_avg",
    "on_time_ship_rate",
    "response_rate_24h",
    "raw_weight",
    "exposure_share",
)
# Not compared: ``reasons`` (free text whose wording is the pipeline's own; the baseline
# does not produce it) and ``policy_version`` (a stamp, equal by construction).

QuarantineKey = tuple[str, str, str]  # (dataset, month, reason)


def same_float(expected: object, got: object) -> bool:
    """Rates are n/d as floats in both; the exposure share is a float division of
    integer weight units in the pipeline and of float weights in the baseline, so allow
    1e-9."""
    if expected is None or pd.isna(expected):
        return got is None or pd.isna(got)
    return math.isclose(float(expected), float(got), rel_tol=1e-9, abs_tol=1e-15)


def mismatches(want: pd.DataFrame, got: pd.DataFrame) -> list[tuple]:
    """(merchant, column, expected, got) for every differing value of the merchants of
    ``want``; both frames indexed by merchant."""
    out = []
    for column in EXACT:
        differ = want[column].ne(got.loc[want.index, column])
        out += [(m, column, want.at[m, column], got.at[m, column]) for m in want.index[differ]]
    for column in FLOATS:
        out += [
            (m, column, want.at[m, column], got.at[m, column])
            for m in want.index
            if not same_float(want.at[m, column], got.at[m, column])
        ]
    return out


def published_grades(outputs: Path, month: str) -> pd.DataFrame:
    """The pipeline's exports of ``month``: merchant_grades joined with exposure_weights,
    indexed by merchant."""
    grades = pd.read_parquet(outputs / "merchant_grades" / f"month={month}")
    weights = pd.read_parquet(outputs / "exposure_weights" / f"month={month}")
    extra = ["merchant_id", "main_category", "eligible", "raw_weight", "exposure_share"]
    extra += ["showcase_slots", "promotion_eligible", "email_quota"]
    return grades.merge(weights[extra], on="merchant_id", validate="1:1").set_index("merchant_id")


def quarantine_counts(records: list[dict]) -> dict[QuarantineKey, int]:
    """The baseline's quarantine records as counts by (dataset, month, reason)."""
    return {(r["dataset"], r["month"], r["reason"]): int(r["rows"]) for r in records}


def published_quarantine_counts(outputs: Path) -> dict[QuarantineKey, int]:
    """The pipeline's quarantine exports of every month, counted the same way."""
    files = sorted((outputs / "quarantine").glob("month=*/*.parquet"))
    if not files:
        return {}
    rows = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    counts = rows.groupby(["dataset", "month", "reason"]).size()
    return {key: int(n) for key, n in counts.items()}


def compare(
    outputs: Path, month: str, baseline: pd.DataFrame, quarantine: list[dict]
) -> dict[str, object]:
    """The agreement of the baseline's grades (one row per merchant, a ``merchant_id``
    column) and quarantine records with the pipeline's exports of ``month``: counts, and
    the first few differences, for the benchmark's result file."""
    published = published_grades(outputs, month)
    graded = baseline.set_index("merchant_id")
    only_published = sorted(set(published.index) - set(graded.index))
    only_baseline = sorted(set(graded.index) - set(published.index))
    both = published.loc[published.index.isin(graded.index)]
    differ = mismatches(both, graded)
    want_q, got_q = published_quarantine_counts(outputs), quarantine_counts(quarantine)
    quarantine_differ = sorted(k for k in set(want_q) | set(got_q) if want_q.get(k) != got_q.get(k))
    return {
        "merchants": len(published),
        "only_published": only_published[:10],
        "only_baseline": only_baseline[:10],
        "values_differing": len(differ),
        "first_differences": [[str(v) for v in d] for d in differ[:10]],
        "quarantine_counts_differing": [
            [*k, want_q.get(k), got_q.get(k)] for k in quarantine_differ[:10]
        ],
        "agrees": not (only_published or only_baseline or differ or quarantine_differ),
    }
