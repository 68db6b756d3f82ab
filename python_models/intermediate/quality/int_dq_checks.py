"""The data-quality suite (Great Expectations) over the staged data: one row per expectation.

Runs on DuckDB and on Spark (there through customer_segments.warehouse.spark_python, which runs
dbt Python models in dbt's own SparkSession): the refs are read into pandas on either engine
(customer_segments.warehouse.frames) and validated by the same suite.

Runs after staging and before identity, scoring and segments (int_dq_gate stops
them when a check with severity fail does not pass). The suite lives in
customer_segments.quality.suite; thresholds and severities are dbt vars,
handed over as this model's config (python_models/intermediate/quality/_int_quality__python_models.yml).
The build id and time, and the folder of the data docs, come from int_build_started, read when the model runs:
config is rendered when dbt parses, and dbt reuses a parse between runs, so a
per-run value there would stamp every later build with an old build's id.
"""

import ast
from pathlib import Path

from customer_segments.quality.suite import run
from customer_segments.warehouse.frames import to_pandas, to_table

#: The table's Spark types (on DuckDB they follow from the frame).
SPARK_SCHEMA = (
    "build_id string, checked_at timestamp, expectation string, severity string, success boolean, "
    "observed_value string, threshold string, details string"
)


def _mapping(value):
    """Project config arrives rendered as text ("{'a': 'warn'}") or as a mapping."""
    return ast.literal_eval(value) if isinstance(value, str) else dict(value or {})


def model(dbt, session):
    dbt.config(materialized="table", tags=["python", "quality"])
    thresholds = {name: float(value) for name, value in _mapping(dbt.config.get("dq_thresholds")).items()}
    severity = _mapping(dbt.config.get("dq_severity"))
    metrics = to_pandas(dbt.ref("int_dq_metrics"))
    tables = {
        "event_types": to_pandas(
            dbt.ref("int_events_deduplicated"),
            columns=["message_type", "canonical_event", "count(*) as events"],
            group_by=["message_type", "canonical_event"],
        ),
        "orders": to_pandas(dbt.ref("int_orders_deduplicated")),  # every column: the suite checks they are there
        # the other tables: only the columns their expectations read (customer_segments.quality.suite)
        "crm_contacts": to_pandas(dbt.ref("int_crm_contacts_deduplicated"), columns=["contact_id", "email_status", "email"]),
        "accounts": to_pandas(dbt.ref("int_crm_accounts_deduplicated"), columns=["account_id", "employee_count"]),
        "email_event_types": to_pandas(
            dbt.ref("int_email_events_deduplicated"),
            columns=["event_type", "count(*) as email_events"],
            group_by=["event_type"],
        ),
        "consent": to_pandas(dbt.ref("int_consent_latest"), columns=["purpose", "subject_type", "recorded_at"]),
    }
    started = to_pandas(dbt.ref("int_build_started"))
    docs_dir = started["data_docs_dir"].iloc[0]
    results = run(metrics, tables, thresholds, severity, Path(docs_dir).resolve() if docs_dir else None)
    results.insert(0, "build_id", started["build_id"].iloc[0])
    results.insert(1, "checked_at", started["built_at"].iloc[0])
    return to_table(session, results, SPARK_SCHEMA)
