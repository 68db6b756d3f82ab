"""An incremental build gives the same marts as a full build on the same data, table by table, batch after batch.

A: build on a first load, then add batches, each built incrementally:
- the second load: new people's events of the last days (late and new events), a merge and a split of people,
  re-deliveries and earlier fires that change old lines' verdicts, a rewritten file and a deleted one;
- batch 3 (same as_of): consent withdrawn (analytics, marketing), an unsubscribe, an event 19 days late, a CRM
  contact that changes title and account, one that bounces, an account with new firmographics;
- batch 4 (as_of a day later): an erasure request of a known user, returning users' events of the new day, one
  event file deleted and one rewritten, a new IP range;
- batches 5 and 6, no new data: retention_days shortened and identity_max_user_ids_per_person raised to 2, then
  both back to their defaults (vars that rewrite history).
B: after each batch, `dbt build --full-refresh` on a copy of A's warehouse and the same raw data, same as_of.
(Compared with a brand-new database instead, the marts differ by design in one way: a build that erases
people for the first time purges them at its end, after the aggregates of that build, segments.member_count
and account_scores, were computed; docs/privacy.md.)

Person ids are stable ids (docs/identity.md): A keeps the ids of its first build when people merge,
B hashes the roots it sees, so people are compared by their smallest plain-text identifier, not by id.
Not compared, because they are history by design: segment_member_changes, identity_person_merges,
segment_lift (it measures entries over builds), dq_results, build_audit, build_audit_segments, erasure_log;
nor entered_at and is_holdout of segment_members (both follow the person id).
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from tests.python.conftest import NO_GENERIC_TESTS, Workspace, append_csv
from tests.python.test_incremental_days import DAILY_TABLES, daily_rows_sql, day_batches, stale_days

AS_OF = "2026-10-31 23:59:59"
#: the second load's events are of the last days, from here on
RECENT_START = "2026-10-28"


def build(space: Workspace, as_of: str = AS_OF, *flags: str, more_vars: str = "", generic_tests: bool = True) -> None:
    """`dbt build`; generic_tests=False leaves out the generic data tests (about 10 s) in a build whose tables the
    next one checks: the second load's build and batches 4 and 6 run them, after merges and splits, late data,
    rewritten and deleted files, an erasure and vars that rewrote history."""
    excluded = () if generic_tests else NO_GENERIC_TESTS
    run = space.dbt("build", *flags, *excluded, "--vars", f"{{as_of: '{as_of}'{more_vars}}}")
    assert run.returncode == 0, run.output[-5000:]


def full_refresh_of(space: Workspace, as_of: str, tmp_path_factory: pytest.TempPathFactory,
                    more_vars: str = "") -> Workspace:
    """`dbt build --full-refresh` of the same raw data and vars on a copy of the same warehouse (history tables
    such as erasure_log and the change log are kept by design; everything else is rebuilt)."""
    full = space.copy(tmp_path_factory.mktemp("full"))
    full.generic_tests = False  # the reference only: the incremental builds run them
    build(full, as_of, "--full-refresh", more_vars=more_vars)
    return full


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
    "people": ("select * from people", True),
    "person_identifiers": ("select person_id, identifier_type, identifier_value, first_seen_at, last_seen_at "
                           "from person_identifiers", True),
    "person_scores": ("select * exclude (as_of) from person_scores", True),
    "person_account_links": ("select person_id, account_id, method, evidence_count, is_primary from person_account_links", True),
    "segment_members": ("select entity_id, segment_id, entity_type, score, priority, is_primary, last_reviewed_at "
                        "from segment_members", True),
    "accounts": ("select * from accounts", False),
    "account_scores": ("select * exclude (as_of) from account_scores", False),
    "segments": ("select segment_id, status, member_count, definition_hash from segments", False),
    "suppressions": ("select person_id, channel, purpose, reason, since from suppressions", True),
    "identity_rejected_edges": ("select from_type, from_value, to_type, to_value, reason from identity_rejected_edges", False),
    # staging itself: the lines parsed file by file over two builds, and the verdicts made over all of them
    "base_segment__event_lines": ("select * from base_segment__event_lines", False),
    # (judged_at: when a line was judged, build metadata by design)
    "stg_segment__events": ("select * exclude (judged_at) from stg_segment__events", False),
    "int_events_deduplicated": ("select * exclude (judged_at) from int_events_deduplicated", False),
    # every column: a rewritten file's rejected lines keep their place and reason but take its new version and time
    "quarantined_rows": ("select * from quarantined_rows", False),
    # the daily tables: counted by changed day, a day's additions as a batch of their own, so summed per key; with
    # the day's held count of events (after an erasure the purge takes each day's new count), not the days'
    # judged_at stamps (build metadata)
    **{table: (daily_rows_sql(table), False) for table in DAILY_TABLES},
    "int_identity_sightings": ("select * from int_identity_sightings", False),
    # consent stated by events: appended by the lines judged since (judged_at: build metadata)
    "stg_segment__consent_preferences": ("select * exclude (judged_at) from stg_segment__consent_preferences", False),
    # attribution: appended to, and attributed again where the graph changed (judged_at: build metadata)
    "int_events_attributed": ("select * exclude (judged_at) from int_events_attributed", True),
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def as_line(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def plain_track(lines: list[str], faults_csv) -> dict:
    """The first well-formed track call (a user id, a UTC timestamp before the recent days (RECENT_START), no planted fault,
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
                and str(message.get("timestamp", "")).endswith("Z") and message["timestamp"] < RECENT_START):
            return message
    raise AssertionError("no plain track call in the generated lines")


MERGED_VISITOR = "anon-merged-visitor-0001"
SPLIT_VISITOR = "anon-split-visitor-0001"


def visitor_call(template: dict, anonymous_id: str, number: int) -> dict:
    """A page call of an anonymous visitor (no user id, no device), dated before the recent days (RECENT_START)."""
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
    # identity that the second build changes (docs/incremental.md: attribution): two anonymous
    # visitors, each with old page calls in part-a (untouched), dated before the recent days (RECENT_START); the second
    # load identifies the first as a known user (a merge), and the first load's identify of the second (dated
    # in the recent days, as the newest lines are), at the end of part-b, goes with part-b's last lines
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
    build(incremental, generic_tests=False)  # a first build: the shared demo build runs them on one
    visitor_people_before = {visitor: people_of(incremental, visitor, user["userId"])
                             for visitor, user in ((MERGED_VISITOR, merged_user), (SPLIT_VISITOR, split_user))}
    replay_verdicts_before = replay_verdicts(incremental, original["messageId"])
    # (only the lines whose one other copy is the re-delivered one: a line the generator planted a copy of
    # elsewhere may stay a duplicate of that copy)
    first_copies_kept = [row[0] for row in incremental.query(
        "select line_number from stg_segment__events as line where source_file = 'events/part-a.jsonl' "
        "and line_number <= 20 and duplicate_reason = 'duplicate_message_id' "
        "and not exists (select 1 from stg_segment__events as other where other.message_id = line.message_id "
        "and other.source_file <> 'events/a-redelivered.jsonl' "
        "and (other.source_file <> line.source_file or other.line_number <> line.line_number))")]
    usable_tracks = incremental.query(
        "select line_number, raw_line from stg_segment__events where source_file = 'events/part-a.jsonl' "
        "and quarantine_reason is null and duplicate_reason is null and message_type = 'track' "
        # (not in the first second of a day: the earlier fire below stays on the same day)
        "and cast(event_at - interval 1 second as date) = cast(event_at as date) order by line_number limit 20")

    # the second load: another world's events of the last days from RECENT_START (new and late-arriving events the
    # incremental daily aggregate must pick up), with its ids renamed so the two worlds do not share any
    second = tmp_path_factory.mktemp("second_load")
    generate(second / "raw", second / "truth", events=4_000, seed=22, progress=False, end_date="2026-10-31")
    kept = []
    for path in sorted((second / "raw" / "events").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            stamp = line.split('"timestamp":"', 1)[-1][:10] if '"timestamp":"' in line else ""
            if stamp >= RECENT_START:
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
    # the new line of the old replay's call (days later: not a double fire; in the recent days)
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

    full = full_refresh_of(incremental, AS_OF, tmp_path_factory)
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

    # once the re-delivered copies are gone these lines are first copies: used, or (a fire planted twice in
    # part-a) the double fire of an earlier line, as a full build judges them
    kept_now = dict(verdicts(changed["first_copies_kept_before"]))
    assert "duplicate_message_id" not in kept_now and sum(kept_now.values()) == len(changed["first_copies_kept_before"])
    assert kept_now.get(None, 0) >= 10 and set(kept_now) <= {None, "double_fire"}
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


# --- the batches after the second load -----------------------------------------------------------------------
#: as_of of the third batch: a day later, as a schedule moves it (scores decay, the retention window moves)
NEXT_AS_OF = "2026-11-01 23:59:59"
#: batch 5's retention (default 730 days): from NEXT_AS_OF it keeps days from 2026-09-02 on
SHORT_RETENTION_DAYS = 60
#: an event that arrives late, weeks older than the newest day the daily aggregate holds
LATE_EVENT_AT = "2026-10-12T10:00:00.000Z"


def member_user_ids(space: Workspace, limit: int) -> list[str]:
    """User ids of people in person segments with an email, no consent refused yet and at least 5 usable track
    calls under that user id (batches replay them), one per person."""
    return [row[0] for row in space.query(
        "select min(ids.identifier_value) from segment_members as members "
        "inner join person_identifiers as ids on ids.person_id = members.entity_id and ids.identifier_type = 'user_id' "
        "inner join people on people.person_id = members.entity_id "
        "where members.entity_type = 'person' and people.consent_analytics is distinct from false "
        "and people.consent_marketing is distinct from false "
        "and exists (select 1 from person_identifiers as emails where emails.person_id = members.entity_id "
        "and emails.identifier_type = 'email') "
        "and (select count(*) from int_events_deduplicated as usable where usable.user_id = ids.identifier_value "
        "and usable.message_type = 'track' and usable.canonical_event is not null) >= 5 "
        "group by members.entity_id order by 1 limit ?", [limit])]


def consent_analytics_of(space: Workspace, user_id: str):
    return space.scalar("select people.consent_analytics from people inner join person_identifiers as ids "
                        "on ids.person_id = people.person_id where ids.identifier_type = 'user_id' "
                        "and ids.identifier_value = ?", [user_id])


def usable_track_lines(space: Workspace, user_id: str, limit: int) -> list[dict]:
    """Usable track calls of a user that the taxonomy counts, as parsed messages."""
    return [json.loads(row[0]) for row in space.query(
        "select staged.raw_line from stg_segment__events as staged "
        "inner join int_events_deduplicated as usable on usable.message_id = staged.message_id "
        "where staged.quarantine_reason is null and staged.duplicate_reason is null and staged.message_type = 'track' "
        "and usable.canonical_event is not null and staged.user_id = ? order by staged.source_file, staged.line_number "
        "limit ?", [user_id, limit])]


def rewrite_csv(path, change) -> None:
    """Rewrite a CSV file, passing each row (a dict) through change(number, row) -> row."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields, old = reader.fieldnames, list(reader)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(change(number, dict(row)) for number, row in enumerate(old))


def activity_events(space: Workspace, user_id: str, day: str) -> int:
    return space.scalar("select coalesce(sum(events), 0) from int_activity_daily where user_id = ? "
                        "and activity_date = cast(? as date)", [user_id, day])


def compared_with_full_refresh(space: Workspace, as_of: str, tmp_path_factory,
                               more_vars: str = "") -> dict[str, tuple[list, list]]:
    """Each compared table as the incremental build left it and as a --full-refresh of the same inputs and vars (on a
    copy of the same warehouse) makes it."""
    full = full_refresh_of(space, as_of, tmp_path_factory, more_vars)
    return {table: (rows(space, sql, keyed), rows(full, sql, keyed)) for table, (sql, keyed) in QUERIES.items()}


@pytest.fixture(scope="module")
def later_batches(pair, tmp_path_factory) -> dict[str, dict]:
    """Two more batches on (a copy of) the warehouse the second load left, each built incrementally and compared
    with a --full-refresh of the same inputs:
    - batch 3, same as_of: a known user withdraws analytics consent and another marketing consent, a third
      unsubscribes by email, a fourth refuses analytics on an event (in a file of its own), an event of a fourth arrives 19 days late (weeks before the newest day held), a CRM
      contact changes title and account and another bounces, an account changes its firmographics;
    - batch 4, as_of a day later: a known user's erasure request, returning users' events of the new day, two
      event files deleted (one with the refusal) and one rewritten, a new IP range;
    - batch 5, no new data: vars that rewrite history, retention_days shortened to 60 days and
      identity_max_user_ids_per_person raised to 2;
    - batch 6, no new data: both vars back to their defaults.
    """
    first, _, _ = pair
    space = first.copy(tmp_path_factory.mktemp("sequence"))
    results = {}

    withdraws_analytics, withdraws_marketing, unsubscribes, late_user, erased_user, states_consent = (
        member_user_ids(space, 6))
    # (person_identifiers holds emails hashed; the graph's own table holds them as the graph matched them)
    unsubscribed_email = space.scalar(
        "select min(emails.identifier_value) from int_identity_person_ids as emails "
        "inner join int_identity_person_ids as ids "
        "on ids.person_id = emails.person_id where ids.identifier_type = 'user_id' and ids.identifier_value = ? "
        "and emails.identifier_type = 'email'", [unsubscribes])
    late = dict(usable_track_lines(space, late_user, 1)[0], messageId="late-arrival-0001", timestamp=LATE_EVENT_AT,
                receivedAt=LATE_EVENT_AT)
    late.pop("sentAt", None)
    late_before = activity_events(space, late_user, LATE_EVENT_AT[:10])
    batches_before = {table: day_batches(space, table) for table in DAILY_TABLES}
    (space.raw / "events" / "load3.jsonl").write_text(as_line(late) + "\n")
    # consent stated on an event (Segment's Consent Management), in a file of its own that batch 4 deletes: the
    # refusal must come with the file and go with it
    stated = dict(usable_track_lines(space, states_consent, 1)[0], messageId="consent-stated-0001",
                  timestamp="2026-10-31T07:00:00.000Z", receivedAt="2026-10-31T07:00:00.000Z")
    stated.pop("sentAt", None)
    consent_before = consent_analytics_of(space, states_consent)
    stated["context"] = {**(stated.get("context") or {}), "consent": {"categoryPreferences": {"Analytics": False}}}
    (space.raw / "events" / "consent3.jsonl").write_text(as_line(stated) + "\n")
    stamp = "2026-10-31T08:00:00.000Z"
    append_csv(space.raw / "consent.csv", f"user_id,{withdraws_analytics},analytics,false,{stamp}",
               f"user_id,{withdraws_marketing},marketing,false,{stamp}")
    append_csv(space.raw / "email_events.csv", f"ee_sequence_0001,{unsubscribed_email},cmp_000,unsubscribe,{stamp},")
    accounts = [row[0] for row in space.query("select account_id from accounts order by account_id")]
    rewrite_csv(space.raw / "accounts.csv", lambda number, row: dict(
        row, employee_count=str(int(row["employee_count"] or 0) * 20 + 5), industry="Software", updated_at=stamp)
        if row["account_id"] == accounts[0] else row)
    rewrite_csv(space.raw / "crm_contacts.csv", lambda number, row: (
        dict(row, title="VP Marketing", account_id=accounts[1], updated_at=stamp) if number == 0
        else dict(row, email_status="bounced", updated_at=stamp) if number == 1 else row))
    build(space, generic_tests=False)
    compiled = next((space.root / "target" / "compiled").rglob("base_segment__event_lines.sql")).read_text()
    batches_after = {table: day_batches(space, table) for table in DAILY_TABLES}
    results["batch 3"] = compared_with_full_refresh(space, AS_OF, tmp_path_factory)
    evidence = {
        "read": set(re.findall(r"'(events/[^']+)'", compiled)),
        "late_day_batches": {table: (batches_before[table].get(LATE_EVENT_AT[:10]),
                                     batches_after[table].get(LATE_EVENT_AT[:10])) for table in DAILY_TABLES},
        "late_events": (late_before, activity_events(space, late_user, LATE_EVENT_AT[:10])),
        "consent": space.query(
            "select people.consent_analytics, people.consent_marketing from people "
            "inner join person_identifiers as ids on ids.person_id = people.person_id "
            "where ids.identifier_type = 'user_id' and ids.identifier_value = ? "
            "union all "
            "select people.consent_analytics, people.consent_marketing from people "
            "inner join person_identifiers as ids on ids.person_id = people.person_id "
            "where ids.identifier_type = 'user_id' and ids.identifier_value = ?",
            [withdraws_analytics, withdraws_marketing]),
        "consent_stated": (consent_before, consent_analytics_of(space, states_consent)),
        "unsubscribed": space.scalar(
            "select count(*) from suppressions inner join int_identity_person_ids as ids on ids.person_id = "
            "suppressions.person_id where ids.identifier_type = 'email' and ids.identifier_value = ? "
            "and suppressions.reason = 'unsubscribed'", [unsubscribed_email]),
    }

    # batch 4, the next day
    coming_back = usable_track_lines(space, late_user, 10)  # 5 to 10 of them (member_user_ids: at least 5)
    returning = [dict(message, messageId=f"returning-{number:04d}-{message['messageId']}",
                      timestamp=f"2026-11-01T{10 + number % 10:02d}:00:00.000Z",
                      receivedAt=f"2026-11-01T{10 + number % 10:02d}:00:01.000Z")
                 for number, message in enumerate(coming_back + usable_track_lines(space, erased_user, 5))]
    for message in returning:
        message.pop("sentAt", None)
    (space.raw / "events" / "load4.jsonl").write_text("".join(as_line(message) + "\n" for message in returning))
    append_csv(space.raw / "erasure_requests.csv", f"user_id,{erased_user},2026-11-01T09:00:00.000Z")
    (space.raw / "events" / "replays.jsonl").unlink()
    (space.raw / "events" / "consent3.jsonl").unlink()
    load2 = space.raw / "events" / "load2.jsonl"
    load2.write_text("\n".join(load2.read_text().splitlines()[:-30]) + "\n")
    ip_range = space.query("select range_start, account_domain from stg_reverse_ip__ip_ranges order by 1 limit 1")[0]
    append_csv(space.raw / "ip_ranges.csv", f"198.51.100.0,198.51.100.255,{ip_range[1]}")
    build(space, NEXT_AS_OF)
    results["batch 4"] = compared_with_full_refresh(space, NEXT_AS_OF, tmp_path_factory)
    evidence.update(
        erased=space.scalar("select count(*) from person_identifiers where identifier_type = 'user_id' "
                            "and identifier_value = ?", [erased_user]),
        consent_unstated=consent_analytics_of(space, states_consent),
        returning=(space.scalar("select count(*) from int_events_attributed where message_id like 'returning-%' "
                                "and person_id is not null"), len(coming_back)),
        # the purge gave the erased user's days their new fingerprint, so the next build does not count them again
        stale_days=sum(stale_days(space, table) for table in DAILY_TABLES),
    )

    # batch 5, no new data: vars that rewrite history, a shorter retention and two user ids per person
    history_vars = f", retention_days: {SHORT_RETENTION_DAYS}, identity_max_user_ids_per_person: 2"
    oldest_before = space.scalar("select min(activity_date) from int_activity_daily where day_events is not null")
    build(space, NEXT_AS_OF, more_vars=history_vars, generic_tests=False)
    results["batch 5"] = compared_with_full_refresh(space, NEXT_AS_OF, tmp_path_factory, history_vars)
    evidence.update(
        oldest_days=(oldest_before, space.scalar(
            "select min(activity_date) from int_activity_daily where day_events is not null")),
        users_joined=space.scalar("select count(*) from (select person_id from int_identity_person_ids "
                                  "where identifier_type = 'user_id' group by 1 having count(*) > 1)"),
    )
    # batch 6, no new data: both vars back to their defaults (the retention window takes old days back)
    build(space, NEXT_AS_OF)
    results["batch 6"] = compared_with_full_refresh(space, NEXT_AS_OF, tmp_path_factory)
    evidence["oldest_day_restored"] = space.scalar(
        "select min(activity_date) from int_activity_daily where day_events is not null")
    return {"compared": results, "evidence": evidence}


@pytest.mark.parametrize("batch", ["batch 3", "batch 4", "batch 5", "batch 6"])
@pytest.mark.parametrize("table", sorted(QUERIES))
def test_each_later_batch_equals_full_refresh(later_batches, batch, table):
    incremental, full = later_batches["compared"][batch][table]
    assert incremental == full


def test_the_later_batches_changed_what_they_claim(later_batches):
    evidence = later_batches["evidence"]
    assert evidence["read"] == {"events/load3.jsonl", "events/consent3.jsonl"}, "batch 3 must parse its new files only"
    consent_before, consent_stated = evidence["consent_stated"]
    assert consent_before is not False and consent_stated is False, "the refusal stated on an event must count"
    assert evidence["consent_unstated"] == consent_before, "the refusal must go with its deleted file"
    before, after = evidence["late_events"]
    assert after == before + 1, "the late event must be counted on its own day"
    for table, (before, after) in evidence["late_day_batches"].items():
        assert before and after == before + 1, f"{table}: the late event's day must take it as a batch, not a recount"
    (analytics_refused, _), (_, marketing_refused) = evidence["consent"]
    assert analytics_refused is False and marketing_refused is False
    assert evidence["unsubscribed"] == 1
    assert evidence["erased"] == 0
    attributed, coming_back = evidence["returning"]
    assert attributed == coming_back >= 5  # the erased user's 5 new events are suppressed
    assert evidence["stale_days"] == 0, "the purge must give the days it changed their new fingerprint"
    oldest_before, oldest_short = evidence["oldest_days"]
    assert str(oldest_short) >= "2026-09-02" > str(oldest_before), "the shorter retention must drop old days"
    assert evidence["oldest_day_restored"] == oldest_before, "the default retention must take them back"
    assert evidence["users_joined"] > 0, "two user ids per person must join some users"
