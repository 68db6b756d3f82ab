"""The line `segments build` prints from dbt's source freshness results (customer_segments.cli)."""

from __future__ import annotations

from customer_segments import cli


def result(name: str, status: str, newest: str = "2026-11-14T15:37:57+00:00", age: float | None = 72 * 3600) -> dict:
    return {"unique_id": f"source.customer_segments.{name}", "status": status, "max_loaded_at": newest,
            "max_loaded_at_time_ago_in_s": age}


def test_all_fresh_is_one_short_line():
    assert cli.freshness_line([result("raw.events", "pass"), result("raw.orders", "pass")]) == \
        "Sources: all 2 fresh (dbt source freshness)."


def test_stale_sources_are_named_with_their_newest_row_and_age():
    line = cli.freshness_line([result("raw.events", "warn"), result("raw.orders", "pass"),
                               result("raw.consent", "error", newest="0001-01-01T00:00:00+00:00")])
    assert line == ("Sources: 1 of 3 fresh; raw.consent error (no data), raw.events warn "
                    "(newest 2026-11-14 15:37, 72 h old) (dbt source freshness).")


def test_build_passes_vars_and_target_to_freshness():
    assert cli._passed_through(["--vars", "{a: 1}", "--select", "staging", "--target=spark"]) == \
        ["--vars", "{a: 1}", "--target=spark"]
