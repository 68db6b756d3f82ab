"""Functions that use secrets without writing them into SQL, artifacts or logs.

The erasure salt (README "Privacy") is read from the environment when a hash
is computed, inside DuckDB: it never passes through dbt's Jinja, so it is not
in compiled SQL, `manifest.json`, `run_results.json`, the partial-parse file
or `logs/dbt.log`, and any character (quotes, backslashes, `--`) is fine.
"""

from __future__ import annotations

import hashlib
import os

#: The environment variable holding the erasure salt; set it in production and keep it constant.
SALT_VARIABLE = "SEGMENTS_ERASURE_SALT"
#: The salt when the variable is unset (demo builds, tests).
DEFAULT_SALT = "customer-segments-erasure-v1"


def erasure_salt() -> str:
    """The salt erasure hashes use now (the environment's, else the default)."""
    return os.environ.get(SALT_VARIABLE, DEFAULT_SALT)


def erasure_hash(identifier_type: str | None, normalized_value: str | None) -> str | None:
    """sha256 hex of `salt|identifier_type|normalized_value`, as erasure_log holds it (None when either is null)."""
    if identifier_type is None or normalized_value is None:
        return None
    text = f"{erasure_salt()}|{identifier_type}|{normalized_value}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def register(connection) -> None:
    """Register this module's functions on a DuckDB connection: `erasure_hash(varchar, varchar) -> varchar`."""
    from duckdb.sqltypes import VARCHAR

    connection.create_function(
        "erasure_hash",
        erasure_hash,
        [VARCHAR, VARCHAR],
        VARCHAR,
        side_effects=False,
    )
