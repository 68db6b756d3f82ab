"""Access and portability: everything the warehouse holds about one person, as one JSON document.

A data subject asks "what do you hold about me?" and names one identifier
(an email, a user id, ...). `export_person` resolves it to one person of the
identity graph and gathers, read-only, what the build derived about them:
identifiers, traits, account, scores, segments with why they are in them,
segment history, consent, orders, an event summary and id changes.

Why these choices:
- Resolving the identifier and reading the records is the person lookup
  (customer_segments/lookup.py), shared with `segments explain`: identifiers
  in plaintext with how each is published, an identifier that could mean
  several people never guessed (`AmbiguousIdentifier`), and a section whose
  table is missing null and listed in `unavailable`, never a crash.
- The document depends on the person, not on the identifier used to find
  them: exporting by their email or by their user id gives the same document
  (apart from `exported_at`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

# export_person raises the lookup's errors: a caller of the export catches them from here (access.AccessError).
from customer_segments.lookup import (  # noqa: F401
    IDENTITY_TABLE,
    PROJECT_ROOT,
    AccessError,
    AmbiguousIdentifier,
    PersonNotFound,
    PersonRecords,
    WarehouseIncomplete,
    json_value,
    resolve_person,
    to_json,
)

NOTES = (
    "Timestamps are UTC (ISO-8601); decimals are numbers.",
    "identifiers are the values the identity graph matched on (trimmed; emails lower-cased).",
    "events_summary counts the person's events by canonical event; the events themselves "
    "(pages, IP addresses, user agents) are held in the warehouse and not listed here.",
    "segments.why gives the segment's definition and the person's values of the score "
    "columns its rule reads; account_segments are segments the person's account is in.",
    "People erased on request cannot be found, by design.",
)


def export_person(
    connection: duckdb.DuckDBPyConnection,
    value: str,
    identifier_type: str | None = None,
    *,
    project_root: Path = PROJECT_ROOT,
    exported_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Everything the warehouse holds about the person the identifier belongs to, JSON-ready.

    `project_root` is where the segment catalog's SQL is read from (for `why`).
    Raises PersonNotFound, AmbiguousIdentifier or WarehouseIncomplete (all AccessError).
    """
    person_id = resolve_person(connection, value, identifier_type)
    return document(PersonRecords(connection, person_id, project_root), exported_at or dt.datetime.now(dt.timezone.utc))


def document(records: PersonRecords, exported_at: dt.datetime) -> dict[str, Any]:
    """The access export of the person `records` reads: every section, and the ones that were unavailable."""
    pid = records.person_id
    build = records.section("build", ["int_build_context"], lambda: records.row("select * from int_build_context"))
    identifiers = records.section("identifiers", [IDENTITY_TABLE], records.identifiers)
    traits = records.traits()
    account = records.account()
    account_id = account["account_id"] if account else None
    scores = records.section(
        "scores", ["person_scores"], lambda: records.row("select * from person_scores where person_id = ?", [pid])
    )
    segments = records.section("segments", ["segment_members", "segments"], lambda: records.segments("person", [pid], scores))
    account_segments = records.section(
        "account_segments",
        ["segment_members", "segments"],
        lambda: records.segments("account", [account_id], (account or {}).get("scores")) if account_id else [],
    )
    return {
        "person_id": pid,
        "exported_at": json_value(exported_at),
        "as_of": build["as_of"] if build else None,
        "build": build,
        "identifiers": identifiers,
        "traits": traits,
        "account": account,
        "scores": scores,
        "segments": segments,
        "account_segments": account_segments,
        "segment_history": records.section(
            "segment_history", ["segment_member_changes"], lambda: records.segment_history(account_id)
        ),
        "consent_records": records.section("consent_records", ["int_consent_latest", IDENTITY_TABLE], records.consent),
        "orders": records.section(
            "orders",
            ["int_orders_attributed"],
            lambda: records.rows(
                "select * from int_orders_attributed where person_id = ? order by ordered_at, order_id", [pid]
            ),
        ),
        "events_summary": records.section("events_summary", ["int_events_attributed"], records.events_summary),
        "identity_merges": records.section("identity_merges", ["identity_person_merges"], records.identity_merges),
        "notes": list(NOTES),
        "unavailable": records.unavailable,
    }
