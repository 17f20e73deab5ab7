"""The container's entrypoint script, run directly (there is no Docker engine in CI): the command
and config it hands to liqwatch, the data directory check, and that `exec` makes liqwatch the
process `docker stop` signals (so SIGTERM reaches it and it shuts down cleanly)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"

# Stands in for the `liqwatch` binary: prints its pid, cwd and args, then waits for SIGTERM.
# The handler goes in before the line is printed: the test signals as soon as it reads it.
STUB = """#!{python}
import os, signal, sys
if "--wait" in sys.argv:
    signal.signal(signal.SIGTERM, lambda *_: (print("stopped cleanly", flush=True), sys.exit(0)))
print(os.getpid(), os.getcwd(), *sys.argv[1:], flush=True)
if "--wait" in sys.argv:
    signal.pause()
"""


def setup(tmp_path: Path, with_config: bool = True) -> dict[str, str]:
    stub = tmp_path / "liqwatch"
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "config.toml"
    if with_config:
        config.write_text("")
    return {
        **os.environ,
        "LIQWATCH_BIN": str(stub),
        "LIQWATCH_DATA": str(data),
        "LIQWATCH_CONFIG": str(config),
    }


async def entrypoint(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        "sh", str(ENTRYPOINT), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 10)
    return process.returncode, out.decode(), err.decode()


async def test_no_command_runs_the_bot_with_the_mounted_config_on_the_data_volume(tmp_path):
    env = setup(tmp_path)
    code, out, _ = await entrypoint(env)
    _, cwd, *args = out.split()
    assert code == 0
    assert cwd == env["LIQWATCH_DATA"]  # the default [store] path lands on the volume
    assert args == ["run", "--config", env["LIQWATCH_CONFIG"]]


async def test_a_command_keeps_its_own_config_and_no_file_means_defaults(tmp_path):
    env = setup(tmp_path, with_config=False)
    _, out, _ = await entrypoint(env, "doctor")
    assert out.split()[2:] == ["doctor"]  # nothing mounted: the built-in defaults + env
    (tmp_path / "b").mkdir()
    env = setup(tmp_path / "b")
    _, out, _ = await entrypoint(env, "top", "--config", "/elsewhere.toml", "--json")
    assert out.split()[2:] == ["top", "--config", "/elsewhere.toml", "--json"]


async def test_a_missing_data_volume_is_one_clear_line_and_exit_1(tmp_path):
    env = setup(tmp_path)
    env["LIQWATCH_DATA"] = str(tmp_path / "nowhere")
    code, out, err = await entrypoint(env)
    assert code == 1 and out == ""
    assert "is not a writable directory" in err and "-v liqwatch-data:" in err


async def test_sigterm_to_the_container_process_reaches_liqwatch_itself(tmp_path):
    env = setup(tmp_path)
    process = await asyncio.create_subprocess_exec(
        "sh", str(ENTRYPOINT), "run", "--wait", env=env, stdout=asyncio.subprocess.PIPE
    )
    first = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().split()
    assert int(first[0]) == process.pid  # exec: no shell left in between to swallow signals
    process.send_signal(signal.SIGTERM)
    rest, _ = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0 and "stopped cleanly" in rest.decode()
