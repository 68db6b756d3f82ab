"""`dbt source freshness` on the raw inputs: a stale source is an error (non-zero exit) past its error threshold.

The raw sources (models/staging/_raw__sources.yml) read the newest loaded-at timestamp of each input's files
(events `receivedAt`, orders `ordered_at`, ...). A planted stale events file, with var
source_freshness_error_after_hours set, fails the command and names the source; the same folder with an
events file received an hour ago passes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Workspace



def message(received: datetime) -> str:
    stamp = received.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return json.dumps({"messageId": "m-1", "type": "page", "anonymousId": "a-1", "name": "Home",
                       "timestamp": stamp, "receivedAt": stamp})


def freshness(space: Workspace, *vars_: str):
    run = space.dbt("source", "freshness", "--select", "source:raw.events", *vars_)
    results = json.loads((space.root / "target" / "sources.json").read_text())["results"]
    return run, {result["unique_id"]: result["status"] for result in results}


@pytest.fixture
def stale(workspace: Workspace) -> Workspace:
    (workspace.raw / "events").mkdir()
    (workspace.raw / "events" / "old.jsonl").write_text(message(datetime(2020, 1, 1, tzinfo=timezone.utc)) + "\n")
    return workspace


def test_a_stale_source_fails_past_its_error_threshold(stale: Workspace):
    run, status = freshness(stale, "--vars", "{source_freshness_error_after_hours: 24}")
    assert run.returncode != 0, run.output[-3000:]
    assert status == {"source.customer_segments.raw.events": "error"}
    assert "ERROR STALE freshness of raw.events" in run.output


def test_a_fresh_source_passes_the_same_threshold(stale: Workspace):
    recent = datetime.now(timezone.utc) - timedelta(hours=1)
    (stale.raw / "events" / "new.jsonl").write_text(message(recent) + "\nnot json at all\n")
    run, status = freshness(stale, "--vars", "{source_freshness_error_after_hours: 24}")
    assert run.returncode == 0, run.output[-3000:]
    assert status == {"source.customer_segments.raw.events": "pass"}
