"""Every model, seed and column is documented, and the docs match the tables that are built.

Builds the project (seeds and models, no tests) on a tiny hand-made input in a
temporary workspace, runs `dbt docs generate`, and compares the manifest (what
the YAML documents) with the catalog (what the warehouse really has). A column
in a table but not in its YAML, a YAML column the table no longer has, or an
empty description is a defect: docs/serving.md promises every model and column is
documented.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from conftest import Workspace

PACKAGE = "customer_segments"

# Contract tables (docs/contract.md, Outputs): their descriptions must say so.
CONTRACT_TABLES = {
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
}

# Known gaps, documented nowhere yet. Each entry must still be a gap
# (test_known_gaps_are_still_gaps), so the list cannot go stale.
KNOWN_GAPS: set[str] = set()

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
    built_columns = {column.lower() for column in built["columns"]}
    for column in sorted(built_columns - declared.keys()):
        defects.append(f"{name}.{column}: in the table but not documented")
    for column in sorted(declared.keys() - built_columns):
        defects.append(f"{name}.{column}: documented but not in the table")
    return defects


def test_every_model_seed_and_column_is_documented(docs: Docs):
    defects = [
        defect
        for node in docs.documented_nodes()
        if node["name"] not in KNOWN_GAPS
        for defect in defects_of(node, docs.catalog)
    ]
    assert defects == [], "\n".join(defects)


def test_known_gaps_are_still_gaps(docs: Docs):
    nodes = {node["name"]: node for node in docs.documented_nodes()}
    closed = [name for name in sorted(KNOWN_GAPS) if name in nodes and not defects_of(nodes[name], docs.catalog)]
    assert closed == [], f"now documented, remove from KNOWN_GAPS: {closed}"


def test_contract_tables_say_they_are_the_contract(docs: Docs):
    descriptions = {node["name"]: node["description"] for node in docs.documented_nodes()}
    assert CONTRACT_TABLES <= descriptions.keys(), sorted(CONTRACT_TABLES - descriptions.keys())
    not_marked = sorted(name for name in CONTRACT_TABLES if "public contract" not in descriptions[name].lower())
    assert not_marked == [], f"contract tables whose description does not say so: {not_marked}"
