"""Publish the marts to a serving database that BI tools can read while dbt builds.

DuckDB allows one writing process per database file, and while `dbt build`
holds the warehouse nobody else can open it, not even read-only. So BI tools
do not read the warehouse: they read a second file, the serving database
(default `serving.duckdb` next to the warehouse, env var
`SEGMENTS_SERVING_PATH`), which only this module writes, and only like this:

1. check that the warehouse's last build passed the data-quality gate and
   finished (its `build_audit` row), else publish nothing;
2. copy the published tables into a new, hidden file in the serving file's
   folder (same file system), with a manifest table `_published`;
3. flush it to disk and `os.replace` it over the serving file.

A reader that opens the serving path gets either the old or the new file,
both complete: the rename is atomic, and a reader that has the old file open
keeps reading it (Linux keeps the unlinked inode until the last reader
closes it). A failed publish removes its temporary file and leaves the
serving file as it was.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from customer_segments import bi_views

#: The contract page's Outputs table (docs/contract.md): what BI tools and downstream jobs query. The one list:
#: tests/python/test_docs_coverage.py checks it against that page and that each table says it is the contract.
CONTRACT_TABLES = (
    "person_identifiers",
    "people",
    "accounts",
    "person_scores",
    "account_scores",
    "segments",
    "segment_members",
    "segment_member_changes",
    "segment_lift",
    "dq_results",
    "quarantined_rows",
    "suppressions",
    "sync_log",
)

#: The primary key of each contract table (docs/serving.md, Contract tables): declared in the serving file by
#: publish, and by the models' contracts in the warehouse (DuckDB), which test_docs_coverage.py holds to this.
CONTRACT_KEYS = {
    "person_identifiers": ("identifier_type", "identifier_value"),
    "people": ("person_id",),
    "accounts": ("account_id",),
    "person_scores": ("person_id",),
    "account_scores": ("account_id",),
    "segments": ("segment_id",),
    "segment_members": ("segment_id", "entity_id"),
    "segment_member_changes": ("segment_id", "entity_id", "build_id"),
    "segment_lift": ("segment_id",),
    "dq_results": ("build_id", "expectation"),
    "quarantined_rows": ("source", "source_file", "line_number"),
    "suppressions": ("person_id", "channel", "purpose"),
    "sync_log": ("destination", "batch"),
}

#: Marts beyond the contract that docs/serving.md offers to BI: the identity graph's
#: evidence and the build audit trail (which code and inputs made these tables).
EVIDENCE_TABLES = (
    "person_account_links",
    "identity_rejected_edges",
    "identity_person_merges",
    "build_audit",
    "build_audit_segments",
)

#: Published when the warehouse has them: dbt Python models that only run on DuckDB.
OPTIONAL_TABLES = ("segment_suggestions",)

#: Marts that are deliberately not published, and why (tests check every mart is
#: either published or listed here, so a new mart is a decision, not an accident).
NOT_PUBLISHED = {
    "erasure_log": "privacy control that staging reads; not for analysis",
    "person_predictions": "an input of person_scores, which publishes its columns",
    "person_purchase_history": "an input of person_predictions",
    "segment_members_current": "an input of segment_members and segment_member_changes, which publish it",
    "segment_overlaps": "a catalog-review aid (overlap warning, the report's table), not yet a BI table",
}
#: Catalog rules (views over intermediate tables, which the serving file has not);
#: their members are in segment_members.
NOT_PUBLISHED_PREFIXES = ("seg_",)

MANIFEST_TABLE = "_published"
#: The comments of the manifest's columns (docs/serving.md, What the serving file holds).
MANIFEST_COLUMNS = {
    "build_id": "The build the serving file holds (build_audit.build_id); the same on every row. A reader that "
                "keeps a connection open reconnects when it changes (docs/serving.md).",
    "built_at": "When that build started (UTC).",
    "as_of": "The build's reference time: the data is as of this moment.",
    "code_version": "The code version of the project that built it (build_audit.code_version).",
    "dq_gate_outcome": "The data-quality gate's outcome in that build (build_audit.dq_gate_outcome).",
    "published_at": "When the serving file was written (UTC).",
    "table_name": "A published table of schema main.",
    "row_count": "How many rows that table has.",
    "region": "The region constraint of this file (`segments publish --region`): only that region's people and "
              "accounts are in it; null for the deployment's full serving file (docs/activation.md#data-residency).",
}
#: Columns holding a person id: with a region constraint, a row is published only when every person it names
#: is of that region (and it names at least one, or it is about an account of the region, or about no one).
PERSON_COLUMNS = ("person_id", "from_person_id", "to_person_id", "old_person_id", "new_person_id")
#: Tables whose rows cannot be placed in a region (raw rows as text): empty in a region-constrained file.
NOT_REGIONAL = ("quarantined_rows",)
DEFAULT_SERVING_NAME = "serving.duckdb"
_TEMP_SUFFIX = ".tmp"


class PublishError(Exception):
    """Nothing was published (the serving file is unchanged); the message says why in one line."""


@dataclass
class Publication:
    """What a serving file holds: read from its `_published` table, or returned by `publish`."""

    path: Path
    build_id: str
    built_at: datetime
    as_of: datetime
    published_at: datetime
    row_counts: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None

    def line(self) -> str:
        """One line for the build summary."""
        rows = sum(self.row_counts.values())
        took = f" in {self.seconds:.1f} s" if self.seconds is not None else ""
        return (
            f"build {self.build_id} (as_of {self.as_of:%Y-%m-%d %H:%M}, published {self.published_at:%Y-%m-%d %H:%M:%S} UTC"
            f"{took}): {len(self.row_counts)} tables, {rows:,} rows"
        )


def publish(warehouse: Path, serving: Path, region: str | None = None) -> Publication:
    """Copy the published tables of `warehouse` into a new file and swap it in at `serving`.

    With `region` (data residency), the file holds only that region's people and accounts: every row naming a
    person or an account of another region, or of none, is left out (see `region_condition`).

    Raises PublishError (serving file untouched, no temporary file left) when
    the warehouse's last build did not pass the gate or did not finish, when
    the warehouse cannot be opened (a build is running), or on any I/O error.
    """
    warehouse, serving = Path(warehouse).resolve(), Path(serving).resolve()
    if warehouse == serving:
        raise ValueError(f"the serving file {serving} is the warehouse itself; set SEGMENTS_SERVING_PATH to another file")
    if not warehouse.exists():
        raise PublishError(f"no warehouse at {warehouse}: run a build first")
    started = time.monotonic()
    try:
        serving.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(serving)
    except OSError as problem:
        raise PublishError(f"cannot create or write the folder {serving.parent}: {problem.strerror or problem}") from None
    temporary = serving.with_name(f".{serving.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{_TEMP_SUFFIX}")
    try:
        publication = _write(warehouse, temporary, serving, region)
        _fsync(temporary)
        os.replace(temporary, serving)
    except BaseException as problem:
        _remove(temporary)
        if isinstance(problem, duckdb.Error):
            raise PublishError(_one_line(problem)) from None
        if isinstance(problem, OSError):
            raise PublishError(f"cannot write {serving.parent}: {problem.strerror or problem}") from None
        raise
    try:
        _fsync(serving.parent)  # make the rename itself durable
    except OSError:
        pass  # published all the same; some file systems cannot sync a folder
    publication.seconds = time.monotonic() - started
    return publication


def _write(warehouse: Path, temporary: Path, serving: Path, region: str | None = None) -> Publication:
    """Fill the temporary file; return what it holds (with the final path)."""
    connection = duckdb.connect(str(temporary))
    try:
        try:
            connection.execute(f"attach {_sql_string(str(warehouse))} as warehouse (read_only)")
        except duckdb.Error as problem:
            raise PublishError(
                f"cannot open the warehouse {warehouse} read-only ({_one_line(problem)}); "
                "if a build is running, publish when it ends"
            ) from None
        build = _last_good_build(connection)
        tables = [*CONTRACT_TABLES, *EVIDENCE_TABLES]
        tables += [name for name in OPTIONAL_TABLES if has_table(connection, name, 'warehouse')]
        row_counts = {}
        connection.execute("begin")
        for name in tables:
            _copy_table(connection, name, region)
            row_counts[name] = connection.execute(f'select count(*) from main."{name}"').fetchone()[0]
        published_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        connection.execute(
            f"""
            create table main.{MANIFEST_TABLE} (
                build_id varchar not null,
                built_at timestamp not null,
                as_of timestamp not null,
                code_version varchar,
                dq_gate_outcome varchar,
                published_at timestamp not null,
                table_name varchar not null primary key,
                row_count bigint not null,
                region varchar
            )
            """
        )
        connection.executemany(
            f"insert into main.{MANIFEST_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [build["build_id"], build["built_at"], build["as_of"], build["code_version"],
                 build["dq_gate_outcome"], published_at, name, count, region]
                for name, count in row_counts.items()
            ],
        )
        connection.execute(
            f"comment on table main.{MANIFEST_TABLE} is "
            + _sql_string("Which build the serving file holds: one row per published table (docs/serving.md).")
        )
        for column, text in MANIFEST_COLUMNS.items():
            connection.execute(f"comment on column main.{MANIFEST_TABLE}.{column} is {_sql_string(text)}")
        bi_views.create(connection)
        connection.execute("commit")
        connection.execute("detach warehouse")
        connection.execute("checkpoint")
    finally:
        connection.close()
    return Publication(serving, build["build_id"], build["built_at"], build["as_of"], published_at, row_counts)


def _copy_table(connection: duckdb.DuckDBPyConnection, name: str, region: str | None = None) -> None:
    """Copy one table of the warehouse with what `create table as` would drop: its NOT NULL and key
    constraints and its comments (dbt's persist_docs: the YAML descriptions). The primary key is
    CONTRACT_KEYS's, not the warehouse's: an incremental table created before its model had a
    contract (segment_member_changes is never rebuilt) has none there."""
    columns = connection.execute(
        "select column_name, data_type, is_nullable, comment from duckdb_columns() "
        "where database_name = 'warehouse' and schema_name = 'main' and table_name = ? order by column_index",
        [name],
    ).fetchall()
    definitions = [f'"{column}" {data_type}' + ("" if nullable else " not null") for column, data_type, nullable, _ in columns]
    if name in CONTRACT_KEYS:
        definitions.append("primary key (" + ", ".join(f'"{column}"' for column in CONTRACT_KEYS[name]) + ")")
    listed = ", ".join(f'"{column}"' for column, *_ in columns)
    connection.execute(f'create table main."{name}" ({", ".join(definitions)})')
    where = "" if region is None else " where " + region_condition(name, [column for column, *_ in columns], region)
    connection.execute(f'insert into main."{name}" ({listed}) select {listed} from warehouse.main."{name}"{where}')
    comment = connection.execute(
        "select comment from duckdb_tables() where database_name = 'warehouse' and schema_name = 'main' and table_name = ?",
        [name],
    ).fetchone()[0]
    if comment:
        connection.execute(f'comment on table main."{name}" is {_sql_string(comment)}')
    for column, _, _, text in columns:
        if text:
            connection.execute(f'comment on column main."{name}"."{column}" is {_sql_string(text)}')


def region_condition(name: str, columns: list[str], region: str) -> str:
    """The SQL condition a row of warehouse table `name` must meet to be published in `region`'s file."""
    value = _sql_string(region)
    people = f"(select person_id from warehouse.main.people where region = {value})"
    accounts = f"(select account_id from warehouse.main.accounts where region = {value})"
    if name in NOT_REGIONAL:
        return "false"
    if name in ("people", "accounts", "sync_log"):
        return f"region = {value}"
    person_columns = [column for column in PERSON_COLUMNS if column in columns]
    if "entity_id" in columns and "entity_type" in columns:
        return (f"((entity_type = 'person' and entity_id in {people}) "
                f"or (entity_type = 'account' and entity_id in {accounts}))")
    if person_columns:
        each = " and ".join(f"({column} is null or {column} in {people})" for column in person_columns)
        some = " or ".join(f"{column} is not null" for column in person_columns)
        return f"({each}) and ({some})"
    if "account_id" in columns:
        return f"account_id in {accounts}"
    return "true"


def _last_good_build(connection: duckdb.DuckDBPyConnection) -> dict:
    """The build the warehouse's marts are from, after checking it may be published.

    The warehouse's own record decides, not dbt's exit code (which only
    `segments build` sees): the newest build in dq_results must not have
    failed a check of severity fail, and it must be in build_audit, which is
    written only once a build got past the segments. The marts are from the
    newest build in build_audit (a later `dbt run` of some models without the
    checks, as the audit tests do, has its own row).
    """
    missing = [name for name in (*CONTRACT_TABLES, *EVIDENCE_TABLES) if not has_table(connection, name, 'warehouse')]
    if missing:
        raise PublishError(f"the warehouse has no {', '.join(missing)}: no build has finished yet")
    audit = connection.execute(
        "select build_id, built_at, as_of, code_version, dq_gate_outcome "
        "from warehouse.main.build_audit order by built_at desc, build_id desc limit 1"
    ).fetchone()
    if audit is None:
        raise PublishError("build_audit has no build: no build has finished yet")
    build = dict(zip(("build_id", "built_at", "as_of", "code_version", "dq_gate_outcome"), audit))
    checked = connection.execute(
        "with last_checked as (select build_id from warehouse.main.dq_results order by checked_at desc limit 1) "
        "select build_id, count(*) filter (where not success and severity = 'fail') "
        "from warehouse.main.dq_results where build_id in (select build_id from last_checked) group by 1"
    ).fetchone()
    if checked is not None:
        last_checked, failed = checked
        if failed:
            raise PublishError(
                f"the data-quality gate failed in the last build ({last_checked}: {failed} failed checks, see dq_results)"
            )
        finished = connection.execute(
            "select count(*) from warehouse.main.build_audit where build_id = ?", [last_checked]
        ).fetchone()[0]
        if not finished:
            raise PublishError(
                f"the last build ({last_checked}) passed the data-quality gate but did not finish (no build_audit row)"
            )
    return build


def current(serving: Path) -> Publication | None:
    """What the serving file holds now, or None when there is none (or it cannot be read)."""
    serving = Path(serving)
    try:
        if not serving.exists():
            return None
        with duckdb.connect(str(serving), read_only=True) as connection:
            rows = connection.execute(
                f"select build_id, built_at, as_of, published_at, table_name, row_count from main.{MANIFEST_TABLE} order by table_name"
            ).fetchall()
    except (duckdb.Error, OSError):
        return None
    if not rows:
        return None
    build_id, built_at, as_of, published_at = rows[0][:4]
    return Publication(serving, build_id, built_at, as_of, published_at, {row[4]: row[5] for row in rows})


def temp_files(serving: Path) -> list[Path]:
    """Temporary files of publishes to `serving` (in progress, or left by a killed one)."""
    serving = Path(serving)
    if not serving.parent.is_dir():
        return []
    prefix = f".{serving.name}."
    return sorted(
        path for path in serving.parent.iterdir()
        if path.name.startswith(prefix) and (path.name.endswith(_TEMP_SUFFIX) or path.name.endswith(_TEMP_SUFFIX + ".wal"))
    )


def remove_stale_temp_files(serving: Path) -> list[Path]:
    """Remove the temporary files of publishes whose process is gone (killed mid-publish)."""
    removed = []
    for path in temp_files(serving):
        pid_text = path.name[len(f".{Path(serving).name}."):].split("-", 1)[0]
        if pid_text.isdigit() and _process_alive(int(pid_text)):
            continue
        _remove(path)
        removed.append(path)
    return removed


def has_table(connection: duckdb.DuckDBPyConnection, name: str, database: str | None = None,
              schema: str | None = "main") -> bool:
    """Whether table `<schema>.<name>` exists in the connection's current database, or in the attached `database`;
    `schema=None`: in any schema (the CLI, the publisher, compaction and the build summary ask this of a warehouse)."""
    conditions = ["database_name = " + ("?" if database else "current_database()"), "table_name = ?"]
    parameters = ([database] if database else []) + [name]
    if schema is not None:
        conditions.append("schema_name = ?")
        parameters.append(schema)
    return bool(
        connection.execute(f"select count(*) from duckdb_tables() where {' and '.join(conditions)}", parameters).fetchone()[0]
    )


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk, so the swap never publishes a file still in the page cache only."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            candidate.unlink()
        except FileNotFoundError:
            pass


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _one_line(problem: BaseException) -> str:
    lines = str(problem).strip().splitlines()
    return lines[0] if lines else type(problem).__name__
