"""The Spark engine gives the DuckDB engine's tables, on a local standalone cluster.

Each case grades the same landing folder with ``--engine duckdb`` and ``--engine spark``
(the cluster of pipelines/spark_engine/standalone.py: a master and two workers on 127.0.0.1) and
compares every published table value for value, and the ingest counts. The cases: the
conformance fixture, generated data, a restated month and a blocked month.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlglot

from assets.cli import build_parser
from assets.definitions import build_definitions
from assets.instance import run_instance
from assets.runner import RunFailed, grade_months
from pipelines.datasets import DATASETS
from pipelines.feedback_counts import feedback_count_params, feedback_counts_sql
from pipelines.generate import generate_landing
from pipelines.policy import load_policy
from pipelines.rules.credit import FEEDBACK_COUNT_COLUMNS
from pipelines.spark_engine.classify import classification_sql
from pipelines.spark_engine.rows import SPARK_ROW_QUERIES
from pipelines.spark_engine.transpile import spark_query, to_spark
from pipelines.sql_files import SQL_DIR
from pipelines.warehouse import connect, fetch_frame
from tests.boundary_landing import write_landing
from tests.helpers import CONFORMANCE, PUBLISHED_TABLES, published_state
from tests.spec_oracle import grade_landing
from tests.test_bad_input import landing_with_huge_dsr_counts
from tests.test_spec_oracle import differences, published_tables

INGEST_COUNTS = (
    "dataset, month, files, rows_read, exact_copies, rows_accepted, rows_quarantined, rows_digest"
)


def tables(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every published table, and the ingest counts, in a fixed row order."""
    con = connect(warehouse, read_only=True)
    try:
        found = {
            t: fetch_frame(con, f"SELECT * FROM main.{t} ORDER BY ALL") for t in PUBLISHED_TABLES
        }
        found["ingest_log"] = fetch_frame(
            con, f"SELECT {INGEST_COUNTS} FROM raw.ingest_log ORDER BY ALL"
        )
        return found
    finally:
        con.close()


# Every parameter the grading's row queries read, for month 2026-03's window.
WINDOW_PARAMS: dict[str, object] = {
    "month": "2026-03",
    "first_month": "2026-01",
    "window_start": dt.datetime(2026, 1, 1),
    "cutoff": dt.datetime(2026, 4, 1),
    "period_end": dt.datetime(2026, 1, 11),
}


def grade(landing: Path, root: Path, through: str, engine: str, master: str = "") -> None:
    grade_months(
        landing,
        root / f"{engine}.duckdb",
        root / f"{engine}-outputs",
        through,
        engine=engine,
        spark_master=master,
        lake=str(root / "lake") if engine == "spark" else "",
    )


def assert_same_tables(root: Path) -> dict[str, pl.DataFrame]:
    duck, spark = tables(root / "duckdb.duckdb"), tables(root / "spark.duckdb")
    for name, frame in duck.items():
        assert spark[name].schema == frame.schema, name
        assert spark[name].equals(frame), f"main.{name} differs between the engines"
    return duck


@pytest.mark.spark
def test_conformance_fixture_on_spark_equals_duckdb(spark, spark_cluster, tmp_path: Path) -> None:
    landing = CONFORMANCE / "landing"
    grade(landing, tmp_path, "2026-03", "duckdb")
    grade(landing, tmp_path, "2026-03", "spark", spark_cluster.master_url)
    published = assert_same_tables(tmp_path)
    assert published["merchant_grades"].height > 0
    assert published["quarantine"].height > 0  # the fixture's bad rows, the same on both
    for ds in DATASETS:  # the lake holds every month, published whole, no staging left
        months = sorted(p.name for p in (tmp_path / "lake" / "raw" / ds.name).iterdir())
        assert months == ["month=2026-01", "month=2026-02", "month=2026-03"]
    assert list((tmp_path / "lake" / "_staging").glob("month=*")) == []


@pytest.mark.spark
def test_boundary_months_across_a_year_end_on_spark_grade_as_the_oracle_does(
    spark, spark_cluster, tmp_path: Path
) -> None:
    """The independent oracle (tests/spec_oracle.py) on a landing on the contract's
    boundaries, two months across a year end (seed 2 of the Spark review, 2026-12-08):
    the Spark engine grades every value as the contract reads, and as DuckDB does."""
    landing = tmp_path / "landing"
    months = write_landing(2, str(landing))
    grade(landing, tmp_path, months[-1], "duckdb")
    grade(landing, tmp_path, months[-1], "spark", spark_cluster.master_url)
    assert_same_tables(tmp_path)
    published = published_tables(tmp_path / "spark.duckdb")
    assert {row["month"] for row in published["merchant_grades"]} == set(months)
    assert published["quarantine_counts"] == []  # valid rows only: the rules are compared
    assert differences(grade_landing(landing, months[-1]), published) == []


@pytest.mark.spark
def test_dsr_counts_past_64_bits_fivefold_are_judged_alike_on_spark(
    spark, spark_cluster, tmp_path: Path
) -> None:
    """The bad_value rule ``dsr_item_sum > 5.0 * dsr_item_count`` reaches Spark through
    sqlglot: its product must be exact there too (tests/test_bad_input.py for DuckDB)."""
    landing = landing_with_huge_dsr_counts(tmp_path)
    grade(landing, tmp_path, "2026-01", "duckdb")
    grade(landing, tmp_path, "2026-01", "spark", spark_cluster.master_url)
    published = assert_same_tables(tmp_path)
    huge = published["quarantine"].filter(pl.col("source_file").str.ends_with("zz-huge.csv"))
    assert huge["reason"].to_list() == ["bad_value"]


def _extra_csv(folder: Path, name: str, header: list[str], rows: list[list[str]]) -> None:
    with (folder / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _latest_check(root: Path, asset: str) -> dg.AssetCheckEvaluation:
    """``asset``'s last recorded check evaluation (both engines' runs record theirs in the
    Dagster instance beside their warehouses)."""
    with run_instance(root / "duckdb.duckdb") as instance:
        records = instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        )  # newest first
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    return next(e for e in evaluations if e.asset_key == dg.AssetKey(asset))


def _merchant_ids(warehouse: Path) -> list[str]:
    con = connect(warehouse, read_only=True)
    try:
        return fetch_frame(
            con, "SELECT DISTINCT merchant_id FROM raw.merchants ORDER BY 1 LIMIT 3"
        )["merchant_id"].to_list()
    finally:
        con.close()


ORDER_HEADER = ["order_id", "merchant_id", "buyer_id", "created_at", "ended_at", "status",
                "amount_usd"]  # fmt: skip


def _late_january_orders(landing: Path, merchants: list[str], copies: bool) -> None:
    """Six valid orders landed late in January's folder (``copies``: and a copy of one)."""
    rows = [
        [f"LATE-{i}", merchants[i % len(merchants)], "B-late", "2026-01-20T10:00:00Z",
         "2026-01-21T10:00:00Z", "completed", "12.50"]
        for i in range(6)
    ]  # fmt: skip
    extra = [list(rows[0])] if copies else []
    _extra_csv(landing / "orders" / "month=2026-01", "zz-late.csv", ORDER_HEADER, rows + extra)


@pytest.mark.spark
def test_generated_restated_and_blocked_months_on_spark_equal_duckdb(
    spark, spark_cluster, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    generate_landing(landing, 50, ["2026-01", "2026-02"], 5000, seed=11)
    master = spark_cluster.master_url
    for engine in ("duckdb", "spark"):
        grade(landing, tmp_path, "2026-02", engine, master)
    first = assert_same_tables(tmp_path)

    # Restated: January gains orders (valid ones, and copies of each other) and is regraded.
    merchants = _merchant_ids(tmp_path / "duckdb.duckdb")
    _late_january_orders(landing, merchants, copies=True)
    for engine in ("duckdb", "spark"):
        grade(landing, tmp_path, "2026-02", engine, master)
    restated = assert_same_tables(tmp_path)
    assert not restated["ingest_log"].equals(first["ingest_log"])  # January changed

    # Blocked: February's orders get more bad rows than max_quarantine_ratio allows.
    lake_february = tmp_path / "lake" / "raw" / "orders" / "month=2026-02"
    files_before = {p.name: p.read_bytes() for p in lake_february.iterdir()}
    _extra_csv(
        landing / "orders" / "month=2026-02",
        "zz-bad.csv",
        ORDER_HEADER,
        [
            [f"BAD-{i}", merchants[0], "B-bad", "2026-02-02T10:00:00Z", "2026-02-03T10:00:00Z",
             "completed", "-1.00"]
            for i in range(200)
        ],
    )  # fmt: skip
    reasons, checks = {}, {}
    for engine in ("duckdb", "spark"):
        with pytest.raises(RunFailed, match="quarantine") as failed:
            grade(landing, tmp_path, "2026-02", engine, master)
        reasons[engine] = failed.value.reason
        checks[engine] = _latest_check(tmp_path, "raw_orders")
    # The same check blocks the month with the same failures; on Spark the orders' row
    # and key batches were validated by GE's Spark engine (the ratio batch stays DuckDB's).
    assert reasons["spark"] == reasons["duckdb"]
    for engine, row_engine in (("duckdb", "Pandas"), ("spark", "SparkDF")):
        assert not checks[engine].passed
        assert checks[engine].metadata["execution_engines"].value == {
            "rows": f"{row_engine}ExecutionEngine",
            "duplicate_keys": f"{row_engine}ExecutionEngine",
            "quarantine_ratio": "PandasExecutionEngine",
        }
    failed_expectations = [c.metadata["failures"].value for c in checks.values()]
    assert failed_expectations[0] == failed_expectations[1]
    assert [f["batch"] for f in failed_expectations[0]] == ["quarantine_ratio"]
    blocked = assert_same_tables(tmp_path)
    assert blocked["merchant_grades"].equals(restated["merchant_grades"])
    # The failed month left the lake's published partition as it was.
    assert {p.name: p.read_bytes() for p in lake_february.iterdir()} == files_before


def _reads_raw_rows(name: str) -> bool:
    tree = sqlglot.parse_one((SQL_DIR / name).read_text(), read="duckdb")
    return any(t.db == "raw" and t.name != "ingest_log" for t in tree.find_all(sqlglot.exp.Table))


def test_every_row_query_of_grading_has_its_spark_form() -> None:
    """A grading query reading raw rows runs on both engines: it is in SPARK_ROW_QUERIES
    and transpiles. (The snapshot and graded-merchant lookups are warehouse bookkeeping,
    DuckDB's; so is the overflow diagnostic, run on the warehouse's raw rows, which both
    engines load, only once the service sums have failed.)"""
    row_queries = {
        f"grading/{p.name}"
        for p in (SQL_DIR / "grading").glob("*.sql")
        if _reads_raw_rows(f"grading/{p.name}")
    }
    bookkeeping = {
        "grading/graded_merchants.sql",
        "grading/merchant_snapshot.sql",
        "grading/window_service_overflow.sql",
    }
    assert row_queries - bookkeeping == set(SPARK_ROW_QUERIES)
    params = WINDOW_PARAMS
    for name in SPARK_ROW_QUERIES:
        tree = sqlglot.parse_one(spark_query(name, params), read="spark")
        assert {t.name for t in tree.find_all(sqlglot.exp.Table)} <= {
            f"raw_{d.name}" for d in DATASETS
        }
        assert not list(tree.find_all(sqlglot.exp.Placeholder)), name  # every value bound


def test_the_feedback_count_runs_on_spark_over_every_feedback_query() -> None:
    """Each query whose rows the grading counts as feedback has a Spark form of its count
    (sql/grading/feedback_period_counts.sql over it): an aggregation on the cluster whose
    result is per merchant and period, not the feedback rows."""
    policy = load_policy()
    params = {
        **WINDOW_PARAMS,
        **feedback_count_params(policy),
    }
    feedback_queries = [n for n in SPARK_ROW_QUERIES if n.endswith("feedback.sql")]
    assert len(feedback_queries) == 4
    for name in feedback_queries:
        tree = sqlglot.parse_one(to_spark(feedback_counts_sql(name), params), read="spark")
        assert tree.find(sqlglot.exp.Group) is not None, name
        assert [s.alias_or_name for s in tree.selects] == [
            "merchant_id", "period_start", *FEEDBACK_COUNT_COLUMNS
        ], name  # fmt: skip
        assert not list(tree.find_all(sqlglot.exp.Placeholder)), name


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda d: d.name)
def test_classification_transpiles_for_every_dataset(dataset) -> None:
    params = {
        "month": "2026-01",
        "month_start": dt.datetime(2026, 1, 1),
        "cutoff": dt.datetime(2026, 2, 1),
    }
    sql = to_spark(classification_sql(dataset), params)
    for reason in ("null_key", "bad_value"):
        assert reason in sql
    assert "raw_" in sql or dataset.name == "merchants"


def test_run_takes_the_engine_options() -> None:
    args = build_parser().parse_args(
        ["run", "--landing", "l", "--warehouse", "w.duckdb", "--through", "2026-01",
         "--engine", "spark", "--spark-master", "sc://cluster:15002", "--lake", "/lake"]
    )  # fmt: skip
    assert (args.engine, args.spark_master, args.lake) == ("spark", "sc://cluster:15002", "/lake")
    default = build_parser().parse_args(
        ["run", "--landing", "l", "--warehouse", "w.duckdb", "--through", "2026-01"]
    )
    assert default.engine == "duckdb"


def test_spark_engine_needs_a_master_url() -> None:
    with pytest.raises(ValueError, match="--spark-master"):
        build_definitions("l", "w.duckdb", "o", engine="spark", spark_master="")
    with pytest.raises(ValueError, match="unknown engine"):
        build_definitions("l", "w.duckdb", "o", engine="polars")


def test_assets_show_the_spark_kind_when_spark_runs_them() -> None:
    """The same asset graph for both engines; the row-level assets show ``spark``."""
    kinds = {}
    for engine, master in (("duckdb", ""), ("spark", "spark://127.0.0.1:7077")):
        graph = build_definitions("l", "w.duckdb", "o", engine=engine, spark_master=master)
        kinds[engine] = {
            n.key.to_user_string(): set(n.kinds) for n in graph.resolve_asset_graph().asset_nodes
        }
    assert kinds["spark"].keys() == kinds["duckdb"].keys()
    on_spark = {key for key, found in kinds["spark"].items() if "spark" in found}
    assert on_spark == {f"raw_{d.name}" for d in DATASETS} | {"credit_ledger", "merchant_grades"}
    assert not any("spark" in found for found in kinds["duckdb"].values())
    assert kinds["spark"]["published_month"] == kinds["duckdb"]["published_month"]


def test_lake_refuses_object_storage_without_a_table_format(tmp_path: Path) -> None:
    from pipelines.spark_engine.lake import Lake

    with pytest.raises(ValueError, match="table format"):
        Lake("s3://bucket/lake")
    assert Lake(f"file://{tmp_path}").root == tmp_path
    shutil.rmtree(tmp_path)


def test_a_file_uri_lake_is_the_folder_the_uri_names(tmp_path: Path, monkeypatch) -> None:
    """Percent escapes, ``localhost`` and ``file:/p`` name the folder they mean; only the
    ``file://`` prefix was stripped, so the lake went to a folder named with the escapes,
    or under the working folder (a review, 2026-12-06). URIs naming no local folder are
    refused."""
    from pipelines.spark_engine.lake import Lake

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "lake 100% a%20b é中"
    assert Lake(folder.as_uri()).root == folder
    assert folder.as_uri().count("%25") == 2
    assert Lake(f"file://localhost{tmp_path}/l").root == tmp_path / "l"
    assert Lake(f"file:{tmp_path}/l").root == tmp_path / "l"
    assert Lake(f"file://{tmp_path}/a%3Fb%23c").root == tmp_path / "a?b#c"
    assert Lake(f"FILE://LocalHost{tmp_path}/l").root == tmp_path / "l"
    for uri, problem in [
        ("file://tmp/l", "names the host 'tmp'"),
        ("file://server/share/l", "names the host 'server'"),
        ("file:l", "is not an absolute path"),
        (f"file://{tmp_path}/a?b", "has a query or fragment"),
        (f"file://{tmp_path}/a#b", "has a query or fragment"),
        (f"file://{tmp_path}/a?", "has a query or fragment"),
        (f"file://{tmp_path}/%e9", "percent escapes that are not UTF-8"),
        (f"file://{tmp_path}/a%00b", "has a NUL character"),
        ("file:////server/share/l", "names a network share"),
    ]:
        with pytest.raises(ValueError, match=re.escape(problem)):
            Lake(uri)


def test_the_duckdb_engine_imports_neither_pyspark_nor_sqlglot() -> None:
    """The spark extra is optional: loading the code location must not need it."""
    code = (
        "import sys, assets.definitions, assets.cli; "
        "print(sorted({'pyspark', 'sqlglot'} & {m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert result.stdout.strip() == "[]"


def test_spark_ingest_refuses_a_lake_without_the_warehouse_history(con, tmp_path: Path) -> None:
    """Months ingested by the DuckDB engine are not in the lake: Spark would take their
    merchants and orders for unknown, so it stops and says how to go on. A partition the
    warehouse ingested again since it was written (its digests are not the log's) is
    refused alike, as is one recording no ingest."""
    from pipelines.landing import IngestError
    from pipelines.spark_engine.ingest import require_lake_history
    from pipelines.spark_engine.lake import Lake

    lake = Lake(str(tmp_path / "lake"))
    con.execute(
        "INSERT INTO raw.ingest_log (dataset, month, files, rows_read, exact_copies, "
        "rows_accepted, rows_quarantined, files_digest, rows_digest) "
        "VALUES ('orders', '2026-01', 1, 1, 0, 1, 0, 'f1', 'r1')"
    )
    require_lake_history(con, lake, "2026-01")  # the month itself is being replaced
    with pytest.raises(IngestError, match="lacks months .*orders 2026-01"):
        require_lake_history(con, lake, "2026-02")
    lake.partition("raw", "orders", "2026-01").mkdir(parents=True)
    with pytest.raises(IngestError, match="orders 2026-01 records no ingest"):
        require_lake_history(con, lake, "2026-02")
    for files, rows in (("f0", "r1"), ("f1", "r0")):
        lake.record_ingest("orders", "2026-01", files, rows)
        lake.publish("2026-01")
        with pytest.raises(
            IngestError,
            match=r"orders 2026-01 was written by another ingest .*\(grading run --engine "
            r"spark --force --from 2026-01 --through 2026-02\)",
        ):
            require_lake_history(con, lake, "2026-02")
    lake.record_ingest("orders", "2026-01", "f1", "r1")
    lake.publish("2026-01")
    require_lake_history(con, lake, "2026-02")


@pytest.mark.spark
def test_a_month_regraded_on_duckdb_is_not_read_from_the_lake_as_it_was(
    spark, spark_cluster, tmp_path: Path
) -> None:
    """Graded on Spark, January corrected and regraded with the DuckDB engine (which does
    not write the lake), then March on Spark: Spark read January's orders as the lake
    held them and published wrong grades for March, which later unchanged runs kept
    (found by a review, 2026-12-06). The month is refused, naming January, with nothing
    changed; the run it names equals the DuckDB engine's."""
    landing = tmp_path / "landing"
    generate_landing(landing, 50, ["2026-01", "2026-02", "2026-03"], 5000, seed=11)
    master = spark_cluster.master_url
    grade(landing, tmp_path, "2026-02", "spark", master)
    _late_january_orders(landing, _merchant_ids(tmp_path / "spark.duckdb"), copies=False)
    warehouse, outputs = tmp_path / "spark.duckdb", tmp_path / "spark-outputs"
    grade_months(landing, warehouse, outputs, "2026-02", engine="duckdb")  # restates both
    before = published_state(warehouse, outputs)
    with pytest.raises(RunFailed, match="orders 2026-01 was written by another ingest"):
        grade(landing, tmp_path, "2026-03", "spark", master)
    assert published_state(warehouse, outputs) == before

    grade_months(
        landing,
        warehouse,
        outputs,
        "2026-03",
        first="2026-01",
        force=True,
        engine="spark",
        spark_master=master,
        lake=str(tmp_path / "lake"),
    )
    grade(landing, tmp_path, "2026-03", "duckdb")
    assert_same_tables(tmp_path)


@pytest.mark.spark
def test_a_local_master_binds_its_driver_to_127_0_0_1() -> None:
    """``--spark-master local[N]`` (make spark-demo) serves no one else: without
    SPARK_LOCAL_IP its driver binds to 127.0.0.1, not the machine's public interface. In
    a process of its own: one JVM holds one SparkContext, the test session's cluster one."""
    from pipelines.spark_engine.standalone import java_available

    if not java_available():
        pytest.skip("no Java runtime")
    code = (
        "from pipelines.spark_engine.session import spark_session; "
        "conf = spark_session('local[1]').sparkContext.getConf(); "
        "print(conf.get('spark.driver.bindAddress'), conf.get('spark.driver.host'))"
    )
    environ = {k: v for k, v in os.environ.items() if k != "SPARK_LOCAL_IP"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ,
        cwd=Path(__file__).resolve().parents[1], timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["127.0.0.1", "127.0.0.1"], result.stdout


TIMESTAMP_TEXTS = [
    "2026-01-10T12:00:00Z",
    "2026-01-10 12:00:00",
    "2026-01-10T12:00:00.123456Z",
    "2026-01-10T12:00:00+08:00",
    "2026-01-10T12:00:00.5-05:30",
    "2026-01-10T12:00:00+0800",
    "2026-01-10T12:00:00+08",
    "2026-01-10T12:00:00+18:00",
    "2026-01-10 12:00:00 UTC",
    "2026-01-10",
    # to the minute with a zone: Spark reads it once ':00' is put in (casting._iso_instant)
    "2026-01-10T12:00Z",
    "2026-01-10T14:00+02:00",
    "2026-01-10T14:00+0200",
    "2026-01-10 12:00 UTC",
    "2026-01-10T12:00",
    # refused by both: zone names, offsets out of range or where ISO 8601 has none
    "2026-01-10T12:00:00+18:01",
    "2026-01-10T12:00:00+23:59",
    "2026-01-10T12:00:00+99:00",
    "2026-01-10T12:00+18:01",
    "2026-1-10T12:00Z",
    "2026-01-10T12:00:00 +08:00",
    "2026-01-10T12:00:00UTC",
    "2026-01-10 12:00:00 Asia/Shanghai",
    "2026-01-10T12:00:00Z\n",
    "2026-01-10T25:00:00",
    "2026-01-10T24:00:00",  # DuckDB's cast read it as the next day's midnight
    "2026-01-10 24:00:00Z",
    "2026-01-10T 1:00:00",  # DuckDB's cast read these as 01:00, year 26, and 12:00:05
    "\t026-01-10T12:00:00",
    "2026-01-10T12:00:5.",
]


def _read_on_both_engines(
    spark, exprs: list[str], values: list[str]
) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Each text value's results of ``exprs`` (DuckDB SQL over a text column "v"), in
    DuckDB with the warehouse's UTC session and, transpiled as the Spark engine does, in
    Spark: (DuckDB's, Spark's), each {value: results}."""
    import duckdb
    from pyspark.sql import functions as F

    from pipelines.spark_engine.ingest import _spark_expr

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE TABLE t AS SELECT unnest($v) AS v", {"v": values})
        rows = con.execute(f"SELECT v, {', '.join(exprs)} FROM t").fetchall()
    finally:
        con.close()
    frame = spark.createDataFrame([(v,) for v in values], "v string")
    columns = [F.expr(_spark_expr(e)).alias(f"c{i}") for i, e in enumerate(exprs)]
    spark_rows = frame.select("v", *columns).collect()
    return {r[0]: tuple(r[1:]) for r in rows}, {r[0]: tuple(r[1:]) for r in spark_rows}


def test_text_timestamps_read_as_the_same_instant_or_refused_by_both_engines(spark) -> None:
    """The ingest's cast (pipelines/ingest/casting.py) runs as DuckDB SQL and, transpiled,
    as Spark SQL: a text timestamp must give the same instant in both, or be a cast error
    (NULL here) in both, so a month never stops on one engine only or moves."""
    from pipelines.ingest.casting import cast_expr

    expr, _ = cast_expr('"v"', "VARCHAR", "timestamp")
    day_expr, _ = cast_expr('"v"', "VARCHAR", "date")
    in_duckdb, in_spark = _read_on_both_engines(spark, [expr, day_expr], TIMESTAMP_TEXTS)
    assert in_spark == in_duckdb
    instants = {v: instant for v, (instant, _) in in_duckdb.items()}
    refused = {v for v, t in instants.items() if t is None}
    assert refused == set(TIMESTAMP_TEXTS[TIMESTAMP_TEXTS.index("2026-01-10T12:00:00+18:01") :])
    assert instants["2026-01-10T12:00:00+08:00"] == dt.datetime(2026, 1, 10, 4, 0)
    noon = dt.datetime(2026, 1, 10, 12, 0)
    assert [instants[v] for v in TIMESTAMP_TEXTS[10:15]] == [noon] * 5

    # A date column given as such a text takes its UTC day, on both engines alike.
    days_in_duckdb = {v: day for v, (_, day) in in_duckdb.items()}
    assert days_in_duckdb["2026-01-10T14:00+02:00"] == dt.date(2026, 1, 10)
    assert days_in_duckdb["2026-01-10T12:00:00+18:00"] == dt.date(2026, 1, 9)


def test_a_file_spark_would_read_as_hidden_is_refused_by_name(spark, tmp_path: Path) -> None:
    """Spec §1 reads any file name, and the DuckDB engine reads `_late.csv`; Spark lists a
    name starting with '_' or '.' as hidden and reads no rows from it, even named
    explicitly. The Spark engine refuses such a file by name instead of grading the month
    without its rows."""
    from pipelines.ingest import IngestError
    from pipelines.spark_engine.ingest import _read_file

    hidden = tmp_path / "_late.csv"
    shutil.copy(CONFORMANCE / "landing" / "orders" / "month=2026-01" / "part-a.csv", hidden)
    assert spark.read.schema("line STRING").text(str(hidden)).count() == 0  # Spark's listing
    rel = "orders/month=2026-01/_late.csv"
    with pytest.raises(IngestError, match=r"^orders/month=2026-01/_late\.csv: the Spark engine"):
        _read_file(spark, hidden, rel)


def test_a_parquet_file_with_columns_differing_in_case_is_refused_by_name(
    spark, tmp_path: Path
) -> None:
    """Spark takes `note` and `Note` for one column and fails without naming the file;
    the Spark engine names it (DuckDB's engine reads such a file, warning of the extra
    columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.ingest import IngestError
    from pipelines.spark_engine.ingest import _read_file

    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"order_id": ["O1"], "note": ["a"], "Note": ["b"]}), path)
    rel = "orders/month=2026-01/part-0.parquet"
    with pytest.raises(IngestError, match=r"^orders/month=2026-01/part-0\.parquet: the Spark"):
        _read_file(spark, path, rel)


# Text values around which a file may hold spaces or other white space: each must give
# the same value, or the same refusal, on both engines.
PADDED_TEXTS = [
    "7",
    " 7 ",
    "7\u00a0",
    "\u00a07",
    " 7\u00a0",
    "\u30007 ",
    "\t7",
    "7\n",
    " ",
    "\u00a0",
    "true",
    " false ",
    "true\u00a0",
    "4.50",
    " 4.50 ",
    "4.50\u00a0",
    " 4.500000000000000000001 ",
    "\t4.5",
    " M1\u00a0",
    "2026-01-05",
    " 2026-1-5 ",
    "2026-01-05\u00a0",
    "2026-01-05\x1f",
    "2026",
    "2026-01",
    "2026/01/05",
    "2026-01-05\t",
    "4_99",  # DuckDB's decimal cast read it as 499
    " 0_5 ",
    # Whole numbers written with a point: Spark's cast to BIGINT refused them (an audit)
    "5.0",
    " 1. ",
    "-0.0",
    "+01.00",
    "5.01",
    "99999999999999999999.0",
]


@pytest.mark.parametrize("logical", ["str", "int", "decimal", "bool", "date", "timestamp"])
def test_padded_texts_read_alike_on_both_engines(spark, logical) -> None:
    """Only spaces (U+0020) around a value are trimmed, and a date alone is year-month-day
    in digits (docs/decisions/reading-files.md), on both engines: DuckDB's plain trim also
    took Unicode spaces (U+00A0, U+3000) that Spark's keeps, so one engine read
    " M1\\u00a0" as merchant M1 and the other did not; Spark read "2026-01" as a date."""
    from pipelines.ingest.casting import cast_expr

    expr, failed = cast_expr('"v"', "VARCHAR", logical)
    in_duckdb, in_spark = _read_on_both_engines(spark, [expr, failed], PADDED_TEXTS)
    assert in_spark == in_duckdb
    assert in_duckdb[" "][0] is None and in_duckdb[" "][1] is False  # blank is missing
    if logical == "int":
        whole = {v: in_duckdb[v][0] for v in ("5.0", " 1. ", "-0.0", "+01.00")}
        assert whole == {"5.0": 5, " 1. ": 1, "-0.0": 0, "+01.00": 1}
        assert in_duckdb["5.01"] == (None, True)
        assert in_duckdb["99999999999999999999.0"] == (None, True)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_text_that_is_not_utf8_stops_the_file_on_both_engines(spark, con, landing, kind) -> None:
    """Spark read a CSV's bytes that are not UTF-8 as U+FFFD and graded the file with its
    text changed, and kept a Parquet string's as they were, where DuckDB's engine stops
    the file (found in review). Both now stop it, naming the column and the row, past a
    valid multi-byte value."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.datasets import ORDERS
    from pipelines.ingest import IngestError, ingest_month
    from pipelines.ingest.load import start_report
    from pipelines.spark_engine.ingest import _raise_first_cast_error, _read_file, _typed_rows

    folder = landing / "orders" / "month=2026-01"
    folder.mkdir(parents=True)
    buyers = [b"B1", "B\u00e9".encode(), b"Jos\xe9"]
    columns = {
        "order_id": [b"O1", b"O2", b"O3"],
        "merchant_id": [b"M1"] * 3,
        "buyer_id": buyers,
        "created_at": [b"2026-01-01T00:00:00Z"] * 3,
        "ended_at": [b"2026-01-10T12:00:00Z"] * 3,
        "status": [b"completed"] * 3,
        "amount_usd": [b"20.00"] * 3,
    }
    if kind == "csv":
        lines = [b",".join(c.encode() for c in columns)] + [
            b",".join(v[i] for v in columns.values()) for i in range(3)
        ]
        (folder / "part-0.csv").write_bytes(b"\n".join(lines) + b"\n")
    else:
        table = pa.table(
            {c: pa.array(v, pa.binary()).view(pa.string()) for c, v in columns.items()}
        )
        pq.write_table(table, folder / "part-0.parquet")
    rel = f"orders/month=2026-01/part-0.{kind}"
    said = "column 'buyer_id', row 3: value 'Jos\\xe9' is not UTF-8 text"

    with pytest.raises(IngestError) as on_duckdb:
        ingest_month(con, landing, ORDERS, "2026-01")
    report, files = start_report(landing, ORDERS, "2026-01")
    read = _read_file(spark, files[0], rel)
    with pytest.raises(IngestError) as on_spark:
        _raise_first_cast_error(ORDERS, _typed_rows(ORDERS, read, report, 1), {1: read})

    assert str(on_duckdb.value).startswith(f"{rel}: cannot be read as {kind}")
    assert said in str(on_duckdb.value).splitlines()[0]
    assert str(on_spark.value) == f"{rel}: cannot be read as {kind}: {said}"


MERCHANTS_HEADER = (
    b"merchant_id,account_type,auth_entity_id,real_name_verified,collection_account_set,"
    b"sales_plan,store_type,main_category,product_count,status,registered_at"
)
MERCHANT_ROW = b"M%d,individual,A%d,true,true,basic,other,%s,20,active,2025-01-01T00:00:00Z"


@pytest.mark.parametrize("ending", [b"\r\n", b"\r", b"\n"])
def test_a_quoted_line_break_is_graded_as_written_or_the_file_stopped(
    spark, con, landing, ending
) -> None:
    """Spark's CSV parser turns a line break inside a quoted value into LF when the file's
    lines end in CRLF (or CR): "home\\r\\ngarden" was published as "home\\ngarden" (found by
    an audit). With LF endings Spark keeps the value as DuckDB does; otherwise the Spark
    engine stops the file, naming the column and the row, rather than grade it changed."""
    from pipelines.datasets import MERCHANTS
    from pipelines.ingest import ingest_month

    category = b'"home' + ending + b'garden"'
    lines = [MERCHANTS_HEADER, MERCHANT_ROW % (1, 1, b"toys"), MERCHANT_ROW % (2, 2, category)]
    rel = write_merchants_csv(landing, ending.join(lines) + ending)

    ingest_month(con, landing, MERCHANTS, "2026-01")
    stored = con.execute("SELECT main_category FROM raw.merchants ORDER BY merchant_id").fetchall()
    assert stored == [("toys",), ("home" + ending.decode() + "garden",)]  # as written

    if ending == b"\n":
        assert spark_merchant_rows(spark, landing, rel) == [
            ("M1", "toys"),
            ("M2", "home\ngarden"),
        ]
        return
    assert spark_refusal(spark, landing, rel).startswith(
        f"{rel}: column 'main_category', row 2: the value holds a line break or CR"
    )


@pytest.mark.parametrize(
    ("category", "endings", "stopped_at"),
    [
        # LF, then CRLF: DuckDB stops the file; Spark read it, each CRLF line's CR kept
        # in its last value (`2025-01-01T00:00:00Z\r`), found by an audit, 2026-12-05.
        (b"home", (b"\n", b"\r\n", b"\r\n"), "column 'registered_at', row 1"),
        (b'"home\r\ngarden"', (b"\n", b"\n", b"\r\n"), "column 'main_category', row 2"),
        # LF endings, a CR only inside a quoted value: DuckDB grades it as written; the
        # Spark engine cannot tell it from a CR line ending without parsing, and stops it.
        (b'"home\rgarden"', (b"\n", b"\n", b"\n"), "column 'main_category', row 2"),
    ],
    ids=["lf-then-crlf", "lf-then-crlf-quoted-break", "lf-with-a-quoted-cr"],
)
def test_a_csv_holding_cr_is_stopped_on_spark_where_a_value_holds_cr(
    spark, con, landing, category, endings, stopped_at
) -> None:
    """Only the first line's ending was checked: a file whose lines change from LF to
    CRLF was graded on Spark with CRs inside its values, where DuckDB's ingest stops it.
    Now any CR in the file has every value holding CR or LF stop the file on Spark.
    ``endings``: those of the header and the two rows."""
    from pipelines.datasets import MERCHANTS
    from pipelines.ingest import IngestError, ingest_month

    lines = [MERCHANTS_HEADER, MERCHANT_ROW % (1, 1, b"toys"), MERCHANT_ROW % (2, 2, category)]
    rel = write_merchants_csv(landing, b"".join(a + b for a, b in zip(lines, endings, strict=True)))
    assert spark_refusal(spark, landing, rel).startswith(f"{rel}: {stopped_at}: the value holds")

    if b"\r\n" in endings:  # line endings that change: DuckDB's ingest stops the file too
        with pytest.raises(IngestError, match="its line endings change on this line"):
            ingest_month(con, landing, MERCHANTS, "2026-01")
    else:
        ingest_month(con, landing, MERCHANTS, "2026-01")
        stored = con.execute("SELECT main_category FROM raw.merchants ORDER BY 1").fetchall()
        assert stored == [("home\rgarden",), ("toys",)]


def write_merchants_csv(landing: Path, data: bytes) -> str:
    """January's merchants file holding ``data``; its path in the landing."""
    folder = landing / "merchants" / "month=2026-01"
    folder.mkdir(parents=True)
    (folder / "part-0.csv").write_bytes(data)
    return "merchants/month=2026-01/part-0.csv"


def spark_typed_merchants(spark, landing: Path, rel: str):
    """January's merchants file as the Spark engine types it, and its read."""
    from pipelines.datasets import MERCHANTS
    from pipelines.ingest.load import start_report
    from pipelines.spark_engine.ingest import _read_file, _typed_rows

    report, files = start_report(landing, MERCHANTS, "2026-01")
    read = _read_file(spark, files[0], rel)
    return _typed_rows(MERCHANTS, read, report, 1), read


def spark_merchant_rows(spark, landing: Path, rel: str) -> list[tuple[str, str]]:
    """The file's (merchant_id, main_category) on Spark, once nothing stops it."""
    from pipelines.datasets import MERCHANTS
    from pipelines.spark_engine.ingest import _raise_first_cast_error

    typed, read = spark_typed_merchants(spark, landing, rel)
    _raise_first_cast_error(MERCHANTS, typed, {1: read})
    return sorted(tuple(r) for r in typed.select("merchant_id", "main_category").collect())


def spark_refusal(spark, landing: Path, rel: str) -> str:
    """The Spark engine's error for the file."""
    from pipelines.datasets import MERCHANTS
    from pipelines.ingest import IngestError
    from pipelines.spark_engine.ingest import _raise_first_cast_error

    typed, read = spark_typed_merchants(spark, landing, rel)
    with pytest.raises(IngestError) as refused:
        _raise_first_cast_error(MERCHANTS, typed, {1: read})
    return str(refused.value)


def test_file_names_spark_would_take_for_patterns_are_read_as_named(spark, tmp_path) -> None:
    """Spark's reader takes a path as a glob: ``part[1].csv`` and ``{a}.csv`` were not
    found, and ``b*.csv`` could have read its neighbours too (found by an audit). A name
    holding ':' Hadoop cannot take at all: refused, naming the file."""
    from pipelines.ingest import IngestError
    from pipelines.spark_engine.ingest import _read_file

    names = ["part[1].csv", "{a}.csv", "b*.csv", "c?.csv", "cx.csv", "b1.csv"]
    for number, name in enumerate(names):
        (tmp_path / name).write_text(f"order_id\nO{number}\n", encoding="utf-8")
    for number, name in enumerate(names[:4]):
        read = _read_file(spark, tmp_path / name, f"orders/month=2026-01/{name}")
        assert [r[0] for r in read.rows.select("c1").collect()] == [f"O{number}"], name

    (tmp_path / "x:3.csv").write_text("order_id\nO9\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"^orders/month=2026-01/x:3\.csv: the Spark engine"):
        _read_file(spark, tmp_path / "x:3.csv", "orders/month=2026-01/x:3.csv")


@pytest.mark.parametrize("zone", ["UTC", None], ids=["instant", "naive"])
def test_parquet_nanosecond_timestamps_read_alike_on_both_engines(spark, con, landing, zone):
    """pandas writes Parquet timestamps in nanoseconds; Spark could not read them and
    failed naming neither file nor column (a review, 2026-12-06), where the DuckDB engine
    grades them. Both now cut them to the microsecond, never rounding: the last
    nanosecond of January stays in January, on both engines."""
    from pipelines.datasets import MERCHANTS
    from pipelines.ingest import ingest_month
    from pipelines.spark_engine.ingest import nanosecond_columns

    folder = landing / "merchants" / "month=2026-01"
    folder.mkdir(parents=True)
    ends = [
        "2026-01-31T23:59:59.999999999",
        "2026-01-10T12:00:00.000000500",
        "1969-12-31T23:59:59.999999999",
    ]
    frame = pl.DataFrame(
        {
            "merchant_id": ["M1", "M2", "M3"],
            "account_type": "individual",
            "auth_entity_id": ["E1", "E2", "E3"],
            "real_name_verified": True,
            "collection_account_set": True,
            "sales_plan": "standard",
            "store_type": "other",
            "main_category": "toys",
            "product_count": 20,
            "status": "active",
            "registered_at": pl.Series(ends).str.to_datetime(time_unit="ns", time_zone=zone),
        }
    )
    path = folder / "part-0.parquet"
    frame.write_parquet(path)
    assert nanosecond_columns(path) == {"registered_at": zone is not None}

    ingest_month(con, landing, MERCHANTS, "2026-01")
    in_duckdb = con.execute(
        "SELECT merchant_id, registered_at FROM raw.merchants ORDER BY 1"
    ).fetchall()
    assert in_duckdb[0] == ("M1", dt.datetime(2026, 1, 31, 23, 59, 59, 999999))
    typed, _ = spark_typed_merchants(spark, landing, "merchants/month=2026-01/part-0.parquet")
    in_spark = sorted((r[0], r[1]) for r in typed.select("merchant_id", "registered_at").collect())
    assert in_spark == in_duckdb


@pytest.mark.parametrize("dtype", [pl.UInt64, pl.Decimal(20, 0)], ids=["uint64", "decimal"])
def test_a_parquet_count_past_64_bits_is_named_by_its_row_on_both_engines(
    spark, con, landing, dtype
):
    """A UINT64 count of 2**63 stopped the DuckDB engine on an error naming no row; Spark
    reads it as DECIMAL(20,0), whose whole-number test sqlglot wrote as a CAST to BIGINT,
    which overflowed (both found 2026-12-06). Both name the file, column and row."""
    from pipelines.datasets import MERCHANTS
    from pipelines.ingest import IngestError, ingest_month

    folder = landing / "merchants" / "month=2026-01"
    folder.mkdir(parents=True)
    frame = pl.DataFrame(
        {
            "merchant_id": ["M1", "M2"],
            "account_type": "individual",
            "auth_entity_id": ["E1", "E2"],
            "real_name_verified": True,
            "collection_account_set": True,
            "sales_plan": "standard",
            "store_type": "other",
            "main_category": "toys",
            "product_count": pl.Series([20, 2**63], dtype=pl.Int128).cast(dtype),
            "status": "active",
            "registered_at": dt.datetime(2025, 1, 1),
        }
    )
    frame.write_parquet(folder / "part-0.parquet")
    rel = "merchants/month=2026-01/part-0.parquet"
    named = f"{rel}: column 'product_count', row 2: value '{2**63}' cannot be read as int"
    with pytest.raises(IngestError) as on_duckdb:
        ingest_month(con, landing, MERCHANTS, "2026-01")
    assert str(on_duckdb.value) == named
    assert spark_refusal(spark, landing, rel) == named


def test_a_lake_under_a_folder_named_like_a_pattern_is_read(spark, tmp_path):
    """Spark's reader globbed the lake's partition paths: under ``lake [1]`` no month was
    found and the run stopped on PATH_NOT_FOUND (found 2026-12-06). Its published and
    staged partitions are read as named."""
    from pipelines.spark_engine.frames import lake_table
    from pipelines.spark_engine.lake import Lake

    lake = Lake(str(tmp_path / "lake [1]*"))
    columns = {"merchant_id": "str", "product_count": "int"}
    for folder, ids in (
        (lake.partition("raw", "merchants", "2026-01"), ["M1", "M2"]),
        (lake.staged("raw", "merchants", "2026-02"), ["M3"]),
    ):
        folder.mkdir(parents=True)
        pl.DataFrame({"merchant_id": ids, "product_count": 20}).write_parquet(
            folder / "part-0.parquet"
        )
    frame = lake_table(spark, lake, "raw", "merchants", columns, "2026-02")
    assert sorted((r.merchant_id, r.month) for r in frame.collect()) == [
        ("M1", "2026-01"),
        ("M2", "2026-01"),
        ("M3", "2026-02"),
    ]


def test_cluster_addresses_are_read_from_the_master_url() -> None:
    from pipelines.spark_engine.session import cluster_addresses

    assert cluster_addresses("sc://cluster:15003/;token=abc") == [("cluster", 15003)]
    assert cluster_addresses("sc://cluster") == [("cluster", 15002)]
    assert cluster_addresses("spark://m1:7078,m2") == [("m1", 7078), ("m2", 7077)]
    assert cluster_addresses("sc://[::1]:15002") == [("::1", 15002)]
    assert cluster_addresses("sc://me@host:15003/;use_ssl=true") == [("host", 15003)]
    assert cluster_addresses("local[2]") == []


def test_a_spark_connect_address_behind_a_proxy_is_not_probed(monkeypatch) -> None:
    """gRPC reaches a Spark Connect server through these proxies; a direct connection
    may be refused while the cluster is there, so it is left to the client."""
    from pipelines.spark_engine.session import SparkUnavailable, refuse_unreachable

    for name in ("grpc_proxy", "HTTPS_PROXY", "http_proxy"):
        with monkeypatch.context() as proxied:
            proxied.setenv(name, "http://127.0.0.1:3128")
            refuse_unreachable("sc://no-such-host.invalid:15002", timeout=5)
            with pytest.raises(SparkUnavailable):  # a standalone master is no gRPC client
                refuse_unreachable("spark://no-such-host.invalid:7077", timeout=5)


def test_a_cluster_that_cannot_be_reached_stops_the_run_at_once(
    tmp_path, capsys, monkeypatch
) -> None:
    """A Spark Connect address that does not resolve or answer: the client retried for
    over ten minutes printing nothing (a review, 2026-12-06). Now the run stops in one
    line naming the address, before any row; a standalone master listing one address
    that answers is taken."""
    import socket
    import time

    from assets.cli import main as cli_main
    from pipelines.spark_engine.session import PROXY_VARIABLES, SparkUnavailable, refuse_unreachable

    for name in PROXY_VARIABLES:  # a machine's proxy would leave the address to the client
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as closed:  # a port that was free: nothing listens on it now
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    started = time.monotonic()
    code = cli_main(
        ["run", "--landing", str(CONFORMANCE / "landing"), "--warehouse",
         str(tmp_path / "w.duckdb"), "--outputs", str(tmp_path / "out"), "--through",
         "2026-01", "--create", "--no-dashboard", "--engine", "spark", "--spark-master",
         f"sc://127.0.0.1:{port}", "--lake", str(tmp_path / "lake")]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert f"cannot reach the Spark cluster at sc://127.0.0.1:{port} (127.0.0.1:{port}: " in err[0]
    assert "Connection refused" in err[0]
    assert time.monotonic() - started < 120

    with pytest.raises(SparkUnavailable, match=r"no-such-host\.invalid:15002: "):
        refuse_unreachable("sc://no-such-host.invalid", timeout=5)
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        answering = listening.getsockname()[1]
        refuse_unreachable(f"spark://127.0.0.1:{port},127.0.0.1:{answering}", timeout=5)


def test_a_cluster_that_gives_the_run_no_executor_refuses_it_instead_of_waiting_for_good(
    spark_cluster, tmp_path
) -> None:
    """Executors asking for more memory than any worker has (the test cluster's workers
    have 1g): the master kept the application waiting, and the run's first query with it,
    with nothing printed (a run killed after 300 s, 2026-12-08). Now the run is refused
    once GRADING_SPARK_EXECUTOR_WAIT has passed, naming the memory it asked for, and
    nothing is published."""
    import time

    from tests.helpers import environment_with, run_cli_with

    env = environment_with(
        {
            "SPARK_LOCAL_IP": "127.0.0.1",
            "GRADING_SPARK_EXECUTOR_MEMORY": "4g",
            "GRADING_SPARK_EXECUTOR_WAIT": "5",
        }
    )
    started = time.monotonic()
    result = run_cli_with(
        env, tmp_path,
        "run", "--landing", str(CONFORMANCE / "landing"), "--warehouse",
        str(tmp_path / "w.duckdb"), "--outputs", str(tmp_path / "out"), "--through",
        "2026-01", "--create", "--no-dashboard", "--engine", "spark", "--spark-master",
        spark_cluster.master_url, "--lake", str(tmp_path / "lake"),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert time.monotonic() - started < 240
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("grading: month 2026-01 was not published: "), last
    assert (
        f"the Spark cluster at {spark_cluster.master_url} gave this run no executor within "
        "5 s: no worker had a free core and 4g of memory free (GRADING_SPARK_EXECUTOR_MEMORY=4g)"
    ) in last
    assert not (tmp_path / "out" / "merchant_grades").exists()
