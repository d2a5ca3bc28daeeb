"""A licensure office's receiving endpoint on 127.0.0.1, as docs/office-receivers.md tells offices to build
one: it verifies the HMAC signature, treats a repeated Idempotency-Key as a duplicate (answered 2xx, counted
once) and can be scripted to misbehave: fail with 500, hang past our read timeout, answer 429 with
Retry-After, or hold a request until the test releases it (to kill a worker mid-delivery).

Used by the delivery tests, the worker test and bench/office_push.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lti_tool.records.push_signature import BadSignature, verify


@dataclass(frozen=True)
class Action:
    """What the receiver does with one request. ``kind``: ok | fail | throttle | hang | hold."""

    kind: str
    status: int = 200
    retry_after: str | None = None
    seconds: float = 0.0


OK = Action("ok")


def fail(status: int = 500) -> Action:
    return Action("fail", status=status)


def throttle(retry_after: str | None, status: int = 429) -> Action:
    return Action("throttle", status=status, retry_after=retry_after)


def hang(seconds: float) -> Action:
    """Accept the record, then answer only after ``seconds`` (longer than the sender waits)."""
    return Action("hang", seconds=seconds)


HOLD = Action("hold")


@dataclass(frozen=True)
class Hit:
    at: float
    key: str
    status: int


class Receiver:
    """The state of one receiving endpoint; ``url`` is where to POST."""

    def __init__(self, secret: str, tolerance: int = 300) -> None:
        self.secret = secret
        self.tolerance = tolerance
        self.lock = threading.Lock()
        self.plan: list[Action] = []
        self.accepted: Counter[str] = Counter()  # key -> times a request with it was accepted
        self.records: dict[str, dict[str, Any]] = {}  # key -> the first body accepted
        self.hits: list[Hit] = []
        self.bad_signatures = 0
        self.holding = threading.Event()  # set while a HOLD request waits
        self.release = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/records"

    def script(self, *actions: Action) -> None:
        with self.lock:
            self.plan.extend(actions)

    @property
    def duplicates(self) -> int:
        with self.lock:
            return sum(n - 1 for n in self.accepted.values())

    def hits_for(self, key: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.key == key]

    def _next(self) -> Action:
        with self.lock:
            return self.plan.pop(0) if self.plan else OK

    def handle(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        try:
            verify(self.secret, body, headers, time.time(), self.tolerance)
        except BadSignature as exc:
            with self.lock:
                self.bad_signatures += 1
            return 401, {}, json.dumps({"error": str(exc)}).encode()
        key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), "")
        if not key:
            return 400, {}, b'{"error": "Idempotency-Key is required"}'
        action = self._next()
        if action.kind in ("fail", "throttle"):
            self._hit(key, action.status)
            extra = {"Retry-After": action.retry_after} if action.retry_after is not None else {}
            return action.status, extra, b'{"error": "scripted"}'
        with self.lock:
            self.accepted[key] += 1
            duplicate = self.accepted[key] > 1
            if not duplicate:
                self.records[key] = json.loads(body)
            receipt = f"R-{len(self.records):06d}"
        self._hit(key, 200)
        if action.kind == "hang":
            time.sleep(action.seconds)
        elif action.kind == "hold":
            self.holding.set()
            self.release.wait(120)
        answer = {"receipt_id": receipt, "duplicate": duplicate}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def _hit(self, key: str, status: int) -> None:
        with self.lock:
            self.hits.append(Hit(time.monotonic(), key, status))


def _handler_class(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a sender reuses its connection, as with a real office
        # Headers and body leave in separate writes; with Nagle on, each answer on a kept-alive connection
        # would wait for the sender's delayed ACK (~40 ms), which no production web server does.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status, extra, answer = receiver.handle(body, dict(self.headers.items()))
            try:
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (a hang or a killed worker)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def running_receiver(secret: str, tolerance: int = 300) -> Iterator[Receiver]:
    receiver = Receiver(secret, tolerance)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(receiver))
    server.daemon_threads = True
    receiver.server = server
    thread = threading.Thread(target=server.serve_forever, name="records-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
