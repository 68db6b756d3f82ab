"""The dbt-duckdb plugin (profiles.yml `plugins`): registers the project's functions on each connection.

Each module below owns its functions and registers them with `register(connection)`:
- `raw_files`: readers of raw input files that never fail on a bad byte, line or file;
- `secrets`: functions that use secrets (the erasure salt) without putting them in SQL;
- `memory`: DuckDB's memory limit (`SEGMENTS_DUCKDB_MEMORY_LIMIT`, or a share of the machine's memory).
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from customer_segments.warehouse import memory, raw_files, secrets


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:  # noqa: D102 - dbt-duckdb's hook
        memory.register(conn)
        raw_files.register(conn)
        secrets.register(conn)
