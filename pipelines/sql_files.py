"""SQL lives in ``sql/`` next to the repository's code, one statement group per file."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@cache
def load_sql(name: str) -> str:
    """Text of ``sql/<name>``; a missing file is a packaging bug, so fail loudly."""
    path = SQL_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {path} is missing")
    return path.read_text(encoding="utf-8")
