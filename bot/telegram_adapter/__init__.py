"""Telegram adapter over python-telegram-bot 22: commands, buttons, replies, queued delivery."""

from .adapter import TelegramAdapter
from .sender import TelegramSender, build_bot

__all__ = ["TelegramAdapter", "TelegramSender", "build_bot"]
