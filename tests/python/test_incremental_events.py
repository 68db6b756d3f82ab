"""int_events_deduplicated follows the judged lines incrementally (macros/incremental_events.sql).

test_incremental_equivalence covers lines judged again (re-deliveries, refires, a rewritten and a deleted file)
against a --full-refresh. This module covers what moves without a new line: the retention cutoff. One warehouse
is built three times on the same raw files: with the default retention, with `retention_days` cut so most events
fall out (rows must leave), and with the default again (rows must come back, though no line was judged again).
"""

from __future__ import annotations

import duckdb
import pytest

from tests.python.conftest import Workspace

AS_OF = "2026-10-31 23:59:59"
SHORT_RETENTION_DAYS = 20

EVENT_ROWS = "select * exclude (judged_at) from int_events_deduplicated"
USABLE_IN_WINDOW = (
    "select message_id from stg_segment__events where quarantine_reason is null and duplicate_reason is null "
    "and event_at >= timestamp '{as_of}' - to_days({days})"
)


def build(space: Workspace, retention_days: int | None = None) -> None:
    extra = f", retention_days: {retention_days}" if retention_days is not None else ""
    # the usable events and what they read, with their tests: nothing downstream is needed here
    run = space.dbt("build", "--select", "+int_events_deduplicated", "--indirect-selection", "cautious",
                    "--vars", f"{{as_of: '{AS_OF}'{extra}}}")
    assert run.returncode == 0, run.output[-5000:]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("incremental_events"))
    generate(space.raw, space.truth, events=3_000, seed=5, progress=False, end_date="2026-10-31")
    seen: dict = {}
    build(space)
    seen["first_rows"] = sorted(space.query(EVENT_ROWS), key=repr)
    seen["judged_stamps_first"] = space.query("select distinct judged_at from stg_segment__events")
    build(space, retention_days=SHORT_RETENTION_DAYS)
    seen["short_ids"] = {row[0] for row in space.query("select message_id from int_events_deduplicated")}
    seen["short_expected"] = {row[0] for row in space.query(
        USABLE_IN_WINDOW.format(as_of=AS_OF, days=SHORT_RETENTION_DAYS))}
    build(space)
    seen["again_rows"] = sorted(space.query(EVENT_ROWS), key=repr)
    seen["judged_stamps_last"] = space.query("select distinct judged_at from stg_segment__events")
    seen["space"] = space
    return seen


def test_nothing_was_judged_again(builds):
    """No line came or went, so staging judged nothing again: the rows below moved through the cutoff alone."""
    assert len(builds["judged_stamps_first"]) == 1
    assert builds["judged_stamps_last"] == builds["judged_stamps_first"]


def test_a_shorter_retention_drops_the_older_events(builds):
    assert 0 < len(builds["short_expected"]) < len(builds["first_rows"]) / 2, "the cut must drop most events"
    assert builds["short_ids"] == builds["short_expected"]


def test_the_longer_retention_brings_them_back(builds):
    assert builds["again_rows"] == builds["first_rows"]


#: (table, its uniqueness test on the changed slice, the key the test checks)
CHANGED_SLICE_TESTS = [
    ("int_events_deduplicated", "unique_int_events_deduplicated_message_id", "message_id"),
    ("stg_segment__events", "stg_segment__events_one_row_per_raw_line", "source_file, line_number"),
]


def plant_copy(space: Workspace, table: str, key: str, judged_at: str | None = None) -> None:
    """A second row of one row's key in `table`, stamped `judged_at` (if given)."""
    stamp = "" if judged_at is None else f" replace (cast('{judged_at}' as timestamp) as judged_at)"
    with duckdb.connect(str(space.database)) as connection:
        connection.execute(f"insert into {table} select *{stamp} from {table} order by {key} limit 1")


@pytest.mark.parametrize(("table", "test", "key"), CHANGED_SLICE_TESTS, ids=[t[0] for t in CHANGED_SLICE_TESTS])
def test_uniqueness_is_checked_on_the_rows_a_build_wrote(builds, tmp_path, table, test, key):
    """The unique test of a scheduled build reads the rows written in this build against the whole table
    (tests/dbt/generic/unique_among_changed.sql, unique_combination.sql with a stamp): a copy written now fails
    it; a copy among the old rows is left to the build that wrote it, and `--full-refresh` checks every row."""
    space = builds["space"].copy(tmp_path / "planted")
    assert space.dbt("test", "--select", test).returncode == 0, "the built table must pass as it is"
    plant_copy(space, table, key, "1999-01-01 00:00:00")
    assert space.dbt("test", "--select", test).returncode == 0, "an old copy is outside the changed slice"
    whole = space.dbt("build", "--select", test, "--full-refresh")
    assert whole.returncode != 0 and test in whole.output, whole.output[-3000:]
    plant_copy(space, table, key, "2999-01-01 00:00:00")
    changed = space.dbt("test", "--select", test)
    assert changed.returncode != 0 and test in changed.output, changed.output[-3000:]


def test_a_duplicate_raw_line_is_checked_in_the_files_a_build_read(builds, tmp_path):
    """base_segment__event_lines has no stamp: unique_combination checks the files whose version
    stg_segment__events does not hold yet (the files this build read, before staging judges them), every
    row of them; a copy among lines of a file read before is left to the build that read it, and
    `--full-refresh` and a first build (no staging table yet) check every row."""
    test = "base_segment__event_lines_one_row_per_raw_line"
    space = builds["space"].copy(tmp_path / "planted_line")
    assert space.dbt("test", "--select", test).returncode == 0, "the built table must pass as it is"
    plant_copy(space, "base_segment__event_lines", "source_file, line_number")
    assert space.dbt("test", "--select", test).returncode == 0, "a copy in a file read before is outside the check"
    whole = space.dbt("build", "--select", test, "--full-refresh")
    assert whole.returncode != 0 and test in whole.output, whole.output[-3000:]
    first = space.copy(tmp_path / "no_staging_yet")
    with duckdb.connect(str(first.database)) as connection:
        connection.execute("drop table if exists stg_segment__events")
    unstaged = first.dbt("test", "--select", test)
    assert unstaged.returncode != 0 and test in unstaged.output, unstaged.output[-3000:]
    # the same key again under a version staging has not judged: a file this build read
    with duckdb.connect(str(space.database)) as connection:
        connection.execute(
            "insert into base_segment__event_lines select * replace ('planted' as source_file_version)"
            " from base_segment__event_lines order by source_file desc, line_number limit 1")
    read_now = space.dbt("test", "--select", test)
    assert read_now.returncode != 0 and test in read_now.output, read_now.output[-3000:]


CONSENT_MODELS = ("+stg_segment__consent_preferences", "stg_segment__consent_lines_read")
CONSENT_RUN_SQL = "target/compiled/customer_segments/models/staging/segment/stg_segment__consent_preferences.sql"


def test_consent_reads_only_lines_judged_since_the_last_build_even_when_no_event_states_consent(tmp_path):
    """No demo event states consent, so stg_segment__consent_preferences stays empty; its newest row cannot tell
    how far it read. The next build must still read only the lines judged since the last one: the bound in its
    SQL is stg_segment__consent_lines_read (the newest judged line when the consent model last ran), not the
    beginning of time (which reads every line, every build)."""
    import json

    from customer_segments.generate import generate

    space = Workspace(tmp_path / "consent")
    generate(space.raw, space.truth, events=1_000, seed=7, progress=False, end_date="2026-10-31")
    first = space.dbt("build", "--select", *CONSENT_MODELS, "--indirect-selection", "cautious",
                      "--vars", f"{{as_of: '{AS_OF}'}}")
    assert first.returncode == 0, first.output[-5000:]
    assert space.query("select count(*) from stg_segment__consent_preferences")[0][0] == 0, "no event states consent"
    read_until = space.query("select cast(consumed_until as varchar) from stg_segment__consent_lines_read")[0][0]
    assert read_until == space.query("select cast(max(judged_at) as varchar) from stg_segment__events")[0][0]

    source = sorted((space.raw / "events").glob("*.jsonl"))[0]
    lines = []
    for number, line in enumerate(source.read_text().splitlines()[:50]):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("messageId"):
            message["messageId"] = f"consent-bound-{number}"
            lines.append(json.dumps(message))
    (space.raw / "events" / "part-later.jsonl").write_text("\n".join(lines) + "\n")
    second = space.dbt("build", "--select", *CONSENT_MODELS, "--indirect-selection", "cautious",
                       "--vars", f"{{as_of: '{AS_OF}'}}")
    assert second.returncode == 0, second.output[-5000:]
    compiled = (space.root / CONSENT_RUN_SQL).read_text()
    assert f"judged_at > cast('{read_until}' as timestamp)" in compiled, compiled[-3000:]
    assert space.query("select cast(consumed_until as varchar) from stg_segment__consent_lines_read")[0][0] > read_until
