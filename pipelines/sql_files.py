"""SQL lives in ``sql/`` next to the repository's code, one statement group per file.

An installed wheel carries it as ``pipelines/_sql``: see pipelines/package_data.py.
"""

from __future__ import annotations

import re
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


def fill_sql(name: str, **queries: str) -> str:
    """Text of ``sql/<name>`` with each ``__KEY__`` placeholder replaced by
    ``queries[KEY]``: a query standing for a table (one as published, say), which a
    parameter cannot. A placeholder given but not in the file, or one in the file left
    unfilled, is a bug: fail naming it."""
    sql = load_sql(name)
    for placeholder, query in queries.items():
        if f"__{placeholder}__" not in sql:
            raise ValueError(f"sql/{name} has no __{placeholder}__ to fill")
        sql = sql.replace(f"__{placeholder}__", query)
    left = re.search(r"__[A-Z_]+__", sql)
    if left:
        raise ValueError(f"sql/{name}: {left.group()} is not filled")
    return sql
