"""What people do: the valid events and orders behind the raw files.

Two frames come out. `events` holds the bulk (page, screen and track calls)
with integer codes only, so tens of millions of rows stay cheap; `calls`
holds the few identity calls (identify, alias, group) and the planted traps,
with their strings spelled out. Both carry the person and the device, which
the writer turns into ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from customer_segments.generate import spec
from customer_segments.generate.population import Population

DAY = 86_400.0
KIOSK_ANONYMOUS_ID = "kiosk-anon-0001"
KIOSK_DEVICE_ID = "kiosk-device-0001"
GENERIC_EMAIL = "test@test.com"


@dataclass
class Behaviour:
    events: pd.DataFrame  # person, device, kind, t, has_user
    calls: pd.DataFrame  # person, device (-1 = none), type, t, anonymous_id, user_id, email, title, group_id, previous_id, trap
    orders: pd.DataFrame  # order, person, amount, currency, t, status, by_email_only
    traps: dict[str, list[int]]  # trap name -> persons involved
    chain_ids: pd.DataFrame  # person, user_id (old ids of alias chains and legacy aliases)


def _orders(rng: np.random.Generator, population: Population) -> pd.DataFrame:
    people = population.people
    profiles = [spec.PERSONAS[p] for p in people["persona_index"]]
    low = np.array([p.orders[0] for p in profiles])
    high = np.array([p.orders[1] for p in profiles])
    count = np.where(people["identifies"], rng.integers(low, high + 1), 0)
    # the high-intent persona rarely buys: most of them have nothing yet
    count = np.where((people["persona"] == "high_intent") & (rng.random(len(people)) < 0.7), 0, count)
    person = np.repeat(people["person"].to_numpy(), count)
    first_identify = population.devices.loc[population.devices["rank"] == 0].set_index("person")["identify_at"]
    begin = first_identify.reindex(person).to_numpy() + 60
    finish = people["end"].to_numpy()[person]
    t = begin + rng.random(person.size) * np.maximum(finish - begin, 60)
    status = rng.choice(["completed", "refunded", "cancelled"], size=person.size, p=[0.9, 0.06, 0.04])
    return pd.DataFrame(
        {
            "order": np.arange(person.size),
            "person": person,
            "amount": np.round(np.exp(rng.normal(4.0, 0.6, person.size)), 2),
            "currency": rng.choice(["USD", "EUR", "GBP"], size=person.size, p=[0.7, 0.2, 0.1]),
            "t": t,
            "status": status,
            "by_email_only": rng.random(person.size) < 0.2,
        }
    )


def _browsing(rng: np.random.Generator, population: Population, events: int) -> pd.DataFrame:
    people = population.people
    rate = people["rate"].to_numpy()
    scale = events / rate.sum()
    count = rng.poisson(rate * scale)
    person = np.repeat(people["person"].to_numpy(), count)
    kind = np.empty(person.size, dtype=np.int16)
    persona_of_event = people["persona_index"].to_numpy()[person]
    for index, persona in enumerate(spec.PERSONAS):
        chosen = persona_of_event == index
        names = list(persona.mix)
        weights = np.array([persona.mix[name] for name in names])
        kind[chosen] = np.array([spec.KIND[name] for name in names])[
            rng.choice(len(names), size=int(chosen.sum()), p=weights / weights.sum())
        ]
    start = people["start"].to_numpy()[person]
    end = people["end"].to_numpy()[person]
    t = start + rng.random(person.size) * (end - start)
    frame = pd.DataFrame({"person": person, "kind": kind, "t": t})

    # forced signals: high-intent people request a demo and start a trial in the last 14 days
    high_intent = people.loc[people["persona"] == "high_intent", ["person", "end"]]
    forced = []
    for name in ("Demo Requested", "Trial Started"):
        forced.append(
            pd.DataFrame(
                {
                    "person": high_intent["person"].to_numpy(),
                    "kind": spec.KIND[name],
                    "t": high_intent["end"].to_numpy() - rng.uniform(0.5, 13.5, len(high_intent)) * DAY,
                }
            )
        )
    # new people sign up right after they identify
    first = population.devices.loc[population.devices["rank"] == 0, ["person", "identify_at"]]
    new = first.loc[first["person"].isin(people.loc[people["persona"] == "new", "person"])]
    forced.append(pd.DataFrame({"person": new["person"].to_numpy(), "kind": spec.KIND["Signed Up"], "t": new["identify_at"].to_numpy() + 5}))
    return pd.concat([frame, *forced], ignore_index=True)


def _assign_devices(rng: np.random.Generator, population: Population, frame: pd.DataFrame) -> pd.DataFrame:
    devices = population.devices
    counts = devices.groupby("person").size().reindex(population.people["person"]).to_numpy()
    first = np.r_[0, np.cumsum(counts)[:-1]]
    person = frame["person"].to_numpy()
    frame["device"] = first[person] + (rng.random(person.size) * counts[person]).astype(np.int64)
    identify_at = devices["identify_at"].to_numpy()[frame["device"].to_numpy()]
    frame["has_user"] = frame["t"].to_numpy() >= np.nan_to_num(identify_at, nan=np.inf)
    return frame


def _identity_calls(rng: np.random.Generator, population: Population) -> pd.DataFrame:
    people = population.people.set_index("person")
    devices = population.devices.loc[population.devices["identify_at"].notna()]
    owner = people.loc[devices["person"]]
    calls = pd.DataFrame(
        {
            "person": devices["person"].to_numpy(),
            "device": devices["device"].to_numpy(),
            "type": "identify",
            "t": devices["identify_at"].to_numpy(),
            "user_id": owner["user_id"].to_numpy(),
            "email": owner["email"].to_numpy(),
            "title": owner["title"].to_numpy(),
        }
    )
    first = devices.loc[devices["rank"] == 0]
    b2b = people.loc[first["person"], "account"].to_numpy() >= 0
    groups = pd.DataFrame(
        {
            "person": first["person"].to_numpy()[b2b],
            "device": first["device"].to_numpy()[b2b],
            "type": "group",
            "t": first["identify_at"].to_numpy()[b2b] + 30,
            "user_id": people.loc[first["person"], "user_id"].to_numpy()[b2b],
            "group_id": population.accounts["account_id"].to_numpy()[people.loc[first["person"], "account"].to_numpy()[b2b]],
        }
    )
    return pd.concat([calls, groups], ignore_index=True)


def _traps(rng: np.random.Generator, population: Population, orders: pd.DataFrame) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """The identity traps every generated data set carries, whatever its size."""
    people = population.people
    first = population.devices.loc[population.devices["rank"] == 0].set_index("person")
    identified = people.loc[people["identifies"]].reset_index(drop=True)
    chosen = rng.permutation(identified["person"].to_numpy())
    kiosk, generic, chains, cased, legacy = (
        chosen[:50], chosen[50:70], chosen[70:73], chosen[73:78],
        chosen[78:78 + max(3, len(identified) // 10)],
    )
    rows = []
    kiosk_base = people["end"].min() - 20 * DAY
    for number, person in enumerate(kiosk):
        # one visit each, an hour apart: browse anonymously, then sign in on the shared kiosk
        when = kiosk_base + number * 3600.0
        user_id = people.at[person, "user_id"]
        rows.append(dict(person=person, device=-1, type="page", name="Home", t=when, anonymous_id=KIOSK_ANONYMOUS_ID, device_id=KIOSK_DEVICE_ID, trap="shared_device"))
        rows.append(dict(person=person, device=-1, type="identify", t=when + 60, anonymous_id=KIOSK_ANONYMOUS_ID, device_id=KIOSK_DEVICE_ID,
                         user_id=user_id, email=people.at[person, "email"], trap="shared_device"))
    for person in generic:
        rows.append(dict(person=person, device=int(first.at[person, "device"]), type="identify", t=first.at[person, "identify_at"] + 120,
                         user_id=people.at[person, "user_id"], email=GENERIC_EMAIL, trap="generic_email"))
    chain_rows = []
    for person in chains:
        ids = [f"chain_{person:07d}_{step}" for step in range(1, 6)] + [people.at[person, "user_id"]]
        for step in range(5):
            rows.append(dict(person=person, device=-1, type="alias", t=first.at[person, "identify_at"] + 200 + step * 10,
                             previous_id=ids[step], user_id=ids[step + 1], trap="alias_chain"))
        chain_rows += [dict(person=person, user_id=old) for old in ids[:5]]
    for person in legacy:
        old = f"legacy_{person:07d}"
        rows.append(dict(person=person, device=int(first.at[person, "device"]), type="alias", t=first.at[person, "identify_at"] + 90,
                         previous_id=old, user_id=people.at[person, "user_id"], trap=None))
        chain_rows.append(dict(person=person, user_id=old))
    for person in cased:
        email = people.at[person, "email"]
        rows.append(dict(person=person, device=int(first.at[person, "device"]), type="identify", t=first.at[person, "identify_at"] + 150,
                         user_id=people.at[person, "user_id"], email=f"  {email.title()} ", trap="email_case"))
    traps = {"shared_device": kiosk.tolist(), "generic_email": generic.tolist(), "alias_chain": chains.tolist(), "email_case": cased.tolist()}
    return pd.DataFrame(rows), traps, pd.DataFrame(chain_rows, columns=["person", "user_id"])


def _space_out(frame: pd.DataFrame, gap: float = 2.0) -> pd.DataFrame:
    """Sort each person's calls by time and keep them at least `gap` seconds apart.

    Legit events of one person are then never within the double-fire window,
    so every double fire the pipeline finds is one the generator injected.
    """
    frame = frame.sort_values(["person", "t"], kind="stable").reset_index(drop=True)
    person = frame["person"].to_numpy()
    starts = np.r_[0, np.flatnonzero(np.diff(person)) + 1]
    rank = np.arange(len(frame)) - np.repeat(starts, np.diff(np.r_[starts, len(frame)]))
    shifted = pd.Series(frame["t"].to_numpy() - gap * rank)
    frame["t"] = shifted.groupby(person).cummax().to_numpy() + gap * rank
    return frame


def build(rng: np.random.Generator, population: Population, events: int) -> Behaviour:
    orders = _orders(rng, population)
    browsing = _browsing(rng, population, events)
    completed = orders.loc[orders["status"] == "completed"]
    browsing = pd.concat(
        [browsing, pd.DataFrame({"person": completed["person"].to_numpy(), "kind": spec.KIND["Order Completed"], "t": completed["t"].to_numpy()})],
        ignore_index=True,
    )
    browsing = _assign_devices(rng, population, browsing)
    order_events = browsing["kind"].to_numpy() == spec.KIND["Order Completed"]
    browsing.loc[order_events, "has_user"] = True  # a purchase is made signed in
    calls = _identity_calls(rng, population)
    trap_calls, traps, chain_ids = _traps(rng, population, orders)
    calls = pd.concat([calls, trap_calls], ignore_index=True)
    for column in ("anonymous_id", "device_id", "user_id", "email", "title", "group_id", "previous_id", "name", "trap"):
        if column not in calls:
            calls[column] = None
        calls[column] = calls[column].astype(object).where(calls[column].notna(), None)

    # keep every person's calls (bulk and identity calls together) at least 2 s apart
    browsing["source"] = 0
    calls["source"] = 1
    calls["row"] = np.arange(len(calls))
    combined = pd.concat(
        [browsing[["person", "t", "source"]].assign(row=np.arange(len(browsing))), calls[["person", "t", "source", "row"]]],
        ignore_index=True,
    )
    spaced = _space_out(combined)
    bulk = spaced.loc[spaced["source"] == 0].sort_values("row")
    special = spaced.loc[spaced["source"] == 1].sort_values("row")
    browsing["t"] = bulk["t"].to_numpy()
    calls["t"] = special["t"].to_numpy()
    return Behaviour(browsing.drop(columns="source"), calls.drop(columns=["source", "row"]), orders, traps, chain_ids)
