"""What people do: every valid call behind the event files, plus the orders.

The timeline is a set of parallel numpy arrays, one row per call, sorted by
time. Page, screen and track calls are integer codes (a catalog kind, a
person, a device). The few identity calls (identify, alias, group, and the
planted identity traps) point into `Calls`, which holds their text. Within a
person calls are at least 2 seconds apart, so no legit pair of events ever
looks like a double fire.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_segments.generate import spec, text
from customer_segments.generate.population import DAY_MS, Population

KIOSK_ANONYMOUS_ID = "kiosk-anon-0001"
KIOSK_DEVICE_ID = "kiosk-device-0001"
GENERIC_EMAIL = "test@test.com"
MIN_GAP_MS = 2_000
NEVER = np.iinfo(np.int64).max


@dataclass
class Orders:
    person: np.ndarray
    amount_cents: np.ndarray
    currency: np.ndarray  # str
    t_ms: np.ndarray
    status: np.ndarray  # str
    by_email_only: np.ndarray  # bool: the shop did not record the user id

    def __len__(self) -> int:
        return self.person.size


@dataclass
class CallTexts:
    """The text identity calls carry, one entry per distinct text (not per call).

    Entries: each person's identify traits (null if they never identify), each
    account's groupId, then the few planted texts (trap traits, old ids of
    aliases). Exactly one of the three columns is set per entry.
    """

    traits: pa.Array  # JSON object text
    previous_id: pa.Array
    group_id: pa.Array

    def __len__(self) -> int:
        return len(self.traits)


@dataclass
class CallRows:
    """Identity calls as parallel columns, added in blocks."""

    columns: dict[str, list[np.ndarray]]

    def add(self, kind: int, person, device, t_ms, user, text, primary: bool = False) -> None:
        person = np.atleast_1d(np.asarray(person, dtype=np.int64))
        size = person.size
        values = {"kind": kind, "person": person, "device": device, "t_ms": t_ms, "user": user, "text": text, "primary": primary}
        for column, value in values.items():
            array = np.asarray(value)
            self.columns.setdefault(column, []).append(np.broadcast_to(array, (size,)) if array.ndim == 0 else array)

    def array(self, column: str) -> np.ndarray:
        return np.concatenate(self.columns[column]) if column in self.columns else np.empty(0, np.int64)


@dataclass
class Timeline:
    """All valid calls, sorted by time (ties: by person, then creation order)."""

    t_ms: np.ndarray  # int64
    person: np.ndarray  # int32
    device: np.ndarray  # int32: -1 none, len(devices) = the kiosk
    kind: np.ndarray  # int16: spec.CATALOG index or spec.IDENTIFY/ALIAS/GROUP
    call: np.ndarray  # int32 index into call_texts, -1 for page/screen/track
    user: np.ndarray  # int32 index into user_ids, -1 = no userId on the call
    order: np.ndarray  # int32 index into orders for Order Completed, else -1
    eligible: np.ndarray  # bool: a bulk call a fault may be injected into
    call_texts: CallTexts
    user_ids: np.ndarray  # str: the people's user ids, then old ids (alias chains, legacy aliases)
    old_id_person: np.ndarray  # person of each old id (user_ids[len(people):])
    orders: Orders
    traps: dict[str, np.ndarray]

    def __len__(self) -> int:
        return self.t_ms.size


def _orders(rng: np.random.Generator, population: Population) -> Orders:
    """Orders after the person first signs in; high-intent people mostly have none yet."""
    people, devices = population.people, population.devices
    low = np.array([p.orders[0] for p in spec.PERSONAS])[people.persona]
    high = np.array([p.orders[1] for p in spec.PERSONAS])[people.persona]
    count = np.where(people.identifies, rng.integers(low, high + 1), 0)
    high_intent = people.persona == spec.PERSONA_INDEX["high_intent"]
    count = np.where(high_intent & (rng.random(len(people)) < 0.7), 0, count)
    person = np.repeat(np.arange(len(people)), count)
    begin = devices.identify_ms[devices.first[person]] + 60_000
    finish = people.end_ms[person]
    # churned people bought early: their orders fall in the first half of their activity
    churned = people.persona[person] == spec.PERSONA_INDEX["churned"]
    finish = np.where(churned, begin + (finish - begin) // 2, finish)
    t = begin + (rng.random(person.size) * np.maximum(finish - begin, 60_000)).astype(np.int64)
    status = np.asarray(["completed", "refunded", "cancelled"], dtype=object)[
        rng.choice(3, size=person.size, p=[0.9, 0.06, 0.04])
    ]
    return Orders(
        person=person,
        amount_cents=np.round(np.exp(rng.normal(4.0, 0.6, person.size)) * 100).astype(np.int64),
        currency=np.asarray(["USD", "EUR", "GBP"], dtype=object)[rng.choice(3, size=person.size, p=[0.7, 0.2, 0.1])],
        t_ms=t,
        status=status,
        by_email_only=rng.random(person.size) < 0.2,
    )


def _bulk(rng: np.random.Generator, population: Population, events: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Page, screen and track calls: how many per person by persona rate, which by persona mix, when uniform."""
    people = population.people
    count = rng.poisson(people.rate * (events / people.rate.sum()))
    person = np.repeat(np.arange(len(people)), count)
    # one searchsorted for all personas: persona p's cumulative mix is shifted to [p, p + 1)
    cumulative, kinds = [], []
    for index, persona in enumerate(spec.PERSONAS):
        weights = np.array(list(persona.mix.values()), dtype=float)
        cumulative.append(index + np.cumsum(weights / weights.sum()))
        kinds.append([spec.KIND[name] for name in persona.mix])
    cumulative[-1][-1] = len(spec.PERSONAS)  # no rounding gap at the very end
    draw = people.persona[person] + rng.random(person.size)
    kind = np.concatenate(kinds).astype(np.int16)[np.searchsorted(np.concatenate(cumulative), draw, side="right")]
    start, end = people.start_ms[person], people.end_ms[person]
    t = start + (rng.random(person.size) * (end - start)).astype(np.int64)
    return person, kind, t


def _forced(rng: np.random.Generator, population: Population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signals a persona must show: high intent requests a demo and starts a trial in the last 14 days; new people sign up."""
    people, devices = population.people, population.devices
    high_intent = np.flatnonzero(people.persona == spec.PERSONA_INDEX["high_intent"])
    new = np.flatnonzero(people.persona == spec.PERSONA_INDEX["new"])
    persons, kinds, times = [], [], []
    for name in ("Demo Requested", "Trial Started"):
        persons.append(high_intent)
        kinds.append(np.full(high_intent.size, spec.KIND[name], dtype=np.int16))
        times.append(people.end_ms[high_intent] - (rng.uniform(0.5, 13.0, high_intent.size) * DAY_MS).astype(np.int64))
    persons.append(new)
    kinds.append(np.full(new.size, spec.KIND["Signed Up"], dtype=np.int16))
    times.append(devices.identify_ms[devices.first[new]] + 5_000)
    return np.concatenate(persons), np.concatenate(kinds), np.concatenate(times)


def _traits(population: Population, person: np.ndarray, email: pa.Array) -> pa.Array:
    """Identify traits JSON per person (email, title, name, company for B2B people), built with Arrow compute."""
    people, accounts = population.people, population.accounts
    account = people.account[person]
    company = np.where(account >= 0, ',"company":"' + accounts.name[np.maximum(account, 0)] + '"', "")
    pieces = ['{"email":"', email, '","title":"', pa.array(people.title[person], type=pa.string()), '","name":"',
              pa.array(people.full_name[person], type=pa.string()), '"', pa.array(company, type=pa.string()), "}"]
    return pc.binary_join_element_wise(*pieces, "")


def _identity_calls(rng: np.random.Generator, population: Population, rows: CallRows, user_ids: list[str], old_owner: list[int]) -> dict:
    """Identify on every device, group calls for B2B people, legacy aliases, and the planted traps."""
    people, devices, accounts = population.people, population.devices, population.accounts
    n_people, kiosk = len(people), len(devices)
    everyone = np.arange(n_people)
    person_traits = _traits(population, everyone, pa.array(people.email, type=pa.string()))
    texts = {"traits": [person_traits], "previous_id": [pa.nulls(n_people, pa.string())], "group_id": [pa.nulls(n_people, pa.string())]}
    size = n_people

    def add_texts(column: str, values: pa.Array) -> int:
        nonlocal size
        for name in texts:
            texts[name].append(values if name == column else pa.nulls(len(values), pa.string()))
        first, size = size, size + len(values)
        return first

    group_base = add_texts("group_id", pa.array(accounts.account_id, type=pa.string()))

    signs_in = np.flatnonzero(devices.identify_ms >= 0)
    owner = devices.person[signs_in]
    rows.add(spec.IDENTIFY, owner, signs_in, devices.identify_ms[signs_in], owner, owner, primary=True)
    first = devices.first
    b2b = np.flatnonzero(people.identifies & (people.account >= 0))
    rows.add(spec.GROUP, b2b, first[b2b], devices.identify_ms[first[b2b]] + 30_000, b2b, group_base + people.account[b2b])

    identified = np.flatnonzero(people.identifies)
    chosen = rng.permutation(identified)
    sizes = [spec.KIOSK_PEOPLE, spec.GENERIC_EMAIL_PEOPLE, spec.ALIAS_CHAIN_PEOPLE, spec.EMAIL_CASE_PEOPLE]
    bounds = np.cumsum([0, *sizes])
    kiosk_people, generic, chains, cased = (np.sort(chosen[a:b]) for a, b in zip(bounds[:-1], bounds[1:]))
    legacy = np.sort(chosen[bounds[-1]:bounds[-1] + max(3, int(identified.size * spec.LEGACY_ALIAS_SHARE))])
    signed_in = devices.identify_ms[first]

    # the kiosk: each of 50 people browses anonymously on it, then signs in on it
    window = people.end_ms[kiosk_people] - people.start_ms[kiosk_people]
    visit = people.start_ms[kiosk_people] + (rng.random(kiosk_people.size) * window).astype(np.int64)
    rows.add(spec.IDENTIFY, kiosk_people, kiosk, visit + 60_000, kiosk_people, kiosk_people)
    # a generic email many people type in
    generic_base = add_texts("traits", _traits(population, generic, pa.array([GENERIC_EMAIL] * generic.size, type=pa.string())))
    rows.add(spec.IDENTIFY, generic, first[generic], signed_in[generic] + 120_000, generic, generic_base + np.arange(generic.size))
    # the same email in other case and surrounding spaces
    shouted = [f"  {email.split('@')[0].title()}@{email.split('@')[1].title()} " for email in people.email[cased]]
    cased_base = add_texts("traits", _traits(population, cased, pa.array(shouted, type=pa.string())))
    rows.add(spec.IDENTIFY, cased, first[cased], signed_in[cased] + 150_000, cased, cased_base + np.arange(cased.size))
    # alias chains: chain_1 -> chain_2 -> ... -> chain_5 -> the user id
    for person in chains.tolist():
        links = [f"chain_{person:07d}_{step}" for step in range(1, spec.ALIAS_CHAIN_DEPTH + 1)]
        codes = list(range(len(user_ids), len(user_ids) + len(links))) + [person]
        user_ids += links
        old_owner += [person] * len(links)
        link_base = add_texts("previous_id", pa.array(links, type=pa.string()))
        steps = np.arange(spec.ALIAS_CHAIN_DEPTH)
        rows.add(spec.ALIAS, np.full(steps.size, person), -1, signed_in[person] + 200_000 + steps * 10_000,
                 np.array(codes[1:]), link_base + steps)
    # legacy ids from before the current user ids
    old = text.ids("legacy_", legacy, 7)
    user_ids += list(old)
    old_owner += legacy.tolist()
    legacy_base = add_texts("previous_id", pa.array(old, type=pa.string()))
    rows.add(spec.ALIAS, legacy, first[legacy], signed_in[legacy] + 90_000, legacy, legacy_base + np.arange(legacy.size))

    call_texts = CallTexts(*(pa.concat_arrays(texts[name]) for name in ("traits", "previous_id", "group_id")))
    traps = {"shared_device": kiosk_people, "generic_email": generic, "alias_chain": chains, "email_case": cased}
    return {"traps": traps, "kiosk_pages": (kiosk_people, visit), "texts": call_texts}


def _argsort_unique(key: np.ndarray) -> np.ndarray:
    """Sort order of int64 keys that is the same on every machine: ties (rare) are broken by position."""
    order = np.argsort(key)
    ranked = key[order]
    if ranked.size > 1 and (ranked[1:] == ranked[:-1]).any():
        order = np.argsort(key, kind="stable")
    return order


def _space_out(person: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order calls by (person, time) and push them apart to at least MIN_GAP_MS within a person.

    Returns the order and the new times (in that order). A running maximum of
    `t - gap * rank` per person is the smallest shift that keeps the order and
    the gap; persons are separated by adding a large offset per person.
    """
    base = int(t.min()) if t.size else 0
    order = _argsort_unique((person.astype(np.int64) << 36) | (t - base))
    person, t = person[order], t[order] - base
    starts = np.r_[0, np.flatnonzero(person[1:] != person[:-1]) + 1]
    rank = np.arange(person.size) - np.repeat(starts, np.diff(np.r_[starts, person.size]))
    lane = person.astype(np.int64) << 37  # wider than any one person's span of shifted times
    spaced = np.maximum.accumulate(t - MIN_GAP_MS * rank + lane) - lane + MIN_GAP_MS * rank + base
    return order, spaced


def build(rng: np.random.Generator, population: Population, events: int) -> Timeline:
    """Every valid call of every person, sorted by time."""
    people, devices = population.people, population.devices
    orders = _orders(rng, population)
    bulk_person, bulk_kind, bulk_t = _bulk(rng, population, events)
    forced_person, forced_kind, forced_t = _forced(rng, population)
    completed = np.flatnonzero(orders.status == "completed")

    rows = CallRows({})
    user_ids: list[str] = list(people.user_id)
    old_owner: list[int] = []
    planted = _identity_calls(rng, population, rows, user_ids, old_owner)
    kiosk_person, kiosk_t = planted["kiosk_pages"]
    call_person = rows.array("person")

    person = np.concatenate([bulk_person, forced_person, orders.person[completed], kiosk_person, call_person])
    t = np.concatenate([bulk_t, forced_t, orders.t_ms[completed], kiosk_t, rows.array("t_ms")]).astype(np.int64)
    kind = np.concatenate([bulk_kind, forced_kind, np.full(completed.size, spec.KIND["Order Completed"], np.int16),
                           np.full(kiosk_person.size, spec.KIND["Home"], np.int16), rows.array("kind").astype(np.int16)])
    n_bulk = bulk_person.size + forced_person.size
    n_plain = n_bulk + completed.size + kiosk_person.size
    device = np.concatenate([
        devices.first[person[:n_bulk]] + (rng.random(n_bulk) * devices.count[person[:n_bulk]]).astype(np.int64),
        devices.first[orders.person[completed]],  # a purchase is made signed in, on the first device
        np.full(kiosk_person.size, len(devices)),
        rows.array("device"),
    ])
    call = np.concatenate([np.full(n_plain, -1), rows.array("text")])
    order = np.concatenate([np.full(n_bulk, -1), completed, np.full(kiosk_person.size + call_person.size, -1)])
    eligible = np.zeros(person.size, bool)
    eligible[:n_bulk + completed.size] = True

    spaced_order, spaced_t = _space_out(person, t)
    t[spaced_order] = spaced_t

    # a device's calls carry the userId once the person has signed in on it
    signed_in = np.full(len(devices) + 1, NEVER, dtype=np.int64)
    primary = n_plain + np.flatnonzero(rows.array("primary"))
    signed_in[device[primary]] = t[primary]
    has_user = (device >= 0) & (t > signed_in[np.where(device >= 0, device, len(devices))])
    user = np.where(has_user | (order >= 0), person, -1)
    user[n_plain:] = rows.array("user")

    by_time = _argsort_unique((t - t.min()) * len(people) + person)
    return Timeline(
        t_ms=t[by_time],
        person=person[by_time].astype(np.int32),
        device=device[by_time].astype(np.int32),
        kind=kind[by_time],
        call=call[by_time].astype(np.int32),
        user=user[by_time].astype(np.int32),
        order=order[by_time].astype(np.int32),
        eligible=eligible[by_time],
        call_texts=planted["texts"],
        user_ids=np.asarray(user_ids, dtype=object),
        old_id_person=np.asarray(old_owner, dtype=np.int64),
        orders=orders,
        traps=planted["traps"],
    )
