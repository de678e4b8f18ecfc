"""Temporary folders that a killed process does not leave behind for good.

A preview grades a copy of the whole warehouse in a temporary folder; a normal exit, or
an error, deletes it, but SIGKILL (or a machine that loses power) does not, and each
such folder is as large as the warehouse. So each folder's name carries the id of the
process that made it (``<prefix><pid>-<random>``), and making a new one first deletes
those of the same prefix whose process is gone.

A folder is deleted only when it is this user's and its process does not exist. A
process id that was reused keeps its folder until that process ends too, which errs on
the side of keeping. (Processes in another PID namespace sharing the same temporary
folder are not seen, so such set-ups should give each its own ``TMPDIR``.)
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from pipelines.warehouse import WarehousePathError, unusable_path_reason


def make_scratch_folder(prefix: str) -> Path:
    """A new private temporary folder named for this process, after deleting those that
    processes now gone left under the same ``prefix``. It holds a copy of the warehouse,
    so a temporary folder DuckDB cannot keep a database in is refused, naming TMPDIR."""
    root = tempfile.gettempdir()
    reason = unusable_path_reason(Path(root, f"{prefix}0-x", "warehouse.duckdb"))
    if reason:
        raise WarehousePathError(
            f"the temporary folder {root} cannot hold a copy of the warehouse: {reason}; "
            "set TMPDIR to another folder"
        )
    remove_orphans(prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def remove_orphans(prefix: str, root: Path | None = None) -> list[Path]:
    """Delete this user's ``<prefix><pid>-*`` folders under ``root`` (the temporary
    folder) whose process no longer exists; return them."""
    root = Path(tempfile.gettempdir()) if root is None else root
    owned = re.compile(re.escape(prefix) + r"(\d+)-[^-]*$")
    removed = []
    for folder in root.glob(f"{prefix}*-*"):
        match = owned.match(folder.name)
        if not match or not folder.is_dir() or folder.is_symlink():
            continue
        try:
            if folder.stat().st_uid != os.getuid():
                continue
        except OSError:  # gone meanwhile
            continue
        if not _process_exists(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return True  # not a process id this module wrote: keep the folder
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    except OverflowError:
        return False
    return True
