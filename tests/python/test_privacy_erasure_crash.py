"""Erasure survives a crash, leaves no bytes behind, and keeps its salt secret.

One real `dbt build` is killed (SIGKILL of its process group) at the dangerous point: right after
`erasure_log` was built, when the erasure targets are known but the purge at the end of the build has
not run. Then `segments build` runs again on the same data, with a salt full of SQL syntax
(`SEGMENTS_ERASURE_SALT`), and must finish the erasure: no erased identifier in any table or view of the
warehouse or the serving file, `segments export-person` finds nobody, and a byte scan of the files
(warehouse, its .wal, serving) finds no erased value, plain, lower/upper-case or URL-encoded (the
compaction after the purge). The salt must appear in no file dbt writes (target/, logs/) nor in the
warehouse, and the log's hashes must be salted with it.
Ground truth: the generator's erasure requests (tests/python/test_privacy_erasure.py explains the scan).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from customer_segments.dbt_runner import dbt_command
from tests.python.conftest import NO_GENERIC_TESTS, REPO_ROOT, Workspace
from tests.python.test_privacy_erasure import erased_identifiers, traces

SALT = "it's \"odd\" \\ ; -- %s {{ x }}"
#: the line dbt prints when the model it must not survive past is built
KILL_AFTER = "OK created sql incremental model main.erasure_log"


def salted_env(space: Workspace) -> dict[str, str]:
    return {**space.env(), "SEGMENTS_ERASURE_SALT": SALT}


def build_killed_after(space: Workspace, marker: str, timeout: float = 900) -> list[str]:
    """Run `dbt build`, SIGKILL its process group as soon as a stdout line contains `marker`; its output."""
    # without the generic data tests (this module is about the purge surviving a crash; the shared demo build runs them)
    command = dbt_command("build", *NO_GENERIC_TESTS, "--target-path", str(space.root / "target"),
                          "--log-path", str(space.root / "logs"))
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=salted_env(space), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    lines = []
    started = time.monotonic()
    killed = False
    for line in process.stdout:
        lines.append(line)
        if marker in line:
            os.killpg(process.pid, signal.SIGKILL)
            killed = True
            break
        if time.monotonic() - started > timeout:
            break
    if not killed:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert killed, "".join(lines[-50:])
    return lines


def segments(space: Workspace, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "customer_segments.cli", *args],
        cwd=REPO_ROOT, env=salted_env(space), capture_output=True, text=True,
    )


def variants(value: str) -> set[bytes]:
    """How a value may sit in a file: as is, lower/upper-case, URL-encoded."""
    forms = {value, value.lower(), value.upper(), quote(value, safe=""), quote(value, safe="").lower()}
    return {form.encode() for form in forms}


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("erasure_crash"), generic_tests=False)
    generate(space.raw, space.truth, events=20_000, seed=7, progress=False)
    result = {"space": space, "identifiers": erased_identifiers(space.truth)}
    result["killed_output"] = build_killed_after(space, KILL_AFTER)
    result["serving"] = space.database.with_name("serving.duckdb")
    # --no-partial-parse: int_dq_checks takes its build id from project config, which a partial parse
    # would carry over from the killed build, and publish would wait for that build to finish
    result["rebuild"] = segments(
        space, "build", "--", "--target-path", str(space.root / "target"), "--log-path", str(space.root / "logs"),
        "--no-partial-parse", *NO_GENERIC_TESTS,
    )
    return result


def test_the_build_was_killed_before_its_purge(crashed):
    output = "".join(crashed["killed_output"])
    assert KILL_AFTER in output
    assert "Erasure:" not in output


def test_the_rebuild_finishes_the_erasure(crashed):
    rebuild = crashed["rebuild"]
    assert rebuild.returncode == 0, (rebuild.stdout + rebuild.stderr)[-5000:]
    assert "Erasure: purging" in rebuild.stdout
    assert traces(crashed["space"], crashed["identifiers"]) == []


def test_the_serving_copy_holds_no_trace(crashed):
    serving = Workspace(crashed["space"].root)
    serving.database = crashed["serving"]
    assert serving.database.exists()
    assert traces(serving, crashed["identifiers"]) == []


def test_an_erased_person_cannot_be_exported_after_the_crash(crashed):
    space = crashed["space"]
    for identifier_type in ("user_id", "email"):
        value = next(value for kind, value in crashed["identifiers"] if kind == identifier_type)
        done = segments(space, "export-person", value)
        assert done.returncode == 1, done.stdout + done.stderr


def test_no_erased_value_is_left_in_the_files(crashed):
    space = crashed["space"]
    files = [space.database, space.database.with_name(space.database.name + ".wal"), crashed["serving"]]
    # short values (a 4-digit CRM id) would match unrelated bytes by chance
    values = [value for _type, value in crashed["identifiers"] if len(value) >= 8]
    assert len(values) >= 10
    found = []
    for path in files:
        if not path.exists():
            continue
        content = path.read_bytes()
        found += [(path.name, value) for value in values if any(form in content for form in variants(value))]
    assert found == []
    assert "compacted" in crashed["rebuild"].stdout


def test_the_salt_is_written_nowhere(crashed):
    space = crashed["space"]
    needle = SALT.encode()
    leaks = [
        str(path.relative_to(space.root))
        for folder in (space.root / "target", space.root / "logs", space.database.parent)
        for path in folder.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    ]
    assert leaks == []


def test_the_log_is_salted_with_the_secret(crashed):
    space = crashed["space"]
    hashes = {row[0] for row in space.query("select identifier_hash from erasure_log")}
    expected = {
        hashlib.sha256(f"{SALT}|{kind}|{value.lower() if kind == 'email' else value}".encode()).hexdigest()
        for kind, value in crashed["identifiers"]
    }
    assert expected <= hashes
