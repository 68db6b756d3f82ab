"""Per-person purchase history for the predicted-purchases model (BG/NBD inputs).

Runs on DuckDB and on Spark (customer_segments.warehouse.spark_python; the frames are
read and returned by customer_segments.warehouse.frames). The logic lives in
customer_segments.scoring.purchase_history, which is unit-tested. People who
refused analytics consent are left out: they are not profiled, and the
purchase model does not learn from them.
"""

import pandas as pd

from customer_segments.scoring.purchase_history import summarize
from customer_segments.warehouse.frames import to_pandas, to_table

#: The table's Spark types (on DuckDB they follow from the frame).
SPARK_SCHEMA = (
    "person_id string, frequency bigint, recency_days double, t_days double, monetary_value double, "
    "first_purchase_at timestamp, last_purchase_at timestamp"
)


def model(dbt, session):
    dbt.config(materialized="table")
    orders = to_pandas(dbt.ref("int_orders_attributed"))
    build = to_pandas(dbt.ref("int_build_context"))
    people = to_pandas(dbt.ref("people"), columns=["person_id"], where="consent_analytics = false")
    refused = set(people["person_id"])
    completed = orders.loc[
        (orders["status"] == "completed") & orders["person_id"].notna() & ~orders["person_id"].isin(refused)
    ]
    return to_table(session, summarize(completed, pd.Timestamp(build["as_of"].iloc[0])), SPARK_SCHEMA)
