"""Readers of raw input files for DuckDB (filled in by the line-containment work)."""

from __future__ import annotations


def register(connection) -> None:
    """Register this module's functions on a DuckDB connection."""
