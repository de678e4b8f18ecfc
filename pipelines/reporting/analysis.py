"""Helpers for the analyst notebooks: read what the pipeline published without ever blocking it.

Why a module: notebook cells stay short, and the logic under them is unit-tested like the rest
of the project instead of living in cells nobody tests.

Why these reading rules: DuckDB allows one writer per file, and any connection to it, even a
read-only one, holds a lock that makes the monthly run fail to open its warehouse. A notebook
is easily left open for days, so notebooks never open the live warehouse file. They read the
Parquet exports (plain files, each month swapped in by rename), or, when they need the raw
tables (the what-if re-grade), a private copy of the warehouse file opened read-only.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.exports import OUTPUT_TABLES
from pipelines.months import MONTH_PATTERN
from pipelines.policy import DEFAULT_POLICY_PATH, Policy, parse_policy, read_toml
from pipelines.warehouse import refuse_unusable_path

REPO_ROOT = Path(__file__).resolve().parents[2]
COPY_PREFIX = "grading-warehouse-copy-"
MOVES = ("up", "same", "down")


# --- paths and exports -------------------------------------------------------------------


def resolve_path(path: str | Path) -> Path:
    """An absolute path as is; a relative one from the project root.

    Jupyter starts a notebook's kernel in ``notebooks/`` while papermill, the CLI and the
    tests run from the root: anchoring relative parameters (``data/outputs``) to the root
    makes the same default work in all of them. Outside a source checkout (no pyproject.toml
    beside the package) the current directory is the anchor.
    """
    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    root = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()
    return root / path


def export_months(outputs: str | Path, table: str = "merchant_grades") -> list[str]:
    """Months with a published export of ``table``, oldest first.

    Only ``month=YYYY-MM`` folders that hold their Parquet file count: the exporter's
    ``.tmp-*`` and ``.old-*`` folders of a swap in progress are not months.
    """
    _check_table(table)
    folder = resolve_path(outputs) / table
    if not folder.is_dir():
        return []
    months = (p.parent.name.removeprefix("month=") for p in folder.glob("month=*/part-0.parquet"))
    return sorted(m for m in months if MONTH_PATTERN.match(m))


def read_export(
    outputs: str | Path,
    table: str,
    months: Sequence[str] | None = None,
    where: pl.Expr | None = None,
    attempts: int = 3,
) -> pl.DataFrame:
    """Published rows of ``table`` for ``months`` (all published months when empty or None).

    ``where`` is pushed down into the Parquet scan, so a drill-down on one merchant does not
    load every row. The month folders are listed once and read by name: if the monthly run
    swaps a month in between (rename out, rename in), the read is retried rather than failing
    or mixing a half-written month. Hive partitioning is off because every file already
    carries its ``month`` column.
    """
    _check_table(table)
    available = export_months(outputs, table)
    wanted = sorted(set(months)) if months else available
    missing = sorted(set(wanted) - set(available))
    if missing or not wanted:
        raise FileNotFoundError(
            f"{table}: no published export for {missing or 'any month'} under "
            f"{resolve_path(outputs)} (published: {available or 'none'})"
        )
    folder = resolve_path(outputs) / table
    files = [folder / f"month={m}" / "part-0.parquet" for m in wanted]
    for attempt in range(1, attempts + 1):
        try:
            scan = pl.scan_parquet(files, hive_partitioning=False, glob=False)
            return (scan if where is None else scan.filter(where)).collect()
        except FileNotFoundError:
            if attempt == attempts:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _check_table(table: str) -> None:
    if table not in OUTPUT_TABLES:
        raise ValueError(f"unknown table {table!r}; exported tables: {list(OUTPUT_TABLES)}")


# --- a private, read-only copy of the warehouse ------------------------------------------


def readonly_copy(warehouse: str | Path, into: str | Path | None = None, attempts: int = 5) -> Path:
    """Copy the warehouse file (and its WAL) to a private folder; return the copy's path.

    Open the copy with ``connect(copy, read_only=True)``. Copying takes no DuckDB lock, so the
    monthly run is never blocked. The monthly run may be writing while we copy, so a copy
    counts only if the source did not change during it (size and mtime of the file and its
    WAL) and the copy opens; otherwise it is taken again. The WAL holds committed changes not
    yet checkpointed into the file: without it the copy could miss the latest month.
    """
    source = resolve_path(warehouse)
    if not source.is_file():
        raise FileNotFoundError(f"no warehouse file at {source}")
    # Before any folder is made: a '?' in the copy's path opened it without its WAL.
    chosen = Path(tempfile.gettempdir(), f"{COPY_PREFIX}x") if into is None else resolve_path(into)
    refuse_unusable_path(chosen / source.name)
    folder = Path(tempfile.mkdtemp(prefix=COPY_PREFIX)) if into is None else chosen
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    if target.resolve() == source.resolve():
        raise ValueError(f"refusing to copy {source} onto itself")
    source_wal, target_wal = _wal(source), _wal(target)
    for attempt in range(1, attempts + 1):
        before = _stamp(source)
        try:
            shutil.copyfile(source, target)
            target_wal.unlink(missing_ok=True)
            if source_wal.exists():
                shutil.copyfile(source_wal, target_wal)
        except FileNotFoundError:  # the WAL was checkpointed away while we copied
            pass
        else:
            if _stamp(source) == before and _opens(target):
                return target
        time.sleep(0.5 * attempt)
    raise RuntimeError(
        f"could not take a consistent copy of {source} in {attempts} attempts: the monthly "
        "run kept writing it; try again when the run is done"
    )


def discard_copy(copied: str | Path) -> None:
    """Delete a copy made by ``readonly_copy``, with its private folder when it has one.

    Only a path inside a folder that ``readonly_copy`` made itself (its name prefix) is
    deleted: a notebook's cleanup cell run with the wrong variable must never be able to
    delete the live warehouse. Copies made ``into`` a folder of your own are yours to delete.
    """
    copied = Path(copied)
    if not copied.parent.name.startswith(COPY_PREFIX):
        raise ValueError(f"{copied} is not in a folder made by readonly_copy; not deleting it")
    shutil.rmtree(copied.parent, ignore_errors=True)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _stamp(path: Path) -> tuple[tuple[int, int] | None, ...]:
    """Size and mtime of the file and its WAL: equal before and after a copy = no write."""

    def one(p: Path) -> tuple[int, int] | None:
        try:
            stat = p.stat()
        except FileNotFoundError:
            return None
        return (stat.st_size, stat.st_mtime_ns)

    return (one(path), one(_wal(path)))


def _opens(path: Path) -> bool:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        con.execute("SELECT count(*) FROM information_schema.tables").fetchall()
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


def published_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Months published in ``main.merchant_grades`` (with a credit ledger to re-grade from)."""
    rows = con.execute("SELECT DISTINCT month FROM main.merchant_grades ORDER BY month").fetchall()
    return [row[0] for row in rows]


# --- what-if policies ----------------------------------------------------------------------


def policy_dict(path: str | Path | None = None) -> dict[str, Any]:
    """The parsed TOML of a policy file (the shipped default when ``path`` is empty)."""
    source = resolve_path(path) if path else DEFAULT_POLICY_PATH
    return read_toml(source.read_text(encoding="utf-8"))


def what_if_policy(
    changes: Mapping[str, Any],
    base: str | Path | None = None,
    version: str | None = None,
) -> Policy:
    """The base policy with ``changes`` applied, validated by ``parse_policy``.

    ``changes`` maps dotted keys of the TOML file to new values, e.g.
    ``{"tiers.excellent.bad_order_rate_max": "0.025"}``: the same keys an analyst would edit
    in a copy of the file, so a what-if translates one to one into a new policy file. A key
    must already exist (a typo would otherwise be ignored silently), except a threshold
    added to a tier, which ``parse_policy`` checks against the allowed names. The version
    gets a ``-what-if`` suffix when anything changed, so its rows never pass for published
    ones.
    """
    raw = copy.deepcopy(policy_dict(base))
    for key, value in changes.items():
        _set_dotted(raw, key, value)
    if version is None and changes:
        version = f"{raw['policy_version']}-what-if"
    if version:
        raw["policy_version"] = version
    return parse_policy(raw, source=f"what-if of {base or DEFAULT_POLICY_PATH.name}")


def policy_changes_table(
    changes: Mapping[str, Any], base: str | Path | None = None
) -> pl.DataFrame:
    """Each changed key with its base and what-if value (as text), for the notebook to show."""
    raw = policy_dict(base)
    return pl.DataFrame(
        {
            "key": list(changes),
            "baseline": [str(_get_dotted(raw, k)) for k in changes],
            "what_if": [str(v) for v in changes.values()],
        },
        schema={"key": pl.String, "baseline": pl.String, "what_if": pl.String},
    )


def _get_dotted(raw: Mapping[str, Any], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return "(not set)"
        node = node[part]
    return node


def _set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node: Any = raw
    for depth, part in enumerate(parents):
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            raise KeyError(f"policy has no table {'.'.join(parents[: depth + 1])!r} (in {key!r})")
        node = node[part]
    in_tier = len(parents) == 2 and parents[0] == "tiers"
    if leaf not in node and not in_tier:
        raise KeyError(f"policy has no key {key!r}")
    node[leaf] = value


# --- tiers: order, moves, migration --------------------------------------------------------


def tier_order(*frames: pl.DataFrame, tiers: Sequence[str] | None = None) -> list[str]:
    """Tiers from the top: the given order (default: the shipped policy's), then any other
    tier found in ``frames``, so data graded under another policy still sorts and shows."""
    order = list(tiers) if tiers else list(parse_policy(policy_dict()).tier_names)
    seen = pl.concat([f.select(pl.col("tier").cast(pl.String)) for f in frames]) if frames else None
    extra = [] if seen is None else sorted(set(seen["tier"].drop_nulls()) - set(order))
    return order + extra


def tier_rank(column: str, tiers: Sequence[str]) -> pl.Expr:
    """0 for the top tier, 1 for the next...: a sort key and the basis of up/down moves."""
    return pl.col(column).replace_strict(
        list(tiers), list(range(len(tiers))), return_dtype=pl.Int32
    )


def tier_moves(
    before: pl.DataFrame, after: pl.DataFrame, tiers: Sequence[str] | None = None
) -> pl.DataFrame:
    """One row per merchant graded in both frames: its two tiers and the move between them.

    ``move`` is ``up`` when the after tier ranks higher, ``down`` when lower, ``same``
    otherwise. Merchants graded in only one frame are left out: they did not move, they came
    or went (between months; a what-if of one month grades the same merchants).
    """
    order = tier_order(before, after, tiers=tiers)
    joined = before.select("merchant_id", pl.col("tier").alias("baseline_tier")).join(
        after.select("merchant_id", pl.col("tier").alias("what_if_tier")),
        on="merchant_id",
        how="inner",
    )
    delta = tier_rank("what_if_tier", order) - tier_rank("baseline_tier", order)
    return joined.with_columns(
        move=pl.when(delta < 0)
        .then(pl.lit("up"))
        .when(delta > 0)
        .then(pl.lit("down"))
        .otherwise(pl.lit("same"))
    ).sort("merchant_id")


def move_counts(moves: pl.DataFrame) -> dict[str, int]:
    """Merchants that went up, stayed, went down, changed (up + down) and in total."""
    counted = dict(moves.group_by("move").len().iter_rows())
    counts = {m: int(counted.get(m, 0)) for m in MOVES}
    return counts | {"changed": counts["up"] + counts["down"], "total": moves.height}


def migration_matrix(
    before: pl.DataFrame, after: pl.DataFrame, tiers: Sequence[str] | None = None
) -> pl.DataFrame:
    """Merchants per (baseline tier, what-if tier): one row per baseline tier, one column
    per what-if tier, every tier present (zeros too), tiers from the top.

    The diagonal is the merchants that kept their tier; above it, moves up; below it, moves
    down. Rows sum to the baseline tier counts, columns to the what-if ones (of the merchants
    graded in both).
    """
    order = tier_order(before, after, tiers=tiers)
    counts = tier_moves(before, after, order).group_by("baseline_tier", "what_if_tier").len()
    grid = pl.DataFrame({"baseline_tier": order}).join(
        pl.DataFrame({"what_if_tier": order}), how="cross"
    )
    return (
        grid.join(counts, on=["baseline_tier", "what_if_tier"], how="left")
        .with_columns(pl.col("len").fill_null(0).cast(pl.Int64))
        .pivot(on="what_if_tier", index="baseline_tier", values="len")
        .select("baseline_tier", *order)
        .sort(tier_rank("baseline_tier", order))
    )


def tier_shares(
    distribution: pl.DataFrame,
    by: Sequence[str] = ("month",),
    tiers: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Merchants and share of each tier within each ``by`` group, zeros included.

    Reads a ``tier_distribution`` frame (or anything with ``tier`` and ``merchants``);
    an empty ``by`` gives one overall group. Every tier appears in every group so stacked
    charts and pivots line up across months.
    """
    order = tier_order(distribution, tiers=tiers)
    by = list(by)
    tiers_frame = pl.DataFrame({"tier": order})
    counts = distribution.group_by(*by, "tier").agg(pl.col("merchants").sum())
    grid = distribution.select(by).unique().join(tiers_frame, how="cross") if by else tiers_frame
    total = pl.col("merchants").sum()
    return (
        grid.join(counts, on=[*by, "tier"], how="left")
        .with_columns(pl.col("merchants").fill_null(0).cast(pl.Int64))
        .with_columns(share=pl.col("merchants") / (total.over(by) if by else total))
        .sort(*by, tier_rank("tier", order))
    )


def missed_conditions(grades: pl.DataFrame, by: Sequence[str] = ("tier",)) -> pl.DataFrame:
    """How often each metric kept merchants out of the tier above, per ``by`` group.

    A grade's ``reasons`` are texts that start with the metric's name (``bad_order_rate
    0.0916 (61/666) is not below ...``); counting those names shows what holds each tier
    back.
    """
    by = list(by)
    return (
        grades.select(*by, pl.col("reasons").alias("reason"))
        .explode("reason")
        .drop_nulls("reason")
        .with_columns(metric=pl.col("reason").str.extract(r"^([A-Za-z0-9_]+)", 1))
        .group_by(*by, "metric")
        .agg(merchants=pl.len())
        .sort(*by, "merchants", descending=[False] * len(by) + [True])
    )


def policy_thresholds(policy: Policy) -> pl.DataFrame:
    """Every rate threshold of every tier: ``tier``, ``metric``, ``bound`` (``max`` is a strict
    upper bound, ``min`` an inclusive lower one) and ``threshold`` as a float for plotting."""
    rows = [
        (rule.name, metric, bound, float(value))
        for rule in policy.tiers
        for bound, rates in (("max", rule.max_rates), ("min", rule.min_rates))
        for metric, value in rates.items()
    ]
    return pl.DataFrame(
        rows,
        schema={
            "tier": pl.String,
            "metric": pl.String,
            "bound": pl.String,
            "threshold": pl.Float64,
        },
        orient="row",
    )


# --- exposure ------------------------------------------------------------------------------


def exposure_shift(
    before: pl.DataFrame, after: pl.DataFrame, by: Sequence[str] = ("tier",)
) -> pl.DataFrame:
    """Merchants, exposure and raw weight per ``by`` group, baseline against what-if.

    ``exposure_share`` sums to 1 within each category, so summed over categories it reads
    as "categories' worth of exposure": grouping by tier shows how much of it moves from one
    tier to another; by (category, tier), where inside each category. Groups present in only
    one frame show zeros on the other side.
    """
    by = list(by)

    def totals(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
        return frame.group_by(by).agg(
            pl.len().alias(f"{prefix}_merchants"),
            pl.col("exposure_share").sum().alias(f"{prefix}_exposure"),
            pl.col("raw_weight").sum().alias(f"{prefix}_raw_weight"),
        )

    joined = totals(before, "baseline").join(
        totals(after, "what_if"), on=by, how="full", coalesce=True
    )
    numbers = [c for c in joined.columns if c not in by]
    shifted = joined.with_columns(
        pl.col(numbers).fill_null(0),
    ).with_columns(
        merchants_delta=pl.col("what_if_merchants").cast(pl.Int64)
        - pl.col("baseline_merchants").cast(pl.Int64),
        exposure_delta=pl.col("what_if_exposure") - pl.col("baseline_exposure"),
    )
    if "tier" in by:
        order = tier_order(before, after)
        return shifted.sort(*[c for c in by if c != "tier"], tier_rank("tier", order))
    return shifted.sort(by)


def category_turnover(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Per category: how much of its exposure changed hands, and how many merchants moved.

    Shares are normalised within a category, so a category's total never shifts; what does
    is who holds it. ``exposure_moved`` is half the sum of absolute share changes: the part
    of the category's exposure that went from some merchants to others (0 to 1).
    """
    joined = before.select(
        "merchant_id", "main_category", pl.col("tier").alias("baseline_tier"), "exposure_share"
    ).join(
        after.select(
            "merchant_id",
            pl.col("tier").alias("what_if_tier"),
            pl.col("exposure_share").alias("what_if_share"),
        ),
        on="merchant_id",
        how="inner",
    )
    return (
        joined.group_by("main_category")
        .agg(
            merchants=pl.len(),
            changed_tier=(pl.col("baseline_tier") != pl.col("what_if_tier")).sum(),
            exposure_moved=(pl.col("what_if_share") - pl.col("exposure_share")).abs().sum() / 2,
            largest_gain=(pl.col("what_if_share") - pl.col("exposure_share")).max(),
            largest_loss=(pl.col("what_if_share") - pl.col("exposure_share")).min(),
        )
        .sort("exposure_moved", "main_category", descending=[True, False])
    )


# --- one merchant --------------------------------------------------------------------------


def pick_merchant(grades: pl.DataFrame) -> str:
    """The merchant to show when none is named, chosen so a drill-down has a story to tell.

    Ranked by months graded, then months eligible for exposure when ``grades`` carries an
    ``eligible`` column (an ineligible merchant's exposure is all zeros), then distinct tiers
    (a merchant that moved), then most assessed orders; the smallest id breaks ties so that
    every run of the notebook shows the same one.
    """
    if grades.is_empty():
        raise ValueError("no graded merchant to pick from")
    eligible = pl.col("eligible").sum() if "eligible" in grades.columns else pl.lit(0)
    ranked = (
        grades.group_by("merchant_id")
        .agg(
            months=pl.col("month").n_unique(),
            eligible=eligible,
            tiers=pl.col("tier").n_unique(),
            orders=pl.col("assessed_orders").max(),
        )
        .sort(
            "months",
            "eligible",
            "tiers",
            "orders",
            "merchant_id",
            descending=[True, True, True, True, False],
        )
    )
    return ranked["merchant_id"][0]


def merchant_history(
    outputs: str | Path, merchant_id: str, months: Sequence[str] | None = None
) -> pl.DataFrame:
    """One row per published month of ``merchant_id``: its grade, its exposure (with its
    rank and the merchant count in its category) and its violations as a list.

    The rank needs the whole category, so exposure is read for all merchants of the months
    (one small row each) and only then narrowed to the merchant.
    """
    grades = read_export(
        outputs, "merchant_grades", months, where=pl.col("merchant_id") == merchant_id
    )
    if grades.is_empty():
        sample = read_export(outputs, "merchant_grades", months)["merchant_id"].unique().sort()
        raise ValueError(
            f"merchant {merchant_id!r} has no published grade in {months or 'any month'}; "
            f"graded merchants include {sample.head(5).to_list()}"
        )
    exposure = (
        read_export(outputs, "exposure_weights", months)
        .with_columns(
            category_rank=pl.col("exposure_share")
            .rank("min", descending=True)
            .over("month", "main_category")
            .cast(pl.Int64),
            category_merchants=pl.len().over("month", "main_category").cast(pl.Int64),
        )
        .filter(pl.col("merchant_id") == merchant_id)
        .drop("tier", "level", "policy_version")
    )
    violations = (
        read_export(
            outputs, "merchant_compliance", months, where=pl.col("merchant_id") == merchant_id
        )
        .group_by("month", "merchant_id")
        .agg(violations=pl.col("violation").sort())
    )
    return (
        grades.join(exposure, on=["month", "merchant_id"], how="left")
        .join(violations, on=["month", "merchant_id"], how="left")
        .with_columns(pl.col("violations").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .sort("month")
    )
