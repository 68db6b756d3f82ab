"""The serving file as a BI tool sees it: comments, types, keys, the BI views and the dashboard queries.

The BI smoke test reads the published demo build the way Superset and other
SQLAlchemy-based tools do, through duckdb-engine: it reflects the tables and
the views of schema `bi`, their columns, types and comments, and runs the six
dashboard queries a first dashboard needs (segment sizes by status, the
holdout split, daily entries and exits, lift, top accounts, the data-quality
pass rate) plus the numeric and JSON filters BI users write. The other tests
hold the serving file to the dbt YAML (every contract column carries its
description), to publish.CONTRACT_KEYS (declared primary keys) and to
docs/serving.md (the types table and the BI views table).

The shared demo build is published once for the module (about a second). The
checkers are small functions fed a planted violation too, so none of them can
pass by checking nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
import sqlalchemy
from sqlalchemy import text

from conftest import REPO_ROOT, DemoBuild, serving_page_columns

from customer_segments import bi_views, publish

#: Types BI tools read poorly through SQLAlchemy (no type in a Superset dataset): not in the BI views.
POORLY_TYPED = re.compile(r"^(DECIMAL|NUMERIC|HUGEINT|NULL)", re.I)


@pytest.fixture(scope="module")
def serving(passed_demo_build: DemoBuild, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bi") / "serving.duckdb"
    publish.publish(passed_demo_build.workspace.database, path)
    return path


@pytest.fixture(scope="module")
def descriptions(passed_demo_build: DemoBuild) -> dict[str, dict]:
    """The dbt YAML descriptions of the demo build's models: {model: {"": its description, column: description}}."""
    manifest = json.loads((passed_demo_build.workspace.root / "target" / "manifest.json").read_text())
    return {
        node["name"]: {"": node["description"], **{c: spec["description"] for c, spec in node["columns"].items()}}
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


@pytest.fixture(scope="module")
def engine(serving: Path):
    engine = sqlalchemy.create_engine(f"duckdb:///{serving}", connect_args={"read_only": True})
    yield engine
    engine.dispose()


def comments(connection, schema: str) -> dict[str, dict]:
    """{table or view: {"": its comment, column: comment}} of one schema of the current database."""
    found: dict[str, dict] = {}
    for name, comment in connection.execute(
        "select table_name, comment from duckdb_tables() where database_name = current_database() and schema_name = ? "
        "union all select view_name, comment from duckdb_views() where database_name = current_database() "
        "and schema_name = ?", [schema, schema]).fetchall():
        found[name] = {"": comment}
    for name, column, comment in connection.execute(
        "select table_name, column_name, comment from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? order by table_name, column_index", [schema]).fetchall():
        found[name][column] = comment
    return found


def description_defects(served: dict[str, dict], yaml: dict[str, dict], tables: tuple[str, ...]) -> list[str]:
    """Published tables and columns whose comment is not their YAML description (or that the YAML lacks)."""
    defects = []
    for table in tables:
        for column, comment in served.get(table, {"": None}).items():
            where = f"{table}.{column}" if column else table
            wanted = yaml.get(table, {}).get(column)
            if not (wanted or "").strip():
                defects.append(f"{where}: no description in the YAML")
            elif comment != wanted:
                defects.append(f"{where}: the comment is not the YAML description")
    return defects


def test_every_contract_column_carries_its_yaml_description(serving: Path, descriptions: dict):
    with duckdb.connect(str(serving), read_only=True) as connection:
        served = comments(connection, "main")
    assert set(publish.CONTRACT_TABLES) <= served.keys()
    assert description_defects(served, descriptions, publish.CONTRACT_TABLES) == []
    # the evidence and audit tables are described too, and the manifest
    assert description_defects(served, descriptions, publish.EVIDENCE_TABLES) == []
    assert all(served[publish.MANIFEST_TABLE].values()), served[publish.MANIFEST_TABLE]


def test_a_missing_or_stale_description_is_a_defect():
    yaml = {"people": {"": "People.", "person_id": "The person.", "email": ""}}
    served = {"people": {"": "People.", "person_id": "The person.", "email": None}}
    assert description_defects(served, yaml, ("people",)) == ["people.email: no description in the YAML"]
    served["people"]["person_id"] = None
    yaml["people"]["email"] = "Their email."
    assert description_defects(served, yaml, ("people",)) == [
        "people.person_id: the comment is not the YAML description", "people.email: the comment is not the YAML description"]


def test_every_bi_view_and_column_is_described(serving: Path):
    with duckdb.connect(str(serving), read_only=True) as connection:
        served = comments(connection, bi_views.SCHEMA)
    assert sorted(served) == sorted(view.name for view in bi_views.VIEWS)
    undescribed = [f"{view}.{column}".rstrip(".") for view, columns in served.items()
                   for column, comment in columns.items() if not (comment or "").strip()]
    assert undescribed == []


def test_contract_tables_declare_their_primary_keys(serving: Path):
    with duckdb.connect(str(serving), read_only=True) as connection:
        keys = connection.execute(
            "select table_name, constraint_column_names from duckdb_constraints() "
            "where database_name = current_database() and constraint_type = 'PRIMARY KEY'").fetchall()
    assert {table: tuple(columns) for table, columns in keys} == {
        **publish.CONTRACT_KEYS, publish.MANIFEST_TABLE: ("table_name",)}


def test_the_types_table_of_the_serving_page_is_the_serving_file(serving: Path):
    """docs/serving.md, "Columns and types", lists each published table's columns with their DuckDB types."""
    with duckdb.connect(str(serving), read_only=True) as connection:
        built = {}
        for table, column, kind in connection.execute(
            "select table_name, column_name, lower(data_type) from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'main' order by table_name, column_index").fetchall():
            built.setdefault(table, []).append(f'"{column}" {kind.replace(" ", "")}')
    documented = serving_page_columns()
    assert {table: ", ".join(columns) for table, columns in built.items()} == documented


def test_the_bi_views_table_of_the_serving_page_lists_every_view():
    page = (REPO_ROOT / "docs" / "serving.md").read_text(encoding="utf-8")
    section = page.split("## The BI layer", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `bi\.(\w+)` \|", section, flags=re.M)
    assert listed == [view.name for view in bi_views.VIEWS]


# --------------------------------------------------------------------------- through SQLAlchemy and duckdb-engine

#: The dashboard queries, as a BI user writes them against the serving file.
DASHBOARD_QUERIES = {
    "segment sizes by status": "select status, count(*) as segments, sum(member_count) as members "
                               "from segments group by status order by status",
    "holdout split": "select segment_name, test_group, count(*) as members from bi.active_segment_members "
                     "group by all order by all",
    "daily entries and exits": "select day, sum(entries) as entries, sum(exits) as exits "
                               "from bi.segment_daily_changes group by day order by day",
    "lift": "select segment_name, lift_status, treated_size, holdout_size, lift, lift_ci_low, lift_ci_high "
            "from bi.segment_lift_latest where segment_status = 'active' order by segment_name",
    "top accounts": "select account_name, annual_revenue, fit_score, intent_score from bi.account_profiles "
                    "order by intent_score desc nulls last limit 10",
    "data-quality pass rate": "select avg(case when success then 1.0 else 0.0 end) as pass_rate "
                              "from bi.data_quality_checks where is_latest_build",
}


def test_sqlalchemy_reflects_tables_views_types_and_comments(engine, descriptions: dict):
    inspector = sqlalchemy.inspect(engine)
    assert set(publish.CONTRACT_TABLES) <= set(inspector.get_table_names())
    assert sorted(inspector.get_view_names(schema=bi_views.SCHEMA)) == sorted(v.name for v in bi_views.VIEWS)
    for table in publish.CONTRACT_TABLES:
        columns = inspector.get_columns(table)
        names = [column["name"] for column in columns]
        assert len(names) == len(set(names)), f"{table}: reflected twice (a view of the same name?): {names}"
        assert {c["name"]: c["comment"] for c in columns} == {c: descriptions[table][c] for c in names}, table
        assert inspector.get_table_comment(table)["text"] == descriptions[table][""]
    for view in bi_views.VIEWS:
        columns = inspector.get_columns(view.name, schema=bi_views.SCHEMA)
        assert [c["name"] for c in columns] == list(view.columns)
        assert all(c["comment"] for c in columns), view.name
        poorly = [f"{c['name']} {c['type']}" for c in columns if POORLY_TYPED.match(str(c["type"]))]
        assert poorly == [], f"bi.{view.name}: types BI tools do not read well"
        assert inspector.get_table_comment(view.name, schema=bi_views.SCHEMA)["text"] == view.description


def test_the_dashboard_queries_run_through_sqlalchemy(engine):
    with engine.connect() as connection:
        results = {name: connection.execute(text(sql)).fetchall() for name, sql in DASHBOARD_QUERIES.items()}
        assert {name for name, rows in results.items() if not rows} == set()
        assert {row.status for row in results["segment sizes by status"]} >= {"active", "suggested"}
        assert {row.test_group for row in results["holdout split"]} <= {"treated", "holdout"}
        assert 0 < results["data-quality pass rate"][0].pass_rate <= 1
        assert all(isinstance(row.annual_revenue, (float, type(None))) for row in results["top accounts"])

        # numbers are numbers: a numeric filter on observed values and thresholds binds and finds the failures
        failed = connection.execute(text(
            "select expectation from bi.data_quality_checks where threshold_operator = '<=' "
            "and observed_number > threshold_number and is_latest_build")).fetchall()
        flagged = connection.execute(text(
            "select expectation from bi.data_quality_checks where threshold_operator = '<=' "
            "and not success and is_latest_build")).fetchall()
        assert sorted(failed) == sorted(flagged)
        assert connection.execute(text("select count(*) from bi.data_quality_checks where observed_number > 0.5")).scalar() > 0
        # JSON functions on the rows that are JSON, without json_valid in the query
        assert connection.execute(text(
            "select count(json_extract(raw, '$')) from bi.quarantined_raw_rows where raw_is_json")).scalar() > 0
        assert connection.execute(text("select count(*) from bi.quarantined_raw_rows where not raw_is_json")).scalar() > 0
        # the hashed email is named so, and is the same hash main.people publishes
        assert connection.execute(text(
            "select count(*) from bi.people_hashed join people using (person_id) "
            "where email_sha256 is distinct from email")).scalar() == 0


# --------------------------------------------------------------------------- the data-quality parsing, on hand-made rows


@pytest.mark.parametrize(
    "observed, threshold, parsed",
    [
        ("0.0261352", "<= 0.1", (0.0261352, None, "<=", 0.1, None, 0.1)),
        ("0.99", ">= 0.95", (0.99, None, ">=", 0.95, 0.95, None)),
        ("-0.006", "between -0.5 and 0.5", (-0.006, None, "between", None, -0.5, 0.5)),
        ("3 unexpected of 668", "min_value=0.0", (3.0, 668, "min_value", 0.0, None, None)),
        ("0 unexpected of 23", "value_set=['track', 'page']", (0.0, 23, "value_set", None, None, None)),
        ("['a', 'b']", "column_set=['a', 'b']", (None, None, "column_set", None, None, None)),
        (None, "<= 0.05", (None, None, "<=", 0.05, None, 0.05)),
        ("0 unexpected of 9", "", (0.0, 9, None, None, None, None)),
    ],
)
def test_data_quality_values_and_thresholds_become_numbers(tmp_path: Path, observed, threshold, parsed):
    """bi.data_quality_checks on one hand-made dq_results row (every published table exists, empty)."""
    with duckdb.connect(str(tmp_path / "serving.duckdb")) as connection:
        for table, columns in serving_page_columns().items():
            if table != publish.MANIFEST_TABLE:
                connection.execute(f"create table main.{table} ({columns})")
        connection.execute(
            "insert into main.dq_results by name select 'b1' as build_id, timestamp '2026-11-01' as checked_at, "
            "'x' as expectation, true as success, ? as observed_value, ? as threshold", [observed, threshold])
        bi_views.create(connection)
        row = connection.execute(
            "select observed_number, checked_rows, threshold_operator, threshold_number, threshold_min, threshold_max "
            "from bi.data_quality_checks").fetchone()
    assert row == parsed
