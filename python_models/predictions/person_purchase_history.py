"""Per-person purchase history for the predicted-purchases model (BG/NBD inputs).

Runs on DuckDB (dbt-duckdb Python models). The logic lives in
customer_segments.scoring.purchase_history, which is unit-tested.
"""

import pandas as pd

from customer_segments.scoring.purchase_history import summarize


def model(dbt, session):
    dbt.config(materialized="table")
    orders = dbt.ref("int_orders_attributed").df()
    build = dbt.ref("int_build_context").df()
    completed = orders.loc[(orders["status"] == "completed") & orders["person_id"].notna()]
    return summarize(completed, pd.Timestamp(build["as_of"].iloc[0]))
