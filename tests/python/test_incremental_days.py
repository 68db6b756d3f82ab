"""The daily tables take a day's new events as a batch of their own when that is all that changed
(macros/incremental_days.sql).

One small warehouse (the daily tables and what they read) is built four times:
1. the generated events;
2. plus a file of one event on the "recounted" day (a day that takes only additions: a second batch);
3. that file deleted and a file of new events added: one on the "added-to" day (only additions: a second batch,
   with the ids and event of a row the day holds, so the key has a row in each batch) and one on the recounted
   day (it lost the deleted file's event and gained this one: its count of events is unchanged and its oldest
   stamp too, only the count arithmetic tells the loss, so it must be counted again, as one batch);
4. with var daily_batches_kept 2, one more event on the added-to day: it holds two batches already, so it is
   counted whole again, as one batch.
After each build from the second on, the batches each day holds say which days took their additions as a batch
and which were counted again. After the last build both tables must equal a `--full-refresh` of the same files,
summed per key; and every day's held fingerprint must be its events' now, so the next build counts nothing again.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.python.conftest import Workspace

AS_OF = "2026-10-31 23:59:59"
#: The daily tables: what counts as an event of the day, the key of a row, its count and, on the calls, the
#: first and last call (a key's rows in several batches are summed, and these taken as the earliest and latest).
DAILY_TABLES = {
    "int_activity_daily": ("canonical_event is not null",
                           ("user_id", "anonymous_id", "email", "canonical_event", "activity_date"), "events", None),
    "int_identity_calls_daily": ("true", ("activity_date", "message_type", "user_id", "anonymous_id", "device_id",
                                          "email", "previous_id"), "calls", ("first_called_at", "last_called_at")),
}


def daily_rows_sql(table: str) -> str:
    """The daily table one row per key, as a full build makes it: the key's batches summed, with the day's held
    count of events (the newest batch's: the greatest), not its judged_at stamps (build metadata)."""
    _, key, count, times = DAILY_TABLES[table]
    first_last = f", min({times[0]}), max({times[1]})" if times else ""
    return (f"select {', '.join(key)}, sum({count}){first_last}, "
            f"max(max(day_events)) over (partition by activity_date) from {table} group by {', '.join(key)}")


def day_batches(space: Workspace, table: str) -> dict[str, int]:
    """How many batches (builds that counted some of its events) each day of a daily table holds."""
    return {str(day): batches for day, batches in space.query(
        f"select activity_date, count(distinct day_last_judged_at) from {table} where day_events is not null "
        "group by 1")}


def stale_days(space: Workspace, table: str) -> int:
    """Days whose rows are not consistent (every batch the same oldest stamp, the counts adding up to the newest
    batch's count) or whose held fingerprint (the newest batch's) is not their usable events' now."""
    condition, _, count, _ = DAILY_TABLES[table]
    return space.scalar(
        "select count(*) from (select activity_date, max(day_events) as day_events, sum("
        f"{count}) as counted, min(day_first_judged_at) as first_judged, max(day_first_judged_at) as first_judged_max,"
        f" max(day_last_judged_at) as last_judged from {table} where day_events is not null group by 1) as held"
        " left join (select cast(event_at as date) as activity_date, count(*) as day_events,"
        " min(judged_at) as first_judged, max(judged_at) as last_judged"
        f" from int_events_deduplicated where {condition} group by 1) as now_held"
        " on now_held.activity_date = held.activity_date"
        " where now_held.activity_date is null or held.counted <> held.day_events"
        " or held.first_judged <> held.first_judged_max or held.day_events <> now_held.day_events"
        " or held.first_judged <> now_held.first_judged or held.last_judged <> now_held.last_judged")


def build(space: Workspace, *flags: str, more_vars: str = "") -> None:
    # the daily tables and what they read, with their tests
    run = space.dbt("build", *flags, "--select", "+int_activity_daily", "+int_identity_calls_daily",
                    "--indirect-selection", "cautious", "--vars", f"{{as_of: '{AS_OF}'{more_vars}}}")
    assert run.returncode == 0, run.output[-5000:]


def planted_track(template: dict, number: int, day: str) -> dict:
    """A new track call on `day` from a usable one: its own messageId and payload (no other call is touched)."""
    stamp = f"{day}T00:00:{number:02d}.000Z"
    call = dict(template, messageId=f"planted-day-{number:04d}", timestamp=stamp, receivedAt=stamp,
                properties={**(template.get("properties") or {}), "planted": number})
    call.pop("sentAt", None)
    return call


def write_calls(path, calls: list[dict]) -> None:
    path.write_text("".join(json.dumps(call, separators=(",", ":")) + "\n" for call in calls))


def held_counts(space: Workspace, days: tuple[str, ...]) -> dict[str, int]:
    """The held count of events (the newest batch's) of these days of int_activity_daily."""
    return {str(day): count for day, count in space.query(
        "select activity_date, max(day_events) from int_activity_daily where day_events is not null "
        f"and activity_date in ({', '.join('cast(? as date)' for _ in days)}) group by 1", list(days))}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("incremental_days"))
    generate(space.raw, space.truth, events=2_000, seed=31, progress=False, end_date="2026-10-31")
    build(space)
    # the added-to day: the newest day (not the oldest held, which is always counted again) with a usable track
    # call of a known user; its copy on that day has a key the day holds already, so the key gets a row in the new
    # batch too. The recounted day: another day with several counted events.
    raw_line, added_day = space.query(
        "select staged.raw_line, cast(cast(usable.event_at as date) as varchar) from stg_segment__events as staged "
        "inner join int_events_deduplicated as usable on usable.message_id = staged.message_id "
        "where usable.message_type = 'track' and usable.canonical_event is not null and usable.user_id is not null "
        "and cast(usable.event_at as date) > (select min(activity_date) from int_activity_daily "
        "where day_events is not null) order by usable.event_at desc limit 1")[0]
    template = json.loads(raw_line)
    (recounted_day,) = [str(row[0]) for row in space.query(
        "select activity_date from int_activity_daily where day_events >= 3 and activity_date <> cast(? as date) "
        "and activity_date > (select min(activity_date) from int_activity_daily where day_events is not null) "
        "group by 1 order by 1 desc limit 1", [added_day])]
    seen = {"days": (added_day, recounted_day),
            "batches": [{table: day_batches(space, table) for table in DAILY_TABLES}]}
    lonely = space.raw / "events" / "lonely.jsonl"
    write_calls(lonely, [planted_track(template, 1, recounted_day)])
    build(space)
    seen["batches"].append({table: day_batches(space, table) for table in DAILY_TABLES})
    lonely.unlink()
    write_calls(space.raw / "events" / "late.jsonl",
                [planted_track(template, 2, added_day), planted_track(template, 3, recounted_day)])
    seen["held_before"] = held_counts(space, (added_day, recounted_day))
    build(space)
    seen["batches"].append({table: day_batches(space, table) for table in DAILY_TABLES})
    seen["held_after"] = held_counts(space, (added_day, recounted_day))
    write_calls(space.raw / "events" / "later.jsonl", [planted_track(template, 4, added_day)])
    build(space, more_vars=", daily_batches_kept: 2")
    seen["batches"].append({table: day_batches(space, table) for table in DAILY_TABLES})
    full = Workspace(tmp_path_factory.mktemp("incremental_days_full"), generic_tests=False)  # the reference only
    shutil.copytree(space.raw, full.raw, dirs_exist_ok=True)
    shutil.copy(space.database, full.database)
    build(full, "--full-refresh")
    seen["compared"] = {
        table: [sorted(workspace.query(daily_rows_sql(table)), key=repr) for workspace in (space, full)]
        for table in DAILY_TABLES}
    seen["stale"] = {table: stale_days(space, table) for table in DAILY_TABLES}
    return seen


@pytest.mark.parametrize("table", sorted(DAILY_TABLES))
def test_the_daily_table_equals_a_full_refresh(builds, table):
    incremental, full = builds["compared"][table]
    assert len(incremental) > 100
    assert incremental == full


@pytest.mark.parametrize("table", sorted(DAILY_TABLES))
def test_a_day_that_only_gained_events_takes_them_as_a_batch(builds, table):
    added_day, recounted_day = builds["days"]
    first, second, third, _ = builds["batches"]
    assert (first[table][recounted_day], second[table][recounted_day]) == (1, 2), "the lonely event alone: a batch"
    assert (second[table][added_day], third[table][added_day]) == (1, 2)
    # every other day is left as it was
    assert {day: count for day, count in third[table].items() if day not in builds["days"]} == {
        day: count for day, count in first[table].items() if day not in builds["days"]}


@pytest.mark.parametrize("table", sorted(DAILY_TABLES))
def test_a_day_that_lost_an_event_and_gained_one_is_counted_again(builds, table):
    _, recounted_day = builds["days"]
    assert builds["batches"][2][table][recounted_day] == 1


@pytest.mark.parametrize("table", sorted(DAILY_TABLES))
def test_a_day_with_all_the_batches_it_may_keep_is_counted_again(builds, table):
    added_day, _ = builds["days"]
    assert builds["batches"][3][table][added_day] == 1, "two batches held, daily_batches_kept 2: counted whole"


def test_the_planted_changes_happened(builds):
    """The added-to day gained one event; the recounted day lost one and gained one: its count is unchanged."""
    added_day, recounted_day = builds["days"]
    before, after = builds["held_before"], builds["held_after"]
    assert set(before) == {added_day, recounted_day}
    assert after == {day: count + (1 if day == added_day else 0) for day, count in before.items()}


@pytest.mark.parametrize("table", sorted(DAILY_TABLES))
def test_every_day_carries_its_fingerprint_now(builds, table):
    assert builds["stale"][table] == 0
