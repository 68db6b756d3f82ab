"""`segments build` leaves dbt's unit tests to CI unless asked, and the full suite of data tests to a first
build, --full-refresh and --all-tests (docs/scheduling.md, "Which tests a build runs")."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from customer_segments import cli
from tests.python.conftest import Workspace

LATER_BUILD = ["--exclude", cli.FULL_SUITE_TESTS]


def arguments(*command: str, first_build: bool = False) -> list[str]:
    return cli.build_arguments(cli.parse_arguments(["build", *command]), first_build=first_build)


def test_a_scheduled_build_skips_the_unit_tests_and_the_full_suite():
    assert arguments() == ["build", "--exclude-resource-type", "unit_test", *LATER_BUILD]


def test_a_first_build_runs_the_full_suite():
    assert arguments(first_build=True) == ["build", "--exclude-resource-type", "unit_test"]


@pytest.mark.parametrize("command", [["--all-tests"], ["--", "--full-refresh"], ["--", "-f"]])
def test_the_full_suite_on_request(command):
    assert LATER_BUILD[1] not in arguments(*command)


def test_unit_tests_on_request():
    assert arguments("--unit-tests", first_build=True) == ["build"]
    assert arguments("--unit-tests") == ["build", *LATER_BUILD]


def test_the_users_arguments_come_through():
    assert arguments("--", "--select", "people+") == ["build", "--select", "people+", "--exclude-resource-type",
                                                      "unit_test", *LATER_BUILD]


@pytest.mark.parametrize("choice", [["--resource-type", "model"], ["--exclude-resource-type=seed"]])
def test_resource_types_the_user_chose_are_left_alone(choice):
    assert arguments("--", *choice, first_build=True) == ["build", *choice]


def test_watch_takes_the_same_choice():
    options = cli.parse_arguments(["watch", "--once", "--all-tests"])
    assert cli.build_arguments(options) == ["build", "--exclude-resource-type", "unit_test"]


def test_a_first_build_is_one_on_a_warehouse_without_staged_events(tmp_path: Path, monkeypatch):
    warehouse = tmp_path / "segments.duckdb"
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(warehouse))
    monkeypatch.delenv("SEGMENTS_TARGET", raising=False)
    assert cli.first_build([])  # no file yet
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create table erasure_log (person_id varchar)")  # what a failed first build may leave
    assert cli.first_build([])
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema main_staging")
        connection.execute("create table main_staging.stg_segment__events (message_id varchar)")
    assert not cli.first_build([])
    assert not cli.first_build(["--target", "spark"]), "on Spark the warehouse is not looked up"


def test_the_full_suite_is_the_internal_and_catalog_tests_over_all_history(tmp_path: Path):
    """What dbt leaves out of a later build: generic tests of the intermediate layer and of the catalog views,
    never a test that reads only the rows a build changed, a test of a mart BI reads, of staging, of a seed, or
    a singular test (the promises: privacy, identity, the catalog)."""
    space = Workspace(tmp_path)
    listed = space.dbt("ls", "--resource-type", "test", "--output", "json", "--output-keys",
                       "unique_id original_file_path config", "--quiet")
    assert listed.returncode == 0, listed.output[-3000:]
    tests = [json.loads(line) for line in listed.output.splitlines() if line.startswith("{")]
    later = space.dbt("ls", "--resource-type", "test", *LATER_BUILD, "--output", "name", "--quiet")
    assert later.returncode == 0, later.output[-3000:]
    kept = {line.strip() for line in later.output.splitlines() if line.strip()}

    def name(test: dict) -> str:
        return test["unique_id"].split(".")[2]

    left_out = [test for test in tests if name(test) not in kept]
    assert len(tests) > 300 and 100 < len(left_out) < len(tests) / 2
    for test in left_out:
        path = test["original_file_path"]
        assert path.startswith(("models/intermediate/", "python_models/intermediate/", "models/marts/segments/catalog/")), path
        assert path.endswith(".yml"), f"a singular test is left out: {path}"
    changed_slice = {"unique_int_events_deduplicated_message_id", "unique_int_events_attributed_message_id"}
    assert changed_slice <= kept, "the tests of the changed slice run in every build"
    for test in tests:
        if test["original_file_path"].startswith(("models/marts/", "models/staging/", "seeds/", "tests/")) \
                and not test["original_file_path"].startswith("models/marts/segments/catalog/"):
            assert name(test) in kept, test["unique_id"]


@pytest.mark.parametrize("dbt_args", [["--target", "spark"], ["--vars={\"as_of\": \"2026-10-31\"}", "--target=spark"],
                                      ["-t", "spark", "--vars", "{}"]])
def test_source_freshness_reads_the_same_target_as_the_build(dbt_args, monkeypatch):
    """On the Spark target `dbt source freshness` is not run (DuckDB only), whichever way the target is given."""
    monkeypatch.delenv("SEGMENTS_TARGET", raising=False)
    monkeypatch.setattr(cli.subprocess, "run", lambda *args, **kwargs: pytest.fail("dbt source freshness was run"))
    fresh, line = cli._source_freshness(cli.parse_arguments(["build", "--", *dbt_args]))
    assert fresh and line == "Sources: freshness is checked on DuckDB only (docs/spark.md)."
