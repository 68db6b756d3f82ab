"""Unit tests of the BG/NBD input summary, on hand-computed cases."""

import pandas as pd
import pytest

from customer_segments.scoring.purchase_history import COLUMNS, summarize

AS_OF = pd.Timestamp("2026-10-31 12:00:00")


def orders(*rows):
    return pd.DataFrame(rows, columns=["person_id", "ordered_at", "amount"]).assign(
        ordered_at=lambda f: pd.to_datetime(f["ordered_at"])
    )


def test_empty_history_gives_empty_summary_with_columns():
    summary = summarize(orders(), AS_OF)
    assert list(summary.columns) == COLUMNS
    assert summary.empty


def test_one_order_customer_has_no_repeats():
    summary = summarize(orders(("p1", "2026-10-01 09:00", 50.0)), AS_OF).set_index("person_id")
    # first purchase day 2026-10-01, as_of day 2026-10-31 -> T = 30 days; no repeat purchase
    assert summary.loc["p1", "frequency"] == 0
    assert summary.loc["p1", "recency_days"] == 0
    assert summary.loc["p1", "t_days"] == 30
    assert summary.loc["p1", "monetary_value"] == 0


def test_same_day_orders_count_once_and_repeat_value_is_mean_of_repeat_days():
    summary = summarize(
        orders(
            ("p1", "2026-09-01 09:00", 10.0),  # first purchase day: not in monetary_value
            ("p1", "2026-09-11 09:00", 20.0),
            ("p1", "2026-09-11 18:00", 10.0),  # same day as above: day total 30
            ("p1", "2026-10-01 09:00", 60.0),
        ),
        AS_OF,
    ).set_index("person_id")
    # repeat days: 09-11 (30) and 10-01 (60) -> frequency 2, mean 45
    assert summary.loc["p1", "frequency"] == 2
    assert summary.loc["p1", "monetary_value"] == pytest.approx(45.0)
    # recency = 10-01 - 09-01 = 30 days; T = 10-31 - 09-01 = 60 days
    assert summary.loc["p1", "recency_days"] == 30
    assert summary.loc["p1", "t_days"] == 60


def test_orders_after_as_of_are_ignored():
    summary = summarize(
        orders(("p1", "2026-10-01 09:00", 10.0), ("p1", "2026-11-05 09:00", 99.0)), AS_OF
    ).set_index("person_id")
    assert summary.loc["p1", "frequency"] == 0
