"""Smoke run of the benchmark harness (bench/run.py) on a tiny data set.

The real runs (1M, 10M, 100M orders a month) are made by hand and recorded in
bench/results/ and the README; this only proves the harness measures what it claims.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from bench.run import main, step_seconds
from tests.helpers import CONFORMANCE


def test_benchmark_harness_measures_all_four_parts(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert (
        main(["--merchants", "300", "--orders", "6000", "--work", str(tmp_path), "--out", str(out)])
        == 0
    )
    result = json.loads(out.read_text())

    e2e = result["end_to_end"]
    assert {"raw_orders", "raw_feedback", "merchant_grades", "published_month"} <= set(
        e2e["stages"]
    )
    assert sum(e2e["stages"].values()) <= e2e["seconds"]
    assert e2e["outside_steps_seconds"] == round(e2e["seconds"] - sum(e2e["stages"].values()), 2)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert result["commit"].split("+")[0] == head  # the code measured
    assert 0 < e2e["peak_rss_gb"] < 8
    # the rerun found the month unchanged (the harness refuses a rerun that regraded)
    assert result["rerun_unchanged"]["seconds"] < e2e["seconds"]
    # the floor's query graded (roughly) the same merchants as the pipeline's window
    assert result["floor"]["merchants"] > 0
    assert result["pandas"]["seconds"] > 0
    # the baseline graded the month as the pipeline published it (the harness refuses
    # a baseline that did not)
    agreement = result["pandas"]["agreement"]
    assert agreement["agrees"] and agreement["values_differing"] == 0
    assert agreement["merchants"] > 0
    contract = result["contract_floor"]
    assert contract["month_orders"] == result["month_rows"]["orders"] - csv_orders(tmp_path)
    assert result["ratios"]["contract_floor_over_floor"] >= 1
    assert result["month_rows"]["orders"] >= 6000
    assert result["ratios"]["end_to_end_over_floor"] == round(
        e2e["seconds"] / result["floor"]["seconds"], 2
    )


def csv_orders(work: Path) -> int:
    """The month's orders in CSV files: the floors read the Parquet files only."""
    import duckdb

    files = [str(p) for p in (work / "landing" / "orders" / "month=2026-03").glob("*.csv")]
    return duckdb.sql("SELECT count(*) FROM read_csv($f)", params={"f": files}).fetchall()[0][0]


def test_step_seconds_reads_the_timings_line() -> None:
    output = "[1/1] 2026-03 grading ...\n        steps: raw_orders 1.5s, merchant_grades 0.25s\n"
    assert step_seconds(output) == {"raw_orders": 1.5, "merchant_grades": 0.25}
    assert step_seconds("no timings here") == {}


def test_the_sampling_profile_charges_the_run_to_steps_and_lines(tmp_path: Path) -> None:
    from bench.profile import main as profile

    out = tmp_path / "profile.txt"
    code = profile(
        [
            "--interval", "0.002", "--step-top", "3", "--out", str(out), "--",
            "run", "--landing", str(CONFORMANCE / "landing"), "--warehouse",
            str(tmp_path / "w.duckdb"), "--through", "2026-01",
        ]
    )  # fmt: skip
    assert code == 0
    text = out.read_text()
    steps = dict(
        (line.split(" s  ")[1], float(line.split(" s  ")[0]))
        for line in text.split("by step:\n")[1].split("\n\n")[0].splitlines()
    )
    wall = float(text.split()[1])
    assert {"raw_orders", "raw_feedback", "published_month", "(outside steps)"} <= set(steps)
    assert abs(sum(steps.values()) - wall) < 0.1 * wall
    assert "pipelines/" in text.split("lines:")[1]  # charged to lines of our code
    # each step's own top lines: at most three, and no more time than the step had
    raw_orders = text.split("top 3 lines of raw_orders:\n")[1].split("\n\n")[0].splitlines()
    assert 1 <= len(raw_orders) <= 3
    assert sum(float(line.split(" s  ")[0]) for line in raw_orders) <= steps["raw_orders"] + 0.02


def test_the_no_op_month_has_our_graph_shape_in_either_step_layout() -> None:
    """bench/fixed_costs.py measures Dagster alone on our graph's shape: the same
    partitioned assets and checks, materialised and evaluated, in one step or one each."""
    import dagster as dg

    from assets.definitions import defs
    from bench.fixed_costs import no_op_job, our_graph_shape

    keys, _, checks = our_graph_shape()
    graph = defs.resolve_asset_graph()
    ours = {k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert set(keys) == ours and len(keys) > 10
    assert sum(map(len, checks.values())) >= 9
    for one_step, steps in ((False, len(keys)), (True, 1)):
        result = no_op_job(one_step).execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), partition_key="2026-01"
        )
        assert result.success
        materialised = {e.asset_key for e in result.get_asset_materialization_events()}
        assert materialised == ours
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == sum(map(len, checks.values()))
        assert len(result.get_step_success_events()) == steps


def _parquet(path: Path, select: str) -> None:
    """Write one landing file from a SELECT of literal rows."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY ({select}) TO '{path}' (FORMAT parquet)")


def test_the_contract_floor_lookups_find_the_rows_spec_1_quarantines(tmp_path: Path) -> None:
    """bench/contract_floor.py: on a landing with one planted row for each lookup, every
    lookup finds exactly its row, so each does the join or grouping it is timed for."""
    from bench.contract_floor import measure

    landing = tmp_path / "landing"

    def month_file(dataset: str, month: str, rows: list[str], columns: str) -> None:
        _parquet(
            landing / dataset / f"month={month}" / "part-0.parquet",
            f"SELECT *, '{month}' AS month FROM (VALUES {', '.join(rows)}) t({columns})",
        )

    merchants = (
        "merchant_id, account_type, auth_entity_id, real_name_verified, collection_account_set, "
        "sales_plan, store_type, main_category, product_count, status, registered_at"
    )
    merchant_rows = [
        f"('{m}', 'individual', 'p{m}', true, true, 'basic', 'other', 'toys', 20, 'active', "
        "TIMESTAMPTZ '2025-01-01 00:00:00+00')"
        for m in ("m1", "m2")
    ]
    orders = "order_id, merchant_id, buyer_id, created_at, ended_at, status, amount_usd"

    def order(order_id: str, merchant: str, ended: str, status: str = "completed") -> str:
        return (
            f"('{order_id}', '{merchant}', 'b1', TIMESTAMPTZ '{ended} 00:00:00+00', "
            f"TIMESTAMPTZ '{ended} 01:00:00+00', '{status}', 10.00::DECIMAL(12,2))"
        )

    def stars(order_id: str, merchant: str, day: str) -> str:
        return f"('{order_id}', '{merchant}', 'b1', 5, TIMESTAMPTZ '{day} 00:00:00+00')"

    def bad(order_id: str, day: str) -> str:
        return f"('{order_id}', 'm1', 'late_shipment', TIMESTAMPTZ '{day} 00:00:00+00', false)"

    def metrics(merchant: str, day: str) -> str:
        return f"('{merchant}', DATE '{day}', 10, 9, 45, 10, 5, 5)"

    feedback = "order_id, merchant_id, buyer_id, stars, feedback_at"
    bad_orders = "order_id, merchant_id, reason, recorded_at, exempt"
    service = (
        "merchant_id, metric_date, messages_received, messages_replied_24h, dsr_item_sum, "
        "dsr_item_count, shipments_due, shipments_on_time"
    )
    for month in ("2026-02", "2026-03"):
        month_file("merchants", month, merchant_rows, merchants)
    month_file("orders", "2026-02", [order("O1", "m1", "2026-02-10")], orders)
    month_file(
        "orders",
        "2026-03",
        [
            order("O2", "m1", "2026-03-02"),
            order("O3", "m2", "2026-03-03", "cancelled"),  # feedback on it: not completed
            order("O4", "m1", "2026-03-04"),
            order("O4", "m1", "2026-03-05"),  # O4 twice in the month
            order("O5", "m9", "2026-03-06"),  # no snapshot has m9
        ],
        orders,
    )
    month_file("feedback", "2026-02", [stars("O1", "m1", "2026-02-11")], feedback)
    month_file(
        "feedback",
        "2026-03",
        [
            stars("O2", "m1", "2026-03-03"),
            stars("O3", "m2", "2026-03-04"),  # its order was cancelled
            stars("O9", "m1", "2026-03-05"),  # no such order
            stars("O1", "m1", "2026-03-06"),  # O1's feedback came in February
        ],
        feedback,
    )
    month_file("bad_orders", "2026-02", [bad("O1", "2026-02-12")], bad_orders)
    month_file(
        "bad_orders",
        "2026-03",
        [bad("O1", "2026-03-07"), bad("O8", "2026-03-08")],  # O1 again; O8 unknown
        bad_orders,
    )
    month_file("service_metrics", "2026-02", [metrics("m1", "2026-02-10")], service)
    month_file(
        "service_metrics",
        "2026-03",
        [
            metrics("m1", "2026-03-01"),
            metrics("m1", "2026-03-01"),  # the same merchant and day twice
            metrics("m1", "2026-02-10"),  # February's key again
        ],
        service,
    )

    result = measure(tmp_path, "2026-03", history=1)

    found = result["lookup_found"]
    assert found["feedback_order_lookup"][:2] == [1, 1]  # O9 unknown, O3 not completed
    assert found["bad_orders_order_lookup"] == [1]  # O8
    assert found["merchant_lookup"] == [1]  # O5's m9
    assert [found[f"keys_repeated_in_month.{n}"] for n in range(1, 6)] == [[1], [0], [0], [1], [0]]
    assert [found[f"keys_taken_earlier.{n}"] for n in range(1, 5)] == [[False], [1], [1], [1]]
    assert set(result["lookup_seconds"]) == set(found)
    assert result["month_orders"] == 5
    assert result["floor_seconds"] > 0
    assert result["floor_plus_lookups_over_floor"] >= 1
    assert not (tmp_path / "contract_floor.duckdb").exists()  # the tool cleans up its file


def test_the_profile_names_the_callers_of_ours_it_is_asked_for() -> None:
    """``--callers N``: a sample is charged to our innermost line and N lines of ours that
    called it, skipping library frames between them; none of ours: the outermost frame."""
    import sys

    from bench.profile import ROOT, charged_frame

    def ours(name: str, body: str) -> dict:
        """A function whose code claims to be in pipelines/, as a frame of ours is."""
        scope: dict = {"sys": sys}
        exec(compile(body, str(ROOT / "pipelines" / f"{name}.py"), "exec"), scope)
        return scope

    inner = ours("inner", "def inner(library):\n    return library(sys._getframe())\n")
    outer = ours("outer", "def outer(inner, library):\n    return inner(library)\n")

    def library(frame):
        return frame

    # outer -> a lambda of this file (not ours: skipped) -> inner -> library, whose caller's
    # frame is the sample
    frame = outer["outer"](lambda _: inner["inner"](library), None)
    assert charged_frame(frame) == "pipelines/inner.py:2 inner"
    assert charged_frame(frame, callers=1) == (
        "pipelines/inner.py:2 inner < pipelines/outer.py:2 outer"
    )
    assert charged_frame(frame, callers=5) == charged_frame(frame, callers=1)  # no more of ours
    assert charged_frame(sys._getframe()).startswith("(library) ")


def test_month_parts_splits_each_later_month_and_the_parts_add_up(tmp_path: Path, capsys) -> None:
    """bench/month_parts.py: the first month (which waits for the GE import) is left out;
    each later month's sampled compute is split into parts that add up to it, and
    Dagster's own share is what the steps took beyond it."""
    from bench.month_parts import INTERVAL
    from bench.month_parts import main as month_parts

    landing = str(CONFORMANCE / "landing")
    code = month_parts(["--landing", landing, "--through", "2026-02", "--work", str(tmp_path)])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    heading = [line for line in lines if line.startswith("2026-")]
    assert [line.split(":")[0] for line in heading] == ["2026-02"]
    steps, sampled = (float(x) for x in re.findall(r"([0-9.]+) s", heading[0])[:2])
    parts = dict(
        (line.split(" s  ")[1], float(line.split(" s  ")[0]))
        for line in lines
        if line.startswith("  ")
    )
    own = parts.pop("Dagster's own, per step (the difference)")
    assert {"opening and closing the warehouse", "our statements and Python"} <= set(parts)
    assert {"GE validation (the library)", "Data Docs (store and build)"} <= set(parts)
    assert abs(sum(parts.values()) - sampled) <= len(parts) * 0.005 + INTERVAL
    assert abs(steps - sampled - own) <= 0.011 and 0 < sampled < steps
