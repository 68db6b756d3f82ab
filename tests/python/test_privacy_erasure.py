"""Erasure reaches every table: plant requests, build (fresh, incremental, full refresh, and after a reload of
the erased people's old events), and scan every table and view of the output database for any of their
identifiers. Ground truth: the generator's erasure requests (people.csv is_erased) and identifiers.csv.

What the scan leaves out, and why: `stg_privacy__erasure_requests` is a view over the raw request file, which
by its nature names the people to erase (the project stores none of it); identifiers of an erased person that
are shared traps (a kiosk device, test@test.com) belong to nobody, so erasing them would erase others; and
identifiers nothing links to the person (browsers never identified) cannot be known to be theirs.

Other people's rows may mention an erased person too (an email typed into a form, a URL carrying it): the
fixture plants events of people who are not erased whose properties, page URL (URL-encoded) and referrer
(upper-case) carry an erased email, and a malformed line carrying it. The values must go (the scan also
looks for URL-encoded forms) while those events stay, redacted.
A second build without new data must change no score, membership or change log: the build that erases
people never scored or segmented them.
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest

from tests.python.conftest import Workspace

REQUEST_VIEW = "stg_privacy__erasure_requests"


def erased_identifiers(truth) -> list[tuple[str, str]]:
    with (truth / "people.csv").open() as handle:
        erased = {row["person_id"] for row in csv.DictReader(handle) if row["is_erased"] == "true"}
    with (truth / "identifiers.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["person_id"] in erased]
    # identifiers linkable to the erased person: in the linkable group of one of its identified ids
    linked_groups = {row["linkable_group"] for row in rows if row["identifier_type"] in ("user_id", "email")}
    return sorted(
        (row["identifier_type"], row["identifier_value"])
        for row in rows
        if row["is_trap"] != "true" and row["linkable_group"] in linked_groups
    )


def traces(space: Workspace, identifiers: list[tuple[str, str]]) -> list[tuple]:
    """(table, column, value) for every text column of every table and view that contains an erased identifier."""
    found = []
    with space_connection(space) as connection:
        relations = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'main' and table_name <> ?",
            [REQUEST_VIEW],
        ).fetchall()
        connection.execute("create temp table erased (value varchar)")
        forms = {form.lower() for _type, value in identifiers for form in (value, quote(value, safe=""))}
        connection.executemany("insert into erased values (?)", [[form] for form in sorted(forms)])
        for (table,) in relations:
            for column, column_type, *_ in connection.execute(f'describe "{table}"').fetchall():
                if "VARCHAR" not in column_type and "JSON" not in column_type:
                    continue
                hits = connection.execute(
                    f'select distinct erased.value from "{table}" as t '
                    f'inner join erased on strpos(lower(cast(t."{column}" as varchar)), erased.value) > 0'
                ).fetchall()
                found.extend((table, column, value) for (value,) in hits)
    return found


def space_connection(space: Workspace):
    import duckdb

    return duckdb.connect(str(space.database))


def build(space: Workspace, *extra: str) -> str:
    run = space.dbt("build", *extra)
    assert run.returncode == 0, run.output[-5000:]
    return run.output


STABLE_TABLES = ("person_scores", "segment_members", "segment_member_changes")
MENTION_PREFIX = "mention-of-erased-"
ESCAPED_MENTION = "escaped-mention"


def plant_mentions(space: Workspace, identifiers: list[tuple[str, str]]) -> list[str]:
    """Events of people who are not erased that mention an erased email; their message ids."""
    email = next(value for identifier_type, value in identifiers if identifier_type == "email")
    erased_values = {value for _type, value in identifiers}
    lines, planted = [], []
    source = sorted((space.raw / "events").glob("*.jsonl*"))[0]  # .jsonl, or .jsonl.gz (test_pipeline_spark)
    text = gzip.decompress(source.read_bytes()).decode() if source.suffix == ".gz" else source.read_text()
    for line in text.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(message, dict) or message.get("type") != "page" or not message.get("userId"):
            continue
        if erased_values & {message.get("userId"), message.get("anonymousId")}:
            continue
        message_id = f"{MENTION_PREFIX}{len(planted)}"
        message["messageId"] = message_id
        message.setdefault("properties", {})["note"] = f"forwarded by {email}, see thread"
        page = message.setdefault("context", {}).setdefault("page", {})
        page["url"] = f"https://shop.example/invite?from={quote(email, safe='')}&utm_source=mail"
        page["referrer"] = f"https://mail.example/inbox/{email.upper()}"
        lines.append(json.dumps(message))
        planted.append(message_id)
        if len(planted) == 5:
            break
    # a page whose only mention is an email written with a JSON escape: the raw line does not hold the value as
    # the parsed properties do, so the purge must search the parsed text of that row too
    escaped = json.loads(lines[0])
    escaped["messageId"] = ESCAPED_MENTION
    escaped["properties"] = {"note": f"forwarded by {email}"}
    escaped["context"] = {key: value for key, value in escaped["context"].items() if key != "page"}
    for stamp in ("timestamp", "sentAt", "receivedAt"):  # a quarter of an hour later: not a double fire of the page
        if escaped.get(stamp):
            moved = datetime.fromisoformat(escaped[stamp].replace("Z", "+00:00")) + timedelta(minutes=15)
            escaped[stamp] = moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    lines.append(json.dumps(escaped).replace(email, email.replace("@", "\\u0040")))
    lines.append('{"messageId": "broken-mention", "type": "track", "note": "' + email + '"')  # not JSON: quarantined
    (space.raw / "events" / "zz-mentions.jsonl").write_text("\n".join(lines) + "\n")
    return planted


def snapshot(space: Workspace) -> dict[str, list[str]]:
    """The stable tables' rows; floats to 6 decimals (a parallel sum's last digit depends on its order)."""
    def row_text(row: tuple) -> str:
        return repr(tuple(round(value, 6) if isinstance(value, float) else value for value in row))

    return {table: sorted(map(row_text, space.query(f"select * from {table}"))) for table in STABLE_TABLES}


@pytest.fixture(scope="module")
def erasure(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("erasure"), generic_tests=False)
    generate(space.raw, space.truth, events=20_000, seed=7, progress=False)
    identifiers = erased_identifiers(space.truth)
    result = {"space": space, "identifiers": identifiers}
    result["planted"] = plant_mentions(space, identifiers)

    result["first_output"] = build(space)
    result["snapshot_after_first"] = snapshot(space)
    result["mentions_after_first"] = space.query(
        "select message_id, properties, page_url, page_referrer from int_events_deduplicated "
        "where message_id like ? order by message_id", [MENTION_PREFIX + "%"]
    )
    result["escaped_after_first"] = space.query(
        "select 'staged', properties from stg_segment__events where message_id = ? union all "
        "select 'usable', properties from int_events_deduplicated where message_id = ?", [ESCAPED_MENTION] * 2
    )
    result["first"] = traces(space, identifiers)
    result["log_after_first"] = space.scalar("select count(*) from erasure_log")
    result["people_after_first"] = space.scalar("select count(*) from people")

    result["second_output"] = build(space)
    result["second"] = traces(space, identifiers)
    result["log_after_second"] = space.scalar("select count(*) from erasure_log")
    result["snapshot_after_second"] = snapshot(space)

    # a later load re-delivers the erased people's old events (new message ids, same identifiers)
    values = [value for _type, value in identifiers]
    reloaded = []
    for path in sorted((space.raw / "events").glob("*.jsonl")):
        if path.name == "zz-mentions.jsonl":
            continue  # other people's events, not the erased people's
        for number, line in enumerate(path.read_text().splitlines()):
            if any(value in line for value in values):
                try:
                    message = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(message, dict):
                    continue
                message["messageId"] = f"reload-{path.stem}-{number}"
                reloaded.append(json.dumps(message))
    (space.raw / "events" / "zz-reload.jsonl").write_text("\n".join(reloaded) + "\n")
    result["reloaded_lines"] = len(reloaded)
    build(space)
    result["after_reload"] = traces(space, identifiers)
    result["people_after_reload"] = space.scalar("select count(*) from people")

    # a full refresh reads every raw file again; other people's text that mentions an erased value is
    # redacted by the purge only, which knows the values (erasure_log keeps hashes): a known limit (docs/known-gaps.md)
    (space.raw / "events" / "zz-mentions.jsonl").unlink()
    build(space, "--full-refresh")
    result["after_full_refresh"] = traces(space, identifiers)
    result["log_after_full_refresh"] = space.scalar("select count(*) from erasure_log")
    return result


def test_the_demo_data_plants_erasure_requests(erasure):
    assert len(erasure["identifiers"]) >= 10
    assert {identifier_type for identifier_type, _value in erasure["identifiers"]} >= {"user_id", "email", "anonymous_id"}


def test_a_fresh_build_leaves_no_trace(erasure):
    assert erasure["first"] == []
    assert "Erasure:" in erasure["first_output"]


def test_the_log_holds_hashes_not_values(erasure):
    space = erasure["space"]
    assert erasure["log_after_first"] >= len(erasure["identifiers"])
    hashes = [row[0] for row in space.query("select identifier_hash from erasure_log")]
    assert all(len(value) == 64 and set(value) <= set("0123456789abcdef") for value in hashes)
    assert space.scalar("select count(*) from int_erasure_targets") == 0


def test_an_incremental_build_leaves_no_trace_and_erases_nothing_twice(erasure):
    assert erasure["second"] == []
    assert erasure["log_after_second"] == erasure["log_after_first"]
    assert "Erasure:" not in erasure["second_output"]


def test_other_peoples_events_stay_with_the_erased_values_redacted(erasure):
    kept = erasure["mentions_after_first"]
    assert [row[0] for row in kept] == erasure["planted"]
    for _message_id, properties, page_url, page_referrer in kept:
        assert "[erased]" in properties and "[erased]" in page_url and "[erased]" in page_referrer
        assert "utm_source=mail" in page_url  # the rest of the text is kept


def test_a_mention_written_with_a_json_escape_is_redacted_where_it_was_parsed(erasure):
    email = next(value for identifier_type, value in erasure["identifiers"] if identifier_type == "email")
    escaped = dict(erasure["escaped_after_first"])
    assert set(escaped) == {"staged", "usable"}
    for table, properties in escaped.items():
        assert "[erased]" in properties and email not in properties.lower(), table


def test_a_mention_no_raw_line_holds_is_redacted_where_it_is(erasure, tmp_path):
    """The purge searches the raw event lines once and, in the tables that copy them, only the columns that
    differ from the line's row: a value no line holds (here planted in a copy of the built warehouse, as a
    column a model rewrote, of a row whose line has no mention) must still be found in the table that holds it."""
    import duckdb

    space = erasure["space"].copy(tmp_path / "derived")
    value = "planted.erasure@derived-only.example"
    with duckdb.connect(str(space.database)) as connection:
        connection.execute(
            "insert into int_erasure_targets (person_id, identifier_type, identifier_value, requested_at)"
            " values (null, 'email', ?, timestamp '2026-10-30 00:00:00')", [value]
        )
        # a usable event's referrer (int_events_deduplicated has the line's key; base_segment__event_lines
        # holds another referrer) and a staged line's properties (stg_segment__events keeps the same raw line)
        key = connection.execute(
            "select source_file, line_number from int_events_deduplicated order by source_file, line_number limit 1"
        ).fetchone()
        connection.execute(
            "update int_events_deduplicated set page_referrer = 'https://mail.example/' || upper(?)"
            " where source_file = ? and line_number = ?", [value, *key]
        )
        connection.execute(
            "update stg_segment__events set properties = '{\"cc\":\"' || ? || '\"}'"
            " where source_file = ? and line_number = ?", [value, *key]
        )
    run = space.dbt("run", "--select", "int_build_started")
    assert run.returncode == 0, run.output[-3000:]
    referrer = space.scalar(
        "select page_referrer from int_events_deduplicated where source_file = ? and line_number = ?", list(key))
    properties = space.scalar(
        "select properties from stg_segment__events where source_file = ? and line_number = ?", list(key))
    assert referrer == "https://mail.example/[erased]"
    assert properties == '{"cc":"[erased]"}'


def test_a_rebuild_without_new_data_changes_no_score_or_segment(erasure):
    for table in STABLE_TABLES:
        first, second = erasure["snapshot_after_first"][table], erasure["snapshot_after_second"][table]
        assert first == second, (table, sorted(set(first) ^ set(second))[:5])


def test_a_reload_of_old_events_stays_suppressed(erasure):
    assert erasure["reloaded_lines"] > 20
    assert erasure["after_reload"] == []
    assert erasure["people_after_reload"] == erasure["people_after_first"]


def test_a_full_refresh_keeps_the_erasure(erasure):
    assert erasure["after_full_refresh"] == []
    assert erasure["log_after_full_refresh"] == erasure["log_after_first"]


def test_an_erased_person_cannot_be_exported(erasure):
    import os
    import subprocess
    import sys

    space = erasure["space"]
    user_id = next(value for identifier_type, value in erasure["identifiers"] if identifier_type == "user_id")
    done = subprocess.run(
        [sys.executable, "-m", "customer_segments.cli", "export-person", user_id],
        env={**os.environ, "SEGMENTS_DUCKDB_PATH": str(space.database)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "erased" in done.stderr.lower() or "erased" in done.stdout.lower()
