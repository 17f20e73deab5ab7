"""Logging that never prints a secret, whichever library logs it.

One mechanism for the whole process: a log-record factory scrubs every record as it is created,
message and traceback, before any logger filter or handler sees it (a filter on one logger misses
its children's records, and handlers come and go). It removes

- every secret registered with `redact()` (the configured tokens and keys, webhook tokens), and
- secrets that travel inside URLs whatever their value: Telegram's `/bot<token>/` and Discord's
  `/webhooks/<id>/<token>`, which httpx logs with every request.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from typing import Any

from core.kernel.config import ConfigPart

_URL_SECRETS = (
    (re.compile(r"/bot\d+:[A-Za-z0-9_-]+"), "/bot***"),
    (re.compile(r"(/webhooks/[^/\s]+/)[^/\s?\"']+"), r"\1***"),
)
_secrets: set[str] = set()
_install_lock = threading.Lock()
_installed = False


def scrub(text: str) -> str:
    """`text` without any registered secret or secret-bearing URL part."""
    for pattern, replacement in _URL_SECRETS:
        text = pattern.sub(replacement, text)
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


def redact(secret: str) -> None:
    """Replace `secret` by `***` in every log record created from now on, in any logger."""
    if len(secret) >= 6:  # empty or absurdly short: redacting it would mangle ordinary text
        _secrets.add(secret)
    install()


def install() -> None:
    """Put the scrubbing record factory in place (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        text = record.getMessage()
    except Exception:  # a broken format string is the logging module's to report
        return
    cleaned = scrub(text)
    if cleaned != text:
        record.msg, record.args = cleaned, ()
    if record.exc_info and record.exc_info[1] is not None:
        rendered = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        cleaned = scrub(rendered)
        if cleaned != rendered:
            record.exc_text = cleaned  # formatters use exc_text as is when it is set


NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler.executors",
    "telegram.ext.Updater",
    "matplotlib",
)


def setup_logging(level: str = "INFO", secrets: list[str] | None = None) -> None:
    for secret in secrets or []:
        redact(secret)
    install()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; the URLs are scrubbed, but the lines are noise.
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _check(values, bad) -> None:
    if values["log"]["level"].upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise bad("log", "level", "must be DEBUG, INFO, WARNING or ERROR")


CONFIG = ConfigPart({"log": {"level": "INFO"}}, check=_check)
