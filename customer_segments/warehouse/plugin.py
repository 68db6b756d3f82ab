"""The dbt-duckdb plugin (profiles.yml `plugins`): registers the project's functions on each connection.

Each module below owns its functions and registers them with `register(connection)`:
- `raw_files`: readers of raw input files that never fail on a bad byte, line or file;
- `secrets`: functions that use secrets (the erasure salt) without putting them in SQL;
- `memory`: DuckDB's memory limit (`SEGMENTS_DUCKDB_MEMORY_LIMIT`, or a share of the machine's memory).

The plugin is also where `dbt build` and `dbt run` first open the warehouse, so it starts importing the
data-quality gate's libraries there, in the background (`_start_loading_quality_suite`).
"""

from __future__ import annotations

import threading

from dbt.adapters.duckdb.plugins import BasePlugin

from customer_segments.warehouse import memory, raw_files, secrets

#: the dbt commands that build the data-quality gate (int_dq_checks)
BUILDING_COMMANDS = ("build", "run")

_loading_quality_suite: threading.Thread | None = None


def _dbt_command() -> str | None:
    """The running dbt command (`build`, `run`, `test`, ...), or None when dbt's flags are not set."""
    try:
        from dbt.flags import get_flags

        return getattr(get_flags(), "WHICH", None)
    except Exception:  # noqa: BLE001 - only decides whether to start early: no flags, no head start
        return None


def _load_quality_suite() -> None:
    """A failure is left to the gate: its own import raises it again, as the model's error, without a second
    traceback from this thread."""
    try:
        from customer_segments.quality import suite

        suite.load_great_expectations()
    except BaseException:  # noqa: BLE001, S110 - see above
        pass


def _start_loading_quality_suite() -> None:
    """Import the gate's suite and Great Expectations on a daemon thread, once per process.

    The import costs 3-6 s of one core. The gate needs it after staging, and everything after the gate
    waits for the gate, so a build that imported it there paid those seconds on its critical path. Started
    here, it overlaps staging, whose SQL runs in DuckDB's own threads; the gate's own import then finds the
    modules loaded, or waits for them (Python's import lock), with the same result either way.
    """
    global _loading_quality_suite
    if _loading_quality_suite is None:
        _loading_quality_suite = threading.Thread(target=_load_quality_suite, name="load-quality-suite", daemon=True)
        _loading_quality_suite.start()


class Plugin(BasePlugin):
    def initialize(self, plugin_config) -> None:  # noqa: D102 - dbt-duckdb's hook: once per process and profile
        if _dbt_command() in BUILDING_COMMANDS:
            _start_loading_quality_suite()

    def configure_connection(self, conn) -> None:  # noqa: D102 - dbt-duckdb's hook
        memory.register(conn)
        raw_files.register(conn)
        secrets.register(conn)
