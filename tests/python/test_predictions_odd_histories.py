"""Predicted purchases on small and oddly shaped purchase histories degrade, never explode.

A scheduled build must not fail or publish absurd numbers because the data is small or odd
(customer_segments.scoring.bgnbd.predict). Every history here goes through the same summary the
pipeline uses (purchase_history.summarize); each prediction must be null or sane: P(alive) in
[0, 1], 0 <= expected purchases <= the horizon in days (purchases are distinct purchase days),
expected spend >= 0 and at most the horizon's purchases at 10x the largest observed day spend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_segments.scoring.bgnbd import BgNbd, bgnbd_problems, predict
from customer_segments.scoring.purchase_history import summarize

AS_OF = pd.Timestamp("2026-10-31 12:00:00")
HORIZON = 90.0
VERDICTS = ("fitted: ", "partly fitted: ", "not fitted: ", "degenerate: ")


def history(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    """(person, days before as_of, amount) per order -> the BG/NBD summary."""
    orders = pd.DataFrame(rows, columns=["person_id", "days_before", "amount"])
    orders["ordered_at"] = AS_OF - pd.to_timedelta(orders["days_before"], unit="D")
    return summarize(orders[["person_id", "ordered_at", "amount"]], AS_OF)


def ordinary_buyers(count: int, seed: int, prefix: str = "p") -> list[tuple[str, int, float]]:
    """`count` buyers with 1-4 orders on distinct days of the last 180, 5-100 each."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(count):
        for day in rng.choice(180, int(rng.integers(1, 5)), replace=False):
            rows.append((f"{prefix}{number}", int(day), float(rng.uniform(5, 100))))
    return rows


def assert_null_or_sane(summary: pd.DataFrame, out: pd.DataFrame) -> None:
    assert list(out["person_id"]) == list(summary["person_id"])
    assert out["fit_status"].nunique() == 1 and out["fit_status"].iloc[0].startswith(VERDICTS), out["fit_status"].iloc[0]
    assert not np.isinf(out[["p_alive", "expected_purchases", "expected_spend"]].to_numpy(dtype=float)).any()
    p_alive, expected, spend = (out[column].dropna() for column in ("p_alive", "expected_purchases", "expected_spend"))
    assert p_alive.between(0, 1).all(), p_alive.describe()
    assert expected.between(0, HORIZON).all(), expected.describe()
    largest_day = float(summary["monetary_value"].max()) + 1.0
    assert spend.between(0, HORIZON * 10 * max(largest_day, 1.0)).all(), spend.describe()
    # all or nothing per column: one fit for everyone
    for column in ("p_alive", "expected_purchases", "expected_spend"):
        assert out[column].isna().all() or out[column].notna().all(), column
    if out["fit_status"].iloc[0].startswith(("not fitted: ", "degenerate: ")):
        assert out[["p_alive", "expected_purchases", "expected_spend"]].isna().all().all()


def test_all_one_order_buyers_get_null_predictions_that_say_why():
    summary = history([(f"p{n}", n % 150, 10.0 + n) for n in range(120)])
    out = predict(summary, HORIZON)
    assert_null_or_sane(summary, out)
    assert out["fit_status"].iloc[0] == "not fitted: BG/NBD needs at least one customer with a repeat purchase"


@pytest.mark.parametrize("days_before", [0, 3, 200])
def test_everyone_buying_on_one_day_gets_null_predictions(days_before):
    # several orders each, all on the same day: no one has a repeat purchase day
    summary = history([(f"p{n}", days_before, 20.0) for n in range(80) for _ in range(1 + n % 3)])
    out = predict(summary, HORIZON)
    assert_null_or_sane(summary, out)
    assert out["fit_status"].iloc[0].startswith("not fitted: ")


@pytest.mark.parametrize("seed", range(6))
def test_62_buyers_30_of_them_identical_from_3_days_ago_give_no_absurd_numbers(seed):
    """The history that published expected purchases of 1e37: the fit runs off to its bounds."""
    rows = [(f"same{n}", 3, 20.0) for n in range(30)] + ordinary_buyers(32, seed)
    summary = history(rows)
    assert len(summary) == 62
    out = predict(summary, HORIZON)
    assert_null_or_sane(summary, out)
    assert out["fit_status"].iloc[0].startswith("degenerate: BG/NBD ")
    assert "at the edge of the searched range" in out["fit_status"].iloc[0]


@pytest.mark.parametrize("buyers", [50, 64, 80, 100])
@pytest.mark.parametrize("seed", range(3))
def test_50_to_100_buyers_give_null_or_sane_predictions(buyers, seed):
    summary = history(ordinary_buyers(buyers, seed=100 * buyers + seed))
    assert_null_or_sane(summary, predict(summary, HORIZON))


@pytest.mark.parametrize("seed", range(3))
def test_one_huge_buyer_gives_null_or_sane_predictions(seed):
    # 60 ordinary buyers and one who bought on each of the last 400 days, 50,000 a day
    rows = ordinary_buyers(60, seed) + [("whale", day, 50_000.0) for day in range(400)]
    summary = history(rows)
    out = predict(summary, HORIZON)
    assert_null_or_sane(summary, out)
    whale = out.set_index("person_id").loc["whale"]
    assert pd.isna(whale["expected_purchases"]) or whale["expected_purchases"] <= HORIZON


def test_identical_buyers_get_identical_predictions():
    rows = [(f"same{n}", 40, 35.0) for n in range(10)] + [(f"same{n}", 10, 35.0) for n in range(10)]
    summary = history(rows + ordinary_buyers(150, seed=5))
    out = predict(summary, HORIZON).set_index("person_id")
    same = out.loc[[f"same{n}" for n in range(10)], ["p_alive", "expected_purchases", "expected_spend"]]
    assert (same.nunique(dropna=False) == 1).all()


def test_a_fit_whose_expectations_explode_is_degenerate():
    """The parameters the 62-buyer history reached before the search was bounded (b = 2e16)."""
    model = BgNbd(r=3743.0, alpha=2.965e5, a=0.295, b=1.986e16, log_likelihood=-300.0, customers=62)
    x, t_x, T = np.array([0.0, 1.0, 3.0]), np.array([0.0, 40.0, 150.0]), np.array([3.0, 100.0, 170.0])
    with np.errstate(all="ignore"):
        problems = bgnbd_problems(model, model.p_alive(x, t_x, T), model.expected_purchases(HORIZON, x, t_x, T), HORIZON)
    assert any(problem.startswith("expected purchases ") for problem in problems), problems


def test_a_fit_that_did_not_converge_or_sits_on_a_bound_is_degenerate():
    fine = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4, customers=2357)
    x, t_x, T = np.array([0.0, 2.0]), np.array([0.0, 20.0]), np.array([30.0, 30.0])
    sane = (fine.p_alive(x, t_x, T), fine.expected_purchases(39.0, x, t_x, T))
    assert bgnbd_problems(fine, *sane, 39.0) == []
    stuck = BgNbd(**{**fine.__dict__, "converged": False})
    assert bgnbd_problems(stuck, *sane, 39.0) == ["the optimizer did not converge"]
    edge = BgNbd(**{**fine.__dict__, "at_bounds": ("a", "b")})
    assert bgnbd_problems(edge, *sane, 39.0)[0].startswith("a and b at the edge of the searched range")
