"""A rerun skips a month only when its landing files, policy and earlier months are unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assets.runner import grade_months
from pipelines.policy import DEFAULT_POLICY_PATH
from pipelines.warehouse import connect, fetch_value
from tests.helpers import CONFORMANCE, published_state
from tests.test_policy_calendar import policy_text_from


def publications(warehouse: Path) -> int:
    con = connect(warehouse, read_only=True)
    try:
        return fetch_value(con, "SELECT count(*) FROM main.run_log")
    finally:
        con.close()


def skipped(results) -> list[str]:
    return [r.month for r in results if r.unchanged_since]


@pytest.fixture
def graded(tmp_path: Path):
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    first = grade_months(landing, warehouse, outputs, "2026-03")
    assert skipped(first) == []
    return landing, warehouse, outputs


def test_unchanged_rerun_skips_every_month_and_moves_nothing(graded) -> None:
    landing, warehouse, outputs = graded
    before = published_state(warehouse, outputs)
    results = grade_months(landing, warehouse, outputs, "2026-03")
    assert skipped(results) == ["2026-01", "2026-02", "2026-03"]
    assert publications(warehouse) == 3
    assert published_state(warehouse, outputs) == before

    forced = grade_months(landing, warehouse, outputs, "2026-03", force=True)
    assert skipped(forced) == []
    assert publications(warehouse) == 6
    assert published_state(warehouse, outputs) == before  # same inputs, same tables


def test_a_changed_earlier_month_regrades_every_later_month(graded) -> None:
    landing, warehouse, outputs = graded
    # January gains a copy of one of its orders files under a new name: exact copies
    # collapse, so the grades need not move, but the inputs did.
    orders = landing / "orders" / "month=2026-01"
    source = sorted(orders.iterdir())[0]
    shutil.copy(source, orders / f"extra-{source.name}")
    results = grade_months(landing, warehouse, outputs, "2026-03")
    assert skipped(results) == []  # February and March build on January


def test_a_changed_later_month_keeps_earlier_months_skipped(graded) -> None:
    landing, warehouse, outputs = graded
    feedback = landing / "feedback" / "month=2026-03"
    path = feedback / "part-a.csv"
    data = path.read_bytes()
    path.write_bytes(data + data.splitlines(keepends=True)[-1])  # an exact copy of a row
    results = grade_months(landing, warehouse, outputs, "2026-03")
    assert skipped(results) == ["2026-01", "2026-02"]


def test_a_change_to_the_last_file_of_a_month_regrades_it(graded) -> None:
    """Every file of a month is in its run key, the last in name order too: a corrected
    value in March's part-b.parquet (after part-a.csv) regrades March."""
    landing, warehouse, outputs = graded
    path = landing / "feedback" / "month=2026-03" / "part-b.parquet"
    assert sorted(p.name for p in path.parent.iterdir())[-1] == path.name
    table = pq.read_table(path)
    stars = table.column("stars").to_pylist()
    stars[0] = 3 if stars[0] != 3 else 4  # still a valid value: only the content moved
    column = pa.array(stars, type=table.schema.field("stars").type)
    pq.write_table(table.set_column(table.schema.get_field_index("stars"), "stars", column), path)
    results = grade_months(landing, warehouse, outputs, "2026-03")
    assert skipped(results) == ["2026-01", "2026-02"]
    assert publications(warehouse) == 4


def test_a_changed_policy_or_a_missing_export_regrades(graded, tmp_path: Path) -> None:
    landing, warehouse, outputs = graded
    text = DEFAULT_POLICY_PATH.read_text()
    changes = {
        'max_quarantine_ratio = "0.01"': 'max_quarantine_ratio = "0.02"',
        'policy_version = "2026.1"': 'policy_version = "2026.2"',
    }
    for line, changed in changes.items():
        assert line in text, "test setup: policy key not found"
        text = text.replace(line, changed)
    text = policy_text_from(text, "2026-01")
    looser = tmp_path / "calendar"  # the shipped policy, and a looser one from 2026-01
    shutil.copytree(DEFAULT_POLICY_PATH.parent, looser)
    (looser / "policy-2026.2.toml").write_text(text)
    results = grade_months(landing, warehouse, outputs, "2026-03", policy_file=looser)
    assert skipped(results) == []

    same_rules_elsewhere = tmp_path / "copy"
    shutil.copytree(looser, same_rules_elsewhere)
    again = grade_months(landing, warehouse, outputs, "2026-03", policy_file=same_rules_elsewhere)
    assert skipped(again) == ["2026-01", "2026-02", "2026-03"]

    shutil.rmtree(outputs / "merchant_grades" / "month=2026-02")
    results = grade_months(landing, warehouse, outputs, "2026-03", policy_file=looser)
    assert skipped(results) == ["2026-01", "2026-03"]  # March's inputs did not change
    assert (outputs / "merchant_grades" / "month=2026-02").is_dir()
