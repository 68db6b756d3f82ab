"""The BI layer of the serving file: views in schema `bi`, shaped for BI tools.

The contract tables in schema `main` stay as they are (their names and types
are the public interface). Next to them, the publish step creates these views,
so a BI tool that is pointed at schema `bi` sees a short, clean catalog:
active segments only, members with their segment's name and a treated/holdout
label, a daily series of entries and exits, lift per segment, data-quality
results with numbers as numbers, quarantined rows with a JSON flag, and money
as DOUBLE (BI tools type DECIMAL and HUGEINT columns poorly).

No view has the name of a published table: SQLAlchemy's reflection through
duckdb-engine looks tables up by name across schemas, so `bi.people` would
mix its columns into `main.people`'s (tests/python/test_serving_bi.py).

Every view and every column carries a comment, as the tables do: a column
described as "=table.column" inherits that column's comment in the serving
file (the dbt YAML description publish copied), so a description is written
once. docs/serving.md lists the views; tests/python/test_serving_bi.py checks
that each column has its comment and runs the dashboard queries through
SQLAlchemy and duckdb-engine.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = "bi"


@dataclass(frozen=True)
class View:
    name: str
    description: str
    sql: str
    #: column -> its comment, or "=table.column" to inherit the comment of a published table's column
    columns: dict[str, str]


#: A number in a data-quality observed value: the whole value when it is one, else the N of "N unexpected of M".
_OBSERVED_NUMBER = (
    "coalesce(try_cast(observed_value as double), "
    "try_cast(regexp_extract(observed_value, '^(\\d+) unexpected of \\d+', 1) as double))"
)

VIEWS: tuple[View, ...] = (
    View(
        name="active_segments",
        description="The segments in force (status active), one row per segment, with member counts split into "
                    "treated and holdout. Draft, retired and suggested segments are in main.segments.",
        sql="""
            select segment_id, name as segment_name, entity_type, owner, motion, goal, priority,
                   member_count, member_count - holdout_count as treated_count, holdout_count,
                   review_cadence_days, last_reviewed_at, channels
            from main.segments
            where status = 'active'
        """,
        columns={
            "segment_id": "=segments.segment_id",
            "segment_name": "=segments.name",
            "entity_type": "=segments.entity_type",
            "owner": "=segments.owner",
            "motion": "=segments.motion",
            "goal": "=segments.goal",
            "priority": "=segments.priority",
            "member_count": "=segments.member_count",
            "treated_count": "Members in the treated group (member_count - holdout_count): the ones campaigns reach.",
            "holdout_count": "=segments.holdout_count",
            "review_cadence_days": "=segments.review_cadence_days",
            "last_reviewed_at": "=segments.last_reviewed_at",
            "channels": "=segments.channels",
        },
    ),
    View(
        name="active_segment_members",
        description="Who is in each active segment now: one row per (segment, member), with the segment's name "
                    "and the member's group, treated or holdout.",
        sql="""
            select members.segment_id, segments.name as segment_name, members.entity_type, members.entity_id,
                   case when members.is_holdout then 'holdout' else 'treated' end as test_group,
                   members.entered_at, members.score, members.priority, members.is_primary
            from main.segment_members as members
            join main.segments as segments on members.segment_id = segments.segment_id
        """,
        columns={
            "segment_id": "=segment_members.segment_id",
            "segment_name": "=segments.name",
            "entity_type": "=segment_members.entity_type",
            "entity_id": "=segment_members.entity_id",
            "test_group": "`treated` (campaigns may reach the member) or `holdout` (the control group kept out "
                          "of them to measure lift): segment_members.is_holdout as a label.",
            "entered_at": "=segment_members.entered_at",
            "score": "=segment_members.score",
            "priority": "=segment_members.priority",
            "is_primary": "=segment_members.is_primary",
        },
    ),
    View(
        name="segment_daily_changes",
        description="Entries into and exits from each segment per day (UTC), from main.segment_member_changes: "
                    "one row per (segment, day) with any change.",
        sql="""
            select changes.segment_id, segments.name as segment_name, cast(changes.changed_at as date) as day,
                   count(*) filter (where changes.change = 'entered') as entries,
                   count(*) filter (where changes.change = 'exited') as exits,
                   count(*) filter (where changes.change = 'entered' and changes.is_holdout) as holdout_entries
            from main.segment_member_changes as changes
            left join main.segments as segments on changes.segment_id = segments.segment_id
            group by all
        """,
        columns={
            "segment_id": "=segment_member_changes.segment_id",
            "segment_name": "=segments.name",
            "day": "The day of the changes (UTC date of changed_at, the build's as_of).",
            "entries": "Entities that entered the segment that day (treated and holdout).",
            "exits": "Entities that left the segment that day.",
            "holdout_entries": "Of the entries, how many went to the holdout group.",
        },
    ),
    View(
        name="segment_lift_latest",
        description="The latest lift of each segment (main.segment_lift, recomputed every build), with the "
                    "segment's name and status.",
        sql="""
            select lift.segment_id, segments.name as segment_name, segments.status as segment_status, lift.goal,
                   lift.window_days, lift.treated_size, lift.holdout_size, lift.treated_conversions,
                   lift.holdout_conversions, lift.pending_entries, lift.treated_conversion_rate,
                   lift.holdout_conversion_rate, lift.lift, lift.lift_ci_low, lift.lift_ci_high,
                   lift.status as lift_status, lift.treated_revenue_per_member,
                   lift.holdout_revenue_per_member, lift.revenue_lift, lift.revenue_lift_ci_low,
                   lift.revenue_lift_ci_high, lift.treated_average_order_value,
                   lift.holdout_average_order_value, lift.order_value_lift, lift.order_value_lift_ci_low,
                   lift.order_value_lift_ci_high, lift.treated_median_days_to_convert,
                   lift.holdout_median_days_to_convert, lift.days_to_convert_lift,
                   lift.days_to_convert_lift_ci_low, lift.days_to_convert_lift_ci_high
            from main.segment_lift as lift
            left join main.segments as segments on lift.segment_id = segments.segment_id
        """,
        columns={
            "segment_id": "=segment_lift.segment_id",
            "segment_name": "=segments.name",
            "segment_status": "=segments.status",
            "goal": "=segment_lift.goal",
            "window_days": "=segment_lift.window_days",
            "treated_size": "=segment_lift.treated_size",
            "holdout_size": "=segment_lift.holdout_size",
            "treated_conversions": "=segment_lift.treated_conversions",
            "holdout_conversions": "=segment_lift.holdout_conversions",
            "pending_entries": "=segment_lift.pending_entries",
            "treated_conversion_rate": "=segment_lift.treated_conversion_rate",
            "holdout_conversion_rate": "=segment_lift.holdout_conversion_rate",
            "lift": "=segment_lift.lift",
            "lift_ci_low": "=segment_lift.lift_ci_low",
            "lift_ci_high": "=segment_lift.lift_ci_high",
            "lift_status": "=segment_lift.status",
            "treated_revenue_per_member": "=segment_lift.treated_revenue_per_member",
            "holdout_revenue_per_member": "=segment_lift.holdout_revenue_per_member",
            "revenue_lift": "=segment_lift.revenue_lift",
            "revenue_lift_ci_low": "=segment_lift.revenue_lift_ci_low",
            "revenue_lift_ci_high": "=segment_lift.revenue_lift_ci_high",
            "treated_average_order_value": "=segment_lift.treated_average_order_value",
            "holdout_average_order_value": "=segment_lift.holdout_average_order_value",
            "order_value_lift": "=segment_lift.order_value_lift",
            "order_value_lift_ci_low": "=segment_lift.order_value_lift_ci_low",
            "order_value_lift_ci_high": "=segment_lift.order_value_lift_ci_high",
            "treated_median_days_to_convert": "=segment_lift.treated_median_days_to_convert",
            "holdout_median_days_to_convert": "=segment_lift.holdout_median_days_to_convert",
            "days_to_convert_lift": "=segment_lift.days_to_convert_lift",
            "days_to_convert_lift_ci_low": "=segment_lift.days_to_convert_lift_ci_low",
            "days_to_convert_lift_ci_high": "=segment_lift.days_to_convert_lift_ci_high",
        },
    ),
    View(
        name="data_quality_checks",
        description="Data-quality results, every build, with the observed value and the threshold as numbers "
                    "(main.dq_results keeps them as text).",
        sql=f"""
            with parsed as (
                select *,
                    regexp_extract(threshold, '^(<=|>=) *(-?[0-9.eE+-]+)$', ['operator', 'number']) as bound,
                    regexp_extract(threshold, '^between (-?[0-9.eE+-]+) and (-?[0-9.eE+-]+)$', ['low', 'high']) as range,
                    regexp_extract(threshold, '^min_value=(-?[0-9.eE+-]+)$', 1) as min_value
                from main.dq_results
            )
            select build_id, checked_at, expectation, success, severity,
                   build_id = (select build_id from main.dq_results order by checked_at desc limit 1) as is_latest_build,
                   observed_value,
                   {_OBSERVED_NUMBER} as observed_number,
                   try_cast(regexp_extract(observed_value, '^\\d+ unexpected of (\\d+)', 1) as bigint) as checked_rows,
                   threshold,
                   case
                       when bound.operator <> '' then bound.operator
                       when range.low <> '' then 'between'
                       when threshold like '%=%' then split_part(threshold, '=', 1)
                   end as threshold_operator,
                   coalesce(try_cast(nullif(bound.number, '') as double), try_cast(nullif(min_value, '') as double))
                       as threshold_number,
                   coalesce(try_cast(nullif(range.low, '') as double),
                            case when bound.operator = '>=' then try_cast(bound.number as double) end) as threshold_min,
                   coalesce(try_cast(nullif(range.high, '') as double),
                            case when bound.operator = '<=' then try_cast(bound.number as double) end) as threshold_max,
                   details
            from parsed
        """,
        columns={
            "build_id": "=dq_results.build_id",
            "checked_at": "=dq_results.checked_at",
            "expectation": "=dq_results.expectation",
            "success": "=dq_results.success",
            "severity": "=dq_results.severity",
            "is_latest_build": "True for the rows of the newest build that ran the checks: filter on it for "
                               "'data quality now'.",
            "observed_value": "=dq_results.observed_value",
            "observed_number": "The observed value as a number: the metric's value (a share, a rate, hours, a "
                               "count), or for a row-level expectation the number of unexpected rows (the N of "
                               "'N unexpected of M'); null when the value is not a number (a column list) or "
                               "was not measurable.",
            "checked_rows": "For a row-level expectation, the rows it checked (the M of 'N unexpected of M'); "
                            "else null.",
            "threshold": "=dq_results.threshold",
            "threshold_operator": "How a metric check compares observed_number: `<=`, `>=` or `between` "
                                  "(threshold_min to threshold_max). For a row-level check, which must find no "
                                  "unexpected row, the name of its argument (`min_value`, `value_set`, `regex`, "
                                  "`column_set`); null when it has none.",
            "threshold_number": "The bound as a number: of a `<=` or `>=` metric check, or each value's minimum "
                                "of a `min_value` row-level check; null for `between` and checks without one.",
            "threshold_min": "The lowest passing observed_number of a metric check (`>=`, `between`); else null.",
            "threshold_max": "The highest passing observed_number of a metric check (`<=`, `between`); else null.",
            "details": "=dq_results.details",
        },
    ),
    View(
        name="quarantined_raw_rows",
        description="Every raw row that could not be used, with why (main.quarantined_rows), and whether the "
                    "row's text is valid JSON, so JSON functions can be applied to the rows that are.",
        sql="""
            select source, reason, quarantined_at, source_file, line_number, raw,
                   coalesce(json_valid(raw), false) as raw_is_json
            from main.quarantined_rows
        """,
        columns={
            "source": "=quarantined_rows.source",
            "reason": "=quarantined_rows.reason",
            "quarantined_at": "=quarantined_rows.quarantined_at",
            "source_file": "=quarantined_rows.source_file",
            "line_number": "=quarantined_rows.line_number",
            "raw": "=quarantined_rows.raw",
            "raw_is_json": "True when `raw` is valid JSON (flat-file rows always are; an event line may be broken "
                           "JSON, the reason it was quarantined): filter on it before json_extract and friends.",
        },
    ),
    View(
        name="people_hashed",
        description="One row per person, without any direct identifier: the email only as its sha256.",
        sql="""
            select person_id, account_id, account_link_method,
                   case
                       when regexp_full_match(email, '[0-9a-f]{64}') then email
                       else sha256(lower(trim(email)))
                   end as email_sha256,
                   first_seen_at, last_seen_at, lifecycle_stage,
                   consent_analytics, consent_marketing, consent_personalization, consent_data_sharing,
                   seniority, department
            from main.people
        """,
        columns={
            "person_id": "=people.person_id",
            "account_id": "=people.account_id",
            "account_link_method": "=people.account_link_method",
            "email_sha256": "sha256 (lower-case hex) of the person's email address, trimmed and lower-cased "
                            "before hashing: main.people.email, which holds the same hash unless var "
                            "publish_direct_identifiers publishes plain addresses (then hashed here). Null "
                            "when no email is known.",
            "first_seen_at": "=people.first_seen_at",
            "last_seen_at": "=people.last_seen_at",
            "lifecycle_stage": "=people.lifecycle_stage",
            "consent_analytics": "=people.consent_analytics",
            "consent_marketing": "=people.consent_marketing",
            "consent_personalization": "=people.consent_personalization",
            "consent_data_sharing": "=people.consent_data_sharing",
            "seniority": "=people.seniority",
            "department": "=people.department",
        },
    ),
    View(
        name="account_profiles",
        description="One row per account: firmographics with their scores (main.accounts joined with "
                    "main.account_scores), money and counts as DOUBLE and BIGINT.",
        sql="""
            select accounts.account_id, accounts.account_name, accounts.domain, accounts.industry, accounts.country,
                   accounts.employee_count, cast(accounts.annual_revenue as double) as annual_revenue,
                   accounts.fit_score, scores.intent_score, scores.engagement_score,
                   cast(scores.engaged_people as bigint) as engaged_people, scores.people, scores.engaged_roles,
                   scores.committee_roles, scores.committee_coverage, scores.committee_status,
                   accounts.technographic_fit_points, scores.third_party_intent_score, scores.third_party_intent_topic,
                   accounts.updated_at
            from main.accounts as accounts
            left join main.account_scores as scores on accounts.account_id = scores.account_id
        """,
        columns={
            "account_id": "=accounts.account_id",
            "account_name": "=accounts.account_name",
            "domain": "=accounts.domain",
            "industry": "=accounts.industry",
            "country": "=accounts.country",
            "employee_count": "=accounts.employee_count",
            "annual_revenue": "=accounts.annual_revenue",
            "fit_score": "=accounts.fit_score",
            "intent_score": "=account_scores.intent_score",
            "engagement_score": "=account_scores.engagement_score",
            "engaged_people": "=account_scores.engaged_people",
            "people": "=account_scores.people",
            "engaged_roles": "=account_scores.engaged_roles",
            "committee_roles": "=account_scores.committee_roles",
            "committee_coverage": "=account_scores.committee_coverage",
            "committee_status": "=account_scores.committee_status",
            "technographic_fit_points": "=accounts.technographic_fit_points",
            "third_party_intent_score": "=account_scores.third_party_intent_score",
            "third_party_intent_topic": "=account_scores.third_party_intent_topic",
            "updated_at": "=accounts.updated_at",
        },
    ),
    View(
        name="scored_people",
        description="One row per profiled person: their scores (main.person_scores) with money as DOUBLE.",
        sql="""
            select person_id, as_of, recency_days, frequency, cast(monetary as double) as monetary,
                   r_score, f_score, m_score, rfm_segment, engagement_score, intent_score, p_alive,
                   expected_purchases_90d, expected_spend_90d, fit_status, is_activated, first_activation_at
            from main.person_scores
        """,
        columns={
            name: f"=person_scores.{name}"
            for name in (
                "person_id", "as_of", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
                "rfm_segment", "engagement_score", "intent_score", "p_alive", "expected_purchases_90d",
                "expected_spend_90d", "fit_status", "is_activated", "first_activation_at",
            )
        },
    ),
)


def create(connection, schema: str = SCHEMA) -> list[str]:
    """Create the views and their comments in `connection`'s current database (the serving file being written).

    The published tables must already be in schema main, with their comments. Returns the views' names.
    """
    # qualified by the database: a serving file named bi.duckdb is a catalog "bi" beside the schema
    database = connection.execute("select current_database()").fetchone()[0].replace('"', '""')
    connection.execute(f'create schema if not exists "{database}"."{schema}"')  # DuckDB cannot comment on a schema
    for view in VIEWS:
        qualified = f'"{database}"."{schema}"."{view.name}"'
        connection.execute(f"create view {qualified} as {view.sql}")
        built = [row[0] for row in connection.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ? order by column_index", [schema, view.name]).fetchall()]
        if built != list(view.columns):
            raise ValueError(f"bi.{view.name}: the view's columns {built} are not the documented {list(view.columns)}")
        connection.execute(f"comment on view {qualified} is {_literal(view.description)}")
        for column, text in view.columns.items():
            comment = inherited_comment(connection, text) if text.startswith("=") else text
            connection.execute(f'comment on column {qualified}."{column}" is {_literal(comment)}')
    return [view.name for view in VIEWS]


def inherited_comment(connection, reference: str) -> str:
    """The comment of the published column `=table.column` (schema main of the current database)."""
    table, column = reference[1:].split(".")
    row = connection.execute(
        "select comment from duckdb_columns() where database_name = current_database() and schema_name = 'main' "
        "and table_name = ? and column_name = ?", [table, column]).fetchone()
    if row is None:
        raise ValueError(f"{reference}: no such published column")
    return row[0] or ""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
