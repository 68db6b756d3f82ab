"""The data-quality suite (Great Expectations) over the staged data: one row per expectation.

Runs after staging and before identity, scoring and segments (int_dq_gate stops
them when a check with severity fail does not pass). The suite lives in
customer_segments.quality.suite; thresholds and severities are dbt vars,
handed over as this model's config (python_models/intermediate/quality/_int_quality__python_models.yml).
The build id and time come from int_build_started, read when the model runs:
config is rendered when dbt parses, and dbt reuses a parse between runs, so a
per-run value there would stamp every later build with an old build's id.
"""

import ast
from pathlib import Path

from customer_segments.quality.suite import run


def _mapping(value):
    """Project config arrives rendered as text ("{'a': 'warn'}") or as a mapping."""
    return ast.literal_eval(value) if isinstance(value, str) else dict(value or {})


def model(dbt, session):
    dbt.config(materialized="table", tags=["python", "quality"])
    thresholds = {name: float(value) for name, value in _mapping(dbt.config.get("dq_thresholds")).items()}
    severity = _mapping(dbt.config.get("dq_severity"))
    docs_dir = dbt.config.get("dq_data_docs_dir")
    metrics = dbt.ref("int_dq_metrics").df()
    tables = {
        "event_types": dbt.ref("int_events_deduplicated")
        .aggregate("message_type, canonical_event, count(*) as events", "message_type, canonical_event")
        .df(),
        "orders": dbt.ref("int_orders_deduplicated").df(),
        "crm_contacts": dbt.ref("int_crm_contacts_deduplicated").df(),
        "accounts": dbt.ref("int_crm_accounts_deduplicated").df(),
        "email_event_types": dbt.ref("int_email_events_deduplicated")
        .aggregate("event_type, count(*) as email_events", "event_type")
        .df(),
        "consent": dbt.ref("int_consent_latest").df(),
    }
    results = run(metrics, tables, thresholds, severity, Path(docs_dir).resolve() if docs_dir else None)
    started = dbt.ref("int_build_started").df()
    results.insert(0, "build_id", started["build_id"].iloc[0])
    results.insert(1, "checked_at", started["built_at"].iloc[0])
    return results
