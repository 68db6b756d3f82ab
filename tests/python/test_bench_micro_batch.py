"""bin/bench --micro-batch: the batch it appends is what the benchmark claims (customer_segments.bench.micro_batch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from customer_segments.bench import micro_batch

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
