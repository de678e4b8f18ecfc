"""docs/settings.md against the code: every GRADING_* variable the code reads has its row,
every row names a variable the code reads, and the tuning defaults it states are the
code's (read in a fresh process with no GRADING_* variable set)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import environment_with

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "settings.md"
# A variable's name, not the "GRADING_*" the docstrings use for all of them.
VARIABLE = re.compile(r"\bGRADING_[A-Z][A-Z0-9_]*[A-Z0-9]\b")
ROW = re.compile(r"^\| `(GRADING_[A-Z0-9_]+)` \| ([^|]+) \|", re.MULTILINE)

# Each tuning variable's default as the code holds it, printed by a fresh process.
DEFAULTS_SCRIPT = """
import json
from assets import run_limits
from pipelines import grading, warehouse
from pipelines.ingest import classify
from pipelines.spark_engine import session
print(json.dumps({
    "GRADING_DUCKDB_MEMORY_LIMIT": warehouse.MEMORY_LIMIT,
    "GRADING_LOCK_TIMEOUT": warehouse.LOCK_TIMEOUT_SECONDS,
    "GRADING_FEEDBACK_ROWS_PER_PASS": grading.FEEDBACK_ROWS_PER_PASS,
    "GRADING_ORDER_LOOKUP_ROWS": classify.ORDER_LOOKUP_ROWS,
    "GRADING_SPARK_SHUFFLE_PARTITIONS": int(session.DEFAULT_SHUFFLE_PARTITIONS),
    "GRADING_SPARK_REACH_TIMEOUT": session.REACH_TIMEOUT_SECONDS,
    "GRADING_SPARK_EXECUTOR_WAIT": session.EXECUTOR_WAIT_SECONDS,
    "GRADING_SPARK_EXECUTOR_MEMORY": session.EXECUTOR_MEMORY,
    "GRADING_RUN_MAX_SECONDS": run_limits.DEFAULT_RUN_MAX_SECONDS,
}))
"""


def _read_by_code() -> set[str]:
    names: set[str] = set()
    for folder in ("pipelines", "assets"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return names


def _documented() -> dict[str, str]:
    return {name: cell.strip() for name, cell in ROW.findall(DOC.read_text(encoding="utf-8"))}


def test_every_variable_the_code_reads_is_documented_and_no_other():
    read = _read_by_code()
    documented = set(_documented())
    assert read - documented == set(), "read by the code, missing from docs/settings.md"
    assert documented - read == set(), "in docs/settings.md, read by no code"


def _number(cell: str) -> str:
    """The cell's value as written first: ``8,000,000`` -> ``8000000``, ```4GB``` -> ``4GB``."""
    return cell.split()[0].strip("`").replace(",", "")


def test_the_tuning_defaults_documented_are_the_codes():
    env = environment_with({})
    printed = subprocess.run(
        [sys.executable, "-c", DEFAULTS_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    defaults = json.loads(printed.stdout.strip().splitlines()[-1])
    documented = _documented()
    for name, value in defaults.items():
        written = _number(documented[name])
        expected = f"{value:g}" if isinstance(value, float) else str(value)
        assert written == expected, f"{name}: docs/settings.md says {written}, the code {value}"
