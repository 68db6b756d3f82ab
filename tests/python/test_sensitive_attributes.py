"""No segment on sensitive attributes: the guard passes on our catalog and fails on a segment that uses one.

The unmodified project passes `assert_segment_rules_use_no_sensitive_attributes` in the shared demo
build. A copy of the project then gets two draft catalog segments, one filtering on `customerAge`
(camelCase, in its SQL) and one whose motion targets pregnant customers (in its meta) while its SQL
only mentions gender, ZIP and ethnicity in comments and uses `page`, `average` and `engagement`
words; the demo warehouse's first suggested segment gets a rule on `postal_code` (what the
clustering would write if it ever used that column). Building the catalog models, the seed and the
test on that copy (with the `segments` table they are read from) must fail with exactly those three
findings.
"""

from __future__ import annotations


import pytest

from conftest import DemoBuild, Workspace
from project_copy import add_catalog_segment, copy_project

TEST = "assert_segment_rules_use_no_sensitive_attributes"

META = {
    "entity_type": "person",
    "owner": "privacy-test@example.com",
    "motion": "None: a test segment.",
    "measurement_plan": "Completed order within lift_window_days of entering, treated vs holdout.",
    "review_cadence_days": 30,
    "last_reviewed_at": "2026-11-16",
    "status": "draft",
    "priority": 90,
    "goal": "order",
}

BY_AGE = """
with

scores as (

    select * from {{ ref('person_scores') }}

),

aged as (

    select person_id, recency_days as customerAge from scores

)

select person_id as entity_id, cast(customerAge as double) as score
from aged
where customerAge > 40
"""

# Sensitive words only in comments; identifiers that merely contain a term's letters.
DECOYS = """
{#- not by ethnicity -#}
/* no zip codes either */
with

scores as (

    select * from {{ ref('person_scores') }}  -- never by gender

),

final as (

    select
        person_id as entity_id,
        engagement_score as average_page_engagement,
        cast(monetary as double) as score

    from scores
    where engagement_score > 0

)

select entity_id, score from final
"""


def test_the_catalog_uses_no_sensitive_attribute(passed_demo_build: DemoBuild):
    passed = [line for line in passed_demo_build.build.output.splitlines() if f"PASS {TEST} " in line]
    assert passed, f"{TEST} did not pass in the demo build"


@pytest.fixture(scope="module")
def flagged(passed_demo_build: DemoBuild, tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, object]:
    root = tmp_path_factory.mktemp("sensitive")
    project = copy_project(root / "project")
    add_catalog_segment(project, "seg_over_forties", BY_AGE, {**META, "segment_id": "over_forties", "name": "Over forties"})
    add_catalog_segment(project, "seg_expecting_parents", DECOYS, {
        **META, "segment_id": "expecting_parents", "name": "Expecting parents",
        "motion": "Baby-product offers for pregnant customers.",
    })
    space = passed_demo_build.workspace.copy(root / "space")
    import duckdb

    with duckdb.connect(str(space.database)) as connection:
        connection.execute(
            "update segment_suggestions set suggested_rule = suggested_rule || ' and postal_code is not null'"
            " where segment_id = 'suggested_1'"
        )
    run = space.dbt(
        "build", "--project-dir", str(project), "--store-failures", "--no-use-colors",
        # just the new models, the seed and the segments table (a bare `segments` would select the folder)
        "--select", "sensitive_attributes", "seg_over_forties", "seg_expecting_parents",
        "path:models/marts/segments/segments.sql", TEST,
    )
    return space, run


def test_a_segment_on_a_sensitive_attribute_fails_the_build(flagged):
    space, run = flagged
    assert run.returncode != 0
    assert f"FAIL 3 {TEST}" in run.output, run.output[-5000:]
    findings = set(space.query(f"select segment_id, term, category, found_in from {TEST}"))
    assert findings == {
        ("over_forties", "age", "age", "sql"),
        ("expecting_parents", "pregnan*", "pregnancy or maternity", "meta.segment.motion"),
        ("suggested_1", "postal_code", "race or ethnicity", "suggested_rule"),
    }
