"""Unit tests of the demo-data generator: determinism, faults as declared, traps and personas as designed.

Everything is counted independently of the generator, with the standard
library (json, csv) where possible, and compared to manifest.json / faults.csv.
"""

from __future__ import annotations

import csv
import filecmp
import json
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from customer_segments.generate import GenerateError, generate

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL = 5_000
PERSONAS = {"power_user", "regular", "high_intent", "pricing_no_demo", "cart_abandoner", "dormant", "churned", "new", "anonymous_only"}
TRACK_NAMES = {"Product Viewed", "Product Added", "Cart Viewed", "Checkout Started", "Order Completed", "Signed Up", "Logged In",
               "Demo Requested", "Trial Started", "Feature Used", "Search Performed", "Pricing Viewed", "Page Viewed"}
PAGE_NAMES = {"Home", "Pricing", "Blog", "Docs", "Product", "Careers"}
SCREEN_NAMES = {"Dashboard", "Settings", "Reports"}
VALID_TYPES = {"track", "page", "screen", "identify", "alias", "group"}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("gen")
    manifest = generate(root / "raw", root / "truth", events=SMALL, seed=11, progress=False)
    return root, manifest


def raw_lines(raw: Path) -> list[bytes]:
    """Every event line (bytes, without the newline), in file order."""
    lines = []
    for path in sorted((raw / "events").glob("part-*.jsonl")):
        data = path.read_bytes()
        assert data.endswith(b"\n")
        lines += data[:-1].split(b"\n")
    return lines


def parse(line: bytes) -> dict | None:
    try:
        message = json.loads(line.decode("utf-8"))
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def messages(raw: Path) -> list[dict]:
    return [m for m in map(parse, raw_lines(raw)) if m is not None]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def tree(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


# --- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path, small):
    root, _ = small
    generate(tmp_path / "raw", tmp_path / "truth", events=SMALL, seed=11, progress=False)
    for folder in ("raw", "truth"):
        assert tree(root / folder) == tree(tmp_path / folder)
        for relative in tree(root / folder):
            assert filecmp.cmp(root / folder / relative, tmp_path / folder / relative, shallow=False), relative


def test_another_seed_gives_other_data(tmp_path, small):
    root, _ = small
    generate(tmp_path / "raw", tmp_path / "truth", events=SMALL, seed=12, progress=False)
    for relative in ("events/part-00000.jsonl", "orders.csv", "consent.csv"):
        assert not filecmp.cmp(root / "raw" / relative, tmp_path / "raw" / relative, shallow=False), relative


def test_output_is_the_same_with_one_or_two_worker_processes(tmp_path, monkeypatch):
    """Parts are rendered in parallel for large runs; the bytes must not depend on it."""
    from customer_segments.generate import spec

    monkeypatch.setattr(spec, "PART_SIZE", 1_500)  # several parts even for a small run
    generate(tmp_path / "a" / "raw", tmp_path / "a" / "truth", events=3_000, seed=4, progress=False)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    generate(tmp_path / "b" / "raw", tmp_path / "b" / "truth", events=3_000, seed=4, progress=False)
    files = tree(tmp_path / "a")
    assert len([f for f in files if "part-" in str(f)]) > 1
    for relative in files:
        assert filecmp.cmp(tmp_path / "a" / relative, tmp_path / "b" / relative, shallow=False), relative


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_second_world_in_one_process_renders_its_own_lines(tmp_path, monkeypatch, fmt):
    """The renderer's caches belong to one world. CPython may give a new world's renderer the address of a
    freed one, and a cache keyed by id() then rendered the new lines from the old world's fragments (a part
    file of spliced fragments, lines of up to 372 KB, once in a suite run). Here every object has the same
    id(), as if that always happened; the second world must be the bytes it gives on its own."""
    from customer_segments.generate import events as events_module

    monkeypatch.setattr(events_module, "id", lambda obj: 0, raising=False)
    generate(tmp_path / "a" / "raw", tmp_path / "a" / "truth", events=3_000, seed=3, fmt=fmt, progress=False)
    generate(tmp_path / "b" / "raw", tmp_path / "b" / "truth", events=3_000, seed=11, fmt=fmt, progress=False)
    monkeypatch.undo()
    generate(tmp_path / "c" / "raw", tmp_path / "c" / "truth", events=3_000, seed=11, fmt=fmt, progress=False)
    parts = [f for f in tree(tmp_path / "c" / "raw") if "part-" in str(f)]
    assert parts
    for relative in parts:
        assert filecmp.cmp(tmp_path / "b" / "raw" / relative, tmp_path / "c" / "raw" / relative, shallow=False), relative


# --- manifest and faults match the files -----------------------------------------------------------


def test_event_counts_match_the_files(small):
    root, manifest = small
    events = manifest["events"]
    lines = raw_lines(root / "raw")
    assert len(lines) == events["raw_lines"]
    parsed = [parse(line) for line in lines]
    assert sum(m is None for m in parsed) == events["quarantined"]["malformed_json"]
    good = [m for m in parsed if m is not None]
    assert sum(n - 1 for n in Counter(m["messageId"] for m in good).values()) == events["duplicates"]["duplicate_message_id"]
    assert sum(1 for m in good if not m.get("anonymousId") and not m.get("userId")) == events["quarantined"]["missing_identifier"]
    assert sum(1 for m in good if m.get("type") not in VALID_TYPES) == events["quarantined"]["invalid_type"]
    years = Counter(when(m["timestamp"]).year for m in good)
    assert sum(n for year, n in years.items() if year > 2090) == events["quarantined"]["timestamp_in_future"]
    assert years[1970] == events["quarantined"]["timestamp_too_old"]
    assert sum(1 for m in good if not m["timestamp"].endswith("Z")) == events["kept_with_quirks"]["mixed_timezone"]
    assert events["raw_lines"] == events["valid_distinct"] + sum(events["duplicates"].values()) + sum(events["quarantined"].values())


def test_every_fault_kind_is_injected_and_listed(small):
    root, manifest = small
    events = manifest["events"]
    faults = read_csv(root / "truth" / "faults.csv")
    by_kind = Counter(row["fault"] for row in faults if row["source"] == "events")
    for section in ("duplicates", "quarantined", "kept_with_quirks"):
        for fault, count in events[section].items():
            assert count > 0, fault
            assert by_kind[fault] == count, fault
    for source, entry in manifest["csv"].items():
        listed = Counter(row["fault"] for row in faults if row["source"] == source)
        assert listed == Counter({**entry["quarantined"], **entry["duplicates"]}), source


def test_faulty_events_are_where_the_truth_says(small):
    root, _ = small
    lines = raw_lines(root / "raw")
    by_id: dict[str, list[dict]] = {}
    for message in map(parse, lines):
        if message is not None:
            by_id.setdefault(message["messageId"], []).append(message)
    faults = read_csv(root / "truth" / "faults.csv")
    for row in faults:
        if row["source"] != "events":
            continue
        if row["fault"] == "malformed_json":
            assert row["file"].startswith("events/part-") and not row["message_id"]
            assert parse(lines[int(row["line"]) - 1]) is None  # a single part in this run
            continue
        copies = by_id[row["message_id"]]
        if row["fault"] == "duplicate_message_id":
            assert len(copies) == 2
            first, second = copies
            assert {k: v for k, v in first.items() if k != "receivedAt"} == {k: v for k, v in second.items() if k != "receivedAt"}
            continue
        assert len(copies) == 1, row
        message = copies[0]
        if row["fault"] == "mixed_timezone":
            assert when(message["timestamp"]) == when(row["true_utc"])
        elif row["fault"] == "late_arriving":
            assert timedelta(days=2) <= when(message["receivedAt"]) - when(message["timestamp"]) <= timedelta(days=20, seconds=5)
        elif row["fault"] == "spelling_variant":
            assert message["event"] == row["raw_spelling"]
        elif row["fault"] == "hostile_string":
            assert "comment" in message["properties"]


def test_double_fires_copy_a_call_within_a_second(small):
    root, _ = small
    good = messages(root / "raw")
    index = {m["messageId"]: position for position, m in enumerate(good)}
    fires = [row["message_id"] for row in read_csv(root / "truth" / "faults.csv") if row["fault"] == "double_fire"]
    assert fires
    for message_id in fires:
        copy = good[index[message_id]]
        original = good[index[message_id] - 1]  # written right after the call it copies
        gap = when(copy["timestamp"]) - when(original["timestamp"])
        assert timedelta(milliseconds=1) <= gap < timedelta(milliseconds=900)
        same = ("type", "anonymousId", "userId", "event", "name", "properties", "context")
        assert all(copy.get(key) == original.get(key) for key in same)


def test_legit_calls_of_one_person_are_at_least_two_seconds_apart(small):
    root, _ = small
    fired = {row["message_id"] for row in read_csv(root / "truth" / "faults.csv") if row["fault"] in ("double_fire", "duplicate_message_id")}
    last: dict[str, datetime] = {}
    seen = set()
    for message in messages(root / "raw"):
        if message["messageId"] in fired and message["messageId"] in seen or not message.get("anonymousId"):
            continue
        seen.add(message["messageId"])
        if message["messageId"] in fired or message["anonymousId"] == "kiosk-anon-0001" or not message["timestamp"].endswith("Z"):
            continue
        stamp = when(message["timestamp"])
        if stamp.year < 2000 or stamp.year > 2090:
            continue
        previous = last.get(message["anonymousId"])
        assert previous is None or stamp - previous >= timedelta(seconds=2)
        last[message["anonymousId"]] = stamp


def test_csv_counts_match_the_files(small):
    root, manifest = small
    for name, entry in manifest["csv"].items():
        rows = read_csv(root / "raw" / f"{name}.csv")
        assert len(rows) == entry["raw_rows"] == manifest["files"][name], name
        assert entry["raw_rows"] == entry["valid"] + sum(entry["quarantined"].values()) + sum(entry["duplicates"].values())
    orders = read_csv(root / "raw" / "orders.csv")
    expected = manifest["csv"]["orders"]
    amounts = Counter("invalid" if not o["amount"].replace(".", "", 1).lstrip("-").isdigit() else
                      "negative" if o["amount"].startswith("-") else "ok" for o in orders)
    assert amounts["invalid"] == expected["quarantined"]["invalid_amount"]
    assert amounts["negative"] == expected["quarantined"]["negative_amount"]
    assert sum(o["status"] not in ("completed", "refunded", "cancelled") for o in orders) == expected["quarantined"]["invalid_status"]
    assert sum(not o["order_id"] for o in orders) == expected["quarantined"]["missing_order_id"]
    exact = Counter(tuple(o.values()) for o in orders if o["order_id"])
    assert sum(n - 1 for n in exact.values()) == expected["duplicates"]["duplicate_order_id"]
    contacts = read_csv(root / "raw" / "crm_contacts.csv")
    assert sum("@" not in c["email"] for c in contacts) == manifest["csv"]["crm_contacts"]["quarantined"]["invalid_email"]
    bounced = sum(c["email_status"] == "bounced" for c in contacts) / len(contacts)
    assert 0.0 < bounced < 0.15
    consent = read_csv(root / "raw" / "consent.csv")
    assert sum(c["granted"] not in ("true", "false") for c in consent) == manifest["csv"]["consent"]["quarantined"]["invalid_granted"]
    email = read_csv(root / "raw" / "email_events.csv")
    kinds = {"delivered", "open", "click", "bounce", "unsubscribe", "spam"}
    assert sum(e["event_type"] not in kinds for e in email) == manifest["csv"]["email_events"]["quarantined"]["invalid_event_type"]


def test_spelling_variants_differ_only_in_case_and_separators(small):
    root, manifest = small
    variants = manifest["events"]["spelling_variants"]
    assert sum(v["count"] for v in variants) == manifest["events"]["kept_with_quirks"]["spelling_variant"]
    key = lambda text: "".join(ch for ch in text.lower() if ch.isalnum())  # noqa: E731
    for variant in variants:
        raw, canonical = variant["raw_spelling"], variant["canonical"]
        assert key(raw) in {key(canonical), "pageview"}, variant
        assert raw != canonical.replace("_", " "), variant
    clean = {m["event"] for m in messages(root / "raw") if m.get("type") == "track"} - {v["raw_spelling"] for v in variants}
    assert clean <= TRACK_NAMES


def test_names_follow_the_taxonomy(small):
    root, _ = small
    found = Counter((m["type"], m.get("name")) for m in messages(root / "raw") if m.get("type") in ("page", "screen"))
    assert {name for (kind, name) in found if kind == "page"} <= PAGE_NAMES
    assert {name for (kind, name) in found if kind == "screen"} <= SCREEN_NAMES


def test_lines_are_utf8_without_nul_or_stray_line_breaks(small):
    root, _ = small
    for line in raw_lines(root / "raw"):
        line.decode("utf-8")
        assert b"\x00" not in line and b"\r" not in line
        assert len(line.decode("utf-8").splitlines()) == 1


# --- traps and personas ---------------------------------------------------------------------------


def test_every_persona_and_trap_is_present(small):
    root, manifest = small
    people = read_csv(root / "truth" / "people.csv")
    assert {p["persona"] for p in people} == PERSONAS
    assert manifest["traps"] == {"shared_device": 50, "generic_email": 20, "alias_chain": 3, "email_case": 5}
    good = messages(root / "raw")
    kiosk = [m for m in good if m.get("anonymousId") == "kiosk-anon-0001"]
    assert {m["context"]["device"]["id"] for m in kiosk} == {"kiosk-device-0001"}
    assert len({m["userId"] for m in kiosk if m["type"] == "identify"}) == 50
    assert len({m["userId"] for m in good if (m.get("traits") or {}).get("email") == "test@test.com"}) == 20
    chains = [m for m in good if m.get("type") == "alias" and m["previousId"].startswith("chain_")]
    assert len(chains) == 15
    links = {m["previousId"]: m["userId"] for m in chains}
    ends = [start for start in links if start.endswith("_1")]
    for start in ends:
        hops, current = 0, start
        while current in links:
            current, hops = links[current], hops + 1
        assert hops == 5 and current.startswith("usr_")
    emails = {p["email"] for p in people if p["email"]}
    odd = [m["traits"]["email"] for m in good if m.get("type") == "identify" and m["traits"]["email"] not in emails | {"test@test.com"}]
    assert len(odd) == 5
    assert all(e != e.strip().lower() and e.strip().lower() in emails for e in odd)
    identifiers = read_csv(root / "truth" / "identifiers.csv")
    traps = {(row["identifier_value"], row["trap"]) for row in identifiers if row["is_trap"] == "true"}
    assert traps == {("kiosk-anon-0001", "shared_device"), ("kiosk-device-0001", "shared_device"), ("test@test.com", "generic_email")}


def test_tiny_runs_still_have_every_persona_and_trap(tmp_path):
    manifest = generate(tmp_path / "raw", tmp_path / "truth", events=1_000, seed=9, progress=False)
    assert {p["persona"] for p in read_csv(tmp_path / "truth" / "people.csv")} == PERSONAS
    assert manifest["traps"] == {"shared_device": 50, "generic_email": 20, "alias_chain": 3, "email_case": 5}
    assert all(n > 0 for section in ("duplicates", "quarantined", "kept_with_quirks") for n in manifest["events"][section].values())


def test_personas_behave_differently(small):
    """High intent views pricing and requests demos recently; dormant, churned and new people are where they should be."""
    root, manifest = small
    owner = {row["identifier_value"]: row["person_id"] for row in read_csv(root / "truth" / "identifiers.csv") if row["person_id"]}
    people = {p["person_id"]: p for p in read_csv(root / "truth" / "people.csv")}
    end = when(manifest["end_date"])
    pricing, demos, seen, user_ids = Counter(), Counter(), {}, Counter()
    quarantined = {r["message_id"] for r in read_csv(root / "truth" / "faults.csv") if r["fault"] in ("timestamp_in_future", "timestamp_too_old")}
    for message in messages(root / "raw"):
        person = owner.get(message.get("userId")) or owner.get(message.get("anonymousId"))
        if person is None or message["messageId"] in quarantined:
            continue
        persona = people[person]["persona"]
        stamp = when(message["timestamp"])
        first, last = seen.get(person, (stamp, stamp))
        seen[person] = (min(first, stamp), max(last, stamp))
        if message.get("userId"):
            user_ids[persona] += 1
        recent = end - stamp < timedelta(days=14)
        if recent and (message.get("name") == "Pricing" or message.get("event") == "Pricing Viewed"):
            pricing[persona] += 1
        if "".join(ch for ch in (message.get("event") or "").lower() if ch.isalpha()) == "demorequested":
            demos[persona] += 1  # any spelling
    count = Counter(p["persona"] for p in people.values())
    per_person = {name: pricing[name] / count[name] for name in count}
    assert per_person["high_intent"] > 5 * max(per_person["dormant"], 0.05)
    assert demos["high_intent"] >= 0.8 * count["high_intent"] and demos["pricing_no_demo"] == 0  # a few carry a fault
    quiet = lambda name: min(end - seen[p][1] for p, row in people.items() if row["persona"] == name and p in seen)  # noqa: E731
    assert quiet("churned") > timedelta(days=120)
    assert quiet("dormant") > timedelta(days=60)
    assert max(end - seen[p][0] for p, row in people.items() if row["persona"] == "new" and p in seen) < timedelta(days=14)
    assert user_ids["anonymous_only"] == 0
    orders = read_csv(root / "raw" / "orders.csv")
    email_persona = {p["email"]: p["persona"] for p in people.values() if p["email"]}
    buyers = Counter(email_persona.get(o["email"]) for o in orders if o["status"] == "completed")
    assert buyers["cart_abandoner"] == 0 and buyers["power_user"] > buyers["high_intent"]


def test_b2b_people_have_work_email_crm_rows_and_office_traffic(small):
    root, _ = small
    people = read_csv(root / "truth" / "people.csv")
    accounts = {a["account_id"]: a for a in read_csv(root / "truth" / "accounts.csv")}
    b2b = [p for p in people if p["account_id"] and p["email"]]
    assert 0.3 < len(b2b) / sum(1 for p in people if p["email"]) < 0.7
    assert all(p["email"].endswith("@" + accounts[p["account_id"]]["domain"]) for p in b2b)
    contacts = {c["contact_id"] for c in read_csv(root / "raw" / "crm_contacts.csv")}
    identifiers = read_csv(root / "truth" / "identifiers.csv")
    crm = [row for row in identifiers if row["identifier_type"] == "crm_contact_id"]
    assert len(crm) == len(b2b) and len(contacts & {row["identifier_value"] for row in crm}) >= len(crm) - 2
    ranges = read_csv(root / "raw" / "ip_ranges.csv")
    prefixes = {r["range_start"].rsplit(".", 1)[0] for r in ranges}
    office = [m for m in messages(root / "raw") if not m.get("userId") and (m.get("context") or {}).get("ip", "").rsplit(".", 1)[0] in prefixes]
    assert office, "some anonymous traffic comes from office networks"


# --- options, formats and errors ------------------------------------------------------------------


def test_no_faults_option_injects_none(tmp_path):
    manifest = generate(tmp_path / "raw", tmp_path / "truth", events=2_000, seed=3, faults=False, progress=False)
    events = manifest["events"]
    assert events["raw_lines"] == events["valid_distinct"]
    assert all(n == 0 for section in ("duplicates", "quarantined", "kept_with_quirks") for n in events[section].values())
    assert read_csv(tmp_path / "truth" / "faults.csv") == []
    assert all(parse(line) is not None for line in raw_lines(tmp_path / "raw"))
    for entry in manifest["csv"].values():
        assert entry["raw_rows"] == entry["valid"]


@pytest.mark.parametrize("fmt,gzip,pattern", [("parquet", False, "part-*.parquet"), ("jsonl", True, "part-*.jsonl.gz")])
def test_parquet_and_gzip_outputs_are_readable(tmp_path, fmt, gzip, pattern):
    manifest = generate(tmp_path / "raw", tmp_path / "truth", events=2_000, seed=5, fmt=fmt, gzip=gzip, progress=False)
    files = sorted((tmp_path / "raw" / "events").glob(pattern))
    assert files
    glob = f"{tmp_path}/raw/events/{pattern}"
    with duckdb.connect() as connection:
        if fmt == "parquet":
            count, kinds, contexts = connection.execute(
                f"select count(*), count(distinct type), count(json_valid(context)) from read_parquet('{glob}')").fetchone()
            assert kinds >= 6 and contexts == count
            columns = {row[0] for row in connection.execute(f"describe select * from read_parquet('{glob}')").fetchall()}
            assert {"messageId", "type", "anonymousId", "userId", "event", "name", "properties", "traits", "context",
                    "groupId", "previousId", "timestamp", "receivedAt", "sentAt"} <= columns
        else:
            count = connection.execute(
                f"select count(*) from read_csv('{glob}', columns={{'line': 'varchar'}}, header=false, auto_detect=false, "
                "delim=chr(1), quote='', escape='')").fetchone()[0]
    assert count == manifest["events"]["raw_lines"]
    if fmt == "parquet":
        assert manifest["events"]["quarantined"]["malformed_json"] == 0


@pytest.mark.parametrize("arguments,message", [
    (["--events", "0"], "--events must be a positive"),
    (["--events", "-5"], "--events must be a positive"),
    (["--end", "soon"], "--end must be a date"),
    (["--seed", "-1"], "--seed must be"),
    (["--people", "10"], "--people must be a whole number of at least"),
    (["--people", "-3"], "--people must be a whole number of at least"),
])
def test_cli_bad_arguments_give_a_message_not_a_traceback(tmp_path, arguments, message):
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.generate", "--out", str(tmp_path / "raw"), "--truth", str(tmp_path / "t"), *arguments],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_people_can_be_set_apart_from_events(tmp_path):
    """Big identity graphs need many people with few events each (the identity benchmark)."""
    manifest = generate(tmp_path / "raw", tmp_path / "truth", events=2_000, people=600, seed=5, progress=False)
    assert manifest["people"] == 600
    assert len(read_csv(tmp_path / "truth" / "people.csv")) == 600
    with pytest.raises(GenerateError, match="--people must be"):
        generate(tmp_path / "raw", tmp_path / "truth", events=2_000, people=True, progress=False)


def test_cli_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(GenerateError, match="cannot write to"):
        generate(blocker / "raw", tmp_path / "truth", events=1_000, progress=False)
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.generate", "--out", str(blocker / "raw"), "--truth", str(tmp_path / "t"), "--quiet"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 2 and "cannot write to" in done.stderr and "Traceback" not in done.stderr


def test_cli_writes_files_and_a_summary(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.generate", "--out", str(tmp_path / "raw"), "--truth", str(tmp_path / "t"),
         "--events", "1500", "--seed", "3", "--end", "2026-06-30"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "done:" in done.stderr.splitlines()[-1]
    manifest = json.loads((tmp_path / "t" / "manifest.json").read_text())
    assert manifest["end_date"] == "2026-06-30T23:59:59Z"
    latest = max(when(m["receivedAt"]) for m in messages(tmp_path / "raw"))
    assert latest < when("2026-07-21T00:00:00Z")  # late arrivals land at most 20 days after the end


def test_speed_is_reported(tmp_path):
    """Prints events/s; never fails on time (machines differ)."""
    started = time.perf_counter()
    manifest = generate(tmp_path / "raw", tmp_path / "truth", events=300_000, seed=1, progress=False)
    elapsed = time.perf_counter() - started
    print(f"\ngenerator: {manifest['events']['raw_lines']:,} lines in {elapsed:.2f}s = {300_000 / elapsed:,.0f} events/s")
    assert manifest["events"]["raw_lines"] > 300_000
