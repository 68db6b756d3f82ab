"""Suggested segments: people clustered on their score features, for a person to review.

dbt Python model (DuckDB only; disabled on Spark, so there are no suggestions
there). Reads person_scores and the fit_score of each person's account, and
the person's signals (int_person_signals: channel mix, and whether the first
touch came from a campaign), and hands them to
customer_segments.segments.suggest, which is unit-tested. The
rows have status 'suggested' and never reach segment_members: a person
promotes one by pasting its suggested_rule into a new catalog model. People
who are not profiled (person_scores.not_profiled_reason: analytics refused)
are left out of the data the clusters learn from.
Knobs: vars segment_suggestions_k_min, _k_max, _min_people, _seed.
"""

from customer_segments.segments.suggest import suggest_segments


def model(dbt, session):
    dbt.config(materialized="table")
    scores = dbt.ref("person_scores").filter("not_profiled_reason is null").df()
    scores = scores.drop(columns=["not_profiled_reason"])
    people = dbt.ref("people").project("person_id, account_id").df()
    accounts = dbt.ref("accounts").project("account_id, fit_score").df()
    signals = dbt.ref("int_person_signals").project(
        "person_id, email_share, product_share, case when first_campaign_source is null then 0 else 1 end as from_campaign"
    ).df()
    features = (
        scores.merge(people, on="person_id", how="left")
        .merge(accounts, on="account_id", how="left")
        .merge(signals, on="person_id", how="left")
    )
    return suggest_segments(
        features,
        k_min=int(dbt.config.get("k_min")),
        k_max=int(dbt.config.get("k_max")),
        seed=int(dbt.config.get("seed")),
        min_people=int(dbt.config.get("min_people")),
    )
