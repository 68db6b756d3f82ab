"""Predicted purchases per buyer: BG/NBD P(alive) and expected purchases, Gamma-Gamma expected spend.

dbt Python model, on DuckDB and on Spark (customer_segments.warehouse.spark_python
runs it in dbt's SparkSession; the frames are read and returned by
customer_segments.warehouse.frames, so both engines fit the same function). The likelihoods and the fit live in
customer_segments.scoring.bgnbd, tested against the published CDNOW estimates.
Horizon and minimum number of buyers: vars predictions_horizon_days,
predictions_min_customers.
"""

from customer_segments.scoring.bgnbd import predict
from customer_segments.warehouse.frames import to_pandas, to_table

#: The table's Spark types (on DuckDB they follow from the frame).
SPARK_SCHEMA = "person_id string, p_alive double, expected_purchases double, expected_spend double, fit_status string"


def model(dbt, session):
    dbt.config(materialized="table")
    history = to_pandas(dbt.ref("person_purchase_history"))
    predictions = predict(
        history,
        horizon_days=float(dbt.config.get("horizon_days")),
        min_customers=int(dbt.config.get("min_customers")),
    )
    return to_table(session, predictions, SPARK_SCHEMA)
