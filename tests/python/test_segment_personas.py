"""The flagship segments recover the personas the generator planted (ground truth people.csv, accounts.csv).

On the demo build (200k events, seed 42) each segment's rule (its catalog view seg_<id>) is compared
with the people the generator gave its persona; the figures are precision (members that are planted)
and recall (planted people that are members), among profiled people (people who refused analytics
have no scores and can be in no segment). Each catalog model names its persona in
meta.segment.planted_persona. Figures measured on 2026-12-05 are in docs/segments.md; the thresholds
below leave room for another seed, and say why a persona cannot be recovered completely.
"""

from __future__ import annotations

import csv

import pytest

from tests.python.conftest import Workspace


@pytest.fixture(scope="module")
def truth(demo_200k: Workspace) -> dict:
    """Each built person's planted persona, completed orders and whether their account is ideal-profile."""
    with open(demo_200k.truth / "identifiers.csv", newline="") as handle:
        owner = {r["identifier_value"]: r["person_id"] for r in csv.DictReader(handle)
                 if r["person_id"] and r["identifier_type"] == "user_id"}
    with open(demo_200k.truth / "accounts.csv", newline="") as handle:
        icp = {r["account_id"]: r["is_icp"] == "true" for r in csv.DictReader(handle)}
    with open(demo_200k.truth / "people.csv", newline="") as handle:
        planted = {r["person_id"]: r for r in csv.DictReader(handle)}
    rows = demo_200k.query("""
        select distinct ids.identifier_value, ids.person_id
        from person_identifiers as ids
        inner join person_scores as scores on ids.person_id = scores.person_id
        where ids.identifier_type = 'user_id' and scores.not_profiled_reason is null
    """)
    people = {}
    for user_id, person_id in rows:
        true_person = owner.get(user_id)
        if true_person:
            row = planted[true_person]
            people[person_id] = {
                "persona": row["persona"],
                "orders": int(row["completed_orders"]),
                "fit_or_no_account": not row["account_id"] or icp.get(row["account_id"], False),
            }
    return people


def recovery(space: Workspace, truth: dict, segment_id: str, planted: set[str]) -> tuple[float, float, set[str]]:
    """(precision, recall, members) of the segment's rule against the planted people, among the people truth knows."""
    members = {p for (p,) in space.query(f"select entity_id from seg_{segment_id}") if p in truth}
    hits = members & planted
    return len(hits) / max(len(members), 1), len(hits) / max(len(planted), 1), members


def persona(truth: dict, name: str) -> set[str]:
    return {p for p, row in truth.items() if row["persona"] == name}


def test_cart_abandoners_recover_the_planted_cart_abandoners(demo_200k, truth):
    planted = persona(truth, "cart_abandoner")
    precision, recall, members = recovery(demo_200k, truth, "cart_abandoners", planted)
    print(f"cart_abandoners: {len(members)} members, {len(planted)} planted, precision {precision:.3f}, recall {recall:.3f}")
    assert len(planted) >= 300
    # every planted abandoner adds to cart in their last 60 days and never buys; the few missed carted
    # only in the last day (not abandoned yet) or more than 30 days ago
    assert recall >= 0.9, recall
    # the only other persona that adds to cart is the power user (who buys); a power user whose last
    # add-to-cart came after their last order did abandon a cart, so precision against the persona
    # is lower than the rule's real precision: all the others must be power users
    assert precision >= 0.7, precision
    assert {truth[p]["persona"] for p in members - planted} <= {"power_user"}


def test_high_intent_people_recover_the_planted_high_intent_people(demo_200k, truth):
    planted = persona(truth, "high_intent")
    precision, recall, members = recovery(demo_200k, truth, "high_intent_people", planted)
    print(f"high_intent_people: {len(members)} members, {len(planted)} planted, precision {precision:.3f}, recall {recall:.3f}")
    assert len(planted) >= 300
    # intent_score of the planted people spans 47-87 (10th-90th percentile) and of the pricing
    # visitors who never ask for a demo 21-50: a threshold of 45 keeps most of the first and the top
    # of the second, who look the same to a score
    assert recall >= 0.8, recall
    assert precision >= 0.75, precision
    # and they are not lost to account fit any more: most of them reach segment_members
    held = {p for (p,) in demo_200k.query("select entity_id from segment_members where segment_id = 'high_intent_people'")}
    assert len(held & planted) >= 0.7 * len(planted & members), (len(held & planted), len(planted & members))


def test_product_qualified_leads_recover_the_planted_new_product_users(demo_200k, truth):
    # the planted PQLs: new people (they sign up and use features in their first days), who have not
    # bought, at an ideal-profile account or none (the rule's fit condition, from accounts.csv's is_icp)
    planted = {p for p in persona(truth, "new") if truth[p]["orders"] == 0 and truth[p]["fit_or_no_account"]}
    precision, recall, members = recovery(demo_200k, truth, "product_qualified_leads", planted)
    print(f"product_qualified_leads: {len(members)} members, {len(planted)} planted, precision {precision:.3f}, recall {recall:.3f}")
    assert len(planted) >= 100
    assert recall >= 0.85, recall
    # regular users who have not bought yet and use the product are PQLs too: they are the rest
    assert precision >= 0.8, precision
    held = demo_200k.scalar("select member_count from segments where segment_id = 'product_qualified_leads'")
    assert held > 0
