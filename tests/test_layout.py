"""The shape of the code holds: imports point one way (the import-linter contracts in
pyproject.toml), no import cycle at any level, and every adapter's stand-in service speaks the
ChatService contract the real one does."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import grimp

from core.chat.api import ChatService
from core.chat.dispatch import COMMAND_TABLE, Dispatcher
from tests.discord_helpers import StandInService as DiscordStandIn
from tests.fakes.standin_service import StandInService as TelegramStandIn

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start) & modules)))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append(
                    (child, iter(sorted(graph.find_modules_directly_imported_by(child) & modules)))
                )
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_module_is_part_of_an_import_cycle():
    # grimp counts imports under `if TYPE_CHECKING:` and inside functions as well.
    graph = grimp.build_graph("core", "bot", cache_dir=None)
    modules = {m for m in graph.modules if m.split(".")[0] in ("core", "bot")}
    assert _cycles(graph, modules) == []


def _public_signature(cls: type, name: str) -> list[str]:
    return [p for p in inspect.signature(getattr(cls, name)).parameters if p != "self"]


def test_the_real_service_and_both_stand_ins_speak_the_chat_service_contract():
    contract = [
        name
        for name, member in vars(ChatService).items()
        if callable(member) and not name.startswith("_")
    ]
    assert {"handle", "press", "run", "help", "known_symbols", "set_chat_active"} <= set(contract)
    for implementation in (Dispatcher, TelegramStandIn, DiscordStandIn):
        for name in contract:
            assert hasattr(implementation, name), f"{implementation.__qualname__} lacks {name}"
            assert _public_signature(implementation, name) == _public_signature(
                ChatService, name
            ), f"{implementation.__module__}.{implementation.__qualname__}.{name}"
            is_async = inspect.iscoroutinefunction(getattr(ChatService, name))
            assert inspect.iscoroutinefunction(getattr(implementation, name)) == is_async, name


def test_every_command_in_the_menu_has_one_implementation():
    from core.chat.commands import COMMANDS

    assert {spec.name for spec in COMMANDS} <= set(COMMAND_TABLE)
