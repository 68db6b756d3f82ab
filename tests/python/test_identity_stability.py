"""Person ids are stable across builds: new identifiers join an existing id, a merge keeps the id of the
person seen first and is logged, a build with no new data changes nothing, and a fresh database agrees.

Background: a small generated data set (so the data-quality gate has normal data to judge); on top of
it, a few hand-written calls whose outcome we know. The builds make the identity models, the merge log and what
they read, not the scores and segments after them.
"""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from tests.python.conftest import Workspace


def call(kind: str, at: str, **fields) -> str:
    message = {"type": kind, "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}{at}{sorted(fields.items())}")),
               "timestamp": at, "sentAt": at, "receivedAt": at, "context": {}}
    device = fields.pop("device", None)
    if device:
        message["context"]["device"] = {"id": device}
    if kind == "page":
        message["name"] = "Home"
    message.update(fields)
    return json.dumps(message)


FIRST_LOAD = [
    call("page", "2026-10-01T10:00:00.000Z", anonymousId="stab-anon-a", device="stab-dev-a"),
    call("page", "2026-10-02T10:00:00.000Z", anonymousId="stab-anon-b", device="stab-dev-b"),
    call("identify", "2026-09-30T10:00:00.000Z", anonymousId="stab-anon-c", userId="stab-user-c"),
]
SECOND_LOAD = [
    # the same user signs in on both browsers: a and b are one person
    call("identify", "2026-10-03T10:00:00.000Z", anonymousId="stab-anon-a", userId="stab-user-ab"),
    call("identify", "2026-10-03T11:00:00.000Z", anonymousId="stab-anon-b", userId="stab-user-ab"),
    # c shows a device, in a late-arriving call older than anything known of c: a new identifier joins
    # an existing person, and becomes its earliest-seen identifier (the root a fresh build would hash)
    call("page", "2026-09-01T10:00:00.000Z", userId="stab-user-c", device="stab-dev-c"),
]


def person_ids(space: Workspace) -> dict[tuple[str, str], str]:
    return {(t, v): p for p, t, v in space.query("select person_id, identifier_type, identifier_value from int_identity_person_ids")}


def merges(space: Workspace) -> list[tuple]:
    return space.query("select old_person_id, new_person_id, change from identity_person_merges order by 1, 2")


def build(space: Workspace, *extra: str) -> None:
    # the identity models, the merge log and everything they read (staging and the quality gate included): what
    # this module checks; cautious: no test that reads a model outside the selection
    run = space.dbt("build", "--select", "+identity_person_merges", "--indirect-selection", "cautious",
                    "--vars", "{as_of: '2026-10-31 23:59:59'}", *extra)
    assert run.returncode == 0, run.output[-5000:]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from customer_segments.generate import generate

    space = Workspace(tmp_path_factory.mktemp("stability"), generic_tests=False)
    generate(space.raw, space.truth, events=8_000, seed=11, progress=False, end_date="2026-10-31")
    (space.raw / "events" / "stability-1.jsonl").write_text("\n".join(FIRST_LOAD) + "\n")
    build(space)
    first, first_merges = person_ids(space), merges(space)
    (space.raw / "events" / "stability-2.jsonl").write_text("\n".join(SECOND_LOAD) + "\n")
    build(space)
    second, second_merges = person_ids(space), merges(space)
    build(space)  # nothing new
    third, third_merges = person_ids(space), merges(space)

    fresh = Workspace(tmp_path_factory.mktemp("stability_fresh"), generic_tests=False)
    shutil.copytree(space.raw, fresh.raw, dirs_exist_ok=True)
    build(fresh)
    build(space, "--full-refresh")  # forgets the history
    return {"first": first, "second": second, "third": third, "fresh": person_ids(fresh),
            "refreshed": person_ids(space), "refreshed_merges": merges(space),
            "first_merges": first_merges, "second_merges": second_merges, "third_merges": third_merges}


A, B = ("anonymous_id", "stab-anon-a"), ("anonymous_id", "stab-anon-b")
C, C_USER, C_DEVICE = ("anonymous_id", "stab-anon-c"), ("user_id", "stab-user-c"), ("device_id", "stab-dev-c")


def test_first_build_sees_three_people(builds):
    first = builds["first"]
    assert first[A] != first[B]
    assert first[C] == first[C_USER]
    assert first[("device_id", "stab-dev-a")] == first[A]
    assert builds["first_merges"] == []


def test_new_identifiers_join_the_existing_id(builds):
    assert builds["second"][C_DEVICE] == builds["first"][C_USER]
    assert builds["second"][C] == builds["first"][C]


def test_merge_keeps_the_id_of_the_person_seen_first_and_logs_it(builds):
    first, second = builds["first"], builds["second"]
    assert second[A] == second[B] == second[("user_id", "stab-user-ab")] == first[A]
    assert builds["second_merges"] == [(first[B], first[A], "merged")]


def test_everyone_else_keeps_their_id(builds):
    first, second = builds["first"], builds["second"]
    moved = {key for key in first if key not in (B, ("device_id", "stab-dev-b")) and second.get(key) != first[key]}
    assert not moved, sorted(moved)[:5]


def test_a_build_without_new_data_changes_nothing(builds):
    assert builds["third"] == builds["second"]
    assert builds["third_merges"] == builds["second_merges"]


def test_a_fresh_database_gives_the_same_ids_except_where_history_kept_one(builds):
    fresh, second = builds["fresh"], builds["second"]
    assert fresh.keys() == second.keys()
    differ = {key for key in fresh if fresh[key] != second[key]}
    # c's person: a fresh build derives its id from the late device (now the earliest identifier);
    # the incremental history kept the id c already had
    assert differ == {C, C_USER, C_DEVICE}
    assert len({fresh[key] for key in differ}) == 1


def test_full_refresh_forgets_the_history(builds):
    assert builds["refreshed"] == builds["fresh"]
    assert builds["refreshed_merges"] == []
