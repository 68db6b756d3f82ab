"""Events from Segment's warehouse tables build the same people and segments as the event files.

The generator renders one seed twice: as Parquet event files (`--format parquet`) and as the tables of
Segment's warehouse destination (`--format segment-warehouse`: the same lines laid out as tracks, pages,
identifies, ..., per-event tables, flattened context columns). Both are built in full; people (by their
smallest identifier, as person ids are hashes of what each build saw) and segment members must be equal, and
so must every event's verdict, except the lines a table cannot hold (a type none of the six tables takes).
(`--format jsonl` also draws malformed lines, which shifts the seed's random stream after the events: its
CSV inputs differ, so the file build compared is the Parquet one, whose lines the warehouse tables are made of.)

Then the warehouse shape's own cases, on hand-made rows in DuckDB tables (var segment_warehouse_schema):
a missing required column is an error naming the table and the column; the verdicts that apply to a table
(missing identifier, future timestamp, duplicate id) are made; unknown columns are ignored and missing
optional ones read as null.
"""

from __future__ import annotations

import duckdb
import pytest

from conftest import Workspace

SEED = 11
EVENTS = 3_000
AS_OF = "2026-10-31 23:59:59"
WAREHOUSE = "{event_input_shape: segment_warehouse, as_of: '" + AS_OF + "'}"


def person_keys(space: Workspace) -> dict[str, str]:
    return dict(space.query(
        "select person_id, min(identifier_type || ':' || identifier_value) from int_identity_person_ids group by 1"))


def people(space: Workspace) -> list[str]:
    keys = person_keys(space)
    return sorted(keys.get(person, person) for (person,) in space.query("select person_id from people"))


def members(space: Workspace) -> list[tuple]:
    keys = person_keys(space)
    return sorted((keys.get(entity, entity), segment, kind) for entity, segment, kind in space.query(
        "select entity_id, segment_id, entity_type from segment_members"))


def verdicts(space: Workspace) -> list[tuple]:
    return sorted(space.query(
        "select message_id, coalesce(quarantine_reason, ''), coalesce(duplicate_reason, ''), count(*) "
        "from stg_segment__events group by all"), key=repr)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Workspace, dict]:
    from customer_segments.generate import generate

    files = Workspace(tmp_path_factory.mktemp("files"), generic_tests=False)
    generate(files.raw, files.truth, events=EVENTS, seed=SEED, fmt="parquet", progress=False)
    run = files.dbt("build", "--vars", "{as_of: '" + AS_OF + "'}")
    assert run.returncode == 0, run.output[-5000:]

    tables = Workspace(tmp_path_factory.mktemp("warehouse"))
    manifest = generate(tables.raw, tables.truth, events=EVENTS, seed=SEED, fmt="segment-warehouse", progress=False)
    run = tables.dbt("build", "--vars", WAREHOUSE)
    assert run.returncode == 0, run.output[-5000:]
    return files, tables, manifest


def test_the_generator_wrote_warehouse_tables_and_no_event_files(builds):
    _files, tables, manifest = builds
    assert not any((tables.raw / "events").iterdir())
    written = manifest["warehouse"]["tables"]
    assert {"tracks", "pages", "identifies", "aliases", "groups", "screens"} <= written.keys()
    assert {"product_viewed", "order_completed"} <= written.keys(), "per-event tables"


def test_warehouse_build_has_the_people_of_the_file_build(builds):
    files, tables, _manifest = builds
    expected = people(files)
    assert len(expected) > 50
    assert people(tables) == expected


def test_warehouse_build_has_the_segment_members_of_the_file_build(builds):
    files, tables, _manifest = builds
    expected = members(files)
    assert len(expected) > 10
    assert members(tables) == expected


def test_every_event_gets_the_verdict_it_gets_from_the_files(builds):
    """Staging on both shapes: the same messageIds with the same verdicts, but for lines no table can hold."""
    files, tables, manifest = builds
    left_out = manifest["warehouse"]["lines_left_out"]
    assert left_out > 0
    from_files = [row for row in verdicts(files) if row[1] != "invalid_type"]
    assert sum(row[3] for row in verdicts(files) if row[1] == "invalid_type") == left_out
    assert verdicts(tables) == from_files
    reasons = {row[1] for row in from_files} | {row[2] for row in from_files}
    assert {"missing_identifier", "timestamp_in_future", "duplicate_message_id"} <= reasons


def test_quarantined_rows_point_at_the_warehouse_file_and_row(builds):
    _files, tables, _manifest = builds
    bad = tables.query("select source_file, line_number from quarantined_rows where source = 'events' limit 5")
    assert bad and all(source.startswith("warehouse/") and line >= 1 for source, line in bad)


# --- DuckDB tables, hand-made ---------------------------------------------------------------------------

COLUMNS = ("id varchar, anonymous_id varchar, user_id varchar, event varchar, event_text varchar, "
           "\"timestamp\" timestamptz, received_at timestamptz, sent_at timestamptz, context_ip varchar, "
           "some_new_column varchar")


def warehouse_tables(space: Workspace, drop: str | None = None) -> None:
    """A schema segment_prod with tracks (and a per-event table), pages and identifies, in the build's database."""
    with duckdb.connect(str(space.database)) as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute("create schema segment_prod")
        connection.execute(f"create table segment_prod.tracks ({COLUMNS})")
        connection.execute(f"create table segment_prod.signed_up ({COLUMNS}, plan varchar)")
        rows = [
            ("m1", "a1", None, "signed_up", "Signed Up", "2026-10-30 10:00:00", "2026-10-30 10:00:01"),
            ("m1", "a1", None, "signed_up", "Signed Up", "2026-10-30 10:00:00", "2026-10-30 10:05:00"),  # a copy
            ("m2", None, None, "signed_up", "Signed Up", "2026-10-30 11:00:00", "2026-10-30 11:00:01"),  # nobody
            ("m3", "a2", "u2", "signed_up", "Signed Up", "2027-10-30 11:00:00", "2026-10-30 11:00:01"),  # future
        ]
        for row in rows:
            connection.execute("insert into segment_prod.tracks values (?, ?, ?, ?, ?, ?, ?, null, '10.0.0.1', 'x')",
                               list(row))
            connection.execute(
                "insert into segment_prod.signed_up values (?, ?, ?, ?, ?, ?, ?, null, '10.0.0.1', 'x', 'pro')", list(row))
        # pages without most optional columns: they read as null
        connection.execute("create table segment_prod.pages (id varchar, anonymous_id varchar, name varchar, "
                           "\"timestamp\" timestamptz, received_at timestamptz)")
        connection.execute("insert into segment_prod.pages values ('p1', 'a1', 'Pricing', '2026-10-30 09:00:00', "
                           "'2026-10-30 09:00:01')")
        if drop:
            table, column = drop.split(".")
            connection.execute(f"alter table segment_prod.{table} drop column {column}")


def staging(space: Workspace):
    return space.dbt("run", "--select", "base_segment__event_lines", "stg_segment__events",
                     "--vars", "{event_input_shape: segment_warehouse, segment_warehouse_schema: segment_prod}")


def test_tables_in_the_database_are_judged_like_event_lines(workspace: Workspace):
    warehouse_tables(workspace)
    run = staging(workspace)
    assert run.returncode == 0, run.output[-5000:]
    rows = workspace.query(
        "select source_file, line_number, message_id, message_type, event_name, page_name, ip, "
        "json_extract_string(properties, '$.plan'), coalesce(quarantine_reason, duplicate_reason) "
        "from stg_segment__events order by source_file, line_number")
    assert rows == [
        ("segment_prod.pages", 1, "p1", "page", None, "Pricing", None, None, None),
        ("segment_prod.signed_up", 1, "m1", "track", "Signed Up", None, "10.0.0.1", "pro", None),
        ("segment_prod.signed_up", 2, "m1", "track", "Signed Up", None, "10.0.0.1", "pro", "duplicate_message_id"),
        ("segment_prod.signed_up", 3, "m2", "track", "Signed Up", None, "10.0.0.1", "pro", "missing_identifier"),
        ("segment_prod.signed_up", 4, "m3", "track", "Signed Up", None, "10.0.0.1", "pro", "timestamp_in_future"),
    ]
    # a column tracks has too is no property of the per-event table's rows: it is ignored
    assert workspace.scalar("select count(*) from stg_segment__events where raw_line like '%some_new_column%'") == 0


def test_a_missing_required_column_names_the_table_and_the_column(workspace: Workspace):
    missing = "tracks.id"
    warehouse_tables(workspace, drop=missing)
    run = staging(workspace)
    table, column = missing.split(".")
    assert run.returncode != 0
    assert f"Segment warehouse table {table} (segment_prod.{table}) has no column {column}" in run.output, \
        run.output[-3000:]
