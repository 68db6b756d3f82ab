"""Every model, seed and column is documented, and the docs match the tables that are built.

Builds the project (seeds and models, no tests) on a tiny hand-made input in a
temporary workspace, runs `dbt docs generate`, and compares the manifest (what
the YAML documents) with the catalog (what the warehouse really has). A column
in a table but not in its YAML, a YAML column the table no longer has, or an
empty description is a defect: docs/serving.md promises every model and column is
documented. Sources too: every source table and column has a description, its
loaded-at field is a documented column, and a source the warehouse holds as a
table (the erasure log) documents exactly its columns.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from conftest import REPO_ROOT, Workspace

from customer_segments.publish import CONTRACT_KEYS, CONTRACT_TABLES

PACKAGE = "customer_segments"

EVENT = (
    '{"messageId": "m-1", "type": "page", "anonymousId": "a-1", "userId": "u-1", "name": "Pricing",'
    ' "traits": {"email": "ann@example.com"}, "timestamp": "2026-10-30T10:00:00Z", "receivedAt": "2026-10-30T10:00:01Z"}'
)
ORDERS = (
    "order_id,user_id,email,amount,currency,ordered_at,status\n"
    "o1,u-1,ann@example.com,10.00,USD,2026-10-01T10:00:00Z,completed\n"
    "o2,u-1,ann@example.com,12.00,USD,2026-10-20T10:00:00Z,completed\n"
)


@dataclass
class Docs:
    manifest: dict
    catalog: dict

    def documented_nodes(self) -> list[dict]:
        """Models and seeds of this project that are enabled on this target."""
        return [
            node
            for node in self.manifest["nodes"].values()
            if node["resource_type"] in ("model", "seed") and node["package_name"] == PACKAGE
        ]


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Docs:
    space = Workspace(tmp_path_factory.mktemp("docs"))
    (space.raw / "events").mkdir()
    (space.raw / "events" / "part-00000.jsonl").write_text(EVENT + "\n")
    (space.raw / "orders.csv").write_text(ORDERS)
    for step in (["seed"], ["run"], ["docs", "generate"]):
        run = space.dbt(*step)
        assert run.returncode == 0, f"dbt {' '.join(step)} failed:\n{run.output[-5000:]}"
    target = space.root / "target"
    return Docs(
        manifest=json.loads((target / "manifest.json").read_text()),
        catalog=json.loads((target / "catalog.json").read_text()),
    )


def defects_of(node: dict, catalog: dict) -> list[str]:
    """What is missing or stale in the docs of one model or seed."""
    name = node["name"]
    defects = []
    if not node["description"].strip():
        defects.append(f"{name}: no description")
    declared = {column.lower(): spec for column, spec in node["columns"].items()}
    for column, spec in declared.items():
        if not spec["description"].strip():
            defects.append(f"{name}.{column}: no description")
    built = catalog["nodes"].get(node["unique_id"])
    if built is None:
        defects.append(f"{name}: not in the catalog (was it built?)")
        return defects
    return defects + column_defects(name, built, declared)


def column_defects(name: str, built: dict, declared: dict) -> list[str]:
    """The columns of a built table (its catalog entry) that are not documented, and the documented ones it lacks."""
    built_columns = {column.lower() for column in built["columns"]}
    return ([f"{name}.{column}: in the table but not documented" for column in sorted(built_columns - declared.keys())]
            + [f"{name}.{column}: documented but not in the table" for column in sorted(declared.keys() - built_columns)])


def source_defects_of(source: dict, catalog: dict) -> list[str]:
    """What is missing in the docs of one source table: descriptions, columns, its loaded-at field; and for a
    source the warehouse holds (the catalog found it), the same column check as a model's."""
    name = f"{source['source_name']}.{source['name']}"
    defects = []
    if not source.get("source_description", "").strip():
        defects.append(f"{name}: its source has no description")
    if not source["description"].strip():
        defects.append(f"{name}: no description")
    declared = {column.lower(): spec for column, spec in source["columns"].items()}
    if not declared:
        defects.append(f"{name}: no columns documented")
    for column, spec in declared.items():
        if not spec["description"].strip():
            defects.append(f"{name}.{column}: no description")
    loaded_at = (source.get("loaded_at_field") or "").lower()
    if loaded_at and loaded_at not in declared:
        defects.append(f"{name}: loaded_at_field {loaded_at} is not a documented column")
    thresholds = [(source.get("freshness") or {}).get(kind) or {} for kind in ("warn_after", "error_after")]
    if any(threshold.get("count") for threshold in thresholds) and not loaded_at and not source.get("loaded_at_query"):
        defects.append(f"{name}: freshness without a loaded_at_field")
    built = catalog.get("sources", {}).get(source["unique_id"])
    if built is not None and not source.get("config", {}).get("external_location"):
        defects += column_defects(name, built, declared)
    return defects


def project_sources(docs: Docs) -> list[dict]:
    """Every source of the project, also those the vars leave out of this build (the event input not in use:
    segment_warehouse.* with the default var event_input_shape files)."""
    disabled = [node for nodes in docs.manifest.get("disabled", {}).values() for node in nodes
                if node.get("resource_type") == "source"]
    return [source for source in [*docs.manifest["sources"].values(), *disabled] if source["package_name"] == PACKAGE]


def test_every_source_and_its_columns_are_documented(docs: Docs):
    sources = project_sources(docs)
    names = {f"{source['source_name']}.{source['name']}" for source in sources}
    # every raw input of the contract is a source (staging reads sources only), and so are the warehouse tables
    assert {"raw.events", "raw.orders", "raw.crm_contacts", "raw.accounts", "raw.email_events", "raw.consent",
            "raw.erasure_requests", "raw.ip_ranges", "segment_warehouse.tracks", "warehouse_state.erasure_log"} <= names
    defects = [defect for source in sources for defect in source_defects_of(source, docs.catalog)]
    assert defects == [], "\n".join(defects)


def planted_source(description: str = "Orders.", columns: dict | None = None, loaded_at: str | None = "ordered_at",
                   built: list[str] | None = None):
    columns = {"order_id": "The order.", "ordered_at": "When."} if columns is None else columns
    source = {
        "source_name": "raw", "name": "orders", "unique_id": "source.customer_segments.raw.orders",
        "source_description": "Raw files.", "description": description, "loaded_at_field": loaded_at,
        "freshness": {"warn_after": {"count": 48, "period": "hour"}},
        "columns": {name: {"description": text} for name, text in columns.items()}, "config": {},
    }
    catalog = {"sources": {} if built is None else {source["unique_id"]: {"columns": {name: {} for name in built}}}}
    return source, catalog


@pytest.mark.parametrize(
    "source_and_catalog, defects",
    [
        pytest.param(planted_source(), [], id="documented"),
        pytest.param(planted_source(description=" "), ["raw.orders: no description"], id="empty-description"),
        pytest.param(planted_source(columns={"order_id": "", "ordered_at": "When."}),
                     ["raw.orders.order_id: no description"], id="empty-column-description"),
        pytest.param(planted_source(columns={}, loaded_at=None), ["raw.orders: no columns documented",
                                                                  "raw.orders: freshness without a loaded_at_field"],
                     id="no-columns"),
        pytest.param(planted_source(loaded_at="received_at"),
                     ["raw.orders: loaded_at_field received_at is not a documented column"], id="loaded-at-undocumented"),
        pytest.param(planted_source(built=["order_id", "ordered_at", "amount"]),
                     ["raw.orders.amount: in the table but not documented"], id="undocumented-table-column"),
    ],
)
def test_a_planted_source_gap_is_a_defect(source_and_catalog, defects):
    assert source_defects_of(*source_and_catalog) == defects


def test_every_model_seed_and_column_is_documented(docs: Docs):
    defects = [defect for node in docs.documented_nodes() for defect in defects_of(node, docs.catalog)]
    assert defects == [], "\n".join(defects)


def planted(description: str = "People.", columns: dict | None = None, built: list[str] | None = None):
    """One model as the manifest documents it and as the catalog finds it built (None: not built)."""
    columns = {"person_id": "The person."} if columns is None else columns
    node = {
        "name": "people", "unique_id": "model.customer_segments.people", "description": description,
        "columns": {name: {"description": text} for name, text in columns.items()},
    }
    catalog = {"nodes": {} if built is None else {node["unique_id"]: {"columns": {name: {} for name in built}}}}
    return node, catalog


@pytest.mark.parametrize(
    "node_and_catalog, defects",
    [
        pytest.param(planted(built=["person_id"]), [], id="documented"),
        pytest.param(planted(built=["PERSON_ID"]), [], id="column-case-ignored"),
        pytest.param(planted(built=["person_id", "email"]), ["people.email: in the table but not documented"],
                     id="undocumented-column"),
        pytest.param(planted(columns={"person_id": "The person.", "email": "Their email."}, built=["person_id"]),
                     ["people.email: documented but not in the table"], id="stale-column"),
        pytest.param(planted(columns={"person_id": " "}, built=["person_id"]), ["people.person_id: no description"],
                     id="empty-column-description"),
        pytest.param(planted(description="", built=["person_id"]), ["people: no description"], id="empty-description"),
        pytest.param(planted(built=None), ["people: not in the catalog (was it built?)"], id="not-built"),
    ],
)
def test_a_planted_gap_is_a_defect(node_and_catalog, defects):
    """The check the build-wide test relies on finds each kind of gap (and nothing in a documented model)."""
    assert defects_of(*node_and_catalog) == defects


#: Tables the contract page lists that the project does not build (yet), and why: they are not published
#: either. Once one is built, it belongs in publish.CONTRACT_TABLES (test_contract_page_lists_the_contract_tables).
DOCUMENTED_NOT_BUILT: dict[str, str] = {}


CONTRACT_PAGE = REPO_ROOT / "docs" / "contract.md"


def outputs_table(page: str) -> list[str]:
    """The table names (first column, in backticks) of the contract page's Outputs table."""
    section = re.search(r"^## Outputs\b.*?$(.*?)(?=^## |\Z)", page, flags=re.M | re.S)
    assert section, "the contract page has no '## Outputs' section"
    return re.findall(r"^\|\s*`([a-z_][a-z0-9_]*)`\s*\|", section.group(1), flags=re.M)


def test_outputs_table_is_read_from_the_page():
    page = "# C\n## Inputs\n| `orders.*` | no |\n## Outputs (schema main)\n\n| table | grain |\n|---|---|\n" \
           "| `people` | one row per person |\n| `segments` | one row |\n\nText.\n## Running it\n| `x` | y |\n"
    assert outputs_table(page) == ["people", "segments"]


def test_contract_page_lists_the_contract_tables():
    """publish.CONTRACT_TABLES (what is published) is the contract page's Outputs table: neither may drift."""
    documented = outputs_table(CONTRACT_PAGE.read_text(encoding="utf-8"))
    assert len(documented) == len(set(documented)), f"listed twice: {sorted(documented)}"
    built = set(documented) - DOCUMENTED_NOT_BUILT.keys()
    assert set(CONTRACT_TABLES) == built, (
        f"in publish.CONTRACT_TABLES only: {sorted(set(CONTRACT_TABLES) - built)}; "
        f"on {CONTRACT_PAGE.name} only: {sorted(built - set(CONTRACT_TABLES))}"
    )
    assert DOCUMENTED_NOT_BUILT.keys() <= set(documented), "DOCUMENTED_NOT_BUILT names a table the page no longer lists"


def test_tables_documented_but_not_built_are_not_models(docs: Docs):
    models = {node["name"] for node in docs.documented_nodes()}
    assert sorted(DOCUMENTED_NOT_BUILT.keys() & models) == [], "now built: move it to publish.CONTRACT_TABLES"


def test_contract_tables_say_they_are_the_contract(docs: Docs):
    descriptions = {node["name"]: node["description"] for node in docs.documented_nodes()}
    assert set(CONTRACT_TABLES) <= descriptions.keys(), sorted(set(CONTRACT_TABLES) - descriptions.keys())
    not_marked = sorted(name for name in CONTRACT_TABLES if "public contract" not in descriptions[name].lower())
    assert not_marked == [], f"contract tables whose description does not say so: {not_marked}"


def contract_defects(nodes: list[dict], keys: dict[str, tuple[str, ...]]) -> list[str]:
    """Contract tables whose dbt model contract is not enforced, or whose primary key is not publish's."""
    by_name = {node["name"]: node for node in nodes}
    defects = []
    for name, key in sorted(keys.items()):
        node = by_name.get(name)
        if node is None:
            defects.append(f"{name}: no such model")
            continue
        if not node["config"].get("contract", {}).get("enforced"):
            defects.append(f"{name}: its contract is not enforced")
        declared = [tuple(c["columns"]) for c in node.get("constraints", []) if c["type"] == "primary_key"]
        if declared != [tuple(key)]:
            defects.append(f"{name}: primary key {declared} in its YAML, {tuple(key)} in publish.CONTRACT_KEYS")
    return defects


def test_contract_tables_enforce_their_contract_with_the_published_primary_key(docs: Docs):
    """On DuckDB every contract table is built under an enforced dbt model contract (types, the primary key),
    and its key is the one the serving file declares (publish.CONTRACT_KEYS)."""
    assert set(CONTRACT_KEYS) == set(CONTRACT_TABLES)
    assert contract_defects(docs.documented_nodes(), CONTRACT_KEYS) == []


def test_a_contract_without_its_key_is_a_defect():
    node = {"name": "people", "config": {"contract": {"enforced": True}},
            "constraints": [{"type": "primary_key", "columns": ["person_id"]}]}
    assert contract_defects([node], {"people": ("person_id",)}) == []
    assert contract_defects([{**node, "constraints": []}], {"people": ("person_id",)}) == [
        "people: primary key [] in its YAML, ('person_id',) in publish.CONTRACT_KEYS"]
    assert contract_defects([{**node, "config": {}}], {"people": ("person_id",)}) == [
        "people: its contract is not enforced"]
