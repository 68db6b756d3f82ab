"""Who else holds the warehouse: checked before `segments build` starts dbt.

DuckDB lets one process write a database file. A second `segments build`, a
BI tool or a database client with the warehouse open makes dbt fail on its
first connection, with three Python tracebacks around the one line that
matters. `segments build` asks first, and says that line only:

- `build_lock(warehouse)` holds an advisory lock (flock) on a small file next
  to the warehouse for the whole command (dbt, summary, report, publish), so
  two `segments build` on one warehouse never interleave; the second one is
  refused at once, naming the first one's PID. The kernel drops the lock when
  the process ends, killed or not, so a stale lock cannot exist.
- `warehouse_holder(warehouse)` opens the warehouse for writing and closes it
  again; when another process holds it, DuckDB's message names that process.
"""

from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb


class WarehouseBusy(Exception):
    """Another process holds the warehouse; the message says who, in one line."""


def lock_path(warehouse: Path) -> Path:
    """The lock file of a warehouse: hidden, next to it (`.segments.duckdb.build-lock`)."""
    return warehouse.with_name(f".{warehouse.name}.build-lock")


@contextmanager
def build_lock(warehouse: Path) -> Iterator[None]:
    """Hold the build lock of `warehouse` while the block runs; WarehouseBusy when another build holds it."""
    path = lock_path(warehouse)
    handle = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise WarehouseBusy(
                f"another `segments build` (PID {holder}) is building {warehouse}; "
                "nothing was built: run this one when it has finished"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing drops the lock


def warehouse_holder(warehouse: Path) -> str | None:
    """None when this process can open the warehouse for writing, else who holds it (from DuckDB's message)."""
    if not warehouse.exists():
        return None
    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.IOException as problem:
        return describe_lock_conflict(str(problem)) or (str(problem).strip().splitlines() or ["another process"])[0]
    return None


_CONFLICT = re.compile(r"Conflicting lock is held in (?P<program>\S+) \(PID (?P<pid>\d+)\)")


def describe_lock_conflict(message: str) -> str | None:
    """`python3.11 (PID 6616)` from DuckDB's lock error, or None when the message is not a lock conflict."""
    found = _CONFLICT.search(message)
    if found is None:
        return "another process" if "Could not set lock on file" in message else None
    return f"{Path(found['program']).name} (PID {found['pid']})"


def busy_message(warehouse: Path, holder: str, serving: Path) -> str:
    """The one line `segments build` prints when the warehouse is held by another process."""
    return (
        f"the warehouse {warehouse} is open in another process, {holder} (a BI tool, a database client or "
        f"another dbt run?); nothing was built: close it and build again (BI tools can read the serving file {serving})"
    )
