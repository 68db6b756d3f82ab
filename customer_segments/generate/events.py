"""Render the event calls as Segment-Spec JSON lines, with the injected faults.

The heavy lifting (tens of millions of JSON objects) is done by DuckDB from
integer-coded frames; Python only decides, with the seeded Generator, which
rows get which fault. The returned ground truth names every faulty row by
messageId, or by file and line for lines that are not JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from customer_segments.generate import spec
from customer_segments.generate.behaviour import Behaviour
from customer_segments.generate.population import Population

PART_SIZE = 500_000
FAULT_COLUMNS = ["source", "fault", "message_id", "record_id", "file", "line", "true_utc", "raw_spelling", "canonical"]


def _variant(name: str, style: int) -> str:
    """A spelling of `name` that differs only in case, separators or surrounding space."""
    words = name.split()
    return [
        "_".join(w.lower() for w in words),
        "".join(w.capitalize() for w in words),
        words[0].lower() + "".join(w.capitalize() for w in words[1:]),
        name.upper(),
        f"  {name} ",
        "-".join(w.lower() for w in words),
        ".".join(w.lower() for w in words),
    ][style % 7]


def _load_base(connection: duckdb.DuckDBPyConnection, rng: np.random.Generator, population: Population, behaviour: Behaviour) -> int:
    catalog = pd.DataFrame(
        [(index, kind, raw, canonical) for index, (kind, raw, canonical) in enumerate(spec.CATALOG)],
        columns=["kind", "type", "raw", "canonical"],
    )
    bulk = behaviour.events.assign(rnd=rng.integers(0, 2**31 - 1, len(behaviour.events), dtype=np.int64))
    calls = behaviour.calls.assign(rnd=rng.integers(0, 2**31 - 1, len(behaviour.calls), dtype=np.int64))
    people = population.people[["person", "user_id", "account"]]
    devices = population.devices[["device", "rank", "anonymous_id", "device_id"]]
    for name, frame in {"catalog": catalog, "bulk": bulk, "calls": calls, "people": people, "devices": devices}.items():
        connection.register(f"{name}_frame", frame)
    connection.execute(
        """
        create or replace table base as
        select row_number() over (order by t, person, src, idx) - 1 as row_id, *
        from (
            select 0 as src, e.rowid_ as idx, e.person, e.rnd, c.type,
                case when c.type = 'track' then c.raw end as event_name,
                case when c.type <> 'track' then c.raw end as page_name,
                c.canonical, d.anonymous_id, d.device_id, d.rank as device_rank,
                case when e.has_user then p.user_id end as user_id,
                null::varchar as traits_email, null::varchar as traits_title,
                null::varchar as group_id, null::varchar as previous_id, p.account, e.t
            from (select *, row_number() over () as rowid_ from bulk_frame) as e
            join devices_frame as d on e.device = d.device
            join people_frame as p on e.person = p.person
            join catalog_frame as c on e.kind = c.kind
            union all
            select 1, k.rowid_, k.person, k.rnd, k.type, null, k.name,
                case when k.type = 'page' then 'Home_Viewed' end,
                coalesce(k.anonymous_id, d.anonymous_id), coalesce(k.device_id, d.device_id), d.rank,
                k.user_id, k.email, k.title, k.group_id, k.previous_id, p.account, k.t
            from (select *, row_number() over () as rowid_ from calls_frame) as k
            left join devices_frame as d on k.device = d.device
            join people_frame as p on k.person = p.person
        )
        """
    )
    for name in ("catalog", "bulk", "calls", "people", "devices"):
        connection.unregister(f"{name}_frame")
    return connection.execute("select count(*) from base").fetchall()[0][0]


def _assign_faults(connection: duckdb.DuckDBPyConnection, rng: np.random.Generator, rows: int, enabled: bool) -> None:
    """Pick disjoint sets of base rows for each fault and quirk, and the rows to duplicate."""
    columns = {"row_id": [], "fault": [], "variant": [], "shift": []}

    def add(ids: np.ndarray, fault: str, variant=None, shift=None) -> None:
        columns["row_id"].append(ids)
        columns["fault"].append(np.full(ids.size, fault, dtype=object))
        columns["variant"].append(np.asarray(variant if variant is not None else [None] * ids.size, dtype=object))
        columns["shift"].append(np.asarray(shift if shift is not None else np.zeros(ids.size), dtype=np.float64))

    if enabled:
        kinds = connection.execute("select row_id, src, type, event_name from base order by row_id").df()
        bulk = kinds["row_id"].to_numpy()[kinds["src"].to_numpy() == 0]
        order = rng.permutation(bulk)
        taken = 0
        for fault, share in {**spec.QUARANTINE_FAULTS, **spec.QUIRKS}.items():
            count = max(1, int(round(share * bulk.size)))
            ids = order[taken:taken + count]
            taken += count
            if fault == "invalid_type":
                add(ids, fault, variant=rng.choice(["tracking", "", "event", "pageview"], ids.size))
            elif fault == "mixed_timezone":
                add(ids, fault, variant=rng.choice(spec.TIMEZONE_OFFSETS, ids.size))
            elif fault == "late_arriving":
                add(ids, fault, shift=rng.uniform(2, 20, ids.size) * 86_400)
            elif fault == "hostile_string":
                texts = [spec.HOSTILE_STRINGS[i % len(spec.HOSTILE_STRINGS)] for i in range(ids.size)]
                add(ids, fault, variant=[json.dumps({"comment": text, "sku": "SKU-1"}) for text in texts])
            elif fault == "timestamp_too_old":
                add(ids, fault, shift=rng.uniform(0, 86_400, ids.size))
            else:
                add(ids, fault)
        rest = order[taken:]
        is_track = kinds.set_index("row_id").loc[rest, "type"].to_numpy() == "track"
        track_rows = rest[is_track]
        count = max(1, int(round(spec.SPELLING_VARIANT_SHARE * track_rows.size)))
        ids = track_rows[:count]
        names = kinds.set_index("row_id").loc[ids, "event_name"].to_numpy()
        styles = rng.integers(0, 9, ids.size)
        variants = [
            ("page_view" if style == 7 else "pageview") if name == "Page Viewed" and style >= 7 else _variant(name, style)
            for name, style in zip(names, styles)
        ]
        add(ids, "spelling_variant", variant=variants)
        clean = np.setdiff1d(rest, ids)
        clean = rng.permutation(clean)
        duplicates = clean[: max(1, int(round(spec.DUPLICATE_MESSAGE_ID_SHARE * rows)))]
        fires = clean[duplicates.size: duplicates.size + max(1, int(round(spec.DOUBLE_FIRE_SHARE * rows)))]
        add(duplicates, "duplicate_message_id", shift=rng.uniform(60, 900, duplicates.size))
        add(fires, "double_fire", shift=rng.integers(1, 900, fires.size) / 1000.0)
    frame = pd.DataFrame(
        {key: (np.concatenate(values) if values else np.array([], dtype=object if key in ("fault", "variant") else np.int64))
         for key, values in columns.items()}
    )
    if frame.empty:
        frame = pd.DataFrame({"row_id": pd.Series([], dtype="int64"), "fault": pd.Series([], dtype=object),
                              "variant": pd.Series([], dtype=object), "shift": pd.Series([], dtype="float64")})
    connection.register("fault_frame", frame)
    connection.execute("create or replace table fault_rows as select * from fault_frame")
    connection.unregister("fault_frame")


RENDER_SQL = """
create or replace table rendered as
with copies as (
    -- every base row once, plus the re-delivered copies (same messageId, later receivedAt)
    -- and the double fires (new messageId, a few hundred milliseconds later)
    select b.*, f.fault, f.variant, coalesce(f.shift, 0) as shift, 0 as copy_kind, b.row_id as message_row,
        0.0 as t_shift, 0.0 as redelivery
    from base as b
    left join (select * from fault_rows where fault not in ('duplicate_message_id', 'double_fire')) as f using (row_id)
    union all
    select b.*, null, null, 0, 1, b.row_id, 0.0, f.shift
    from base as b join fault_rows as f using (row_id) where f.fault = 'duplicate_message_id'
    union all
    select b.*, null, null, 0, 2, $rows + row_number() over (order by b.row_id), f.shift, 0.0
    from base as b join fault_rows as f using (row_id) where f.fault = 'double_fire'
),
timed as (
    select *,
        make_timestamp(cast(round((t + t_shift) * 1000) as bigint) * 1000) as event_ts,
        (rnd % 3000) / 1000.0 + 0.05 as receive_delay,
        md5('$seed:' || message_row) as message_hash,
        case when page_name is null then null when page_name = 'Home' then '/' else '/' || lower(page_name) end as page_path
    from copies
),
fielded as (
    select *,
        substr(message_hash, 1, 8) || '-' || substr(message_hash, 9, 4) || '-' || substr(message_hash, 13, 4) || '-'
            || substr(message_hash, 17, 4) || '-' || substr(message_hash, 21, 12) as message_id,
        case fault
            when 'timestamp_in_future' then strftime(event_ts + interval 73 year, '%Y-%m-%dT%H:%M:%S.%gZ')
            when 'timestamp_too_old' then strftime(make_timestamp(cast(shift * 1000000 as bigint)), '%Y-%m-%dT%H:%M:%S.%gZ')
            when 'mixed_timezone' then strftime(
                event_ts + to_minutes(cast((case when substr(variant, 1, 1) = '-' then -1 else 1 end)
                    * (cast(substr(variant, 2, 2) as integer) * 60 + cast(substr(variant, 5, 2) as integer)) as bigint)),
                '%Y-%m-%dT%H:%M:%S.%g') || variant
            else strftime(event_ts, '%Y-%m-%dT%H:%M:%S.%gZ')
        end as timestamp_text,
        event_ts + to_milliseconds(cast(receive_delay * 1000 as bigint))
            + to_milliseconds(cast(case when fault = 'late_arriving' then shift else 0 end * 1000 as bigint))
            + to_milliseconds(cast(redelivery * 1000 as bigint)) as received_ts,
        event_ts + to_milliseconds(cast(receive_delay * 500 as bigint)) as sent_ts,
        case
            when fault = 'hostile_string' then variant
            when canonical in ('Product_Viewed', 'Product_Added')
                then '{"sku":"SKU-' || (rnd % 500) || '","price":' || ((rnd // 500) % 20000) / 100.0 || '}'
            when canonical = 'Checkout_Started' then '{"cart_value":' || ((rnd // 7) % 50000) / 100.0 || '}'
            when canonical = 'Order_Completed' then '{"revenue":' || ((rnd // 7) % 50000) / 100.0 || ',"currency":"USD"}'
            when canonical = 'Search_Performed'
                then '{"query":"' || (['pricing', 'api', 'sso', 'export', 'dashboard'])[1 + rnd % 5] || '"}'
            when canonical = 'Feature_Used'
                then '{"feature":"' || (['reports', 'alerts', 'sharing', 'export', 'api'])[1 + rnd % 5] || '"}'
            when canonical = 'Pricing_Viewed' and type = 'track'
                then '{"plan":"' || (['starter', 'pro', 'enterprise'])[1 + rnd % 3] || '"}'
            when type in ('track', 'page', 'screen') then '{}'
        end as properties_text,
        case
            when account >= 0 and (rnd // 7) % 10 < 7 then
                (100 + account // 65536) || '.' || ((account // 256) % 256) || '.' || (account % 256) || '.' || (1 + rnd % 254)
            else
                (180 + rnd % 20) || '.' || ((rnd // 20) % 256) || '.' || ((rnd // 5120) % 256) || '.' || (1 + (rnd // 1310720) % 254)
        end as ip
    from timed
)
select
    row_id, copy_kind, fault, variant, canonical, message_id,
    epoch_ms(received_ts) as received_ms,
    strftime(event_ts, '%Y-%m-%dT%H:%M:%S.%gZ') as true_utc,
    cast(to_json(struct_pack(
        messageId := message_id,
        type := case when fault = 'invalid_type' then variant else type end,
        anonymousId := case when fault = 'missing_identifier' then null else anonymous_id end,
        userId := case when fault = 'missing_identifier' then null else user_id end,
        event := case when fault = 'spelling_variant' then variant else event_name end,
        name := page_name,
        groupId := group_id,
        previousId := previous_id,
        properties := cast(properties_text as json),
        traits := case when type = 'identify' then cast(to_json(struct_pack(email := traits_email, title := traits_title)) as json) end,
        context := struct_pack(
            ip := ip,
            page := case when page_path is not null then struct_pack(
                path := page_path,
                url := 'https://www.example.com' || page_path,
                referrer := case when rnd % 4 = 0 then 'https://www.google.com/' end) end,
            device := case when device_id is not null then struct_pack(id := device_id) end,
            campaign := case when rnd % 10 = 0 then struct_pack(
                source := (['google', 'newsletter', 'linkedin'])[1 + (rnd // 10) % 3],
                medium := (['cpc', 'email', 'social'])[1 + (rnd // 10) % 3]) end,
            userAgent := (['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15',
                           'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0',
                           'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)'])[1 + coalesce(device_rank, 0) % 3]
        ),
        timestamp := timestamp_text,
        sentAt := strftime(sent_ts, '%Y-%m-%dT%H:%M:%S.%gZ'),
        receivedAt := strftime(received_ts, '%Y-%m-%dT%H:%M:%S.%gZ')
    )) as varchar) as line
from fielded
"""


def _malformed(connection: duckdb.DuckDBPyConnection, rng: np.random.Generator, rows: int, enabled: bool) -> None:
    """Lines that are not JSON objects, placed at random among the others."""
    count = max(1, int(round(spec.MALFORMED_SHARE * rows))) if enabled else 0
    kinds = rng.integers(0, 5, count)
    span = connection.execute("select min(received_ms), max(received_ms) from rendered").fetchall()[0]
    received = rng.uniform(span[0], span[1], count).astype(np.int64) if count else np.array([], dtype=np.int64)
    sample = rng.integers(0, rows, count)
    frame = pd.DataFrame({"kind": kinds, "received_ms": received, "source_row": sample, "number": np.arange(count)})
    connection.register("junk_frame", frame)
    connection.execute(
        """
        create or replace table junk as
        select j.number, j.received_ms,
            case j.kind
                when 0 then substr(r.line, 1, length(r.line) // 2)
                when 1 then '{"messageId": "broken-' || j.number || '", "type": "track", "event": "Order Completed"'
                when 2 then 'upstream timeout (504) while forwarding batch ' || j.number
                when 3 then '[{"messageId": "array-' || j.number || '"}]'
                else chr(127) || chr(27) || '[31m' || chr(8) || 'binary ' || chr(7) || j.number || chr(255) || chr(14)
            end as line
        from junk_frame as j join rendered as r on r.row_id = j.source_row and r.copy_kind = 0
        """
    )
    connection.unregister("junk_frame")


def write(
    connection: duckdb.DuckDBPyConnection,
    rng: np.random.Generator,
    population: Population,
    behaviour: Behaviour,
    out_dir: Path,
    seed: int,
    faults: bool,
    fmt: str,
    gzip: bool,
) -> tuple[dict, pd.DataFrame]:
    """Write events/part-*.{jsonl[.gz],parquet}; return the manifest section and the fault truth."""
    rows = _load_base(connection, rng, population, behaviour)
    _assign_faults(connection, rng, rows, faults)
    connection.execute(RENDER_SQL.replace("$rows", str(rows)).replace("$seed", str(int(seed))))
    _malformed(connection, rng, rows, faults and fmt != "parquet")
    connection.execute(
        """
        create or replace table ordered as
        select row_number() over (order by received_ms, kind_order, id) - 1 as position, line, row_id, copy_kind, fault,
            variant, canonical, message_id, true_utc, is_junk
        from (
            select line, received_ms, 0 as kind_order, row_id * 3 + copy_kind as id, row_id, copy_kind, fault, variant,
                canonical, message_id, true_utc, false as is_junk from rendered
            union all
            select line, received_ms, 1, number, null, null, 'malformed_json', null, null, null, null, true from junk
        )
        """
    )
    total = connection.execute("select count(*) from ordered").fetchall()[0][0]
    folder = out_dir / "events"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".parquet" if fmt == "parquet" else (".jsonl.gz" if gzip else ".jsonl")
    parts = max(1, -(-total // PART_SIZE))
    for part in range(parts):
        target = folder / f"part-{part:05d}{suffix}"
        chunk = f"select line from ordered where position // {PART_SIZE} = {part} order by position"
        if fmt == "parquet":
            connection.execute(
                f"""copy (select line->>'messageId' as "messageId", line->>'type' as "type", line->>'anonymousId' as "anonymousId",
                    line->>'userId' as "userId", line->>'event' as "event", line->>'name' as "name",
                    cast(line->'properties' as varchar) as properties, cast(line->'traits' as varchar) as traits,
                    cast(line->'context' as varchar) as context, line->>'groupId' as "groupId",
                    line->>'previousId' as "previousId", line->>'timestamp' as "timestamp",
                    line->>'receivedAt' as "receivedAt", line->>'sentAt' as "sentAt"
                    from ({chunk})) to '{target}' (format parquet)"""
            )
        else:
            options = "format csv, header false, delimiter chr(1), quote chr(2), escape chr(2)"
            if gzip:
                options += ", compression gzip"
            connection.execute(f"copy ({chunk}) to '{target}' ({options})")
    truth = connection.execute(
        f"""
        select 'events' as source,
            case when copy_kind = 1 then 'duplicate_message_id' when copy_kind = 2 then 'double_fire' else fault end as fault,
            message_id, null as record_id,
            case when is_junk then 'events/part-' || lpad(cast(position // {PART_SIZE} as varchar), 5, '0') || '{suffix}' end as file,
            case when is_junk then position % {PART_SIZE} + 1 end as line,
            case when fault = 'mixed_timezone' then true_utc end as true_utc,
            case when fault = 'spelling_variant' then variant end as raw_spelling,
            case when fault = 'spelling_variant' then canonical end as canonical
        from ordered
        where fault is not null or copy_kind > 0
        order by position
        """
    ).df()
    truth["line"] = truth["line"].astype("Int64")
    counts = truth["fault"].value_counts().to_dict()
    quarantined = {name: int(counts.get(name, 0)) for name in [*spec.QUARANTINE_FAULTS, "malformed_json"]}
    duplicates = {name: int(counts.get(name, 0)) for name in ("duplicate_message_id", "double_fire")}
    quirks = {name: int(counts.get(name, 0)) for name in [*spec.QUIRKS, "spelling_variant"]}
    manifest = {
        "raw_lines": int(total),
        "valid_distinct": int(total - sum(quarantined.values()) - sum(duplicates.values())),
        "files": parts,
        "duplicates": duplicates,
        "quarantined": quarantined,
        "kept_with_quirks": quirks,
    }
    return manifest, truth[FAULT_COLUMNS]
