"""Shared fixtures: a fresh warehouse connection and an empty landing folder.

Helpers that tests import (CSV writers, row builders, column lists) live in tests/helpers.py.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from pipelines.warehouse import connect

warnings.filterwarnings("ignore", module="dagster")
# The tests' code location starts its partitions at the shipped calendar's first month,
# whatever the checkout's data/ folder holds (by default they start at its first month).
os.environ.setdefault("GRADING_FIRST_MONTH", "2024-01")


@pytest.fixture
def con(tmp_path: Path):
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path
