"""The daily tables fold a day's new events into its rows when that is all that changed (macros/incremental_days.sql).

One small warehouse (the daily tables and what they read) is built three times:
1. the generated events;
2. plus a file of one event on the "recounted" day (a day that takes only additions: folded);
3. that file deleted and a file of new events added: one on the "folded" day (only additions: folded; with the
   ids and event of a row the day holds, so the fold keeps none of the rows appended for that day) and one on
   the recounted day (it lost the deleted file's event and gained this one: its count of events is unchanged
   and its oldest stamp too, only the count arithmetic tells the loss, so it must be counted again).
After the third build both tables must equal a `--full-refresh` of the same files, row for row; the debug log
says which days the post-hook folded (the folded day, not the recounted one); and every day's fingerprint must be
its events' now, so the next build counts nothing again.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.python.conftest import Workspace

AS_OF = "2026-10-31 23:59:59"
TABLES = {
    "int_activity_daily": "canonical_event is not null",
    "int_identity_calls_daily": "true",
}


def build(space: Workspace, *flags: str) -> None:
    # the daily tables and what they read, with their tests (one row per key among them)
    run = space.dbt("build", *flags, "--select", "+int_activity_daily", "+int_identity_calls_daily",
                    "--indirect-selection", "cautious", "--vars", f"{{as_of: '{AS_OF}'}}")
    assert run.returncode == 0, run.output[-5000:]


def folded_days(space: Workspace) -> dict[str, set[str]]:
    """The days the last build folded new events into, per table (the fold's debug log line)."""
    log = (space.root / "logs" / "dbt.log").read_text(errors="replace")
    folded = {}
    for table in TABLES:
        lines = re.findall(rf"{table}: folded the new events of \d+ day\(s\) into their rows: ([0-9, -]*)", log)
        assert lines, f"no fold logged for {table}"
        folded[table] = {day for day in lines[-1].strip().split(", ") if day}
    return folded


def planted_track(template: dict, number: int, day: str) -> dict:
    """A new track call on `day` from a usable one: its own messageId and payload (no other call is touched)."""
    stamp = f"{day}T00:00:{number:02d}.000Z"
    call = dict(template, messageId=f"planted-day-{number:04d}", timestamp=stamp, receivedAt=stamp,
                properties={**(template.get("properties") or {}), "planted": number})
    call.pop("sentAt", None)
    return call


def write_calls(path, calls: list[dict]) -> None:
    path.write_text("".join(json.dumps(call, separators=(",", ":")) + "\n" for call in calls))


def stale_days(space: Workspace, table: str) -> int:
    """Days whose rows do not carry their usable events' fingerprint now (or carry more than one)."""
    return space.scalar(
        f"select count(distinct daily.activity_date) from {table} as daily left join ("
        " select cast(event_at as date) as activity_date, count(*) as day_events,"
        " min(judged_at) as first_judged, max(judged_at) as last_judged"
        f" from int_events_deduplicated where {TABLES[table]} group by 1) as now_held"
        " on now_held.activity_date = daily.activity_date"
        " where daily.day_events is not null and (now_held.activity_date is null"
        " or daily.day_events <> now_held.day_events or daily.day_first_judged_at <> now_held.first_judged"
        " or daily.day_last_judged_at <> now_held.last_judged)")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("incremental_days"))
    generate(space.raw, space.truth, events=2_000, seed=31, progress=False, end_date="2026-10-31")
    build(space)
    # the folded day: the newest day (not the oldest held, which is always counted again) with a usable track
    # call of a known user; its copy on that day has a key the day holds already, so the fold adds it to that row
    # and keeps no appended row at all. The recounted day: another day with several counted events.
    raw_line, folded_day = space.query(
        "select staged.raw_line, cast(cast(usable.event_at as date) as varchar) from stg_segment__events as staged "
        "inner join int_events_deduplicated as usable on usable.message_id = staged.message_id "
        "where usable.message_type = 'track' and usable.canonical_event is not null and usable.user_id is not null "
        "and cast(usable.event_at as date) > (select min(activity_date) from int_activity_daily "
        "where day_events is not null) order by usable.event_at desc limit 1")[0]
    template = json.loads(raw_line)
    (recounted_day,) = [str(row[0]) for row in space.query(
        "select activity_date from int_activity_daily where day_events >= 3 and activity_date <> cast(? as date) "
        "and activity_date > (select min(activity_date) from int_activity_daily where day_events is not null) "
        "group by 1 order by 1 desc limit 1", [folded_day])]
    lonely = space.raw / "events" / "lonely.jsonl"
    write_calls(lonely, [planted_track(template, 1, recounted_day)])
    build(space)
    seen = {"days": (folded_day, recounted_day), "second_folded": folded_days(space)}
    lonely.unlink()
    write_calls(space.raw / "events" / "late.jsonl",
                [planted_track(template, 2, folded_day), planted_track(template, 3, recounted_day)])
    seen["held_before"] = space.query(
        "select activity_date, day_events from int_activity_daily where activity_date in (?, ?) "
        "and day_events is not null group by all order by 1", [folded_day, recounted_day])
    build(space)
    seen["third_folded"] = folded_days(space)
    full = Workspace(tmp_path_factory.mktemp("incremental_days_full"))
    shutil.copytree(space.raw, full.raw, dirs_exist_ok=True)
    shutil.copy(space.database, full.database)
    build(full, "--full-refresh")
    seen["compared"] = {
        table: [sorted(workspace.query(f"select * exclude (day_first_judged_at, day_last_judged_at) from {table}"),
                       key=repr) for workspace in (space, full)]
        for table in TABLES}
    seen["stale"] = {table: stale_days(space, table) for table in TABLES}
    seen["held_after"] = space.query(
        "select activity_date, day_events from int_activity_daily where activity_date in (?, ?) "
        "and day_events is not null group by all order by 1", [folded_day, recounted_day])
    return seen


@pytest.mark.parametrize("table", sorted(TABLES))
def test_the_daily_table_equals_a_full_refresh(builds, table):
    incremental, full = builds["compared"][table]
    assert len(incremental) > 100
    assert incremental == full


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_day_that_only_gained_events_is_folded(builds, table):
    folded_day, recounted_day = builds["days"]
    assert recounted_day in builds["second_folded"][table], "the lonely event alone: only an addition"
    assert folded_day in builds["third_folded"][table]


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_day_that_lost_an_event_and_gained_one_is_counted_again(builds, table):
    _, recounted_day = builds["days"]
    assert recounted_day not in builds["third_folded"][table]


def test_the_planted_changes_happened(builds):
    """The folded day gained one event; the recounted day lost one and gained one: its count is unchanged."""
    folded_day, recounted_day = builds["days"]
    before, after = dict(builds["held_before"]), dict(builds["held_after"])
    assert {str(day) for day in before} == {folded_day, recounted_day}
    assert {str(day): count for day, count in after.items()} == {
        str(day): count + (1 if str(day) == folded_day else 0) for day, count in before.items()}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_day_carries_its_fingerprint_now(builds, table):
    assert builds["stale"][table] == 0
