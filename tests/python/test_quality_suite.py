"""Unit tests of the data-quality suite on hand-made metrics and tables (no dbt)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from customer_segments.quality.suite import RESULT_COLUMNS, metric_checks, run

# The project's own thresholds, so a check added to the suite is covered here without a hand-kept copy.
THRESHOLDS = {
    name: value
    for name, value in yaml.safe_load((Path(__file__).resolve().parents[2] / "dbt_project.yml").read_text())["vars"].items()
    if name.startswith(("dq_max_", "dq_min_"))
}


def healthy_metrics(**overrides) -> pd.DataFrame:
    values = {check.metric: 0.0 for check in metric_checks(THRESHOLDS)}
    values.update(events_usable_rows=1000.0, events_identified_share=1.0, events_identified_share_latest_day=1.0)
    values.update(overrides)
    return pd.DataFrame({"metric": list(values), "value": list(values.values())})


@pytest.fixture(scope="module")
def healthy():
    return run(healthy_metrics(), {}, THRESHOLDS)


def test_healthy_metrics_pass_and_every_check_is_reported(healthy):
    assert list(healthy.columns) == RESULT_COLUMNS
    assert set(healthy["expectation"]) == {check.metric for check in metric_checks(THRESHOLDS)}
    assert healthy["success"].all()


def test_a_metric_past_its_threshold_fails_with_its_observed_value():
    results = run(healthy_metrics(crm_bounce_rate=0.4, events_duplicate_rate=0.1), {}, THRESHOLDS).set_index("expectation")
    assert not results.loc["crm_bounce_rate", "success"]
    assert results.loc["crm_bounce_rate", "observed_value"] == "0.4"
    assert results.loc["crm_bounce_rate", "threshold"] == "<= 0.1"
    assert results.loc["events_duplicate_rate", "success"]  # the bound itself is allowed


def test_lower_bounds_and_two_sided_bounds():
    results = run(
        healthy_metrics(events_identified_share_latest_day=0.2, events_volume_change=-0.6, events_usable_rows=0.0),
        {}, THRESHOLDS,
    ).set_index("expectation")
    assert not results.loc["events_identified_share_latest_day", "success"]
    assert not results.loc["events_volume_change", "success"]
    assert results.loc["events_volume_change", "threshold"] == "between -0.5 and 0.5"
    assert not results.loc["events_usable_rows", "success"]


def test_a_metric_that_cannot_be_measured_passes_and_says_so():
    results = run(healthy_metrics(events_volume_change=float("nan")), {}, THRESHOLDS).set_index("expectation")
    assert results.loc["events_volume_change", "success"]
    assert "not measurable" in results.loc["events_volume_change", "details"]


def test_severity_comes_from_the_configuration():
    results = run(healthy_metrics(events_staleness_hours=500.0), {}, THRESHOLDS, {"events_staleness_hours": "warn"})
    row = results.set_index("expectation").loc["events_staleness_hours"]
    assert (row["success"], row["severity"]) == (False, "warn")
    assert (results.loc[results["expectation"] != "events_staleness_hours", "severity"] == "fail").all()


def test_table_checks_name_the_bad_values():
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2"],
            "user_id": ["u", "u", "u"],
            "email": [None, None, None],
            "amount": [1.0, 2.0, 3.0],
            "currency": ["USD"] * 3,
            "ordered_at": pd.to_datetime(["2026-10-01"] * 3),
            "status": ["completed", "completed", "shipped"],
        }
    )
    results = run(healthy_metrics(), {"orders": orders}, THRESHOLDS).set_index("expectation")
    assert not results.loc["orders.expect_column_values_to_be_unique(order_id)", "success"]
    status = results.loc["orders.expect_column_values_to_be_in_set(status)"]
    assert not status["success"]
    assert "shipped" in status["observed_value"]
    assert results.loc["orders.expect_column_values_to_not_be_null(order_id)", "success"]


def test_data_docs_are_written(tmp_path):
    run(healthy_metrics(), {}, THRESHOLDS, docs_dir=tmp_path / "docs")
    assert (tmp_path / "docs" / "index.html").is_file()
