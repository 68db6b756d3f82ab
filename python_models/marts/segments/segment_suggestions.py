"""Suggested segments: people clustered on their score features, for a person to review.

dbt Python model, on DuckDB and on Spark (customer_segments.warehouse.spark_python;
the frames are read and returned by customer_segments.warehouse.frames). Reads person_scores and the fit_score of each person's account, and
the person's signals (int_person_signals: channel mix, and whether the first
touch came from a campaign), and hands them to
customer_segments.segments.suggest, which is unit-tested. The
rows have status 'suggested' and never reach segment_members: a person
promotes one by pasting its suggested_rule into a new catalog model. People
who are not profiled (person_scores.not_profiled_reason: analytics refused)
are left out of the data the clusters learn from.
Knobs: vars segment_suggestions_k_min, _k_max, _min_people, _seed.
"""

from customer_segments.segments.suggest import ACCOUNT_FEATURES, SCORE_FEATURES, suggest_segments
from customer_segments.warehouse.frames import left_join, select, to_pandas, to_table

#: The table's Spark types (on DuckDB they follow from the frame).
SPARK_SCHEMA = (
    "segment_id string, name string, entity_type string, status string, member_count bigint, share_of_people double, "
    "profile string, suggested_rule string, rule_coverage double, rule_precision double"
)


def model(dbt, session):
    dbt.config(materialized="table")
    # only the columns the suggestions use, joined by the engine (at 10M events, 268k people: reading every
    # column of person_scores and merging four frames in pandas took 2.6 s, most of the model)
    scores = select(dbt.ref("person_scores"), columns=["person_id", *SCORE_FEATURES], where="not_profiled_reason is null")
    people = select(dbt.ref("people"), columns=["person_id", "account_id"])
    accounts = select(dbt.ref("accounts"), columns=["account_id", *ACCOUNT_FEATURES])
    signals = select(
        dbt.ref("int_person_signals"),
        columns=[
            "person_id", "email_share", "product_share",
            "case when first_campaign_source is null then 0 else 1 end as from_campaign",
        ],
    )
    features = to_pandas(
        left_join(left_join(left_join(scores, people, "person_id"), accounts, "account_id"), signals, "person_id")
    )
    suggestions = suggest_segments(
        features,
        k_min=int(dbt.config.get("k_min")),
        k_max=int(dbt.config.get("k_max")),
        seed=int(dbt.config.get("seed")),
        min_people=int(dbt.config.get("min_people")),
    )
    return to_table(session, suggestions, SPARK_SCHEMA)
