"""The data-quality suite run on staged data before any segment is rebuilt.

Two kinds of expectations, both run by Great Expectations 1.x:

- metric checks: `int_dq_metrics` computes rates and counts in the warehouse
  (duplicate rate, quarantine rate per input, identified share, bounce rate,
  staleness, volume change, freshness of firmographics and contacts, ...); each is validated against its threshold
  (dbt vars `dq_*`) with ExpectColumnValuesToBeBetween on a one-row frame;
- table checks: schema, keys and accepted values of the small staged tables
  (orders, CRM contacts, consent) and of the event-type summary.

Each check has a severity: `fail` stops the build at the gate, `warn` only
reports. `run()` returns one row per expectation (what dq_results stores)
and writes the Great Expectations data docs when asked.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

RESULT_COLUMNS = ["expectation", "severity", "success", "observed_value", "threshold", "details"]
MESSAGE_TYPES = ["track", "page", "screen", "identify", "alias", "group"]
ORDER_STATUSES = ["completed", "refunded", "cancelled"]
CONSENT_PURPOSES = ["analytics", "marketing", "personalization", "data_sharing"]
EMAIL_STATUSES = ["valid", "bounced", "unknown"]
EMAIL_EVENT_TYPES = ["delivered", "open", "click", "bounce", "unsubscribe", "spam"]
INPUTS = ["events", "orders", "crm_contacts", "accounts", "email_events", "consent", "erasure_requests", "ip_ranges",
          "technographics", "intent_signals"]


@dataclass(frozen=True)
class MetricCheck:
    """A metric of int_dq_metrics that must lie within [minimum, maximum]."""

    metric: str
    minimum: float | None
    maximum: float | None
    description: str

    @property
    def threshold(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"between {self.minimum:g} and {self.maximum:g}"
        return f">= {self.minimum:g}" if self.minimum is not None else f"<= {self.maximum:g}"


def metric_checks(thresholds: dict) -> list[MetricCheck]:
    """The metric checks for the given thresholds (the dbt vars dq_*)."""
    checks = [
        MetricCheck("events_usable_rows", 1, None, "usable events in this build (the volume the next build compares with)"),
        MetricCheck("events_identified_share_latest_day", thresholds["dq_min_identified_share"], None,
                    "raw event lines of the newest day carrying an anonymousId or userId"),
        MetricCheck("events_duplicate_rate", None, thresholds["dq_max_duplicate_rate"], "duplicate event lines / raw lines"),
        MetricCheck("events_identified_share", thresholds["dq_min_identified_share"], None, "raw event lines with an anonymousId or userId"),
        MetricCheck("events_unknown_name_share", None, thresholds["dq_max_unknown_event_share"], "usable events with a name the map does not know"),
        MetricCheck("events_out_of_window_share", None, thresholds["dq_max_out_of_window_share"], "usable events outside the window around as_of"),
        MetricCheck("events_duplicate_keys_after_dedup", None, 0, "messageIds left twice after deduplication"),
        MetricCheck("events_null_keys", None, 0, "usable events without messageId or timestamp"),
        MetricCheck("events_staleness_hours", None, thresholds["dq_max_staleness_hours"], "hours from the newest event to the build"),
        MetricCheck("events_volume_change", -thresholds["dq_max_volume_change"], thresholds["dq_max_volume_change"], "usable events vs the previous build, relative"),
        MetricCheck("crm_bounce_rate", None, thresholds["dq_max_bounce_rate"], "CRM contacts whose email bounced"),
        MetricCheck("accounts_stale_firmographics_share", None, thresholds["dq_max_stale_accounts_share"],
                    "priority accounts whose firmographics are older than dq_max_firmographics_age_days before as_of"),
        MetricCheck("crm_contacts_stale_share", None, thresholds["dq_max_stale_contacts_share"],
                    "CRM contacts not updated within dq_max_contact_age_days before as_of"),
    ]
    checks += [
        MetricCheck(f"{source}_quarantine_rate", None, thresholds["dq_max_quarantine_rate"], f"{source}: quarantined / raw rows")
        for source in INPUTS
    ]
    checks += [
        MetricCheck(f"{source}_spoiled_line_share", None, thresholds["dq_max_spoiled_line_share"],
                    f"{source}: lines swallowed by rows an unbalanced quote spoiled / physical lines")
        for source in INPUTS
    ]
    return checks


def load_great_expectations() -> None:
    """Import Great Expectations: no usage statistics, and only errors from its loggers (it sets their levels on
    import). Importing it takes seconds, paid by the gate (why not earlier: customer_segments/warehouse/plugin.py)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations  # noqa: F401

    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.ERROR)


def _context(docs_dir: Path | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name="customer_segments",
            site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            },
        )
    return context


def _validate(context, name: str, frame: pd.DataFrame, expectations: list) -> list:
    """Validate one frame against its expectations through a checkpoint (its results are kept for the data docs)."""
    import great_expectations as gx

    source = context.data_sources.add_pandas(f"{name}_source")
    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_suite", expectations=expectations))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=f"{name}_validation", data=batch, suite=suite))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=f"{name}_checkpoint", validation_definitions=[definition], actions=[],
                      result_format={"result_format": "SUMMARY"})
    )
    outcome = checkpoint.run(batch_parameters={"dataframe": frame})
    return [result for run in outcome.run_results.values() for result in run.results]


def _metric_expectations(metrics: pd.DataFrame, checks: list[MetricCheck], severity: dict) -> tuple[pd.DataFrame, list, dict]:
    import great_expectations as gx

    values = dict(zip(metrics["metric"], metrics["value"]))
    wide = pd.DataFrame({check.metric: [values.get(check.metric)] for check in checks}).astype("float64")
    expectations, by_column = [], {}
    for check in checks:
        expectations.append(
            gx.expectations.ExpectColumnValuesToBeBetween(
                column=check.metric, min_value=check.minimum, max_value=check.maximum,
                meta={"severity": severity.get(check.metric, "fail"), "description": check.description},
            )
        )
        by_column[check.metric] = check
    return wide, expectations, by_column


def _table_expectations(tables: dict[str, pd.DataFrame]) -> dict[str, list]:
    import great_expectations as gx

    e = gx.expectations
    plan = {
        "event_types": [
            e.ExpectColumnValuesToBeInSet(column="message_type", value_set=MESSAGE_TYPES),
            e.ExpectTableColumnsToMatchSet(column_set=["message_type", "canonical_event", "events"], exact_match=True),
        ],
        "orders": [
            e.ExpectTableColumnsToMatchSet(
                column_set=["order_id", "user_id", "email", "amount", "currency", "ordered_at", "status"], exact_match=False),
            e.ExpectColumnValuesToNotBeNull(column="order_id"),
            e.ExpectColumnValuesToBeUnique(column="order_id"),
            e.ExpectColumnValuesToBeInSet(column="status", value_set=ORDER_STATUSES),
            e.ExpectColumnValuesToBeBetween(column="amount", min_value=0),
            e.ExpectColumnValuesToNotBeNull(column="ordered_at"),
        ],
        "crm_contacts": [
            e.ExpectColumnValuesToNotBeNull(column="contact_id"),
            e.ExpectColumnValuesToBeUnique(column="contact_id"),
            e.ExpectColumnValuesToBeInSet(column="email_status", value_set=EMAIL_STATUSES),
            e.ExpectColumnValuesToMatchRegex(column="email", regex=r"^[^@\s]+@[^@\s]+$"),
        ],
        "accounts": [
            e.ExpectColumnValuesToNotBeNull(column="account_id"),
            e.ExpectColumnValuesToBeUnique(column="account_id"),
            e.ExpectColumnValuesToBeBetween(column="employee_count", min_value=0),
        ],
        "email_event_types": [
            e.ExpectColumnValuesToBeInSet(column="event_type", value_set=EMAIL_EVENT_TYPES),
        ],
        "consent": [
            e.ExpectColumnValuesToBeInSet(column="purpose", value_set=CONSENT_PURPOSES),
            e.ExpectColumnValuesToBeInSet(column="subject_type", value_set=["user_id", "anonymous_id", "email"]),
            e.ExpectColumnValuesToNotBeNull(column="recorded_at"),
        ],
    }
    for expectations in plan.values():
        for expectation in expectations:
            expectation.meta = {"severity": "fail"}
    return {name: plan[name] for name in plan if name in tables}


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    return str(value)


def run(
    metrics: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    thresholds: dict,
    severity: dict | None = None,
    docs_dir: Path | None = None,
) -> pd.DataFrame:
    """Validate metrics and tables; one row per expectation with RESULT_COLUMNS.

    A metric that is null (e.g. the volume change of a first build) passes,
    and says why in `details`.
    """
    load_great_expectations()
    severity = severity or {}
    context = _context(docs_dir)
    rows = []
    wide, expectations, by_column = _metric_expectations(metrics, metric_checks(thresholds), severity)
    for result in _validate(context, "metrics", wide, expectations):
        column = result.expectation_config.kwargs["column"]
        check = by_column[column]
        observed = wide[column].iloc[0]
        rows.append(
            {
                "expectation": check.metric,
                "severity": result.expectation_config.meta.get("severity", "fail"),
                "success": bool(result.success),
                "observed_value": _text(observed),
                "threshold": check.threshold,
                "details": check.description + ("; not measurable in this build" if pd.isna(observed) else ""),
            }
        )
    for name, expectations in _table_expectations(tables).items():
        for result in _validate(context, name, tables[name], expectations):
            config = result.expectation_config
            column = config.kwargs.get("column")
            summary = result.result or {}
            unexpected = summary.get("unexpected_count")
            observed = summary.get("observed_value")
            if observed is None and unexpected is not None:
                observed = f"{unexpected} unexpected of {summary.get('element_count')}"
                examples = summary.get("partial_unexpected_list") or []
                if examples:
                    observed += f", e.g. {examples[:3]}"
            rows.append(
                {
                    "expectation": f"{name}.{config.type}" + (f"({column})" if column else ""),
                    "severity": config.meta.get("severity", "fail"),
                    "success": bool(result.success),
                    "observed_value": _text(observed),
                    "threshold": ", ".join(f"{k}={v}" for k, v in sorted(config.kwargs.items()) if k not in ("column", "batch_id")),
                    "details": f"{name}: {len(tables[name])} rows",
                }
            )
    if docs_dir is not None:
        context.build_data_docs()  # once for all validations: rendering per checkpoint costs seconds
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
