"""The flat inputs (orders, CRM, email, consent, erasure, reverse-IP) and their faults.

Each builder returns the clean rows as a DataFrame of text columns, in the
contract's column order. `inject` then adds the known faults and returns the
faulty rows' ground truth, so the manifest can say exactly what staging must
quarantine or deduplicate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_segments.generate import spec
from customer_segments.generate.behaviour import Behaviour
from customer_segments.generate.population import Population

DAY = 86_400.0


def iso(seconds: np.ndarray | pd.Series) -> np.ndarray:
    """Epoch seconds -> ISO-8601 UTC text with milliseconds and a Z."""
    stamps = pd.to_datetime(np.asarray(seconds, dtype="float64") * 1000, unit="ms")
    return stamps.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3].to_numpy() + "Z"


def orders(population: Population, behaviour: Behaviour) -> pd.DataFrame:
    people = population.people
    frame = behaviour.orders
    person = frame["person"].to_numpy()
    user_id = people["user_id"].to_numpy()[person].copy()
    user_id[frame["by_email_only"].to_numpy()] = ""
    return pd.DataFrame(
        {
            "order_id": [f"ord_{i:08d}" for i in frame["order"]],
            "user_id": user_id,
            "email": people["email"].to_numpy()[person],
            "amount": [f"{a:.2f}" for a in frame["amount"]],
            "currency": frame["currency"].to_numpy(),
            "ordered_at": iso(frame["t"]),
            "status": frame["status"].to_numpy(),
        }
    )


def accounts(population: Population, end_seconds: int) -> pd.DataFrame:
    frame = population.accounts
    return pd.DataFrame(
        {
            "account_id": frame["account_id"],
            "name": frame["name"],
            "domain": frame["domain"],
            "industry": frame["industry"],
            "employee_count": frame["employee_count"].astype(str),
            "annual_revenue": frame["annual_revenue"].map(lambda v: f"{v:.0f}"),
            "country": frame["country"],
            "updated_at": iso(np.full(len(frame), end_seconds - 200 * DAY)),
        }
    )


def crm_contacts(rng: np.random.Generator, population: Population, end_seconds: int) -> tuple[pd.DataFrame, np.ndarray]:
    """B2B people known to sales. Returns the rows and, per row, the person behind it."""
    people = population.people
    b2b = people.loc[people["account"] >= 0]
    status = rng.choice(["valid", "bounced", "unknown"], size=len(b2b), p=[0.91, 0.05, 0.04])
    stale = rng.random(len(b2b)) < 0.1  # the title in CRM lags the one the person gives today
    title = np.where(stale, rng.choice(spec.TITLES, size=len(b2b)), b2b["title"].to_numpy())
    frame = pd.DataFrame(
        {
            "contact_id": [f"crm_{i:07d}" for i in b2b["person"]],
            "email": b2b["email"].to_numpy(),
            "title": title,
            "account_id": population.accounts["account_id"].to_numpy()[b2b["account"].to_numpy()],
            "email_status": status,
            "updated_at": iso(end_seconds - rng.uniform(1, 150, len(b2b)) * DAY),
        }
    )
    return frame, b2b["person"].to_numpy()


def email_events(rng: np.random.Generator, population: Population, contacts: pd.DataFrame, end_seconds: int) -> pd.DataFrame:
    """Marketing campaigns: delivered, opens and clicks by persona, bounces for bounced CRM emails."""
    people = population.people.loc[population.people["email"].notna()]
    campaigns = 6
    person = np.repeat(people["person"].to_numpy(), campaigns)
    campaign = np.tile(np.arange(campaigns), len(people))
    sent = end_seconds - (campaigns - campaign) * 28 * DAY + rng.uniform(0, DAY, person.size)
    email = population.people["email"].to_numpy()[person]
    bounced = set(contacts.loc[contacts["email_status"] == "bounced", "email"])
    is_bounced = np.array([address in bounced for address in email])
    open_rate = np.array([spec.PERSONAS[p].open_rate for p in population.people["persona_index"]])[person]
    # people only open while they are around
    active = (sent >= population.people["start"].to_numpy()[person]) & (sent <= population.people["end"].to_numpy()[person] + 7 * DAY)
    opened = ~is_bounced & active & (rng.random(person.size) < open_rate)
    clicked = opened & (rng.random(person.size) < 0.35)
    unsubscribed = ~is_bounced & (rng.random(person.size) < 0.003)
    parts = [
        (np.where(is_bounced, "bounce", "delivered"), np.ones(person.size, bool), 0.0),
        (np.full(person.size, "open"), opened, 3600.0),
        (np.full(person.size, "click"), clicked, 3700.0),
        (np.full(person.size, "unsubscribe"), unsubscribed, 3800.0),
    ]
    frames = []
    for event_type, mask, delay in parts:
        frames.append(
            pd.DataFrame(
                {
                    "email": email[mask],
                    "campaign_id": [f"cmp_{c:03d}" for c in campaign[mask]],
                    "event_type": event_type[mask],
                    "t": sent[mask] + delay + rng.uniform(0, 3 * DAY if delay else 60, int(mask.sum())),
                    "url": np.where(event_type[mask] == "click", "https://www.example.com/pricing?utm_source=newsletter", ""),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True).sort_values("t", kind="stable").reset_index(drop=True)
    frame.insert(0, "email_event_id", [f"ee_{i:09d}" for i in range(len(frame))])
    frame["occurred_at"] = iso(frame.pop("t"))
    return frame[["email_event_id", "email", "campaign_id", "event_type", "occurred_at", "url"]]


def consent(rng: np.random.Generator, population: Population, end_seconds: int) -> pd.DataFrame:
    """Grants per purpose when people identify; some withdraw marketing later."""
    people = population.people.loc[population.people["identifies"]]
    people = people.loc[rng.random(len(people)) < 0.7]
    first = population.devices.loc[population.devices["rank"] == 0].set_index("person")
    subject_kind = rng.choice(["user_id", "email", "anonymous_id"], size=len(people), p=[0.5, 0.4, 0.1])
    anonymous = first.loc[people["person"], "anonymous_id"].to_numpy()
    subject = np.where(subject_kind == "user_id", people["user_id"], np.where(subject_kind == "email", people["email"], anonymous))
    granted_at = first.loc[people["person"], "identify_at"].to_numpy() + 10
    rows = []
    for purpose in ("analytics", "marketing", "personalization"):
        granted = rng.random(len(people)) < 0.92
        rows.append(pd.DataFrame({"subject_type": subject_kind, "subject_value": subject, "purpose": purpose,
                                  "granted": np.where(granted, "true", "false"), "t": granted_at}))
    withdraw = rng.random(len(people)) < 0.1
    later = np.minimum(granted_at[withdraw] + rng.uniform(1, 60, int(withdraw.sum())) * DAY, end_seconds - DAY)
    rows.append(pd.DataFrame({"subject_type": subject_kind[withdraw], "subject_value": subject[withdraw], "purpose": "marketing",
                              "granted": "false", "t": np.maximum(later, granted_at[withdraw] + 60)}))
    frame = pd.concat(rows, ignore_index=True).sort_values("t", kind="stable").reset_index(drop=True)
    frame["recorded_at"] = iso(frame.pop("t"))
    return frame


def erasure_requests(rng: np.random.Generator, population: Population, end_seconds: int) -> tuple[pd.DataFrame, np.ndarray]:
    people = population.people.loc[population.people["identifies"]]
    chosen = people.sample(n=max(2, len(people) // 100), random_state=rng.integers(0, 2**31 - 1))
    kind = rng.choice(["email", "user_id"], size=len(chosen))
    frame = pd.DataFrame(
        {
            "subject_type": kind,
            "subject_value": np.where(kind == "email", chosen["email"], chosen["user_id"]),
            "requested_at": iso(end_seconds - rng.uniform(1, 30, len(chosen)) * DAY),
        }
    )
    return frame, chosen["person"].to_numpy()


def office_network(account: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The /24 office network of each account: first three octets."""
    return 100 + account // 65536, (account // 256) % 256, account % 256


def ip_ranges(population: Population) -> pd.DataFrame:
    account = population.accounts["account"].to_numpy()
    a, b, c = office_network(account)
    prefix = [f"{x}.{y}.{z}" for x, y, z in zip(a, b, c)]
    return pd.DataFrame(
        {
            "range_start": [f"{p}.0" for p in prefix],
            "range_end": [f"{p}.255" for p in prefix],
            "account_domain": population.accounts["domain"].to_numpy(),
        }
    )


#: source -> {fault: how to break the chosen rows}, each leaving the other fields valid
CSV_FAULTS = {
    "orders": {
        "invalid_amount": lambda rows: rows.assign(amount="N/A"),
        "negative_amount": lambda rows: rows.assign(amount="-" + rows["amount"]),
        "invalid_status": lambda rows: rows.assign(status="shipped"),
        "missing_order_id": lambda rows: rows.assign(order_id=""),
    },
    "crm_contacts": {
        "missing_contact_id": lambda rows: rows.assign(contact_id=""),
        "invalid_email": lambda rows: rows.assign(email=rows["email"].str.replace("@", " at ", regex=False)),
    },
    "email_events": {
        "invalid_event_type": lambda rows: rows.assign(event_type="opened_twice"),
        "invalid_timestamp": lambda rows: rows.assign(occurred_at="not-a-date"),
    },
    "consent": {
        "invalid_purpose": lambda rows: rows.assign(purpose="advertising"),
        "invalid_granted": lambda rows: rows.assign(granted="maybe"),
    },
}
CSV_DUPLICATES = {"orders": "duplicate_order_id"}
RECORD_KEY = {"orders": "order_id", "crm_contacts": "contact_id", "email_events": "email_event_id", "consent": "subject_value"}


def inject(rng: np.random.Generator, source: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict, list[dict]]:
    """Break a known number of rows per fault kind (disjoint rows) and append exact copies of others.

    Returns the new frame, the manifest entry and one ground-truth row per fault.
    The copies go after all originals, so the original is always the first line.
    """
    kinds = CSV_FAULTS.get(source, {})
    duplicate_kind = CSV_DUPLICATES.get(source)
    per_kind = max(1, int(round(len(frame) * spec.CSV_FAULT_SHARE))) if len(frame) else 0
    needed = per_kind * (len(kinds) + (1 if duplicate_kind else 0))
    entry = {"raw_rows": len(frame), "valid": len(frame), "quarantined": {}, "duplicates": {}}
    if not needed or needed > len(frame):
        return frame, entry, []
    chosen = rng.choice(len(frame), size=needed, replace=False)
    frame = frame.reset_index(drop=True).copy()
    truth = []
    for number, (fault, breaker) in enumerate(kinds.items()):
        rows = chosen[number * per_kind:(number + 1) * per_kind]
        truth += [{"source": source, "fault": fault, "record_id": key} for key in frame.loc[rows, RECORD_KEY[source]]]
        frame.loc[rows] = breaker(frame.loc[rows])
        entry["quarantined"][fault] = per_kind
    copies = frame.iloc[0:0]
    if duplicate_kind:
        copies = frame.iloc[chosen[len(kinds) * per_kind:]]
        truth += [{"source": source, "fault": duplicate_kind, "record_id": key} for key in copies[RECORD_KEY[source]]]
        entry["duplicates"][duplicate_kind] = per_kind
    out = pd.concat([frame, copies], ignore_index=True)
    entry["raw_rows"] = len(out)
    entry["valid"] = len(frame) - len(kinds) * per_kind
    return out, entry, truth
