"""The ``grading`` command line: argument handling and the messages it refuses with.

Tests here exercise only what the CLI checks about its own arguments; runs that grade
months through the CLI live with the behaviour they test (test_dagster.py and others).
"""

from __future__ import annotations

import pytest

from assets.cli import main as cli_main
from tests.helpers import CONFORMANCE


@pytest.mark.parametrize(
    "args, message",
    [
        (["--through", "2026-13"], "not a month"),
        (["--through", "2025-06"], "before the landing folder's first month"),
    ],
)
def test_cli_refuses_bad_months(tmp_path, capsys, args, message):
    code = cli_main(
        [
            "run",
            "--landing",
            str(CONFORMANCE / "landing"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            *args,
        ]
    )
    assert code == 1
    assert message in capsys.readouterr().err
