"""Where a batch goes: ad-platform upload files, a sales CSV, an HTTP webhook.

A destination gets one batch at a time (a dict: its idempotency key `batch`,
`build_id`, `segment_id`, and the `entered` and `exited` entities with their
identifiers) and returns only once the batch is acknowledged: written and
renamed into place for a file, a 2xx answer for the webhook. Anything else
raises DeliveryFailed and the batch stays pending (customer_segments.activation.sync).
Delivering the same batch again is harmless: a file of the same name is
replaced by the same bytes, and the webhook sends the same Idempotency-Key.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from customer_segments.activation.config import Destination


class DeliveryFailed(Exception):
    """The receiver did not acknowledge the batch; it stays pending and is sent again, with the same key."""


#: The upload templates (docs/activation.md#ad-platform-files): Google Ads Customer Match takes the headers
#: `Email` and `Phone` (and First Name, Last Name, Country, Zip, which the project does not hold); Meta's
#: customer list takes `email` and `phone` (and fn, ln, ...). Values are SHA-256 of the normalized identifier.
TEMPLATES = {
    "google_customer_match": ("Email", "Phone"),
    "meta_custom_audience": ("email", "phone"),
}
#: The phone's hashed shape per platform: E.164 with `+` (Google), its digits without `+` (Meta).
PHONE_WITH_PLUS = {"google_customer_match": True, "meta_custom_audience": False}

SALES_COLUMNS = ("change", "segment_id", "segment_name", "motion", "owner", "entity_type", "person_id", "account_id",
                 "account_name", "reason", "build_id")


def write_atomically(path: Path, text: str) -> None:
    """Write next to `path`, flush to disk and rename into place: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _csv(header: tuple[str, ...], rows: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def batch_stem(batch: dict) -> str:
    """`<build_id>_<first 12 characters of the key>`: files of one sync sort together, and a resend reuses the name."""
    return f"{batch['build_id']}_{batch['batch'][:12]}"


class AdPlatformFile:
    """One customer-list file per segment and sync: `<path>/<segment>/<stem>_add.csv` with the entries and, when
    people left, `<stem>_remove.csv` (both platforms take removals as a separate upload); a snapshot writes
    `<stem>_snapshot.csv`, the whole audience, for a list replaced in full."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self.header = TEMPLATES.get(destination.type, SALES_COLUMNS)

    def rows(self, entities: list[dict]) -> list[tuple]:
        return [(e.get("email_sha256") or "", e.get("phone_sha256") or "") for e in entities
                if e.get("email_sha256") or e.get("phone_sha256")]

    def files(self, batch: dict) -> dict[Path, str]:
        folder = self.destination.path / batch["segment_id"]
        stem = batch_stem(batch)
        if batch.get("snapshot"):
            return {folder / f"{stem}_snapshot.csv": _csv(self.header, self.rows(batch["entered"]))}
        written = {folder / f"{stem}_add.csv": _csv(self.header, self.rows(batch["entered"]))}
        if batch["exited"]:
            written[folder / f"{stem}_remove.csv"] = _csv(self.header, self.rows(batch["exited"]))
        return written

    def deliver(self, batch: dict) -> None:
        try:
            for path, text in self.files(batch).items():
                write_atomically(path, text)
        except OSError as problem:
            raise DeliveryFailed(f"cannot write {self.destination.path}: {problem.strerror or problem}") from None


class SalesCsv(AdPlatformFile):
    """A CSV for sales tools, one per segment and sync (`<path>/<segment>/<stem>.csv`): who entered or left,
    their account, the segment, its motion and owner, and why they are in it (as `segments explain` says)."""

    def files(self, batch: dict) -> dict[Path, str]:
        folder = self.destination.path / batch["segment_id"]
        suffix = "_snapshot" if batch.get("snapshot") else ""
        rows = []
        for change, entities in (("entered", batch["entered"]), ("exited", batch["exited"])):
            for entity in entities:
                rows.append((
                    change, batch["segment_id"], batch.get("segment_name"), batch.get("motion"), batch.get("owner"),
                    entity.get("entity_type"), entity.get("person_id"), entity.get("account_id"),
                    entity.get("account_name"), entity.get("reason") if change == "entered" else "left the segment",
                    batch["build_id"],
                ))
        return {folder / f"{batch_stem(batch)}{suffix}.csv": _csv(SALES_COLUMNS, rows)}


class Webhook:
    """Batched JSON POSTs to `url`: header `Idempotency-Key` (the batch's key, the same on every retry), a
    timeout per request, and up to `max_attempts` tries with exponential backoff and full jitter
    (sleep uniform(0, min(max_backoff, backoff x 2^attempt))). A 2xx answer acknowledges the batch."""

    def __init__(self, destination: Destination, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[float, float], float] = random.uniform) -> None:
        self.destination = destination
        self.sleep = sleep
        self.jitter = jitter
        self.attempts = 0  # requests sent by the last deliver()

    def body(self, batch: dict) -> bytes:
        payload = {
            "destination": self.destination.name,
            "batch": batch["batch"],
            "build_id": batch["build_id"],
            "segment_id": batch["segment_id"],
            "snapshot": bool(batch.get("snapshot")),
            "entered": [_public(e) for e in batch["entered"]],
            "exited": [_public(e) for e in batch["exited"]],
        }
        return json.dumps(payload, sort_keys=True, default=str).encode("utf-8")

    def deliver(self, batch: dict) -> None:
        destination = self.destination
        body = self.body(batch)
        problem = "no attempt"
        self.attempts = 0
        for attempt in range(destination.max_attempts):
            if attempt:
                ceiling = min(destination.max_backoff_seconds, destination.backoff_seconds * 2 ** (attempt - 1))
                self.sleep(self.jitter(0, ceiling))
            self.attempts += 1
            request = urllib.request.Request(
                destination.url, data=body, method="POST",
                headers={"Content-Type": "application/json", "Idempotency-Key": batch["batch"], **destination.headers},
            )
            try:
                with urllib.request.urlopen(request, timeout=destination.timeout_seconds) as response:
                    response.read()
                    if 200 <= response.status < 300:
                        return
                    problem = f"HTTP {response.status}"
            except urllib.error.HTTPError as error:
                problem = f"HTTP {error.code}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
                problem = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
        raise DeliveryFailed(f"{destination.url} did not acknowledge batch {batch['batch'][:12]} after "
                             f"{destination.max_attempts} attempts ({problem})")


def _public(entity: dict) -> dict:
    """What a webhook receives about an entity: ids and hashed identifiers, not the sales reason text."""
    return {key: entity[key] for key in ("entity_type", "entity_id", "email_sha256", "account_id") if entity.get(key)}


def for_destination(destination: Destination):
    if destination.type == "webhook":
        return Webhook(destination)
    if destination.type == "sales_csv":
        return SalesCsv(destination)
    return AdPlatformFile(destination)
