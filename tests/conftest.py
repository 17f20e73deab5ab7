"""Shared test setup: never reach a real host, never use a display."""

from __future__ import annotations

import logging
import os
import socket

import pytest
from hypothesis import settings

from bot.logs import NOISY_LOGGERS

os.environ.setdefault("MPLBACKEND", "Agg")

# CI runs the property tests on a fixed seed, so a run is reproducible; developers' runs stay
# random and keep exploring (a failure prints the example to pin as a regression test).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Tests talk to servers on 127.0.0.1 only; no proxy may intercept that, no secret leaks in."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    for var in ("COINGLASS_API_KEY", "TELEGRAM_TOKEN", "DISCORD_TOKEN"):
        monkeypatch.delenv(var, raising=False)


LOOPBACK = {"127.0.0.1", "localhost", "::1", "", None}
_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture(autouse=True)
def _no_real_hosts(monkeypatch, request):
    """A name lookup of any host but loopback fails at once, and fails the test that made it:
    every client in a test must be pointed at a fake (the bot's processes get the same rule
    from tests/procs.py's configs)."""
    asked: list[str] = []

    def loopback_only(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            asked.append(str(name))
            raise socket.gaierror(socket.EAI_NONAME, f"tests reach no real host ({name})")
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    yield
    if asked:
        pytest.fail(f"the test tried to reach real hosts: {sorted(set(asked))}")


@pytest.fixture(autouse=True)
def _restore_logging():
    """The CLI configures logging globally; give every test the logging it started with."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


from tests.fakes.exchange import exchange_fixture  # noqa: E402,F401  (the `exchange` fixture)
