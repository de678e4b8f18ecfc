"""Shared test helpers: CSV landing writers, row builders, column lists and published state.

Plain functions and constants live here (importable as ``tests.helpers``); pytest fixtures
stay in ``tests/conftest.py``, which pytest loads on its own and tests should not import.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipelines.datasets import BAD_ORDERS, FEEDBACK, MERCHANTS, ORDERS, SERVICE_METRICS
from pipelines.exports import OUTPUT_TABLES
from pipelines.warehouse import connect, fetch_rows

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = Path(__file__).parent / "conformance"

# The landing CSV headers, in contract order, read from the dataset definitions so the
# tests cannot drift from what the pipeline expects (spec §1).
MERCHANT_COLUMNS = list(MERCHANTS.columns)
ORDER_COLUMNS = list(ORDERS.columns)
FEEDBACK_COLUMNS = list(FEEDBACK.columns)
BAD_ORDER_COLUMNS = list(BAD_ORDERS.columns)
SERVICE_COLUMNS = list(SERVICE_METRICS.columns)


def write_csv(
    landing: Path,
    dataset: str,
    month: str,
    rows: Iterable[dict | list],
    columns: list[str],
    name: str = "part-0.csv",
) -> Path:
    folder = landing / dataset / f"month={month}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns] if isinstance(row, dict) else row)
    return path


def merchant(merchant_id: str, **overrides: object) -> dict:
    row = {
        "merchant_id": merchant_id,
        "account_type": "enterprise",
        "auth_entity_id": f"E-{merchant_id}",
        "real_name_verified": "true",
        "collection_account_set": "true",
        "sales_plan": "basic",
        "store_type": "official",
        "main_category": "home",
        "product_count": 50,
        "status": "active",
        "registered_at": "2024-01-01T00:00:00Z",
    }
    row.update(overrides)
    return row


def order(
    order_id: str,
    merchant_id: str = "M1",
    ended_at: str = "2026-01-10T12:00:00Z",
    **overrides: object,
) -> dict:
    row = {
        "order_id": order_id,
        "merchant_id": merchant_id,
        "buyer_id": "B1",
        "created_at": "2026-01-01T00:00:00Z",
        "ended_at": ended_at,
        "status": "completed",
        "amount_usd": "20.00",
    }
    row.update(overrides)
    return row


# The window counts the tier rules read (pipelines.rules.metrics.window_metrics), and a
# merchant meeting every excellent condition of the default policy, for rule tests.
COUNT_COLUMNS = (
    "assessed_orders",
    "bad_orders",
    "seller_dispute_orders",
    "positive_feedback",
    "negative_feedback",
    "rated_feedback",
    "messages_received",
    "messages_replied_24h",
    "dsr_item_sum",
    "dsr_item_count",
    "shipments_due",
    "shipments_on_time",
)
EXCELLENT_COUNTS = {
    "assessed_orders": 100,
    "bad_orders": 0,
    "seller_dispute_orders": 0,
    "positive_feedback": 100,
    "negative_feedback": 0,
    "messages_received": 100,
    "messages_replied_24h": 100,
    "dsr_item_sum": 500,
    "dsr_item_count": 100,
    "shipments_due": 100,
    "shipments_on_time": 100,
}

# The published tables of spec §8, as the exports name them.
PUBLISHED_TABLES = OUTPUT_TABLES


def published_state(
    warehouse: Path, outputs: Path, tables: Iterable[str] = PUBLISHED_TABLES
) -> dict:
    """Every published row and a digest of every exported month file: what must not move."""
    con = connect(warehouse, read_only=True)
    try:
        rows = {t: fetch_rows(con, f"SELECT * FROM main.{t} ORDER BY ALL") for t in tables}
    finally:
        con.close()
    files = {
        p.relative_to(outputs).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(outputs.glob("*/month=*/*.parquet"))
    }
    return {"tables": rows, "files": files}


def stale_months(warehouse: Path) -> dict[str, bool]:
    """Each published month and whether main.month_status calls it stale."""
    con = connect(warehouse, read_only=True)
    try:
        return dict(fetch_rows(con, "SELECT month, stale FROM main.month_status"))
    finally:
        con.close()


def step_failures(result: object) -> str:
    """The errors of a Dagster run's failed steps, joined (``result``: an
    ExecuteInProcessResult)."""
    import dagster as dg

    return " ".join(
        str(e.step_failure_data.error)
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE
    )


def failed_steps(result: object) -> list[str]:
    """The keys of a Dagster run's failed steps, in order (``result``: an
    ExecuteInProcessResult)."""
    import dagster as dg

    return [
        e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
    ]


def materialize_month(
    landing: Path, warehouse: Path, outputs: Path, month: str, policy_file: str = ""
) -> object:
    """One month of every asset materialized by Dagster, as the schedule or the UI runs it
    (``policy_file`` empty: the shipped calendar); the ExecuteInProcessResult."""
    import dagster as dg

    from assets.definitions import ALL_ASSETS
    from assets.resources import GradingSettings, WarehouseResource

    settings = GradingSettings(
        landing_dir=str(landing), outputs_dir=str(outputs), policy_file=policy_file
    )
    return dg.materialize(
        ALL_ASSETS,
        partition_key=month,
        raise_on_error=False,
        resources={"warehouse": WarehouseResource(path=str(warehouse)), "settings": settings},
    )


def graded_through(root: Path, write_landing: Callable[[Path], None], months: list[str]) -> Path:
    """The warehouse of ``grading run`` (through Dagster) over ``months`` of the landing
    ``write_landing`` writes under ``root``, asserting each month was graded."""
    from assets.runner import grade_months

    write_landing(root / "landing")
    results = grade_months(root / "landing", root / "w.duckdb", root / "out", months[-1])
    assert [r.month for r in results] == months
    return root / "w.duckdb"


def run_args(landing: Path, warehouse: Path, outputs: Path, through: str, *extra: str) -> list[str]:
    """The arguments of ``grading run`` on a landing folder, a warehouse and an outputs
    folder, through ``through`` (``extra`` such as ``--from M`` follow)."""
    return [
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        "--outputs",
        str(outputs),
        "--through",
        through,
        *extra,
    ]


def run_python(code: str) -> subprocess.CompletedProcess:
    """``code`` run by this interpreter in a fresh process from the repository's root (what
    a module imports, or a build made by another process, cannot be seen in this one)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=300,
    )


def without_configured_start(environ: dict[str, str]) -> dict[str, str]:
    """The environment with no first month set: the partitions find their own start."""
    return {
        k: v
        for k, v in environ.items()
        if k not in ("GRADING_FIRST_MONTH", "GRADING_PARTITIONS_START", "DAGSTER_HOME")
    }


def cli_command(*args: str) -> list[str]:
    """``grading <args>`` as a subprocess command of this interpreter."""
    return [sys.executable, "-m", "assets.cli", *args]


def environment_with(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment with no GRADING_* variable but ``settings``, and this
    checkout first on PYTHONPATH: for a fresh process (``run_cli_with``) that reads its
    settings as its modules load."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADING_")}
    return env | {"PYTHONPATH": str(CONFORMANCE.parent.parent), **settings}


def run_cli_with(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``grading <args>`` in a fresh process with the environment ``env`` (a setting a
    module reads as it loads cannot be changed in this one)."""
    return subprocess.run(
        cli_command(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def run_killed_at(point: str, month: str, command: list[str]) -> subprocess.CompletedProcess:
    """Run ``command`` with the crash point ``point`` armed for ``month`` and check that the
    process died of SIGKILL there (pipelines/faults.py), as a power cut or an OOM kill would."""
    crashed = subprocess.run(
        command,
        env={**os.environ, "GRADING_CRASH_AT": f"{point}@{month}"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    return crashed


def published_months(warehouse: Path) -> list[str]:
    """The months main.merchant_grades holds, oldest first."""
    con = connect(warehouse, read_only=True)
    try:
        sql = "SELECT DISTINCT month FROM main.merchant_grades ORDER BY 1"
        return [month for (month,) in fetch_rows(con, sql)]
    finally:
        con.close()


def private_copy(published: Path, into: Path) -> tuple[Path, Path, Path]:
    """A test's own copy of a graded folder (see the ``published_conformance`` fixture):
    its landing folder, warehouse and outputs."""
    shutil.copytree(published, into, dirs_exist_ok=True)
    return into / "landing", into / "w.duckdb", into / "out"


# Debian's chromium, driven headless by Playwright (never `playwright install`).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@contextmanager
def headless_chromium(*extra_args: str) -> Iterator[object]:
    """A launched headless chromium, closed at the end; the test is skipped where chromium
    or Playwright is missing (`.ci/run` installs chromium with apt-get)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium) for the browser tests")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
    )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def mounted_tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``mount_point`` (made here) while the block
    runs, then unmounted, lazily should a file still be open there: a full or read-only
    disk, as a test needs one. Skips the test where no tmpfs can be mounted. An unmount
    that fails after the block is an error, but never hides the block's own."""
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    unmount = ["umount", "-l", str(mount_point)]
    try:
        yield mount_point
    except BaseException:
        subprocess.run(unmount, check=False)
        raise
    subprocess.run(unmount, check=True)
