"""An incremental build gives the same marts as a full build on the same data, table by table.

A: build on a first load, then add a second load (new people's events of the last days, dated within the
lookback window, var activity_lookback_days, before the newest day already aggregated: late and new events)
and build again, incrementally. Events later than the lookback are not picked up by the incremental daily
aggregate by design (README "Scores": a --full-refresh recounts them).
B: `dbt build --full-refresh` on a copy of A's warehouse and the same raw data. Same as_of everywhere.
(Compared with a brand-new database instead, the marts differ by design in one way: a build that erases
people for the first time purges them at its end, after the aggregates of that build, segments.member_count
and account_scores, were computed; README "Privacy".)

Person ids are stable ids (README "Identity graph"): A keeps the ids of its first build when people merge,
B hashes the roots it sees, so people are compared by their smallest plain-text identifier, not by id.
Not compared, because they are history by design: segment_member_changes, identity_person_merges,
segment_lift (it measures entries over builds), dq_results, build_audit, build_audit_segments, erasure_log;
nor entered_at and is_holdout of segment_members (both follow the person id).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from tests.python.conftest import Workspace

AS_OF = "2026-10-31 23:59:59"
#: var activity_lookback_days (3) before the newest day: the incremental daily aggregate recomputes from here
LOOKBACK_START = "2026-10-28"


def build(space: Workspace) -> None:
    run = space.dbt("build", "--vars", f"{{as_of: '{AS_OF}'}}")
    assert run.returncode == 0, run.output[-5000:]


def person_keys(space: Workspace) -> dict[str, str]:
    return dict(space.query(
        "select person_id, min(identifier_type || ':' || identifier_value) from int_identity_person_ids group by 1"
    ))


def rows(space: Workspace, sql: str, keyed: bool = True) -> list[tuple]:
    keys = person_keys(space)
    out = []
    for row in space.query(sql):
        row = tuple(round(v, 9) if isinstance(v, float) else v for v in row)
        out.append((keys.get(row[0], row[0]),) + row[1:] if keyed else row)
    return sorted(out, key=repr)


QUERIES = {
    "people": ("select person_id, account_id, account_link_method, email, first_seen_at, last_seen_at, lifecycle_stage, "
               "consent_analytics, consent_marketing, consent_personalization from people", True),
    "person_identifiers": ("select person_id, identifier_type, identifier_value, first_seen_at, last_seen_at "
                           "from person_identifiers", True),
    "person_scores": ("select * exclude (as_of) from person_scores", True),
    "person_account_links": ("select person_id, account_id, method, evidence_count, is_primary from person_account_links", True),
    "segment_members": ("select entity_id, segment_id, entity_type, score, priority, is_primary, last_reviewed_at "
                        "from segment_members", True),
    "accounts": ("select * from accounts", False),
    "account_scores": ("select * exclude (as_of) from account_scores", False),
    "segments": ("select segment_id, status, member_count, definition_hash from segments", False),
    "identity_rejected_edges": ("select from_type, from_value, to_type, to_value, reason from identity_rejected_edges", False),
    # staging itself: the lines parsed file by file over two builds, and the verdicts made over all of them
    "base_segment__event_lines": ("select * from base_segment__event_lines", False),
    # (judged_at: when a line was judged, build metadata by design)
    "stg_segment__events": ("select * exclude (judged_at) from stg_segment__events", False),
    "int_events_deduplicated": ("select * exclude (judged_at) from int_events_deduplicated", False),
    "quarantined_rows": ("select source, raw, reason from quarantined_rows", False),
    "int_activity_daily": ("select * from int_activity_daily", False),
    # attribution: appended to, and attributed again where the graph changed (judged_at: build metadata)
    "int_events_attributed": ("select * exclude (judged_at) from int_events_attributed", True),
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def as_line(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def plain_track(lines: list[str], faults_csv) -> dict:
    """The first well-formed track call (a user id, a UTC timestamp before the lookback window, no planted fault,
    its messageId nowhere else) among the lines."""
    faulty = {row["message_id"] for row in csv.DictReader(faults_csv.open()) if row["message_id"]}
    counts = Counter(re.findall(r'"messageId":"([^"]+)"', "\n".join(lines)))
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if (isinstance(message, dict) and message.get("type") == "track" and message.get("userId")
                and message.get("event") and counts[message.get("messageId")] == 1
                and message["messageId"] not in faulty
                and str(message.get("timestamp", "")).endswith("Z") and message["timestamp"] < LOOKBACK_START):
            return message
    raise AssertionError("no plain track call in the generated lines")


MERGED_VISITOR = "anon-merged-visitor-0001"
SPLIT_VISITOR = "anon-split-visitor-0001"


def visitor_call(template: dict, anonymous_id: str, number: int) -> dict:
    """A page call of an anonymous visitor (no user id, no device), dated before the lookback window."""
    stamp = f"2026-10-20T0{number}:00:00.000Z"
    call = {key: value for key, value in template.items() if key not in ("userId", "sentAt", "event", "properties")}
    call.update(type="page", name="Pricing", properties={}, anonymousId=anonymous_id,
                messageId=f"{anonymous_id}-{number}", timestamp=stamp, receivedAt=stamp,
                context={key: value for key, value in (template.get("context") or {}).items() if key != "device"})
    return call


def identify_call(user_id: str, anonymous_id: str, stamp: str) -> dict:
    return {"type": "identify", "userId": user_id, "anonymousId": anonymous_id, "traits": {},
            "messageId": f"identify-{anonymous_id}", "timestamp": stamp, "receivedAt": stamp}


def people_of(space: Workspace, anonymous_id: str, user_id: str) -> tuple[set, set]:
    """The persons the visitor's events and the user's events are attributed to."""
    def persons(column: str, value: str) -> set:
        return {row[0] for row in space.query(f"select distinct person_id from int_events_attributed where {column} = ?", [value])}
    return persons("anonymous_id", anonymous_id) - {None}, persons("user_id", user_id) - {None}


def replay_verdicts(space: Workspace, message_id: str) -> list[tuple]:
    return space.query(
        "select source_file, quarantine_reason, duplicate_reason from stg_segment__events where message_id = ? "
        "order by source_file", [message_id])


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Workspace, tuple[set[str], str, dict]]:
    from customer_segments.generate import generate

    incremental = Workspace(tmp_path_factory.mktemp("incremental"))
    generate(incremental.raw, incremental.truth, events=8_000, seed=21, progress=False, end_date="2026-10-31")
    # the first load as two files, so one can stay untouched while the other is rewritten
    (generated,) = sorted((incremental.raw / "events").glob("*.jsonl"))
    lines = generated.read_text().splitlines()
    generated.unlink()
    first_files = [incremental.raw / "events" / "part-a.jsonl", incremental.raw / "events" / "part-b.jsonl"]
    first_files[0].write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    first_files[1].write_text("\n".join(lines[len(lines) // 2:]) + "\n")
    # identity that the second build changes (README "Incremental builds": attribution): two anonymous
    # visitors, each with old page calls in part-a (untouched), dated before the lookback window; the second
    # load identifies the first as a known user (a merge), and the first load's identify of the second (dated
    # inside the lookback window, as the newest lines are), at the end of part-b, goes with part-b's last lines
    # when part-b is rewritten (a split)
    faults = incremental.truth / "faults.csv"
    merged_user = plain_track(first_files[0].read_text().splitlines()[200:], faults)
    split_user = next(message for message in (plain_track(first_files[0].read_text().splitlines()[start:], faults)
                                              for start in range(400, 4000, 50))
                      if message["userId"] != merged_user["userId"])
    visitor_calls = [visitor_call(merged_user, anonymous_id, number)
                     for anonymous_id in (MERGED_VISITOR, SPLIT_VISITOR) for number in range(3)]
    with first_files[0].open("a") as handle:
        handle.write("".join(as_line(call) + "\n" for call in visitor_calls))
    with first_files[1].open("a") as handle:
        handle.write(as_line(identify_call(split_user["userId"], SPLIT_VISITOR, "2026-10-29T12:00:00.000Z")) + "\n")
    # a file that will be deleted before the second build: re-delivered copies of 20 messages of part-a, kept
    # in the first build (same receivedAt, and its name sorts first), so part-a's originals are duplicates there
    extra = incremental.raw / "events" / "a-redelivered.jsonl"
    extra.write_text("\n".join(first_files[0].read_text().splitlines()[:20]) + "\n")
    # an old replay that differs in payload (another call, the same message), in a file of its own that stays
    # untouched: part-a's copy is kept and the replay is its duplicate. The second load adds a new line of the
    # replay's call, so the replay is judged again, and its copy in part-a (in a call nothing touches) must still
    # count when its copies are numbered.
    original = plain_track(first_files[0].read_text().splitlines()[100:], incremental.truth / "faults.csv")
    replay = dict(original, properties={**(original.get("properties") or {}), "replayed_later": True},
                  receivedAt=(utc(original.get("receivedAt") or original["timestamp"]) + timedelta(hours=1)).isoformat())
    (incremental.raw / "events" / "replays.jsonl").write_text(as_line(replay) + "\n")
    build(incremental)
    visitor_people_before = {visitor: people_of(incremental, visitor, user["userId"])
                             for visitor, user in ((MERGED_VISITOR, merged_user), (SPLIT_VISITOR, split_user))}
    replay_verdicts_before = replay_verdicts(incremental, original["messageId"])
    first_copies_kept = [row[0] for row in incremental.query(
        "select line_number from stg_segment__events where source_file = 'events/part-a.jsonl' and line_number <= 20 "
        "and duplicate_reason = 'duplicate_message_id'")]
    usable_tracks = incremental.query(
        "select line_number, raw_line from stg_segment__events where source_file = 'events/part-a.jsonl' "
        "and quarantine_reason is null and duplicate_reason is null and message_type = 'track' "
        # (not in the first second of a day: the earlier fire below stays on the same day, so the daily aggregate
        # of a day before the lookback window does not change)
        "and cast(event_at - interval 1 second as date) = cast(event_at as date) order by line_number limit 20")

    # the second load: another world's events of the last LOOKBACK_DAYS days (new and late-arriving events the
    # incremental daily aggregate must pick up), with its ids renamed so the two worlds do not share any
    second = tmp_path_factory.mktemp("second_load")
    generate(second / "raw", second / "truth", events=4_000, seed=22, progress=False, end_date="2026-10-31")
    kept = []
    for path in sorted((second / "raw" / "events").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            stamp = line.split('"timestamp":"', 1)[-1][:10] if '"timestamp":"' in line else ""
            if stamp >= LOOKBACK_START:
                kept.append(line.replace('"usr_', '"usr_w2_').replace("@", "+w2@").replace('"chain_', '"chain_w2_'))
    # and lines that change the verdicts of lines already judged, in files the second build does not read again:
    # 10 of part-a's usable tracks re-delivered with an earlier receivedAt (the new copy is kept, the old one
    # becomes a duplicate; half of them with a changed payload), 10 fired again 300 ms earlier under a new messageId (the old one becomes a double fire)
    for number, (_, raw_line) in enumerate(usable_tracks):
        message = json.loads(raw_line)
        if number < 10:
            message["receivedAt"] = message["timestamp"]
            if number % 2:  # a replay that differs in payload: another call, the same message
                message["properties"] = {**(message.get("properties") or {}), "replayed": True}
        else:
            message["messageId"] = f"refire-{number}-{message['messageId']}"
            message["timestamp"] = (utc(message["timestamp"]) - timedelta(milliseconds=300)).isoformat()
        kept.append(as_line(message))
    kept.append(as_line(identify_call(merged_user["userId"], MERGED_VISITOR, "2026-10-30T12:00:00.000Z")))
    # the new line of the old replay's call (days later: not a double fire; within the lookback window)
    kept.append(as_line(dict(replay, messageId=f"newcall-{original['messageId']}",
                             timestamp="2026-10-30T12:00:00.000Z", receivedAt="2026-10-30T12:00:01.000Z")))
    (incremental.raw / "events" / "load2.jsonl").write_text("\n".join(kept) + "\n")
    # files change in place too: one is rewritten without its last 50 lines, one is deleted
    rewritten = first_files[-1]
    rewritten.write_text("\n".join(rewritten.read_text().splitlines()[:-50]) + "\n")
    extra.unlink()
    build(incremental)
    compiled = next((incremental.root / "target" / "compiled").rglob("base_segment__event_lines.sql")).read_text()
    read_by_second_build = set(re.findall(r"'(events/[^']+)'", compiled))

    # the full refresh: the same raw data and a copy of the same warehouse, rebuilt with --full-refresh
    # (history tables such as erasure_log and the change log are kept by design; everything else is rebuilt)
    full = Workspace(tmp_path_factory.mktemp("full"))
    shutil.copytree(incremental.raw, full.raw, dirs_exist_ok=True)
    shutil.copy(incremental.database, full.database)
    run = full.dbt("build", "--full-refresh", "--vars", f"{{as_of: '{AS_OF}'}}")
    assert run.returncode == 0, run.output[-5000:]
    changed = {
        "visitor_people_before": visitor_people_before,
        "visitor_people": {visitor: people_of(incremental, visitor, user["userId"])
                           for visitor, user in ((MERGED_VISITOR, merged_user), (SPLIT_VISITOR, split_user))},
        "replay_verdicts": (replay_verdicts_before, replay_verdicts(incremental, original["messageId"])),
        "first_copies_kept_before": first_copies_kept,
        "redelivered_lines": [line for line, _ in usable_tracks[:10]],
        "refired_lines": [line for line, _ in usable_tracks[10:]],
    }
    return incremental, full, (read_by_second_build, f"events/{rewritten.name}", changed)


@pytest.mark.parametrize("table", sorted(QUERIES))
def test_incremental_equals_full_refresh(pair, table):
    incremental, full, _ = pair
    sql, keyed = QUERIES[table]
    assert rows(incremental, sql, keyed) == rows(full, sql, keyed)


def test_the_second_build_merged_one_visitor_and_split_the_other(pair):
    before = pair[2][2]["visitor_people_before"]
    assert before[MERGED_VISITOR][0] and not before[MERGED_VISITOR][0] & before[MERGED_VISITOR][1]
    assert before[SPLIT_VISITOR][0] == before[SPLIT_VISITOR][1], "the first load's identify links the second visitor"
    people = pair[2][2]["visitor_people"]
    visitor_persons, user_persons = people[MERGED_VISITOR]
    assert len(visitor_persons) == 1 and visitor_persons == user_persons, "the identify must merge the visitor"
    visitor_persons, user_persons = people[SPLIT_VISITOR]
    assert len(visitor_persons) == 1 and not visitor_persons & user_persons, "the removed identify must split them"


def test_the_second_load_changed_something(pair):
    incremental, full, _ = pair
    assert full.scalar("select count(*) from stg_segment__events where source_file like '%load2%'") > 100


def test_the_incremental_build_parsed_only_the_new_and_the_rewritten_file(pair):
    """Staging is incremental by file: the second build read load2.jsonl and the rewritten file, no other;
    the deleted file's lines are gone (the table equality above shows the rewritten file's old lines are too)."""
    incremental, _, (read_by_second_build, rewritten, _) = pair
    staged = {row[0] for row in incremental.query("select distinct source_file from base_segment__event_lines")}
    assert staged == {"events/part-a.jsonl", "events/part-b.jsonl", "events/replays.jsonl", "events/load2.jsonl"}
    # (not a-redelivered.jsonl)
    assert rewritten == "events/part-b.jsonl"
    assert read_by_second_build == {"events/load2.jsonl", "events/part-b.jsonl"}  # part-a was not read again


def test_the_second_build_judged_again_lines_it_did_not_read(pair):
    """The verdicts of part-a's lines changed in the second build although part-a was not read again: the
    deleted file's copies had been kept (part-a's first 20 lines were duplicates), and load2 brought an earlier
    copy of 10 of its messages and an earlier fire of 10 of its calls. The equality with the full refresh
    above says the new verdicts are right; this says the case was really there."""
    incremental, _, (_, _, changed) = pair
    # (a few of the first 20 lines are quarantined faults, or duplicates within part-a itself)
    assert len(changed["first_copies_kept_before"]) >= 15
    assert len(changed["redelivered_lines"]) == len(changed["refired_lines"]) == 10

    def verdicts(lines):
        return incremental.query(
            "select duplicate_reason, count(*) from stg_segment__events where source_file = 'events/part-a.jsonl' "
            f"and line_number in ({', '.join(map(str, lines))}) group by 1")

    assert verdicts(changed["first_copies_kept_before"]) == [(None, len(changed["first_copies_kept_before"]))]
    assert verdicts(changed["redelivered_lines"]) == [("duplicate_message_id", 10)]
    assert verdicts(changed["refired_lines"]) == [("double_fire", 10)]


def test_an_old_replay_judged_again_still_counts_its_copy_in_an_untouched_call(pair):
    """The replay's call was touched by the second load, its original's call was not: the replay stays the
    duplicate only if the original is numbered with it (the messageId closure of the lines judged again)."""
    incremental, _, (_, _, changed) = pair
    before, after = changed["replay_verdicts"]
    expected = [("events/part-a.jsonl", None, None), ("events/replays.jsonl", None, "duplicate_message_id")]
    assert before == expected
    assert after == expected


def test_the_usable_events_were_appended_to_not_rebuilt(pair):
    """int_events_deduplicated is incremental: the second build deleted the rows of lines it judged again and
    inserted the usable lines judged since (the equality above says the result is a full build's)."""
    incremental, _, _ = pair
    executed = next((incremental.root / "target" / "run").rglob("int_events_deduplicated.sql")).read_text().lower()
    assert "insert into" in executed, "the second build replaced the table instead of appending to it"
    second, usable = incremental.query(
        "select (select count(*) from int_events_deduplicated where judged_at > first), "
        "(select count(*) from stg_segment__events where judged_at > first and quarantine_reason is null "
        "and duplicate_reason is null) "
        "from (select min(judged_at) as first from stg_segment__events)")[0]
    assert second == usable > 100  # the second load and the lines it judged again, each taken once
