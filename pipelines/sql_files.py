"""SQL lives in ``sql/`` next to the repository's code, one statement group per file.

An installed wheel carries it as ``pipelines/_sql``: see pipelines/package_data.py.
"""

from __future__ import annotations

from functools import cache

from pipelines.package_data import shipped_dir

SQL_DIR = shipped_dir("sql")


@cache
def load_sql(name: str) -> str:
    """Text of ``sql/<name>``; a missing file is a packaging bug, so fail loudly."""
    path = SQL_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {path} is missing")
    return path.read_text(encoding="utf-8")
