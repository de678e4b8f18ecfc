"""The credit ledger from month to month (spec §3, §10): a month may rightly leave it
empty, and a later month must still build on it."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest

from pipelines import grading
from pipelines.datasets import FEEDBACK, MERCHANTS, ORDERS
from pipelines.ingest import ingest_month
from pipelines.policy import load_policy
from pipelines.warehouse import fetch_rows
from tests.helpers import (
    FEEDBACK_COLUMNS,
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    merchant,
    order,
    write_csv,
)

MONTHS = ("2026-01", "2026-02", "2026-03")
SHIPPED = load_policy()
# Orders under $20 earn nothing: a policy that counts feedback otherwise.
TWENTY_DOLLARS = dataclasses.replace(SHIPPED, min_order_amount_usd=Fraction(20))


def land_month(con, landing: Path, month: str, amount: str) -> None:
    """Merchant M1, one order of ``amount`` and its 5-star feedback in ``month``."""
    write_csv(landing, "merchants", month, [merchant("M1")], MERCHANT_COLUMNS)
    ended = f"{month}-10T12:00:00Z"
    row = order(f"O{month}", ended_at=ended, created_at=f"{month}-01T00:00:00Z", amount_usd=amount)
    write_csv(landing, "orders", month, [row], ORDER_COLUMNS)
    feedback = [[f"O{month}", "M1", "B1", 5, f"{month}-20T00:00:00Z"]]
    write_csv(landing, "feedback", month, feedback, FEEDBACK_COLUMNS)
    for dataset in (MERCHANTS, ORDERS, FEEDBACK):
        ingest_month(con, landing, dataset, month)


def ledger(con, month: str) -> list[tuple]:
    return fetch_rows(
        con,
        "SELECT merchant_id, points_delta, credit_points FROM work.credit_ledger WHERE month = $m",
        {"m": month},
    )


@pytest.mark.parametrize(
    ("policies", "amounts", "expected"),
    [
        # January's only feedback is on a $4.99 order: no point, an empty ledger.
        ((SHIPPED,) * 3, ("4.99", "10.00", "10.00"), ([], [("M1", 1, 1)], [("M1", 1, 2)])),
        # From February under $20 only: the history recounted under it leaves nothing.
        (
            (SHIPPED, TWENTY_DOLLARS, TWENTY_DOLLARS),
            ("10.00", "10.00", "30.00"),
            ([("M1", 1, 1)], [], [("M1", 1, 1)]),
        ),
    ],
    ids=["nothing-counted-yet", "recounted-to-nothing"],
)
def test_a_month_builds_on_an_empty_ledger(con, landing, policies, amounts, expected):
    """An empty ledger is a month whose credit step ran: the next month builds on it and
    is not refused as if that month had never been graded."""
    for month, amount in zip(MONTHS, amounts, strict=True):
        land_month(con, landing, month, amount)
    for month, policy, want in zip(MONTHS, policies, expected, strict=True):
        grading.update_credit_ledger(con, month, policy)
        assert ledger(con, month) == want, month


def test_a_month_whose_previous_month_never_ran_is_still_refused(con, landing):
    for month in MONTHS[:2]:
        land_month(con, landing, month, "10.00")
    grading.update_credit_ledger(con, MONTHS[0], SHIPPED)
    with pytest.raises(grading.GradingError, match="credit history for 2026-02 is missing"):
        grading.update_credit_ledger(con, MONTHS[2], SHIPPED)


@pytest.mark.parametrize("january_regraded_by", ["this code", "the earlier code"])
def test_a_mixed_ledger_of_the_earlier_code_is_not_built_on_after_january_is_regraded(
    con, landing, january_regraded_by
):
    """The earlier code stored February under $20-only on top of January's point as the
    shipped policy counted it (2 where the rule gives 1), logging only February's rule and
    no ledger_rule_key. January is then regraded alone under February's rule, so every
    month's log names one rule: March must still count its history again (2), not build
    on February's mixed 2 (3)."""
    for month, amount in zip(MONTHS, ("10.00", "30.00", "30.00"), strict=True):
        land_month(con, landing, month, amount)
    grading.update_credit_ledger(con, MONTHS[0], SHIPPED)
    grading.update_credit_ledger(con, MONTHS[1], TWENTY_DOLLARS)
    con.execute("UPDATE work.feedback_counts_log SET ledger_rule_key = NULL")
    con.execute(
        "UPDATE work.credit_ledger SET credit_points = 2 WHERE month = $m", {"m": MONTHS[1]}
    )
    grading.update_credit_ledger(con, MONTHS[0], TWENTY_DOLLARS)
    if january_regraded_by == "the earlier code":
        con.execute("UPDATE work.feedback_counts_log SET ledger_rule_key = NULL")
    grading.update_credit_ledger(con, MONTHS[2], TWENTY_DOLLARS)
    assert ledger(con, MONTHS[2]) == [("M1", 1, 2)]


def test_a_ledger_of_the_earlier_code_under_one_rule_throughout_is_built_on(con, landing):
    """A warehouse that never changed its counting rule is not recounted after the
    upgrade: March rolls on February's stored ledger (here made 5, to tell the two apart)."""
    for month in MONTHS:
        land_month(con, landing, month, "10.00")
    for month in MONTHS[:2]:
        grading.update_credit_ledger(con, month, SHIPPED)
    con.execute("UPDATE work.feedback_counts_log SET ledger_rule_key = NULL")
    con.execute(
        "UPDATE work.credit_ledger SET credit_points = 5 WHERE month = $m", {"m": MONTHS[1]}
    )
    grading.update_credit_ledger(con, MONTHS[2], SHIPPED)
    assert ledger(con, MONTHS[2]) == [("M1", 1, 6)]
