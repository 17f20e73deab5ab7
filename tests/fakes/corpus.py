"""The recorded real payloads (tests/data/real/<venue>/*.json) and a loopback server replaying them.

Each file is `{source, request, status, headers, body, notes}` (tests/data/real/README.md says
where each one comes from). `ReplayServer` answers every request with the recorded reply it was
last given: the recorded status, the recorded headers (but the framing ones, which the server
computes) and the body byte for byte (a JSON body re-serialised, an HTML/plain-text body as is).

`corpus_files(venue)` lists a venue's files; tests/test_corpus_coverage.py checks that every file
is named by at least one corpus test, so a payload added later cannot sit unused.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver.httpserver import HTTPServerBase
from werkzeug import Request, Response

REAL = Path(__file__).resolve().parent.parent / "data" / "real"
_FRAMING = {"content-length", "content-type", "connection", "date", "transfer-encoding", "server"}


def corpus_files(venue: str) -> list[str]:
    return sorted(p.stem for p in (REAL / venue).glob("*.json"))


def load(venue: str, name: str) -> dict[str, Any]:
    return json.loads((REAL / venue / f"{name}.json").read_text())


def body_bytes(record: dict[str, Any]) -> tuple[bytes, str]:
    body = record["body"]
    if isinstance(body, str):
        kind = "text/html" if body.lstrip().startswith("<") else "text/plain"
        return body.encode(), kind
    return json.dumps(body).encode(), "application/json"


class ReplayServer(HTTPServerBase):
    """Serves `record` (set with `serve`) for every path; counts the requests."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 0, threaded=True)
        self.record: dict[str, Any] | None = None
        self.status: int | None = None
        self.hits = 0
        self.trickle: tuple[int, float] | None = None  # (bytes, seconds between bytes)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, record: dict[str, Any], status: int | None = None) -> None:
        """Replay `record`; `status` when the source did not record one (default 200)."""
        with self._lock:
            self.record, self.status, self.hits = record, status, 0

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            self.hits += 1
            record, status, trickle = self.record, self.status, self.trickle
        if trickle is not None:
            count, every = trickle

            def drip() -> Iterator[bytes]:
                for _ in range(count):
                    time.sleep(every)
                    yield b" "

            return Response(drip(), 200, content_type="application/json")
        assert record is not None, "serve() a record first"
        content, kind = body_bytes(record)
        headers = {k: v for k, v in (record.get("headers") or {}).items()}
        headers = {k: v for k, v in headers.items() if k.lower() not in _FRAMING}
        code = record.get("status") or status or 200
        return Response(content, code, headers=headers, content_type=kind)

    def application(self, request: Request) -> Response:
        request.get_data()
        return self.dispatch(request)

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)


@pytest.fixture(name="replay")
def replay_fixture() -> Iterator[ReplayServer]:
    server = ReplayServer()
    server.start()
    yield server
    server.stop()
