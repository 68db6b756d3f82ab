"""What the report reads from the warehouse: the builds, the segments and their sizes.

Sizes over builds are replayed from `segment_member_changes`, the append-only
log of entries and exits: the size of a segment after build n is its entries
minus its exits in builds 1..n. Builds come from every log that knows them
(`build_audit`, `dq_results`, the change log), because a build the
data-quality gate stopped is in `dq_results` only and a build that changed no
segment writes nothing to the change log.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import duckdb

from customer_segments.report.charts import PALETTE


class ReportError(Exception):
    """The report cannot be written (no warehouse, a locked file, an unwritable path)."""


@dataclass
class Build:
    number: int
    build_id: str
    at: dt.datetime | None
    as_of: dt.datetime | None = None
    gate: str | None = None

    @property
    def label(self) -> str:
        return f"#{self.number}"


@dataclass
class Warehouse:
    """A read-only connection that knows which tables this build produced."""

    connection: duckdb.DuckDBPyConnection
    tables: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tables = {
            name
            for (name,) in self.connection.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        }

    def has(self, *names: str) -> bool:
        return all(name in self.tables for name in names)

    def missing(self, *names: str) -> list[str]:
        return [name for name in names if name not in self.tables]

    def rows(self, sql: str, parameters: list | None = None) -> list[tuple]:
        return self.connection.execute(sql, parameters or []).fetchall()

    def columns(self, table: str) -> set[str]:
        return {
            name
            for (name,) in self.rows(
                "select column_name from information_schema.columns where table_schema = 'main' and table_name = ?",
                [table],
            )
        }


def load_builds(db: Warehouse) -> list[Build]:
    """Every build any log knows of, oldest first: build_audit, dq_results (also builds the gate
    stopped) and segment_member_changes (builds that changed a segment)."""
    parts = []
    if db.has("build_audit"):
        parts.append("select build_id, built_at as started_at from build_audit")
    if db.has("dq_results"):
        parts.append("select build_id, min(checked_at) from dq_results group by 1")
    if db.has("segment_member_changes"):
        parts.append("select build_id, min(recorded_at) from segment_member_changes group by 1")
    if not parts:
        return []
    found = db.rows(
        f"select build_id, min(started_at) as started_at from ({' union all '.join(parts)}) where build_id is not null "
        "group by 1 order by 2 nulls first, 1"
    )
    audit: dict[str, tuple] = {}
    if db.has("build_audit"):
        audit = {row[0]: row[1:] for row in db.rows("select build_id, as_of, dq_gate_outcome from build_audit")}
    builds = []
    for number, (build_id, at) in enumerate(found, start=1):
        as_of, gate = audit.get(build_id, (None, None))
        builds.append(Build(number, build_id, at, as_of, gate))
    return builds


@dataclass
class SegmentInfo:
    segment_id: str
    name: str
    entity_type: str
    status: str
    priority: int | None
    goal: str | None
    profile: str | None

    @property
    def noun(self) -> str:
        return "accounts" if self.entity_type == "account" else "people"

    @property
    def noun_one(self) -> str:
        return "account" if self.entity_type == "account" else "person"

    @property
    def score_meaning(self) -> str | None:
        """What `score` ranks, from the definition's description ("... score = total spend.")."""
        found = re.search(r"score = ([^;]+?)\.?$", self.profile or "")
        return found.group(1) if found else None


def load_segments(db: Warehouse) -> list[SegmentInfo]:
    if not db.has("segments"):
        return []
    columns = db.columns("segments")
    optional = {c: (c if c in columns else f"null as {c}") for c in ("priority", "goal", "profile")}
    return [
        SegmentInfo(*row)
        for row in db.rows(
            f"select segment_id, coalesce(name, segment_id), entity_type, status, {optional['priority']}, "
            f"{optional['goal']}, {optional['profile']} from segments order by priority nulls last, segment_id"
        )
    ]


def member_counts(db: Warehouse) -> dict[str, tuple[int, int]]:
    """(members, holdout) per segment, from segment_members (what activation tools read)."""
    if not db.has("segment_members"):
        return {}
    return {
        segment_id: (members, holdout)
        for segment_id, members, holdout in db.rows(
            "select segment_id, count(*), count(*) filter (where is_holdout) from segment_members group by 1"
        )
    }


def replay_sizes(db: Warehouse, builds: list[Build]) -> dict[str, list[tuple[int, int, int]]]:
    """Per segment, per build (oldest first): (size after the build, entries, exits), replayed
    from the change log. A build that changed nothing keeps the previous size."""
    if not db.has("segment_member_changes"):
        return {}
    moves: dict[str, dict[str, tuple[int, int]]] = {}
    for segment_id, build_id, entered, exited in db.rows(
        "select segment_id, build_id, count(*) filter (where change = 'entered'), "
        "count(*) filter (where change = 'exited') from segment_member_changes group by 1, 2"
    ):
        moves.setdefault(segment_id, {})[build_id] = (entered, exited)
    sizes: dict[str, list[tuple[int, int, int]]] = {}
    for segment_id, by_build in moves.items():
        size, series = 0, []
        for build in builds:
            entered, exited = by_build.get(build.build_id, (0, 0))
            size += entered - exited
            series.append((size, entered, exited))
        sizes[segment_id] = series
    return sizes


def segment_colours(segments: list[SegmentInfo], extra: list[str]) -> dict[str, str]:
    ids = [s.segment_id for s in segments if s.status != "suggested"] + sorted(set(extra) - {s.segment_id for s in segments})
    return {segment_id: PALETTE[i % len(PALETTE)] for i, segment_id in enumerate(ids)}


@dataclass
class Context:
    db: Warehouse
    builds: list[Build]
    segments: list[SegmentInfo]
    members: dict[str, tuple[int, int]]
    sizes: dict[str, list[tuple[int, int, int]]]
    colours: dict[str, str]

    @property
    def active(self) -> list[SegmentInfo]:
        return [s for s in self.segments if s.status == "active"]

    def name_of(self, segment_id: str) -> str:
        return next((s.name for s in self.segments if s.segment_id == segment_id), segment_id)
