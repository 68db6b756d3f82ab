"""Safe to send: consent, unsubscribes, bounces and do-not-sell keep people out of the segments they block,
on a fresh build and after an incremental one; an identical control group stays in; freshness warns.

One generated data set (seed 7, 20k events) is built once to find segment members. Their raw data is
copied and planted with signals for chosen members (batch 1), then built fresh; batch 2 is appended and
built incrementally. Every treated person has a control: a member of the same segment who gets only
harmless rows (an identify call granting analytics and data sharing, a delivered email), so what
changes for the treated is the signal alone. The catalog's channels: pricing visitors sales+email,
at-risk customers email+ads, champions email+in_app, top customers sales.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from conftest import Workspace

from customer_segments import summary
from customer_segments.generate import generate

AS_OF = "2026-10-31 23:59:59"
VARS = f"{{as_of: '{AS_OF}'}}"
SIGNAL_AT = "2026-10-31T10:00:00.000Z"
EARLIER_AT = "2026-10-30T10:00:00.000Z"
GRANT_AT = "2026-10-31T09:00:00.000Z"
#: People one email segment gives to Planter.plant: 6 treated and 6 controls in batch 1, 3 and 3 in batch 2
#: (the ads segment gives 2 + 2 more per batch for do-not-sell).
PEOPLE_PER_EMAIL_SEGMENT = 18
DEFAULT_SEVERITY = {"events_staleness_hours": "warn", "events_volume_change": "warn", "events_unknown_name_share": "warn",
                    "accounts_stale_firmographics_share": "warn", "crm_contacts_stale_share": "warn"}


def build(space: Workspace, *extra: str) -> None:
    run = space.dbt("build", "--vars", VARS, *extra)
    assert run.returncode == 0, run.output[-5000:]


#: People are compared across workspaces by their (first) user id: person ids come from the identity
#: graph's roots, which the planted CRM dates may move.
KEYS = """
    select m.segment_id, coalesce(min(i.identifier_value), m.entity_id)
    from segment_members as m
    left join int_identity_person_ids as i on i.person_id = m.entity_id and i.identifier_type = 'user_id'
    where m.entity_type = 'person'
    group by m.segment_id, m.entity_id
"""
#: The person id a user id (the key) has in a build.
PERSON = "(select person_id from int_identity_person_ids where identifier_type = 'user_id' and identifier_value = ?)"


def persons_of(keys) -> str:
    keys = list(keys)
    return ("(select person_id from int_identity_person_ids where identifier_type = 'user_id' and identifier_value in ("
            + ",".join("'" + key.replace("'", "''") + "'" for key in keys) + "))")


def memberships(space: Workspace) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for segment, key in space.query(KEYS):
        out.setdefault(key, set()).add(segment)
    return out


def channels(space: Workspace) -> dict[str, set[str]]:
    return {s: set(c.split(",")) for s, c in space.query("select segment_id, channels from segments where status = 'active'")}


def identify(message_id: str, user_id: str, context: dict) -> str:
    return json.dumps({"type": "identify", "messageId": message_id, "userId": user_id, "timestamp": SIGNAL_AT,
                       "sentAt": SIGNAL_AT, "receivedAt": SIGNAL_AT, "context": context, "traits": {}})


def append_rows(path: Path, rows: list[list[str]]) -> None:
    text = path.read_text()
    with path.open("a", newline="") as handle:
        if text and not text.endswith("\n"):
            handle.write("\n")
        csv.writer(handle, lineterminator="\n").writerows(rows)


class Planter:
    """Chooses members nobody planted yet and appends their signal rows to the raw files."""

    def __init__(self, baseline: Workspace) -> None:
        self.candidates = baseline.query(
            """
            with ids as (
                select person_id,
                    min(case when identifier_type = 'email' then identifier_value end) as email,
                    min(case when identifier_type = 'user_id' then identifier_value end) as user_id,
                    count(case when identifier_type = 'email' then 1 end) as emails
                from int_identity_person_ids group by 1
            ),
            recent_consent as (
                select distinct person_id from int_person_consent where recorded_at >= timestamp '2026-10-29'
            )
            select m.segment_id, ids.user_id as key, ids.email, ids.user_id, contacts.contact_id
            from segment_members as m
            inner join ids on m.entity_id = ids.person_id
            left join int_identity_person_ids as crm
                on crm.person_id = m.entity_id and crm.identifier_type = 'crm_contact_id'
            left join int_crm_contacts_deduplicated as contacts on contacts.contact_id = crm.identifier_value
            where m.entity_type = 'person' and ids.emails = 1 and ids.user_id is not null
                and m.entity_id not in (select person_id from recent_consent)
                and m.entity_id not in (select person_id from suppressions)
            order by m.segment_id, ids.user_id
            """
        )
        self.used: set[str] = set()
        self.groups: dict[str, list[tuple[str, str, str]]] = {}  # group -> (segment, person key, email)
        self.contact_rows: dict[str, dict[str, str]] = {}

    def take(self, group: str, segment: str, n: int, need_contact: bool = False) -> list[tuple]:
        chosen = []
        for seg, person, email, user_id, contact in self.candidates:
            if seg == segment and person not in self.used and (contact or not need_contact):
                chosen.append((seg, person, email, user_id, contact))
                self.used.add(person)
                if len(chosen) == n:
                    break
        assert len(chosen) == n, f"not enough members of {segment} for {group}"
        self.groups.setdefault(group, []).extend((s, p, e) for s, p, e, _u, _c in chosen)
        return chosen

    def plant(self, raw: Path, batch: int, ads_segment: str, email_segments: list[str]) -> None:
        events, emails, consent, contacts = [], [], [], []
        before_groups = {group: len(rows) for group, rows in self.groups.items()}
        for index, segment in enumerate(email_segments):
            for _s, _p, email, _u, _c in self.take(f"unsubscribed_after_grant_{batch}", segment, 1):
                emails.append([f"ee_planted_{batch}_u{index}", email, "cmp_planted", "unsubscribe", SIGNAL_AT, ""])
            if batch == 1:
                # unsubscribed, then granted marketing again: stays
                for _s, _p, email, _u, _c in self.take("unsubscribed_before_grant", segment, 1):
                    emails.append([f"ee_planted_b{index}", email, "cmp_planted", "unsubscribe", EARLIER_AT, ""])
                    consent.append(["email", email, "marketing", "true", GRANT_AT])
                for _s, _p, email, _u, _c in self.take("spam_complaint", segment, 1):
                    emails.append([f"ee_planted_s{index}", email, "cmp_planted", "spam", SIGNAL_AT, ""])
                for _s, _p, email, _u, _c in self.take("bounced_email_event", segment, 1):
                    emails.append([f"ee_planted_x{index}", email, "cmp_planted", "bounce", SIGNAL_AT, ""])
                for _s, _p, email, _u, _c in self.take("analytics_refused_file", segment, 1):
                    consent.append(["email", email, "analytics", "false", SIGNAL_AT])
            for _s, person, _e, user_id, _c in self.take(f"analytics_refused_event_{batch}", segment, 1):
                events.append(identify(f"planted-{batch}-a-{person}", user_id,
                                       {"consent": {"categoryPreferences": {"Analytics": False, "Functional": True}}}))
            if batch == 2:
                for _s, _p, email, _u, contact in self.take("bounced_crm", segment, 1, need_contact=True):
                    row = self.contact_rows[contact]
                    contacts.append([contact, email, row["title"], row["account_id"], "bounced", SIGNAL_AT])
        gpc = {"consent": {"categoryPreferences": {"DataSharing": False, "Analytics": True}}} if batch == 1 \
            else {"globalPrivacyControl": True}
        for _s, person, _e, user_id, _c in self.take(f"do_not_sell_{batch}", ads_segment, 2):
            events.append(identify(f"planted-{batch}-g-{person}", user_id, gpc))
        # the controls: one per person treated in this batch, from the same segment, harmless rows only
        treated = [segment for group, rows in self.groups.items() for segment, _p, _e in rows[before_groups.get(group, 0):]]
        for index, segment in enumerate(treated):
            for _s, person, email, user_id, _c in self.take(f"control_{batch}", segment, 1):
                events.append(identify(f"planted-{batch}-c-{person}", user_id,
                                       {"consent": {"categoryPreferences": {"Analytics": True, "DataSharing": True}}}))
                emails.append([f"ee_planted_{batch}_c{index}", email, "cmp_planted", "delivered", SIGNAL_AT, ""])
        (raw / "events" / f"planted-{batch}.jsonl").write_text("\n".join(events) + "\n")
        append_rows(raw / "email_events.csv", emails)
        append_rows(raw / "consent.csv", consent)
        if contacts:
            append_rows(raw / "crm_contacts.csv", contacts)

    def people(self, prefix: str) -> set[str]:
        return {p for group, rows in self.groups.items() if group.startswith(prefix) for _s, p, _e in rows}


def plant_freshness(raw: Path) -> tuple[set[str], set[str]]:
    """Shift updated_at (keeping each id's versions in order): every 3rd account keeps its 200-day-old
    firmographics, the others become 5 days old; 2 contacts in 5 become 400 days older (stale)."""
    stale_accounts, stale_contacts = set(), set()
    for name, key, shift_days, shifted in (("accounts.csv", "account_id", 195, lambda i: i % 3 != 0),
                                           ("crm_contacts.csv", "contact_id", -400, lambda i: i % 5 < 2)):
        with (raw / name).open(newline="") as handle:
            rows = list(csv.reader(handle))
        header, body = rows[0], rows[1:]
        at, id_at = header.index("updated_at"), header.index(key)
        ids = sorted({row[id_at] for row in body if len(row) == len(header)})
        moved = {value for i, value in enumerate(ids) if shifted(i)}
        for row in body:
            if len(row) == len(header) and row[id_at] in moved:
                try:
                    stamp = pd.Timestamp(row[at]) + pd.Timedelta(days=shift_days)
                except ValueError:
                    continue
                row[at] = stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with (raw / name).open("w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([header, *body])
        if name == "accounts.csv":
            stale_accounts.update(set(ids) - moved)
        else:
            stale_contacts.update(moved)
    return stale_accounts, stale_contacts


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    baseline = Workspace(tmp_path_factory.mktemp("consent_baseline"), generic_tests=False)
    generate(baseline.raw, baseline.truth, events=20_000, seed=7, progress=False)
    requests = baseline.raw / "erasure_requests.csv"
    requests.write_text(requests.read_text().splitlines()[0] + "\n")
    build(baseline)
    before = memberships(baseline)
    segment_channels = channels(baseline)
    ads_segment = next(s for s, c in segment_channels.items() if "ads" in c and any(s in m for m in before.values()))
    planter = Planter(baseline)
    # email segments with members enough for every planted group and its controls (PEOPLE_PER_EMAIL_SEGMENT)
    candidates = Counter(segment for segment, *_rest in planter.candidates)
    email_segments = sorted(s for s, c in segment_channels.items()
                            if "email" in c and candidates[s] >= PEOPLE_PER_EMAIL_SEGMENT + (8 if s == ads_segment else 0))
    assert email_segments, f"no email segment has {PEOPLE_PER_EMAIL_SEGMENT} members to plant: {candidates}"
    planter.contact_rows = {
        contact: {"title": title or "", "account_id": account or ""}
        for contact, title, account in baseline.query("select contact_id, title, account_id from int_crm_contacts_deduplicated")
    }

    space = Workspace(tmp_path_factory.mktemp("consent_planted"), generic_tests=False)
    shutil.rmtree(space.raw)
    shutil.copytree(baseline.raw, space.raw)
    stale_accounts, stale_contacts = plant_freshness(space.raw)
    planter.plant(space.raw, 1, ads_segment, email_segments)
    build(space)  # fresh
    first = {"members": memberships(space), "dq": dict(space.query(
        "select expectation, severity || '|' || success || '|' || observed_value from dq_results")),
        "priority_accounts": {a for (a,) in space.query("select distinct account_id from int_crm_contacts_deduplicated where account_id is not null")},
        "contacts": {c for (c,) in space.query("select contact_id from int_crm_contacts_deduplicated")}}
    first_changes = space.query("select segment_id, entity_id, change from segment_member_changes")
    planter.plant(space.raw, 2, ads_segment, email_segments)
    build(space)  # incremental
    second = {"members": memberships(space)}
    changes = space.query("select segment_id, entity_id, change from segment_member_changes")
    return {"baseline": baseline, "space": space, "before": before, "channels": segment_channels, "planter": planter,
            "first": first, "second": second, "new_changes": changes[len(first_changes):],
            "stale_accounts": stale_accounts, "stale_contacts": stale_contacts, "ads": ads_segment}


def email_segments_of(data: dict, segments: set[str]) -> set[str]:
    return {s for s in segments if "email" in data["channels"][s]}


@pytest.mark.parametrize("build_name", ["first", "second"])
@pytest.mark.parametrize("group", ["unsubscribed_after_grant_1", "spam_complaint", "bounced_email_event"])
def test_unsubscribes_complaints_and_bounces_leave_email_segments(planted, group, build_name):
    members = planted[build_name]["members"]
    for segment, person, _email in planted["planter"].groups[group]:
        assert "email" in planted["channels"][segment]
        assert email_segments_of(planted, members.get(person, set())) == set(), (group, person)
        # suppressed on email only: a segment without email (top customers: sales) may still reach them
        assert {c for (c,) in planted["space"].query(f"select channel from suppressions where person_id = {PERSON}", [person])} == {"email"}


def test_incremental_batch_leaves_email_segments_and_is_logged_as_exits(planted):
    members = planted["second"]["members"]
    exits = {(s, e) for s, e, change in planted["new_changes"] if change == "exited"}
    person_ids = {key: planted["space"].scalar(f"select {PERSON}", [key]) for key in planted["planter"].used}
    for group in ("unsubscribed_after_grant_2", "bounced_crm"):
        for segment, person, _email in planted["planter"].groups[group]:
            assert email_segments_of(planted, members.get(person, set())) == set(), (group, person)
            assert (segment, person_ids[person]) in exits
    for group, reason in (("unsubscribed_after_grant_2", "unsubscribed"), ("bounced_crm", "bounced")):
        people = planted["planter"].people(group)
        found = planted["space"].query(
            f"select person_id from suppressions where reason = ? and channel = 'email' and person_id in {persons_of(people)}",
            [reason])
        assert {p for (p,) in found} == {person_ids[key] for key in people}


def test_unsubscribe_before_the_latest_grant_stays(planted):
    for build_name in ("first", "second"):
        members = planted[build_name]["members"]
        for _segment, person, _email in planted["planter"].groups["unsubscribed_before_grant"]:
            assert planted["before"][person] <= members.get(person, set()), person
    people = planted["planter"].people("unsubscribed_before_grant")
    assert planted["space"].query(f"select * from suppressions where person_id in {persons_of(people)}") == []


@pytest.mark.parametrize("prefix", ["analytics_refused_file", "analytics_refused_event_1", "analytics_refused_event_2"])
def test_analytics_refusers_are_not_profiled(planted, prefix):
    space = planted["space"]
    people = planted["planter"].people(prefix)
    assert people
    for person in people:
        assert person not in planted["second"]["members"], person
        if not prefix.endswith("_2"):
            assert person not in planted["first"]["members"], person
        row = space.query(
            """select not_profiled_reason, recency_days, frequency, monetary, r_score, rfm_segment, engagement_score,
                      intent_score, p_alive, expected_purchases_90d, is_activated
               from person_scores where person_id = {PERSON}""".replace("{PERSON}", PERSON), [person])
        assert row == [("analytics_refused",) + (None,) * 10]
        assert space.scalar(f"select count(*) from person_predictions where person_id = {PERSON}", [person]) == 0
        assert space.query(f"select channel, purpose, reason from suppressions where person_id = {PERSON} and reason = 'analytics_refused'",
                           [person]) == [("all", "all", "analytics_refused")]


def test_suggestions_learn_from_profiled_people_only(planted):
    space = planted["space"]
    clustered = space.scalar("select sum(member_count) from segment_suggestions")
    profiled = space.scalar("select count(*) from person_scores where not_profiled_reason is null")
    refusers = space.scalar("select count(*) from person_scores where not_profiled_reason is not null")
    assert refusers > 0
    assert clustered == profiled


@pytest.mark.parametrize("batch", [1, 2])
def test_do_not_sell_leaves_ads_segments_only(planted, batch):
    members = planted["second"]["members"]
    for _segment, person, _email in planted["planter"].groups[f"do_not_sell_{batch}"]:
        now = members.get(person, set())
        assert not any("ads" in planted["channels"][s] for s in now), person
        # champions (email, in_app) or pricing visitors keep them
        assert {s for s in planted["before"][person] if "ads" not in planted["channels"][s]} <= now | {"top_customers"}
        assert planted["space"].query(f"select channel, purpose from suppressions where person_id = {PERSON} and reason = 'do_not_sell'",
                                      [person]) == [("ads", "all")]


def test_the_control_group_stays_in(planted):
    controls = planted["planter"].people("control")
    assert len(controls) >= 10
    for build_name in ("first", "second"):
        members = planted[build_name]["members"]
        lost = {p: planted["before"][p] - members.get(p, set()) for p in controls}
        # at-risk and top customers read p_alive, which moves a little when refusers leave the fit
        lost = {p: s - {"at_risk_customers", "top_customers"} for p, s in lost.items()}
        assert all(not s for s in lost.values()), lost
    suppressed = planted["space"].query(f"select person_id, reason from suppressions where person_id in {persons_of(controls)}")
    assert suppressed == []


def test_nobody_else_loses_a_segment(planted):
    """Outside the planted people, memberships that do not read p_alive are exactly the baseline's."""
    planted_people = planted["planter"].used
    stable = {"pricing_visitors_without_demo", "champions"}
    # people without a user id are keyed by their person id, which the graph may change: not comparable
    without_user_id = {p for (p,) in planted["baseline"].query("select person_id from people")}
    assert len(set(planted["before"]) - without_user_id) > 50
    for build_name in ("first", "second"):
        members = planted[build_name]["members"]
        for person, segments in planted["before"].items():
            if person not in planted_people and person not in without_user_id:
                assert segments & stable == members.get(person, set()) & stable, person


def test_freshness_warns_by_default(planted):
    dq = planted["first"]["dq"]
    priority = planted["first"]["priority_accounts"]
    expected_accounts = len(priority & planted["stale_accounts"]) / len(priority)
    severity, success, observed = dq["accounts_stale_firmographics_share"].split("|")
    assert (severity, success) == ("warn", "false")
    assert float(observed) == pytest.approx(expected_accounts, abs=1e-6)
    contacts = planted["first"]["contacts"]
    expected_contacts = len(contacts & planted["stale_contacts"]) / len(contacts)
    severity, success, observed = dq["crm_contacts_stale_share"].split("|")
    assert (severity, success) == ("warn", "false")
    assert float(observed) == pytest.approx(expected_contacts, abs=1e-6)
    ages = planted["space"].query("select min(firmographics_age_days), max(firmographics_age_days) from accounts")
    assert ages == [(5, 200)]


def test_summary_counts_suppressions_by_reason(planted):
    text = summary.render(planted["space"].database)
    line = next(line for line in text.splitlines() if line.startswith("Suppressions"))
    for reason, people in planted["space"].query("select reason, count(distinct person_id) from suppressions group by 1"):
        assert f"{reason} {people:,}" in line


def test_stale_firmographics_fail_the_gate_when_severity_says_fail(planted, tmp_path):
    space = Workspace(tmp_path / "copy", generic_tests=False)  # the gate fails first
    shutil.rmtree(space.raw)
    shutil.copytree(planted["space"].raw, space.raw)
    shutil.copy(planted["space"].database, space.database)
    severity = {**DEFAULT_SEVERITY, "accounts_stale_firmographics_share": "fail"}
    run = space.dbt("build", "--vars", json.dumps({"as_of": AS_OF, "dq_severity": severity}))
    assert run.returncode != 0
    assert "Data-quality gate failed" in run.output
    assert "accounts_stale_firmographics_share" in run.output
    assert "Traceback" not in run.output
