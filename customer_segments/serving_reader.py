"""How a client that keeps its connection reads the serving file without going stale: the tested example.

A publish replaces the serving file by a rename. A connection opened before
keeps reading the build it opened, with no error; and within one process
DuckDB hands every new `duckdb.connect(path)` the database that is already
open for that path, so a pool of connections keeps serving the old build until
all of them are closed. Two ways out (docs/serving.md, "Reading it from a
long-running process"):

- open a connection per query (or per dashboard refresh) and close it: it
  sees the newest build; or
- keep one, and before a query compare the build id the file now holds
  (`_published.build_id`) with the one the connection was opened on;
  when it changed, close it and connect again. That is `ServingReader`.

The check must not go through the connection being checked (it answers from
the old file) nor through `duckdb.connect(path)` (the shared database): it
attaches the file read-only to a private in-memory database, which opens the
file that is at the path now.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

MANIFEST_TABLE = "_published"


def published_build_id(serving: Path) -> str | None:
    """The build id the serving file at `serving` holds now (None: no file, or not a published one)."""
    probe = duckdb.connect(":memory:")
    try:
        probe.execute(f"attach '{str(serving).replace(chr(39), chr(39) * 2)}' as probe (read_only)")
        row = probe.execute(f"select max(build_id) from probe.main.{MANIFEST_TABLE}").fetchone()
        return row[0] if row else None
    except duckdb.Error:
        return None
    finally:
        probe.close()


class ServingReader:
    """One read-only connection to the serving file that follows publishes.

    `query` first checks (at most every `check_every` seconds) which build the
    file holds; when a publish swapped in another, it closes the connection and
    opens a new one, so the query reads the new build.
    """

    def __init__(self, serving: Path, check_every: float = 0.0) -> None:
        self.serving = Path(serving)
        self.check_every = check_every
        self._connection: duckdb.DuckDBPyConnection | None = None
        self.build_id: str | None = None
        self._checked_at = float("-inf")
        self.reconnects = 0

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        now = time.monotonic()
        if self._connection is None:
            self._connect()
        elif now - self._checked_at >= self.check_every:
            self._checked_at = now
            current = published_build_id(self.serving)
            if current is not None and current != self.build_id:
                self.reconnect()
        return self._connection.execute(sql, parameters or []).fetchall()

    def reconnect(self) -> None:
        """Close the connection (every connection of this process to the file must go) and open a new one."""
        self.close()
        self._connect()
        self.reconnects += 1

    def _connect(self) -> None:
        self._connection = duckdb.connect(str(self.serving), read_only=True)
        row = self._connection.execute(f"select max(build_id) from main.{MANIFEST_TABLE}").fetchone()
        self.build_id = row[0] if row else None
        self._checked_at = time.monotonic()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> ServingReader:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
