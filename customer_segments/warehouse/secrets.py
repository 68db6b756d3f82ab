"""Functions that use secrets without writing them into SQL, artifacts or logs (filled in by the erasure work)."""

from __future__ import annotations


def register(connection) -> None:
    """Register this module's functions on a DuckDB connection."""
