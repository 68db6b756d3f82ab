"""Scoring logic that runs in Python (dbt Python models call into it)."""
