"""The dbt-duckdb plugin (profiles.yml `plugins`): registers the project's functions on each connection.

Each module below owns its functions and registers them with `register(connection)`:
- `raw_files`: readers of raw input files that never fail on a bad byte, line or file;
- `secrets`: functions that use secrets (the erasure salt) without putting them in SQL;
- `memory`: DuckDB's memory limit (`SEGMENTS_DUCKDB_MEMORY_LIMIT`, or a share of the machine's memory).

Great Expectations is imported by the data-quality gate when it runs, not here. Importing it on a background
thread as soon as a build opened the warehouse took 3-5 s off the gate on the 10M-event benchmark's
incremental build, but the build process then held about 0.5 GiB more from its first minute to its end: the
full 10M build peaked at 5.56-5.82 GiB instead of 5.00 GiB (docs/benchmarks.md, 2026-12-07), against a
6 GB target.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from customer_segments.warehouse import memory, raw_files, secrets


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:  # noqa: D102 - dbt-duckdb's hook
        memory.register(conn)
        raw_files.register(conn)
        secrets.register(conn)
