"""Logging that never prints a secret: every configured token and key is redacted."""

from __future__ import annotations

import logging
import re


class RedactSecrets(logging.Filter):
    """Replaces each secret (and Telegram's `bot<token>` URLs) with `***` in every record."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]
        self._bot_url = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._bot_url.sub("/bot***", message)
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, "***")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler.executors",
    "telegram.ext.Updater",
    "matplotlib",
)


def setup_logging(level: str = "INFO", secrets: list[str] | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and Telegram's URLs carry the token.
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
