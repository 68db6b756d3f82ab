"""The short summary printed at the end of a build, read back from the warehouse.

It answers the questions an analytics engineer asks after a scheduled run:
how many rows came in, how many were quarantined and why, how many people
were stitched, which segments exist and how big they are, and whether the
data-quality checks passed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from customer_segments.publish import has_table


def _line_accounting(connection) -> list[str]:
    """A line per input whose rows span more physical lines than one each (quoted newlines, spoiled rows)."""
    columns = {row[0] for row in connection.execute("describe int_source_rows_accounted").fetchall()}
    if "raw_lines" not in columns:
        return []
    out = []
    for source, rows, physical, spoiled in connection.execute(
        "select source, raw_rows, raw_lines, spoiled_lines from int_source_rows_accounted "
        "where source <> 'events' and raw_lines <> raw_rows order by source"
    ).fetchall():
        note = f"  {source}: {rows:,} rows from {physical:,} physical lines"
        if spoiled:
            note += f"; {spoiled:,} lines swallowed by rows an unbalanced quote spoiled (quarantined_rows)"
        else:
            note += " (quoted fields holding newlines)"
        out.append(note)
    return out


def render(database: Path) -> str:
    """Return the summary as text. Missing tables (a build that stopped early) are said, not raised."""
    try:
        connection = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as problem:  # e.g. the file is locked by a running build
        return f"Summary unavailable: cannot open {database} ({problem})."
    lines = ["Build summary", "============="]
    with connection:
        if has_table(connection, "int_source_rows_accounted"):
            lines.append("Rows in (raw = usable + duplicates + quarantined):")
            rows = connection.execute(
                "select source, raw_rows, usable_rows, duplicate_rows, quarantined_rows "
                "from int_source_rows_accounted order by source"
            ).fetchall()
            lines.append(f"  {'input':<18}{'raw':>12}{'usable':>12}{'duplicates':>12}{'quarantined':>12}")
            for source, raw, usable, duplicates, quarantined in rows:
                lines.append(f"  {source:<18}{raw:>12,}{usable:>12,}{duplicates:>12,}{quarantined:>12,}")
            lines += _line_accounting(connection)
        else:
            lines.append("Rows in: not built.")
        if has_table(connection, "quarantined_rows"):
            reasons = connection.execute(
                "select source, reason, count(*) from quarantined_rows group by 1, 2 order by 1, 3 desc, 2"
            ).fetchall()
            total = sum(count for _, _, count in reasons)
            lines.append(f"Quarantined: {total:,} rows" + (" by reason:" if reasons else "."))
            for source, reason, count in reasons:
                lines.append(f"  {source}.{reason}: {count:,}")
        if has_table(connection, "people"):
            people, identifiers = connection.execute(
                "select (select count(*) from people), (select count(*) from person_identifiers)"
            ).fetchone()
            stages = connection.execute(
                "select lifecycle_stage, count(*) from people group by 1 order by 2 desc"
            ).fetchall()
            stage_text = ", ".join(f"{stage} {count:,}" for stage, count in stages)
            lines.append(f"People: {people:,} from {identifiers:,} identifiers ({stage_text}).")
            if has_table(connection, "identity_rejected_edges"):
                refused = connection.execute(
                    "select reason, count(*) from identity_rejected_edges group by 1 order by 2 desc, 1"
                ).fetchall()
                accounts = connection.execute(
                    "select account_link_method, count(*) from people where account_id is not null group by 1 order by 2 desc"
                ).fetchall()
                refused_text = ", ".join(f"{reason} {count:,}" for reason, count in refused) or "none"
                account_text = ", ".join(f"{method} {count:,}" for method, count in accounts) or "none"
                lines.append(f"  identity links refused: {refused_text} (identity_rejected_edges)")
                lines.append(f"  people in accounts: {account_text} (person_account_links)")
        lines.extend(_privacy_lines(connection))
        if has_table(connection, "segments"):
            lines.extend(_segment_lines(connection))
        if has_table(connection, "dq_results"):
            latest = connection.execute(
                "select build_id, count(*) from dq_results "
                "where checked_at = (select max(checked_at) from dq_results) group by 1"
            ).fetchall()
            if latest:
                build_id, checks = latest[0]
                not_passed = connection.execute(
                    "select severity, expectation, observed_value, threshold from dq_results "
                    "where build_id = ? and not success order by severity, expectation",
                    [build_id],
                ).fetchall()
                failed = [row for row in not_passed if row[0] == "fail"]
                warned = [row for row in not_passed if row[0] != "fail"]
                if not not_passed:
                    lines.append(f"Data quality: all {checks} checks passed.")
                else:
                    verdict = "GATE FAILED, segments not rebuilt" if failed else "gate passed with warnings"
                    lines.append(f"Data quality: {verdict} ({len(failed)} failed, {len(warned)} warnings, {checks} checks):")
                    lines.extend(
                        f"  {severity.upper():<5} {expectation}: observed {observed}, expected {threshold}"
                        for severity, expectation, observed, threshold in failed + warned
                    )
    return "\n".join(lines)


def _segment_lines(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """One line per segment: status, members (holdout), this build's entries and exits, lift."""
    has_changes = has_table(connection, "segment_member_changes")
    has_lift = has_table(connection, "segment_lift")
    latest_build = (
        connection.execute("select build_id from segment_member_changes order by recorded_at desc limit 1").fetchone()
        if has_changes else None
    )
    moves: dict[str, tuple[int, int]] = {}
    if latest_build:
        for segment_id, entered, exited in connection.execute(
            "select segment_id, count(*) filter (where change = 'entered'), count(*) filter (where change = 'exited') "
            "from segment_member_changes where build_id = ? group by 1",
            [latest_build[0]],
        ).fetchall():
            moves[segment_id] = (entered, exited)
    lifts = {}
    if has_lift:
        lifts = {
            row[0]: row[1:]
            for row in connection.execute("select segment_id, status, lift, lift_ci_low, lift_ci_high, pending_entries from segment_lift"
            ).fetchall()
        }
    lines = ["Segments (members, holdout, entered/exited in the last build that changed any, lift):"]
    suggested = 0
    for segment_id, status, members, holdout, entity_type in connection.execute(
        "select segment_id, status, member_count, holdout_count, entity_type from segments order by status, priority, segment_id"
    ).fetchall():
        if status == "suggested":
            suggested += 1
            continue
        if status != "active":
            lines.append(f"  {segment_id:<30}{status:<10}(no members until its status is active)")
            continue
        entered, exited = moves.get(segment_id, (0, 0))
        noun = "people" if entity_type == "person" else "accounts"
        line = f"  {segment_id:<30}{status:<10}{members:>7,} {noun:<8} ({holdout:,} holdout)  +{entered:,} -{exited:,}"
        lift = lifts.get(segment_id)
        if lift:
            lift_status, value, low, high, pending = lift
            if lift_status == "measured":
                line += f"  lift {value:+.1%} [{low:+.1%}, {high:+.1%}]"
            else:
                line += f"  lift: not enough data yet ({pending:,} entries within their window)"
        lines.append(line)
    if suggested:
        lines.append(f"  + {suggested} suggested segments to review (segments where status = 'suggested')")
    return lines


def _privacy_lines(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Retention and erasure: what this build left out or removed, so nothing disappears silently."""
    lines = []
    if has_table(connection, "int_retention_ignored"):
        ignored = connection.execute(
            "select source, ignored_rows, retained_from from int_retention_ignored where ignored_rows > 0 order by 1"
        ).fetchall()
        if ignored:
            text = ", ".join(f"{source} {rows:,}" for source, rows, _at in ignored)
            lines.append(f"Retention: rows older than {ignored[0][2]:%Y-%m-%d} not used: {text} (var retention_days).")
    if has_table(connection, "suppressions"):
        counts = connection.execute(
            "select reason, count(distinct person_id) from suppressions group by 1 order by 2 desc, 1"
        ).fetchall()
        text = ", ".join(f"{reason} {people:,}" for reason, people in counts) or "none"
        lines.append(f"Suppressions (people per reason, kept out of the segments whose channels they block): {text}.")
    if has_table(connection, "build_audit") and has_table(connection, "erasure_log"):
        try:
            latest = connection.execute(
                "select erased_people, erased_identifiers from build_audit order by built_at desc limit 1"
            ).fetchall()
        except duckdb.Error:  # a warehouse built before build_audit had these columns
            return lines
        total = connection.execute("select count(*) from erasure_log").fetchall()[0][0]
        if latest and (latest[0][1] or total):
            people, identifiers = latest[0]
            lines.append(
                f"Erasure: {people:,} people ({identifiers:,} identifiers) erased by this build; "
                f"{total:,} identifiers erased so far are suppressed on every load (erasure_log)."
            )
    return lines
