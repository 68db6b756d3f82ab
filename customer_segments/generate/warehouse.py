"""The demo events in the shape Segment's (and RudderStack's) warehouse destinations write them.

`python -m customer_segments.generate --format segment-warehouse` renders the
same lines as `--format parquet` (same seed, same people, same faults except
malformed JSON, which a table cannot hold) and then lays them out as a
warehouse export under `<out>/warehouse/`, one Parquet file per table:

- `tracks`, `pages`, `screens`, `identifies`, `aliases`, `groups`: one row per
  call of that type, `id` the message id, `context_*` the flattened context,
  timestamps typed (a text that is no timestamp reads as null, as staging
  would judge it);
- one table per track event, named by its `event` value (the event name in
  snake case: `Product Viewed` -> `product_viewed`), holding the same rows
  with the properties as columns; `event_text` keeps the name as sent;
- traits as columns of identifies and groups, page properties as columns of
  pages and screens.

A line whose type is none of the six cannot be placed in a table and is left
out (the file build quarantines it as invalid_type); the manifest counts them.
Column names are those of Segment's destination; docs/own-data.md says where
RudderStack's differ.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

#: table -> message type
TABLES = {"tracks": "track", "pages": "page", "screens": "screen", "identifies": "identify",
          "aliases": "alias", "groups": "group"}
#: names no per-event table may take (the destinations' own tables)
RESERVED = set(TABLES) | {"users", "accounts"}
#: the payload column (properties or traits) of each table's rows
PAYLOAD = {"tracks": "properties", "pages": "properties", "screens": "properties", "identifies": "traits",
           "groups": "traits", "aliases": None}
COMMON = """
    messageId as id,
    anonymousId as anonymous_id,
    userId as user_id,
    try_cast("timestamp" as timestamptz) as "timestamp",
    try_cast("timestamp" as timestamptz) as original_timestamp,
    try_cast(sentAt as timestamptz) as sent_at,
    try_cast(receivedAt as timestamptz) as received_at,
    try_cast(receivedAt as timestamptz) as uuid_ts,
    json_extract_string(context, '$.ip') as context_ip,
    json_extract_string(context, '$.page.path') as context_page_path,
    json_extract_string(context, '$.page.url') as context_page_url,
    json_extract_string(context, '$.page.referrer') as context_page_referrer,
    json_extract_string(context, '$.device.id') as context_device_id,
    json_extract_string(context, '$.campaign.source') as context_campaign_source,
    json_extract_string(context, '$.campaign.medium') as context_campaign_medium,
    json_extract_string(context, '$.userAgent') as context_user_agent"""
KNOWN = {"id", "anonymous_id", "user_id", "timestamp", "original_timestamp", "sent_at", "received_at", "uuid_ts",
         "loaded_at", "channel", "event", "event_text", "name", "group_id", "previous_id"}
#: the event as a table name: words split at case changes and non-alphanumerics, lower case, joined by _
SNAKE = ("nullif(left(trim(regexp_replace(lower(regexp_replace(coalesce(event, ''), '([a-z0-9])([A-Z])', '\\1_\\2', 'g')),"
         " '[^a-z0-9]+', '_', 'g'), '_'), 60), '')")


def _payload_columns(connection, rows: str, payload: str) -> list[str]:
    """The payload object's keys in `rows` as typed columns (numbers, booleans, text)."""
    keys = connection.execute(
        f"select distinct unnest(json_keys({payload})) as key from ({rows}) where json_valid({payload}) order by key"
    ).fetchall()
    columns = []
    for (key,) in keys:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", key) or key in KNOWN or key.startswith("context_"):
            continue  # not a column name Segment would keep as is
        path = f"'$.\"{key}\"'"
        types = {row[0] for row in connection.execute(
            f"select distinct json_type({payload}, {path}) from ({rows}) where json_valid({payload})").fetchall()} - {None, "NULL"}
        if types and types <= {"BIGINT", "UBIGINT"}:
            columns.append(f"cast(json_extract({payload}, {path}) as bigint) as {key}")
        elif types and types <= {"BIGINT", "UBIGINT", "DOUBLE"}:
            columns.append(f"cast(json_extract({payload}, {path}) as double) as {key}")
        elif types == {"BOOLEAN"}:
            columns.append(f"cast(json_extract({payload}, {path}) as boolean) as {key}")
        else:
            columns.append(f"json_extract_string({payload}, {path}) as {key}")
    return [f"case when json_valid({payload}) then {column.rsplit(' as ', 1)[0]} end as {column.rsplit(' as ', 1)[1]}"
            for column in columns]


def write_tables(parts: list[Path], folder: Path) -> dict:
    """Lay the Parquet event parts out as warehouse tables in `folder`; returns rows per table and lines left out."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    files = "[" + ", ".join("'" + str(part).replace("'", "''") + "'" for part in parts) + "]"
    written: dict[str, int] = {}
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute("set preserve_insertion_order = true")
        connection.execute(
            f"create temp table lines as select *, lower(trim(type)) as message_type, {SNAKE} as event_table"
            f" from read_parquet({files}, filename = true, file_row_number = true) order by filename, file_row_number"
        )
        left_out = connection.execute(
            "select count(*) from lines where message_type is null or message_type not in ("
            + ", ".join(f"'{type}'" for type in TABLES.values()) + ")").fetchone()[0]

        def write(name: str, sql: str) -> None:
            target = str(folder / f"{name}.parquet").replace("'", "''")
            connection.execute(f"copy ({sql}) to '{target}' (format parquet, compression zstd)")
            written[name] = connection.execute(f"select count(*) from read_parquet('{target}')").fetchone()[0]

        for table, type in TABLES.items():
            rows = f"select * from lines where message_type = '{type}' order by filename, file_row_number"
            own = {
                "tracks": ["event_table as event", "event as event_text"],
                "pages": ["name"], "screens": ["name"],
                "aliases": ["previousId as previous_id"], "groups": ["groupId as group_id"],
            }.get(table, [])
            payload = _payload_columns(connection, rows, PAYLOAD[table]) if PAYLOAD[table] and table != "tracks" else []
            write(table, f"select {', '.join([COMMON] + own + payload)} from ({rows}) as calls")
        names = [row[0] for row in connection.execute(
            "select distinct event_table from lines where message_type = 'track' and event_table is not null order by 1"
        ).fetchall() if row[0] not in RESERVED]
        for name in names:
            rows = (f"select * from lines where message_type = 'track' and event_table = '{name}'"
                    " order by filename, file_row_number")
            payload = _payload_columns(connection, rows, "properties")
            write(name, f"select {COMMON}, event_table as event, event as event_text"
                        f"{''.join(', ' + column for column in payload)} from ({rows}) as calls")
    return {"tables": written, "lines_left_out": int(left_out)}
