"""The flat inputs (orders, CRM, accounts, email, consent, erasure, reverse-IP) as Arrow tables of text.

Each builder returns the clean rows in the contract's column order; faults.py
breaks some of them afterwards. Columns are built from per-person arrays with
Arrow `take` and fixed-width text, never formatted row by row in Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_segments.generate import spec, text
from customer_segments.generate.behaviour import Timeline
from customer_segments.generate.population import DAY_MS, Population


def _iso(ms: np.ndarray) -> pa.Array:
    ms = np.asarray(ms, dtype=np.int64)
    return text.strings(text.join(text.iso_ms(ms), "Z", rows=ms.size)).cast(pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    numbers = np.asarray(numbers, dtype=np.int64)
    return text.strings(text.join(prefix, text.digits(numbers, width), rows=numbers.size)).cast(pa.string())


def _pick(values: np.ndarray, index: np.ndarray) -> pa.Array:
    """values[index] as an Arrow string column (None stays null)."""
    return pa.array(values, type=pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def orders(population: Population, timeline: Timeline) -> pa.Table:
    """One row per order; a fifth of them the shop recorded by email only (user_id empty)."""
    people, frame = population.people, timeline.orders
    user_id = np.where(frame.by_email_only, None, people.user_id[frame.person])
    cents = frame.amount_cents
    amount = pc.binary_join_element_wise(
        pa.array(cents // 100).cast(pa.string()), text.strings(text.digits(cents % 100, 2)).cast(pa.string()), "."
    )
    return pa.table({
        "order_id": _ids("ord_", np.arange(len(frame)), 8),
        "user_id": pa.array(user_id, type=pa.string()),
        "email": _pick(people.email, frame.person),
        "amount": amount,
        "currency": pa.array(frame.currency, type=pa.string()),
        "ordered_at": _iso(frame.t_ms),
        "status": pa.array(frame.status, type=pa.string()),
    })


def accounts(population: Population, end_ms: int) -> pa.Table:
    frame = population.accounts
    return pa.table({
        "account_id": pa.array(frame.account_id, type=pa.string()),
        "name": pa.array(frame.name, type=pa.string()),
        "domain": pa.array(frame.domain, type=pa.string()),
        "industry": pa.array(frame.industry, type=pa.string()),
        "employee_count": pa.array(frame.employee_count.astype(str).tolist(), type=pa.string()),
        "annual_revenue": pa.array(frame.annual_revenue.astype(str).tolist(), type=pa.string()),
        "country": pa.array(frame.country, type=pa.string()),
        "updated_at": _iso(np.full(len(frame), end_ms - 200 * DAY_MS)),
    })


def crm_contacts(rng: np.random.Generator, population: Population, end_ms: int) -> tuple[pa.Table, np.ndarray]:
    """Identified B2B people known to sales; ~5% bounced emails, ~10% stale titles. Returns the rows and their people."""
    people = population.people
    b2b = np.flatnonzero((people.account >= 0) & people.identifies)
    status = np.asarray(["valid", "bounced", "unknown"], dtype=object)[rng.choice(3, size=b2b.size, p=[0.91, 0.06, 0.03])]
    stale = rng.random(b2b.size) < 0.1  # the title in CRM lags the one the person gives today
    title = np.where(stale, np.asarray(spec.TITLES, dtype=object)[rng.integers(0, len(spec.TITLES), b2b.size)], people.title[b2b])
    table = pa.table({
        "contact_id": _ids("crm_", b2b, 7),
        "email": _pick(people.email, b2b),
        "title": pa.array(title, type=pa.string()),
        "account_id": _pick(population.accounts.account_id, people.account[b2b]),
        "email_status": pa.array(status, type=pa.string()),
        "updated_at": _iso(end_ms - (rng.uniform(1, 150, b2b.size) * DAY_MS).astype(np.int64)),
    })
    return table, b2b


EMAIL_EVENT_TYPES = ["delivered", "bounce", "open", "click", "unsubscribe", "spam"]


def email_events(rng: np.random.Generator, population: Population, bounced_people: np.ndarray, end_ms: int) -> pa.Table:
    """Six monthly campaigns: delivered (or bounce), opens and clicks by persona, a few unsubscribes and spam reports."""
    people = population.people
    known = np.flatnonzero(people.identifies)
    campaigns = 6
    person = np.repeat(known, campaigns)
    campaign = np.tile(np.arange(campaigns), known.size)
    sent = end_ms - (campaigns - campaign) * 28 * DAY_MS + (rng.random(person.size) * DAY_MS).astype(np.int64)
    bounced_person = np.zeros(len(people), bool)
    bounced_person[bounced_people] = True
    is_bounced = bounced_person[person]
    open_rate = np.array([p.open_rate for p in spec.PERSONAS])[people.persona[person]]
    active = (sent >= people.start_ms[person]) & (sent <= people.end_ms[person] + 7 * DAY_MS)  # people only open while around
    opened = ~is_bounced & active & (rng.random(person.size) < open_rate)
    clicked = opened & (rng.random(person.size) < 0.35)
    unsubscribed = ~is_bounced & (rng.random(person.size) < 0.003)
    spam = ~is_bounced & ~unsubscribed & (rng.random(person.size) < 0.001)
    kinds = [  # (type code per row, which rows, delay after sending)
        (np.where(is_bounced, 1, 0), np.ones(person.size, bool), 0),
        (2, opened, 3_600_000), (3, clicked, 3_700_000), (4, unsubscribed, 3_800_000), (5, spam, 3_900_000),
    ]
    rows, types, times = [], [], []
    for code, mask, delay in kinds:
        chosen = np.flatnonzero(mask)
        rows.append(chosen)
        types.append(np.broadcast_to(code, person.size)[chosen])
        jitter = rng.random(chosen.size) * (3 * DAY_MS if delay else 60_000)
        times.append(sent[chosen] + delay + jitter.astype(np.int64))
    row, event_type, t = np.concatenate(rows), np.concatenate(types).astype(np.int64), np.concatenate(times)
    order = np.lexsort((row, t))
    row, event_type, t = row[order], event_type[order], t[order]
    is_click = event_type == 3
    return pa.table({
        "email_event_id": _ids("ee_", np.arange(row.size), 9),
        "email": _pick(people.email, person[row]),
        "campaign_id": _ids("cmp_", campaign[row], 3),
        "event_type": pa.array(EMAIL_EVENT_TYPES, type=pa.string()).take(pa.array(event_type)),
        "occurred_at": _iso(t),
        "url": pa.array(["https://www.example.com/pricing?utm_source=newsletter"]).take(
            pa.array(np.zeros(row.size, np.int64), mask=~is_click)),
    })


def consent(rng: np.random.Generator, population: Population, end_ms: int) -> pa.Table:
    """Grants per purpose when people sign in; some withdraw marketing later (a later row for the same subject)."""
    people, devices = population.people, population.devices
    known = np.flatnonzero(people.identifies)
    known = known[rng.random(known.size) < 0.7]
    kind = np.asarray(["user_id", "email", "anonymous_id"], dtype=object)[rng.choice(3, size=known.size, p=[0.5, 0.4, 0.1])]
    first = devices.first[known]
    subject = np.where(kind == "user_id", people.user_id[known], np.where(kind == "email", people.email[known], devices.anonymous_id[first]))
    granted_at = devices.identify_ms[first] + 10_000
    kinds, subjects, purposes, granted, times = [], [], [], [], []
    for purpose in ("analytics", "marketing", "personalization"):
        kinds.append(kind)
        subjects.append(subject)
        purposes.append(np.full(known.size, purpose, dtype=object))
        granted.append(np.where(rng.random(known.size) < 0.92, "true", "false").astype(object))
        times.append(granted_at)
    withdraw = rng.random(known.size) < 0.1
    later = granted_at[withdraw] + (rng.uniform(1, 60, int(withdraw.sum())) * DAY_MS).astype(np.int64)
    kinds.append(kind[withdraw])
    subjects.append(subject[withdraw])
    purposes.append(np.full(int(withdraw.sum()), "marketing", dtype=object))
    granted.append(np.full(int(withdraw.sum()), "false", dtype=object))
    times.append(np.maximum(np.minimum(later, end_ms - DAY_MS), granted_at[withdraw] + 60_000))
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    return pa.table({
        "subject_type": pa.array(np.concatenate(kinds)[order], type=pa.string()),
        "subject_value": pa.array(np.concatenate(subjects)[order], type=pa.string()),
        "purpose": pa.array(np.concatenate(purposes)[order], type=pa.string()),
        "granted": pa.array(np.concatenate(granted)[order], type=pa.string()),
        "recorded_at": _iso(t[order]),
    })


def erasure_requests(rng: np.random.Generator, population: Population, end_ms: int) -> tuple[pa.Table, np.ndarray]:
    """About 1% of identified people ask to be forgotten in the last 30 days."""
    people = population.people
    known = np.flatnonzero(people.identifies)
    chosen = np.sort(rng.choice(known, size=min(known.size, max(2, known.size // 100)), replace=False))
    kind = np.asarray(["email", "user_id"], dtype=object)[rng.integers(0, 2, chosen.size)]
    return pa.table({
        "subject_type": pa.array(kind, type=pa.string()),
        "subject_value": pa.array(np.where(kind == "email", people.email[chosen], people.user_id[chosen]), type=pa.string()),
        "requested_at": _iso(end_ms - (rng.uniform(1, 30, chosen.size) * DAY_MS).astype(np.int64)),
    }), chosen


def ip_ranges(population: Population) -> pa.Table:
    """Each account's /24 office network (the events writer sends office traffic from it)."""
    account = np.arange(len(population.accounts))
    prefix = [f"{100 + a // 65536}.{(a // 256) % 256}.{a % 256}" for a in account.tolist()]
    return pa.table({
        "range_start": pa.array([p + ".0" for p in prefix], type=pa.string()),
        "range_end": pa.array([p + ".255" for p in prefix], type=pa.string()),
        "account_domain": pa.array(population.accounts.domain, type=pa.string()),
    })


def _quirky_domain(rng: np.random.Generator, domain: np.ndarray) -> np.ndarray:
    """A tenth of the domains as vendors write them (upper case, a leading www.): the same account."""
    quirky = rng.random(domain.size) < 0.1
    return np.where(quirky, np.char.upper(("www." + domain.astype(str)).astype(str)).astype(object), domain)


def technographics(rng: np.random.Generator, population: Population, end_ms: int) -> pa.Table:
    """Technologies seen at accounts (spec.TECHNOLOGIES): only ICP accounts use the scored ones.

    The technographic fit then agrees with the firmographic one (spec.SCORED_TECHNOLOGIES): an
    account outside the planted ICP earns no technographic points, so `is_icp` stays the truth of
    every fit-based segment.

    Each (account, technology) is seen 1-3 times in the last 300 days, or, for a tenth of them, only
    400-600 days ago (too old to count). A tenth of the rows lack a category; a fifth spell the
    technology in lower case.
    """
    accounts = population.accounts
    tech = np.asarray([name for name, _category in spec.TECHNOLOGIES], dtype=object)
    category = np.asarray([c for _name, c in spec.TECHNOLOGIES], dtype=object)
    scored = np.arange(len(tech)) < spec.SCORED_TECHNOLOGIES
    rows_account, rows_tech, rows_ms = [], [], []
    for account in range(len(accounts)):
        is_icp = bool(accounts.is_icp[account])
        if rng.random() >= spec.TECHNOGRAPHIC_SHARE[is_icp]:
            continue
        weights = np.where(scored, 3.0 if is_icp else 0.0, 1.0)
        chosen = rng.choice(len(tech), size=int(rng.integers(1, 5)), replace=False, p=weights / weights.sum())
        for t in chosen.tolist():
            stale = rng.random() < spec.TECHNOGRAPHICS_STALE_SHARE
            days = rng.uniform(400, 600, int(rng.integers(1, 4))) if stale else rng.uniform(3, 300, int(rng.integers(1, 4)))
            for day in days.tolist():
                rows_account.append(account)
                rows_tech.append(t)
                rows_ms.append(end_ms - int(day * DAY_MS))
    account, t = np.asarray(rows_account, dtype=np.int64), np.asarray(rows_tech, dtype=np.int64)
    names = np.where(rng.random(t.size) < 0.2, np.char.lower(tech[t].astype(str)).astype(object), tech[t])
    categories = np.where(rng.random(t.size) < 0.1, None, category[t])
    return pa.table({
        "account_domain": pa.array(_quirky_domain(rng, accounts.domain[account]), type=pa.string()),
        "technology": pa.array(names, type=pa.string()),
        "category": pa.array(categories, type=pa.string()),
        "observed_at": _iso(np.asarray(rows_ms, dtype=np.int64)),
    })


def intent_signals(rng: np.random.Generator, population: Population, end_ms: int) -> tuple[pa.Table, np.ndarray]:
    """Third-party intent: topics researched by accounts, scored 10-80 over the last 90 days.

    Surging accounts (spec.SURGING_SHARE) also research spec.SURGING_TOPIC at 85-100 one to two
    and a half days before the end. Returns the rows and which accounts surge.
    """
    accounts = population.accounts
    n = len(accounts)
    surging = rng.random(n) < spec.SURGING_SHARE
    rows_account, rows_topic, rows_score, rows_ms = [], [], [], []
    for account in range(n):
        if rng.random() < spec.INTENT_SHARE:
            topics = rng.choice(len(spec.INTENT_TOPICS), size=int(rng.integers(1, 4)), replace=False)
            for topic in topics.tolist():
                for _ in range(int(rng.integers(1, 5))):
                    rows_account.append(account)
                    rows_topic.append(spec.INTENT_TOPICS[topic])
                    rows_score.append(int(rng.integers(10, 81)))
                    rows_ms.append(end_ms - int(rng.uniform(3, 90) * DAY_MS))
        if surging[account]:
            rows_account.append(account)
            rows_topic.append(spec.SURGING_TOPIC)
            rows_score.append(int(rng.integers(85, 101)))
            rows_ms.append(end_ms - int(rng.uniform(1, 2.5) * DAY_MS))
    account = np.asarray(rows_account, dtype=np.int64)
    return pa.table({
        "account_domain": pa.array(_quirky_domain(rng, accounts.domain[account]), type=pa.string()),
        "topic": pa.array(rows_topic, type=pa.string()),
        "score": pa.array([str(score) for score in rows_score], type=pa.string()),
        "observed_at": _iso(np.asarray(rows_ms, dtype=np.int64)),
    }), surging
