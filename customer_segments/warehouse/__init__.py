"""Python functions the dbt project calls inside DuckDB.

dbt-duckdb loads `customer_segments.warehouse.plugin` (profiles.yml, `plugins`)
and calls its `configure_connection` on every connection it opens, so each
model, hook and dbt Python model can call these functions by name.
"""
