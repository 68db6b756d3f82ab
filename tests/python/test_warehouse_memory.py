"""DuckDB's memory limit: the environment variable when set, else one sixth of the memory this process may use."""

from __future__ import annotations

import duckdb
import pytest

from customer_segments.warehouse import memory

GIB = 2**30


def test_the_default_is_a_sixth_of_the_memory_with_a_floor():
    assert memory.default_limit(24 * GIB) == "4096MiB"  # 24 GiB / 6
    assert memory.default_limit(96 * GIB) == "16384MiB"
    assert memory.default_limit(1 * GIB) == "512MiB"  # a tiny container still gets a usable limit


def test_a_lower_cgroup_limit_wins_over_the_machine(tmp_path):
    limit_file = tmp_path / "memory.max"
    limit_file.write_text(str(3 * GIB) + "\n")
    assert memory.available_bytes((limit_file,)) == 3 * GIB
    limit_file.write_text("max\n")  # cgroup v2 without a limit
    assert memory.available_bytes((limit_file,)) > 3 * GIB
    assert memory.available_bytes((tmp_path / "missing",)) > 0


def test_the_environment_variable_wins(tmp_path):
    assert memory.memory_limit({"SEGMENTS_DUCKDB_MEMORY_LIMIT": " 8GB "}) == "8GB"
    derived = memory.memory_limit({}, (tmp_path / "missing",))
    assert derived == memory.default_limit(memory.available_bytes((tmp_path / "missing",)))


def test_a_connection_gets_the_limit(monkeypatch):
    monkeypatch.setenv("SEGMENTS_DUCKDB_MEMORY_LIMIT", "1234MiB")
    connection = duckdb.connect()
    memory.register(connection)
    set_to = connection.sql("select current_setting('memory_limit')").fetchall()[0][0]
    assert set_to == "1.2 GiB", set_to  # DuckDB shows 1234 MiB so


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("SEGMENTS_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(RuntimeError, match="SEGMENTS_DUCKDB_MEMORY_LIMIT='lots' is not a DuckDB memory size"):
        memory.register(duckdb.connect())
