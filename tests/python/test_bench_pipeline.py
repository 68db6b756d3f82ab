"""The pipeline benchmark's pieces, fast: the reference pass reads every event line once and counts users,
the increment adds about 1% as new files without touching the existing ones, and the verdicts follow the
issue's targets. (The full benchmark runs by hand: bin/bench; its figures are in the README.)"""

from __future__ import annotations

import json

from customer_segments.bench import pipeline, reference_pass
from customer_segments.bench.identity import Workspace


def test_reference_pass_reads_every_parsable_line(tmp_path, capsys):
    events = tmp_path / "events"
    events.mkdir()
    lines = [json.dumps({"userId": f"u{i % 3}", "type": "track"}) for i in range(7)]
    lines += [json.dumps({"anonymousId": "a1", "type": "page"}), "not json at all"]
    (events / "part-0.jsonl").write_text("\n".join(lines) + "\n")
    assert reference_pass.main([str(events)]) == 0
    assert "4 users, 8 events read" in capsys.readouterr().out


def test_increment_adds_new_files_of_about_one_percent(tmp_path):
    from customer_segments.generate import generate

    space = Workspace(tmp_path / "space")
    generate(space.raw, space.truth, events=10_000, seed=3, progress=False, end_date="2026-10-31")
    before = {path.name: path.stat().st_mtime_ns for path in (space.raw / "events").iterdir()}
    added = pipeline.append_increment(space, 2_000, 4, "2026-10-31")
    after = {path.name for path in (space.raw / "events").iterdir()}
    assert set(before) < after
    assert all((space.raw / "events" / name).stat().st_mtime_ns == mtime for name, mtime in before.items())
    assert 1_000 <= added <= 4_000  # the generator's event count is approximate (a minimum of people)


def test_render_reports_the_targets_honestly():
    result = {
        "events": 1000, "raw_event_lines": 1000, "increment_lines": 10, "runs": 1,
        "reference": {"wall_seconds": 2.0, "peak_rss_bytes": 10**8},
        "full": {"wall_seconds": 10.0, "peak_rss_bytes": 2 * 1024**3},
        "incremental": {"wall_seconds": 3.0, "peak_rss_bytes": 1024**3},
        "full_over_reference": 5.0, "incremental_over_full": 0.3, "peak_rss_bytes": 2 * 1024**3,
    }
    text = pipeline.render(result)
    assert "full / reference        = 5.00x" in text and "met)" in text
    assert "incremental / full      = 0.30 (target <= 0.1: NOT met)" in text
    assert "peak memory             = 2.00 GiB (target < 6 GB: met)" in text
