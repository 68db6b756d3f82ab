"""The ground-truth folder: who is really behind every identifier, and every fault.

Files: people.csv (person, persona, account, email, user id, erased?),
identifiers.csv (every identifier value with its true person; shared trap
values belong to nobody and say which trap they are), accounts.csv (with the
hidden ICP label), faults.csv (one row per injected fault) and manifest.json
(counts: raw = valid + duplicates + quarantined, per input).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from customer_segments.generate.behaviour import GENERIC_EMAIL, KIOSK_ANONYMOUS_ID, KIOSK_DEVICE_ID, Behaviour
from customer_segments.generate.population import Population


def write(
    folder: Path,
    population: Population,
    behaviour: Behaviour,
    contact_people: np.ndarray,
    erased_people: np.ndarray,
    faults: pd.DataFrame,
    manifest: dict,
) -> None:
    people = population.people
    accounts = population.accounts
    account_id = np.where(people["account"] >= 0, accounts["account_id"].to_numpy()[np.maximum(people["account"], 0)], None)
    first_seen = pd.to_datetime(people["start"] * 1000, unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame(
        {
            "person_id": people["person_id"],
            "persona": people["persona"],
            "account_id": account_id,
            "email": people["email"],
            "user_id": people["user_id"],
            "title": people["title"],
            "first_seen_at": first_seen,
            "is_erased": people["person"].isin(erased_people),
        }
    ).to_csv(folder / "people.csv", index=False)

    person_id = people["person_id"].to_numpy()
    frames = [
        pd.DataFrame({"identifier_type": "anonymous_id", "identifier_value": population.devices["anonymous_id"],
                      "person": population.devices["person"]}),
        pd.DataFrame({"identifier_type": "device_id", "identifier_value": population.devices["device_id"],
                      "person": population.devices["person"]}),
        pd.DataFrame({"identifier_type": "user_id", "identifier_value": people["user_id"], "person": people["person"]}),
        pd.DataFrame({"identifier_type": "email", "identifier_value": people["email"], "person": people["person"]}),
        pd.DataFrame({"identifier_type": "user_id", "identifier_value": behaviour.chain_ids["user_id"],
                      "person": behaviour.chain_ids["person"]}),
        pd.DataFrame({"identifier_type": "crm_contact_id", "identifier_value": [f"crm_{p:07d}" for p in contact_people],
                      "person": contact_people}),
    ]
    identifiers = pd.concat(frames, ignore_index=True).dropna(subset=["identifier_value"])
    identifiers["person_id"] = person_id[identifiers["person"].to_numpy()]
    identifiers["account_id"] = account_id[identifiers["person"].to_numpy()]
    identifiers["is_trap"] = False
    identifiers["trap"] = None
    traps = pd.DataFrame(
        {
            "identifier_type": ["anonymous_id", "device_id", "email"],
            "identifier_value": [KIOSK_ANONYMOUS_ID, KIOSK_DEVICE_ID, GENERIC_EMAIL],
            "person_id": None,
            "account_id": None,
            "is_trap": True,
            "trap": ["shared_device", "shared_device", "generic_email"],
        }
    )
    identifiers = pd.concat([identifiers.drop(columns="person"), traps], ignore_index=True)
    identifiers.to_csv(folder / "identifiers.csv", index=False)

    pd.DataFrame(
        {
            "account_id": accounts["account_id"],
            "domain": accounts["domain"],
            "industry": accounts["industry"],
            "employee_count": accounts["employee_count"],
            "is_icp": accounts["is_icp"],
        }
    ).to_csv(folder / "accounts.csv", index=False)

    trap_people = [
        {"trap": name, "person_id": person_id[p]} for name, persons in behaviour.traps.items() for p in persons
    ]
    pd.DataFrame(trap_people, columns=["trap", "person_id"]).to_csv(folder / "traps.csv", index=False)
    faults.to_csv(folder / "faults.csv", index=False)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
