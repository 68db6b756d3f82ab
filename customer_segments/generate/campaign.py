"""A campaign with a known effect, acting on a segment the pipeline built.

The generator alone cannot produce a measurable lift: lift needs members that
were *treated* after they *entered* a segment, and who is a member (and who is
in the holdout) is only known once dbt has built `segment_members`. This module
closes the loop the way a real marketing team does: it reads the members of
one segment from a built warehouse, "runs the campaign" on the treated ones,
and writes what happened next as new raw events:

- every member reaches the segment's goal within the window with
  probability `baseline`;
- treated members (is_holdout false) with probability `baseline + effect`.

When the goal is an event, the conversion is that event. When the goal is
`order`, it is one completed order appended to `orders.csv` (by the member's
user id), worth `order_value` on average in the holdout and `order_value +
value_effect` when treated (log-normal, spread `value_spread`). Treated members
convert after `treated_days_factor` times the delay a holdout member would
(1: no effect on time). Conversions land uniformly between 1 hour and window - 1
day after entering.

So the true lift is `effect` (and, for orders, `value_effect` on the average
order value, `true_effects()` on revenue per member and median days), and
`segment_lift` must find intervals that cover them once the window has passed.
The truth (every member, its group, whether it converted, when and for how
much) goes to `<truth>/campaign_<segment_id>.csv`.

    from customer_segments.generate.campaign import simulate_campaign
    simulate_campaign(raw, truth, "warehouse/segments.duckdb", "pricing_visitors_without_demo",
                      baseline=0.10, effect=0.30, window_days=30, seed=1)
    simulate_campaign(raw, truth, "warehouse/segments.duckdb", "cart_abandoners", baseline=0.3, effect=0.4,
                      order_value=50, value_effect=50, treated_days_factor=0.3, window_days=30, seed=2)
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


def true_effects(*, baseline: float, effect: float, order_value: float, value_effect: float,
                 treated_days_factor: float, window_days: int) -> dict[str, float]:
    """The treated-minus-holdout differences the simulation plants, in segment_lift's units.

    One order per converter, so revenue per member is the conversion rate times the mean
    order value; delays are uniform on [1 h, window - 1 day], the treated's scaled toward
    1 h by treated_days_factor, so the medians are the midpoints.
    """
    first, last = 1 / 24, window_days - 1
    holdout_median = (first + last) / 2
    treated_median = first + (holdout_median - first) * treated_days_factor
    return {
        "conversion": effect,
        "revenue_per_member": (baseline + effect) * (order_value + value_effect) - baseline * order_value,
        "order_value": value_effect,
        "days_to_convert": treated_median - holdout_median,
    }


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
    order_value: float = 50.0,
    value_effect: float = 0.0,
    value_spread: float = 0.3,
    treated_days_factor: float = 1.0,
) -> dict:
    """Write the goal events (or orders) of a campaign on `segment_id`'s members; return the counts and the true effects."""
    if not (0 <= baseline <= 1 and 0 <= baseline + effect <= 1):
        raise GenerateError(f"baseline and baseline + effect must be probabilities, got {baseline} and {baseline + effect}")
    if window_days < 2:
        raise GenerateError(f"window_days must be at least 2, got {window_days}")
    if order_value <= 0 or order_value + value_effect <= 0 or value_spread < 0:
        raise GenerateError(f"order values must be positive, got {order_value} and {order_value + value_effect}")
    if not 0 < treated_days_factor <= 1:
        raise GenerateError(f"treated_days_factor must be above 0 and at most 1, got {treated_days_factor}")
    goal, members = _members(Path(database), segment_id)
    is_order = goal == "order"
    event_name = None if is_order else goal_track_name(goal)
    if is_order and any(field != "userId" for *_rest, field, _value in members):
        raise GenerateError(f"an order campaign needs every member of {segment_id!r} to have a user id (orders are matched by it)")
    rng = np.random.default_rng(seed)
    draws = rng.random(len(members))
    # conversions land strictly inside the window: between 1 hour and window - 1 day after entering
    offsets = rng.uniform(3600, (window_days - 1) * 86400, len(members))
    # log-normal amounts with the asked mean: exp(N(0, s) - s^2 / 2) has mean 1
    spreads = np.exp(rng.normal(0.0, value_spread, len(members)) - value_spread ** 2 / 2)

    lines, orders, truth = [], [], []
    for (person_id, is_holdout, entered_at, field, value), draw, offset, spread in zip(members, draws, offsets, spreads):
        converts = bool(draw < baseline + (0 if is_holdout else effect))
        delay = float(offset) if is_holdout else 3600 + (float(offset) - 3600) * treated_days_factor
        amount = round(float(spread) * (order_value + (0 if is_holdout else value_effect)), 2) if is_order and converts else None
        truth.append({"person_id": person_id, "is_holdout": is_holdout, "converted": converts,
                      "days_to_convert": round(delay / 86400, 6) if converts else None, "amount": amount})
        if not converts:
            continue
        at = (entered_at.replace(tzinfo=timezone.utc) + timedelta(seconds=delay)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if is_order:
            orders.append(f"cmp_{segment_id}_{seed}_{len(orders):06d},{value},,{amount:.2f},USD,{at},completed")
            continue
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

    if is_order:
        _append_orders(Path(raw_dir) / "orders.csv", orders)
    else:
        events = Path(raw_dir) / "events"
        events.mkdir(parents=True, exist_ok=True)
        (events / f"campaign-{segment_id}-{seed}.jsonl").write_text("".join(line + "\n" for line in lines))
    truth_path = Path(truth_dir) / f"campaign_{segment_id}.csv"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    with truth_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["person_id", "is_holdout", "converted", "days_to_convert", "amount"])
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
        "true_effects": true_effects(baseline=baseline, effect=effect, order_value=order_value, value_effect=value_effect,
                                     treated_days_factor=treated_days_factor, window_days=window_days),
    }


def _append_orders(path: Path, rows: list[str]) -> None:
    """Append order rows to the shop's orders file (with its header when the file is new)."""
    header = "order_id,user_id,email,amount,currency,ordered_at,status\n"
    is_new = not path.exists() or path.stat().st_size == 0
    needs_newline = not is_new and not path.read_bytes().endswith(b"\n")
    with path.open("a", encoding="utf-8") as handle:
        if is_new:
            handle.write(header)
        handle.write(("\n" if needs_newline else "") + "".join(row + "\n" for row in rows))
