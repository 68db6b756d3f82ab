"""A webhook receiver for the activation tests: applies batches once per idempotency key, and misbehaves on purpose.

Faults, drawn per request from a seeded generator:
- `fail`: answers 500 without applying the batch;
- `timeout`: applies the batch, then answers only after the client's timeout;
- `drop`: applies the batch and closes the connection without an answer, so the
  client sends it again and it is acknowledged twice (the second time as a duplicate).
A duplicate key is acknowledged (200) and not applied again. `kill_after`: on
the n-th batch it applies, it sets `reached` and holds its answer until
`release` is set (the test SIGKILLs the sender in between).

The state it keeps is what the tests compare: members per segment, how many
times each key was applied (must be 1), and conflicts (an entry of a member
already in, an exit of one not in, a key sent again with another body).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that gave up (timed out, was killed) leaves a broken pipe: expected here, not worth a traceback."""


class Receiver:
    def __init__(self, *, fault_rate: float = 0.0, seed: int = 1, timeout_sleep: float = 1.0,
                 kill_after: int | None = None, first_faults: tuple[str, ...] = ()) -> None:
        self.fault_rate = fault_rate
        self.first_faults = list(first_faults)  # the first requests' faults, in order, then random ones
        self.down = False  # True: every request fails (500), nothing is applied
        self.random = random.Random(seed)
        self.timeout_sleep = timeout_sleep
        self.kill_after = kill_after
        self.reached = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.members: dict[str, set[str]] = {}
        self.applied: dict[str, int] = {}
        self.bodies: dict[str, str] = {}
        self.requests = 0
        self.duplicates = 0
        self.faults = {"fail": 0, "timeout": 0, "drop": 0}
        self.conflicts: list[str] = []
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/audiences"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def fault(self) -> str | None:
        with self.lock:
            if self.down:
                return "fail"
            if self.first_faults:
                return self.first_faults.pop(0)
            if self.random.random() >= self.fault_rate:
                return None
            return self.random.choice(("fail", "timeout", "drop"))

    def apply(self, key: str, body: bytes) -> bool:
        """Apply a batch once per key; True when it was new."""
        digest = hashlib.sha256(body).hexdigest()
        with self.lock:
            if key in self.applied:
                self.duplicates += 1
                if self.bodies[key] != digest:
                    self.conflicts.append(f"key {key} sent again with another body")
                return False
            batch = json.loads(body)
            segment = self.members.setdefault(batch["segment_id"], set())
            if batch.get("snapshot"):
                segment.clear()
            for entity in batch["exited"]:
                if entity["entity_id"] not in segment:
                    self.conflicts.append(f"exit of {entity['entity_id']} not in {batch['segment_id']}")
                segment.discard(entity["entity_id"])
            for entity in batch["entered"]:
                if entity["entity_id"] in segment:
                    self.conflicts.append(f"entry of {entity['entity_id']} already in {batch['segment_id']}")
                segment.add(entity["entity_id"])
            self.applied[key] = 1
            self.bodies[key] = digest
            return True

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key")
                with receiver.lock:
                    receiver.requests += 1
                if not key:
                    self.send_response(400)
                    self.end_headers()
                    return
                fault = receiver.fault()
                if fault == "fail":
                    receiver.faults["fail"] += 1
                    self.send_response(500)
                    self.end_headers()
                    return
                new = receiver.apply(key, body)
                if new and receiver.kill_after is not None and len(receiver.applied) == receiver.kill_after:
                    receiver.reached.set()
                    receiver.release.wait(30)
                if fault == "timeout":
                    receiver.faults["timeout"] += 1
                    time.sleep(receiver.timeout_sleep)
                if fault == "drop":
                    receiver.faults["drop"] += 1
                    self.close_connection = True
                    return  # no answer at all: the client sees the connection closed
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"duplicate": not new}).encode())

        return Handler
