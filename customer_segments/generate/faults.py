"""Which rows get which fault, in known amounts, each fault on a disjoint set of rows.

Events: one uniform draw per eligible call picks at most one fault (or an
extra line: a re-delivery, a double fire, a broken line) from consecutive
intervals of [0, 1), so the sets are disjoint by construction and the counts
are whatever the draw gave (every kind at least once). Extra lines copy only
calls that have no fault themselves.

CSV files: a fixed number of rows per fault kind (at least one), broken with
Arrow compute, plus exact copies appended at the end (the original row is
always the earlier one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_segments.generate import spec
from customer_segments.generate.behaviour import Timeline

QUARANTINE = list(spec.QUARANTINE_FAULTS)  # missing_identifier, timestamp_in_future, timestamp_too_old, invalid_type
QUIRKS = list(spec.QUIRKS)  # mixed_timezone, late_arriving, hostile_string
FAULTS = [*QUARANTINE, *QUIRKS, "spelling_variant"]
COPY_ORIGINAL, COPY_REDELIVERED, COPY_DOUBLE_FIRE, COPY_MALFORMED = 0, 1, 2, 3
MALFORMED_KINDS = 5  # truncated, unbalanced braces, plain text, JSON array, binary-ish
FUTURE_MS = int(73 * 365.25 * 86_400_000)  # 2026 -> 2099
TRACK_KINDS = np.array([kind == "track" for kind, _name, _canonical in spec.CATALOG] + [False] * 3)


def _variants(name: str) -> list[str]:
    """Spellings of a track event name that differ only in case, separators or surrounding space."""
    words = name.split()
    styles = [
        "_".join(w.lower() for w in words),  # snake_case
        "".join(w.capitalize() for w in words),  # PascalCase
        words[0].lower() + "".join(w.capitalize() for w in words[1:]),  # camelCase
        name.upper(),  # UPPER CASE
        f"  {name} ",  # surrounding spaces
        "-".join(w.lower() for w in words),  # kebab-case
        ".".join(w.lower() for w in words),  # dot.case
        name.lower(),  # lower case
    ]
    if name == "Page Viewed":
        styles += ["page_view", "pageview"]  # synonyms seen in the wild
    return styles


#: catalog kind -> its variant spellings (empty for page and screen names)
VARIANTS = [_variants(name) if kind == "track" else [] for kind, name, _canonical in spec.CATALOG]


@dataclass
class EventPlan:
    """Per timeline row: the fault, its parameter, the extra line after it, and a time shift (ms)."""

    fault: np.ndarray  # int8 index into FAULTS, -1 none
    param: np.ndarray  # int16: variant style, offset, invalid type, hostile string or malformed kind
    extra: np.ndarray  # int8 COPY_* kind of the extra line after this row, 0 none
    shift_ms: np.ndarray  # int64: late arrival, the 1970 timestamp, re-delivery delay or double-fire delay


@dataclass
class Lines:
    """The output lines in order: which timeline row each copies and which messageId it carries."""

    source: np.ndarray  # int64 timeline row
    copy: np.ndarray  # int8 COPY_* kind
    message: np.ndarray  # int64 message row (uuid): the source row, or a new one for double fires and broken lines
    messages: int  # number of distinct message rows


def _rates() -> list[tuple[str, float]]:
    copies = [("duplicate_message_id", spec.DUPLICATE_MESSAGE_ID_SHARE), ("double_fire", spec.DOUBLE_FIRE_SHARE),
              ("malformed_json", spec.MALFORMED_SHARE)]
    faults = [*spec.QUARANTINE_FAULTS.items(), *spec.QUIRKS.items(), ("spelling_variant", spec.SPELLING_VARIANT_SHARE)]
    return faults + copies


def choose_event_faults(rng: np.random.Generator, timeline: Timeline, enabled: bool, malformed: bool = True) -> EventPlan:
    """Draw the faults of every eligible call (see the module docstring)."""
    n = len(timeline)
    plan = EventPlan(np.full(n, -1, np.int8), np.zeros(n, np.int16), np.zeros(n, np.int8), np.zeros(n, np.int64))
    if not enabled or n == 0:
        return plan
    rates = _rates()
    names = [name for name, _rate in rates]
    draw = np.searchsorted(np.cumsum([rate for _name, rate in rates]), rng.random(n), side="right")
    is_track = TRACK_KINDS[timeline.kind]
    draw[~timeline.eligible] = len(rates)
    draw[(draw == names.index("spelling_variant")) & ~is_track] = len(rates)
    if not malformed:  # Parquet rows cannot hold a broken line
        draw[draw == names.index("malformed_json")] = len(rates)
    for code, name in enumerate(names):  # every kind at least once, even in tiny runs
        if (draw == code).any() or (name == "malformed_json" and not malformed):
            continue
        clean = np.flatnonzero((draw == len(rates)) & timeline.eligible & (is_track if name == "spelling_variant" else True))
        if clean.size:
            draw[rng.choice(clean)] = code

    u = rng.random(n)
    for code, name in enumerate(names):
        rows = np.flatnonzero(draw == code)
        if name in FAULTS:
            plan.fault[rows] = FAULTS.index(name)
        if name == "invalid_type":
            plan.param[rows] = (u[rows] * len(spec.INVALID_TYPES)).astype(np.int16)
        elif name == "mixed_timezone":
            plan.param[rows] = (u[rows] * len(spec.TIMEZONE_OFFSETS)).astype(np.int16)
        elif name == "hostile_string":
            plan.param[rows] = (u[rows] * len(spec.HOSTILE_STRINGS)).astype(np.int16)
        elif name == "spelling_variant":
            styles = np.array([len(v) for v in VARIANTS] + [1, 1, 1])[timeline.kind[rows]]
            plan.param[rows] = (u[rows] * styles).astype(np.int16)
        elif name == "late_arriving":
            plan.shift_ms[rows] = ((2 + 18 * u[rows]) * 86_400_000).astype(np.int64)
        elif name == "timestamp_too_old":
            plan.shift_ms[rows] = (u[rows] * 86_400_000).astype(np.int64)  # the first day of 1970
        elif name == "duplicate_message_id":
            plan.extra[rows] = COPY_REDELIVERED
            plan.shift_ms[rows] = (60_000 + u[rows] * 840_000).astype(np.int64)
        elif name == "double_fire":
            plan.extra[rows] = COPY_DOUBLE_FIRE
            plan.shift_ms[rows] = 1 + (u[rows] * 899).astype(np.int64)
        elif name == "malformed_json":
            plan.extra[rows] = COPY_MALFORMED
            plan.param[rows] = (u[rows] * MALFORMED_KINDS).astype(np.int16)
    return plan


def expand(plan: EventPlan) -> Lines:
    """Output lines: every call, each extra line right after the call it copies."""
    n = plan.extra.size
    repeat = 1 + (plan.extra > 0)
    source = np.repeat(np.arange(n, dtype=np.int64), repeat)
    is_extra = np.zeros(source.size, bool)
    is_extra[1:] = source[1:] == source[:-1]
    copy = np.where(is_extra, plan.extra[source], COPY_ORIGINAL).astype(np.int8)
    new_id = (copy == COPY_DOUBLE_FIRE) | (copy == COPY_MALFORMED)
    message = np.where(new_id, n + np.cumsum(new_id) - 1, source)
    return Lines(source, copy, message, int(n + new_id.sum()))


# --- CSV files -------------------------------------------------------------------------------


def _set(table: pa.Table, column: str, mask: np.ndarray, values) -> pa.Table:
    """Replace `column` where `mask` holds by `values` (a scalar or a column-length array)."""
    index = table.column_names.index(column)
    current = table[column].combine_chunks()
    return table.set_column(index, column, pc.if_else(pa.array(mask), values, current))


#: source -> {fault: how to break the chosen rows}, each leaving the row's other fields valid
CSV_FAULTS = {
    "orders": {
        "invalid_amount": lambda t, m: _set(t, "amount", m, pa.scalar("N/A")),
        "negative_amount": lambda t, m: _set(t, "amount", m, pc.binary_join_element_wise("-", t["amount"].combine_chunks(), "")),
        "invalid_status": lambda t, m: _set(t, "status", m, pa.scalar("shipped")),
        "missing_order_id": lambda t, m: _set(t, "order_id", m, pa.scalar(None, pa.string())),
    },
    "crm_contacts": {
        "missing_contact_id": lambda t, m: _set(t, "contact_id", m, pa.scalar(None, pa.string())),
        "invalid_email": lambda t, m: _set(t, "email", m, pc.replace_substring(t["email"].combine_chunks(), "@", " at ")),
    },
    "email_events": {
        "invalid_event_type": lambda t, m: _set(t, "event_type", m, pa.scalar("opened_twice")),
        "invalid_timestamp": lambda t, m: _set(t, "occurred_at", m, pa.scalar("not-a-date")),
    },
    "consent": {
        "invalid_purpose": lambda t, m: _set(t, "purpose", m, pa.scalar("advertising")),
        "invalid_granted": lambda t, m: _set(t, "granted", m, pa.scalar("maybe")),
    },
    "technographics": {
        "missing_account_domain": lambda t, m: _set(t, "account_domain", m, pa.scalar(None, pa.string())),
        "missing_technology": lambda t, m: _set(t, "technology", m, pa.scalar("  ")),
    },
    "intent_signals": {
        "invalid_score": lambda t, m: _set(t, "score", m, pa.scalar("150")),
        "missing_account_domain": lambda t, m: _set(t, "account_domain", m, pa.scalar(None, pa.string())),
        "invalid_timestamp": lambda t, m: _set(t, "observed_at", m, pa.scalar("last tuesday")),
    },
}
CSV_DUPLICATES = {"orders": "duplicate_order_id", "technographics": "duplicate_technographic",
                  "intent_signals": "duplicate_intent_signal"}
#: the column a fault's truth row names its record by (third-party rows have no id: their account's domain)
RECORD_KEY = {"orders": "order_id", "crm_contacts": "contact_id", "email_events": "email_event_id", "consent": "subject_value",
              "technographics": "account_domain", "intent_signals": "account_domain"}


def inject_csv(rng: np.random.Generator, source: str, table: pa.Table, enabled: bool) -> tuple[pa.Table, dict, list[dict]]:
    """Break a known number of rows per fault kind (disjoint rows) and append exact copies of others.

    Returns the new table, the manifest entry and one ground-truth row per fault.
    """
    kinds = CSV_FAULTS.get(source, {}) if enabled else {}
    duplicate_kind = CSV_DUPLICATES.get(source) if enabled else None
    rows = table.num_rows
    per_kind = max(1, int(round(rows * spec.CSV_FAULT_SHARE))) if rows else 0
    needed = per_kind * (len(kinds) + (1 if duplicate_kind else 0))
    entry = {"raw_rows": rows, "valid": rows, "quarantined": {}, "duplicates": {}}
    if not needed or needed > rows:
        return table, entry, []
    chosen = rng.choice(rows, size=needed, replace=False)
    keys = table[RECORD_KEY[source]].combine_chunks()
    truth = []
    for number, (fault, breaker) in enumerate(kinds.items()):
        picked = np.sort(chosen[number * per_kind:(number + 1) * per_kind])
        truth += [{"source": source, "fault": fault, "record_id": key} for key in keys.take(pa.array(picked)).to_pylist()]
        mask = np.zeros(rows, bool)
        mask[picked] = True
        table = breaker(table, mask)
        entry["quarantined"][fault] = per_kind
    if duplicate_kind:
        copies = np.sort(chosen[len(kinds) * per_kind:])
        truth += [{"source": source, "fault": duplicate_kind, "record_id": key} for key in keys.take(pa.array(copies)).to_pylist()]
        table = pa.concat_tables([table, table.take(pa.array(copies))])
        entry["duplicates"][duplicate_kind] = per_kind
    entry["raw_rows"] = table.num_rows
    entry["valid"] = rows - len(kinds) * per_kind
    return table, entry, truth
