"""bin/bench --micro-batch: the batch it appends is what the benchmark claims (customer_segments.bench.micro_batch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from customer_segments.bench import micro_batch
from customer_segments.bench.identity import Measured

DAY = "2026-11-01"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from customer_segments.generate import generate

    root = tmp_path_factory.mktemp("micro_batch")
    generate(root / "raw", root / "truth", events=10_000, seed=3, progress=False, end_date="2026-10-31")
    return root / "raw" / "events"


def _ids(lines: list[dict], key: str) -> set[str]:
    return {line[key] for line in lines if line.get(key)}


def test_the_batch_is_new_calls_of_known_users_and_new_visitors_on_the_next_day(history: Path):
    old_lines = []
    for path in sorted(history.glob("*.jsonl")):
        for text in path.read_text(errors="replace").splitlines():
            try:
                old_lines.append(json.loads(text))
            except ValueError:
                continue
    written = micro_batch.micro_batch(history, 1_000, seed=9, day=DAY)
    batch = [json.loads(text) for text in (history / f"micro-batch-9-{DAY}.jsonl").read_text().splitlines()]

    assert written == len(batch) == 1_000
    assert all(line["timestamp"].startswith(DAY) and line["receivedAt"] >= line["timestamp"] for line in batch)
    assert len(_ids(batch, "messageId")) == 1_000
    assert not _ids(batch, "messageId") & _ids([line for line in old_lines if isinstance(line, dict)], "messageId")

    known_anonymous = _ids([line for line in old_lines if isinstance(line, dict)], "anonymousId")
    returning = [line for line in batch if line.get("anonymousId") in known_anonymous or line.get("userId")]
    new = [line for line in batch if line not in returning]
    assert 400 <= len(returning) <= 600 and 400 <= len(new) <= 600, (len(returning), len(new))
    assert all(line["type"] in micro_batch.NEW_VISITOR_TYPES and "userId" not in line for line in new)
    # a new visitor names nobody of the history: not by traits, nor by a device seen there (on the history's devices,
    # visitors were chained to each other and to known people, into components the graph walk could not settle)
    known_devices = {line["context"]["device"]["id"] for line in old_lines
                     if isinstance(line, dict) and isinstance(line.get("context"), dict)
                     and isinstance(line["context"].get("device"), dict) and line["context"]["device"].get("id")}
    new_devices = [line["context"]["device"]["id"] for line in new if isinstance(line.get("context"), dict)
                   and isinstance(line["context"].get("device"), dict) and line["context"]["device"].get("id")]
    assert new_devices and not set(new_devices) & known_devices
    assert all("traits" not in line and "traits" not in line.get("context", {}) for line in new)


def test_sizes_must_grow_and_be_large_enough():
    assert micro_batch._sizes("100000,2000000") == [100_000, 2_000_000]
    for bad in ("2000000,100000", "100000", "5000,100000", "many"):
        with pytest.raises(Exception):
            micro_batch._sizes(bad)


class _FakeSpace:
    """A workspace whose 'build' appends to the warehouse file and reports what it started from."""

    def __init__(self, root: Path, seconds: list[float], log: list[str] | None = None):
        root.mkdir(parents=True, exist_ok=True)
        self.database = root / "segments.duckdb"
        self.database.write_text("history+batch|")
        self.seconds, self.started_from, self.log = list(seconds), [], log if log is not None else []

    def dbt(self, *args, progress=None):
        self.started_from.append(self.database.read_text())
        self.log.append(self.database.parent.name)
        self.database.write_text(self.database.read_text() + "built|")  # a build changes the warehouse
        return Measured(0, self.seconds.pop(0), 0.0, 2**30)

    def node_results(self):
        return [{"unique_id": "model.customer_segments.people", "execution_time": 1.0}]


def test_the_histories_take_turns_each_run_from_the_warehouse_before_the_first(tmp_path: Path):
    log: list[str] = []
    small = _FakeSpace(tmp_path / "small", [30.0, 29.0, 31.0], log)
    large = _FakeSpace(tmp_path / "large", [40.0, 30.0, 50.0], log)
    builds = micro_batch._timed_rounds([(100_000, small), (2_000_000, large)], runs=3)
    # small, large; then large, small; then small, large: drift during the benchmark weighs on both sizes alike
    assert log == ["small", "large", "large", "small", "small", "large"]
    assert small.started_from == ["history+batch|"] * 3 and large.started_from == ["history+batch|"] * 3
    assert [build["seconds"] for build in builds[2_000_000]] == [40.0, 30.0, 50.0]
    assert [build["seconds"] for build in builds[100_000]] == [30.0, 29.0, 31.0]
    assert builds[100_000][0]["nodes"] == {"model people": 1.0}
    assert not list(tmp_path.glob("*/*.before-micro-batch"))  # the copies are removed


def test_one_run_keeps_no_copy(tmp_path: Path):
    space = _FakeSpace(tmp_path, [40.0])
    builds = micro_batch._timed_rounds([(100_000, space)], runs=1)
    assert [build["seconds"] for build in builds[100_000]] == [40.0] and list(tmp_path.iterdir()) == [space.database]


def test_a_failed_build_leaves_no_copy_behind(tmp_path: Path):
    small, large = _FakeSpace(tmp_path / "small", [30.0, 29.0]), _FakeSpace(tmp_path / "large", [40.0])
    with pytest.raises(IndexError):  # the large history's second build has no time: it fails
        micro_batch._timed_rounds([(100_000, small), (2_000_000, large)], runs=2)
    assert not list(tmp_path.glob("*/*.before-micro-batch"))


def test_a_history_is_timed_by_the_median_run_and_its_slowest_nodes():
    builds = [{"seconds": seconds, "peak_rss_bytes": peak, "slowest": [[f"run of {seconds:g} s", 1.0]]}
              for seconds, peak in ((42.0, 3 * 2**30), (40.0, 2**30), (60.0, 2**30))]
    row = micro_batch._size_result(2_000_000, 10_000, DAY, Measured(0, 150.0, 0.0, 2 * 2**30), builds)
    assert row["micro_batch_seconds"] == 42.0 and row["micro_batch_runs"] == [42.0, 40.0, 60.0]
    assert row["slowest"] == [["run of 42 s", 1.0]] and row["peak_rss_bytes"] == 3 * 2**30
    small = micro_batch._size_result(100_000, 10_000, DAY, Measured(0, 50.0, 0.0, 2**30),
                                     [{"seconds": s, "peak_rss_bytes": 0, "slowest": []} for s in (35.0, 29.0, 30.0)])
    ratios = micro_batch.round_ratios(small, row)
    assert ratios == [42.0 / 35.0, 40.0 / 29.0, 60.0 / 30.0]  # each round's two builds, in the order they ran
    text = micro_batch.render({"runs": 3, "sizes": [small, row], "ratio": 42.0 / 30.0, "round_ratios": ratios,
                               "largest_seconds": 42.0})
    assert "medians of 3 runs" in text and "runs: 42.0, 40.0, 60.0" in text
    assert "= 1.40 (target <= 1.5: met)" in text
    assert "round by round (builds minutes apart): 1.20, 1.38, 2.00" in text


def test_the_report_lists_the_nodes_that_grow_with_the_history():
    small = {"model people": 0.25, "model int_dq_checks": 5.0, "test unique_people_person_id": 0.05, "model gone": 0.5}
    large = {"model people": 0.9, "model int_dq_checks": 5.5, "test unique_people_person_id": 0.05, "model new": 1.25}
    assert micro_batch.growth(small, large) == [
        ["model new", 1.25, 0.0, 1.25],
        ["model people", 0.65, 0.25, 0.9],
        ["model int_dq_checks", 0.5, 5.0, 5.5],
        ["test unique_people_person_id", 0.0, 0.05, 0.05],
        ["model gone", -0.5, 0.5, 0.0],
    ]
    assert [row[0] for row in micro_batch.growth(small, large, count=2)] == ["model new", "model people"]
    rows = [{"history_events": size, "batch_lines": 10_000, "full_seconds": 100.0, "micro_batch_seconds": seconds,
             "micro_batch_runs": [seconds], "peak_rss_bytes": 0, "slowest": [], "nodes": nodes}
            for size, seconds, nodes in ((100_000, 30.0, small), (2_000_000, 40.0, large))]
    text = micro_batch.render({"runs": 1, "sizes": rows, "ratio": 40.0 / 30.0, "largest_seconds": 40.0})
    assert "grew most from 100,000 to 2,000,000 events of history (s; all nodes together: +1.90 s" in text
    assert "     +0.65  model people (0.25 -> 0.90)" in text and text.index("model new") < text.index("model people")
    # a report of builds measured before the nodes were kept (JSON of an older run) has no such section
    text = micro_batch.render({"runs": 1, "sizes": [{**row, "nodes": {}} for row in rows], "ratio": 1.3, "largest_seconds": 40.0})
    assert "grew most" not in text
