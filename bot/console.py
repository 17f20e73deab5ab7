"""The console chat: one user, one chat, stdin → commands, replies and alerts → stdout.

The way to try liqwatch with no token, and the way tests drive whole conversations. Buttons are
shown numbered; typing the number presses the button of the latest message that had buttons.
Charts are written as PNG files and their path printed.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
from pathlib import Path
from typing import TextIO

from core.types import Button, Caller, ChatRef, Message

CALLER = Caller(platform="console", chat_id="console", user_id="you")


class ConsoleOutput:
    """Prints messages; keeps the latest buttons so that typing a number presses one."""

    def __init__(self, out: TextIO | None = None, chart_dir: Path | None = None):
        self.out = out or sys.stdout
        self.chart_dir = chart_dir or Path(tempfile.gettempdir())
        self.buttons: tuple[Button, ...] = ()
        self._charts = 0

    def show(self, message: Message) -> None:
        text = message.text()
        if message.image:
            self._charts += 1
            symbol = message.title.split()[0] if message.title else "chart"
            safe = "".join(c for c in symbol if c.isalnum()) or "chart"
            path = self.chart_dir / f"liqwatch-{safe}-{self._charts}.png"
            path.write_bytes(message.image)
            text += f"\n[chart saved: {path}]"
        if message.buttons:
            self.buttons = message.buttons
            text += "\n" + "  ".join(f"[{n}] {b.label}" for n, b in enumerate(message.buttons, 1))
        self.out.write(text + "\n\n")
        self.out.flush()


class ConsoleSender:
    """The outbox's Sender for the console: alerts and summaries appear as they happen."""

    platform = "console"

    def __init__(self, output: ConsoleOutput):
        self.output = output

    async def send(self, chat: ChatRef, message: Message) -> None:
        self.output.show(message)


class ConsoleChat:
    """Adapter: reads lines, calls the service, prints. `start`/`stop` like every adapter."""

    def __init__(
        self,
        service,
        output: ConsoleOutput,
        stdin: TextIO | None = None,
        on_eof: asyncio.Event | None = None,
        greeting: str = "",
    ):
        self.service = service
        self.output = output
        self.sender = ConsoleSender(output)
        self.stdin = stdin or sys.stdin
        self.on_eof = on_eof or asyncio.Event()
        self.greeting = greeting
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self.greeting:
            self.output.out.write(self.greeting + "\n\n")
            self.output.out.flush()
        self._task = asyncio.create_task(self._loop(), name="console-chat")

    async def stop(self) -> None:
        if self._task and not self._task.done():
            self._task.cancel()

    def _reader(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
        # A daemon thread, not to_thread(): a blocked readline must not hold up the exit.
        try:
            for line in iter(self.stdin.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, "")
        except (RuntimeError, ValueError, OSError):
            pass  # the loop or stdin closed while we read: nothing left to do

    async def _loop(self) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._reader, args=(loop, queue), daemon=True).start()
        try:
            while True:
                line = await queue.get()
                if not line:
                    break
                text = line.strip()
                if text.lower() in ("/quit", "/exit"):
                    break
                for message in await self.reply(text):
                    self.output.show(message)
        finally:
            self.on_eof.set()

    async def reply(self, text: str) -> list[Message]:
        if text.isdigit() and self.output.buttons:
            index = int(text) - 1
            if 0 <= index < len(self.output.buttons):
                button = self.output.buttons[index]
                return await self.service.press(CALLER, button.action, button.args)
        return await self.service.handle(CALLER, text)
