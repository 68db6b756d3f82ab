"""Segment differentiation: the default catalog's active segments do not hold the same people, and a planted
near-identical twin of a segment makes the build warn (test assert_segment_overlap_within_limit), naming the pair.

The twin is the pricing-visitors rule without its best-ranked member, added to a copy of the project and built on
a copy of the shared demo build (only the segment models, so it takes seconds).
"""

from __future__ import annotations

import pytest
from conftest import DemoBuild, Workspace
from project_copy import add_catalog_segment, copy_project

TEST = "assert_segment_overlap_within_limit"
PRICING = "pricing_visitors_without_demo"

TWIN = """
with

pricing as (

    select * from {{ ref('seg_pricing_visitors_without_demo') }}

),

ranked as (

    select entity_id, score, row_number() over (order by score desc, entity_id) as position
    from pricing

)

select entity_id, score from ranked where position > 1
"""

META = {
    "segment_id": "pricing_twin",
    "name": "Pricing visitors (twin)",
    "entity_type": "person",
    "owner": "overlap-test@example.com",
    "motion": "The same SDR outreach as pricing visitors, by another team.",
    "measurement_plan": "Demo request within lift_window_days of entering, treated vs holdout.",
    "review_cadence_days": 30,
    "last_reviewed_at": "2026-12-05",
    "status": "active",
    "priority": 90,
    "goal": "Demo_Requested",
    "purpose": "marketing",
    "lawful_basis": "legitimate_interest",
    "channels": ["sales", "email"],
}


def test_the_default_catalog_has_no_overlapping_pair(passed_demo_build: DemoBuild):
    passed = [line for line in passed_demo_build.build.output.splitlines() if f"PASS {TEST} " in line]
    assert passed, f"{TEST} did not pass in the demo build"
    space = passed_demo_build.workspace
    pairs = space.query("select segment_id, other_segment_id, overlap_share from segment_overlaps where is_over_limit")
    assert pairs == []
    active = space.scalar("select count(*) from segments where status = 'active'")
    assert space.scalar("select count(*) from segment_overlaps") >= active - 1, "every pair of one entity type has a row"


@pytest.fixture(scope="module")
def twinned(passed_demo_build: DemoBuild, tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, object]:
    root = tmp_path_factory.mktemp("overlap")
    project = copy_project(root / "project")
    add_catalog_segment(project, "seg_pricing_twin", TWIN, META)
    space = passed_demo_build.workspace.copy(root / "space")
    run = space.dbt(
        "build", "--project-dir", str(project), "--no-use-colors",
        "--select", "seg_pricing_twin", "path:models/marts/segments/segments.sql", "segment_members_current",
        "segment_member_changes", "segment_members", "segment_lift", "segment_overlaps", TEST,
    )
    return space, run


def test_a_near_identical_twin_warns_and_is_named(twinned):
    space, run = twinned
    assert run.returncode == 0, run.output[-5000:]
    assert f"WARN 1 {TEST}" in run.output, run.output[-5000:]
    over = space.query("select segment_id, other_segment_id, members, other_members, shared_members, overlap_share"
                       " from segment_overlaps where is_over_limit")
    assert len(over) == 1, over
    first, second, members, other_members, shared, share = over[0]
    assert {first, second} == {PRICING, "pricing_twin"}
    # the twin lacks one person of the rule (who may be left out of both by consent anyway)
    assert abs(members - other_members) <= 1 and shared == min(members, other_members) and share == 1.0
