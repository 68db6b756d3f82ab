"""The hidden population: accounts, people (with persona), and their devices.

All randomness comes from one numpy Generator, so the same seed gives the same
world. Columns are numpy arrays (strings as object arrays of str, built once
per person or device, never per event); times are epoch milliseconds (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customer_segments.generate import spec, text

DAY_MS = 86_400_000


@dataclass
class Accounts:
    """B2B accounts; `is_icp` is the hidden fit label the pipeline's fit score should recover."""

    account_id: np.ndarray
    name: np.ndarray
    domain: np.ndarray
    industry: np.ndarray
    employee_count: np.ndarray
    annual_revenue: np.ndarray
    country: np.ndarray
    is_icp: np.ndarray

    def __len__(self) -> int:
        return self.account_id.size


@dataclass
class People:
    """One row per person; `persona` (an index into spec.PERSONAS) drives their behaviour."""

    persona: np.ndarray  # int, index into spec.PERSONAS
    identifies: np.ndarray  # bool: ever sends an identify call
    account: np.ndarray  # int, -1 = not at a B2B account
    start_ms: np.ndarray  # active window (epoch ms)
    end_ms: np.ndarray
    rate: np.ndarray  # relative number of events
    person_id: np.ndarray  # str, p0000123
    user_id: np.ndarray  # str or None
    email: np.ndarray  # str (clean, lower case) or None
    full_name: np.ndarray  # str
    title: np.ndarray  # str
    #: the persona the title says (spec.TITLE_VARIANTS), None when it says none; set by vary_titles
    seniority: np.ndarray | None = None
    department: np.ndarray | None = None

    def __len__(self) -> int:
        return self.persona.size


@dataclass
class Devices:
    """Browsers and phones: each has its own anonymousId and context.device.id."""

    person: np.ndarray
    rank: np.ndarray  # 0 = the person's first device
    identify_ms: np.ndarray  # when the person signs in on it; -1 = never
    anonymous_id: np.ndarray  # str
    device_id: np.ndarray  # str
    first: np.ndarray  # per person: index of their first device
    count: np.ndarray  # per person: number of devices

    def __len__(self) -> int:
        return self.person.size


@dataclass
class Population:
    accounts: Accounts
    people: People
    devices: Devices


def _accounts(rng: np.random.Generator, count: int, end_ms: int) -> Accounts:
    """Firmographics; ICP = software/fintech companies of 50-5,000 employees."""
    index = np.arange(count)
    industry = np.asarray(spec.INDUSTRIES, dtype=object)[rng.integers(0, len(spec.INDUSTRIES), count)]
    employees = np.round(np.exp(rng.uniform(np.log(5), np.log(20_000), count))).astype(np.int64)
    revenue = np.round(employees * rng.uniform(50_000, 400_000, count), -3).astype(np.int64)
    country = np.asarray(spec.COUNTRIES, dtype=object)[rng.integers(0, len(spec.COUNTRIES), count)]
    is_icp = np.isin(industry, list(spec.ICP_INDUSTRIES)) & (employees >= 50) & (employees <= 5000)
    return Accounts(
        account_id=text.ids("acc_", index, 5),
        name=text.ids("Company ", index, 5),
        domain=text.python_strings(text.join("company", text.digits(index, 5), ".example", rows=count)),
        industry=industry,
        employee_count=employees,
        annual_revenue=revenue,
        country=country,
        is_icp=is_icp,
    )


def _personas(rng: np.random.Generator, count: int) -> np.ndarray:
    """Every persona at least a few times (small runs too), the rest by share."""
    guaranteed = np.repeat(np.arange(len(spec.PERSONAS)), 4)
    shares = np.array([p.share for p in spec.PERSONAS])
    rest = rng.choice(len(spec.PERSONAS), size=count - guaranteed.size, p=shares / shares.sum())
    personas = np.concatenate([guaranteed, rest])
    rng.shuffle(personas)
    return personas


def _people(rng: np.random.Generator, count: int, accounts: Accounts, end_ms: int) -> People:
    """Personas, accounts, activity windows and the identity each person will reveal."""
    persona = _personas(rng, count)
    index = np.arange(count)
    identifies = np.array([p.identifies for p in spec.PERSONAS])[persona]
    anonymous_at_work = ~identifies & (rng.random(count) < spec.ANONYMOUS_AT_WORK_SHARE)
    is_b2b = (identifies & (rng.random(count) < spec.B2B_SHARE)) | anonymous_at_work
    account = np.where(is_b2b, rng.integers(0, len(accounts), count), -1)

    active_from = np.array([p.active_from_days_ago for p in spec.PERSONAS])[persona] * DAY_MS
    active_to = np.array([p.active_to_days_ago for p in spec.PERSONAS])[persona] * DAY_MS
    span = active_from - active_to
    # people start at different points of their persona's window and stop a little before its end
    start = (end_ms - active_from + rng.uniform(0.0, 0.5, count) * span).astype(np.int64)
    end = (end_ms - active_to - rng.uniform(0.0, 0.05, count) * span).astype(np.int64)

    first = np.asarray(spec.FIRST_NAMES, dtype=object)[rng.integers(0, len(spec.FIRST_NAMES), count)]
    last = np.asarray(spec.LAST_NAMES, dtype=object)[rng.integers(0, len(spec.LAST_NAMES), count)]
    free = np.asarray(spec.FREE_MAIL_DOMAINS, dtype=object)[rng.integers(0, len(spec.FREE_MAIL_DOMAINS), count)]
    domain = np.where(account >= 0, accounts.domain[np.maximum(account, 0)], free)
    number = text.python_strings(text.digits(index, 6))
    email = first + "." + last + number + "@" + domain
    email[~identifies] = None
    user_id = text.ids("usr_", index, 7)
    user_id[~identifies] = None
    full_name = np.char.capitalize(first.astype(str)).astype(object) + " " + np.char.capitalize(last.astype(str)).astype(object)
    return People(
        persona=persona,
        identifies=identifies,
        account=account,
        start_ms=start,
        end_ms=end,
        rate=np.array([p.rate for p in spec.PERSONAS])[persona],
        person_id=text.ids("p", index, 7),
        user_id=user_id,
        email=email,
        full_name=full_name,
        title=np.asarray(spec.TITLES, dtype=object)[rng.integers(0, len(spec.TITLES), count)],
    )


def _devices(rng: np.random.Generator, people: People) -> Devices:
    """1-3 devices per person; each identifying person signs in on every device at some point."""
    count = rng.integers(1, 4, len(people))
    owner = np.repeat(np.arange(len(people)), count)
    first = np.r_[0, np.cumsum(count)[:-1]]
    rank = np.arange(owner.size) - first[owner]
    span = people.end_ms[owner] - people.start_ms[owner]
    # the first device signs in early, the others some time later
    share = np.where(rank == 0, rng.uniform(0.05, 0.3, owner.size), rng.uniform(0.2, 0.9, owner.size))
    identify_ms = np.where(people.identifies[owner], people.start_ms[owner] + (share * span).astype(np.int64), -1)
    random_bytes = rng.integers(0, 256, (owner.size, 24), dtype=np.uint8)
    return Devices(
        person=owner,
        rank=rank,
        identify_ms=identify_ms,
        anonymous_id=text.python_strings(text.hex_text(random_bytes[:, :16])),
        device_id=text.python_strings(text.join("dev-", text.hex_text(random_bytes[:, 16:], (16,)))),
        first=first,
        count=count,
    )


def build(rng: np.random.Generator, people_count: int, end_ms: int) -> Population:
    """Draw the population: ~people/20 accounts, the people, their devices."""
    accounts = _accounts(rng, max(6, people_count // 20), end_ms)
    people = _people(rng, people_count, accounts, end_ms)
    return Population(accounts, people, _devices(rng, people))


def vary_titles(rng: np.random.Generator, people: People) -> None:
    """Spell people's titles as people do (spec.TITLE_VARIANTS, JUNK_TITLES) and record the persona each says.

    Its own random stream (the caller's `rng` is not the population's), so the rest of the world
    is the same with or without the variants.
    """
    canonical = {title: (title, *variants[0][1:]) for title, variants in spec.TITLE_VARIANTS.items()}
    n = len(people)
    titles = people.title.copy()
    seniority = np.empty(n, dtype=object)
    department = np.empty(n, dtype=object)
    draw = rng.random(n)
    pick = rng.random(n)
    for index, title in enumerate(people.title.tolist()):
        if draw[index] < spec.JUNK_TITLE_SHARE:
            chosen = spec.JUNK_TITLES[int(pick[index] * len(spec.JUNK_TITLES))]
            titles[index] = chosen
            seniority[index], department[index] = spec.JUNK_TITLE_PERSONAS.get(chosen, (None, None))
            continue
        variants = spec.TITLE_VARIANTS[title]
        spelled = variants[int(pick[index] * len(variants))] if draw[index] < spec.TITLE_VARIANT_SHARE else canonical[title]
        titles[index], seniority[index], department[index] = spelled
    people.title, people.seniority, people.department = titles, seniority, department
