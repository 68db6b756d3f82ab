"""Render the event calls as Segment-Spec JSON lines (or Parquet rows), fast.

A line is a sequence of 9 fragments (SLOTS), e.g. `{"type":"track","event":"Product Added"`,
`,"userId":"usr_0000042"`, `,"properties":{...}`, `,"context":{"ip":"..."`, ...
Every fragment but one comes from a table of pre-rendered, JSON-escaped texts
(one per event name, user id, device, properties value, ...). The one that
differs per line -- messageId, sentAt, receivedAt, timestamp -- is fixed-width,
so numpy writes it into a byte matrix. One Arrow `take` over (lines x 9)
indices then lays all fragments of all lines end to end: its data buffer *is*
the file content; no per-line Python and no JSON encoder. Lines are rendered
in chunks of 32k; part files (at most 500,000 lines) are written by two forked
processes. A part's bytes depend only on the plan, never on the process.
"""

from __future__ import annotations

import gzip as gzip_module
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from customer_segments.generate import faults as faults_module
from customer_segments.generate import spec, text
from customer_segments.generate.behaviour import KIOSK_ANONYMOUS_ID, KIOSK_DEVICE_ID, Timeline
from customer_segments.generate.population import Population

TYPES = ["track", "page", "screen", "identify", "alias", "group"]
ALL_TYPES = TYPES + spec.INVALID_TYPES
SLOTS = ["type_name", "user_id", "call", "properties", "ip", "page_campaign", "device", "head", "suffix"]
SLOT = {name: index for index, name in enumerate(SLOTS)}
CHUNK = 32_768  # lines rendered at once: small enough that buffers stay in cache and get reused
CONSUMER_NETWORKS = 4096
OFFICE_HOSTS = 16
USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
    "AcmeApp/4.2 (Android 14; Pixel 8)",
]
SERVER_AGENT = "analytics-node/6.0"  # calls sent from a backend, without a device
CAMPAIGNS = [("google", "cpc"), ("newsletter", "email"), ("linkedin", "social")]
MALFORMED_TEXTS = [
    "upstream timeout (504) while forwarding batch\n",
    '[{"type":"track","event":"Order Completed"}]\n',
    "\x7f\x1b[31m\x08binary \x07\u00ff\x0e garbage\n",  # control characters, never NUL or a line break
]
UNBALANCED = ',"properties":{"revenue":12.5}}}\n'
OFFSET_MINUTES = np.array([(-1 if o[0] == "-" else 1) * (int(o[1:3]) * 60 + int(o[4:6])) for o in spec.TIMEZONE_OFFSETS])
CATALOG_TYPE = np.array([TYPES.index(kind) for kind, _name, _canonical in spec.CATALOG] + [3, 4, 5])
PAGE_KINDS = [index for index, (kind, _name, _canonical) in enumerate(spec.CATALOG) if kind == "page"]
#: per catalog kind: its page index + 1 (0 = not a page call)
PAGE_OF_KIND = np.zeros(len(spec.CATALOG) + 3, dtype=np.int64)
PAGE_OF_KIND[PAGE_KINDS] = np.arange(1, len(PAGE_KINDS) + 1)
#: messageId, sentAt, receivedAt and the timestamp without its zone: the same width on every line
HEAD = text.Template(',"messageId":"', ("message_id", 36), '","sentAt":"', ("sent", 23), 'Z","receivedAt":"',
                     ("received", 23), 'Z","timestamp":"', ("timestamp", 23))


def _mix(values: np.ndarray, seed: int) -> np.ndarray:
    """A deterministic pseudo-random non-negative int64 per value (splitmix64 finalizer): the same call always gets the same draws."""
    offset = np.uint64((int(seed) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    x = np.asarray(values, dtype=np.uint64) + offset
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return ((x ^ (x >> np.uint64(31))) >> np.uint64(2)).astype(np.int64)


class Fragments:
    """One Arrow string array of every pre-rendered fragment, with the start index of each group.

    `plain` keeps bare values (no key, no JSON quoting) per group for the Parquet columns.
    """

    def __init__(self) -> None:
        self.texts: list[pa.Array] = []
        self.plain: dict[str, pa.Array] = {}
        self.base: dict[str, int] = {}
        self.size = 0

    def add(self, name: str, texts, plain=None) -> int:
        array = texts if isinstance(texts, pa.Array) else pa.array(list(texts), type=pa.string())
        self.base[name] = self.size
        self.texts.append(array.cast(pa.string()))
        self.size += len(array)
        if plain is not None:
            self.plain[name] = plain if isinstance(plain, pa.Array) else pa.array(list(plain), type=pa.string())
        return self.base[name]

    def array(self) -> pa.Array:
        return pa.concat_arrays(self.texts)


def _wrap(prefix: str, values, suffix: str) -> pa.Array:
    """`prefix + value + suffix` for plain ASCII ids (no escaping needed), vectorized with Arrow."""
    array = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    return pc.binary_join_element_wise(prefix, array, suffix, "")


def _properties_pools() -> dict[str, list[str]]:
    """Properties per canonical event (a SKU always has the same price)."""
    compact = {"separators": (",", ":")}
    return {
        "Product": [json.dumps({"sku": f"SKU-{i}", "price": round(5 + (i * 7919) % 20000 / 100, 2)}, **compact) for i in range(500)],
        "Checkout_Started": [json.dumps({"cart_value": round(10 + i * 0.73, 2)}, **compact) for i in range(1000)],
        "Search_Performed": [json.dumps({"query": q}, **compact) for q in ("pricing", "api", "sso", "export", "dashboard")],
        "Feature_Used": [json.dumps({"feature": f}, **compact) for f in ("reports", "alerts", "sharing", "export", "api")],
        "Pricing_Viewed": [json.dumps({"plan": p}, **compact) for p in ("starter", "pro", "enterprise")],
    }


POOL_KINDS = {
    "Product": [spec.KIND["Product Viewed"], spec.KIND["Product Added"]],
    "Checkout_Started": [spec.KIND["Checkout Started"]],
    "Search_Performed": [spec.KIND["Search Performed"]],
    "Feature_Used": [spec.KIND["Feature Used"]],
    "Pricing_Viewed": [spec.KIND["Pricing Viewed"]],
}


@dataclass
class Renderer:
    """Everything a worker needs to render any line range: fragments and the plan (shared by fork)."""

    fragments: Fragments
    values: pa.Array
    timeline: Timeline
    plan: faults_module.EventPlan
    lines: faults_module.Lines
    message_bytes: np.ndarray  # (messages x 16) uint8
    accounts_count: int
    devices_count: int
    person_account: np.ndarray
    device_home: np.ndarray  # per device, + kiosk, + none: home network index
    variant_base: np.ndarray  # per catalog kind: name index of its first spelling variant
    names_count: int
    pool_base: dict[str, tuple[int, int]]
    seed: int
    #: what _json_lines and _parquet_table build once per world, kept with it (a cache keyed by id() served a
    #: new world the old one's fragments when CPython gave it the freed renderer's address)
    heads: HeadValues | None = field(default=None, repr=False)
    context_values: pa.Array | None = field(default=None, repr=False)


def _names() -> tuple[list[str], list[str], np.ndarray]:
    """Name fragments: none, each catalog name, then every spelling variant. Returns fragments, plain names, variant starts."""
    fragments, plain = [""], [None]
    for kind, name, _canonical in spec.CATALOG:
        fragments.append(f',"{"event" if kind == "track" else "name"}":{json.dumps(name)}')
        plain.append(name)
    variant_base = np.zeros(len(spec.CATALOG) + 3, dtype=np.int64)
    for kind, variants in enumerate(faults_module.VARIANTS):
        variant_base[kind] = len(fragments)
        fragments += [f',"event":{json.dumps(v)}' for v in variants]
        plain += variants
    return fragments, plain, variant_base


def build_renderer(population: Population, timeline: Timeline, plan, lines, message_bytes: np.ndarray, seed: int) -> Renderer:
    """Pre-render every fragment that repeats across lines."""
    f = Fragments()
    people, devices, accounts = population.people, population.devices, population.accounts
    f.add("empty", [""])
    f.add("newline", ["\n"])
    f.add("unbalanced", [UNBALANCED])
    f.add("malformed", MALFORMED_TEXTS)

    names, plain_names, variant_base = _names()
    f.add("type_name", ['{"type":' + json.dumps(t) + n for t in ALL_TYPES for n in names])
    f.plain["type"] = pa.array(ALL_TYPES, type=pa.string())
    f.plain["name"] = pa.array(plain_names, type=pa.string())

    user_ids = timeline.user_ids
    f.add("user_id", _wrap(',"userId":"', np.where(user_ids == None, "", user_ids), '"'), user_ids)  # noqa: E711
    texts = timeline.call_texts
    call_fragments = pc.coalesce(
        pc.binary_join_element_wise(',"traits":', texts.traits, ""),
        _wrap(',"previousId":"', texts.previous_id, '"'),
        _wrap(',"groupId":"', texts.group_id, '"'),
    )
    f.add("call", call_fragments)
    f.plain["traits"], f.plain["previous_id"], f.plain["group_id"] = texts.traits, texts.previous_id, texts.group_id

    properties_plain = ["{}"]
    f.add("properties", [',"properties":{}'])
    pool_base = {}
    for name, pool in _properties_pools().items():
        pool_base[name] = (f.add("pool_" + name, [',"properties":' + p for p in pool]), len(pool))
        properties_plain += pool
    orders = timeline.orders
    order_ids = text.ids("ord_", np.arange(len(orders)), 8)
    amounts = (orders.amount_cents // 100).astype(str).astype(object) + "." + text.python_strings(text.digits(orders.amount_cents % 100, 2))
    order_json = '{"order_id":"' + order_ids + '","revenue":' + amounts + ',"currency":"' + orders.currency + '"}'
    f.add("order", ',"properties":' + order_json)
    hostile = [json.dumps({"comment": s, "sku": "SKU-1"}, ensure_ascii=False) for s in spec.HOSTILE_STRINGS]
    f.add("hostile", [',"properties":' + h for h in hostile])
    f.plain["properties"] = pa.array(properties_plain + list(order_json) + hostile, type=pa.string())

    # context: the ip opens it, page and campaign follow, the device and user agent close it
    device_home = _mix(np.arange(len(devices) + 2), seed + 2) % CONSUMER_NETWORKS
    home_host = 1 + _mix(np.arange(len(devices) + 2), seed + 3) % 254
    network = _mix(np.arange(CONSUMER_NETWORKS), seed + 1)
    a, b, c = 180 + network % 20, (network // 20) % 256, (network // 5120) % 256
    home = [f'{{"ip":"{a[n]}.{b[n]}.{c[n]}.{h}"' for n, h in zip(device_home.tolist(), home_host.tolist())]
    office = [f'{{"ip":"{100 + x // 65536}.{(x // 256) % 256}.{x % 256}.{10 + h}"'
              for x in range(len(accounts)) for h in range(OFFICE_HOSTS)]
    f.add("ip", [',"context":' + ip for ip in home + office])
    f.plain["ip_open"] = pa.array(home + office, type=pa.string())

    pages = [""]  # then per page name: without and with a referrer
    for kind in PAGE_KINDS:
        name = spec.CATALOG[kind][1]
        path = "/" if name == "Home" else "/" + name.lower()
        page = {"path": path, "url": "https://www.example.com" + path}
        for extra in ({}, {"referrer": "https://www.google.com/"}):
            pages.append(',"page":' + json.dumps({**page, **extra}, separators=(",", ":")))
    campaigns = [""] + [f',"campaign":{{"source":"{s}","medium":"{m}"}}' for s, m in CAMPAIGNS]
    f.add("page_campaign", [p + c for p in pages for c in campaigns])

    agent = np.asarray(USER_AGENTS, dtype=object)[_mix(np.arange(len(devices) + 1), seed + 4) % len(USER_AGENTS)]
    device_ids = np.append(devices.device_id, KIOSK_DEVICE_ID)
    closing = pc.binary_join_element_wise(
        _wrap(',"device":{"id":"', device_ids, '"}'), pa.array(',"userAgent":"' + agent + '"}', type=pa.string()), "")
    anonymous = np.append(devices.anonymous_id, KIOSK_ANONYMOUS_ID)
    f.add("device", pc.binary_join_element_wise(closing, _wrap(',"anonymousId":"', anonymous, '"'), ""))
    f.add("device_only", closing)
    f.add("no_device", [f',"userAgent":"{SERVER_AGENT}"}}'])
    f.plain["anonymous_id"] = pa.array(anonymous, type=pa.string())
    f.add("suffix", ['Z"}\n'] + [o + '"}\n' for o in spec.TIMEZONE_OFFSETS])
    f.plain["suffix"] = pa.array(["Z", *spec.TIMEZONE_OFFSETS], type=pa.string())
    return Renderer(
        fragments=f,
        values=f.array(),
        timeline=timeline,
        plan=plan,
        lines=lines,
        message_bytes=message_bytes,
        accounts_count=len(accounts),
        devices_count=len(devices),
        person_account=people.account,
        device_home=device_home,
        variant_base=variant_base,
        names_count=len(names),
        pool_base=pool_base,
        seed=seed,
    )


@dataclass
class Part:
    """One rendered range of lines: fragment indices per slot, the fixed-width head, and what Parquet needs."""

    codes: np.ndarray  # (lines x slots) int32 into Renderer.values; head = -1 until laid out
    head: np.ndarray  # (lines x HEAD.width) uint8
    type_code: np.ndarray
    name_code: np.ndarray
    broken: np.ndarray  # bool


def _part(r: Renderer, lo: int, hi: int) -> Part:
    """Fragment indices and fixed-width texts of lines [lo, hi)."""
    f, tl, plan, lines = r.fragments, r.timeline, r.plan, r.lines
    base = f.base
    src = lines.source[lo:hi]
    copy = lines.copy[lo:hi]
    n = src.size
    kind = tl.kind[src].astype(np.int64)
    device = tl.device[src].astype(np.int64)
    call = tl.call[src].astype(np.int64)
    user = tl.user[src].astype(np.int64)
    order = tl.order[src].astype(np.int64)
    fault = np.where(copy == faults_module.COPY_ORIGINAL, plan.fault[src], -1)
    param = plan.param[src].astype(np.int64)
    shift = plan.shift_ms[src]
    rnd = _mix(src, r.seed)
    is_fault = {name: fault == index for index, name in enumerate(faults_module.FAULTS)}
    empty = base["empty"]
    codes = np.empty((n, len(SLOTS)), dtype=np.int32)

    is_catalog = call < 0
    type_code = np.where(is_fault["invalid_type"], len(TYPES) + param, CATALOG_TYPE[kind])
    name_code = np.where(is_catalog, 1 + np.minimum(kind, len(spec.CATALOG) - 1), 0)
    name_code = np.where(is_fault["spelling_variant"], r.variant_base[kind] + param, name_code)
    codes[:, SLOT["type_name"]] = base["type_name"] + type_code * r.names_count + name_code
    missing = is_fault["missing_identifier"]
    codes[:, SLOT["user_id"]] = np.where((user >= 0) & ~missing, base["user_id"] + user, empty)
    codes[:, SLOT["call"]] = np.where(call >= 0, base["call"] + call, empty)

    properties = np.where(is_catalog, base["properties"], empty)
    for pool, (first, size) in r.pool_base.items():
        properties = np.where(np.isin(kind, POOL_KINDS[pool]), first + rnd % size, properties)
    properties = np.where(order >= 0, base["order"] + order, properties)
    codes[:, SLOT["properties"]] = np.where(is_fault["hostile_string"], base["hostile"] + param, properties)

    account = r.person_account[tl.person[src]]
    from_office = (account >= 0) & ((rnd >> 7) % 10 < int(spec.OFFICE_IP_SHARE * 10))
    device_slot = np.where(device >= 0, device, r.devices_count + 1)
    office_ip = len(r.device_home) + account * OFFICE_HOSTS + (rnd >> 13) % OFFICE_HOSTS
    codes[:, SLOT["ip"]] = base["ip"] + np.where(from_office, office_ip, device_slot)
    campaign = np.where(rnd % 100 < int(spec.CAMPAIGN_SHARE * 100), 1 + (rnd >> 20) % len(CAMPAIGNS), 0)
    page = np.where(PAGE_OF_KIND[kind] > 0, 2 * PAGE_OF_KIND[kind] - 1 + (rnd >> 24) % 4 // 3, 0)  # a quarter have a referrer
    codes[:, SLOT["page_campaign"]] = base["page_campaign"] + page * (1 + len(CAMPAIGNS)) + campaign
    closing = np.where(missing, base["device_only"] + device, base["device"] + device)
    codes[:, SLOT["device"]] = np.where(device >= 0, closing, base["no_device"])
    codes[:, SLOT["head"]] = -1
    mixed = is_fault["mixed_timezone"]
    codes[:, SLOT["suffix"]] = base["suffix"] + np.where(mixed, 1 + param, 0)

    # broken lines: a truncated call, unbalanced braces, or junk text
    broken = copy == faults_module.COPY_MALFORMED
    rows = np.flatnonzero(broken)
    if rows.size:
        style = param[rows]
        codes[rows, SLOT["ip"]:] = empty
        codes[rows, SLOT["suffix"]] = base["newline"]
        unbalanced = rows[style == 1]
        codes[unbalanced, SLOT["user_id"]:] = empty
        codes[unbalanced, SLOT["properties"]] = base["unbalanced"]
        junk = rows[style >= 2]
        codes[junk, :] = empty
        codes[junk, SLOT["type_name"]] = base["malformed"] + style[style >= 2] - 2

    event_ms = tl.t_ms[src] + np.where(copy == faults_module.COPY_DOUBLE_FIRE, shift, 0)
    stamp_ms = event_ms + np.where(mixed, OFFSET_MINUTES[np.minimum(param, OFFSET_MINUTES.size - 1)] * 60_000, 0)
    stamp_ms = np.where(is_fault["timestamp_in_future"], event_ms + faults_module.FUTURE_MS, stamp_ms)
    stamp_ms = np.where(is_fault["timestamp_too_old"], shift, stamp_ms)
    lag = 50 + (rnd >> 40) % 3000
    late = np.where(is_fault["late_arriving"], shift, 0) + np.where(copy == faults_module.COPY_REDELIVERED, shift, 0)
    head = HEAD.empty(n)
    text.hex_into(HEAD.hole(head, "message_id"), r.message_bytes[lines.message[lo:hi]])
    text.iso_into(HEAD.hole(head, "sent"), event_ms + lag // 2)
    text.iso_into(HEAD.hole(head, "received"), event_ms + lag + late)
    text.iso_into(HEAD.hole(head, "timestamp"), stamp_ms)
    return Part(codes, head, type_code, name_code, broken)


def _lay_out(values: pa.Array, codes: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """values[codes] end to end (row-major): returns the taken array and its offsets."""
    laid_out = values.take(pa.array(codes.ravel()))
    offsets = np.frombuffer(laid_out.buffers()[1], dtype=np.int32, count=len(laid_out) + 1, offset=laid_out.offset * 4)
    return laid_out, offsets


class HeadValues:
    """The fragment table plus room for one chunk of per-line heads, in one reusable buffer.

    Concatenating the (large) fragment table with each chunk's heads would copy
    the whole table per chunk; instead the heads are written in place into
    the reserved tail of one buffer, and the same Arrow array is taken from.
    """

    def __init__(self, values: pa.Array, rows: int) -> None:
        offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=len(values) + 1, offset=values.offset * 4)
        start, end = int(offsets[0]), int(offsets[-1])
        self.head_start = end - start
        self.data = np.empty(self.head_start + rows * HEAD.width, dtype=np.uint8)
        self.data[:self.head_start] = np.frombuffer(values.buffers()[2], dtype=np.uint8, count=end - start, offset=start)
        head_offsets = self.head_start + HEAD.width * np.arange(1, rows + 1, dtype=np.int64)
        all_offsets = np.concatenate([offsets - start, head_offsets]).astype(np.int32)
        self.first_head = len(values)
        self.array = pa.Array.from_buffers(pa.string(), len(values) + rows, [None, pa.py_buffer(all_offsets), pa.py_buffer(self.data)])

    def fill(self, head: np.ndarray) -> None:
        self.data[self.head_start:self.head_start + head.size] = head.ravel()


def _json_lines(r: Renderer, lo: int, hi: int) -> memoryview:
    """The bytes of lines [lo, hi): one Arrow take over all their fragments."""
    part = _part(r, lo, hi)
    n = hi - lo
    heads = r.heads
    if heads is None or len(heads.array) - heads.first_head < n:
        heads = r.heads = HeadValues(r.values, max(n, CHUNK))
    heads.fill(part.head)
    part.codes[:, SLOT["head"]] = np.where(part.broken, r.fragments.base["empty"], heads.first_head + np.arange(n))
    laid_out, offsets = _lay_out(heads.array, part.codes)
    return memoryview(laid_out.buffers()[2])[offsets[0]:offsets[-1]]


def _row_texts(values: pa.Array, codes: np.ndarray) -> pa.Array:
    """Per row, the concatenation of values[codes[row, :]] (the same take, cut at row boundaries)."""
    laid_out, offsets = _lay_out(values, codes)
    row_offsets = np.ascontiguousarray(offsets[::codes.shape[1]])
    return pa.Array.from_buffers(pa.string(), codes.shape[0], [None, pa.py_buffer(row_offsets), laid_out.buffers()[2]])


def _parquet_table(r: Renderer, lo: int, hi: int) -> pa.Table:
    """The same lines as Parquet columns; nested objects (properties, traits, context) are JSON strings."""
    f, tl = r.fragments, r.timeline
    part = _part(r, lo, hi)
    codes, head = part.codes, part.head
    src = r.lines.source[lo:hi]
    device = tl.device[src].astype(np.int64)
    call = tl.call[src].astype(np.int64)

    def pick(plain: pa.Array, index: np.ndarray, valid: np.ndarray) -> pa.Array:
        return plain.take(pa.array(np.where(valid, index, 0), mask=~valid))

    def hole(name: str) -> pa.Array:
        return text.strings(np.ascontiguousarray(HEAD.hole(head, name)))

    is_track = CATALOG_TYPE[tl.kind[src]] == TYPES.index("track")
    named = part.name_code > 0
    has_call = call >= 0
    user_local = codes[:, SLOT["user_id"]].astype(np.int64) - f.base["user_id"]
    property_local = codes[:, SLOT["properties"]].astype(np.int64) - f.base["properties"]
    suffix_local = codes[:, SLOT["suffix"]].astype(np.int64) - f.base["suffix"]
    has_anonymous = codes[:, SLOT["device"]] < f.base["device_only"]
    # context = the ip without the `"context":` key, then page/campaign, then device and user agent without the anonymousId
    context_values = r.context_values
    if context_values is None:
        context_values = r.context_values = pa.concat_arrays([f.plain["ip_open"], r.values])
    shift = len(f.plain["ip_open"])
    context_codes = np.stack([
        codes[:, SLOT["ip"]] - f.base["ip"],
        codes[:, SLOT["page_campaign"]] + shift,
        np.where(device >= 0, f.base["device_only"] + device, f.base["no_device"]) + shift,
    ], axis=1).astype(np.int32)
    timestamp = pc.binary_join_element_wise(hole("timestamp"), pick(f.plain["suffix"], suffix_local, suffix_local >= 0), "")
    return pa.table({
        "messageId": hole("message_id"),
        "type": f.plain["type"].take(pa.array(part.type_code)),
        "anonymousId": pick(f.plain["anonymous_id"], device, (device >= 0) & has_anonymous),
        "userId": pick(f.plain["user_id"], user_local, user_local >= 0),
        "event": pick(f.plain["name"], part.name_code, named & is_track),
        "name": pick(f.plain["name"], part.name_code, named & ~is_track),
        "properties": pick(f.plain["properties"], property_local, property_local >= 0),
        "traits": pick(f.plain["traits"], call, has_call),
        "context": _row_texts(context_values, context_codes),
        "groupId": pick(f.plain["group_id"], call, has_call),
        "previousId": pick(f.plain["previous_id"], call, has_call),
        "timestamp": timestamp,
        "receivedAt": pc.binary_join_element_wise(hole("received"), "Z", ""),
        "sentAt": pc.binary_join_element_wise(hole("sent"), "Z", ""),
    })


# --- writing parts, in parallel ----------------------------------------------------------------

_RENDERER: Renderer | None = None
_JOBS: list[tuple[int, int, str, str, bool]] = []


def _write_part(job_index: int) -> tuple[int, int]:
    """Render and write one part file, chunk by chunk; runs in a forked worker (or inline). Returns (part, lines)."""
    lo, hi, target, fmt, gzip = _JOBS[job_index]
    r = _RENDERER
    chunks = [(start, min(hi, start + CHUNK)) for start in range(lo, hi, CHUNK)]
    if fmt == "parquet":
        writer = None
        for start, end in chunks:
            table = _parquet_table(r, start, end)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=CHUNK)
        if writer is None:
            pq.write_table(_parquet_table(r, lo, hi), target, compression="zstd")
        else:
            writer.close()
        return job_index, hi - lo
    with open(target, "wb") as raw:
        handle = gzip_module.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) if gzip else raw
        for start, end in chunks:
            handle.write(_json_lines(r, start, end))
        if gzip:
            handle.close()
    return job_index, hi - lo


def part_bounds(total: int) -> list[tuple[int, int]]:
    """Line ranges of the part files: at most spec.PART_SIZE lines each, equal sizes, an even count when
    there are several (two workers finish together). Depends only on the line count, never on the machine."""
    parts = max(1, -(-total // spec.PART_SIZE))
    if parts > 1 and parts % 2:
        parts += 1
    size = -(-total // parts)
    return [(part * size, min(total, (part + 1) * size)) for part in range(parts) if part * size < total] or [(0, 0)]


class PartWriter:
    """Event part files being written in the background by forked workers (or already written inline).

    The caller keeps working (CSV inputs, ground truth) while the workers
    render, then calls `wait`. Progress lines come from the pool's result thread.
    """

    def __init__(self, renderer: Renderer, folder: Path, fmt: str, gzip: bool, progress: bool, started: float) -> None:
        global _RENDERER, _JOBS
        self.total = renderer.lines.source.size
        suffix = ".parquet" if fmt == "parquet" else (".jsonl.gz" if gzip else ".jsonl")
        self.files = [(f"events/part-{part:05d}{suffix}", lo, hi) for part, (lo, hi) in enumerate(part_bounds(self.total))]
        self.progress, self.started, self.done = progress and len(self.files) > 1, started, 0
        _JOBS = [(lo, hi, str(folder.parent / name), fmt, gzip) for name, lo, hi in self.files]
        _RENDERER = renderer
        self.pool = None
        workers = min(2, os.cpu_count() or 1, len(self.files))
        if workers <= 1:
            try:
                for index in range(len(self.files)):
                    self._report(_write_part(index))
            finally:
                _RENDERER, _JOBS = None, []
            return
        self.pool = multiprocessing.get_context("fork").Pool(workers)
        _RENDERER, _JOBS = None, []  # the forked workers hold their copy
        self.pending = [self.pool.apply_async(_write_part, (index,), callback=self._report) for index in range(len(self.files))]

    def _report(self, result: tuple[int, int]) -> None:
        self.done += result[1]
        if self.progress:
            elapsed = time.perf_counter() - self.started
            print(f"[generate {elapsed:6.1f}s] events {self.done:,}/{self.total:,} lines ({100 * self.done / max(self.total, 1):.0f}%), "
                  f"{self.done / max(elapsed, 1e-9):,.0f} lines/s", file=sys.stderr, flush=True)

    def wait(self) -> list[tuple[str, int, int]]:
        """Block until every part is written (re-raising a worker's error); returns (file, first line, end line)."""
        if self.pool is not None:
            try:
                for job in self.pending:
                    job.get()
            except BaseException:
                self.abort()
                raise
            self.pool.close()
            self.pool.join()
            self.pool = None
        return self.files

    def abort(self) -> None:
        """Stop the workers (after an error elsewhere), without waiting for their parts."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
