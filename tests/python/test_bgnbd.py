"""BG/NBD and Gamma-Gamma fits (customer_segments.scoring.bgnbd).

1. The published CDNOW estimates: Fader, Hardie and Lee (2005), "Counting Your
   Customers the Easy Way": r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
   log-likelihood -9582.4; "RFM and CLV: Using Iso-Value Curves": p = 6.25,
   q = 3.74, v = 15.44. The CDNOW sample comes from the `lifetimes` package
   (read as files; lifetimes itself is never imported).
2. The same fit from the raw CDNOW transactions through our own
   purchase-history summary (weeks, 39-week calibration period).
3. The closed forms for P(alive) and conditional expected purchases against a
   simulation of the BG/NBD story itself (independent of the formulas).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer_segments.scoring.bgnbd import BgNbd, FitError, fit_bgnbd, fit_gamma_gamma
from customer_segments.scoring.purchase_history import summarize


def cdnow(name: str) -> Path:
    path = Path(importlib.metadata.distribution("lifetimes").locate_file(f"lifetimes/datasets/{name}"))
    assert path.is_file(), f"the CDNOW sample is missing: {path} (requirements.txt pins lifetimes for it)"
    return path


def test_bgnbd_reproduces_the_published_cdnow_estimates():
    data = pd.read_csv(cdnow("cdnow_customers_summary.csv"))
    assert len(data) == 2357
    model = fit_bgnbd(data["frequency"], data["recency"], data["T"])
    assert model.r == pytest.approx(0.243, abs=0.01)
    assert model.alpha == pytest.approx(4.414, abs=0.01)
    assert model.a == pytest.approx(0.793, abs=0.01)
    assert model.b == pytest.approx(2.426, abs=0.01)
    assert model.log_likelihood == pytest.approx(-9582.4, abs=0.5)


def test_gamma_gamma_reproduces_the_published_cdnow_estimates():
    data = pd.read_csv(cdnow("cdnow_customers_summary_with_transactions.csv"))
    model = fit_gamma_gamma(data["x"], data["zbar"])
    assert model.customers == 946  # the repeat buyers
    assert model.p == pytest.approx(6.25, abs=0.01)
    assert model.q == pytest.approx(3.74, abs=0.01)
    assert model.v == pytest.approx(15.44, abs=0.02)


def gamma_gamma_per_customer(p: float, q: float, v: float, x: np.ndarray, m: np.ndarray) -> float:
    """The Gamma-Gamma log-likelihood written customer by customer, as in the paper (equation 3)."""
    from scipy import special
    return float(np.sum(special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(v)
                        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v)))


def test_gamma_gamma_fit_reports_the_per_customer_likelihood():
    # the fit sums the likelihood from per-count and per-(x, m) totals; at its optimum it must be the
    # paper's customer-by-customer sum, on data with repeated counts, repeated spends and one-off ones
    rng = np.random.default_rng(11)
    x = rng.integers(1, 9, 3_000).astype(float)
    m = np.where(rng.random(3_000) < 0.3, 25.0, np.round(rng.gamma(4.0, 12.0, 3_000), 2) + 0.01)
    model = fit_gamma_gamma(x, m)
    assert model.log_likelihood == pytest.approx(gamma_gamma_per_customer(model.p, model.q, model.v, x, m), rel=1e-9)
    data = pd.read_csv(cdnow("cdnow_customers_summary_with_transactions.csv")).query("x > 0")
    cdnow_fit = fit_gamma_gamma(data["x"], data["zbar"])
    assert cdnow_fit.log_likelihood == pytest.approx(
        gamma_gamma_per_customer(cdnow_fit.p, cdnow_fit.q, cdnow_fit.v, data["x"].to_numpy(float), data["zbar"].to_numpy(float)),
        rel=1e-9)


def test_raw_cdnow_transactions_through_our_summary_give_the_same_fit():
    raw = pd.read_csv(cdnow("CDNOW_sample.txt"), sep=r"\s+", header=None,
                      names=["person_id", "person_id_master", "date", "quantity", "amount"], dtype={"person_id": str, "date": str})
    raw["ordered_at"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    calibration_end = pd.Timestamp("1997-09-30")
    history = summarize(raw.loc[raw["ordered_at"] <= calibration_end], calibration_end)
    assert len(history) == 2357 and history["frequency"].sum() == 2457  # the paper's 2,357 customers, 2,457 repeat purchases
    model = fit_bgnbd(history["frequency"], history["recency_days"] / 7, history["t_days"] / 7)
    assert (model.r, model.alpha, model.a, model.b) == pytest.approx((0.243, 4.414, 0.793, 2.426), abs=0.01)


def simulate(model: BgNbd, customers: int, T: float, horizon: float, seed: int) -> pd.DataFrame:
    """The BG/NBD story, customer by customer: buy at rate lambda while alive, drop out after a repeat purchase with prob p."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(model.r, 1 / model.alpha, customers)
    drop = rng.beta(model.a, model.b, customers)
    now = np.zeros(customers)
    alive = np.ones(customers, bool)
    x = np.zeros(customers, int)
    t_x = np.zeros(customers)
    future = np.zeros(customers, int)
    alive_at_T = np.ones(customers, bool)
    while alive.any():
        index = np.flatnonzero(alive)
        now[index] += rng.exponential(1 / rate[index])
        past_end = now[index] > T + horizon
        alive[index[past_end]] = False
        index = index[~past_end]
        in_calibration = now[index] <= T
        x[index[in_calibration]] += 1
        t_x[index[in_calibration]] = now[index[in_calibration]]
        future[index[~in_calibration]] += 1
        dies = rng.random(index.size) < drop[index]
        alive[index[dies]] = False
        alive_at_T[index[dies & in_calibration]] = False
    return pd.DataFrame({"x": x, "t_x": t_x, "future": future, "alive_at_T": alive_at_T})


def test_p_alive_and_expected_purchases_match_a_simulation_of_the_model():
    model = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0.0, customers=0)
    T, horizon = 39.0, 39.0
    sim = simulate(model, 400_000, T, horizon, seed=3)
    sim["p_alive"] = model.p_alive(sim["x"], sim["t_x"], T)
    sim["expected"] = model.expected_purchases(horizon, sim["x"], sim["t_x"], T)
    # per number of repeat purchases, the closed forms' mean must match what the simulated customers did
    for x in range(0, 6):
        group = sim.loc[sim["x"] == x]
        assert len(group) > 2000, x
        error = group["future"].std() / np.sqrt(len(group))
        assert abs(group["expected"].mean() - group["future"].mean()) < 4 * error + 0.01, x
        alive_error = np.sqrt(0.25 / len(group))
        assert abs(group["p_alive"].mean() - group["alive_at_T"].mean()) < 4 * alive_error, x
    # a more recent last purchase means more likely alive (same x, same T)
    assert model.p_alive([3], [38.0], T)[0] > model.p_alive([3], [5.0], T)[0]


def test_fit_refuses_unusable_data_with_a_clear_message():
    with pytest.raises(FitError, match="at least 20 customers"):
        fit_bgnbd([1, 0], [3.0, 0.0], [10.0, 10.0])
    with pytest.raises(FitError, match="t_x <= T"):
        fit_bgnbd([1] * 30, [12.0] * 30, [10.0] * 30)
    with pytest.raises(FitError, match="repeat purchase"):
        fit_bgnbd([0] * 30, [0.0] * 30, [10.0] * 30)
    with pytest.raises(FitError, match="repeat customers"):
        fit_gamma_gamma([0, 1], [0.0, 5.0])


def test_predict_on_too_few_buyers_gives_nulls_and_says_why():
    from customer_segments.scoring.bgnbd import predict

    history = pd.DataFrame({"person_id": ["p1", "p2"], "frequency": [1, 0], "recency_days": [10.0, 0.0],
                            "t_days": [30.0, 5.0], "monetary_value": [20.0, 0.0]})
    out = predict(history, horizon_days=90, min_customers=50)
    assert list(out["person_id"]) == ["p1", "p2"]
    assert out["p_alive"].isna().all() and out["expected_purchases"].isna().all()
    assert out["fit_status"].str.startswith("not fitted: BG/NBD needs at least 50 customers").all()
    assert len(predict(history.iloc[0:0], horizon_days=90)) == 0


def test_predict_on_cdnow_gives_probabilities_and_spend():
    from customer_segments.scoring.bgnbd import predict

    data = pd.read_csv(cdnow("cdnow_customers_summary_with_transactions.csv"))
    history = pd.DataFrame({"person_id": data["ID"].astype(str), "frequency": data["x"], "recency_days": data["t_x"],
                            "t_days": data["T"], "monetary_value": data["zbar"]})
    out = predict(history, horizon_days=39)
    assert out["p_alive"].between(0, 1).all()
    assert (out["expected_purchases"] >= 0).all() and (out["expected_spend"] >= 0).all()
    assert out.loc[history["frequency"] == 0, "p_alive"].eq(1.0).all()  # BG/NBD's convention
    assert "Gamma-Gamma" in out["fit_status"].iloc[0]


def test_predictions_do_not_depend_on_the_order_of_the_rows():
    """The same buyers in another order (an incremental build and a --full-refresh read them differently) give
    exactly the same predictions: the fits sum in one order."""
    from customer_segments.scoring.bgnbd import predict

    data = pd.read_csv(cdnow("cdnow_customers_summary_with_transactions.csv"))
    history = pd.DataFrame({"person_id": data["ID"].astype(str), "frequency": data["x"], "recency_days": data["t_x"],
                            "t_days": data["T"], "monetary_value": data["zbar"]})
    shuffled = history.sample(frac=1.0, random_state=11).reset_index(drop=True)
    first = predict(history, horizon_days=39).set_index("person_id").sort_index()
    again = predict(shuffled, horizon_days=39).set_index("person_id").sort_index()
    pd.testing.assert_frame_equal(again, first, check_exact=True)


def test_the_polish_is_bounded_on_a_flat_likelihood_and_not_binding_on_cdnow(monkeypatch):
    """Nelder-Mead polish stops at POLISH_EVALUATIONS where the likelihood has a ridge, and the
    published fits converge well within it (so the bound changes no real estimate)."""
    from scipy import optimize

    from customer_segments.scoring import bgnbd

    polishes = []
    minimize = optimize.minimize

    def recording(function, start, method=None, **options):
        result = minimize(function, start, method=method, **options)
        if method == "Nelder-Mead":
            polishes.append(result)
        return result

    monkeypatch.setattr(bgnbd.optimize, "minimize", recording)
    spend = pd.read_csv(cdnow("cdnow_customers_summary_with_transactions.csv"))
    fit_gamma_gamma(spend["x"], spend["zbar"])
    counts = pd.read_csv(cdnow("cdnow_customers_summary.csv"))
    fit_bgnbd(counts["frequency"], counts["recency"], counts["T"])
    assert len(polishes) == 2 and all(polish.success and polish.nfev < bgnbd.POLISH_EVALUATIONS / 4 for polish in polishes)

    # every repeat buyer spends the same: no spend heterogeneity, the optimum is at q, v -> infinity
    polishes.clear()
    rng = np.random.default_rng(3)
    fitted = fit_gamma_gamma(rng.integers(1, 6, 5_000), np.full(5_000, 42.0))
    assert not polishes[0].success and polishes[0].nfev <= bgnbd.POLISH_EVALUATIONS + 5  # 40,000 before the bound
    assert fitted.p * fitted.v / (fitted.q - 1) == pytest.approx(42.0, rel=0.01)  # E[spend] is still right
