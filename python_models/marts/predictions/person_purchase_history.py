"""Per-person purchase history for the predicted-purchases model (BG/NBD inputs).

Runs on DuckDB (dbt-duckdb Python models). The logic lives in
customer_segments.scoring.purchase_history, which is unit-tested. People who
refused analytics consent are left out: they are not profiled, and the
purchase model does not learn from them.
"""

import pandas as pd

from customer_segments.scoring.purchase_history import summarize


def model(dbt, session):
    dbt.config(materialized="table")
    orders = dbt.ref("int_orders_attributed").df()
    build = dbt.ref("int_build_context").df()
    people = dbt.ref("people").filter("consent_analytics = false").project("person_id").df()
    refused = set(people["person_id"])
    completed = orders.loc[
        (orders["status"] == "completed") & orders["person_id"].notna() & ~orders["person_id"].isin(refused)
    ]
    return summarize(completed, pd.Timestamp(build["as_of"].iloc[0]))
