"""Predicted purchases per buyer: BG/NBD P(alive) and expected purchases, Gamma-Gamma expected spend.

dbt Python model (DuckDB only; disabled on Spark, where person_scores leaves
these columns null). The likelihoods and the fit live in
customer_segments.scoring.bgnbd, tested against the published CDNOW estimates.
Horizon and minimum number of buyers: vars predictions_horizon_days,
predictions_min_customers.
"""

from customer_segments.scoring.bgnbd import predict


def model(dbt, session):
    dbt.config(materialized="table")
    history = dbt.ref("person_purchase_history").df()
    return predict(
        history,
        horizon_days=float(dbt.config.get("horizon_days")),
        min_customers=int(dbt.config.get("min_customers")),
    )
