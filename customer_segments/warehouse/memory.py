"""DuckDB's memory limit for the project's connections: the environment's choice, or a share of this machine.

DuckDB's own default is 80% of the machine's memory, which lets one build crowd out everything else on a
shared machine; a fixed cap (the project used 4GB) wastes a large machine and starves a small one. Unless
`SEGMENTS_DUCKDB_MEMORY_LIMIT` says otherwise, a connection may use one sixth of the memory this process
may use (the machine's, or its container's cgroup limit when lower): 3.9 GiB on a 24 GiB machine, where a
10M-event build then peaks under 6 GB (docs/benchmarks.md); beyond it DuckDB spills to disk.
"""

from __future__ import annotations

import os
from pathlib import Path

ENVIRONMENT_VARIABLE = "SEGMENTS_DUCKDB_MEMORY_LIMIT"
SHARE = 6  # one sixth of the memory available
FLOOR_MIB = 512
CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def available_bytes(cgroup_limits: tuple[Path, ...] = CGROUP_LIMITS) -> int:
    """The memory this process may use: the machine's, or its cgroup's limit when that is lower."""
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in cgroup_limits:
        try:
            text = limit_file.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < machine:
            return int(text)
    return machine


def default_limit(available: int) -> str:
    """One sixth of `available` bytes, in MiB, never below 512 MiB (a DuckDB setting value)."""
    return f"{max(FLOOR_MIB, available // SHARE // 2**20)}MiB"


def memory_limit(environment: dict[str, str] | None = None, cgroup_limits: tuple[Path, ...] = CGROUP_LIMITS) -> str:
    """The environment variable's value when set (any DuckDB size, e.g. `8GB`), else the derived default."""
    chosen = (os.environ if environment is None else environment).get(ENVIRONMENT_VARIABLE, "").strip()
    return chosen or default_limit(available_bytes(cgroup_limits))


def register(connection) -> None:
    """Set the limit on a new connection (a `settings: memory_limit` in the profile still wins: dbt-duckdb
    applies profile settings to every cursor afterwards)."""
    import duckdb

    limit = memory_limit()
    try:
        connection.execute(f"set memory_limit = '{limit.replace(chr(39), chr(39) * 2)}'")
    except duckdb.Error as error:
        raise RuntimeError(
            f"{ENVIRONMENT_VARIABLE}={limit!r} is not a DuckDB memory size (e.g. 8GB, 512MiB): {error}"
        ) from None
