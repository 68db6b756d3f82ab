"""The ground truth: who is really behind every identifier, and where every fault is.

Files in the truth folder:
- people.csv: person_id, persona, account_id, email, user_id, title, seniority, department (what the
  title says, spec.TITLE_VARIANTS; empty when it says nothing), first_seen_at, last_seen_at,
  is_erased, identifies, devices, completed_orders (first/last seen over the valid calls)
- identifiers.csv: identifier_type, identifier_value, person_id, account_id, linkable_group, is_trap, trap
  (shared trap values belong to nobody: empty person_id, is_trap true; linkable_group: the
  identifiers the data itself can link: the person for people who identify, one group per
  device for visitors who never do)
- accounts.csv: account_id, domain, industry, employee_count, is_icp, people, identified_people, high_intent_people,
  surging_intent (a fresh 85-100 signal on spec.SURGING_TOPIC)
- technographics.csv, intent_signals.csv: the third-party rows as generated, before faults (faults.csv
  names the rows broken, by account domain)
- traps.csv: trap, person_id (the people involved in each planted identity trap)
- faults.csv: source, fault, message_id, record_id, file, line, true_utc, raw_spelling, canonical
- manifest.json: counts (raw = valid + duplicates + quarantined, per input)
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_segments.generate import faults as faults_module
from customer_segments.generate import spec, text
from customer_segments.generate.behaviour import GENERIC_EMAIL, KIOSK_ANONYMOUS_ID, KIOSK_DEVICE_ID, Timeline
from customer_segments.generate.population import Population

FAULT_COLUMNS = ["source", "fault", "message_id", "record_id", "file", "line", "true_utc", "raw_spelling", "canonical"]


def write_csv(connection: duckdb.DuckDBPyConnection, table: pa.Table, path: Path) -> None:
    """CSV with a header; fields quoted only where needed; null -> empty field."""
    connection.register("csv_table", table)
    connection.execute(f"copy (select * from csv_table) to '{path}' (format csv, header true)")
    connection.unregister("csv_table")


def _strings(matrix: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Fixed-width texts as an Arrow string column, null where not `valid`."""
    return pc.if_else(pa.array(valid), text.strings(matrix).cast(pa.string()), pa.scalar(None, pa.string()))


def event_faults(timeline: Timeline, plan: faults_module.EventPlan, lines: faults_module.Lines,
                 message_bytes: np.ndarray, files: list[tuple[str, int, int]]) -> tuple[pa.Table, dict]:
    """One row per faulty event line (in file order), and the manifest's events section."""
    copy = lines.copy
    fault = np.where(copy == faults_module.COPY_ORIGINAL, plan.fault[lines.source], -1)
    position = np.flatnonzero((copy > 0) | (fault >= 0))
    src, row_copy, row_fault = lines.source[position], copy[position], fault[position]
    names = faults_module.FAULTS + ["duplicate_message_id", "double_fire", "malformed_json"]
    code = np.where(row_copy > 0, len(faults_module.FAULTS) + row_copy - 1, row_fault).astype(np.int64)
    broken = row_copy == faults_module.COPY_MALFORMED
    starts = np.array([lo for _name, lo, _hi in files])
    part = np.searchsorted(starts, position, side="right") - 1
    mixed = code == faults_module.FAULTS.index("mixed_timezone")
    spelled = code == faults_module.FAULTS.index("spelling_variant")
    kind = timeline.kind[src].astype(np.int64)
    variant_of = np.cumsum([0] + [len(v) for v in faults_module.VARIANTS])  # first variant of each catalog kind
    variant_code = variant_of[np.minimum(kind, len(faults_module.VARIANTS) - 1)] + plan.param[src]
    spellings = pa.array([v for variants in faults_module.VARIANTS for v in variants], type=pa.string())
    canonicals = pa.array([c for _t, _n, c in spec.CATALOG], type=pa.string())
    kind_index = np.minimum(kind, len(spec.CATALOG) - 1)
    table = pa.table({
        "source": pa.array(["events"] * 1, type=pa.string()).take(pa.array(np.zeros(position.size, np.int64))),
        "fault": pa.array(names, type=pa.string()).take(pa.array(code)),
        "message_id": _strings(text.hex_text(message_bytes[lines.message[position]]), ~broken),
        "record_id": pa.nulls(position.size, pa.string()),
        "file": pa.array([name for name, _lo, _hi in files], type=pa.string()).take(pa.array(part, mask=~broken)),
        "line": pa.array(position - starts[part] + 1, mask=~broken, type=pa.int64()),
        "true_utc": _strings(text.join(text.iso_ms(timeline.t_ms[src]), "Z", rows=position.size), mixed),
        "raw_spelling": spellings.take(pa.array(np.where(spelled, variant_code, 0), mask=~spelled)),
        "canonical": canonicals.take(pa.array(kind_index, mask=~spelled)),
    })

    counts = np.bincount(code, minlength=len(names))
    count = lambda fault_name: int(counts[names.index(fault_name)])  # noqa: E731
    quarantined = {n: count(n) for n in [*faults_module.QUARANTINE, "malformed_json"]}
    duplicates = {n: count(n) for n in ("duplicate_message_id", "double_fire")}
    quirks = {n: count(n) for n in [*faults_module.QUIRKS, "spelling_variant"]}
    pairs = np.bincount(variant_code[spelled], minlength=len(spellings))
    canonical_of_variant = np.repeat(np.arange(len(faults_module.VARIANTS)), [len(v) for v in faults_module.VARIANTS])
    spelling_counts = sorted(
        (spellings[index].as_py(), spec.CATALOG[canonical_of_variant[index]][2], int(pairs[index]))
        for index in np.flatnonzero(pairs)
    )
    total = int(copy.size)
    section = {
        "raw_lines": total,
        "valid_distinct": total - sum(quarantined.values()) - sum(duplicates.values()),
        "files": len(files),
        "duplicates": duplicates,
        "quarantined": quarantined,
        "kept_with_quirks": quirks,
        "spelling_variants": [{"raw_spelling": r, "canonical": c, "count": n} for r, c, n in spelling_counts],
    }
    return table, section


def _seen(timeline: Timeline, plan: faults_module.EventPlan, people: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last time of each person's calls that keep their true timestamp (not quarantined)."""
    quarantine_codes = [faults_module.FAULTS.index(n) for n in faults_module.QUARANTINE]
    keep = ~np.isin(plan.fault, quarantine_codes)
    person, t = timeline.person[keep], timeline.t_ms[keep]
    first = np.full(people, np.iinfo(np.int64).max)
    last = np.full(people, -1, dtype=np.int64)
    np.minimum.at(first, person, t)
    np.maximum.at(last, person, t)
    return first, last


def write(connection: duckdb.DuckDBPyConnection, folder: Path, population: Population, timeline: Timeline,
          plan: faults_module.EventPlan, contact_people: np.ndarray, erased_people: np.ndarray,
          faults_table: pa.Table, manifest: dict, third_party: dict | None = None) -> None:
    """Write every ground-truth file into `folder`."""
    people, accounts, devices = population.people, population.accounts, population.devices
    n = len(people)
    account_id = np.where(people.account >= 0, accounts.account_id[np.maximum(people.account, 0)], None)
    first, last = _seen(timeline, plan, n)
    seen = last >= 0
    completed = np.bincount(timeline.orders.person[timeline.orders.status == "completed"], minlength=n)
    write_csv(connection, pa.table({
        "person_id": pa.array(people.person_id, type=pa.string()),
        "persona": pa.array([spec.PERSONAS[p].name for p in people.persona.tolist()], type=pa.string()),
        "account_id": pa.array(account_id, type=pa.string()),
        "email": pa.array(people.email, type=pa.string()),
        "user_id": pa.array(people.user_id, type=pa.string()),
        "title": pa.array(people.title, type=pa.string()),
        "seniority": pa.array(people.seniority if people.seniority is not None else [None] * n, type=pa.string()),
        "department": pa.array(people.department if people.department is not None else [None] * n, type=pa.string()),
        "first_seen_at": _strings(text.join(text.iso_ms(np.where(seen, first, 0)), "Z", rows=n), seen),
        "last_seen_at": _strings(text.join(text.iso_ms(np.maximum(last, 0)), "Z", rows=n), seen),
        "is_erased": pa.array(np.isin(np.arange(n), erased_people)),
        "identifies": pa.array(people.identifies),
        "devices": pa.array(devices.count),
        "completed_orders": pa.array(completed),
    }), folder / "people.csv")

    everyone = np.arange(n)
    groups = [  # (identifier type, values, owning person)
        ("anonymous_id", devices.anonymous_id, devices.person),
        ("device_id", devices.device_id, devices.person),
        ("user_id", people.user_id, everyone),
        ("email", people.email, everyone),
        ("user_id", timeline.user_ids[n:], timeline.old_id_person),
        ("crm_contact_id", text.ids("crm_", contact_people, 7), contact_people),
    ]
    # what the data can link: an identifying person's identifiers all meet in their
    # identify calls; a never-identified visitor's browsers share nothing, so each
    # device (anonymous id + device id) is on its own
    unlinked = ~people.identifies[devices.person]
    device_group = np.where(unlinked, devices.rank + 1, 0)
    device_groups = [device_group, device_group, *[np.zeros(len(v), np.int64) for _k, v, _o in groups[2:]]]
    kinds, values, owners, linkable = [], [], [], []
    for (kind, value, owner), group in zip(groups, device_groups):
        column = pa.array(value, type=pa.string())
        present = np.asarray(column.is_valid())
        kinds.append(np.full(int(present.sum()), len(kinds)))
        values.append(column.filter(pa.array(present)))
        owners.append(np.asarray(owner, dtype=np.int64)[present])
        linkable.append(np.asarray(group, dtype=np.int64)[present])
    owner = np.concatenate(owners)
    suffix = np.concatenate(linkable)
    linkable_group = pc.binary_join_element_wise(
        pa.array(people.person_id, type=pa.string()).take(pa.array(owner)),
        pc.if_else(pa.array(suffix > 0), pc.binary_join_element_wise("/device", pa.array(suffix.astype(str)), ""), ""), "")
    count = owner.size
    kind_names = pa.array([kind for kind, _value, _owner in groups], type=pa.string())
    person_ids = pa.array(people.person_id, type=pa.string())
    account_ids = pa.array(account_id, type=pa.string())
    write_csv(connection, pa.table({
        "identifier_type": pa.concat_arrays([kind_names.take(pa.array(np.concatenate(kinds))),
                                             pa.array(["anonymous_id", "device_id", "email"], type=pa.string())]),
        "identifier_value": pa.concat_arrays([*values, pa.array([KIOSK_ANONYMOUS_ID, KIOSK_DEVICE_ID, GENERIC_EMAIL], type=pa.string())]),
        "person_id": pa.concat_arrays([person_ids.take(pa.array(owner)), pa.nulls(3, pa.string())]),
        "account_id": pa.concat_arrays([account_ids.take(pa.array(owner)), pa.nulls(3, pa.string())]),
        "linkable_group": pa.concat_arrays([linkable_group, pa.nulls(3, pa.string())]),
        "is_trap": pa.array(np.r_[np.zeros(count, bool), np.ones(3, bool)]),
        "trap": pa.concat_arrays([pa.nulls(count, pa.string()), pa.array(["shared_device", "shared_device", "generic_email"], type=pa.string())]),
    }), folder / "identifiers.csv")

    at = people.account >= 0
    per_account = lambda mask: np.bincount(people.account[at & mask], minlength=len(accounts))  # noqa: E731
    write_csv(connection, pa.table({
        "account_id": pa.array(accounts.account_id, type=pa.string()),
        "domain": pa.array(accounts.domain, type=pa.string()),
        "industry": pa.array(accounts.industry, type=pa.string()),
        "employee_count": pa.array(accounts.employee_count),
        "is_icp": pa.array(accounts.is_icp),
        "people": pa.array(per_account(np.ones(n, bool))),
        "identified_people": pa.array(per_account(people.identifies)),
        "high_intent_people": pa.array(per_account(people.persona == spec.PERSONA_INDEX["high_intent"])),
        "surging_intent": pa.array(third_party["surging"] if third_party else np.zeros(len(accounts), bool)),
    }), folder / "accounts.csv")
    for name in ("technographics", "intent_signals"):
        if third_party:
            write_csv(connection, third_party[name], folder / f"{name}.csv")

    trap_names = [name for name, persons in timeline.traps.items() for _ in range(len(persons))]
    trap_people = np.concatenate([np.asarray(p, dtype=np.int64) for p in timeline.traps.values()])
    write_csv(connection, pa.table({
        "trap": pa.array(trap_names, type=pa.string()),
        "person_id": pa.array(people.person_id[trap_people], type=pa.string()),
    }), folder / "traps.csv")
    write_csv(connection, faults_table, folder / "faults.csv")
    write_manifest(folder, manifest)


def write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
