"""An exception and the ones behind it, in the order a traceback shows them."""

from __future__ import annotations

from collections.abc import Iterator


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then the exception it was raised from, or during the handling of, and so
    on (a full disk's OSError or SQLite's error often comes wrapped in DuckDB's or
    SQLAlchemy's). Each exception once, should the chain loop."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        if error.__cause__ is not None or error.__suppress_context__:
            error = error.__cause__
        else:
            error = error.__context__
