"""Files written whole or not at all: a reader sees the old file or the new one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_atomically(path: Path, content: str | bytes) -> Path:
    """Write a temporary file in the same folder, then rename it over ``path``; text is
    written as UTF-8.

    A write cut short (a full disk, a killed process) leaves the file that was there, and
    no temporary file. The file is created with the process's umask, as any file it
    writes: it was set to 0644 after ``mkstemp``'s 0600, which made the dashboard
    world-readable under umask 077 (a review, 2026-12-06)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
