"""Look one person up in the warehouse: resolve an identifier to a person, and read their records.

A data subject's access request (`segments export-person`, privacy/access.py)
and `segments explain` (explain.py) both start from one identifier (an email,
a user id, ...) and read what the build holds about the person it belongs to.
This module is what they share:

- `resolve_person` finds the one person of the identity graph holding the
  identifier, matched as the graph matches it (trimmed; emails lower-cased).
  A value that several people share (a kiosk device) or a placeholder
  (`test@test.com`) links nobody in the graph (`identity_rejected_edges`), so
  it must not pick anyone: `AmbiguousIdentifier`, never a guess. Showing or
  exporting the wrong person's data would be a breach, not a bug.
- `PersonRecords` reads the person's records section by section, read-only.
  Identifiers are read in plaintext from `int_identity_person_ids`, not from
  the published `person_identifiers`, which may hold pseudonymized (sha256)
  emails; `published_as` says how each one is published. A partial build must
  not crash a lookup: a section whose table is missing is None and listed in
  `unavailable` with the reason.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import re
import uuid
from pathlib import Path
from typing import Any, Callable

import duckdb

#: The repository: the segment catalog's SQL (models/) is read from here for `why`.
PROJECT_ROOT = Path(__file__).resolve().parents[1]

IDENTIFIER_TYPES = ("anonymous_id", "user_id", "email", "device_id", "crm_contact_id")

# Types the graph lower-cases before matching: macro identity_value with the
# default of var identity_lowercase_types. Every type is trimmed.
LOWERCASE_TYPES = frozenset({"email"})

IDENTITY_TABLE = "int_identity_person_ids"

# Columns that identify rows rather than explain a segment rule.
KEY_COLUMNS = frozenset({"person_id", "account_id", "entity_id", "as_of"})

class AccessError(Exception):
    """The person cannot be looked up as asked; the message says why, in one line.

    (Named for the access export, its first user; `segments explain` raises the same errors.)"""


class PersonNotFound(AccessError):
    """No person holds the identifier (erased people included, by design)."""


class AmbiguousIdentifier(AccessError):
    """The identifier could mean several people, or is shared and links nobody."""


class WarehouseIncomplete(AccessError):
    """The warehouse lacks the identity graph, so nobody can be resolved."""


# ---------------------------------------------------------------------------
# Resolving an identifier to a person


def normalize_identifier(connection: duckdb.DuckDBPyConnection, identifier_type: str, value: str) -> str | None:
    """The value as the graph matches it (macro identity_value), computed by the same engine."""
    expression = "nullif(lower(trim(?)), '')" if identifier_type in LOWERCASE_TYPES else "nullif(trim(?), '')"
    return connection.execute(f"select {expression}", [value]).fetchone()[0]


def find_matches(
    connection: duckdb.DuckDBPyConnection, value: str, identifier_type: str | None = None
) -> list[dict[str, Any]]:
    """Every reading of the value: per type, the person holding it, or why nobody can (shared or junk).

    Each match: identifier_type, identifier_value (normalized), person_id (None when the value links
    nobody), and for values that link nobody `reason` (shared_value, junk_value), `people` (how many
    people it was seen with) and `detail`.
    """
    if identifier_type is not None and identifier_type not in IDENTIFIER_TYPES:
        raise AccessError(f"unknown identifier type {identifier_type!r}: use one of {', '.join(IDENTIFIER_TYPES)}")
    tables = table_names(connection)
    if IDENTITY_TABLE not in tables:
        raise WarehouseIncomplete(
            f"the warehouse has no {IDENTITY_TABLE} (the identity graph): run a full build first"
        )
    matches = []
    for kind in [identifier_type] if identifier_type else IDENTIFIER_TYPES:
        normalized = normalize_identifier(connection, kind, value)
        if normalized is None:
            continue
        held = connection.execute(
            f"select distinct person_id from {IDENTITY_TABLE} where identifier_type = ? and identifier_value = ?",
            [kind, normalized],
        ).fetchall()
        for (person_id,) in held:
            matches.append({"identifier_type": kind, "identifier_value": normalized, "person_id": person_id})
        if not held:
            unlinked = _unlinked_value(connection, tables, kind, normalized)
            if unlinked:
                matches.append({"identifier_type": kind, "identifier_value": normalized, "person_id": None, **unlinked})
    return matches


def _unlinked_value(connection, tables: set[str], kind: str, value: str) -> dict[str, Any] | None:
    """Why a value the graph saw belongs to nobody: shared by several people, or a placeholder."""
    if "identity_rejected_edges" in tables:
        row = connection.execute(
            """
            with ends as (
                select reason, detail, to_person_id as other_person_id
                from identity_rejected_edges
                where from_type = ? and from_value = ? and from_person_id is null
                union all
                select reason, detail, from_person_id
                from identity_rejected_edges
                where to_type = ? and to_value = ? and to_person_id is null
            )
            select
                min(reason) filter (where reason = 'junk_value') as junk,
                min(reason) filter (where reason = 'shared_value') as shared,
                min(detail) filter (where reason = 'shared_value') as shared_detail,
                count(distinct other_person_id) as people
            from ends
            where reason in ('junk_value', 'shared_value')
            """,
            [kind, value, kind, value],
        ).fetchone()
        junk, shared, shared_detail, people = row
        if junk or shared:
            return {
                "reason": junk or shared,
                "people": people,
                "detail": "a placeholder or test value" if junk else shared_detail,
            }
    if "int_identity_nodes" in tables:
        junk = connection.execute(
            "select count(*) from int_identity_nodes where identifier_type = ? and identifier_value = ? and is_junk",
            [kind, value],
        ).fetchone()[0]
        if junk:
            return {"reason": "junk_value", "people": 0, "detail": "a placeholder or test value"}
    return None


def resolve_person(connection: duckdb.DuckDBPyConnection, value: str, identifier_type: str | None = None) -> str:
    """The one person the identifier belongs to; raises PersonNotFound or AmbiguousIdentifier otherwise."""
    if not value or not value.strip():
        raise AccessError("the identifier is empty")
    matches = find_matches(connection, value, identifier_type)
    people = sorted({m["person_id"] for m in matches if m["person_id"] is not None})
    unlinked = [m for m in matches if m["person_id"] is None]
    if len(people) == 1 and not unlinked:
        return people[0]
    if not matches:
        where = f"as {identifier_type}" if identifier_type else f"as any identifier type ({', '.join(IDENTIFIER_TYPES)})"
        raise PersonNotFound(
            f"no person found for {value!r} {where}; values are matched trimmed, emails also lower-cased. "
            "People erased on request cannot be found, by design."
        )
    readings = []
    for match in matches:
        if match["person_id"] is not None:
            readings.append(f"as {match['identifier_type']} it belongs to one person")
        elif match["reason"] == "junk_value":
            readings.append(
                f"as {match['identifier_type']} it is a placeholder or test value"
                + (f" seen with {match['people']} people" if match["people"] else "")
                + " and links nobody (identity_rejected_edges: junk_value)"
            )
        else:
            readings.append(
                f"as {match['identifier_type']} it is shared by {match['people']} people "
                f"({match['detail']}) and links nobody (identity_rejected_edges: shared_value)"
            )
    hint = "use an identifier that belongs to the person alone (e.g. their email or user id)"
    if identifier_type is None and len(matches) > 1:
        hint = "pass --type to say which kind of identifier it is, or " + hint
    raise AmbiguousIdentifier(f"{value!r} does not identify one person: {'; '.join(readings)}. Please {hint}.")


def to_json(document: dict[str, Any]) -> str:
    """The document as JSON text (UTF-8, indented, keys in the export's order)."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class PersonRecords:
    """One person's records, each section read independently, so a missing table costs only its section.

    The access export (privacy/access.py) and `segments explain` (explain.py) read the
    same sections (identifiers, traits, account, segments and why, former ids) through it.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, person_id: str, project_root: Path) -> None:
        self.connection = connection
        self.person_id = person_id
        self.project_root = project_root
        self.tables = table_names(connection)
        self.unavailable: list[dict[str, str]] = []
        # ids that merged into this person: their segment history is this person's too
        # (the export's identity_merges notes the table if it is missing)
        try:
            self.former_ids = self.former_person_ids() if "identity_person_merges" in self.tables else []
        except duckdb.Error:
            self.former_ids = []

    # -- plumbing ----------------------------------------------------------

    def section(self, name: str, tables: list[str], build: Callable[[], Any]) -> Any:
        """build() when its tables exist; otherwise None, noted in `unavailable` with the reason."""
        missing = [table for table in tables if table not in self.tables]
        if missing:
            self.unavailable.append({"section": name, "reason": f"not in the warehouse: {', '.join(missing)}"})
            return None
        try:
            return build()
        except duckdb.Error as error:
            self.unavailable.append({"section": name, "reason": str(error).strip().splitlines()[0]})
            return None

    def rows(self, sql: str, parameters: list | None = None, drop: tuple[str, ...] = ("person_id",)) -> list[dict]:
        cursor = self.connection.execute(sql, parameters or [])
        names = [column[0] for column in cursor.description]
        return [
            {name: json_value(cell) for name, cell in zip(names, row) if name not in drop}
            for row in cursor.fetchall()
        ]

    def row(self, sql: str, parameters: list | None = None, drop: tuple[str, ...] = ("person_id",)) -> dict | None:
        found = self.rows(sql, parameters, drop)
        return found[0] if found else None

    # -- sections ----------------------------------------------------------

    def identifiers(self) -> list[dict]:
        found = self.rows(
            f"""
            select identifier_type, identifier_value, first_seen_at, last_seen_at
            from {IDENTITY_TABLE}
            where person_id = ?
            order by identifier_type, identifier_value
            """,
            [self.person_id],
        )
        published = self.section(
            "identifiers.published_as",
            ["person_identifiers"],
            lambda: {
                (r["identifier_type"], r["identifier_value"])
                for r in self.rows(
                    "select identifier_type, identifier_value from person_identifiers where person_id = ?",
                    [self.person_id],
                )
            },
        )
        for identifier in found:
            identifier["published_as"] = None if published is None else published_as(identifier, published)
        return found

    def traits(self) -> dict[str, Any]:
        pid = self.person_id
        traits = self.section("traits", ["people"], lambda: self.row("select * from people where person_id = ?", [pid]))
        traits = dict(traits or {})
        traits["crm_contacts"] = self.section(
            "traits.crm_contacts", ["int_crm_contacts_deduplicated", IDENTITY_TABLE], self.crm_contacts
        )
        traits["identify_traits"] = self.section(
            "traits.identify_traits", ["int_events_attributed", "int_events_deduplicated"], self.identify_traits
        )
        traits["email_activity"] = self.section(
            "traits.email_activity", ["int_email_events_deduplicated", IDENTITY_TABLE], self.email_activity
        )
        return traits

    def crm_contacts(self) -> list[dict]:
        return self.rows(
            f"""
            select distinct crm.*
            from int_crm_contacts_deduplicated as crm
            inner join {IDENTITY_TABLE} as ids
                on ids.person_id = ?
                and (
                    (ids.identifier_type = 'crm_contact_id' and ids.identifier_value = nullif(trim(crm.contact_id), ''))
                    or (ids.identifier_type = 'email' and ids.identifier_value = nullif(lower(trim(crm.email)), ''))
                )
            order by crm.contact_id
            """,
            [self.person_id],
        )

    def identify_traits(self) -> list[dict]:
        """Each distinct trait value the person's calls carried (name, title, ...), with first and last time seen."""
        seen: dict[tuple[str, str], dict] = {}
        calls = self.connection.execute(
            """
            select events.traits, events.event_at
            from int_events_attributed as attributed
            inner join int_events_deduplicated as events
                on attributed.message_id = events.message_id
            where attributed.person_id = ?
                and events.traits is not null
            order by events.event_at
            """,
            [self.person_id],
        ).fetchall()
        for text, event_at in calls:
            try:
                traits = json.loads(text)
            except (TypeError, ValueError):
                continue
            if not isinstance(traits, dict):
                continue
            for key, value in traits.items():
                if value is None:
                    continue
                shown = value if isinstance(value, (str, int, float, bool)) else json.dumps(value, sort_keys=True)
                entry = seen.setdefault(
                    (key, json.dumps(shown)),
                    {"trait": key, "value": shown, "calls": 0, "first_seen_at": json_value(event_at)},
                )
                entry["calls"] += 1
                entry["last_seen_at"] = json_value(event_at)
        return [seen[key] for key in sorted(seen)]

    def email_activity(self) -> list[dict]:
        return self.rows(
            f"""
            select
                email_events.event_type,
                count(*) as events,
                count(distinct email_events.campaign_id) as campaigns,
                min(email_events.occurred_at) as first_at,
                max(email_events.occurred_at) as last_at
            from int_email_events_deduplicated as email_events
            inner join {IDENTITY_TABLE} as ids
                on ids.person_id = ?
                and ids.identifier_type = 'email'
                and ids.identifier_value = nullif(lower(trim(email_events.email)), '')
            group by 1
            order by 1
            """,
            [self.person_id],
        )

    def account(self) -> dict[str, Any] | None:
        pid = self.person_id
        links = self.section(
            "account.links",
            ["person_account_links"],
            lambda: self.rows(
                "select * from person_account_links where person_id = ? order by precedence, account_id, method", [pid]
            ),
        )
        account_id = None
        if "people" in self.tables:
            try:
                account_id = self.connection.execute(
                    "select account_id from people where person_id = ?", [pid]
                ).fetchone()
                account_id = account_id[0] if account_id else None
            except duckdb.Error:
                account_id = None
        if account_id is None and links:
            account_id = next((link["account_id"] for link in links if link.get("is_primary")), None)
        return {
            "account_id": account_id,
            "account": self.section(
                "account.account",
                ["accounts"],
                lambda: self.row("select * from accounts where account_id = ?", [account_id]) if account_id else None,
            ),
            "scores": self.section(
                "account.scores",
                ["account_scores"],
                lambda: self.row("select * from account_scores where account_id = ?", [account_id]) if account_id else None,
            ),
            "links": links,
        }

    def segments(self, entity_type: str, entity_ids: list[str], score_row: dict | None) -> list[dict]:
        members = self.rows(
            """
            select
                members.segment_id,
                segments.name,
                segments.owner,
                segments.motion,
                segments.status,
                members.entered_at,
                members.is_holdout,
                members.is_primary,
                members.score,
                segments.profile,
                segments.model_name
            from segment_members as members
            left join segments on members.segment_id = segments.segment_id
            where members.entity_type = ?
                and members.entity_id in (select unnest(?::varchar[]))
            order by members.priority, members.segment_id
            """,
            [entity_type, entity_ids],
        )
        score_table = "person_scores" if entity_type == "person" else "account_scores"
        for member in members:
            profile, model_name = member.pop("profile"), member.pop("model_name")
            member["why"] = self.why(profile, model_name, score_table, score_row)
        return members

    def why(self, profile: str | None, model_name: str | None, score_table: str, score_row: dict | None) -> dict:
        """The segment's definition and the member's values of the score columns its rule reads."""
        source = catalog_sql_path(self.project_root, model_name)
        if score_row is None:
            values, note = None, f"no {score_table} row"
        elif source is None:
            values = {k: v for k, v in score_row.items() if k not in KEY_COLUMNS}
            note = f"all {score_table} columns (the segment's SQL was not found)"
        else:
            used = set(rule_columns(source.read_text(encoding="utf-8"), list(score_row)))
            values = {k: v for k, v in score_row.items() if k in used}
            note = f"{score_table} columns named in its rule"
        return {
            "definition": profile,
            "rule": str(source.relative_to(self.project_root)) if source else None,
            "values": values,
            "values_are": note,
        }

    def segment_history(self, account_id: str | None) -> list[dict]:
        person_ids = [self.person_id, *self.former_ids]
        return self.rows(
            """
            select *
            from segment_member_changes
            where (entity_type = 'person' and entity_id in (select unnest(?::varchar[])))
                or (entity_type = 'account' and entity_id = ?)
            order by changed_at, entity_type, segment_id, change
            """,
            [person_ids, account_id],
        )

    def consent(self) -> list[dict]:
        return self.rows(
            f"""
            select consent.*
            from int_consent_latest as consent
            inner join {IDENTITY_TABLE} as ids
                on ids.person_id = ?
                and consent.subject_type = ids.identifier_type
                and consent.subject_value = ids.identifier_value
            order by consent.purpose, consent.subject_type, consent.subject_value
            """,
            [self.person_id],
        )

    def events_summary(self) -> dict[str, Any]:
        by_event = self.rows(
            """
            select canonical_event, count(*) as events, min(event_at) as first_at, max(event_at) as last_at
            from int_events_attributed
            where person_id = ?
            group by 1
            order by 1 nulls last
            """,
            [self.person_id],
        )
        return {
            "events": sum(row["events"] for row in by_event),
            "first_at": min((row["first_at"] for row in by_event if row["first_at"]), default=None),
            "last_at": max((row["last_at"] for row in by_event if row["last_at"]), default=None),
            "by_event": by_event,
        }

    def former_person_ids(self) -> list[str]:
        """Ids that merged into this person in earlier builds, through chains of merges."""
        known, frontier = {self.person_id}, [self.person_id]
        while frontier:
            found = self.connection.execute(
                """
                select distinct old_person_id from identity_person_merges
                where change = 'merged' and new_person_id in (select unnest(?::varchar[]))
                """,
                [frontier],
            ).fetchall()
            frontier = [old for (old,) in found if old not in known]
            known.update(frontier)
        return sorted(known - {self.person_id})

    def identity_merges(self) -> list[dict]:
        ids = [self.person_id, *self.former_ids]
        return self.rows(
            """
            select * from identity_person_merges
            where old_person_id in (select unnest(?::varchar[])) or new_person_id in (select unnest(?::varchar[]))
            order by changed_at, old_person_id, new_person_id
            """,
            [ids, ids],
            drop=(),
        )


# ---------------------------------------------------------------------------
# Helpers (pure)


def table_names(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables and views of the current schema (where the dev target builds)."""
    return {
        name
        for (name,) in connection.execute(
            "select table_name from information_schema.tables where table_schema = current_schema()"
        ).fetchall()
    }


def published_as(identifier: dict, published: set[tuple[str, str]]) -> str | None:
    """How person_identifiers publishes this identifier: plaintext, sha256 (pseudonymized), or None (not at all)."""
    kind, value = identifier["identifier_type"], identifier["identifier_value"]
    if (kind, value) in published:
        return "plaintext"
    if (kind, hashlib.sha256(value.encode("utf-8")).hexdigest()) in published:
        return "sha256"
    return None


def catalog_sql_path(project_root: Path, model_name: str | None) -> Path | None:
    """The SQL file of a catalog model (models/**/<model_name>.sql), if the project is next to us."""
    if not model_name or not re.fullmatch(r"[A-Za-z0-9_]+", model_name):
        return None
    found = sorted((project_root / "models").rglob(f"{model_name}.sql"))
    return found[0] if found else None


_COMMENTS = re.compile(r"\{#.*?#\}|--[^\n]*", re.DOTALL)


def rule_columns(sql: str, columns: list[str]) -> list[str]:
    """The columns a segment's SQL names outside its comments (keys such as person_id left out)."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", _COMMENTS.sub(" ", sql)))
    return [column for column in columns if column in words and column not in KEY_COLUMNS]


def json_value(value: Any) -> Any:
    """A warehouse value as JSON: ISO-8601 strings for times (UTC, 'Z'), numbers for decimals."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value
