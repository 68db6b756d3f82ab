"""`segments sync`: deliver each destination the entries and exits since its cursor, exactly once.

The cursor of a destination is what it has acknowledged: the table
`activation.destination_members` in the warehouse (one row per segment and
entity the destination holds now). A sync

1. checks the warehouse's last build may be used (passed the data-quality gate
   and finished: the same check as publish), else delivers nothing;
2. sends again, with their own idempotency keys, the batches a previous sync
   left pending (killed, or a receiver that did not answer), oldest first; it
   plans nothing new for a destination while one of its batches is unacknowledged;
3. computes the destination's audience now (`audience`: active segments that
   list the destination's channel, no holdout members, consent, suppressions
   and region applied at delivery time) and its difference with the cursor:
   entries and exits, in batches of `batch_size` per segment;
4. records every batch as `pending` in `sync_log` with its payload and key in
   one transaction, before anything is sent;
5. delivers them in order; each acknowledgement commits, in one transaction,
   the batch's `delivered` status, the cursor's new rows and the removal of its
   payload. A crash anywhere leaves either the batch pending (sent again with
   the same key: the receiver drops the duplicate) or delivered, never both
   or neither.

It holds the build lock (customer_segments.build_lock) for its whole run, so
no build rewrites the warehouse under it and no two syncs interleave.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import duckdb

from customer_segments import lookup, publish
from customer_segments.activation import destinations as destination_types
from customer_segments.activation.config import ActivationConfig, Destination
from customer_segments.activation.identifiers import hashed_email, sha256_hex
from customer_segments.dbt_runner import PROJECT_DIR

SCHEMA = "activation"

_STATE_DDL = (
    f"create schema if not exists warehouse.{SCHEMA}",
    f"""create table if not exists warehouse.{SCHEMA}.destination_members (
        destination varchar not null,
        segment_id varchar not null,
        entity_type varchar not null,
        entity_id varchar not null,
        identifiers varchar,
        build_id varchar not null,
        delivered_at timestamp not null,
        primary key (destination, segment_id, entity_id)
    )""",
    f"""create table if not exists warehouse.{SCHEMA}.pending_batches (
        destination varchar not null,
        batch varchar not null,
        sequence bigint not null,
        payload varchar not null,
        primary key (destination, batch)
    )""",
    f"""create table if not exists warehouse.{SCHEMA}.cursors (
        destination varchar not null primary key,
        build_id varchar not null,
        synced_at timestamp not null
    )""",
)


class SyncError(Exception):
    """Nothing was synced; the message says why, in one line."""


@dataclass
class DestinationResult:
    name: str
    batches: int = 0
    resent: int = 0
    entered: int = 0
    exited: int = 0
    error: str | None = None

    def line(self) -> str:
        resent = f" ({self.resent} resent)" if self.resent else ""
        said = (f"{self.name}: {self.batches} batches{resent}, {self.entered:,} entered, {self.exited:,} exited")
        return said + (f"; stopped: {self.error} (sent again, same key, by the next sync)" if self.error else "")


@dataclass
class SyncResult:
    build_id: str
    destinations: list[DestinationResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.error is None for result in self.destinations)

    def lines(self) -> list[str]:
        if not self.destinations:
            return [f"Sync: build {self.build_id}: no destination selected."]
        return [f"Sync: build {self.build_id}:"] + [f"  {result.line()}" for result in self.destinations]


def sync(warehouse: Path, config: ActivationConfig, *, names: list[str] | None = None, region: str | None = None,
         snapshot: bool = False, deliverer: Callable[[Destination], Any] | None = None) -> SyncResult:
    """Sync the selected destinations of `config` from the warehouse's last good build (see the module doc).

    The caller holds the build lock. `deliverer` builds the object that delivers a destination's batches
    (destinations.for_destination by default; tests pass their own). Raises SyncError when nothing may be
    synced; a destination whose receiver fails is reported in its result and the others still run.
    """
    chosen = config.select(names, region)
    connection = _connect(warehouse)
    try:
        try:
            build = publish._last_good_build(connection)
        except publish.PublishError as problem:
            raise SyncError(f"nothing synced: {problem}") from None
        if not publish.has_table(connection, "sync_log", "warehouse"):
            raise SyncError("the warehouse has no sync_log table: build it with this version of the project first")
        for statement in _STATE_DDL:
            connection.execute(statement)
        result = SyncResult(build["build_id"])
        for destination in chosen:
            sender = (deliverer or destination_types.for_destination)(destination)
            result.destinations.append(
                _sync_destination(connection, destination, sender, build["build_id"], config.restricted_regions, snapshot)
            )
        return result
    finally:
        connection.close()


def _connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise SyncError(f"no warehouse at {warehouse}: run `segments build` first")
    connection = duckdb.connect()
    try:
        connection.execute(f"attach {publish._sql_string(str(warehouse))} as warehouse")
    except duckdb.Error as problem:
        connection.close()
        raise SyncError(f"cannot open the warehouse {warehouse} ({publish._one_line(problem)}); "
                        "if a build or a BI tool holds it, sync when it ends") from None
    return connection


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _sync_destination(connection, destination: Destination, sender, build_id: str, restricted: tuple[str, ...],
                      snapshot: bool) -> DestinationResult:
    result = DestinationResult(destination.name)
    try:
        pending = connection.execute(
            f"select payload from warehouse.{SCHEMA}.pending_batches where destination = ? order by sequence",
            [destination.name],
        ).fetchall()
        for (payload,) in pending:
            _deliver(connection, destination, sender, json.loads(payload), result)
            result.resent += 1
        planned = plan(connection, destination, build_id, restricted, snapshot)
        _record_pending(connection, destination, planned)
        for batch in planned:
            _deliver(connection, destination, sender, batch, result)
        connection.execute(
            f"insert or replace into warehouse.{SCHEMA}.cursors values (?, ?, ?)", [destination.name, build_id, _now()]
        )
    except destination_types.DeliveryFailed as problem:
        result.error = str(problem)
    return result


def _record_pending(connection, destination: Destination, planned: list[dict]) -> None:
    """Every planned batch, pending, with its payload and key: one transaction, before anything is sent."""
    if not planned:
        return
    start = connection.execute(
        f"select coalesce(max(sequence), 0) from warehouse.{SCHEMA}.pending_batches where destination = ?",
        [destination.name],
    ).fetchone()[0]
    now = _now()
    connection.execute("begin")
    try:
        for offset, batch in enumerate(planned, start=1):
            connection.execute(
                f"insert into warehouse.{SCHEMA}.pending_batches values (?, ?, ?, ?)",
                [destination.name, batch["batch"], start + offset, json.dumps(batch, sort_keys=True, default=str)],
            )
            connection.execute(
                "insert into warehouse.main.sync_log "
                "(destination, build_id, segment_id, batch, entered, exited, status, synced_at, attempts, region) "
                "values (?, ?, ?, ?, ?, ?, 'pending', ?, 0, ?)",
                [destination.name, batch["build_id"], batch["segment_id"], batch["batch"], len(batch["entered"]),
                 len(batch["exited"]), now, destination.region],
            )
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise


def _deliver(connection, destination: Destination, sender, batch: dict, result: DestinationResult) -> None:
    """Send one batch; on acknowledgement commit it (status, cursor rows, payload gone) in one transaction."""
    try:
        sender.deliver(batch)
    except destination_types.DeliveryFailed:
        connection.execute(
            "update warehouse.main.sync_log set status = 'failed', synced_at = ?, attempts = attempts + ? "
            "where destination = ? and batch = ?",
            [_now(), getattr(sender, "attempts", 1) or 1, destination.name, batch["batch"]],
        )
        raise
    now = _now()
    name, segment = destination.name, batch["segment_id"]
    connection.execute("begin")
    try:
        if batch.get("snapshot"):
            connection.execute(
                f"delete from warehouse.{SCHEMA}.destination_members where destination = ? and segment_id = ?",
                [name, segment],
            )
        for entity in batch["exited"]:
            connection.execute(
                f"delete from warehouse.{SCHEMA}.destination_members "
                "where destination = ? and segment_id = ? and entity_id = ?",
                [name, segment, entity["entity_id"]],
            )
        if batch["entered"]:
            connection.executemany(
                f"insert or replace into warehouse.{SCHEMA}.destination_members values (?, ?, ?, ?, ?, ?, ?)",
                [[name, segment, e["entity_type"], e["entity_id"], json.dumps(_identifiers(e), sort_keys=True),
                  batch["build_id"], now] for e in batch["entered"]],
            )
        connection.execute(
            "update warehouse.main.sync_log set status = 'delivered', synced_at = ?, attempts = attempts + ? "
            "where destination = ? and batch = ?",
            [now, getattr(sender, "attempts", 1) or 1, name, batch["batch"]],
        )
        connection.execute(
            f"delete from warehouse.{SCHEMA}.pending_batches where destination = ? and batch = ?", [name, batch["batch"]]
        )
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    result.batches += 1
    result.entered += len(batch["entered"])
    result.exited += len(batch["exited"])


def _identifiers(entity: dict) -> dict:
    """What an exit must carry for the receiver to find the entity (an erased person is no longer in people)."""
    return {key: entity[key] for key in ("email_sha256", "account_id") if entity.get(key)}


# ---------------------------------------------------------------------------------------------------------------
# the audience and the plan


def audience_sql(destination: Destination, restricted: tuple[str, ...]) -> tuple[str, list]:
    """Who the destination may hold now: members of active segments that list its channel, never the holdout;
    for people, the segment's purpose allowed by consent (a grant, or no refusal under legitimate interest), no
    suppression on the channel for the purpose, and for ad channels no data-sharing refusal; the region rule:
    a destination with a region gets that region's entities only, one without gets no restricted region's."""
    parameters: list = [destination.channel]
    segment_filter = ""
    if destination.segments is not None:
        segment_filter = "and segments.segment_id in (select unnest(?::varchar[]))"
        parameters.append(list(destination.segments))
    person_only = "and members.entity_type = 'person'" if destination.type in destination_types.TEMPLATES else ""
    if destination.region is not None:
        region_rule = "and entities.region = ?"
        parameters_region = [destination.region]
    else:
        region_rule = "and (entities.region is null or entities.region not in (select unnest(?::varchar[])))"
        parameters_region = [list(restricted)]
    sql = f"""
        with segment_rows as (
            select segment_id, name, motion, owner, purpose, lawful_basis, model_name, profile
            from warehouse.main.segments as segments
            where status = 'active'
                and list_contains(string_split(coalesce(channels, ''), ','), ?)
                {segment_filter}
        ),
        members as (
            select members.segment_id, members.entity_type, members.entity_id
            from warehouse.main.segment_members as members
            inner join segment_rows on members.segment_id = segment_rows.segment_id
            where not members.is_holdout
                {person_only}
        ),
        entities as (
            select
                members.segment_id,
                members.entity_type,
                members.entity_id,
                people.email,
                coalesce(people.account_id, accounts.account_id) as account_id,
                coalesce(person_accounts.account_name, accounts.account_name) as account_name,
                case when members.entity_type = 'person' then people.region else accounts.region end as region,
                case segment_rows.purpose
                    when 'marketing' then people.consent_marketing
                    when 'personalization' then people.consent_personalization
                    when 'analytics' then people.consent_analytics
                    when 'data_sharing' then people.consent_data_sharing
                end as consent,
                people.consent_data_sharing,
                people.person_id is not null as person_known,
                segment_rows.purpose,
                segment_rows.lawful_basis
            from members
            inner join segment_rows on members.segment_id = segment_rows.segment_id
            left join warehouse.main.people as people
                on members.entity_type = 'person' and people.person_id = members.entity_id
            left join warehouse.main.accounts as person_accounts
                on person_accounts.account_id = people.account_id
            left join warehouse.main.accounts as accounts
                on members.entity_type = 'account' and accounts.account_id = members.entity_id
        )
        select segment_id, entity_type, entity_id, email, account_id, account_name, region
        from entities
        where (
            entity_type <> 'person'
            or (
                person_known
                and case when lawful_basis = 'legitimate_interest' then coalesce(consent, true)
                         else coalesce(consent, false) end
                and (? <> 'ads' or coalesce(consent_data_sharing, true))
                and not exists (
                    select 1 from warehouse.main.suppressions as suppressions
                    where suppressions.person_id = entities.entity_id
                        and suppressions.channel in ('all', ?)
                        and suppressions.purpose in ('all', entities.purpose)
                )
            )
        )
        {region_rule}
        order by segment_id, entity_id
    """
    return sql, [*parameters, destination.channel, destination.channel, *parameters_region]


def audience(connection, destination: Destination, restricted: tuple[str, ...]) -> list[dict]:
    sql, parameters = audience_sql(destination, restricted)
    cursor = connection.execute(sql, parameters)
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    for row in rows:
        row["email_sha256"] = hashed_email(row.pop("email")) if row["entity_type"] == "person" else None
        if row["entity_type"] == "person":
            row["person_id"] = row["entity_id"]
    if destination.type in destination_types.TEMPLATES:
        # an ad platform matches people by their identifiers: someone without one cannot be in its list
        rows = [row for row in rows if row["email_sha256"]]
    return rows


def plan(connection, destination: Destination, build_id: str, restricted: tuple[str, ...],
         snapshot: bool = False) -> list[dict]:
    """The batches that bring the destination from its cursor to the audience now (see the module doc)."""
    wanted = audience(connection, destination, restricted)
    held = {
        (segment, entity): {"entity_type": kind, "entity_id": entity, **json.loads(identifiers or "{}"),
                            **({"person_id": entity} if kind == "person" else {})}
        for segment, kind, entity, identifiers in connection.execute(
            f"select segment_id, entity_type, entity_id, identifiers from warehouse.{SCHEMA}.destination_members "
            "where destination = ?",
            [destination.name],
        ).fetchall()
    }
    wanted_keys = {(row["segment_id"], row["entity_id"]) for row in wanted}
    by_segment: dict[str, dict[str, list[dict]]] = {}
    if snapshot:
        for row in wanted:
            by_segment.setdefault(row["segment_id"], {"entered": [], "exited": []})["entered"].append(row)
    else:
        for row in wanted:
            if (row["segment_id"], row["entity_id"]) not in held:
                by_segment.setdefault(row["segment_id"], {"entered": [], "exited": []})["entered"].append(row)
    for (segment, entity), row in sorted(held.items()):
        if (segment, entity) not in wanted_keys:
            by_segment.setdefault(segment, {"entered": [], "exited": []})["exited"].append(row)
    if not by_segment:
        return []
    meta = _segment_meta(connection, list(by_segment))
    if destination.type == "sales_csv":
        _add_reasons(connection, meta, by_segment)
    run = uuid.uuid4().hex
    batches = []
    size = destination.batch_size if not destination.is_file else None
    for segment in sorted(by_segment):
        changes = by_segment[segment]
        chunks = _chunks(changes["entered"], changes["exited"], size)
        for number, (entered, exited) in enumerate(chunks):
            batches.append({
                "batch": sha256_hex(f"{destination.name}|{run}|{segment}|{number}")[:32],
                "build_id": build_id,
                "segment_id": segment,
                "segment_name": meta.get(segment, {}).get("name"),
                "motion": meta.get(segment, {}).get("motion"),
                "owner": meta.get(segment, {}).get("owner"),
                "snapshot": snapshot,
                "entered": [_entity(row) for row in entered],
                "exited": [_entity(row) for row in exited],
            })
    return batches


def _chunks(entered: list, exited: list, size: int | None) -> list[tuple[list, list]]:
    """Exits first, then entries, `size` changes per batch (one batch when size is None)."""
    changes = [("exited", row) for row in exited] + [("entered", row) for row in entered]
    if size is None or len(changes) <= size:
        return [(entered, exited)]
    chunks = []
    for start in range(0, len(changes), size):
        part = changes[start:start + size]
        chunks.append(([row for kind, row in part if kind == "entered"], [row for kind, row in part if kind == "exited"]))
    return chunks


def _entity(row: dict) -> dict:
    keys = ("entity_type", "entity_id", "person_id", "email_sha256", "account_id", "account_name", "region", "reason")
    return {key: row[key] for key in keys if row.get(key) is not None}


def _segment_meta(connection, segment_ids: list[str]) -> dict[str, dict]:
    cursor = connection.execute(
        "select segment_id, name, motion, owner, entity_type, model_name, profile from warehouse.main.segments "
        "where segment_id in (select unnest(?::varchar[]))",
        [segment_ids],
    )
    names = [column[0] for column in cursor.description]
    return {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}


def _add_reasons(connection, meta: dict[str, dict], by_segment: dict[str, dict[str, list[dict]]]) -> None:
    """Why each entering entity is in its segment, as `segments explain` says it: the segment's definition and
    the entity's values of the score columns its rule reads (lookup.rule_columns on the catalog SQL)."""
    for segment, changes in by_segment.items():
        definition = meta.get(segment, {})
        table, key = ("person_scores", "person_id") if definition.get("entity_type") == "person" else ("account_scores", "account_id")
        source = lookup.catalog_sql_path(PROJECT_DIR, definition.get("model_name"))
        columns = [row[0] for row in connection.execute(
            "select column_name from duckdb_columns() where database_name = 'warehouse' and schema_name = 'main' "
            "and table_name = ? order by column_index", [table],
        ).fetchall()]
        used = lookup.rule_columns(source.read_text(encoding="utf-8"), columns) if source else []
        values: dict[str, dict] = {}
        ids = [row["entity_id"] for row in changes["entered"]]
        if used and ids:
            listed = ", ".join(f'"{column}"' for column in used)
            cursor = connection.execute(
                f"select {key}, {listed} from warehouse.main.{table} where {key} in (select unnest(?::varchar[]))", [ids]
            )
            values = {row[0]: dict(zip(used, row[1:])) for row in cursor.fetchall()}
        for row in changes["entered"]:
            shown = ", ".join(f"{k}={_short(v)}" for k, v in values.get(row["entity_id"], {}).items())
            row["reason"] = (definition.get("profile") or definition.get("name") or segment) + (f" ({shown})" if shown else "")


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
