"""The hidden population: accounts, people (with persona), and their devices.

All randomness comes from one numpy Generator, so the same seed gives the same
world. Tables are pandas DataFrames with integer keys; readable ids are
derived from those keys when files are written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from customer_segments.generate import spec


@dataclass
class Population:
    accounts: pd.DataFrame  # account, account_id, name, domain, industry, employee_count, annual_revenue, country, is_icp
    people: pd.DataFrame  # person, person_id, persona, account, user_id, email, start, end (seconds), ...
    devices: pd.DataFrame  # device, person, anonymous_id, device_id, identify_at (seconds or NaN)


def _uuids(rng: np.random.Generator, count: int) -> list[str]:
    """Random UUID-shaped ids (version bits not set: they only need to look and behave like ids)."""
    text = rng.bytes(16 * count).hex()
    return [
        f"{text[i:i + 8]}-{text[i + 8:i + 12]}-{text[i + 12:i + 16]}-{text[i + 16:i + 20]}-{text[i + 20:i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def _accounts(rng: np.random.Generator, count: int) -> pd.DataFrame:
    index = np.arange(count)
    industry = rng.choice(spec.INDUSTRIES, size=count)
    employees = np.round(np.exp(rng.uniform(np.log(5), np.log(20000), size=count))).astype(int)
    revenue = np.round(employees * rng.uniform(50_000, 400_000, size=count), -3)
    country = rng.choice(spec.COUNTRIES, size=count)
    frame = pd.DataFrame(
        {
            "account": index,
            "account_id": [f"acc_{i:05d}" for i in index],
            "name": [f"Company {i:05d}" for i in index],
            "domain": [f"company{i:05d}.example" for i in index],
            "industry": industry,
            "employee_count": employees,
            "annual_revenue": revenue,
            "country": country,
        }
    )
    frame["is_icp"] = frame["industry"].isin(spec.ICP_INDUSTRIES) & frame["employee_count"].between(50, 5000)
    return frame


def _personas(rng: np.random.Generator, count: int) -> np.ndarray:
    """Every persona at least a few times (small runs too), the rest by share."""
    guaranteed = np.repeat(np.arange(len(spec.PERSONAS)), 4)
    shares = np.array([p.share for p in spec.PERSONAS])
    rest = rng.choice(len(spec.PERSONAS), size=count - guaranteed.size, p=shares / shares.sum())
    personas = np.concatenate([guaranteed, rest])
    rng.shuffle(personas)
    return personas


def build(rng: np.random.Generator, people_count: int, end_seconds: int) -> Population:
    """Draw the population. Times are seconds since the Unix epoch (UTC)."""
    accounts = _accounts(rng, max(6, people_count // 20))
    persona = _personas(rng, people_count)
    index = np.arange(people_count)
    profiles = [spec.PERSONAS[p] for p in persona]
    identifies = np.array([p.identifies for p in profiles])
    is_b2b = identifies & (rng.random(people_count) < 0.5)
    account = np.where(is_b2b, rng.integers(0, len(accounts), size=people_count), -1)

    day = 86_400
    active_from = np.array([p.active_from_days_ago for p in profiles]) * day
    active_to = np.array([p.active_to_days_ago for p in profiles]) * day
    # people start at different points of their persona's window
    jitter = rng.uniform(0.0, 0.5, size=people_count) * (active_from - active_to)
    start = end_seconds - active_from + jitter
    end = end_seconds - active_to - rng.uniform(0, 0.05, size=people_count) * (active_from - active_to)

    first = rng.choice(spec.FIRST_NAMES, size=people_count)
    last = rng.choice(spec.LAST_NAMES, size=people_count)
    free_domain = rng.choice(spec.FREE_MAIL_DOMAINS, size=people_count)
    domain = np.where(account >= 0, accounts["domain"].to_numpy()[np.maximum(account, 0)], free_domain)
    email = np.array([f"{f}.{l}{i}@{d}" for f, l, i, d in zip(first, last, index, domain)], dtype=object)
    email[~identifies] = None
    user_id = np.array([f"usr_{i:07d}" if ident else None for i, ident in zip(index, identifies)], dtype=object)

    people = pd.DataFrame(
        {
            "person": index,
            "person_id": [f"p{i:07d}" for i in index],
            "persona": [p.name for p in profiles],
            "persona_index": persona,
            "identifies": identifies,
            "account": account,
            "user_id": user_id,
            "email": email,
            "title": rng.choice(spec.TITLES, size=people_count),
            "start": start,
            "end": end,
            "rate": np.array([p.rate for p in profiles]),
        }
    )

    device_count = rng.integers(1, 4, size=people_count)
    owner = np.repeat(index, device_count)
    first_device = np.r_[0, np.cumsum(device_count)[:-1]]
    device_rank = np.arange(owner.size) - np.repeat(first_device, device_count)
    span = end[owner] - start[owner]
    # each device identifies at some point of the person's activity (the first one early)
    identify_share = np.where(device_rank == 0, rng.uniform(0.05, 0.3, owner.size), rng.uniform(0.2, 0.9, owner.size))
    identify_at = np.where(identifies[owner], start[owner] + identify_share * span, np.nan)
    devices = pd.DataFrame(
        {
            "device": np.arange(owner.size),
            "person": owner,
            "rank": device_rank,
            "identify_at": identify_at,
            "anonymous_id": _uuids(rng, owner.size),
            "device_id": ["dev-" + u[:8] + u[9:13] + u[14:18] for u in _uuids(rng, owner.size)],
        }
    )
    return Population(accounts, people, devices)
