"""What a DuckDB ``grading run`` loads before its first step, on its main thread.

The CLI, the runner and the definitions are loaded by every run (and by ``dagster dev``);
pandas, pyarrow and plotly (~1 s of import together) belong to the data checks and the
dashboard, which load them when they run (a run imports them with GE on a background
thread, assets.runner); Spark's modules only with ``--engine spark``.
"""

from __future__ import annotations

from tests.helpers import run_python

HEAVY = ("pandas", "pyarrow", "plotly", "sqlglot", "pyspark", "great_expectations")

PROBE = f"""
import sys
from assets.cli import main
try:
    main(["run", "--help"])
except SystemExit:
    pass
import assets.runner, assets.definitions
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_a_duckdb_run_loads_no_checks_dashboard_or_spark_modules_before_its_steps():
    result = run_python(PROBE)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "[]", result.stderr[-2000:]
