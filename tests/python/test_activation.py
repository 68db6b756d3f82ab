"""Activation (docs/activation.md): `segments sync` delivers each destination its audience exactly once.

Unit tests (quick) pin the identifier normalization, the config and the watch manifest. The rest sync copies
of the shared demo warehouse: the ad-platform files against the documented templates with hashes of known
addresses; holdout, suppressed and refused people never delivered (suppressions planted at delivery time);
exactly once through a receiver that fails, times out and acknowledges twice, with `segments sync` killed
(SIGKILL) in the middle of a batch; data residency (no EU person in a non-EU output, an EU-only serving file).
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from conftest import NO_GENERIC_TESTS, REPO_ROOT, DemoBuild, Workspace

from customer_segments import build_lock, cli, publish
from customer_segments.activation import config as activation_config
from customer_segments.activation import identifiers, watch
from customer_segments.activation.sync import sync
from webhook_receiver import Receiver


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# unit tests


@pytest.mark.parametrize("raw, normalized", [
    ("  John.Doe@Example.COM ", "john.doe@example.com"),
    ("ANN@corp.io", "ann@corp.io"),
    ("not an address", None),
    ("", None),
])
def test_email_is_trimmed_lowercased_then_sha256(raw, normalized):
    assert identifiers.normalize_email(raw) == normalized
    assert identifiers.hashed_email(raw) == (sha(normalized) if normalized else None)


def test_a_digest_is_not_hashed_twice():
    digest = sha("ann@corp.io")
    assert identifiers.hashed_email(digest.upper()) == digest


@pytest.mark.parametrize("raw, country, e164", [
    ("+1 (650) 555-1234", None, "+16505551234"),
    ("0044 20 7183 8750", None, "+442071838750"),
    ("020 7183 8750", "44", "+442071838750"),
    ("020 7183 8750", None, None),  # no country code: a platform cannot match it
    ("+1 555", None, None),  # too short for E.164
])
def test_phone_is_e164(raw, country, e164):
    assert identifiers.normalize_phone(raw, country) == e164


def test_phone_hash_per_platform():
    assert identifiers.hashed_phone("+1 (650) 555-1234") == sha("+16505551234")  # Google: E.164
    assert identifiers.hashed_phone("+1 (650) 555-1234", plus=False) == sha("16505551234")  # Meta: digits


def test_config_refuses_what_it_cannot_deliver_to(tmp_path: Path):
    good = {"destinations": [{"name": "g", "type": "google_customer_match", "path": "out"}]}
    parsed = activation_config.parse(good, tmp_path / "a.yml")
    assert parsed.destinations[0].channel == "ads" and parsed.destinations[0].path == tmp_path / "out"
    for bad, said in [
        ({"destinations": [{"name": "w", "type": "webhook", "channel": "ads"}]}, "url"),
        ({"destinations": [{"name": "x", "type": "ftp"}]}, "type"),
        ({"destinations": [{"name": "g", "type": "google_customer_match", "path": "o", "colour": 1}]}, "colour"),
        ({"destinations": [{"name": "s", "type": "sales_csv", "path": "o"}] * 2}, "unique"),
        ({"destination": []}, "unknown key"),
    ]:
        with pytest.raises(activation_config.ConfigError, match=said):
            activation_config.parse(bad, tmp_path / "a.yml")


def test_the_documented_example_config_is_valid(tmp_path: Path):
    page = (REPO_ROOT / "docs" / "activation.md").read_text(encoding="utf-8")
    example = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    parsed = activation_config.parse(yaml.safe_load(example), tmp_path / "activation.yml")
    assert [d.type for d in parsed.destinations] == ["google_customer_match", "meta_custom_audience", "sales_csv", "webhook"]
    assert parsed.restricted_regions == ("EU",)


def test_watch_sees_new_changed_and_removed_files(tmp_path: Path):
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "a.jsonl").write_text("1\n")
    (tmp_path / "events" / ".hidden").write_text("x")
    (tmp_path / "orders.csv").write_text("h\n")
    before = watch.scan(tmp_path)
    assert sorted(before) == ["events/a.jsonl", "orders.csv"]
    assert not watch.compare(before, watch.scan(tmp_path))
    (tmp_path / "events" / "b.jsonl").write_text("2\n")
    (tmp_path / "orders.csv").write_text("h\nrow\n")
    (tmp_path / "events" / "a.jsonl").unlink()
    changes = watch.compare(before, watch.scan(tmp_path))
    assert (changes.added, changes.changed, changes.removed) == (["events/b.jsonl"], ["orders.csv"], ["events/a.jsonl"])


# --------------------------------------------------------------------------------------------------------------
# on copies of the demo warehouse


def copy_of(demo: DemoBuild, root: Path) -> Workspace:
    """A workspace holding a copy of the demo warehouse (no raw files): a sync writes to its warehouse."""
    space = Workspace(root)
    shutil.copy(demo.workspace.database, space.database)
    return space


def write_config(path: Path, destinations: list[dict], restricted: list[str] | None = None) -> activation_config.ActivationConfig:
    document: dict = {"destinations": destinations}
    if restricted is not None:
        document["restricted_regions"] = restricted
    path.write_text(yaml.safe_dump(document))
    return activation_config.load(path)


def read_csvs(folder: Path, pattern: str) -> list[tuple[list[str], list[list[str]]]]:
    files = []
    for path in sorted(folder.rglob(pattern)):
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        files.append((rows[0], rows[1:]))
    return files


def non_holdout_members(database: Path, channel: str) -> set[tuple[str, str]]:
    """Independently of sync: (segment, entity) of the non-holdout members of active segments listing `channel`."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return set(connection.execute(
            "select m.segment_id, m.entity_id from segment_members m join segments s using (segment_id) "
            "where s.status = 'active' and not m.is_holdout and list_contains(string_split(s.channels, ','), ?)",
            [channel],
        ).fetchall())


@pytest.fixture(scope="module")
def delivered(passed_demo_build: DemoBuild, tmp_path_factory: pytest.TempPathFactory):
    """One sync of a demo copy to every file destination, after planting suppressions and a refusal that the
    build did not see (delivery applies them): what was planted, and where the files are."""
    root = tmp_path_factory.mktemp("activation-files")
    space = copy_of(passed_demo_build, root)
    with duckdb.connect(str(space.database)) as connection:
        ads = connection.execute(
            "select m.entity_id, m.segment_id from segment_members m join segments s using (segment_id) "
            "where s.status = 'active' and not m.is_holdout and m.entity_type = 'person' "
            "and list_contains(string_split(s.channels, ','), 'ads') order by m.entity_id limit 6"
        ).fetchall()
        sales = connection.execute(
            "select m.entity_id from segment_members m join segments s using (segment_id) "
            "where s.status = 'active' and not m.is_holdout and m.entity_type = 'person' "
            "and list_contains(string_split(s.channels, ','), 'sales') order by m.entity_id desc limit 3"
        ).fetchall()
        assert len(ads) == 6 and len(sales) == 3, "the demo has too few members to plant in"
        suppressed = [person for person, _ in ads[:3]]
        # after the build: a do-not-sell on ads, an all-channel unsubscribe, a withdrawn consent (sales)
        connection.execute("insert into suppressions values (?, 'ads', 'all', 'do_not_sell', now()::timestamp)", [suppressed[0]])
        connection.execute("insert into suppressions values (?, 'all', 'all', 'analytics_refused', now()::timestamp)", [suppressed[1]])
        connection.execute("insert into suppressions values (?, 'ads', 'marketing', 'consent_withdrawn', now()::timestamp)", [suppressed[2]])
        refused = [row[0] for row in sales]
        connection.execute("update people set consent_marketing = false, consent_personalization = false "
                           "where person_id in (select unnest(?::varchar[]))", [refused])
    config = write_config(root / "activation.yml", [
        {"name": "google", "type": "google_customer_match", "path": "out/google"},
        {"name": "meta", "type": "meta_custom_audience", "path": "out/meta"},
        {"name": "sales", "type": "sales_csv", "path": "out/sales"},
    ], restricted=[])
    result = sync(space.database, config)
    assert result.ok, result.lines()
    return {"space": space, "root": root, "suppressed": suppressed, "refused": refused, "result": result}


def emails_by_person(database: Path) -> dict[str, str]:
    """Each person's address as the warehouse knows it in plain text (the one people.email hashes)."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return dict(connection.execute(
            "select person_id, min(identifier_value) from int_identity_person_ids "
            "where identifier_type = 'email' group by 1"
        ).fetchall())


def test_ad_platform_files_match_the_templates_column_by_column(delivered):
    space, root = delivered["space"], delivered["root"]
    emails = emails_by_person(space.database)
    for name, header, in_file in (("google", ["Email", "Phone"], 0), ("meta", ["email", "phone"], 0)):
        files = read_csvs(root / "out" / name, "*_add.csv")
        assert files, f"no {name} file"
        hashes = set()
        for found_header, rows in files:
            assert found_header == header
            assert all(len(row) == len(header) for row in rows)
            assert all(len(row[0]) == 64 and row[0] == row[0].lower() for row in rows)
            assert all(row[1] == "" for row in rows)  # the demo has no phone numbers
            hashes |= {row[in_file] for row in rows}
        # known addresses: every person delivered to ads, hashed here from the plain text address
        expected = {
            sha(emails[person].strip().lower())
            for segment, person in non_holdout_members(space.database, "ads")
            if person in emails and person not in delivered["suppressed"] and person not in delivered["refused"]
        }
        assert hashes == expected


def test_holdout_suppressed_and_refused_people_never_reach_a_destination(delivered):
    space, root = delivered["space"], delivered["root"]
    emails = emails_by_person(space.database)
    with duckdb.connect(str(space.database), read_only=True) as connection:
        holdout = {row[0] for row in connection.execute(
            "select entity_id from segment_members where is_holdout and entity_type = 'person'").fetchall()}
        members = {row[0] for row in connection.execute(
            "select entity_id from segment_members where not is_holdout and entity_type = 'person'").fetchall()}
    only_holdout = holdout - members  # people in some segment's holdout and no other segment's treated group
    assert only_holdout, "the demo has no holdout members"
    ad_hashes = {row[0] for name in ("google", "meta") for _, rows in read_csvs(root / "out" / name, "*.csv") for row in rows}
    forbidden = {sha(emails[p].strip().lower()): p for p in only_holdout | set(delivered["suppressed"]) if p in emails}
    assert sorted(forbidden[h] for h in ad_hashes & forbidden.keys()) == []
    sales_people = {row[6] for _, rows in read_csvs(root / "out" / "sales", "*.csv") for row in rows}
    assert sales_people, "nothing delivered to sales"
    assert sorted(sales_people & (only_holdout | set(delivered["refused"]) | {delivered["suppressed"][1]})) == []
    # per segment: no member of a segment's holdout is delivered in that segment
    with duckdb.connect(str(space.database), read_only=True) as connection:
        held = set(connection.execute(
            "select segment_id, entity_id from activation.destination_members "
            "intersect select segment_id, entity_id from segment_members where is_holdout").fetchall())
    assert held == set()


def test_sales_csv_says_account_motion_and_reason(delivered):
    files = read_csvs(delivered["root"] / "out" / "sales", "*.csv")
    header = files[0][0]
    assert header == ["change", "segment_id", "segment_name", "motion", "owner", "entity_type", "person_id",
                      "account_id", "account_name", "reason", "build_id"]
    rows = [dict(zip(header, row)) for _, found in files for row in found]
    assert rows and all(row["motion"] and row["reason"] and row["change"] == "entered" for row in rows)
    assert any(row["account_id"] for row in rows)
    assert any("=" in row["reason"] for row in rows), "no rule values in the reasons"


def test_sync_log_has_one_delivered_row_per_batch_and_a_second_sync_sends_nothing(delivered):
    space, root = delivered["space"], delivered["root"]
    logged = space.query("select destination, status, entered, exited from sync_log order by destination")
    assert logged and {row[1] for row in logged} == {"delivered"}
    sent = {name: sum(row[2] for row in logged if row[0] == name) for name in ("google", "meta", "sales")}
    assert sent == {r.name: r.entered for r in delivered["result"].destinations}
    again = sync(space.database, activation_config.load(root / "activation.yml"))
    assert [(r.batches, r.entered, r.exited) for r in again.destinations] == [(0, 0, 0)] * 3


def test_sync_refuses_while_a_build_holds_the_lock(passed_demo_build: DemoBuild, tmp_path: Path, monkeypatch, capsys):
    space = copy_of(passed_demo_build, tmp_path)
    write_config(tmp_path / "activation.yml", [{"name": "g", "type": "google_customer_match", "path": "out"}])
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(space.database))
    monkeypatch.setenv("SEGMENTS_ACTIVATION_CONFIG", str(tmp_path / "activation.yml"))
    with build_lock.build_lock(space.database):
        assert cli.main(["sync"]) == 1
    assert "nothing synced" in capsys.readouterr().err
    assert space.scalar("select count(*) from sync_log") == 0
    assert cli.main(["sync"]) == 0


def test_sync_refuses_a_build_that_failed_the_gate(passed_demo_build: DemoBuild, tmp_path: Path):
    space = copy_of(passed_demo_build, tmp_path)
    config = write_config(tmp_path / "activation.yml", [{"name": "g", "type": "google_customer_match", "path": "out"}])
    with duckdb.connect(str(space.database)) as connection:
        connection.execute("update dq_results set success = false where expectation = (select min(expectation) "
                           "from dq_results where severity = 'fail')")
    from customer_segments.activation import SyncError

    with pytest.raises(SyncError, match="data-quality gate failed"):
        sync(space.database, config)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------------------------
# exactly once


def run_sync(space: Workspace, config: Path) -> subprocess.Popen:
    env = {**os.environ, "SEGMENTS_DUCKDB_PATH": str(space.database), "SEGMENTS_ACTIVATION_CONFIG": str(config)}
    return subprocess.Popen([sys.executable, "-m", "customer_segments.cli", "sync"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_mid_batch(space: Workspace, config: Path, receiver: Receiver) -> str:
    """Start a sync, SIGKILL it while the receiver holds its answer to the n-th batch, and return its output."""
    process = run_sync(space, config)
    deadline = time.monotonic() + 120
    while not receiver.reached.wait(0.2):
        assert time.monotonic() < deadline, "the receiver never got the batch to kill at"
        if process.poll() is not None:  # stopped by receiver faults before that batch: sync again
            assert "stopped:" in process.communicate()[0]
            process = run_sync(space, config)
    process.send_signal(signal.SIGKILL)
    output = process.communicate(timeout=30)[0]
    assert process.returncode == -signal.SIGKILL, output
    receiver.release.set()
    return output


def sync_until_done(space: Workspace, config: Path, attempts: int = 12) -> None:
    for _ in range(attempts):
        process = run_sync(space, config)
        output = process.communicate(timeout=300)[0]
        if process.returncode == 0:
            return
        assert "stopped:" in output, output  # a receiver fault, not a crash
    raise AssertionError(f"sync did not complete in {attempts} runs")


def test_exactly_once_through_faults_and_sigkill(passed_demo_build: DemoBuild, tmp_path: Path):
    space = copy_of(passed_demo_build, tmp_path)
    config = tmp_path / "activation.yml"
    with Receiver(fault_rate=0.3, seed=11, timeout_sleep=0.6, kill_after=4,
                  first_faults=("fail", "timeout", "drop")) as receiver:
        write_config(config, [{
            "name": "hook", "type": "webhook", "channel": "sales", "url": receiver.url, "batch_size": 7,
            "timeout_seconds": 0.3, "max_attempts": 4, "backoff_seconds": 0.01, "max_backoff_seconds": 0.05,
        }], restricted=[])
        kill_mid_batch(space, config, receiver)
        # the killed sync left the 4th batch pending (applied by the receiver, never acknowledged)
        assert space.scalar("select count(*) from activation.pending_batches") > 0
        sync_until_done(space, config)
        expected = non_holdout_members(space.database, "sales")
        assert {(s, e) for s, members in receiver.members.items() for e in members} == expected
        # exits: members leave (a later build, here planted), and the sync is killed again mid-batch
        with duckdb.connect(str(space.database)) as connection:
            connection.execute("delete from segment_members where (segment_id, entity_id) in "
                               "(select segment_id, entity_id from segment_members where not is_holdout "
                               "order by entity_id limit 50)")
        # the receiver is down: the sync stops, the batches stay pending, the cursor does not move
        held = space.scalar("select count(*) from activation.destination_members")
        receiver.down = True
        process = run_sync(space, config)
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 1 and "stopped:" in output, output
        assert space.scalar("select count(*) from activation.destination_members") == held
        assert space.scalar("select count(*) from sync_log where status = 'failed'") == 1
        assert space.scalar("select count(*) from activation.pending_batches") > 1
        receiver.down = False
        receiver.reached.clear()
        receiver.release.clear()
        receiver.kill_after = len(receiver.applied) + 2
        kill_mid_batch(space, config, receiver)
        sync_until_done(space, config)
        expected = non_holdout_members(space.database, "sales")
        received = {(s, e) for s, members in receiver.members.items() for e in members}
        assert received == expected
        print(f"receiver: {receiver.requests} requests, {len(receiver.applied)} batches applied once each, "
              f"{receiver.duplicates} duplicates acknowledged again, faults {receiver.faults}")
        assert receiver.conflicts == []
        assert set(receiver.applied.values()) == {1}
        assert receiver.duplicates >= 2  # the two kills, at least
        assert receiver.faults["fail"] and receiver.faults["timeout"] and receiver.faults["drop"], receiver.faults
        logged = space.query("select batch, status from sync_log where destination = 'hook'")
        assert {batch for batch, _ in logged} == set(receiver.applied)
        assert {status for _, status in logged} == {"delivered"}


# --------------------------------------------------------------------------------------------------------------
# data residency


def test_no_eu_person_reaches_a_non_eu_output(passed_demo_build: DemoBuild, tmp_path: Path):
    space = copy_of(passed_demo_build, tmp_path)
    regions = dict(space.query("select person_id, region from people"))
    eu = {person for person, region in regions.items() if region == "EU"}
    assert eu and len(eu) < len(regions), "the demo has no EU people, or only EU people"
    config = write_config(tmp_path / "activation.yml", [
        {"name": "sales_eu", "type": "sales_csv", "path": "eu", "region": "EU"},
        {"name": "sales_us", "type": "sales_csv", "path": "us", "region": "US"},
        {"name": "sales_any", "type": "sales_csv", "path": "any"},
    ])
    assert sync(space.database, config).ok
    people = {name: {row[6] for _, rows in read_csvs(tmp_path / name, "*.csv") for row in rows if row[6]}
              for name in ("eu", "us", "any")}
    assert people["eu"] and people["us"] and people["any"]
    assert people["eu"] <= eu
    assert sorted((people["us"] | people["any"]) & eu) == []
    assert {regions[p] for p in people["us"]} == {"US"}
    # the region-constrained serving file: only EU people in every table that names a person
    served = tmp_path / "serving-eu.duckdb"
    publish.publish(space.database, served, region="EU")
    with duckdb.connect(str(served), read_only=True) as connection:
        assert {row[0] for row in connection.execute("select distinct region from people").fetchall()} == {"EU"}
        for table, column in (("person_identifiers", "person_id"), ("person_scores", "person_id"),
                              ("suppressions", "person_id"), ("person_account_links", "person_id")):
            found = {row[0] for row in connection.execute(f"select distinct {column} from {table}").fetchall()}
            assert found <= eu, table
        members = {row[0] for row in connection.execute(
            "select entity_id from segment_members where entity_type = 'person'").fetchall()}
        assert members and members <= eu
        assert connection.execute("select count(*) from quarantined_rows").fetchone()[0] == 0
        assert connection.execute("select distinct region from _published").fetchall() == [("EU",)]


# --------------------------------------------------------------------------------------------------------------
# watch


def test_watch_once_builds_publishes_and_syncs_when_files_land_and_idles_otherwise(passed_demo_build: DemoBuild,
                                                                                    tmp_path: Path):
    space = passed_demo_build.workspace.copy(tmp_path / "space")
    write_config(tmp_path / "activation.yml", [{"name": "sales", "type": "sales_csv", "path": "out"}], restricted=[])
    env = {**space.env(), "SEGMENTS_ACTIVATION_CONFIG": str(tmp_path / "activation.yml"),
           "SEGMENTS_SERVING_PATH": str(tmp_path / "serving.duckdb")}
    command = [sys.executable, "-m", "customer_segments.cli", "watch", "--once", "--",  # builds: no generic data tests
               *NO_GENERIC_TESTS, "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]

    def watch_once() -> str:
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        return done.stdout

    first = watch_once()  # no manifest yet: every raw file is new
    assert "new, 0 changed, 0 removed raw files" in first and "landing to delivery" in first
    assert space.scalar("select count(*) from sync_log where status = 'delivered'") > 0
    assert publish.current(tmp_path / "serving.duckdb") is not None
    assert "nothing to do" in watch_once()
    consent = space.raw / "consent.csv"
    os.utime(consent, ns=(consent.stat().st_atime_ns, consent.stat().st_mtime_ns + 10**9))  # rewritten: a new mtime
    assert "0 new, 1 changed, 0 removed raw files" in watch_once()


def test_webhook_retries_with_backoff_and_jitter_under_one_key_and_times_out():
    from customer_segments.activation.config import Destination
    from customer_segments.activation.destinations import DeliveryFailed, Webhook

    batch = {"batch": "k" * 32, "build_id": "b", "segment_id": "s", "entered": [{"entity_type": "person",
             "entity_id": "p1"}], "exited": []}
    slept: list[tuple[float, float]] = []
    # fail, time out, drop the connection, then acknowledge: four requests, three backoffs
    with Receiver(first_faults=("fail", "timeout", "drop"), timeout_sleep=0.5) as receiver:
        destination = Destination(name="hook", type="webhook", channel="sales", url=receiver.url, timeout_seconds=0.2,
                                  max_attempts=4, backoff_seconds=0.01, max_backoff_seconds=0.03)
        hook = Webhook(destination, sleep=lambda seconds: None,
                       jitter=lambda low, high: slept.append((low, high)) or high / 2)
        hook.deliver(batch)
        assert hook.attempts == 4 and receiver.requests == 4
        assert slept == [(0, 0.01), (0, 0.02), (0, 0.03)]  # doubling, capped; the draw is the jitter's
        assert receiver.applied == {"k" * 32: 1} and receiver.duplicates == 2  # the timeout's and the drop's resend
        assert receiver.members == {"s": {"p1"}}
    with Receiver(fault_rate=1.0, seed=3) as receiver:
        destination = Destination(name="hook", type="webhook", channel="sales", url=receiver.url, timeout_seconds=0.2,
                                  max_attempts=3, backoff_seconds=0.0)
        receiver.timeout_sleep = 0.4
        with pytest.raises(DeliveryFailed, match="after 3 attempts"):
            Webhook(destination, sleep=lambda seconds: None).deliver(batch)
        assert receiver.requests == 3


def test_snapshot_sends_the_whole_audience_and_leaves_the_cursor_equal(delivered):
    space, root = delivered["space"], delivered["root"]
    config = activation_config.load(root / "activation.yml")
    before = space.query("select destination, segment_id, entity_id from activation.destination_members order by all")
    result = sync(space.database, config, names=["google"], snapshot=True)
    assert result.ok and result.destinations[0].entered == sum(1 for row in before if row[0] == "google")
    snapshots = read_csvs(root / "out" / "google", "*_snapshot.csv")
    adds = read_csvs(root / "out" / "google", "*_add.csv")
    assert {row[0] for _, rows in snapshots for row in rows} == {row[0] for _, rows in adds for row in rows}
    assert space.query("select destination, segment_id, entity_id from activation.destination_members order by all") == before


def test_a_wrong_config_is_a_usage_error(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(tmp_path / "segments.duckdb"))
    assert cli.main(["sync", "--config", str(tmp_path / "missing.yml")]) == 2
    (tmp_path / "bad.yml").write_text("destinations:\n  - {name: x, type: webhook, channel: ads, url: ftp://x}\n")
    assert cli.main(["sync", "--config", str(tmp_path / "bad.yml")]) == 2
    err = capsys.readouterr().err
    assert "no activation config" in err and "`url` must be an http(s) URL" in err and "Traceback" not in err


def test_publish_region_writes_its_own_file_and_keeps_the_full_one(passed_demo_build: DemoBuild, tmp_path: Path,
                                                                  monkeypatch):
    space = copy_of(passed_demo_build, tmp_path)
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(space.database))
    monkeypatch.delenv("SEGMENTS_SERVING_PATH", raising=False)
    assert cli.main(["publish"]) == 0
    assert cli.main(["publish", "--region", "EU"]) == 0
    full, eu = space.database.with_name("serving.duckdb"), space.database.with_name("serving-eu.duckdb")
    with duckdb.connect(str(full), read_only=True) as connection:
        regions = {row[0] for row in connection.execute("select distinct region from people").fetchall()}
        assert "EU" in regions and len(regions) > 1
    with duckdb.connect(str(eu), read_only=True) as connection:
        assert {row[0] for row in connection.execute("select distinct region from people").fetchall()} == {"EU"}


def test_dbt_never_drops_the_sync_log_nor_the_cursor(delivered, tmp_path: Path):
    space = delivered["space"]
    before = space.query("select * from sync_log order by destination, batch")
    cursor = space.scalar("select count(*) from activation.destination_members")
    assert before and cursor
    run = space.dbt("run", "--full-refresh", "-s", "sync_log")
    assert run.returncode == 0, run.output[-3000:]
    assert space.query("select * from sync_log order by destination, batch") == before
    assert space.scalar("select count(*) from activation.destination_members") == cursor


def test_an_exit_reaches_the_sales_csv_with_the_person(delivered):
    space, root = delivered["space"], delivered["root"]
    with duckdb.connect(str(space.database)) as connection:
        segment, person = connection.execute(
            "select segment_id, entity_id from activation.destination_members "
            "where destination = 'sales' and entity_type = 'person' order by all limit 1").fetchone()
        connection.execute("delete from segment_members where segment_id = ? and entity_id = ?", [segment, person])
    result = sync(space.database, activation_config.load(root / "activation.yml"), names=["sales"])
    assert [(r.entered, r.exited) for r in result.destinations] == [(0, 1)]
    rows = [row for header, found in read_csvs(root / "out" / "sales" / segment, "*.csv") for row in found
            if row[0] == "exited"]
    assert [(row[1], row[6], row[9]) for row in rows] == [(segment, person, "left the segment")]
