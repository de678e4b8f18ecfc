"""Unit tests of the notebook helpers (``pipelines.reporting.analysis``), on small hand-made frames.

The notebooks themselves run in ``test_notebooks.py``; here each helper's contract is pinned
down on data small enough to check by hand: exports read by month and never from staging
folders, a warehouse copy that holds no lock on the live file, what-if policies that refuse
typos, and the tier/exposure arithmetic the notebooks show.
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.policy import PolicyError, load_policy
from pipelines.reporting import analysis
from pipelines.reporting.analysis import (
    category_turnover,
    discard_copy,
    export_months,
    exposure_shift,
    merchant_history,
    migration_matrix,
    missed_conditions,
    move_counts,
    pick_merchant,
    policy_changes_table,
    policy_dict,
    policy_thresholds,
    published_months,
    read_export,
    readonly_copy,
    resolve_path,
    tier_moves,
    tier_order,
    tier_shares,
    what_if_policy,
)
from pipelines.warehouse import connect

TIERS = ["excellent", "good", "passing", "failing"]


def write_export(outputs: Path, table: str, month: str, frame: pl.DataFrame) -> Path:
    folder = outputs / table / f"month={month}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    frame.with_columns(month=pl.lit(month)).write_parquet(path)
    return path


def tiers_frame(**tiers: str) -> pl.DataFrame:
    return pl.DataFrame({"merchant_id": list(tiers), "tier": list(tiers.values())})


# --- paths and exports -------------------------------------------------------------------


def test_relative_paths_are_taken_from_the_project_root(tmp_path: Path):
    assert resolve_path(tmp_path) == tmp_path
    assert resolve_path("data/outputs") == analysis.REPO_ROOT / "data" / "outputs"
    assert (analysis.REPO_ROOT / "pyproject.toml").is_file()


def test_read_export_reads_published_months_only(tmp_path: Path):
    outputs = tmp_path / "outputs"
    for month, ids in (("2026-01", ["A", "B"]), ("2026-02", ["A"]), ("2026-03", ["C"])):
        write_export(outputs, "merchant_grades", month, pl.DataFrame({"merchant_id": ids}))
    # a swap in progress leaves these beside the months; they are not months
    write_export(outputs, "merchant_grades", "2026-04", pl.DataFrame({"merchant_id": ["X"]}))
    (outputs / "merchant_grades" / "month=2026-04").rename(
        outputs / "merchant_grades" / ".tmp-2026-04-abc"
    )
    (outputs / "merchant_grades" / "month=2026-05").mkdir()  # no file yet

    assert export_months(outputs, "merchant_grades") == ["2026-01", "2026-02", "2026-03"]
    everything = read_export(outputs, "merchant_grades")
    assert everything.sort("month", "merchant_id").rows() == [
        ("A", "2026-01"),
        ("B", "2026-01"),
        ("A", "2026-02"),
        ("C", "2026-03"),
    ]
    assert read_export(outputs, "merchant_grades", []).height == 4  # empty = all
    some = read_export(outputs, "merchant_grades", ["2026-03", "2026-01"])
    assert sorted(some["month"].unique()) == ["2026-01", "2026-03"]
    only_a = read_export(outputs, "merchant_grades", where=pl.col("merchant_id") == "A")
    assert only_a["month"].to_list() == ["2026-01", "2026-02"]


def test_read_export_names_what_is_missing(tmp_path: Path):
    write_export(tmp_path, "tier_distribution", "2026-01", pl.DataFrame({"merchants": [1]}))
    with pytest.raises(FileNotFoundError, match=r"2026-02.*published: \['2026-01'\]"):
        read_export(tmp_path, "tier_distribution", ["2026-01", "2026-02"])
    with pytest.raises(FileNotFoundError, match="any month"):
        read_export(tmp_path, "merchant_grades")
    with pytest.raises(ValueError, match="unknown table"):
        read_export(tmp_path, "raw_orders")
    assert export_months(tmp_path, "merchant_grades") == []


def test_read_export_retries_a_month_swapped_during_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    write_export(tmp_path, "quarantine", "2026-01", pl.DataFrame({"reason": ["null_key"]}))
    real_scan = pl.scan_parquet
    calls: list[int] = []

    def flaky_scan(*args: object, **kwargs: object) -> pl.LazyFrame:
        calls.append(1)
        if len(calls) == 1:
            raise FileNotFoundError("month folder renamed away")
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(analysis.pl, "scan_parquet", flaky_scan)
    assert read_export(tmp_path, "quarantine")["reason"].to_list() == ["null_key"]
    assert len(calls) == 2


# --- the warehouse copy --------------------------------------------------------------------


def test_readonly_copy_holds_committed_rows_and_no_lock_on_the_live_file(tmp_path: Path):
    live = tmp_path / "warehouse.duckdb"
    writer = duckdb.connect(str(live))
    writer.execute("SET checkpoint_threshold = '1GB'")  # keep the last rows in the WAL
    writer.execute("CREATE TABLE t AS SELECT range AS i FROM range(100)")
    writer.execute("INSERT INTO t VALUES (100)")
    assert live.with_name(live.name + ".wal").exists()

    copied = readonly_copy(live)  # while the writer (the monthly run) holds the file
    assert copied.parent.name.startswith(analysis.COPY_PREFIX) and copied != live
    reader = connect(copied, read_only=True)
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (101,)
    with pytest.raises(duckdb.Error):
        reader.execute("INSERT INTO t VALUES (1)")
    writer.close()

    # The notebook's connection stays open: another process can still write the live file.
    script = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
        "c.execute('INSERT INTO t VALUES (101)'); print(c.execute('SELECT count(*) FROM t')"
        ".fetchone()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(live)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "102"
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (101,)  # a snapshot
    reader.close()

    discard_copy(copied)
    assert not copied.parent.exists() and live.exists()


def test_readonly_copy_refuses_what_it_must_not_touch(tmp_path: Path):
    live = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(live)).close()
    with pytest.raises(FileNotFoundError):
        readonly_copy(tmp_path / "missing.duckdb")
    with pytest.raises(ValueError, match="onto itself"):
        readonly_copy(live, into=tmp_path)
    with pytest.raises(ValueError, match="not in a folder made by readonly_copy"):
        discard_copy(live)
    assert live.exists()
    mine = readonly_copy(live, into=tmp_path / "mine")
    assert mine == tmp_path / "mine" / "warehouse.duckdb" and mine.exists()


def test_published_months(tmp_path: Path):
    con = connect(tmp_path / "w.duckdb")
    assert published_months(con) == []
    con.execute(
        "INSERT INTO main.merchant_grades (month, merchant_id) "
        "VALUES ('2026-02', 'A'), ('2026-01', 'A'), ('2026-02', 'B')"
    )
    assert published_months(con) == ["2026-01", "2026-02"]
    con.close()


# --- what-if policies ----------------------------------------------------------------------


def test_what_if_policy_without_changes_is_the_shipped_policy():
    assert what_if_policy({}) == load_policy()
    assert what_if_policy({}).version == "2026.1"


def test_what_if_policy_applies_dotted_keys_on_a_copy():
    policy = what_if_policy(
        {"tiers.excellent.bad_order_rate_max": "0.025", "provisional.min_assessed_orders": 50}
    )
    assert policy.version == "2026.1-what-if"
    assert policy.tiers[0].max_rates["bad_order_rate"] == Fraction(1, 40)
    assert policy.provisional_min_assessed_orders == 50
    assert policy_dict()["tiers"]["excellent"]["bad_order_rate_max"] == "0.03"  # untouched
    assert what_if_policy({"window.days": 60}, version="v-test").version == "v-test"
    # a threshold a tier did not have yet is allowed; parse_policy checks its name
    added = what_if_policy({"tiers.good.response_rate_24h_min": "0.7"})
    assert added.tiers[1].min_rates["response_rate_24h"] == Fraction(7, 10)


def test_what_if_policy_refuses_typos_and_broken_policies():
    with pytest.raises(KeyError, match="window.dayz"):
        what_if_policy({"window.dayz": 60})
    with pytest.raises(KeyError, match="tiers.platinum"):
        what_if_policy({"tiers.platinum.min_assessed_orders": 500})
    with pytest.raises(PolicyError, match="unknown keys"):
        what_if_policy({"tiers.excellent.bad_order_rate": "0.02"})
    with pytest.raises(PolicyError, match="at least as strict"):
        what_if_policy({"tiers.excellent.bad_order_rate_max": "0.07"})


def test_policy_changes_table_shows_both_values():
    table = policy_changes_table(
        {"tiers.excellent.bad_order_rate_max": "0.025", "tiers.good.response_rate_24h_min": 0.7}
    )
    assert table.rows() == [
        ("tiers.excellent.bad_order_rate_max", "0.03", "0.025"),
        ("tiers.good.response_rate_24h_min", "(not set)", "0.7"),
    ]


def test_policy_thresholds_lists_every_rate_condition():
    thresholds = policy_thresholds(load_policy())
    assert thresholds.height == 6 + 5 + 3
    row = thresholds.filter(
        (pl.col("tier") == "excellent") & (pl.col("metric") == "bad_order_rate")
    )
    assert row.select("bound", "threshold").rows() == [("max", 0.03)]
    assert set(thresholds["bound"]) == {"max", "min"}


# --- tiers -----------------------------------------------------------------------------------


def test_tier_order_follows_the_policy_then_unknown_tiers():
    assert tier_order() == TIERS
    assert tier_order(tiers_frame(A="platinum", B="good")) == [*TIERS, "platinum"]
    assert tier_order(tiers=["gold", "silver"]) == ["gold", "silver"]


def test_tier_moves_and_counts():
    before = tiers_frame(A="excellent", B="good", C="passing", D="failing", E="good")
    after = tiers_frame(A="good", B="excellent", C="passing", D="passing", F="good")
    moves = tier_moves(before, after)
    assert moves.rows() == [
        ("A", "excellent", "good", "down"),
        ("B", "good", "excellent", "up"),
        ("C", "passing", "passing", "same"),
        ("D", "failing", "passing", "up"),
    ]  # E and F are graded on one side only
    assert move_counts(moves) == {"up": 2, "same": 1, "down": 1, "changed": 3, "total": 4}
    assert move_counts(moves.head(0)) == {"up": 0, "same": 0, "down": 0, "changed": 0, "total": 0}


def test_migration_matrix_has_every_tier_and_sums_to_the_counts():
    before = tiers_frame(A="excellent", B="excellent", C="good", D="passing", E="passing")
    after = tiers_frame(A="excellent", B="good", C="good", D="failing", E="passing")
    matrix = migration_matrix(before, after)
    assert matrix.columns == ["baseline_tier", *TIERS]
    assert matrix.rows() == [
        ("excellent", 1, 1, 0, 0),
        ("good", 0, 1, 0, 0),
        ("passing", 0, 0, 1, 1),
        ("failing", 0, 0, 0, 0),
    ]
    unchanged = migration_matrix(before, before)
    off_diagonal = sum(
        unchanged[tier].sum() - unchanged.filter(pl.col("baseline_tier") == tier)[tier].item()
        for tier in TIERS
    )
    assert off_diagonal == 0


def test_tier_shares_fill_missing_tiers_with_zero():
    distribution = pl.DataFrame(
        {
            "month": ["2026-01", "2026-01", "2026-02"],
            "main_category": ["toys", "home", "toys"],
            "tier": ["good", "good", "failing"],
            "merchants": [3, 1, 2],
        }
    )
    by_month = tier_shares(distribution)
    assert by_month.filter(pl.col("month") == "2026-01").select(
        "tier", "merchants", "share"
    ).rows() == [
        ("excellent", 0, 0.0),
        ("good", 4, 1.0),
        ("passing", 0, 0.0),
        ("failing", 0, 0.0),
    ]
    assert by_month.group_by("month").agg(pl.col("share").sum())["share"].to_list() == [1.0, 1.0]
    overall = tier_shares(distribution, by=[])
    assert overall.select("tier", "merchants").rows() == [
        ("excellent", 0),
        ("good", 4),
        ("passing", 0),
        ("failing", 2),
    ]
    assert tier_shares(distribution, by=["month", "main_category"]).height == 3 * 4


def test_missed_conditions_count_metrics_by_tier():
    grades = pl.DataFrame(
        {
            "tier": ["good", "good", "passing"],
            "reasons": [
                ["bad_order_rate 0.04 (4/100) is not below the 0.03 needed for excellent"],
                [
                    "bad_order_rate 0.035 (7/200) is not below the 0.03 needed for excellent",
                    "dsr_item_avg 4.6 (46/10) is below the 4.7 needed for excellent",
                ],
                ["provisional: 11 assessed orders, fewer than the 30 needed to be assessed"],
            ],
        }
    )
    assert missed_conditions(grades).rows() == [
        ("good", "bad_order_rate", 2),
        ("good", "dsr_item_avg", 1),
        ("passing", "provisional", 1),
    ]


# --- exposure ------------------------------------------------------------------------------


def exposure(rows: list[tuple[str, str, str, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema=["merchant_id", "main_category", "tier", "raw_weight", "exposure_share"],
        orient="row",
    )


BEFORE = exposure(
    [
        ("A", "toys", "excellent", 1.5, 0.6),
        ("B", "toys", "passing", 1.0, 0.4),
        ("C", "home", "good", 1.2, 1.0),
    ]
)
AFTER = exposure(
    [
        ("A", "toys", "good", 1.2, 0.5),
        ("B", "toys", "passing", 1.0, 0.5),
        ("C", "home", "good", 1.2, 1.0),
    ]
)


def test_exposure_shift_by_tier_moves_exposure_between_tiers():
    shift = exposure_shift(BEFORE, AFTER)
    assert shift["tier"].to_list() == ["excellent", "good", "passing"]
    rows = {r["tier"]: r for r in shift.to_dicts()}
    assert rows["excellent"]["what_if_merchants"] == 0
    assert rows["excellent"]["exposure_delta"] == pytest.approx(-0.6)
    assert rows["good"]["merchants_delta"] == 1
    assert rows["good"]["exposure_delta"] == pytest.approx(0.5)
    assert shift["exposure_delta"].sum() == pytest.approx(0.0)
    by_category = exposure_shift(BEFORE, AFTER, by=["main_category"])
    assert by_category["exposure_delta"].to_list() == pytest.approx([0.0, 0.0])
    assert exposure_shift(BEFORE, AFTER, by=["main_category", "tier"]).height == 4


def test_category_turnover_measures_exposure_that_changed_hands():
    turnover = category_turnover(BEFORE, AFTER)
    assert turnover["main_category"].to_list() == ["toys", "home"]
    toys = turnover.row(0, named=True)
    assert toys["changed_tier"] == 1
    assert toys["exposure_moved"] == pytest.approx(0.1)
    assert toys["largest_gain"] == pytest.approx(0.1)
    assert toys["largest_loss"] == pytest.approx(-0.1)
    assert turnover.row(1, named=True)["exposure_moved"] == 0


# --- one merchant --------------------------------------------------------------------------


def test_pick_merchant_prefers_long_eligible_histories_that_moved():
    grades = pl.DataFrame(
        {
            "month": ["2026-01", "2026-02", "2026-01", "2026-02", "2026-01", "2026-02", "2026-02"],
            "merchant_id": ["A", "A", "B", "B", "C", "C", "D"],
            "tier": ["good", "good", "good", "excellent", "passing", "good", "excellent"],
            "assessed_orders": [500, 500, 40, 60, 40, 60, 900],
            "eligible": [True, True, True, True, False, False, True],
        }
    )
    assert pick_merchant(grades) == "B"  # C moved too but is not eligible; D has one month
    assert pick_merchant(grades.drop("eligible")) == "B"  # B < C by id
    assert pick_merchant(grades.filter(pl.col("merchant_id") != "B")) == "A"
    with pytest.raises(ValueError):
        pick_merchant(grades.head(0))


def test_merchant_history_joins_grades_exposure_and_violations(tmp_path: Path):
    for month, tiers in (("2026-01", ["good", "passing"]), ("2026-02", ["excellent", "good"])):
        write_export(
            tmp_path,
            "merchant_grades",
            month,
            pl.DataFrame({"merchant_id": ["A", "B"], "tier": tiers, "level": [3, 1]}),
        )
        write_export(
            tmp_path,
            "exposure_weights",
            month,
            pl.DataFrame(
                {
                    "merchant_id": ["A", "B", "C"],
                    "main_category": ["toys", "toys", "home"],
                    "tier": tiers + ["good"],
                    "level": [3, 1, 0],
                    "eligible": [True, True, True],
                    "exposure_share": [0.3, 0.7, 1.0] if month == "2026-01" else [0.8, 0.2, 1.0],
                    "policy_version": ["2026.1"] * 3,
                }
            ),
        )
    write_export(
        tmp_path,
        "merchant_compliance",
        "2026-01",
        pl.DataFrame({"merchant_id": ["A", "A"], "violation": ["no_store", "banned_entity"]}),
    )
    write_export(
        tmp_path,
        "merchant_compliance",
        "2026-02",
        pl.DataFrame({"merchant_id": ["B"], "violation": ["x"]}),
    )

    history = merchant_history(tmp_path, "A")
    assert history.select(
        "month", "tier", "main_category", "category_rank", "category_merchants", "violations"
    ).rows() == [
        ("2026-01", "good", "toys", 2, 2, ["banned_entity", "no_store"]),
        ("2026-02", "excellent", "toys", 1, 2, []),
    ]
    assert merchant_history(tmp_path, "A", ["2026-02"]).height == 1
    with pytest.raises(ValueError, match=r"'Z'.*\['A', 'B'\]"):
        merchant_history(tmp_path, "Z")
