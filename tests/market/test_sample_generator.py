"""core/data/make_sample.py rebuilds the committed replay sample byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "core" / "data" / "make_sample.py"


def test_the_committed_sample_is_what_the_generator_writes():
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stdout + run.stderr
