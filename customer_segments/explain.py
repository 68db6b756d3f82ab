"""Explain one person: who they are, what their scores are made of, and why they are or are not in each segment.

`segments explain IDENTIFIER` answers the questions support and marketing ask
about one person ("why is she not a champion?") without SQL by hand. It
resolves the identifier and reads the person's records exactly as the access
export does (both through `customer_segments.lookup`), and adds two things:

- Score contributions. Engagement and intent are recomputed the way
  `int_person_engagement` computes them (sum over `int_activity_daily` of
  events x weight x 2^(-age_days / half_life_days), weights from the
  `event_taxonomy` seed, each activity row attributed to the person of its
  user id, else anonymous id, else email), grouped by event and day. The top
  ones and the rest add up to the score, so the breakdown is checked, not
  guessed.
- A verdict for every catalog segment (suggested ones aside): member or not,
  and the reasons, among a small honest set: the segment is not active, the
  person's account is not a member (account segments), the person does not
  match the rule, or consent does not allow the segment's purpose. Whether
  the person matches the rule is read from the segment's own catalog view
  (`segments.model_name`), which applies the rule before consent, so the
  answer is the one the build used, not a re-implementation of it.

The explanation depends on the person, not on the identifier used to find
them: by their email or by their user id it is the same, text and JSON.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

import duckdb

from customer_segments import lookup

TOP_CONTRIBUTIONS = 5
HISTORY_LIMIT = 10
CONSENT_PURPOSES = ("analytics", "marketing", "personalization")

# Short phrases for the reasons a person is not a member (the `code` of each reason).
REASON_CODES = (
    "not_active",  # the segment is draft or retired: only active segments have members
    "no_account",  # account segment, and the person has no account
    "account_not_member",  # account segment, and the person's account is not in it
    "no_rule_match",  # the person is not in the segment's catalog view
    "no_consent",  # the segment's purpose and lawful basis exclude the person
    "suppressed",  # a suppression on one of the segment's channels (unsubscribe, bounce, do not sell, ...)
    "rule_unknown",  # the catalog view is not in the warehouse
    "unexplained",  # every check passes, yet no membership row (a build in progress?)
)


def explain_person(
    connection: duckdb.DuckDBPyConnection,
    value: str,
    identifier_type: str | None = None,
    *,
    project_root: Path = lookup.PROJECT_ROOT,
    top: int = TOP_CONTRIBUTIONS,
) -> dict[str, Any]:
    """The explanation of the person the identifier belongs to, JSON-ready.

    Raises lookup.PersonNotFound, AmbiguousIdentifier or WarehouseIncomplete (all AccessError),
    as the access export does.
    """
    person_id = lookup.resolve_person(connection, value, identifier_type)
    return _Explanation(lookup.PersonRecords(connection, person_id, project_root), top).build()


def to_json(explanation: dict[str, Any]) -> str:
    return lookup.to_json(explanation)


def consent_allows(lawful_basis: str | None, granted: bool | None) -> bool:
    """As segment_members_current: consent needs a grant; legitimate interest only no refusal."""
    if lawful_basis == "legitimate_interest":
        return granted is not False
    return granted is True


class _Explanation:
    def __init__(self, records: lookup.PersonRecords, top: int) -> None:
        self.records = records
        self.top = top

    def build(self) -> dict[str, Any]:
        records = self.records
        pid = records.person_id
        build = records.section("build", ["int_build_context"], lambda: records.row("select * from int_build_context"))
        people = records.section("person", ["people"], lambda: records.row("select * from people where person_id = ?", [pid]))
        account = records.account()
        account_id = account["account_id"]
        scores = records.section(
            "scores", ["person_scores"], lambda: records.row("select * from person_scores where person_id = ?", [pid])
        )
        identifiers = records.section("identifiers", [lookup.IDENTITY_TABLE], records.identifiers)
        contributions = records.section(
            "contributions",
            ["int_activity_daily", "event_taxonomy", "int_build_context", lookup.IDENTITY_TABLE],
            lambda: score_contributions(records.connection, pid, self.top),
        )
        if contributions is not None:
            for name in ("engagement", "intent"):
                contributions[name]["score"] = (scores or {}).get(f"{name}_score")
        segments = records.section(
            "segments", ["segments", "segment_members"], lambda: self.segments(people, account, scores)
        )
        history = records.section("segment_history", ["segment_member_changes"], lambda: records.segment_history(account_id))
        return {
            "person_id": pid,
            "as_of": build["as_of"] if build else None,
            "person": {
                "account_id": account_id,
                "account_name": (account.get("account") or {}).get("account_name"),
                "lifecycle_stage": (people or {}).get("lifecycle_stage"),
                "first_seen_at": (people or {}).get("first_seen_at"),
                "last_seen_at": (people or {}).get("last_seen_at"),
                "consent": {purpose: (people or {}).get(f"consent_{purpose}") for purpose in CONSENT_PURPOSES},
            },
            "identifiers": identifiers,
            "scores": scores,
            "contributions": contributions,
            "segments": segments,
            "segment_history": None if history is None else history[-HISTORY_LIMIT:],
            "segment_history_total": None if history is None else len(history),
            "unavailable": records.unavailable,
        }

    def segments(self, people: dict | None, account: dict, scores: dict | None) -> list[dict]:
        records = self.records
        account_id = account["account_id"]
        definitions = records.rows(
            """
            select segment_id, name, entity_type, status, priority, purpose, lawful_basis, channels, model_name, profile
            from segments
            where status is distinct from 'suggested'
            order by status <> 'active', priority, segment_id
            """
        )
        memberships = {
            (row["entity_type"], row["segment_id"]): row
            for row in records.rows(
                """
                select segment_id, entity_type, entered_at, is_holdout, score, priority, is_primary
                from segment_members
                where (entity_type = 'person' and entity_id = ?) or (entity_type = 'account' and entity_id = ?)
                """,
                [records.person_id, account_id],
            )
        }
        suppressions = (
            records.rows("select channel, purpose, reason, since from suppressions where person_id = ?", [records.person_id])
            if "suppressions" in records.tables else []
        )
        verdicts = []
        for definition in definitions:
            is_person = definition["entity_type"] == "person"
            entity_id = records.person_id if is_person else account_id
            membership = memberships.get((definition["entity_type"], definition["segment_id"]))
            if membership is not None:
                membership = {key: membership[key] for key in membership if key not in ("segment_id", "entity_type")}
            matches = self.matches_rule(definition["model_name"], entity_id) if entity_id else None
            consent = None
            if is_person:
                purpose, basis = definition["purpose"], definition["lawful_basis"]
                granted = (people or {}).get(f"consent_{purpose}")
                consent = {
                    "purpose": purpose,
                    "lawful_basis": basis,
                    "granted": granted,
                    "allows": consent_allows(basis, granted),
                }
            score_row = scores if is_person else account.get("scores")
            why = records.why(
                definition["profile"], definition["model_name"], "person_scores" if is_person else "account_scores", score_row
            )
            verdicts.append(
                {
                    "segment_id": definition["segment_id"],
                    "name": definition["name"],
                    "entity_type": definition["entity_type"],
                    "entity_id": entity_id,
                    "status": definition["status"],
                    "priority": definition["priority"],
                    "is_member": membership is not None,
                    "membership": membership,
                    "matches_rule": matches,
                    "consent": consent,
                    "reasons": [] if membership else reasons(
                        definition, entity_id, matches, consent, blocking(definition, suppressions) if is_person else []
                    ),
                    "definition": why["definition"],
                    "rule": why["rule"],
                    "values": why["values"],
                    "values_are": why["values_are"],
                }
            )
        return verdicts

    def matches_rule(self, model_name: str | None, entity_id: str) -> bool | None:
        """Whether the segment's catalog view (its rule, before consent) returns the entity; None if unknown."""
        if not model_name or not re.fullmatch(r"[A-Za-z0-9_]+", model_name) or model_name not in self.records.tables:
            return None
        try:
            found = self.records.connection.execute(
                f'select count(*) from "{model_name}" where cast(entity_id as varchar) = ?', [entity_id]
            ).fetchone()[0]
        except duckdb.Error:
            return None
        return found > 0


def blocking(definition: dict, suppressions: list[dict]) -> list[dict]:
    """As segment_members_current: the suppressions on one of the segment's channels, for its purpose.

    A withdrawn consent is left out: the consent check (`no_consent`) already says it.
    """
    channels = {"all", *(definition.get("channels") or "").split(",")}
    return [
        row for row in suppressions
        if row["channel"] in channels and row["purpose"] in ("all", definition["purpose"]) and row["reason"] != "consent_withdrawn"
    ]


def reasons(
    definition: dict, entity_id: str | None, matches: bool | None, consent: dict | None, suppressed: list[dict] | None = None
) -> list[dict[str, str]]:
    """Every reason a non-member is not in the segment, the decisive one first."""
    found = []
    status = definition["status"]
    if status != "active":
        found.append(
            {"code": "not_active", "text": f"the segment is {status}: only active segments have members"}
        )
    if definition["entity_type"] != "person":
        if entity_id is None:
            found.append({"code": "no_account", "text": "an account segment, and the person has no account"})
        elif status == "active":
            rule = {True: "it matches the rule", False: "it does not match the rule", None: "its rule could not be read"}
            found.append(
                {
                    "code": "account_not_member",
                    "text": f"an account segment: their account {entity_id} is not a member ({rule[matches]})",
                }
            )
        elif matches is False:
            found.append(
                {"code": "no_rule_match", "text": f"an account segment: their account {entity_id} does not match the rule"}
            )
        return found
    if matches is False:
        found.append({"code": "no_rule_match", "text": "does not match the rule"})
    elif matches is None:
        found.append({"code": "rule_unknown", "text": f"the rule's view {definition['model_name']} is not in the warehouse"})
    if consent is not None and not consent["allows"]:
        found.append({"code": "no_consent", "text": consent_text(consent)})
    for row in suppressed or []:
        found.append(
            {
                "code": "suppressed",
                "text": f"suppressed: {row['reason']} since {row['since']} (channel {row['channel']}, purpose {row['purpose']}); "
                f"the segment uses {definition.get('channels')}",
            }
        )
    if not found:
        found.append(
            {
                "code": "unexplained",
                "text": "matches the rule and consent allows it, yet is not a member (is a build running?)",
            }
        )
    return found


def consent_text(consent: dict) -> str:
    purpose, basis = consent["purpose"], consent["lawful_basis"]
    state = flag_text(consent["granted"])
    if basis == "legitimate_interest":
        return f"no consent: serves {purpose} under legitimate interest, and the person's {purpose} consent is {state}"
    return f"no consent: serves {purpose} under lawful basis consent (needs a grant); the person's {purpose} consent: {state}"


def flag_text(granted: bool | None) -> str:
    return {True: "granted", False: "refused or withdrawn", None: "no record"}[granted]


# ---------------------------------------------------------------------------
# Score contributions


def score_contributions(connection: duckdb.DuckDBPyConnection, person_id: str, top: int = TOP_CONTRIBUTIONS) -> dict:
    """The person's engagement and intent split by (event, day), as int_person_engagement sums them.

    For each score: `total` (the sum of every contribution: the score, up to rounding), `event_days`,
    the `top` contributions by points and `others` (how many more, and their points).
    """
    cursor = connection.execute(
        f"""
        with ids as (
            select identifier_type, identifier_value from {lookup.IDENTITY_TABLE} where person_id = ?
        ),
        candidate as (
            select * from int_activity_daily
            where user_id in (select identifier_value from ids where identifier_type = 'user_id')
                or anonymous_id in (select identifier_value from ids where identifier_type = 'anonymous_id')
                or email in (select identifier_value from ids where identifier_type = 'email')
        ),
        attributed as (
            -- int_person_engagement: a day's activity is its user id's person, else its anonymous id's, else its email's
            select
                coalesce(by_user.person_id, by_anonymous.person_id, by_email.person_id) as person_id,
                candidate.canonical_event,
                candidate.activity_date,
                candidate.events
            from candidate
            left join {lookup.IDENTITY_TABLE} as by_user
                on by_user.identifier_type = 'user_id' and candidate.user_id = by_user.identifier_value
            left join {lookup.IDENTITY_TABLE} as by_anonymous
                on by_anonymous.identifier_type = 'anonymous_id' and candidate.anonymous_id = by_anonymous.identifier_value
            left join {lookup.IDENTITY_TABLE} as by_email
                on by_email.identifier_type = 'email' and candidate.email = by_email.identifier_value
        ),
        decayed as (
            select
                attributed.canonical_event,
                attributed.activity_date,
                attributed.events,
                taxonomy.is_intent,
                taxonomy.weight,
                taxonomy.half_life_days,
                date_diff('day', attributed.activity_date::timestamp, cast(build.as_of as date)::timestamp) as age_days,
                attributed.events * taxonomy.weight * power(
                    2.0,
                    -1.0 * date_diff('day', attributed.activity_date::timestamp, cast(build.as_of as date)::timestamp)
                    / taxonomy.half_life_days
                ) as points
            from attributed
            inner join event_taxonomy as taxonomy on attributed.canonical_event = taxonomy.canonical_event
            cross join int_build_context as build
            where attributed.person_id = ?
                and attributed.activity_date <= cast(build.as_of as date)
        )
        select
            canonical_event,
            activity_date,
            cast(sum(events) as bigint) as events,
            any_value(weight) as weight,
            any_value(half_life_days) as half_life_days,
            any_value(age_days) as age_days,
            bool_or(is_intent) as is_intent,
            sum(points) as points
        from decayed
        group by canonical_event, activity_date
        order by points desc, activity_date desc, canonical_event
        """,
        [person_id, person_id],
    )
    names = [column[0] for column in cursor.description]
    rows = [{name: lookup.json_value(cell) for name, cell in zip(names, row)} for row in cursor.fetchall()]
    return {
        "engagement": _split(rows, top),
        "intent": _split([row for row in rows if row["is_intent"]], top),
    }


def _split(rows: list[dict], top: int) -> dict:
    shown = [{key: value for key, value in row.items() if key != "is_intent"} for row in rows[:top]]
    rest = rows[top:]
    return {
        "score": None,  # the person_scores value, filled in by the caller
        "total": sum(row["points"] for row in rows),
        "event_days": len(rows),
        "top": shown,
        "others": {"event_days": len(rest), "points": sum(row["points"] for row in rest)},
    }


# ---------------------------------------------------------------------------
# Text


def render_text(explanation: dict[str, Any], width: int | None = None) -> str:
    """The explanation for a terminal: short sections, one line per fact, wrapped to the width."""
    width = width or min(shutil.get_terminal_size((100, 24)).columns, 110)
    lines: list[str] = []
    add = lines.append
    person = explanation["person"]
    add(f"Person {explanation['person_id']}" + (f" (as of {day(explanation['as_of'])})" if explanation["as_of"] else ""))
    account = person["account_id"]
    if account:
        add(f"  account    {account}" + (f" ({person['account_name']})" if person["account_name"] else ""))
    else:
        add("  account    none")
    add(
        f"  lifecycle  {person['lifecycle_stage'] or 'unknown'}"
        f" (first seen {day(person['first_seen_at'])}, last seen {day(person['last_seen_at'])})"
    )
    add("  consent    " + ", ".join(f"{purpose} {flag_text(flag)}" for purpose, flag in person["consent"].items()))

    identifiers = explanation["identifiers"]
    if identifiers is not None:
        add(f"Identifiers ({len(identifiers)})")
        kind_width = max((len(i["identifier_type"]) for i in identifiers), default=0)
        for identifier in identifiers:
            add(
                f"  {identifier['identifier_type']:<{kind_width}}  {identifier['identifier_value']}"
                f"  ({day(identifier['first_seen_at'])} to {day(identifier['last_seen_at'])})"
            )

    scores = explanation["scores"]
    if scores is not None:
        add("Scores")
        add(
            f"  RFM         {scores['rfm_segment']}"
            + (
                f" (R{scores['r_score']} F{scores['f_score']} M{scores['m_score']}: {scores['frequency']} orders,"
                f" {number(scores['monetary'])} spent, last {scores['recency_days']} days ago)"
                if scores.get("r_score") is not None
                else ""
            )
        )
        add(f"  engagement  {number(scores['engagement_score'])}")
        add(f"  intent      {number(scores['intent_score'])}")
        expected = next((key for key in scores if key.startswith("expected_purchases")), None)
        add(
            f"  p_alive     {number(scores.get('p_alive'))}"
            + (f", expected purchases ({expected.rsplit('_', 1)[-1]}) {number(scores[expected])}" if expected else "")
        )

    contributions = explanation["contributions"]
    if contributions is not None:
        add("Top contributions (points = events x weight x 2^(-age / half-life), as int_person_engagement)")
        for name in ("engagement", "intent"):
            part = contributions[name]
            add(f"  {name} {number(part['score'])} from {part['event_days']} event-days")
            for row in part["top"]:
                add(
                    f"    {row['canonical_event']:<18} {row['activity_date']}  {row['events']:>3} x {number(row['weight']):<3}"
                    f"  age {row['age_days']:>3}d, half-life {number(row['half_life_days']):>2}d  {number(row['points']):>8}"
                )
            if part["others"]["event_days"]:
                add(f"    {'+ ' + str(part['others']['event_days']) + ' more event-days':<61}{number(part['others']['points']):>8}")
            if part["score"] is not None and abs(part["total"] - part["score"]) > 1e-6:
                add(f"    note: these add up to {number(part['total'])}, not the score (has the warehouse changed since?)")

    segments = explanation["segments"]
    if segments is not None:
        add("Segments")

        def wrap(text: str, indent: str) -> None:
            lines.extend(textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  "))

        for segment in segments:
            head = f"  {segment['segment_id']} ({segment['status']}, priority {segment['priority']}): "
            if segment["is_member"]:
                via = f" via account {segment['entity_id']}" if segment["entity_type"] == "account" else ""
                lines.extend(
                    textwrap.wrap(f"{head}MEMBER{via}: {membership_text(segment['membership'])}", width, subsequent_indent="    ")
                )
            else:
                add(f"{head}not a member")
            values = ", ".join(f"{key} {number(value)}" for key, value in (segment["values"] or {}).items())
            for reason in segment["reasons"]:
                wrap("- " + reason["text"], "    ")
                # what the rule says, where it decides
                if reason["code"] in ("no_rule_match", "account_not_member") and segment["matches_rule"] is False:
                    if segment["definition"]:
                        wrap(f"rule: {segment['definition']}", "      ")
                    if values:
                        wrap(f"{segment['entity_type']}'s values: {values}", "      ")
            if segment["is_member"] and values:
                wrap(f"values: {values}", "    ")

    history = explanation["segment_history"]
    if history:
        total = explanation["segment_history_total"]
        add(f"Segment changes (last {len(history)} of {total})" if total > len(history) else "Segment changes")
        for change in history:
            add(
                f"  {day(change['changed_at'])}  {change['change']:<7}  {change['segment_id']}"
                + (f" (account {change['entity_id']})" if change["entity_type"] == "account" else "")
                + (" holdout" if change.get("is_holdout") else "")
            )
    if explanation["unavailable"]:
        add("Unavailable (partial build)")
        for entry in explanation["unavailable"]:
            add(f"  {entry['section']}: {entry['reason']}")
    return "\n".join(lines) + "\n"


def membership_text(membership: dict) -> str:
    parts = [
        f"entered {day(membership['entered_at'])}",
        "holdout (not activated)" if membership["is_holdout"] else "treated",
        f"score {number(membership['score'])}",
        "primary segment" if membership["is_primary"] else "not primary",
    ]
    return ", ".join(parts)


def day(timestamp: str | None) -> str:
    """The date part of an ISO timestamp (the explanation's values are JSON-ready strings)."""
    return timestamp[:10] if timestamp else "-"


def number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"
    return str(value)
