"""A campaign with a known effect, acting on a segment the pipeline built.

The generator alone cannot produce a measurable lift: lift needs members that
were *treated* after they *entered* a segment, and who is a member (and who is
in the holdout) is only known once dbt has built `segment_members`. This module
closes the loop the way a real marketing team does: it reads the members of
one segment from a built warehouse, "runs the campaign" on the treated ones,
and writes what happened next as new raw events:

- every member reaches the segment's goal event within the window with
  probability `baseline`;
- treated members (is_holdout false) with probability `baseline + effect`.

So the true lift is `effect`, and `segment_lift` must find an interval that
covers it once the window has passed. The truth (every member, its group and
whether it converted) goes to `<truth>/campaign_<segment_id>.csv`.

    from customer_segments.generate.campaign import simulate_campaign
    simulate_campaign(raw, truth, "warehouse/segments.duckdb", "pricing_visitors_without_demo",
                      baseline=0.10, effect=0.30, window_days=30, seed=1)
"""

from __future__ import annotations

import csv
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np

from customer_segments.generate import GenerateError, spec

#: identifier types a raw event can carry, in order of preference
_EVENT_IDENTIFIERS = {"user_id": "userId", "anonymous_id": "anonymousId"}


def goal_track_name(goal: str) -> str:
    """The raw track name the generator instruments for a canonical goal event (e.g. Demo_Requested -> 'Demo Requested')."""
    for message_type, raw_name, canonical in spec.CATALOG:
        if canonical == goal and message_type == "track":
            return raw_name
    known = sorted({canonical for message_type, _raw, canonical in spec.CATALOG if message_type == "track"})
    raise GenerateError(f"the campaign goal must be a tracked event of the demo catalog ({', '.join(known)}), got {goal!r}")


def _members(database: Path, segment_id: str) -> tuple[str, list[tuple[str, bool, datetime, str, str]]]:
    """The segment's goal, and (person_id, is_holdout, entered_at, event field, identifier value) of its members."""
    with duckdb.connect(str(database), read_only=True) as connection:
        found = connection.execute("select goal, entity_type from segments where segment_id = ?", [segment_id]).fetchall()
        if not found:
            raise GenerateError(f"segment {segment_id!r} is not in the catalog of {database}")
        goal, entity_type = found[0]
        if entity_type != "person":
            raise GenerateError(f"campaigns are simulated on person segments; {segment_id!r} is an {entity_type} segment")
        rows = connection.execute(
            """
            with ids as (
                select
                    person_id,
                    identifier_type,
                    identifier_value,
                    row_number() over (
                        partition by person_id
                        order by case identifier_type when 'user_id' then 0 else 1 end, identifier_value
                    ) as preference
                from person_identifiers
                where identifier_type in ('user_id', 'anonymous_id')
            )
            select members.entity_id, members.is_holdout, members.entered_at, ids.identifier_type, ids.identifier_value
            from segment_members as members
            inner join ids on members.entity_id = ids.person_id and ids.preference = 1
            where members.segment_id = ?
            order by members.entity_id
            """,
            [segment_id],
        ).fetchall()
    return goal, [(p, h, e, _EVENT_IDENTIFIERS[t], v) for p, h, e, t, v in rows]


def simulate_campaign(
    raw_dir: str | Path,
    truth_dir: str | Path,
    database: str | Path,
    segment_id: str,
    *,
    baseline: float,
    effect: float,
    window_days: int = 30,
    seed: int = 0,
) -> dict:
    """Write the goal events of a campaign on `segment_id`'s members; return the counts and the true effect."""
    if not (0 <= baseline <= 1 and 0 <= baseline + effect <= 1):
        raise GenerateError(f"baseline and baseline + effect must be probabilities, got {baseline} and {baseline + effect}")
    if window_days < 2:
        raise GenerateError(f"window_days must be at least 2, got {window_days}")
    goal, members = _members(Path(database), segment_id)
    event_name = goal_track_name(goal)
    rng = np.random.default_rng(seed)
    draws = rng.random(len(members))
    # conversions land strictly inside the window: between 1 hour and window - 1 day after entering
    offsets = rng.uniform(3600, (window_days - 1) * 86400, len(members))

    lines, truth = [], []
    for (person_id, is_holdout, entered_at, field, value), draw, offset in zip(members, draws, offsets):
        converts = bool(draw < baseline + (0 if is_holdout else effect))
        truth.append({"person_id": person_id, "is_holdout": is_holdout, "converted": converts})
        if not converts:
            continue
        at = (entered_at.replace(tzinfo=timezone.utc) + timedelta(seconds=float(offset))).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        lines.append(json.dumps({
            "type": "track",
            "event": event_name,
            field: value,
            "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"campaign|{segment_id}|{seed}|{person_id}")),
            "timestamp": at,
            "sentAt": at,
            "receivedAt": at,
            "properties": {"campaign": f"{segment_id}-{seed}"},
            "context": {},
        }))

    events = Path(raw_dir) / "events"
    events.mkdir(parents=True, exist_ok=True)
    (events / f"campaign-{segment_id}-{seed}.jsonl").write_text("".join(line + "\n" for line in lines))
    truth_path = Path(truth_dir) / f"campaign_{segment_id}.csv"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    with truth_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["person_id", "is_holdout", "converted"])
        writer.writeheader()
        writer.writerows(truth)

    treated = [row for row in truth if not row["is_holdout"]]
    holdout = [row for row in truth if row["is_holdout"]]
    return {
        "segment_id": segment_id,
        "goal": goal,
        "effect": effect,
        "baseline": baseline,
        "treated": len(treated),
        "holdout": len(holdout),
        "treated_conversions": sum(row["converted"] for row in treated),
        "holdout_conversions": sum(row["converted"] for row in holdout),
    }
