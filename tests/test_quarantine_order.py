"""One quarantine reason per row, in the order of spec §1, and keys compared last.

Spec §1: a row that breaks several rules gets the first that applies, in the order
``null_key``, ``bad_value``, ``wrong_month``, ``unknown_merchant``, ``unknown_order``,
``order_not_completed``, ``duplicate_key``; keys are compared only among rows that pass
every other rule, and a key counts as taken by an earlier month only if that month
accepted a row with it. Each pair and triple of reasons is pinned here on one row, for
feedback (staged, with the order lookup, also in ranges of order ids) and for orders
(stored directly, the repeated keys moved out after), with the twin of a duplicate_key
in the same month or in the month before: swapping any two reasons fails a case. Then
the cases the order decides end to end: the valid twin of a quarantined order, a key
freed by a quarantined earlier copy, a January restated with a key February holds
(through the real runner), the key checks of every dataset, and a property test against
bench/pandas_baseline.py, written apart from the pipeline.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.runner import grade_months
from bench import pandas_baseline
from pipelines.checks.validation import check_parameters, validate_suite
from pipelines.datasets import (
    DATASETS,
    DATASETS_BY_NAME,
    FEEDBACK,
    MERCHANTS,
    ORDERS,
    QUARANTINE_REASONS,
)
from pipelines.ingest import classify as ingest_classify
from pipelines.ingest import ingest_month
from pipelines.policy import load_policy
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import (
    CONFORMANCE,
    FEEDBACK_COLUMNS,
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    merchant,
    order,
    write_csv,
)

JAN, FEB = "2026-01", "2026-02"
SPEC_ORDER = (
    "null_key",
    "bad_value",
    "wrong_month",
    "unknown_merchant",
    "unknown_order",
    "order_not_completed",
    "duplicate_key",
)


def test_the_reason_list_follows_the_spec_order():
    assert QUARANTINE_REASONS == SPEC_ORDER


# --- every pair and triple of reasons on one feedback row ---------------------------------
#
# Each case has its own orders: C<n> (completed) and R<n> (refunded), both of merchant M1,
# and its feedback rows name the case in buyer_id. A rule is broken by overriding one
# value of the case's valid row; duplicate_key by a twin: the case's valid row with the
# same key and other stars, which breaks only what comes with the key (a missing key, or
# the refunded order). The twin lies in the same month, or (across months) in January
# with the row in February: a key counts as taken only if January accepted its twin.
ROW_DATES = {
    # month of the row: (its valid date, a date outside that month)
    JAN: ("2026-01-20T00:00:00Z", "2026-02-02T00:00:00Z"),
    FEB: ("2026-02-20T00:00:00Z", "2026-03-02T00:00:00Z"),
}
FEEDBACK_BREAKERS: dict[str, dict[str, str]] = {
    "null_key": {"order_id": ""},
    "bad_value": {"stars": "9"},
    "wrong_month": {"feedback_at": "{outside}"},
    "unknown_merchant": {"merchant_id": "M9"},  # also not the order's merchant
    "unknown_order": {"merchant_id": "M2"},  # a known merchant, not the order's
    "order_not_completed": {"order_id": "R{n}"},
}
FEEDBACK_REASONS = SPEC_ORDER
# A feedback without an order id cannot be on a refunded order.
IMPOSSIBLE = {frozenset({"null_key", "order_not_completed"})}
FEEDBACK_CASES = [
    combo
    for size in (1, 2, 3)
    for combo in itertools.combinations(FEEDBACK_REASONS, size)
    if not any(pair <= set(combo) for pair in IMPOSSIBLE)
]


def case_rows(
    n: int,
    combo: tuple[str, ...],
    valid: dict[str, str],
    breakers: dict[str, dict[str, str]],
    row_month: str,
    twin_values: dict[str, str],
) -> tuple[dict[str, str], dict[str, str] | None]:
    """The case's row (its valid row with the combo's rules broken, dated in
    ``row_month``) and its twin (None unless the combo holds duplicate_key)."""
    date, outside = ROW_DATES[row_month]
    time_column = "feedback_at" if "feedback_at" in valid else "ended_at"
    row = {**valid, time_column: date, "buyer_id": f"row-{n}"}
    # Later reasons first, so that a shared column keeps the earlier reason's value
    # (M9 breaks unknown_merchant and, not being the order's merchant, unknown_order).
    for reason in reversed(combo):
        overrides = breakers.get(reason, {}).items()
        row.update({k: v.format(n=n, outside=outside) for k, v in overrides})
    if "duplicate_key" not in combo:
        return row, None
    twin = {**valid, "order_id": row["order_id"], "buyer_id": f"twin-{n}", **twin_values}
    return row, twin


def twin_reason(combo: tuple[str, ...], across_months: bool) -> str | None:
    """The twin's reason: what comes with the key it shares, else duplicate_key when the
    row, too, passes every other rule in the same month, else none (the row is rejected
    for another, or the twin is the earlier month's row, which stands)."""
    if combo == ("duplicate_key",):
        return None if across_months else "duplicate_key"
    for reason in ("null_key", "order_not_completed"):
        if reason in combo:
            return reason
    return None


def outcome_by_buyer(con, dataset: str, month: str = JAN) -> dict[str, str | None]:
    """buyer_id (the case's row or twin) -> its reason, or None when accepted."""
    stored = fetch_rows(con, f"SELECT buyer_id FROM raw.{dataset} WHERE month = $m", {"m": month})
    outcome: dict[str, str | None] = {buyer: None for (buyer,) in stored}
    for reason, record in fetch_rows(
        con,
        "SELECT reason, record FROM raw.quarantine WHERE dataset = $d AND month = $m",
        {"d": dataset, "m": month},
    ):
        buyer = json.loads(record)["buyer_id"]
        assert buyer not in outcome, f"{buyer} stored and quarantined, or quarantined twice"
        outcome[buyer] = reason
    return outcome


def merchants_m1_m2(con, landing: Path) -> None:
    write_csv(landing, "merchants", JAN, [merchant("M1"), merchant("M2")], MERCHANT_COLUMNS)
    ingest_month(con, landing, MERCHANTS, JAN)


def ingest_cases(
    con,
    landing: Path,
    dataset,
    columns: list[str],
    cases: list[tuple[dict[str, str], dict[str, str] | None]],
    across_months: bool,
) -> dict[str, str | None]:
    """Ingest the cases' rows and twins (twins in January when ``across_months``, rows in
    February), and return each one's outcome by buyer_id."""
    rows = [row for row, _ in cases]
    twins = [twin for _, twin in cases if twin]
    months = {JAN: twins, FEB: rows} if across_months else {JAN: rows + twins}
    outcome: dict[str, str | None] = {}
    for month, month_rows in months.items():
        write_csv(landing, dataset.name, month, month_rows, columns)
        ingest_month(con, landing, dataset, month)
        outcome.update(outcome_by_buyer(con, dataset.name, month))
    return outcome


def ingest_feedback_cases(path: Path, landing: Path, across_months: bool) -> dict:
    con = connect(path)
    try:
        merchants_m1_m2(con, landing)
        orders = [order(f"C{n}") for n in range(len(FEEDBACK_CASES))]
        orders += [order(f"R{n}", status="refunded") for n in range(len(FEEDBACK_CASES))]
        write_csv(landing, "orders", JAN, orders, ORDER_COLUMNS)
        ingest_month(con, landing, ORDERS, JAN)
        row_month = FEB if across_months else JAN
        cases = [
            case_rows(
                n,
                combo,
                {"order_id": f"C{n}", "merchant_id": "M1", "stars": "5", "feedback_at": ""},
                FEEDBACK_BREAKERS,
                row_month,
                {"stars": "4", "feedback_at": ROW_DATES[JAN][0]},
            )
            for n, combo in enumerate(FEEDBACK_CASES)
        ]
        return ingest_cases(con, landing, FEEDBACK, FEEDBACK_COLUMNS, cases, across_months)
    finally:
        con.close()


@pytest.fixture(scope="module", params=[False, True], ids=["one_month", "across_months"])
def feedback_outcome(request, tmp_path_factory) -> tuple[bool, dict[str, str | None]]:
    root = tmp_path_factory.mktemp("feedback_cases")
    return request.param, ingest_feedback_cases(root / "w.duckdb", root / "landing", request.param)


@pytest.mark.parametrize(
    ("n", "combo"), list(enumerate(FEEDBACK_CASES)), ids=["+".join(c) for c in FEEDBACK_CASES]
)
def test_feedback_row_breaking_several_rules_gets_the_first(feedback_outcome, n, combo):
    across_months, outcome = feedback_outcome
    assert outcome[f"row-{n}"] == min(combo, key=SPEC_ORDER.index)
    if "duplicate_key" in combo:  # the twin is compared only if it passes every other rule
        assert outcome[f"twin-{n}"] == twin_reason(combo, across_months)


def test_feedback_cases_looked_up_in_ranges_of_order_ids_agree(
    feedback_outcome, tmp_path, monkeypatch
):
    """A month too large for one order lookup is classified range by range; the in-month
    duplicate keys are resolved over all ranges at once, to the same outcome."""
    monkeypatch.setattr(ingest_classify, "ORDER_LOOKUP_ROWS", 7)
    ranges = []
    order_id_ranges = ingest_classify.order_id_ranges

    def recorded(con, stage):
        ranges.append(order_id_ranges(con, stage))
        return ranges[-1]

    monkeypatch.setattr(ingest_classify, "order_id_ranges", recorded)
    across_months, outcome = feedback_outcome
    landing = tmp_path / "landing"
    assert ingest_feedback_cases(tmp_path / "w.duckdb", landing, across_months) == outcome
    assert min(len(r) for r in ranges) >= 3  # each ingest, in several ranges


# --- every pair and triple of the reasons an order can have -------------------------------
ORDER_BREAKERS: dict[str, dict[str, str]] = {
    "null_key": {"order_id": ""},
    "bad_value": {"status": "lost"},
    "wrong_month": {"ended_at": "{outside}"},
    "unknown_merchant": {"merchant_id": "M9"},
}
ORDER_REASONS = (*ORDER_BREAKERS, "duplicate_key")
ORDER_CASES = [combo for size in (1, 2, 3) for combo in itertools.combinations(ORDER_REASONS, size)]


@pytest.fixture(scope="module", params=[False, True], ids=["one_month", "across_months"])
def order_outcome(request, tmp_path_factory) -> tuple[bool, dict[str, str | None]]:
    root = tmp_path_factory.mktemp("order_cases")
    landing = root / "landing"
    con = connect(root / "w.duckdb")
    try:
        merchants_m1_m2(con, landing)
        row_month = FEB if request.param else JAN
        cases = [
            case_rows(
                n,
                combo,
                order(f"O{n}"),
                ORDER_BREAKERS,
                row_month,
                {"amount_usd": "21.00", "ended_at": ROW_DATES[JAN][0]},
            )
            for n, combo in enumerate(ORDER_CASES)
        ]
        return request.param, ingest_cases(
            con, landing, ORDERS, ORDER_COLUMNS, cases, request.param
        )
    finally:
        con.close()


@pytest.mark.parametrize(
    ("n", "combo"), list(enumerate(ORDER_CASES)), ids=["+".join(c) for c in ORDER_CASES]
)
def test_order_row_breaking_several_rules_gets_the_first(order_outcome, n, combo):
    across_months, outcome = order_outcome
    assert outcome[f"row-{n}"] == min(combo, key=SPEC_ORDER.index)
    if "duplicate_key" in combo:
        assert outcome[f"twin-{n}"] == twin_reason(combo, across_months)


# --- what the order decides, end to end ---------------------------------------------------
def reasons(con, dataset: str, month: str = JAN) -> list[tuple[str, str]]:
    return [
        (reason, json.loads(record)["order_id"])
        for reason, record in fetch_rows(
            con,
            "SELECT reason, record FROM raw.quarantine WHERE dataset = $d AND month = $m "
            "ORDER BY ALL",
            {"d": dataset, "m": month},
        )
    ]


def test_valid_order_whose_twin_has_an_unknown_merchant_is_accepted_with_its_feedback(con, landing):
    """The twin is unknown_merchant; the valid order stands, so feedback on it is graded
    (it used to become unknown_order once both copies went as duplicate_key)."""
    merchants_m1_m2(con, landing)
    rows = [order("O1"), order("O1", merchant_id="M9", amount_usd="99.00"), order("O2")]
    write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)
    report = ingest_month(con, landing, ORDERS, JAN)
    assert reasons(con, "orders") == [("unknown_merchant", "O1")]
    assert fetch_rows(con, "SELECT order_id, merchant_id FROM raw.orders ORDER BY 1") == [
        ("O1", "M1"),
        ("O2", "M1"),
    ]
    assert report.quarantined == {"unknown_merchant": 1}
    feedback = [["O1", "M1", "B1", 5, "2026-01-20T00:00:00Z"]]
    write_csv(landing, "feedback", JAN, feedback, FEEDBACK_COLUMNS)
    ingest_month(con, landing, FEEDBACK, JAN)
    assert reasons(con, "feedback") == []
    stored = fetch_rows(con, "SELECT order_id, order_amount_usd FROM raw.feedback")
    assert [(o, float(amount)) for o, amount in stored] == [("O1", 20.0)]


def test_feedback_twin_on_another_merchant_leaves_the_valid_feedback(con, landing):
    """Two feedback rows on one order, one naming the wrong merchant: that one is
    unknown_order, the other is accepted (not both duplicate_key)."""
    merchants_m1_m2(con, landing)
    write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    rows = [
        ["O1", "M1", "B1", 5, "2026-01-20T00:00:00Z"],
        ["O1", "M2", "B1", 1, "2026-01-21T00:00:00Z"],
    ]
    write_csv(landing, "feedback", JAN, rows, FEEDBACK_COLUMNS)
    ingest_month(con, landing, FEEDBACK, JAN)
    assert reasons(con, "feedback") == [("unknown_order", "O1")]
    assert fetch_rows(con, "SELECT merchant_id, stars FROM raw.feedback") == [("M1", 5)]


def test_key_whose_earlier_copy_was_quarantined_is_free_for_a_later_valid_row(con, landing):
    """January's O1 names an unknown merchant and is quarantined; February's O1 is the
    first accepted row with that key, so it is not a duplicate."""
    merchants_m1_m2(con, landing)
    write_csv(landing, "merchants", FEB, [merchant("M1")], MERCHANT_COLUMNS)
    ingest_month(con, landing, MERCHANTS, FEB)
    write_csv(landing, "orders", JAN, [order("O1", merchant_id="M9")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    feb = [order("O1", ended_at="2026-02-03T00:00:00Z")]
    write_csv(landing, "orders", FEB, feb, ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, FEB)
    assert reasons(con, "orders") == [("unknown_merchant", "O1")]
    assert reasons(con, "orders", FEB) == []
    assert fetch_rows(con, "SELECT month, order_id FROM raw.orders") == [(FEB, "O1")]


# --- a January restated with a key February holds, through the runner ---------------------
# February's first order, restated into January (ended in January: other values).
FEB_ORDER = "O0500000010"
RESTATED = (
    f"{FEB_ORDER},M0500001,B820651,2026-01-16T05:27:37Z,2026-01-20T04:24:31Z,completed,206.78"
)


def graded_conformance(tmp_path: Path, through: str) -> tuple[Path, Path, Path]:
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, through)
    return landing, warehouse, outputs


def restate_january(landing: Path) -> None:
    orders = landing / "orders" / f"month={JAN}" / "part-a.csv"
    assert FEB_ORDER not in orders.read_text()
    orders.write_text(orders.read_text().rstrip("\n") + "\n" + RESTATED + "\n")


def months_holding(warehouse: Path, order_id: str) -> list[tuple[str, str, str]]:
    """Where the order is: ('raw' | 'quarantine' | 'published', month, reason or '')."""
    con = connect(warehouse, read_only=True)
    try:
        return fetch_rows(
            con,
            "SELECT 'raw', month, '' FROM raw.orders WHERE order_id = $o UNION ALL "
            "SELECT 'quarantine', month, reason FROM raw.quarantine WHERE dataset = 'orders' "
            "AND json_extract_string(record, '$.order_id') = $o UNION ALL "
            "SELECT 'published', month, reason FROM main.quarantine WHERE dataset = 'orders' "
            "AND json_extract_string(record, '$.order_id') = $o ORDER BY ALL",
            {"o": order_id},
        )
    finally:
        con.close()


def test_restated_january_keeps_the_key_and_february_regraded_quarantines_its_copy(tmp_path):
    landing, warehouse, outputs = graded_conformance(tmp_path, FEB)
    restate_january(landing)
    results = grade_months(landing, warehouse, outputs, FEB, force=True)
    assert [r.month for r in results] == [JAN, FEB]
    assert months_holding(warehouse, FEB_ORDER) == [
        ("published", FEB, "duplicate_key"),
        ("quarantine", FEB, "duplicate_key"),
        ("raw", JAN, ""),
    ]


def test_restated_january_alone_publishes_and_leaves_february_stale_until_regraded(tmp_path):
    """`--through 2026-01` after the restatement: January publishes with the key.
    February, not regraded, still holds its copy: it is stale, its own key check names
    the key and both months, and the next run through February regrades it (its run key
    chains January's), quarantining the copy."""
    landing, warehouse, outputs = graded_conformance(tmp_path, FEB)
    restate_january(landing)
    results = grade_months(landing, warehouse, outputs, JAN)
    assert [(r.month, r.unchanged_since) for r in results] == [(JAN, None)]
    assert months_holding(warehouse, FEB_ORDER) == [("raw", JAN, ""), ("raw", FEB, "")]

    con = connect(warehouse)
    try:
        stale = dict(fetch_rows(con, "SELECT month, stale FROM main.month_status"))
        sql_params, expectation_params = check_parameters(FEB, load_policy(), "orders")
        report = validate_suite(con, "inputs/orders", FEB, sql_params, expectation_params)
        january = validate_suite(
            con, "inputs/orders", JAN, *check_parameters(JAN, load_policy(), "orders")
        )
    finally:
        con.close()
    assert stale == {JAN: False, FEB: True}
    assert january.success, january.summary()
    assert not report.success
    summary = report.summary()
    assert "duplicate_keys" in summary
    assert f"'order_id': '{FEB_ORDER}'" in summary and "'months': '2026-01, 2026-02'" in summary

    results = grade_months(landing, warehouse, outputs, FEB)
    assert [(r.month, r.unchanged_since is None) for r in results] == [(JAN, False), (FEB, True)]
    assert months_holding(warehouse, FEB_ORDER) == [
        ("published", FEB, "duplicate_key"),
        ("quarantine", FEB, "duplicate_key"),
        ("raw", JAN, ""),
    ]


# --- the key checks of every dataset: earlier months only, naming key and months -------
@pytest.fixture(scope="module")
def ingested_conformance(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("checks") / "w.duckdb"
    con = connect(path)
    try:
        for month in (JAN, FEB, "2026-03"):
            for dataset in DATASETS:
                ingest_month(con, CONFORMANCE / "landing", dataset, month)
    finally:
        con.close()
    return path


@pytest.mark.parametrize("dataset", ["orders", "feedback", "bad_orders", "service_metrics"])
def test_key_check_blames_the_later_month_and_names_key_and_months(
    ingested_conformance, tmp_path, dataset
):
    """March holding a row of February's key (as a warehouse restated under February
    would): February's check passes, its row stands; March's check fails, naming the key
    and both months."""
    path = tmp_path / "w.duckdb"
    shutil.copy(ingested_conformance, path)
    key = DATASETS_BY_NAME[dataset].key
    con = connect(path)
    try:
        copied = fetch_rows(
            con,
            f"INSERT INTO raw.{dataset} SELECT * REPLACE ('2026-03' AS month) "
            f"FROM raw.{dataset} WHERE month = $m ORDER BY ALL LIMIT 1 "
            f"RETURNING {', '.join(key)}",
            {"m": FEB},
        )[0]
        policy = load_policy()
        reports = {
            month: validate_suite(
                con, f"inputs/{dataset}", month, *check_parameters(month, policy, dataset)
            )
            for month in (FEB, "2026-03")
        }
    finally:
        con.close()
    assert reports[FEB].success, reports[FEB].summary()
    # (the copy, dated in February, also fails March's row checks)
    (failure,) = [f for f in reports["2026-03"].failures if f.batch == "duplicate_keys"]
    (sample,) = failure.samples
    assert [sample[k] for k in key] == [str(v) for v in copied]
    assert (sample["copies"], sample["months"]) == (2, "2026-02, 2026-03")


# --- the pandas baseline, written apart from the pipeline, as an oracle -----------------
def order_rows(month_day: str) -> st.SearchStrategy:
    """Orders over a few keys and merchants, so rows collide and break rules together."""
    return st.lists(
        st.fixed_dictionaries(
            {
                "order_id": st.sampled_from(["O1", "O2", "O3", ""]),
                "merchant_id": st.sampled_from(["M1", "M2", "M9"]),
                "buyer_id": st.just("B1"),
                "created_at": st.just("2025-12-20T00:00:00Z"),
                "ended_at": st.sampled_from([month_day, "2026-01-05T00:00:00Z"]),
                "status": st.sampled_from(["completed", "refunded", "lost"]),
                "amount_usd": st.sampled_from(["20.00", "21.00"]),
            }
        ),
        max_size=8,
    )


def feedback_rows(month_day: str) -> st.SearchStrategy:
    return st.lists(
        st.fixed_dictionaries(
            {
                "order_id": st.sampled_from(["O1", "O2", "O3", "O4", ""]),
                "merchant_id": st.sampled_from(["M1", "M2", "M9"]),
                "buyer_id": st.just("B1"),
                "stars": st.sampled_from(["0", "4", "5"]),
                "feedback_at": st.sampled_from([month_day, "2026-01-06T00:00:00Z"]),
            }
        ),
        max_size=8,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    jan_orders=order_rows("2026-01-10T00:00:00Z"),
    feb_orders=order_rows("2026-02-10T00:00:00Z"),
    jan_feedback=feedback_rows("2026-01-20T00:00:00Z"),
    feb_feedback=feedback_rows("2026-02-20T00:00:00Z"),
)
def test_pipeline_and_pandas_baseline_classify_alike(
    jan_orders, feb_orders, jan_feedback, feb_feedback
):
    """Every reason count and every accepted row agree with bench/pandas_baseline.py, an
    independent reading of spec §1, on rows that break several rules and share keys
    within and across months."""
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        for month in (JAN, FEB):
            write_csv(
                landing, "merchants", month, [merchant("M1"), merchant("M2")], MERCHANT_COLUMNS
            )
        for month, rows in ((JAN, jan_orders), (FEB, feb_orders)):
            write_csv(landing, "orders", month, rows, ORDER_COLUMNS)
        for month, rows in ((JAN, jan_feedback), (FEB, feb_feedback)):
            write_csv(landing, "feedback", month, rows, FEEDBACK_COLUMNS)
        con = connect(Path(tmp) / "w.duckdb")
        baseline = pandas_baseline.Landing()
        try:
            for month in (JAN, FEB):
                for dataset in (MERCHANTS, ORDERS, FEEDBACK):
                    ingest_month(con, landing, dataset, month)
                    pandas_baseline.ingest_month(baseline, landing, dataset.name, month)
            counts = dict(
                fetch_rows(
                    con,
                    "SELECT dataset || ' ' || month || ' ' || reason, count(*) "
                    "FROM raw.quarantine GROUP BY ALL",
                )
            )
            kept = {
                name: sorted(fetch_rows(con, f"SELECT month, {', '.join(columns)} FROM raw.{name}"))
                for name, columns in (("orders", ORDER_KEPT), ("feedback", FEEDBACK_KEPT))
            }
        finally:
            con.close()
    want = {f"{d} {m} {r}": n for (d, m, r), n in baseline.quarantine.items()}
    assert counts == want
    for name, columns in (("orders", ORDER_KEPT), ("feedback", FEEDBACK_KEPT)):
        frame = baseline.accepted.get(name)
        rows = [] if frame is None else frame[["month", *columns]].itertuples(index=False)
        assert kept[name] == sorted(tuple(_plain(v) for v in row) for row in rows)


ORDER_KEPT = ("order_id", "merchant_id", "ended_at", "status")
FEEDBACK_KEPT = ("order_id", "merchant_id", "stars", "feedback_at")


def _plain(value: object) -> object:
    """A pandas value as DuckDB returns it (timestamps as datetime, numbers as int)."""
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value
