"""One bad byte, line or file is one quarantined row with its reason; everything else builds.

The bad event lines and files share one workspace and one build (bad_events): known good events,
and each fault in a file of its own next to them (the good lines of each file numbered apart, so
that none is a duplicate or a double fire of another). Each case checks that the build exits 0,
that its file is exactly one quarantined entry with the expected reason and line, and that the
file's good rows are usable; two tests check the whole: the quarantined entries are exactly the
cases' ones, and every good row is there. The flat-CSV cases are variants of one file
(email_events.csv), so each writes known good events next to its own and builds alone.
The unbalanced quote's gate failure is in test_quality_gate.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass

import pytest
from conftest import DbtRun, Workspace

from customer_segments.warehouse import raw_files

GOOD_EVENTS = 150


def good_event(number: int) -> bytes:
    """A valid, distinct track call (its own ids and minute: no duplicate, no double fire)."""
    return json.dumps(
        {
            "messageId": f"m-{number}",
            "type": "track",
            "anonymousId": f"a-{number}",
            "event": "Product Viewed",
            "properties": {"sku": f"s-{number}"},
            "timestamp": f"2026-10-30T{number // 60 % 24:02d}:{number % 60:02d}:00Z",
            "receivedAt": f"2026-10-30T{number // 60 % 24:02d}:{number % 60:02d}:01Z",
        }
    ).encode()


def write_good_events(space: Workspace) -> None:
    folder = space.raw / "events"
    folder.mkdir(exist_ok=True)
    (folder / "good.jsonl").write_bytes(b"".join(good_event(n) + b"\n" for n in range(GOOD_EVENTS)))


def build(space: Workspace):
    """Staging, row accounting and the gate's metrics (what a fault must not stop)."""
    run = space.dbt("build", "--select", "+assert_source_rows_balance", "+int_dq_metrics", "--indirect-selection", "cautious")
    assert "Traceback" not in run.output
    # dbt colours its own output; the hostile line's bytes (\x01, its escape code) must never reach the terminal
    assert "\x01" not in run.output and "ku\x1b[31m" not in run.output
    return run


def quarantined(space: Workspace, source: str) -> list[tuple]:
    return space.query(
        "select source_file, line_number, reason from quarantined_rows where source = ? order by 1, 2", [source]
    )


def usable_events(space: Workspace) -> int:
    return space.scalar("select usable_rows from int_source_rows_accounted where source = 'events'")


# --------------------------------------------------------------- event lines

def line_cases():
    """(name, file name, file bytes, expected (line, reason), good events in the file).

    Each in its own file, its good lines numbered apart from every other file's (good_event)."""
    def mixed(first: int) -> list[bytes]:
        return [good_event(first + n) for n in range(4)]

    lines = mixed(200)
    yield "invalid_utf8", "part-invalid_utf8.jsonl", b"\n".join(lines[:2] + [lines[2][:-1] + b',"x":"caf\xe9"}'] + lines[3:]) + b"\n", (3, "invalid_utf8"), 3
    lines = mixed(300)
    hostile = lines[2].replace(b'"sku"', b'"s\x01ku\x1b[31m"')
    yield "control_byte", "part-control_byte.jsonl", b"\n".join(lines[:2] + [hostile] + lines[3:]) + b"\n", (3, "malformed_json"), 3
    yield "binary_file", "image.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" + bytes(range(256)) * 8, (0, "binary_file"), 0
    yield "corrupt_parquet", "part.parquet", b"PAR1" + bytes(range(256)) * 4 + b"PAR1", (0, "unreadable_file"), 0
    yield "not_gzip", "part.jsonl.gz", b"\n".join(mixed(400)) + b"\n", (0, "unreadable_file"), 0


LINE_CASES = list(line_cases())

#: The line over 16 MB: in a gzip file in a subfolder, between two good events (numbered apart from the cases').
HUGE_FILE = "nested/huge.jsonl.gz"
HUGE_EXPECTED = (2, "line_too_long")
HUGE_GOOD = 2


def huge_line() -> bytes:
    return b'{"messageId": "m-huge", "type": "track", "anonymousId": "a-huge", "event": "x", "properties": {"blob": "' \
        + b"x" * (20 * 1024 * 1024) + b'"}}'


@dataclass
class BadEvents:
    space: Workspace
    run: DbtRun
    #: the huge line's length and SHA-256 (the line itself is 20 MB: not kept)
    huge_length: int
    huge_sha256: str


@pytest.fixture(scope="module")
def bad_events(tmp_path_factory: pytest.TempPathFactory) -> BadEvents:
    """One workspace and one build (build(): no Traceback, no hostile byte in its output) for every bad event
    line and file: the good events, each case's file, and the huge line's file."""
    space = Workspace(tmp_path_factory.mktemp("raw_containment_events"))
    write_good_events(space)
    for _, file_name, content, _, _ in LINE_CASES:
        (space.raw / "events" / file_name).write_bytes(content)
    huge = huge_line()
    path = space.raw / "events" / HUGE_FILE
    path.parent.mkdir()
    with gzip.open(path, "wb") as handle:
        handle.write(good_event(500) + b"\n" + huge + b"\n" + good_event(501) + b"\n")
    return BadEvents(space, build(space), len(huge), hashlib.sha256(huge).hexdigest())


def quarantined_in(space: Workspace, source_file: str) -> list[tuple]:
    return space.query(
        "select source_file, line_number, reason from quarantined_rows where source = 'events' and source_file = ?"
        " order by 1, 2", [source_file]
    )


def usable_events_in(space: Workspace, source_file: str) -> int:
    return space.scalar(
        "select count(*) from stg_segment__events where source_file = ? and quarantine_reason is null"
        " and duplicate_reason is null", [source_file]
    )


@pytest.mark.parametrize("name,file_name,content,expected,good_in_file", [pytest.param(*case, id=case[0]) for case in LINE_CASES])
def test_a_bad_event_line_or_file_is_one_quarantined_entry(bad_events: BadEvents, name, file_name, content, expected, good_in_file):
    assert bad_events.run.returncode == 0, bad_events.run.output[-3000:]
    assert quarantined_in(bad_events.space, f"events/{file_name}") == [(f"events/{file_name}", *expected)]
    assert usable_events_in(bad_events.space, f"events/{file_name}") == good_in_file


def test_a_line_over_16_mb_is_cut_and_quarantined_with_its_length_and_hash(bad_events: BadEvents):
    space = bad_events.space
    assert bad_events.run.returncode == 0, bad_events.run.output[-3000:]
    assert quarantined_in(space, f"events/{HUGE_FILE}") == [(f"events/{HUGE_FILE}", *HUGE_EXPECTED)]
    assert usable_events_in(space, f"events/{HUGE_FILE}") == HUGE_GOOD
    kept, length, digest = space.query(
        "select strlen(raw_line), raw_line_bytes, raw_line_sha256 from stg_segment__events where line_number = 2"
        " and source_file = ?", [f"events/{HUGE_FILE}"]
    )[0]
    assert kept == 1024 * 1024  # var max_raw_line_bytes
    assert (length, digest) == (bad_events.huge_length, bad_events.huge_sha256)


def test_the_bad_event_lines_and_files_are_the_only_quarantined_events(bad_events: BadEvents):
    expected = [(f"events/{file_name}", *line_reason) for _, file_name, _, line_reason, _ in LINE_CASES]
    expected.append((f"events/{HUGE_FILE}", *HUGE_EXPECTED))
    assert quarantined(bad_events.space, "events") == sorted(expected)


def test_every_good_event_next_to_the_bad_ones_is_usable(bad_events: BadEvents):
    good = GOOD_EVENTS + sum(good_in_file for *_, good_in_file in LINE_CASES) + HUGE_GOOD
    assert usable_events(bad_events.space) == good


# --------------------------------------------------------------- flat CSV

EMAIL_HEADER = "email_event_id,email,campaign_id,event_type,occurred_at,url"


def email_rows(count: int, url_of=lambda n: f"https://example.com/{n}") -> list[str]:
    return [f"e{n},p{n}@example.com,c1,click,2026-10-01T10:{n % 60:02d}:00Z,{url_of(n)}" for n in range(count)]


def test_quoted_newlines_in_csv_are_one_row_numbered_by_its_first_line(workspace: Workspace):
    write_good_events(workspace)
    rows = email_rows(200, url_of=lambda n: f'"https://example.com/{n}\nsecond line, with a comma"' if n % 50 == 7 else "x")
    (workspace.raw / "email_events.csv").write_text(EMAIL_HEADER + "\n" + "\n".join(rows) + "\n")
    run = build(workspace)
    assert run.returncode == 0, run.output[-3000:]
    assert quarantined(workspace, "email_events") == []
    accounted = workspace.query(
        "select raw_rows, usable_rows, raw_lines, spoiled_lines from int_source_rows_accounted where source = 'email_events'"
    )
    assert accounted == [(200, 200, 204, 0)]
    # the physical line where each row starts: row n on line n + 2 (header, 1-based), one more per earlier newline
    starts = dict(workspace.query("select email_event_id, line_number from stg_email__events"))
    assert (starts["e6"], starts["e7"], starts["e8"], starts["e57"], starts["e58"]) == (8, 9, 11, 60, 62)
    assert workspace.scalar("select url from stg_email__events where email_event_id = 'e7'") == \
        "https://example.com/7\nsecond line, with a comma"
    assert workspace.scalar("select value from int_dq_metrics where metric = 'email_events_spoiled_line_share'") == 0


def test_an_unbalanced_quote_quarantines_the_rows_it_spoils_and_the_accounting_shows_the_loss(workspace: Workspace):
    write_good_events(workspace)
    rows = email_rows(400, url_of=lambda n: '"https://example.com/broken' if n == 200 else f"https://example.com/{n}")
    (workspace.raw / "email_events.csv").write_text(EMAIL_HEADER + "\n" + "\n".join(rows) + "\n")
    build(workspace)  # the gate fails on this (test_quality_gate.py); staging is built whatever it says
    assert quarantined(workspace, "email_events") == [("email_events.csv", 202, "unbalanced_quote")]
    assert workspace.query(
        "select raw_rows, usable_rows, quarantined_rows, raw_lines, spoiled_lines from int_source_rows_accounted"
        " where source = 'email_events'"
    ) == [(201, 200, 1, 400, 199)]
    share = workspace.scalar("select value from int_dq_metrics where metric = 'email_events_spoiled_line_share'")
    assert share == pytest.approx(199 / 400)
    raw = workspace.scalar("select raw from quarantined_rows where reason = 'unbalanced_quote'")
    assert raw.startswith("e200,p200@example.com") and raw.endswith("https://example.com/399")


def test_a_bad_csv_byte_is_one_quarantined_row(workspace: Workspace):
    write_good_events(workspace)
    rows = [row.encode() for row in email_rows(150)]
    rows[70] = rows[70].replace(b"click", b"cl\xffick")
    (workspace.raw / "email_events.csv").write_bytes(EMAIL_HEADER.encode() + b"\n" + b"\n".join(rows) + b"\n")
    run = build(workspace)
    assert run.returncode == 0, run.output[-3000:]
    assert quarantined(workspace, "email_events") == [("email_events.csv", 72, "invalid_utf8")]
    assert workspace.scalar("select usable_rows from int_source_rows_accounted where source = 'email_events'") == 149


# --------------------------------------------------------------- the readers alone

def lines_of(path, limit=1024) -> list[tuple]:
    return [(row["line_number"], row["raw_line"], row["read_error"])
            for row in raw_files.event_file_lines(str(path), limit).to_pylist()]


def test_event_lines_are_physical_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\xef\xbb\xbf{}\r\n\n{\"a\": \"b\rc\"}\nlast")
    assert lines_of(path) == [(1, "{}", None), (3, '{"a": "b\rc"}', None), (4, "last", None)]


def test_a_truncated_gzip_keeps_its_lines_and_says_so(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(b"".join(good_event(n) + b"\n" for n in range(2000)))
    path.write_bytes(whole[: len(whole) // 2])
    lines = lines_of(path)
    assert lines[0][0] == 0 and lines[0][2] == "unreadable_file" and "truncated" in lines[0][1]
    assert len(lines) > 100 and [number for number, _, _ in lines[1:]] == list(range(1, len(lines)))


def test_error_text_is_plain_ascii():
    text = raw_files.describe_error(ValueError("bad \x1b[31m\xff byte\n"))
    assert text.isascii() and "\x1b" not in text and "\n" not in text


def test_csv_records_follow_rfc_4180(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,note\n1,"two\nlines"\n\n2,"say ""hi"""\n3,\n4,"open\n5,x\n')
    header, records = raw_files.csv_records(str(path), 1024)
    assert header == ["id", "note"]
    assert [(r["line_number"], r["line_count"], r["fields"], r["read_error"]) for r in records] == [
        (2, 2, ["1", "two\nlines"], None),
        (5, 1, ["2", 'say "hi"'], None),
        (6, 1, ["3", None], None),
        (7, 2, None, "unbalanced_quote"),
    ]
    assert records[-1]["raw_text"] == '4,"open\n5,x'


# --------------------------------------------------------------- the fast path for plain files

@pytest.mark.parametrize("content,problem", [
    pytest.param(b'{"a": 1}\n{"b": 2}', None, id="plain"),
    pytest.param(b'{"a": 1}\n\n{"b": 2}\n', "empty_line", id="empty_line"),
    pytest.param(b'\n{"a": 1}\n', "empty_line", id="empty_first_line"),
    pytest.param(b'{"a": 1}\n{"b": "caf\xe9"}\n', "invalid_utf8", id="invalid_utf8"),
    pytest.param(b'{"a": 1}\r\n', "carriage_return", id="carriage_return"),
    pytest.param(b'\xef\xbb\xbf{"a": 1}\n', "byte_order_mark", id="byte_order_mark"),
    pytest.param(b'{"a": "\x01"}\n', "delimiter_byte", id="delimiter_byte"),
    pytest.param(b'{"a": "\x00"}\n', "nul_byte", id="nul_byte"),
    pytest.param(b'{"a": 1}\n' + b"x" * 1025 + b"\n", "line_too_long", id="line_too_long"),
    pytest.param(b"x" * 1025, "line_too_long", id="last_line_too_long"),
    pytest.param(b"x" * 1024 + b"\n" + b"y" * 1024, None, id="lines_at_the_limit"),
    pytest.param(b"", "empty", id="empty"),
])
def test_only_plain_files_take_the_fast_path(tmp_path, content, problem):
    path = tmp_path / "a.jsonl"
    path.write_bytes(content)
    assert raw_files.plain_lines_problem(str(path), 1024) == problem


def test_a_gzip_file_takes_the_python_reader(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n'))
    assert raw_files.plain_lines_problem(str(path), 1024) == "compressed"


def test_the_fast_path_reads_the_lines_the_python_reader_reads(workspace: Workspace):
    """DuckDB's CSV reader (plain files) and the Python reader (the others) give the same rows: the Python
    reader is the oracle for every file, and the compiled model shows which files took the fast path."""
    folder = workspace.raw / "events"
    folder.mkdir()
    odd_lines = [
        good_event(1), b"   ", b"\t", b'"quoted", with, commas', b"back\\slash \\n \\\" ", b"NULL", b"#comment",
        "caf\u00e9 \u65e5\u672c \U0001F600".encode(), b" " + good_event(2) + b"  ", b'{"a": "b"}\t', b"x" * 1024,
    ]
    files = {
        "plain.jsonl": b"\n".join(odd_lines) + b"\n",
        "no_last_newline.jsonl": b"\n".join(odd_lines),
        "gaps.jsonl": b"\n".join(odd_lines[:3] + [b""] + odd_lines[3:]) + b"\n\n",
        "crlf.jsonl": b"\r\n".join(odd_lines) + b"\r\n",
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    run = workspace.dbt("run", "--select", "base_segment__event_lines", "--vars", "{max_raw_line_bytes: 1024}")
    assert run.returncode == 0, run.output[-3000:]
    compiled = next((workspace.root / "target").rglob("base_segment__event_lines.sql")).read_text()
    # the path as the build was given it (tests run dbt with raw_path relative to the workspace: conftest)
    fast = {name for name in files if re.search(rf"read_csv\(\s*'[^']*events/{re.escape(name)}'", compiled)}
    assert fast == {"plain.jsonl", "no_last_newline.jsonl"}
    for name in files:
        expected = [(number, text, error) for number, text, error in lines_of(folder / name)
                    if error is not None or text.strip(" ") != ""]
        assert workspace.query(
            "select line_number, raw_line, read_error from base_segment__event_lines where source_file = ?"
            " order by line_number", [f"events/{name}"]) == expected, name
