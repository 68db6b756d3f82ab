"""Unit tests of the demo-data generator: determinism, faults as declared, personas that differ."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from customer_segments.generate import GenerateError, generate

from conftest import REPO_ROOT

SMALL = 6_000


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    manifest = generate(root / "raw", root / "truth", events=SMALL, seed=11, progress=False)
    return root, manifest


def event_lines(raw: Path) -> list[str]:
    return [line for path in sorted((raw / "events").glob("part-*.jsonl")) for line in path.read_text().splitlines()]


def test_same_seed_gives_identical_files(tmp_path, small):
    root, _ = small
    generate(tmp_path / "raw", tmp_path / "truth", events=SMALL, seed=11, progress=False)
    for relative in ["events/part-00000.jsonl", "orders.csv", "crm_contacts.csv", "consent.csv", "email_events.csv"]:
        assert filecmp.cmp(root / "raw" / relative, tmp_path / "raw" / relative, shallow=False), relative
    for relative in ["faults.csv", "identifiers.csv", "people.csv", "manifest.json"]:
        assert filecmp.cmp(root / "truth" / relative, tmp_path / "truth" / relative, shallow=False), relative


def test_another_seed_gives_other_data(tmp_path, small):
    root, _ = small
    generate(tmp_path / "raw", tmp_path / "truth", events=SMALL, seed=12, progress=False)
    assert not filecmp.cmp(root / "raw" / "events/part-00000.jsonl", tmp_path / "raw" / "events/part-00000.jsonl", shallow=False)


def test_manifest_matches_the_files(small):
    """Counted independently with the standard library: lines, non-JSON lines, repeated messageIds."""
    root, manifest = small
    lines = event_lines(root / "raw")
    events = manifest["events"]
    assert len(lines) == events["raw_lines"]
    parsed, malformed = [], 0
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            malformed += 1
            continue
        if isinstance(message, dict):
            parsed.append(message)
        else:
            malformed += 1
    assert malformed == events["quarantined"]["malformed_json"]
    repeats = sum(n - 1 for n in Counter(m["messageId"] for m in parsed).values())
    assert repeats == events["duplicates"]["duplicate_message_id"]
    assert events["raw_lines"] == events["valid_distinct"] + sum(events["duplicates"].values()) + sum(events["quarantined"].values())
    no_ids = sum(1 for m in parsed if not m.get("anonymousId") and not m.get("userId"))
    assert no_ids == events["quarantined"]["missing_identifier"]
    for name, entry in manifest["csv"].items():
        frame = pd.read_csv(root / "raw" / f"{name}.csv", dtype=str, keep_default_na=False)
        assert len(frame) == entry["raw_rows"], name
        assert entry["raw_rows"] == entry["valid"] + sum(entry["quarantined"].values()) + sum(entry["duplicates"].values())


def test_every_fault_kind_is_injected(small):
    _, manifest = small
    events = manifest["events"]
    for section in ("duplicates", "quarantined", "kept_with_quirks"):
        for fault, count in events[section].items():
            assert count > 0, fault
    assert manifest["csv"]["orders"]["duplicates"]["duplicate_order_id"] > 0


def test_spelling_variants_differ_only_in_case_and_separators(small):
    root, _ = small
    faults = pd.read_csv(root / "truth" / "faults.csv", dtype=str, keep_default_na=False)
    variants = faults.loc[faults["fault"] == "spelling_variant"]
    assert len(variants) > 0
    key = lambda text: "".join(ch for ch in text.lower() if ch.isalnum())  # noqa: E731
    for raw, canonical in zip(variants["raw_spelling"], variants["canonical"]):
        assert key(raw) in {key(canonical), "pageview"}, (raw, canonical)
        assert raw.strip() != canonical.replace("_", " ") or raw != raw.strip()


def test_every_persona_and_trap_is_present(small):
    root, manifest = small
    people = pd.read_csv(root / "truth" / "people.csv")
    assert set(people["persona"]) == {
        "power_user", "regular", "high_intent", "pricing_no_demo", "cart_abandoner", "dormant", "churned", "new", "anonymous_only"
    }
    assert manifest["traps"] == {"shared_device": 50, "generic_email": 20, "alias_chain": 3, "email_case": 5}
    messages = [json.loads(line) for line in event_lines(root / "raw") if line.startswith("{") and line.endswith("}")]
    kiosk_users = {m["userId"] for m in messages if m.get("anonymousId") == "kiosk-anon-0001" and m["type"] == "identify"}
    assert len(kiosk_users) == 50
    generic = {m["userId"] for m in messages if (m.get("traits") or {}).get("email") == "test@test.com"}
    assert len(generic) == 20
    aliases = [m for m in messages if m["type"] == "alias" and m["previousId"].startswith("chain_")]
    assert len(aliases) == 15  # three chains, five links each


def test_personas_behave_differently(small):
    """High-intent people view pricing recently; dormant and churned people are quiet at the end."""
    root, manifest = small
    truth = pd.read_csv(root / "truth" / "identifiers.csv", dtype=str)
    owner = dict(zip(truth["identifier_value"], truth["person_id"]))
    persona = dict(pd.read_csv(root / "truth" / "people.csv", dtype=str)[["person_id", "persona"]].values)
    end = pd.Timestamp(manifest["end_date"])
    recent_pricing, last_seen = Counter(), {}
    for line in event_lines(root / "raw"):
        try:
            message = json.loads(line)
            when = pd.Timestamp(message["timestamp"])
        except (ValueError, KeyError, TypeError):
            continue
        person = owner.get(message.get("userId")) or owner.get(message.get("anonymousId"))
        if person is None or when.year > 2030 or when.year < 2000:
            continue
        last_seen[person] = max(last_seen.get(person, when), when)
        if (message.get("name") == "Pricing" or message.get("event") == "Pricing Viewed") and end - when < pd.Timedelta(days=14):
            recent_pricing[persona[person]] += 1
    people = Counter(persona.values())
    per_person = {name: recent_pricing[name] / people[name] for name in people}
    assert per_person["high_intent"] > 5 * max(per_person["dormant"], 0.05)
    quiet = [end - last_seen[p] for p, name in persona.items() if name == "churned" and p in last_seen]
    assert min(quiet) > pd.Timedelta(days=100)


def test_no_faults_option_injects_none(tmp_path):
    manifest = generate(tmp_path / "raw", tmp_path / "truth", events=2_000, seed=3, faults=False, progress=False)
    assert manifest["events"]["raw_lines"] == manifest["events"]["valid_distinct"]
    faults = pd.read_csv(tmp_path / "truth" / "faults.csv")
    assert faults.empty


@pytest.mark.parametrize("fmt,gzip,pattern", [("parquet", False, "part-*.parquet"), ("jsonl", True, "part-*.jsonl.gz")])
def test_parquet_and_gzip_outputs_are_readable(tmp_path, fmt, gzip, pattern):
    manifest = generate(tmp_path / "raw", tmp_path / "truth", events=2_000, seed=5, fmt=fmt, gzip=gzip, progress=False)
    files = sorted((tmp_path / "raw" / "events").glob(pattern))
    assert files
    with duckdb.connect() as connection:
        if fmt == "parquet":
            count = connection.execute(f"select count(*) from read_parquet('{tmp_path}/raw/events/{pattern}')").fetchall()[0][0]
        else:
            count = connection.execute(
                f"select count(*) from read_csv('{tmp_path}/raw/events/{pattern}', columns={{'line': 'varchar'}}, "
                "header=false, auto_detect=false, delim=chr(1), quote='', escape='')"
            ).fetchall()[0][0]
    assert count == manifest["events"]["raw_lines"]


@pytest.mark.parametrize("arguments,message", [(["--events", "0"], "--events must be a positive"), (["--end", "soon"], "--end must be a date")])
def test_cli_bad_arguments_give_a_message_not_a_traceback(tmp_path, arguments, message):
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.generate", "--out", str(tmp_path / "raw"), "--truth", str(tmp_path / "t"), *arguments],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(GenerateError, match="cannot write to"):
        generate(blocker / "raw", tmp_path / "truth", events=1_000, progress=False)
