"""Adversarial review of the run lifecycle (trust issue items 2, 5, 7, 8, 9, 11, 12).

Each test is a case a reviewer found broken: a run on data not in the repository that
left a trace, stopped with a traceback instead of a message, or disagreed with a fresh
run on the final landing folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.cli import main as cli_main
from pipelines.runner import grade_months
from tests.conftest import CONFORMANCE, published_state
from tests.test_failed_month import warehouse_state


@pytest.fixture(scope="module")
def january_published(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lifecycle")
    shutil.copytree(CONFORMANCE / "landing", root / "landing")
    grade_months(root / "landing", root / "w.duckdb", root / "out", "2026-01")
    return root


@pytest.fixture
def january(january_published: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of January published: landing, warehouse, outputs."""
    shutil.copytree(january_published, tmp_path, dirs_exist_ok=True)
    return tmp_path / "landing", tmp_path / "w.duckdb", tmp_path / "out"


def run_cli(landing: Path, warehouse: Path, outputs: Path, through: str) -> int:
    return cli_main(
        [
            "run",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--outputs",
            str(outputs),
            "--through",
            through,
        ]
    )


def write_readme(folder: Path) -> None:
    (folder / "readme.txt").write_text("notes\n")


def link_to_nothing(folder: Path) -> None:
    (folder / "part-c.csv").symlink_to(folder / "not-there.csv")


@pytest.mark.parametrize(
    ("drop_in", "named"),
    [
        (write_readme, "orders/month=2026-01/readme.txt: unsupported file type '.txt'"),
        (link_to_nothing, "orders/month=2026-01/part-c.csv"),
    ],
)
def test_a_refused_file_in_a_published_month_is_named_not_a_traceback(
    january, capsys, drop_in, named
):
    """A README, or a link to a file not there, dropped into a published month's folder:
    the rerun's skip decision used to raise IngestError / FileNotFoundError out of
    `grading run` (a traceback); now the month is regraded, its ingest names the file and
    the month stays as it was."""
    landing, warehouse, outputs = january
    before, exports = warehouse_state(warehouse), published_state(warehouse, outputs)
    drop_in(landing / "orders" / "month=2026-01")

    assert run_cli(landing, warehouse, outputs, "2026-01") == 1

    error = capsys.readouterr().err
    assert "month 2026-01 was not published" in error
    assert named in error
    assert warehouse_state(warehouse) == before
    assert published_state(warehouse, outputs) == exports
