"""Per-person purchase history in the form buy-till-you-die models expect.

BG/NBD and Gamma-Gamma (Fader, Hardie and Lee 2005) take, per customer:
`frequency` (repeat purchases: distinct purchase days after the first),
`recency` (time from the first to the last purchase) and `T` (time from the
first purchase to the end of the observation window), plus the mean value of
the repeat purchases. Keeping this step separate lets it be unit-tested on
hand-made cases and reused by the model fit.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["person_id", "frequency", "recency_days", "t_days", "monetary_value", "first_purchase_at", "last_purchase_at"]


def summarize(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Summarize completed orders (person_id, ordered_at, amount) up to `as_of`.

    Purchases on the same calendar day count once (their amounts add up), as in
    the CDNOW analyses. `monetary_value` is the mean value of the repeat purchase
    days (0 when there are none), following the Gamma-Gamma convention.
    """
    if orders.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = orders.loc[orders["ordered_at"] <= as_of, ["person_id", "ordered_at", "amount"]].copy()
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame["amount"] = frame["amount"].astype(float)
    frame["day"] = pd.to_datetime(frame["ordered_at"]).dt.floor("D")
    days = frame.groupby(["person_id", "day"], as_index=False)["amount"].sum().sort_values(["person_id", "day"])
    days["is_first"] = ~days.duplicated("person_id")
    grouped = days.groupby("person_id")
    summary = pd.DataFrame(
        {
            "first_purchase_at": grouped["day"].min(),
            "last_purchase_at": grouped["day"].max(),
            "frequency": grouped.size() - 1,
        }
    )
    repeat = days.loc[~days["is_first"]].groupby("person_id")["amount"].mean()
    summary["monetary_value"] = repeat.reindex(summary.index).fillna(0.0)
    as_of_day = pd.Timestamp(as_of).floor("D")
    summary["recency_days"] = (summary["last_purchase_at"] - summary["first_purchase_at"]).dt.days.astype(float)
    summary["t_days"] = (as_of_day - summary["first_purchase_at"]).dt.days.astype(float)
    summary["frequency"] = summary["frequency"].astype("int64")
    return summary.reset_index()[COLUMNS]
