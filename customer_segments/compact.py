"""Compact the warehouse: rewrite it into a fresh file, so deleted rows leave no bytes behind.

DuckDB does not overwrite the blocks of deleted rows at once: after an
erasure purge, the erased values can still be read from `segments.duckdb`
with a byte scan. `compact` copies every schema, table, view, macro and
sequence into a new file (ATTACH + COPY FROM DATABASE), flushes it and swaps
it in with `os.replace`, like the serving file (customer_segments/publish.py).
It needs the warehouse to itself, so it runs after dbt ends: `segments build`
does it when the build erased someone (erasure_log grew), and
`segments compact` does it for users who run `dbt build` themselves.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

# the file-swap helpers are publish's: the serving file is swapped in the same way
from customer_segments.publish import _fsync, _one_line, _remove, _sql_string, has_table
from customer_segments.warehouse import raw_files, secrets

_SUFFIX = ".compact.tmp"


class CompactError(Exception):
    """The warehouse was not compacted (it is unchanged); the message says why in one line."""


@dataclass
class Compaction:
    path: Path
    bytes_before: int
    bytes_after: int
    seconds: float

    def line(self) -> str:
        return (
            f"compacted {self.path} from {self.bytes_before / 2**20:,.1f} MiB to "
            f"{self.bytes_after / 2**20:,.1f} MiB in {self.seconds:.1f} s"
        )


def erasure_log_rows(warehouse: Path) -> int:
    """Rows of erasure_log (0 when there is no warehouse or log yet); it grows only when a purge commits."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return 0
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            if not has_table(connection, "erasure_log"):
                return 0
            return connection.execute("select count(*) from main.erasure_log").fetchone()[0]
    except duckdb.Error:
        return 0


def compact(warehouse: Path) -> Compaction:
    """Rewrite `warehouse` into a fresh file and swap it in; the old file (and its .wal) is gone after."""
    warehouse = Path(warehouse).resolve()
    if not warehouse.exists():
        raise CompactError(f"no warehouse at {warehouse}: run a build first")
    started = time.monotonic()
    before = _size(warehouse)
    temporary = warehouse.with_name(f".{warehouse.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{_SUFFIX}")
    try:
        # one connection holds the warehouse's lock throughout, so no build can write to it meanwhile
        connection = duckdb.connect(str(warehouse))
        try:
            # views may call the project's functions (dbt-duckdb plugin): DuckDB binds them when it creates them
            raw_files.register(connection)
            secrets.register(connection)
            connection.execute("checkpoint")  # fold the write-ahead log into the file
            source = connection.execute("select current_database()").fetchone()[0]
            connection.execute(f"attach {_sql_string(str(temporary))} as fresh_warehouse")
            connection.execute(f'copy from database "{source}" to fresh_warehouse')
            connection.execute("checkpoint fresh_warehouse")
            connection.execute("detach fresh_warehouse")
        finally:
            connection.close()
        if warehouse.with_name(warehouse.name + ".wal").exists():
            raise CompactError(f"{warehouse} still has a write-ahead log after closing; not compacted")
        _fsync(temporary)
        os.replace(temporary, warehouse)
        _remove(temporary)  # its .wal, if DuckDB left one
    except BaseException as problem:
        _remove(temporary)
        if isinstance(problem, duckdb.Error):
            raise CompactError(
                f"cannot compact {warehouse} ({_one_line(problem)}); if a build is running, retry when it ends"
            ) from None
        if isinstance(problem, OSError):
            raise CompactError(f"cannot compact {warehouse}: {problem.strerror or problem}") from None
        raise
    try:
        _fsync(warehouse.parent)
    except OSError:
        pass
    return Compaction(warehouse, before, _size(warehouse), time.monotonic() - started)


def _size(path: Path) -> int:
    wal = path.with_name(path.name + ".wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
