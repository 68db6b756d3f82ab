"""The report's sections: one function per section id, from warehouse to HTML.

Each section checks the tables it reads and says "Not available in this
build" when one is missing (a build the gate stopped, an older warehouse), and
passes every text from the data through `esc`.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import numpy as np

from customer_segments.report.charts import (
    BAD,
    GOOD,
    MUTED,
    PALETTE,
    WARN,
    Frame,
    diverging_bars,
    esc,
    fmt_number,
    histogram,
    horizontal_bars,
    interval_rows,
    legend,
    line_chart,
    sparkline,
    stacked_columns,
)
from customer_segments.report.data import Build, Context, SegmentInfo, Warehouse

SECTIONS = [
    ("summary", "Summary"),
    ("segment-sizes", "Segment sizes over builds"),
    ("entries-exits", "Entries and exits"),
    ("score-distributions", "Score distributions"),
    ("lift", "Lift"),
    ("overlaps", "Do the segments differ?"),
    ("data-quality", "Data quality"),
    ("identity-health", "Identity-graph health"),
    ("accounts", "Accounts: personas, buying committees, third-party signals"),
    ("suggestions", "Suggested segments"),
]
#: per-build bar charts show at most this many of the latest builds
MAX_BUILDS_IN_BARS = 30
HISTOGRAM_BINS = 16
MINUS = "\u2212"


# ---------------------------------------------------------------- formatting


def fmt_int(value: Any) -> str:
    return "\u2013" if value is None else f"{int(value):,}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    return "\u2013" if value is None else f"{float(value) * 100:.{digits}f}%"


def fmt_points(value: float | None) -> str:
    """A difference of two rates, in percentage points."""
    return "\u2013" if value is None else f"{float(value) * 100:+.1f} pts"


def fmt_lift(lift: float | None, low: float | None, high: float | None) -> str:
    """'+29.4 pts [+18.4, +36.5]': the estimate and its 95% interval, in percentage points."""
    if low is None or high is None:
        return fmt_points(lift)
    return f"{fmt_points(lift)} [{float(low) * 100:+.1f}, {float(high) * 100:+.1f}]"


def fmt_time(value: Any) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _number(value: Any) -> float | None:
    """An observed value as a number when it is one ('0.026', 21977), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _signed(count: int, sign: str) -> str:
    """+12 for entries, \u22123 for exits, a plain 0 for none."""
    return f"{sign}{count:,}" if count else "0"


def _kpis(items: list[tuple[str, str, str]]) -> str:
    """Key figures: (label, value, note) cards; value and note are already safe HTML."""
    cards = "".join(
        f'<div class="kpi"><div class="kpi-label">{esc(label)}</div><div class="kpi-value">{value}</div>'
        f'<div class="kpi-note">{note}</div></div>'
        for label, value, note in items
    )
    return f'<div class="kpis">{cards}</div>'


def _table(headers: list[str], rows: list[str], name: str, numeric: set[int] = frozenset()) -> str:
    """A table whose rows are ready-made `<tr>` strings; `numeric` columns are right-aligned."""
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{esc(h)}</th>' for i, h in enumerate(headers))
    return f'<div class="table-wrap"><table data-table="{esc(name)}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _cell(value: str, column: str, numeric: bool = False, raw: Any = None) -> str:
    """A cell with a data-col name (and the raw number, for tests and copy-paste)."""
    data = f' data-value="{esc(raw, None)}"' if raw is not None else ""
    css = ' class="num"' if numeric else ""
    return f'<td data-col="{column}"{data}{css}>{value}</td>'


def _unavailable(*tables: str) -> str:
    names = ", ".join(f"<code>{esc(t)}</code>" for t in tables)
    return f'<p class="unavailable">Not available in this build: {names} {"was" if len(tables) == 1 else "were"} not built.</p>'


def _badge(status: str, kind: str) -> str:
    return f'<span class="badge {kind}">{esc(status)}</span>'


# ---------------------------------------------------------------- sections


def section_summary(ctx: Context) -> str:
    db = ctx.db
    if not db.has("segments") and not ctx.builds:
        return _unavailable("segments", "build_audit")
    latest = ctx.builds[-1] if ctx.builds else None
    kpis = []
    gate_outcome, gate_kind = _gate_outcome(db, latest)
    kpis.append(("Data-quality gate", _badge(gate_outcome, gate_kind), esc(f"build {latest.label}" if latest else "")))
    if db.has("people"):
        people = db.rows("select count(*) from people")[0][0]
        kpis.append(("People", fmt_int(people), "stitched from their identifiers"))
    active = ctx.active
    total_members = sum(ctx.members.get(s.segment_id, (0, 0))[0] for s in active)
    kpis.append(("Active segments", fmt_int(len(active)), esc(f"{total_members:,} memberships")))
    if db.has("segment_lift") and active:
        measured = db.rows(
            "select count(*) from segment_lift where status = 'measured' and segment_id in "
            "(select segment_id from segments where status = 'active')"
        )[0][0]
        kpis.append(("Lift measured", f"{measured:,} of {len(active):,}", "active segments with enough matured entries"))
    if db.has("int_source_rows_accounted"):
        raw, quarantined = db.rows("select sum(raw_rows), sum(quarantined_rows) from int_source_rows_accounted")[0]
        share = (quarantined or 0) / raw if raw else None
        kpis.append(("Rows quarantined", fmt_int(quarantined), esc(f"{fmt_pct(share, 2)} of {int(raw or 0):,} raw rows")))
    body = [_kpis(kpis)]

    if ctx.segments:
        body.append("<h3>Segments at a glance</h3>")
        latest_moves = {
            segment_id: series[-1][1:] for segment_id, series in ctx.sizes.items() if series
        }
        lift = {}
        if db.has("segment_lift"):
            lift = {row[0]: row[1:] for row in db.rows("select segment_id, status, lift, lift_ci_low, lift_ci_high from segment_lift")}
        rows = []
        for s in ctx.segments:
            if s.status == "suggested":
                continue
            members, holdout = ctx.members.get(s.segment_id, (0, 0))
            entered, exited = latest_moves.get(s.segment_id, (0, 0))
            status_kind = {"active": "good", "draft": "muted", "retired": "muted"}.get(s.status, "muted")
            lift_text = "\u2013"
            if s.segment_id in lift and s.status == "active":
                lift_status, value, low, high = lift[s.segment_id]
                lift_text = (
                    fmt_lift(value, low, high)
                    if lift_status == "measured" else "not enough data yet"
                )
            rows.append(
                f'<tr data-segment="{esc(s.segment_id, None)}">'
                + _cell(f'<span class="swatch" style="background:{ctx.colours.get(s.segment_id, MUTED)}"></span>'
                        f"<strong>{esc(s.name)}</strong><br><code>{esc(s.segment_id)}</code>", "segment")
                + _cell(esc(s.entity_type), "entity")
                + _cell(_badge(s.status, status_kind), "status")
                + _cell(fmt_int(members), "members", True, members)
                + _cell(fmt_int(holdout), "holdout", True, holdout)
                + _cell(f"{_signed(entered, '+')} / {_signed(exited, MINUS)}", "moves", True)
                + _cell(esc(lift_text), "lift")
                + "</tr>"
            )
        body.append(_table(["Segment", "Entity", "Status", "Members", "Holdout", "Latest build in / out", "Lift (95% interval)"],
                           rows, "segments", {3, 4, 5}))
    if ctx.builds:
        shown = ctx.builds[-10:]
        body.append(f"<h3>Builds</h3><p class=\"hint\">{len(ctx.builds):,} build(s) recorded; the charts below number them "
                    "from the oldest. The latest ten:</p>")
        rows = [
            f'<tr data-build="{esc(b.build_id, None)}">'
            + _cell(esc(b.label), "build")
            + _cell(esc(fmt_time(b.at)), "built_at")
            + _cell(esc(fmt_time(b.as_of)), "as_of")
            + _cell(esc(b.gate or "\u2013"), "gate")
            + _cell(f"<code>{esc(b.build_id, 13)}</code>", "build_id")
            + "</tr>"
            for b in reversed(shown)
        ]
        body.append(_table(["Build", "Built at", "Data as of", "Data-quality gate", "Build id"], rows, "builds"))
    return "".join(body)


def _gate_outcome(db: Warehouse, latest: Build | None) -> tuple[str, str]:
    """The gate's verdict on the latest checked build, from dq_results (build_audit as a fallback)."""
    if db.has("dq_results"):
        found = db.rows(
            "select count(*) filter (where not success and severity = 'fail'), "
            "count(*) filter (where not success and severity <> 'fail'), count(*) from dq_results "
            "where build_id = (select build_id from dq_results order by checked_at desc limit 1)"
        )
        failed, warned, checks = found[0]
        if checks:
            if failed:
                return "failed", "bad"
            return ("passed with warnings", "warn") if warned else ("passed", "good")
    if latest and latest.gate:
        return latest.gate, "bad" if "fail" in latest.gate else "good"
    return "unknown", "muted"


def section_segment_sizes(ctx: Context) -> str:
    missing = ctx.db.missing("segment_member_changes")
    if missing:
        return _unavailable(*missing)
    if not ctx.builds or not ctx.sizes:
        return '<p class="empty">No segment has had members yet.</p>'
    shown = [s for s in ctx.segments if s.segment_id in ctx.sizes] + [
        SegmentInfo(segment_id, segment_id, "person", "unknown", None, None, None)
        for segment_id in sorted(set(ctx.sizes) - {s.segment_id for s in ctx.segments})
    ]
    labels = [b.label for b in ctx.builds]
    series = [(s.name, ctx.colours.get(s.segment_id, MUTED), [size for size, _in, _out in ctx.sizes[s.segment_id]]) for s in shown]
    chart = line_chart(labels, series, "Members per segment after each build", "members", Frame(height=320))
    rows = []
    for s in shown:
        replayed = ctx.sizes[s.segment_id][-1][0]
        first = ctx.sizes[s.segment_id][0][0]
        members = ctx.members.get(s.segment_id, (0, 0))[0]
        rows.append(
            f'<tr data-segment="{esc(s.segment_id, None)}">'
            + _cell(f'<span class="swatch" style="background:{ctx.colours.get(s.segment_id, MUTED)}"></span>{esc(s.name)}', "segment")
            + _cell(fmt_int(first), "first", True, first)
            + _cell(fmt_int(replayed), "size", True, replayed)
            + _cell(f"{replayed - first:+,}", "change", True, replayed - first)
            + _cell(fmt_int(members), "members", True, members)
            + "</tr>"
        )
    return (
        f'<figure>{chart}{legend([(s.name, ctx.colours.get(s.segment_id, MUTED)) for s in shown])}</figure>'
        + _table(["Segment", f"After build {ctx.builds[0].label}", f"After build {ctx.builds[-1].label}", "Change",
                  "Members now (segment_members)"], rows, "segment-sizes", {1, 2, 3, 4})
    )


def section_entries_exits(ctx: Context) -> str:
    missing = ctx.db.missing("segment_member_changes")
    if missing:
        return _unavailable(*missing)
    if not ctx.sizes:
        return '<p class="empty">No entries or exits recorded yet.</p>'
    builds = ctx.builds[-MAX_BUILDS_IN_BARS:]
    offset = len(ctx.builds) - len(builds)
    labels = [b.label for b in builds]
    cards = []
    shown = [s for s in ctx.segments if s.segment_id in ctx.sizes]
    for s in shown:
        series = ctx.sizes[s.segment_id][offset:]
        entered = [e for _size, e, _x in series]
        exited = [x for _size, _e, x in series]
        last_in, last_out = entered[-1], exited[-1]
        chart = diverging_bars(labels, entered, exited, f"{s.name}: entries and exits per build")
        cards.append(
            f'<div class="card" data-segment="{esc(s.segment_id, None)}"><h4>{esc(s.name)}</h4>'
            f'<p class="hint">Latest build: <strong class="good-text">{_signed(last_in, "+")}</strong> entered, '
            f'<strong class="bad-text">{_signed(last_out, MINUS)}</strong> exited; {sum(entered):,} in and '
            f"{sum(exited):,} out over the builds shown.</p>{chart}</div>"
        )
    note = f" (the latest {len(builds)} of {len(ctx.builds)})" if offset else ""
    return (
        f'<p class="hint">Green bars above the line: {esc("members who entered")}; red below: members who left{esc(note)}.</p>'
        + f'<div class="grid">{"".join(cards)}</div>'
    )


def section_score_distributions(ctx: Context) -> str:
    missing = ctx.db.missing("segments", "segment_members")
    if missing:
        return _unavailable(*missing)
    if not ctx.active:
        return '<p class="empty">No active segment.</p>'
    cards = []
    for s in ctx.active:
        scores = np.array(
            [float(v) for (v,) in ctx.db.rows(
                "select score from segment_members where segment_id = ? and score is not null", [s.segment_id]
            )],
            dtype=float,
        )
        meaning = s.score_meaning
        header = f'<div class="card" data-segment="{esc(s.segment_id, None)}" data-members="{len(scores)}"><h4>{esc(s.name)}</h4>'
        if scores.size == 0:
            cards.append(header + '<p class="empty">No members with a score in this build.</p></div>')
            continue
        low, high = float(scores.min()), float(scores.max())
        # one value for everyone: three bins around it, so the bar stands alone in the middle
        pad = max(abs(low) * 0.05, 0.5)
        bins, span = (HISTOGRAM_BINS, (low, high)) if high > low else (3, (low - 1.5 * pad, low + 1.5 * pad))
        counts, edges = np.histogram(scores, bins=bins, range=span)
        chart = histogram(
            [float(e) for e in edges], [int(c) for c in counts], f"{s.name}: members by score",
            x_label=f"score{': ' + meaning if meaning else ''}"[:70], colour=ctx.colours.get(s.segment_id, PALETTE[0]),
        )
        cards.append(
            header
            + f'<p class="hint">{len(scores):,} {esc(s.noun if len(scores) != 1 else s.noun_one)} \u00b7 median {esc(fmt_number(float(np.median(scores))))} '
            f"\u00b7 range {esc(fmt_number(low))} to {esc(fmt_number(high))}"
            + (f"<br>score = {esc(meaning)}" if meaning else "")
            + f"</p>{chart}</div>"
        )
    return (
        '<p class="hint">How the members of each active segment spread over the score that ranks them within '
        "the segment (holdout members included). A long tail to the right is where the best-fitting members are.</p>"
        f'<div class="grid">{"".join(cards)}</div>'
    )


def section_lift(ctx: Context) -> str:
    missing = ctx.db.missing("segment_lift")
    if missing:
        return _unavailable(*missing)
    statuses = {s.segment_id: s for s in ctx.segments}
    rows = ctx.db.rows(
        "select segment_id, goal, window_days, treated_size, holdout_size, treated_conversions, holdout_conversions, "
        "pending_entries, treated_conversion_rate, holdout_conversion_rate, lift, lift_ci_low, lift_ci_high, status "
        "from segment_lift"
    )
    order = {s.segment_id: i for i, s in enumerate(ctx.segments)}
    rows = [r for r in rows if r[0] not in statuses or statuses[r[0]].status == "active"]
    rows.sort(key=lambda r: (order.get(r[0], len(order)), r[0]))
    if not rows:
        return '<p class="empty">No active segment to measure.</p>'
    plot_rows, table_rows = [], []
    for (segment_id, goal, window, treated, holdout, t_conv, h_conv, pending, t_rate, h_rate,
         lift, low, high, status) in rows:
        name = ctx.name_of(segment_id)
        if status == "measured" and lift is not None:
            note = fmt_lift(lift, low, high)
            plot_rows.append((name, float(lift), _number(low), _number(high), note))
            verdict = ("works" if low is not None and low > 0 else "hurts" if high is not None and high < 0
                       else "no clear effect")
        else:
            note = (f"not enough data yet: {treated or 0:,} treated and {holdout or 0:,} holdout entries measured, "
                    f"{pending or 0:,} still in their window")
            plot_rows.append((name, None, None, None, note))
            verdict = "not enough data"
        table_rows.append(
            f'<tr data-segment="{esc(segment_id, None)}">'
            + _cell(esc(name), "segment")
            + _cell(f"<code>{esc(goal)}</code> in {fmt_int(window)} days", "goal")
            + _cell(fmt_int(treated), "treated", True, treated)
            + _cell(fmt_int(holdout), "holdout", True, holdout)
            + _cell(fmt_pct(t_rate), "treated_rate", True, t_rate)
            + _cell(fmt_pct(h_rate), "holdout_rate", True, h_rate)
            + _cell(esc(fmt_points(lift)), "lift", True, lift)
            + _cell(esc(f"{float(low) * 100:+.1f} to {float(high) * 100:+.1f}" if low is not None and high is not None else "\u2013"), "interval", True)
            + _cell(fmt_int(pending), "pending", True, pending)
            + _cell(_badge(verdict, {"works": "good", "hurts": "bad", "no clear effect": "warn"}.get(verdict, "muted")), "status")
            + "</tr>"
        )
    chart = interval_rows(plot_rows, "Lift per segment with its 95% interval")
    return (
        '<p class="hint">Lift is the conversion rate of treated members minus that of the holdout, who are left '
        "alone on purpose, in percentage points. A dot is the estimate, the bar its 95% interval: green when the "
        "whole interval is above zero (the segment's action works), red when below, grey when it cannot tell yet. "
        "Entries count once their conversion window has passed; lift is measured once both groups have at least "
        "<code>lift_min_group_size</code> (30 by default) such entries.</p>"
        f"<figure>{chart}</figure>"
        + _table(["Segment", "Goal", "Treated", "Holdout", "Treated conv.", "Holdout conv.", "Lift", "95% interval (pts)",
                  "Pending", "Verdict"], table_rows, "lift", {2, 3, 4, 5, 6, 7, 8})
        + _money_and_time(ctx, [r[0] for r in rows])
    )


#: segment_lift's money and time comparisons: (label, column prefix, number format)
MONEY_AND_TIME = [
    ("Revenue per member", "revenue_lift", "{:+,.2f}"),
    ("Average order value", "order_value_lift", "{:+,.2f}"),
    ("Median days to convert", "days_to_convert_lift", "{:+,.1f}"),
]


def _money_and_time(ctx: Context, segment_ids: list[str]) -> str:
    """Revenue per member, average order value and median days to convert, treated minus holdout with intervals."""
    wanted = [f"{column}{bound}" for _label, column, _f in MONEY_AND_TIME for bound in ("", "_ci_low", "_ci_high")]
    if not segment_ids or not set(wanted) <= ctx.db.columns("segment_lift"):
        return ""
    values = {row[0]: row[1:] for row in ctx.db.rows(f"select segment_id, {', '.join(wanted)} from segment_lift")}
    table_rows = []
    for segment_id in segment_ids:
        row = values.get(segment_id, (None,) * len(wanted))
        cells = []
        for index, (_label, column, number) in enumerate(MONEY_AND_TIME):
            estimate, low, high = row[3 * index: 3 * index + 3]
            text = "\u2013" if estimate is None else number.format(float(estimate))
            if estimate is not None and low is not None and high is not None:
                text += f" [{number.format(float(low))}, {number.format(float(high))}]"
            cells.append(_cell(esc(text), column, True, estimate))
        table_rows.append(f'<tr data-segment="{esc(segment_id, None)}">' + _cell(esc(ctx.name_of(segment_id)), "segment")
                          + "".join(cells) + "</tr>")
    return (
        '<h3>Money and time</h3><p class="hint">Treated minus holdout, with the 95% interval in brackets: revenue per '
        "member within the window (orders summed as recorded), average order value, and median days from entering "
        "to the goal (negative: the treated convert sooner). Empty until both groups have enough entries "
        "(<code>lift_min_group_size</code>) or enough orders and converters (<code>lift_min_converters</code>).</p>"
        + _table(["Segment", *[label for label, _c, _f in MONEY_AND_TIME]], table_rows, "money-and-time", {1, 2, 3})
    )


def section_overlaps(ctx: Context) -> str:
    missing = ctx.db.missing("segment_overlaps")
    if missing:
        return _unavailable(*missing)
    rows = ctx.db.rows(
        "select segment_id, other_segment_id, members, other_members, shared_members, overlap_share, jaccard, "
        "is_over_limit, conversion_rate_difference, conversion_rate_difference_ci_low, conversion_rate_difference_ci_high "
        "from segment_overlaps order by overlap_share desc nulls last, segment_id, other_segment_id"
    )
    if not rows:
        return '<p class="empty">Fewer than two active segments of one kind: nothing to compare.</p>'
    table_rows = []
    for (segment_id, other_id, members, other_members, shared, share, jaccard, over, difference, low, high) in rows:
        table_rows.append(
            f'<tr data-segment="{esc(segment_id, None)}" data-other="{esc(other_id, None)}">'
            + _cell(esc(ctx.name_of(segment_id)), "segment")
            + _cell(esc(ctx.name_of(other_id)), "other")
            + _cell(fmt_int(members), "members", True, members)
            + _cell(fmt_int(other_members), "other_members", True, other_members)
            + _cell(fmt_int(shared), "shared", True, shared)
            + _cell(fmt_pct(share), "overlap_share", True, share)
            + _cell(fmt_pct(jaccard), "jaccard", True, jaccard)
            + _cell(esc(fmt_lift(difference, low, high)), "conversion_difference", True, difference)
            + _cell(_badge("over the limit", "bad") if over else _badge("distinct", "good"), "status")
            + "</tr>"
        )
    return (
        '<p class="hint">Each pair of active segments of the same kind: members they share, as a share of the smaller '
        "one, and the difference of their conversion rates (all entries whose window has passed) with its 95% "
        "interval in percentage points. Pairs sharing more than <code>segment_max_overlap_share</code> (50% by "
        "default) of the smaller segment are flagged: the build warns, and one of the two should be merged, "
        "tightened or drafted.</p>"
        + _table(["Segment", "Other segment", "Members", "Other's members", "Shared", "Overlap (of smaller)", "Jaccard",
                  "Conversion difference", "Status"], table_rows, "overlaps", {2, 3, 4, 5, 6, 7})
    )


def section_data_quality(ctx: Context) -> str:
    db = ctx.db
    body = []
    if not db.has("dq_results"):
        body.append(_unavailable("dq_results"))
    else:
        results = db.rows(
            "select build_id, expectation, success, severity, observed_value, threshold, details, checked_at "
            "from dq_results order by checked_at, expectation"
        )
        by_build: dict[str, list[tuple]] = {}
        for row in results:
            by_build.setdefault(row[0], []).append(row)
        checked_builds = [b for b in ctx.builds if b.build_id in by_build][-MAX_BUILDS_IN_BARS:]
        if not checked_builds:
            body.append('<p class="empty">No checks recorded yet.</p>')
        else:
            latest = checked_builds[-1]
            latest_rows = by_build[latest.build_id]
            failed = [r for r in latest_rows if not r[2] and r[3] == "fail"]
            warned = [r for r in latest_rows if not r[2] and r[3] != "fail"]
            passed = len(latest_rows) - len(failed) - len(warned)
            gate, kind = _gate_outcome(db, latest)
            body.append(_kpis([
                ("Gate (latest build)", _badge(gate, kind), esc(f"build {latest.label}, {fmt_time(latest.at)}")),
                ("Checks passed", f'<span data-kpi="passed">{passed:,}</span>', esc(f"of {len(latest_rows):,}")),
                ("Warnings", f'<span data-kpi="warned">{len(warned):,}</span>', "reported, do not stop the build"),
                ("Failures", f'<span data-kpi="failed">{len(failed):,}</span>', "stop segments from being rebuilt"),
            ]))
            labels = [b.label for b in checked_builds]

            def count(build: Build, which: str) -> int:
                rows = by_build[build.build_id]
                if which == "passed":
                    return sum(1 for r in rows if r[2])
                if which == "warned":
                    return sum(1 for r in rows if not r[2] and r[3] != "fail")
                return sum(1 for r in rows if not r[2] and r[3] == "fail")

            stacks = [
                ("passed", GOOD, [count(b, "passed") for b in checked_builds]),
                ("warnings", WARN, [count(b, "warned") for b in checked_builds]),
                ("failed", BAD, [count(b, "failed") for b in checked_builds]),
            ]
            body.append(
                "<h3>Checks over builds</h3><figure>"
                + stacked_columns(labels, stacks, "Data-quality checks per build", "checks", Frame(height=240))
                + legend([("passed", GOOD), ("warning", WARN), ("failed", BAD)])
                + "</figure>"
            )
            history: dict[str, list[float | None]] = {}
            for i, build in enumerate(checked_builds):
                for row in by_build[build.build_id]:
                    history.setdefault(row[1], [None] * len(checked_builds))[i] = _number(row[4])
            def check_row(row: tuple) -> str:
                _b, expectation, success, severity, observed, threshold, details, _at = row
                status, kind = ("passed", "good") if success else ("failed", "bad") if severity == "fail" else ("warning", "warn")
                stops = "stops the build" if severity == "fail" else "reports only"
                return (
                    f'<tr data-check="{esc(expectation, None)}" data-status="{status}">'
                    + _cell(f'{_badge(status, kind)}<div class="hint">{esc(stops)}</div>', "status")
                    + _cell(f'<code>{esc(expectation)}</code><div class="hint">{esc(details)}</div>', "check")
                    + _cell(esc(observed, 60), "observed", True)
                    + _cell(esc(threshold, 60), "threshold", True)
                    + _cell(sparkline(history.get(expectation, []), f"{expectation} over builds"), "trend")
                    + "</tr>"
                )

            headers = ["Status", "Check", "Observed", "Expected", "Trend"]
            problems = failed + warned
            body.append(f"<h3>Checks of build {esc(latest.label)}</h3>")
            if problems:
                body.append('<p class="hint">Checks that did not pass; the trend line is the observed value over the '
                            "builds.</p>" + _table(headers, [check_row(r) for r in problems], "dq-problems", {2, 3}))
            else:
                body.append('<p class="hint">Every check passed.</p>')
            passed_rows = [check_row(r) for r in latest_rows if r[2]]
            if passed_rows:
                body.append(
                    f'<details><summary>{len(passed_rows):,} checks passed (show them)</summary>'
                    + _table(headers, passed_rows, "dq-passed", {2, 3}) + "</details>"
                )
    body.append("<h3>Rows in and quarantined</h3>")
    if not db.has("int_source_rows_accounted"):
        body.append(_unavailable("int_source_rows_accounted"))
    else:
        rows = []
        for source, raw, usable, duplicates, quarantined in db.rows(
            "select source, raw_rows, usable_rows, duplicate_rows, quarantined_rows from int_source_rows_accounted order by source"
        ):
            rate = quarantined / raw if raw else None
            rows.append(
                f'<tr data-source="{esc(source, None)}">'
                + _cell(esc(source), "input")
                + _cell(fmt_int(raw), "raw", True, raw)
                + _cell(fmt_int(usable), "usable", True, usable)
                + _cell(fmt_int(duplicates), "duplicates", True, duplicates)
                + _cell(fmt_int(quarantined), "quarantined", True, quarantined)
                + _cell(fmt_pct(rate, 2), "rate", True, rate)
                + "</tr>"
            )
        body.append('<p class="hint">Every raw row is usable, a duplicate, or quarantined with its reason '
                    "(<code>quarantined_rows</code>).</p>")
        body.append(_table(["Input", "Raw rows", "Usable", "Duplicates", "Quarantined", "Quarantine rate"], rows,
                           "rows-accounted", {1, 2, 3, 4, 5}))
    if db.has("quarantined_rows"):
        reasons = db.rows(
            "select source || '.' || reason, count(*) from quarantined_rows group by 1 order by 2 desc, 1 limit 12"
        )
        if reasons:
            body.append("<figure>" + horizontal_bars([(r, int(n)) for r, n in reasons], "Quarantined rows by reason (top 12)",
                                                     colour=WARN, label_width=300) + "</figure>")
    return "".join(body)


def section_identity_health(ctx: Context) -> str:
    db = ctx.db
    missing = db.missing("person_identifiers")
    if missing:
        return _unavailable(*missing)
    body = []
    people, identifiers, multi = db.rows(
        "select count(distinct person_id), count(*), "
        "(select count(*) from (select identifier_type, identifier_value from person_identifiers "
        " group by 1, 2 having count(distinct person_id) > 1)) from person_identifiers"
    )[0]
    sizes = db.rows("select n, count(*) from (select person_id, count(*) as n from person_identifiers group by 1) group by 1 order by 1")
    largest = max((n for n, _c in sizes), default=0)
    refused = []
    if db.has("identity_rejected_edges"):
        refused = db.rows(
            """
            with refused_sides as (
                select reason, to_type as identifier_type, to_value as identifier_value, from_person_id as person_id, detail
                from identity_rejected_edges where to_person_id is null and from_person_id is not null
                union all
                select reason, from_type, from_value, to_person_id, detail
                from identity_rejected_edges where from_person_id is null and to_person_id is not null
            )
            select identifier_type, identifier_value, min(reason), count(distinct person_id), min(detail)
            from refused_sides where reason in ('junk_value', 'shared_value')
            group by 1, 2 order by 4 desc, 1, 2
            """
        )
    mean = identifiers / people if people else None
    body.append(_kpis([
        ("People", f'<span data-kpi="people">{people:,}</span>', "in person_identifiers"),
        ("Identifiers", f'<span data-kpi="identifiers">{identifiers:,}</span>',
         esc(f"{fmt_number(mean)} per person on average" if mean else "")),
        ("Largest person", f'<span data-kpi="largest">{largest:,}</span>', "identifiers held by one person"),
        ("Identifiers with several people", f'<span data-kpi="multi">{multi:,}</span>',
         _badge("ok", "good") if multi == 0 else _badge("must be 0", "bad")),
    ]))

    buckets = [("1 person", 1, 1), ("2 people", 2, 2), ("3\u20135 people", 3, 5), ("6\u201320 people", 6, 20),
               ("21\u2013100 people", 21, 100), ("over 100 people", 101, 10**12)]
    per_identifier = [(name, (identifiers - multi if low == 1 else 0) + sum(1 for r in refused if low <= r[3] <= high))
                      for name, low, high in buckets]
    body.append(
        "<h3>People per identifier</h3><p class=\"hint\">How many people an identifier was seen with. Every identifier "
        "the graph publishes belongs to exactly one person; values seen with several people (a shop's kiosk, a team "
        "inbox) or placeholders (<code>test@test.com</code>) are refused and link nobody.</p>"
        "<figure>" + horizontal_bars(per_identifier, "Identifiers by the number of people seen with them") + "</figure>"
    )
    body.append(
        "<h3>Identifiers per person</h3><p class=\"hint\">How many identifiers (anonymous ids, devices, user ids, "
        "emails, CRM contacts) make up one person. A long tail would mean over-merging.</p><figure>"
        + stacked_columns([str(n) for n, _c in sizes], [("people", PALETTE[0], [int(c) for _n, c in sizes])],
                          "People by number of identifiers", "people", Frame(height=240))
        + "</figure>"
    )
    types = [t for (t,) in db.rows("select distinct identifier_type from person_identifiers order by 1")]
    top = db.rows(
        "select person_id, count(*) as n, "
        + ", ".join(f"count(*) filter (where identifier_type = ?)" for _t in types)
        + " from person_identifiers group by 1 order by n desc, person_id limit 10",
        types,
    )
    rows = [
        f'<tr data-person="{esc(row[0], None)}">' + _cell(f"<code>{esc(row[0])}</code>", "person")
        + _cell(fmt_int(row[1]), "identifiers", True, row[1])
        + "".join(_cell(fmt_int(v), esc(t), True, v) for t, v in zip(types, row[2:]))
        + "</tr>"
        for row in top
    ]
    body.append("<h3>Largest people</h3><p class=\"hint\">The ten people with the most identifiers: the first place "
                "to look when checking that the graph does not merge strangers.</p>"
                + _table(["Person", "Identifiers", *types], rows, "largest-clusters", set(range(1, len(types) + 2))))

    body.append("<h3>Refused links</h3>")
    if not db.has("identity_rejected_edges"):
        body.append(_unavailable("identity_rejected_edges"))
    else:
        reasons = db.rows("select reason, count(*) from identity_rejected_edges group by 1 order by 2 desc, 1")
        explain = {
            "junk_value": "a placeholder or test value",
            "shared_value": "a value seen with too many user ids",
            "weaker_evidence": "stronger evidence put the two ends in different people",
            "not_converged": "the graph walk ran out of rounds",
        }
        if reasons:
            body.append("<p class=\"hint\">Pairs of identifiers seen together that the guard rails did not link, by reason: "
                        + "; ".join(f"<code>{esc(r)}</code>: {esc(explain.get(r, ''))}" for r, _n in reasons) + ".</p>")
            body.append("<figure>" + horizontal_bars([(r, int(n)) for r, n in reasons], "Refused links by reason",
                                                     colour=BAD) + "</figure>")
        else:
            body.append('<p class="empty">No link was refused.</p>')
        if refused:
            rows = [
                f"<tr>{_cell(esc(t), 'type')}{_cell(f'<code>{esc(v, 40)}</code>', 'value')}{_cell(esc(reason), 'reason')}"
                f"{_cell(fmt_int(n), 'people', True, n)}{_cell(esc(detail), 'detail')}</tr>"
                for t, v, reason, n, detail in refused[:15]
            ]
            body.append("<h4>Refused identifiers</h4>"
                        + _table(["Type", "Value", "Reason", "People seen with it", "Why"], rows, "refused-identifiers", {3}))
    return "".join(body)


def section_accounts(ctx: Context) -> str:
    db = ctx.db
    missing = db.missing("people", "accounts", "account_scores")
    if missing:
        return _unavailable(*missing)
    if not {"committee_roles", "third_party_intent_score"} <= db.columns("account_scores"):
        return _unavailable("account_scores.committee_roles")
    (people, seniority, department), = db.rows(
        "select count(*), count(seniority), count(department) from people")
    (accounts, full, technographic, intent), = db.rows(
        "select count(*), sum(case when committee_status <> 'below_range' then 1 else 0 end), "
        "sum(case when technographic_fit_points > 0 then 1 else 0 end), "
        "sum(case when third_party_intent_score > 0 then 1 else 0 end) from account_scores")
    body = [_kpis([
        ("People with a seniority", f'<span data-kpi="seniority">{seniority:,}</span>',
         esc(f"{fmt_pct(seniority / people if people else None)} of {people:,}: read from their job title")),
        ("People with a department", f'<span data-kpi="department">{department:,}</span>',
         esc(f"{fmt_pct(department / people if people else None)} of {people:,}")),
        ("Accounts with a buying committee", f'<span data-kpi="committees">{int(full or 0):,}</span>',
         esc(f"of {accounts:,}: engaged roles within or above the target range")),
        ("Accounts with technographic fit", f'<span data-kpi="technographic">{int(technographic or 0):,}</span>',
         "technographics.* (optional input)"),
        ("Accounts with third-party intent", f'<span data-kpi="third-party-intent">{int(intent or 0):,}</span>',
         "intent_signals.* (optional input)"),
    ])]
    rows = db.rows(
        "select scores.account_id, accounts.account_name, accounts.fit_score, scores.technographic_fit_points, "
        "scores.engaged_people, scores.committee_roles, scores.committee_status, scores.third_party_intent_score, "
        "scores.third_party_intent_topic "
        "from account_scores as scores inner join accounts on scores.account_id = accounts.account_id "
        "order by scores.committee_roles desc, scores.third_party_intent_score desc, scores.account_id limit 10")
    table_rows = [
        f'<tr data-account="{esc(account_id, None)}">'
        + _cell(esc(name or account_id), "account")
        + _cell(esc(fmt_number(fit)), "fit", True, fit)
        + _cell(esc(fmt_number(points)), "technographic", True, points)
        + _cell(esc(fmt_int(engaged)), "engaged", True, engaged)
        + _cell(esc(fmt_int(roles)) + " " + _badge(status.replace("_", " "), "good" if status == "in_range" else "warn"),
                "roles", True, roles)
        + _cell(esc(fmt_number(intent)), "intent", True, intent)
        + _cell(esc(topic or ""), "topic")
        + "</tr>"
        for account_id, name, fit, points, engaged, roles, status, intent, topic in rows
    ]
    body.append(
        "<h3>Accounts with the most buying-committee roles engaged</h3><p class=\"hint\">A role is a persona "
        "(seniority and department, both read from the job title) among the account's engaged people; B2B "
        "purchases are decided by 6-10 of them (vars <code>buying_committee_min_roles</code> and "
        "<code>buying_committee_max_roles</code>). Fit includes the technographic points; third-party intent "
        "is the vendor's score decayed by its age, apart from the first-party intent of the account's people.</p>"
        + _table(["account", "fit", "technographic points", "engaged people", "committee roles", "third-party intent",
                  "topic"], table_rows, "committee-accounts", {1, 2, 3, 4, 5})
    )
    return "".join(body)


def section_suggestions(ctx: Context) -> str:
    db = ctx.db
    if not db.has("segments"):
        return _unavailable("segments")
    suggested = [s for s in ctx.segments if s.status == "suggested"]
    if not suggested:
        return '<p class="empty">No suggestions in this build (too few people, or suggestions are off on this target).</p>'
    extra = {}
    if db.has("segment_suggestions"):
        extra = {
            row[0]: row[1:]
            for row in db.rows("select segment_id, member_count, share_of_people, suggested_rule, rule_coverage, "
                               "rule_precision from segment_suggestions")
        }
    rule_of = {}
    if "suggested_rule" in db.columns("segments"):
        rule_of = dict(db.rows("select segment_id, suggested_rule from segments where status = 'suggested'"))
    rows = []
    for s in suggested:
        size, share, rule, coverage, precision = extra.get(s.segment_id, (None, None, rule_of.get(s.segment_id), None, None))
        rows.append(
            f'<tr data-segment="{esc(s.segment_id, None)}">'
            + _cell(f"<strong>{esc(s.name)}</strong><br><code>{esc(s.segment_id)}</code>", "segment")
            + _cell(fmt_int(size), "people", True, size)
            + _cell(fmt_pct(share), "share", True, share)
            + _cell(esc(s.profile, 400), "profile")
            + _cell(f"<code>{esc(rule, 300)}</code>", "rule")
            + _cell(fmt_pct(coverage, 0), "coverage", True, coverage)
            + _cell(fmt_pct(precision, 0), "precision", True, precision)
            + "</tr>"
        )
    return (
        '<p class="hint">Clusters of people with similar scores (k-means), each with a profile and a rule that '
        "approximates it. Coverage: share of the cluster the rule finds; precision: share of what the rule finds that "
        "is in the cluster. A suggestion has no members until someone writes it into the catalog as a draft.</p>"
        + _table(["Suggestion", "People", "Share", "Profile", "Rule (over person_scores)", "Coverage", "Precision"],
                 rows, "suggestions", {1, 2, 5, 6})
    )


RENDERERS = {
    "summary": section_summary,
    "segment-sizes": section_segment_sizes,
    "entries-exits": section_entries_exits,
    "score-distributions": section_score_distributions,
    "lift": section_lift,
    "overlaps": section_overlaps,
    "data-quality": section_data_quality,
    "identity-health": section_identity_health,
    "accounts": section_accounts,
    "suggestions": section_suggestions,
}

INTROS = {
    "summary": "The latest build at a glance: did the data pass its checks, and how big is each segment.",
    "segment-sizes": "Members of each segment after every build, replayed from the append-only change log "
                     "(segment_member_changes).",
    "entries-exits": "Who entered and who left each segment in each build.",
    "score-distributions": "",
    "lift": "Does acting on a segment change what its members do, in conversion, money and time?",
    "overlaps": "Segments that hold the same people, or convert alike, are one segment with two owners.",
    "data-quality": "Every build checks the incoming data before segments are rebuilt; a failed check stops them, "
                    "a warning only reports.",
    "identity-health": "Identifiers (cookies, devices, user ids, emails, CRM contacts) are stitched into people. "
                       "These figures show whether the stitching is sound.",
    "accounts": "Who at each account is engaged, by persona, and what data vendors say about the account "
                "(optional inputs technographics.* and intent_signals.*).",
    "suggestions": "Groups the data suggests, for a person to review before they become segments.",
}
