"""Render the event calls as Segment-Spec JSON lines, with the injected faults.

Python (numpy) decides everything row by row: the order of the lines (by
time), which rows get which fault, where the re-delivered copies, double fires
and broken lines go. The result is one Arrow table in output order whose text
columns are dictionary-encoded (a user id is stored once, not once per event).
DuckDB then turns each slice of it into JSON lines and writes the file, in
order, with no sort and no join: that is what makes tens of millions of lines
take seconds. The returned ground truth names every faulty row by messageId,
or by file and line for lines that are not JSON.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from customer_segments.generate import spec
from customer_segments.generate.behaviour import KIOSK_ANONYMOUS_ID, KIOSK_DEVICE_ID, Behaviour
from customer_segments.generate.population import Population

PART_SIZE = 500_000
FAULT_COLUMNS = ["source", "fault", "message_id", "record_id", "file", "line", "true_utc", "raw_spelling", "canonical"]
TYPES = ["track", "page", "screen", "identify", "alias", "group"]
INVALID_TYPES = ["tracking", "", "event", "pageview"]
FAULTS = [*spec.QUARANTINE_FAULTS, *spec.QUIRKS, "spelling_variant"]
COPY_ORIGINAL, COPY_REDELIVERED, COPY_DOUBLE_FIRE, COPY_JUNK = 0, 1, 2, 3


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


def _dictionary(codes: np.ndarray, values: list | np.ndarray) -> pa.DictionaryArray:
    """Text column from codes into a list of values; code -1 or a None value is null."""
    values = np.asarray(values, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    null = codes < 0
    if values.size:
        null |= pd.isna(values[np.clip(codes, 0, values.size - 1)])
    filled = np.where(pd.isna(values), "", values).astype(str) if values.size else np.array([], dtype=str)
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=null), pa.array(filled, type=pa.string()))


def _rows(population: Population, behaviour: Behaviour) -> dict[str, np.ndarray]:
    """All valid calls, sorted by time, as integer codes."""
    bulk, calls = behaviour.events, behaviour.calls
    n_bulk = len(bulk)
    t = np.concatenate([bulk["t"].to_numpy(), calls["t"].to_numpy()])
    order = np.argsort(t, kind="stable")
    catalog_type = np.array([TYPES.index(kind) for kind, _name, _canonical in spec.CATALOG])
    call_type = np.array([TYPES.index(kind) for kind in calls["type"]], dtype=np.int64)
    kind = np.concatenate([bulk["kind"].to_numpy().astype(np.int64), np.full(len(calls), -1)])
    call = np.concatenate([np.full(n_bulk, -1), np.arange(len(calls))])
    device = np.concatenate([bulk["device"].to_numpy(), calls["device"].to_numpy().astype(np.int64)])
    return {
        "t": t[order],
        "person": np.concatenate([bulk["person"].to_numpy(), calls["person"].to_numpy()])[order],
        "kind": kind[order],
        "call": call[order],
        "device": device[order],
        "has_user": np.concatenate([bulk["has_user"].to_numpy(), np.zeros(len(calls), bool)])[order],
        "type": np.concatenate([catalog_type[bulk["kind"].to_numpy()], call_type])[order],
    }


def _choose_faults(rng: np.random.Generator, rows: dict, enabled: bool) -> dict:
    """Disjoint row sets per fault and quirk, plus the rows to re-deliver, double-fire, and break."""
    n = rows["t"].size
    fault = np.full(n, -1, dtype=np.int64)
    extra = np.zeros(n, dtype=np.int64)  # copy kind of the extra line after a row, 0 = none
    plan = {"fault": fault, "extra": extra, "shift": np.zeros(n), "variant": np.full(n, None, dtype=object)}
    if not enabled:
        return plan
    eligible = np.flatnonzero(rows["call"] < 0)  # page, screen and track calls; identity calls stay intact
    order = rng.permutation(eligible)
    taken = 0
    for code, (name, share) in enumerate({**spec.QUARANTINE_FAULTS, **spec.QUIRKS}.items()):
        ids = order[taken:taken + max(1, int(round(share * eligible.size)))]
        taken += ids.size
        fault[ids] = code
        if name == "invalid_type":
            plan["variant"][ids] = rng.choice(INVALID_TYPES, ids.size)
        elif name == "mixed_timezone":
            plan["variant"][ids] = rng.choice(spec.TIMEZONE_OFFSETS, ids.size)
        elif name == "late_arriving":
            plan["shift"][ids] = rng.uniform(2, 20, ids.size) * 86_400
        elif name == "timestamp_too_old":
            plan["shift"][ids] = rng.uniform(0, 86_400, ids.size)
        elif name == "hostile_string":
            plan["variant"][ids] = [
                json.dumps({"comment": spec.HOSTILE_STRINGS[i % len(spec.HOSTILE_STRINGS)], "sku": "SKU-1"}) for i in range(ids.size)
            ]
    rest = order[taken:]
    track = rest[rows["type"][rest] == TYPES.index("track")]
    ids = track[: max(1, int(round(spec.SPELLING_VARIANT_SHARE * track.size)))]
    fault[ids] = FAULTS.index("spelling_variant")
    styles = rng.integers(0, 9, ids.size)
    names = [spec.CATALOG[k][1] for k in rows["kind"][ids]]
    plan["variant"][ids] = [
        ("page_view" if style == 7 else "pageview") if name == "Page Viewed" and style >= 7 else _variant(name, style)
        for name, style in zip(names, styles)
    ]
    clean = rng.permutation(np.setdiff1d(rest, ids))
    counts = [int(round(share * n)) for share in (spec.DUPLICATE_MESSAGE_ID_SHARE, spec.DOUBLE_FIRE_SHARE, spec.MALFORMED_SHARE)]
    counts = [max(1, count) for count in counts]
    start = 0
    for copy_kind, count in zip((COPY_REDELIVERED, COPY_DOUBLE_FIRE, COPY_JUNK), counts):
        chosen = clean[start:start + count]
        start += count
        extra[chosen] = copy_kind
        if copy_kind == COPY_REDELIVERED:
            plan["shift"][chosen] = rng.uniform(60, 900, chosen.size)
        elif copy_kind == COPY_DOUBLE_FIRE:
            plan["shift"][chosen] = rng.integers(1, 900, chosen.size) / 1000.0
    return plan


def _table(rng: np.random.Generator, population: Population, behaviour: Behaviour, rows: dict, plan: dict) -> pa.Table:
    """Expand rows with their extra lines (in output order) and encode every column for DuckDB."""
    n = rows["t"].size
    repeat = 1 + (plan["extra"] > 0)
    source = np.repeat(np.arange(n), repeat)
    is_extra = np.r_[False, source[1:] == source[:-1]]
    copy_kind = np.where(is_extra, plan["extra"][source], COPY_ORIGINAL)
    fire_number = np.cumsum(copy_kind == COPY_DOUBLE_FIRE)
    message_row = np.where(copy_kind == COPY_DOUBLE_FIRE, n + fire_number - 1, source)

    people, devices, calls = population.people, population.devices, behaviour.calls
    call = rows["call"][source]
    person = rows["person"][source]
    device = rows["device"][source]
    is_call = call >= 0
    kind = rows["kind"][source]
    fault = np.where(copy_kind == COPY_ORIGINAL, plan["fault"][source], -1)
    variant = plan["variant"][source]
    variant[copy_kind != COPY_ORIGINAL] = None
    fault_name = np.array(FAULTS + [None], dtype=object)[fault]

    # text columns as codes into small value lists
    type_code = rows["type"][source].copy()
    invalid = fault_name == "invalid_type"
    type_values = TYPES + INVALID_TYPES
    type_code[invalid] = [len(TYPES) + INVALID_TYPES.index(v) for v in variant[invalid]]

    names = [name for _kind, name, _canonical in spec.CATALOG]
    call_names = calls["name"].to_numpy()
    spelled = fault_name == "spelling_variant"
    spellings = sorted({v for v in variant[spelled]})
    name_values = names + spellings + ["Home"]
    name_code = np.where(is_call, np.where(pd.notna(call_names[np.maximum(call, 0)]), len(name_values) - 1, -1), kind)
    name_code[spelled] = [len(names) + spellings.index(v) for v in variant[spelled]]
    is_track = type_code == TYPES.index("track")
    canonical_values = [canonical for _kind, _name, canonical in spec.CATALOG] + ["Home_Viewed"]
    canonical_code = np.where(is_call, np.where(rows["type"][source] == TYPES.index("page"), len(canonical_values) - 1, -1), kind)

    kiosk = is_call & (calls["anonymous_id"].to_numpy()[np.maximum(call, 0)] == KIOSK_ANONYMOUS_ID)
    device_code = np.where(kiosk, len(devices), np.where(device >= 0, device, -1))
    anonymous_code = device_code.copy()
    has_user = rows["has_user"][source] & ~is_call
    user_values = np.concatenate([people["user_id"].to_numpy(), calls["user_id"].to_numpy()])
    user_code = np.where(is_call, len(people) + call, np.where(has_user, person, -1))
    missing = fault_name == "missing_identifier"
    anonymous_code[missing] = -1
    user_code[missing] = -1
    call_code = np.where(is_call, call, -1)
    hostile = fault_name == "hostile_string"
    hostile_values = sorted({v for v in variant[hostile]})
    properties_code = np.full(source.size, -1)
    properties_code[hostile] = [hostile_values.index(v) for v in variant[hostile]]
    offsets = spec.TIMEZONE_OFFSETS
    mixed = fault_name == "mixed_timezone"
    offset_code = np.full(source.size, -1)
    offset_code[mixed] = [offsets.index(v) for v in variant[mixed]]
    offset_minutes = np.array([(-1 if o[0] == "-" else 1) * (int(o[1:3]) * 60 + int(o[4:6])) for o in offsets] + [0])

    shift = plan["shift"][source]
    rnd = rng.integers(0, 2**31 - 1, n, dtype=np.int64)[source]  # one draw per call: a double fire repeats it exactly
    event_ms = np.round((rows["t"][source] + np.where(copy_kind == COPY_DOUBLE_FIRE, shift, 0.0)) * 1000).astype(np.int64)
    receive_ms = 50 + rnd % 3000
    late = np.where(fault_name == "late_arriving", shift, 0.0) + np.where(copy_kind == COPY_REDELIVERED, shift, 0.0)
    stamp_ms = event_ms + offset_minutes[offset_code] * 60_000
    stamp_ms = np.where(fault_name == "timestamp_in_future", event_ms + int(73 * 365.25 * 86_400_000), stamp_ms)
    stamp_ms = np.where(fault_name == "timestamp_too_old", np.round(shift * 1000).astype(np.int64), stamp_ms)
    suffix_code = np.where(offset_code >= 0, offset_code + 1, 0)

    properties = _properties(rows["type"][source], canonical_code, is_call, rnd, hostile, properties_code, hostile_values, canonical_values)
    page_code = np.where((type_code == TYPES.index("page")) & (name_code >= 0), name_code, -1)
    page_paths = ["/" if name == "Home" else "/" + name.lower() for name in name_values]
    consumer = rng.integers(0, 2**31 - 1, 4096)
    ip_prefixes = [f"{100 + a // 65536}.{(a // 256) % 256}.{a % 256}" for a in range(len(population.accounts))] + [
        f"{180 + c % 20}.{(c // 20) % 256}.{(c // 5120) % 256}" for c in consumer
    ]
    account = people["account"].to_numpy()[person]
    office = (account >= 0) & ((rnd // 7) % 10 < 7)
    ip_prefix = np.where(office, account, len(population.accounts) + (rnd // 13) % 4096)
    campaign = np.where(rnd % 10 == 0, (rnd // 10) % 3, -1)
    return pa.table(
        {
            "position": np.arange(source.size),
            "message_row": message_row,
            "copy_kind": copy_kind.astype(np.int8),
            "junk_kind": rng.integers(0, 5, source.size).astype(np.int8),
            "event_us": event_ms * 1000,
            "stamp_us": stamp_ms * 1000,
            "stamp_suffix": _dictionary(suffix_code, ["Z", *offsets]),
            "sent_us": (event_ms + receive_ms // 2) * 1000,
            "received_us": (event_ms + receive_ms + np.round(late * 1000).astype(np.int64)) * 1000,
            "type": _dictionary(type_code, type_values),
            "event_name": _dictionary(np.where(is_track, name_code, -1), name_values),
            "page_name": _dictionary(np.where(is_track, -1, name_code), name_values),
            "canonical": _dictionary(canonical_code, canonical_values),
            "page_path": _dictionary(page_code, page_paths),
            "page_url": _dictionary(page_code, ["https://www.example.com" + path for path in page_paths]),
            "referrer": _dictionary(np.where((page_code >= 0) & (rnd % 4 == 0), 0, -1), ["https://www.google.com/"]),
            "anonymous_id": _dictionary(anonymous_code, list(devices["anonymous_id"]) + [KIOSK_ANONYMOUS_ID]),
            "device_id": _dictionary(device_code, list(devices["device_id"]) + [KIOSK_DEVICE_ID]),
            "user_agent": _dictionary(
                np.where(device >= 0, devices["rank"].to_numpy()[np.maximum(device, 0)], 0) % 3, USER_AGENTS
            ),
            "user_id": _dictionary(user_code, user_values),
            "traits_email": _dictionary(call_code, calls["email"].to_numpy()),
            "traits_title": _dictionary(call_code, calls["title"].to_numpy()),
            "group_id": _dictionary(call_code, calls["group_id"].to_numpy()),
            "previous_id": _dictionary(call_code, calls["previous_id"].to_numpy()),
            "properties": properties,
            "ip_prefix": _dictionary(ip_prefix, ip_prefixes),
            "ip_host": _dictionary(rnd % 254, [str(host) for host in range(1, 255)]),
            "campaign_source": _dictionary(campaign, ["google", "newsletter", "linkedin"]),
            "campaign_medium": _dictionary(campaign, ["cpc", "email", "social"]),
            "fault": _dictionary(fault, FAULTS),
            "variant_text": pa.array(np.where(spelled, variant, None), type=pa.string()),
        }
    )


USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
]


def _properties(types, canonical_code, is_call, rnd, hostile, hostile_code, hostile_values, canonical_values) -> pa.DictionaryArray:
    """Event properties as codes into a pool of JSON texts (a SKU always has the same price)."""
    pools = {
        "Product": [json.dumps({"sku": f"SKU-{i}", "price": round(5 + (i * 7919) % 20000 / 100, 2)}) for i in range(500)],
        "Checkout_Started": [json.dumps({"cart_value": round(10 + i * 0.73, 2)}) for i in range(1000)],
        "Order_Completed": [json.dumps({"revenue": round(10 + i * 0.73, 2), "currency": "USD"}) for i in range(1000)],
        "Search_Performed": [json.dumps({"query": q}) for q in ("pricing", "api", "sso", "export", "dashboard")],
        "Feature_Used": [json.dumps({"feature": f}) for f in ("reports", "alerts", "sharing", "export", "api")],
        "Pricing_Viewed": [json.dumps({"plan": p}) for p in ("starter", "pro", "enterprise")],
    }
    values = ["{}"]
    first = {}
    for name, pool in pools.items():
        first[name] = len(values)
        values += pool
    canonical = np.array(canonical_values + [None], dtype=object)[canonical_code]
    code = np.where(is_call & (types != TYPES.index("page")), -1, 0)
    for name, pool in pools.items():
        if name == "Product":
            chosen = (canonical == "Product_Viewed") | (canonical == "Product_Added")
        elif name == "Pricing_Viewed":
            chosen = (canonical == name) & (types == TYPES.index("track"))
        else:
            chosen = canonical == name
        code = np.where(chosen & ~is_call, first[name] + rnd % len(pool), code)
    code = np.where(hostile, len(values) + hostile_code, code)
    return _dictionary(code, values + list(hostile_values))


LINE_SQL = """
select
    case copy_kind
        when 3 then case junk_kind
            when 0 then substr(line, 1, length(line) // 2)
            when 1 then '{{"messageId": "broken-' || position || '", "type": "track", "event": "Order Completed"'
            when 2 then 'upstream timeout (504) while forwarding batch ' || position
            when 3 then '[{{"messageId": "array-' || position || '"}}]'
            else chr(127) || chr(27) || '[31m' || chr(8) || 'binary ' || chr(7) || position || chr(255) || chr(14)
        end
        else line
    end as line
from (
    select
        position,
        copy_kind,
        junk_kind,
        cast(to_json(struct_pack(
            messageId := {message_id},
            type := type,
            anonymousId := anonymous_id,
            userId := user_id,
            event := event_name,
            name := page_name,
            groupId := group_id,
            previousId := previous_id,
            properties := cast(properties as json),
            traits := case when type = 'identify' then struct_pack(email := traits_email, title := traits_title) end,
            context := struct_pack(
                ip := ip_prefix || '.' || ip_host,
                page := case when page_path is not null then struct_pack(path := page_path, url := page_url, referrer := referrer) end,
                device := case when device_id is not null then struct_pack(id := device_id) end,
                campaign := case when campaign_source is not null then struct_pack(source := campaign_source, medium := campaign_medium) end,
                userAgent := user_agent
            ),
            timestamp := strftime(make_timestamp(stamp_us), '%Y-%m-%dT%H:%M:%S.%g') || stamp_suffix,
            sentAt := strftime(make_timestamp(sent_us), '%Y-%m-%dT%H:%M:%S.%gZ'),
            receivedAt := strftime(make_timestamp(received_us), '%Y-%m-%dT%H:%M:%S.%gZ')
        )) as varchar) as line
    from part
)
"""


def _render_part(connection: duckdb.DuckDBPyConnection, part: pa.Table, target: str, render: str, fmt: str, gzip: bool) -> None:
    """Render one slice of the table into one file, lines in table order."""
    connection.register("part", part)
    if fmt == "parquet":
        connection.execute(
            f"""copy (select line->>'messageId' as "messageId", line->>'type' as "type", line->>'anonymousId' as "anonymousId",
                line->>'userId' as "userId", line->>'event' as "event", line->>'name' as "name",
                cast(line->'properties' as varchar) as properties, cast(line->'traits' as varchar) as traits,
                cast(line->'context' as varchar) as context, line->>'groupId' as "groupId",
                line->>'previousId' as "previousId", line->>'timestamp' as "timestamp",
                line->>'receivedAt' as "receivedAt", line->>'sentAt' as "sentAt"
                from ({render})) to '{target}' (format parquet)"""
        )
    else:
        options = "format csv, header false, delimiter chr(1), quote chr(2), escape chr(2)"
        if gzip:
            options += ", compression gzip"
        connection.execute(f"copy (select line from ({render})) to '{target}' ({options})")
    connection.unregister("part")


_JOBS: list = []


def _render_worker(worker: int, workers: int, render: str, fmt: str, gzip: bool) -> int:
    """Render every `workers`-th part, starting at `worker` (runs in a forked process)."""
    with duckdb.connect() as connection:
        connection.execute("set threads = 1")
        connection.execute("set enable_progress_bar = false")
        for _part, part, target in _JOBS[worker::workers]:
            _render_part(connection, part, target, render, fmt, gzip)
    return worker


def _write_parts(jobs: list, render: str, fmt: str, gzip: bool, workers: int) -> None:
    """Render the parts, in parallel processes when there are several.

    One DuckDB render of JSON lines runs on about one core, so the files are
    split between processes; each file's content does not depend on which
    process wrote it. Forked workers share the Arrow table without copying it.
    """
    global _JOBS
    _JOBS = jobs
    try:
        if workers <= 1:
            _render_worker(0, 1, render, fmt, gzip)
            return
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            pool.starmap(_render_worker, [(worker, workers, render, fmt, gzip) for worker in range(workers)])
    finally:
        _JOBS = []


def _message_id_sql(seed: int) -> str:
    digest = f"md5('{int(seed)}:' || message_row)"
    return (
        f"substr({digest}, 1, 8) || '-' || substr({digest}, 9, 4) || '-' || substr({digest}, 13, 4) || '-'"
        f" || substr({digest}, 17, 4) || '-' || substr({digest}, 21, 12)"
    )


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
    rows = _rows(population, behaviour)
    plan = _choose_faults(rng, rows, faults)
    if fmt == "parquet":
        plan["extra"][plan["extra"] == COPY_JUNK] = 0  # Parquet rows cannot hold a broken JSON line
    table = _table(rng, population, behaviour, rows, plan)
    render = LINE_SQL.format(message_id=_message_id_sql(seed))
    folder = out_dir / "events"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".parquet" if fmt == "parquet" else (".jsonl.gz" if gzip else ".jsonl")
    parts = max(1, -(-table.num_rows // PART_SIZE))
    jobs = [(part, table.slice(part * PART_SIZE, PART_SIZE), str(folder / f"part-{part:05d}{suffix}")) for part in range(parts)]
    _write_parts(jobs, render, fmt, gzip, workers=min(2, os.cpu_count() or 1, parts))

    flagged = pc.or_(pc.is_valid(table["fault"]), pc.greater(table["copy_kind"], 0))
    connection.register("flagged", table.filter(flagged))
    truth = connection.execute(
        f"""
        select 'events' as source,
            case copy_kind when 1 then 'duplicate_message_id' when 2 then 'double_fire' when 3 then 'malformed_json'
                else cast(fault as varchar) end as fault,
            case when copy_kind <> 3 then {_message_id_sql(seed)} end as message_id,
            null as record_id,
            case when copy_kind = 3 then 'events/part-' || lpad(cast(position // {PART_SIZE} as varchar), 5, '0') || '{suffix}' end as file,
            case when copy_kind = 3 then position % {PART_SIZE} + 1 end as line,
            case when fault = 'mixed_timezone' then strftime(make_timestamp(event_us), '%Y-%m-%dT%H:%M:%S.%gZ') end as true_utc,
            variant_text as raw_spelling,
            case when fault = 'spelling_variant' then cast(canonical as varchar) end as canonical
        from flagged
        order by position
        """
    ).df()
    connection.unregister("flagged")
    truth["line"] = truth["line"].astype("Int64")
    counts = truth["fault"].value_counts().to_dict()
    quarantined = {name: int(counts.get(name, 0)) for name in [*spec.QUARANTINE_FAULTS, "malformed_json"]}
    duplicates = {name: int(counts.get(name, 0)) for name in ("duplicate_message_id", "double_fire")}
    quirks = {name: int(counts.get(name, 0)) for name in [*spec.QUIRKS, "spelling_variant"]}
    total = table.num_rows
    manifest = {
        "raw_lines": int(total),
        "valid_distinct": int(total - sum(quarantined.values()) - sum(duplicates.values())),
        "files": parts,
        "duplicates": duplicates,
        "quarantined": quarantined,
        "kept_with_quirks": quirks,
    }
    return manifest, truth[FAULT_COLUMNS]
