"""Each dbt layer reads only the layer below (customer_segments/layers.py), on DuckDB and on Spark.

The manifests come from `dbt parse` in a private target folder (seconds, no
build). The checker is also fed planted violations, in a made-up manifest and
in the real one, which it must report: a rule that cannot fail proves nothing.
"""

from __future__ import annotations

import copy
import json

import pytest

from conftest import Workspace

from customer_segments import layers
from customer_segments.layers import LayerException, check

TARGETS = ("dev", "spark")


@pytest.fixture(scope="module", params=TARGETS)
def manifest(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    space = Workspace(tmp_path_factory.mktemp(f"layers-{request.param}"))
    run = space.dbt("parse", "--no-partial-parse", "--target", request.param)
    assert run.returncode == 0, run.output[-4000:]
    # dbt only warns when a test or model refers to a node that does not exist, and leaves it out of the build
    assert "which was not found" not in run.output, run.output[-4000:]
    return json.loads((space.root / "target" / "manifest.json").read_text())


def test_every_layer_reads_only_the_layer_below(manifest: dict):
    assert check(manifest) == []


def test_every_model_is_in_a_layer_folder(manifest: dict):
    found, unplaced = layers.reads(manifest)
    assert unplaced == []
    assert {read.reader_layer for read in found} == set(layers.LAYERS)


def test_the_gate_is_intermediate_and_every_catalog_rule_is_read_by_a_mart(manifest: dict):
    found, _ = layers.reads(manifest)
    gate_readers = {read.reader_layer for read in found if read.read == "int_dq_gate"}
    assert {read.read_layer for read in found if read.read == "int_dq_gate"} == {"intermediate"}
    assert gate_readers == {"intermediate", "marts"}
    catalog_readers = {(read.reader, read.reader_layer) for read in found if read.read.startswith("seg_")}
    assert catalog_readers == {("segment_members_current", "marts")}


def test_staging_reads_the_erasure_log_as_a_source_where_the_model_builds_it(manifest: dict):
    source = manifest["sources"]["source.customer_segments.warehouse_state.erasure_log"]
    model = manifest["nodes"]["model.customer_segments.erasure_log"]
    assert source["relation_name"] == model["relation_name"]
    readers = {
        node["name"] for node in manifest["nodes"].values()
        if source["unique_id"] in node.get("depends_on", {}).get("nodes", [])
    }
    assert readers == {
        "base_segment__event_lines", "stg_shop__orders", "stg_crm__contacts", "stg_email__events",
        "stg_privacy__consent", "int_erasure_targets",
    }


def test_every_exception_names_a_model_and_says_why(manifest: dict):
    names = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    for exception in layers.EXCEPTIONS:
        assert exception.model in names
        assert len(exception.reason) > 40


# --- the checker on planted violations -------------------------------------------------------------


def _model(name: str, path: str, reads: tuple[str, ...] = (), raw_code: str = "") -> dict:
    return {
        "resource_type": "model", "package_name": "customer_segments", "name": name,
        "original_file_path": path, "raw_code": raw_code,
        "depends_on": {"nodes": [f"model.customer_segments.{parent}" for parent in reads]},
    }


def _manifest(*models: dict) -> dict:
    seed = {"resource_type": "seed", "package_name": "customer_segments", "name": "icp_rules",
            "original_file_path": "seeds/icp_rules.csv", "depends_on": {"nodes": []}}
    source = {"resource_type": "source", "package_name": "customer_segments", "name": "orders",
              "original_file_path": "models/staging/_sources.yml"}
    nodes = {f"model.customer_segments.{model['name']}": model for model in models}
    nodes["seed.customer_segments.icp_rules"] = seed
    return {"nodes": nodes, "sources": {"source.customer_segments.raw.orders": source}}


def _clean_models() -> list[dict]:
    staging = _model("stg_shop__orders", "models/staging/shop/stg_shop__orders.sql")
    staging["depends_on"]["nodes"].append("source.customer_segments.raw.orders")
    return [
        staging,
        _model("int_orders_deduplicated", "models/intermediate/shop/int_orders_deduplicated.sql", ("stg_shop__orders",)),
        _model("int_dq_checks", "python_models/intermediate/quality/int_dq_checks.py", ("int_orders_deduplicated",)),
        _model("accounts", "models/marts/scoring/accounts.sql", ("int_orders_deduplicated",)),
        _model("people", "models/marts/identity/people.sql", ("accounts", "int_dq_checks")),
    ]


def test_checker_passes_a_project_that_reads_only_downward():
    manifest = _manifest(*_clean_models())
    manifest["nodes"]["model.customer_segments.accounts"]["depends_on"]["nodes"].append("seed.customer_segments.icp_rules")
    assert check(manifest, exceptions=()) == []


def test_checker_reports_every_kind_of_planted_violation():
    planted = [
        *_clean_models(),
        _model("stg_crm__contacts", "models/staging/crm/stg_crm__contacts.sql", ("people",)),
        _model("int_person_rfm", "models/intermediate/scoring/int_person_rfm.sql", ("people",),
               raw_code="{% set old = customer_segments.model_relation('accounts') %}"),
        _model("person_scores", "models/marts/scoring/person_scores.sql", ("stg_shop__orders",)),
        _model("int_orders_attributed", "models/intermediate/identity/int_orders_attributed.sql"),
        _model("dq_gate", "models/quality/dq_gate.sql"),
        _model("suggestions", "python_models/segments/suggestions.py"),
    ]
    planted[-3]["depends_on"]["nodes"].append("source.customer_segments.raw.orders")
    unused = LayerException("people", "staging", "a planted exception that excuses nothing any more")
    problems = check(_manifest(*planted), exceptions=(unused,))
    assert problems == [
        "model dq_gate (models/quality/dq_gate.sql) is in no layer folder "
        "(models/<staging|intermediate|marts>/ or python_models/<staging|intermediate|marts>/)",
        "model suggestions (python_models/segments/suggestions.py) is in no layer folder "
        "(models/<staging|intermediate|marts>/ or python_models/<staging|intermediate|marts>/)",
        "intermediate model int_orders_attributed reads source orders",
        "intermediate model int_person_rfm reads marts accounts (through adapter.get_relation, not a dbt dependency)",
        "intermediate model int_person_rfm reads marts people",
        "marts model person_scores reads staging stg_shop__orders",
        "staging model stg_crm__contacts reads marts people",
        "exception no longer needed: people reads staging "
        "(remove it from customer_segments/layers.py EXCEPTIONS)",
    ]


def test_an_exception_excuses_only_its_own_read():
    planted = [*_clean_models(), _model("quarantined_rows", "models/marts/quality/quarantined_rows.sql",
                                        ("stg_shop__orders", "people", "int_orders_deduplicated"))]
    whole_layer = LayerException("quarantined_rows", "staging", "collects every staging model's rejects")
    assert check(_manifest(*planted), exceptions=(whole_layer,)) == []
    one_model = LayerException("int_dq_checks", "people", "planted")
    planted.append(_model("int_person_rfm", "models/intermediate/scoring/int_person_rfm.sql", ("people",)))
    assert check(_manifest(*planted), exceptions=(whole_layer, one_model)) == [
        "intermediate model int_person_rfm reads marts people",
        "exception no longer needed: int_dq_checks reads people (remove it from customer_segments/layers.py EXCEPTIONS)",
    ]


def test_a_read_planted_in_the_real_manifest_is_reported(manifest: dict):
    planted = copy.deepcopy(manifest)
    context = planted["nodes"]["model.customer_segments.int_build_context"]
    context["depends_on"]["nodes"].append("model.customer_segments.people")
    gate = planted["nodes"]["model.customer_segments.int_dq_gate"]
    gate["raw_code"] += "\n{% set old = customer_segments.model_relation('dq_results') %}"
    assert check(planted) == [
        "intermediate model int_build_context reads marts people",
        "intermediate model int_dq_gate reads marts dq_results (through adapter.get_relation, not a dbt dependency)",
    ]
