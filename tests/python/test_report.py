"""The segment report (customer_segments/report): every section, numbers that agree with the
tables, escaped data, partial builds, the CLI, and the page as headless Chromium shows it.

Runs on the shared 20k-event `demo_build`. The renderer reads the warehouse
read-only; tests that change tables (hostile strings, dropped tables) work on a
copy of the file.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from customer_segments import cli
from customer_segments.generate import spec
from customer_segments.report import render_report
from customer_segments.report.browser import chromium_path, open_page
from customer_segments.report.charts import esc
from customer_segments.report.sections import SECTIONS

SECTION_IDS = [section_id for section_id, _title in SECTIONS]
#: tags the page may contain: markup and inline SVG, never script, images, frames or links to load
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "nav", "main", "section", "footer", "h1", "h2", "h3",
    "h4", "p", "a", "div", "span", "strong", "br", "code", "ul", "li", "figure", "table", "thead", "tbody", "tr", "th",
    "td", "details", "summary", "svg", "line", "text", "rect", "circle", "polyline",
}


@dataclass
class Page(HTMLParser):
    """The parts of the report the tests read: tags, section ids, and table cells by row attributes."""

    tags: set[str] = field(default_factory=set)
    ids: list[str] = field(default_factory=list)
    #: (table name, row attributes, {column: (text, data-value)})
    rows: list[tuple[str, dict, dict]] = field(default_factory=list)
    kpis: dict[str, str] = field(default_factory=dict)
    cards: list[dict] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._table = ""
        self._row: tuple[str, dict, dict] | None = None
        self._cell: tuple[str, str | None] | None = None
        self._kpi: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.add(tag)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag == "table":
            self._table = attributes.get("data-table", "")
        elif tag == "tr" and self._table:
            self._row = (self._table, attributes, {})
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None:
            self._cell = (attributes.get("data-col", ""), attributes.get("data-value"))
            self._row[2][self._cell[0]] = ("", self._cell[1])
        elif tag == "span" and "data-kpi" in attributes:
            self._kpi = attributes["data-kpi"]
        elif tag == "div" and attributes.get("class") == "card":
            self.cards.append(attributes)

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = ""
        elif tag == "span":
            self._kpi = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None and self._row is not None:
            column, value = self._cell
            self._row[2][column] = (self._row[2][column][0] + data, value)
        if self._kpi:
            self.kpis[self._kpi] = data

    def table(self, name: str, key: str) -> dict[str, dict]:
        """The rows of one table, by a row attribute (data-segment, data-check, ...)."""
        return {attributes[key]: cells for table, attributes, cells in self.rows if table == name and key in attributes}


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def number(cell: tuple[str, str | None]) -> float:
    return float(cell[1])


def query(database: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


@dataclass
class Report:
    database: Path
    path: Path
    html: str
    page: Page


@pytest.fixture(scope="module")
def report(passed_demo_build, tmp_path_factory: pytest.TempPathFactory) -> Report:
    database = passed_demo_build.workspace.database
    path = render_report(database, tmp_path_factory.mktemp("report") / "report.html")
    html = path.read_text(encoding="utf-8")
    return Report(database, path, html, parse(html))


def copy_of(database: Path, folder: Path) -> Path:
    """A private copy of the demo warehouse, to change without disturbing other tests."""
    target = folder / "copy.duckdb"
    shutil.copyfile(database, target)
    return target


# ---------------------------------------------------------------- structure


def test_every_section_is_there_once_with_a_title(report: Report):
    for section_id in SECTION_IDS:
        assert report.page.ids.count(section_id) == 1, section_id
        assert f'<section id="{section_id}"><h2>' in report.html
    assert "Not available in this build" not in report.html, "a full build must fill every section"


def test_the_page_is_self_contained(report: Report):
    assert report.page.tags <= ALLOWED_TAGS, report.page.tags - ALLOWED_TAGS
    lowered = report.html.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "src=", "http://", "https://", "@import", "url("):
        assert needle not in lowered, needle
    assert "Content-Security-Policy" in report.html and "default-src 'none'" in report.html


# ---------------------------------------------------------------- numbers agree with the tables


def test_summary_segments_match_segment_members(report: Report):
    rows = report.page.table("segments", "data-segment")
    catalog = query(report.database, "select segment_id from segments where status <> 'suggested'")
    assert set(rows) == {segment_id for (segment_id,) in catalog}
    members = {
        segment_id: (count, holdout)
        for segment_id, count, holdout in query(
            report.database,
            "select segment_id, count(*), count(*) filter (where is_holdout) from segment_members group by 1",
        )
    }
    assert members, "the demo build has members"
    for segment_id, cells in rows.items():
        count, holdout = members.get(segment_id, (0, 0))
        assert number(cells["members"]) == count, segment_id
        assert number(cells["holdout"]) == holdout, segment_id
        assert cells["members"][0] == f"{count:,}"


def test_sizes_replayed_from_the_log_match_the_members(report: Report):
    rows = report.page.table("segment-sizes", "data-segment")
    logged = query(report.database, "select distinct segment_id from segment_member_changes")
    assert set(rows) == {segment_id for (segment_id,) in logged}
    for segment_id, cells in rows.items():
        (members,) = query(report.database, "select count(*) from segment_members where segment_id = ?", [segment_id])[0]
        (net,) = query(
            report.database,
            "select sum(case change when 'entered' then 1 else -1 end) from segment_member_changes where segment_id = ?",
            [segment_id],
        )[0]
        assert number(cells["size"]) == net == members, segment_id


def test_score_histograms_cover_every_active_segment(report: Report):
    cards = {
        card["data-segment"]: int(card["data-members"]) for card in report.page.cards if "data-members" in card
    }
    active = query(
        report.database,
        "select s.segment_id, count(m.score) from segments as s left join segment_members as m using (segment_id) "
        "where s.status = 'active' group by 1",
    )
    assert cards == dict(active)


def test_lift_shows_every_active_segment_and_says_not_enough_data(report: Report):
    rows = report.page.table("lift", "data-segment")
    lift = {
        row[0]: row[1:]
        for row in query(
            report.database,
            "select l.segment_id, treated_size, holdout_size, pending_entries, l.status from segment_lift as l "
            "inner join segments as s using (segment_id) where s.status = 'active'",
        )
    }
    assert set(rows) == set(lift)
    for segment_id, (treated, holdout, pending, status) in lift.items():
        cells = rows[segment_id]
        assert (number(cells["treated"]), number(cells["holdout"]), number(cells["pending"])) == (treated, holdout, pending)
        if status != "measured":
            assert cells["status"][0] == "not enough data"
    not_measured = sum(1 for *_counts, status in lift.values() if status != "measured")
    assert report.html.count("not enough data yet:") == not_measured


def test_data_quality_counts_are_the_latest_builds(report: Report):
    (build_id,) = query(report.database, "select build_id from dq_results order by checked_at desc limit 1")[0]
    passed, warned, failed = query(
        report.database,
        "select count(*) filter (where success), count(*) filter (where not success and severity <> 'fail'), "
        "count(*) filter (where not success and severity = 'fail') from dq_results where build_id = ?",
        [build_id],
    )[0]
    assert (report.page.kpis["passed"], report.page.kpis["warned"], report.page.kpis["failed"]) == (
        f"{passed:,}", f"{warned:,}", f"{failed:,}"
    )
    shown = report.page.table("dq-problems", "data-check") | report.page.table("dq-passed", "data-check")
    expectations = query(report.database, "select expectation from dq_results where build_id = ?", [build_id])
    assert set(shown) == {expectation for (expectation,) in expectations}
    accounted = report.page.table("rows-accounted", "data-source")
    for source, raw, quarantined in query(
        report.database, "select source, raw_rows, quarantined_rows from int_source_rows_accounted"
    ):
        assert (number(accounted[source]["raw"]), number(accounted[source]["quarantined"])) == (raw, quarantined)


def test_identity_health_numbers(report: Report):
    people, identifiers = query(
        report.database, "select count(distinct person_id), count(*) from person_identifiers"
    )[0]
    assert report.page.kpis["people"] == f"{people:,}"
    assert report.page.kpis["identifiers"] == f"{identifiers:,}"
    assert report.page.kpis["multi"] == "0"
    (largest,) = query(
        report.database, "select max(n) from (select count(*) as n from person_identifiers group by person_id)"
    )[0]
    assert report.page.kpis["largest"] == f"{largest:,}"
    clusters = report.page.table("largest-clusters", "data-person")
    assert len(clusters) == 10 and max(number(cells["identifiers"]) for cells in clusters.values()) == largest
    # the planted traps: a kiosk device seen with 50 people is refused, not merged
    refused = [cells for table, _attributes, cells in report.page.rows if table == "refused-identifiers" and cells]
    assert any(cells["value"][0] == "kiosk-device-0001" and number(cells["people"]) >= 50 for cells in refused)
    for reason, count in query(report.database, "select reason, count(*) from identity_rejected_edges group by 1"):
        assert f"{esc(reason)}: {count:,}</title>" in report.html


def test_accounts_numbers(report: Report):
    (seniority, department), = query(report.database, "select count(seniority), count(department) from people")
    (committees, technographic, intent), = query(report.database, """
        select sum(case when committee_status <> 'below_range' then 1 else 0 end),
               sum(case when technographic_fit_points > 0 then 1 else 0 end),
               sum(case when third_party_intent_score > 0 then 1 else 0 end)
        from account_scores""")
    assert report.page.kpis["seniority"] == f"{seniority:,}" and seniority > 0
    assert report.page.kpis["department"] == f"{department:,}" and department > 0
    assert report.page.kpis["committees"] == f"{committees:,}"
    assert report.page.kpis["technographic"] == f"{technographic:,}" and technographic > 0
    assert report.page.kpis["third-party-intent"] == f"{intent:,}" and intent > 0
    shown = report.page.table("committee-accounts", "data-account")
    top = query(report.database, "select account_id, committee_roles, third_party_intent_score from account_scores "
                                 "order by committee_roles desc, third_party_intent_score desc, account_id limit 10")
    assert list(shown) == [account for account, _roles, _intent in top]
    for account, roles, intent in top:
        assert number(shown[account]["roles"]) == roles and number(shown[account]["intent"]) == pytest.approx(intent)


def test_suggestions_show_profile_and_rule(report: Report):
    rows = report.page.table("suggestions", "data-segment")
    suggested = query(report.database, "select segment_id, suggested_rule from segments where status = 'suggested'")
    assert suggested, "the demo build suggests segments"
    assert set(rows) == {segment_id for segment_id, _rule in suggested}
    for segment_id, rule in suggested:
        assert rows[segment_id]["rule"][0] == rule


# ---------------------------------------------------------------- hostile data, partial builds


def plant_hostile_strings(database: Path) -> None:
    """Put the generator's hostile strings (and two of our own) into every text column the report shows."""
    hostile = spec.HOSTILE_STRINGS + ['"><svg onload=alert(2)>', "</code></td></tr></table><img src=x onerror=alert(3)>"]
    with duckdb.connect(str(database)) as connection:
        segments = [row[0] for row in connection.execute("select segment_id from segments order by segment_id").fetchall()]
        for i, segment_id in enumerate(segments):
            text = hostile[i % len(hostile)]
            connection.execute(
                "update segments set name = ?, profile = ?, suggested_rule = ? where segment_id = ?",
                [text, hostile[(i + 1) % len(hostile)] + " score = " + hostile[(i + 2) % len(hostile)],
                 hostile[(i + 3) % len(hostile)], segment_id],
            )
        connection.execute("update dq_results set details = ?, observed_value = ?, threshold = ?", hostile[1:4])
        connection.execute(
            "update dq_results set expectation = ? where expectation = 'events_staleness_hours'", [hostile[8]]
        )
        connection.execute("update identity_rejected_edges set detail = ?, to_value = ? where to_person_id is null",
                           [hostile[1], hostile[9]])
        connection.execute("update quarantined_rows set reason = ? where reason = 'malformed_json'", [hostile[4]])
        connection.execute("update person_identifiers set identifier_type = ? where identifier_type = 'device_id'",
                           [hostile[1]])


def test_hostile_strings_are_escaped(demo_build, tmp_path: Path):
    database = copy_of(demo_build.workspace.database, tmp_path)
    plant_hostile_strings(database)
    html = render_report(database, tmp_path / "hostile.html").read_text(encoding="utf-8")
    page = parse(html)
    assert page.tags <= ALLOWED_TAGS, page.tags - ALLOWED_TAGS
    for raw in ("<script>alert(1)</script>", "<svg onload", "<img src=x", "</table><img"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Robert&#x27;); DELETE FROM segment_members; --" in html
    assert "\u0000" not in html, "NUL bytes are replaced"
    assert "x" * 500 not in html and "x" * 100 in html, "5,000-character strings are cut, not dropped"
    assert "\u05e2\u05d1\u05e8\u05d9\u05ea" in html, "right-to-left text is kept (and isolated by CSS)"
    assert all(page.ids.count(section_id) == 1 for section_id in SECTION_IDS)
    assert [attributes.get("data-segment") for table, attributes, _c in page.rows if table == "segments"], "rows survive"


def test_missing_tables_are_said_not_raised(demo_build, tmp_path: Path):
    database = copy_of(demo_build.workspace.database, tmp_path)
    dropped = ["segment_member_changes", "segment_lift", "dq_results", "identity_rejected_edges", "segment_suggestions",
               "build_audit", "build_audit_segments", "quarantined_rows"]
    with duckdb.connect(str(database)) as connection:
        for table in dropped:
            connection.execute(f"drop table if exists {table}")
    page = parse(render_report(database, tmp_path / "partial.html").read_text(encoding="utf-8"))
    said = "".join(page.text)
    for table in ("segment_member_changes", "segment_lift", "dq_results", "identity_rejected_edges"):
        assert f"Not available in this build: {table}" in said, table
    # what the tables that remain can still tell is still there
    assert page.table("segments", "data-segment") and page.table("suggestions", "data-segment")

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    html = render_report(empty, tmp_path / "empty.html").read_text(encoding="utf-8")
    for section_id in SECTION_IDS:
        section = html.split(f'<section id="{section_id}">', 1)[1].split("</section>", 1)[0]
        assert "Not available in this build" in section, section_id


# ---------------------------------------------------------------- command line


def test_cli_report_and_build_write_the_report(demo_build, tmp_path: Path, monkeypatch, capsys):
    database = copy_of(demo_build.workspace.database, tmp_path)
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(database))
    assert cli.main(["report", "--out", str(tmp_path / "out" / "r.html")]) == 0
    assert (tmp_path / "out" / "r.html").stat().st_size > 10_000
    assert cli.main(["report"]) == 0
    assert (tmp_path / "report.html").exists(), "the default is report.html next to the warehouse"
    assert "Wrote the segment report to" in capsys.readouterr().out

    # `segments build` writes it after a successful build (dbt itself stubbed: the warehouse is already built)
    (tmp_path / "report.html").unlink()
    monkeypatch.setattr(cli, "ensure_demo_data", lambda events, seed: None)
    monkeypatch.setattr(cli, "run_dbt", lambda args: 0)
    cli.main(["build"])
    assert f"Report: {tmp_path / 'report.html'}" in capsys.readouterr().out
    assert (tmp_path / "report.html").exists()
    # ... and not after a failed one
    (tmp_path / "report.html").unlink()
    monkeypatch.setattr(cli, "run_dbt", lambda args: 1)
    assert cli.main(["build"]) == 1
    assert not (tmp_path / "report.html").exists()

    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(tmp_path / "missing.duckdb"))
    assert cli.main(["report"]) == 2
    assert "run `segments build` first" in capsys.readouterr().err


# ---------------------------------------------------------------- in a browser


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(scope="module")
def chromium() -> Path:
    path = chromium_path()
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: bin/test installs Debian's chromium package (as root)")
        pytest.skip(f"{path} is missing (apt-get install chromium); CI installs it")
    return path


def test_report_renders_in_headless_chromium(report: Report, chromium: Path, tmp_path_factory):
    screenshot = tmp_path_factory.mktemp("screenshot") / "report.png"
    check = open_page(report.path, screenshot, SECTION_IDS)
    assert check.problems == [], check.problems
    assert all(box and box[0] > 600 and box[1] > 100 for box in check.sections.values()), check.sections
    width, height = png_size(screenshot)
    assert width == 1280 and 2_000 < height < 40_000, (width, height)
    assert 50_000 < screenshot.stat().st_size < 30_000_000, screenshot.stat().st_size
    print(f"screenshot of the demo report: {screenshot}")


def test_hostile_report_runs_nothing_in_chromium(demo_build, chromium: Path, tmp_path: Path):
    database = copy_of(demo_build.workspace.database, tmp_path)
    plant_hostile_strings(database)
    check = open_page(render_report(database, tmp_path / "hostile.html"), None, SECTION_IDS)
    assert check.problems == [], check.problems
