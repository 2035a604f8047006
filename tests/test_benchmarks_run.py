"""The benchmarks still run: each at a tiny size, in a clean environment, to its last line.

A benchmark is run rarely and by hand; a change elsewhere (a new check before a cycle starts,
a renamed function) can break it unseen until the day its figures are needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

SMALL = {
    "portal_bench.py": (["--regions", "2", "--workers", "2"], "portal adds"),
    "assessment_bench.py": (["--regions", "3"], "ratio ours/baseline"),
    "inbox_bench.py": (["--messages", "5"], "ratio 1/3"),
    "mail_outbox.py": (["--messages", "5"], "ratio outbox/smtplib"),
    "reminders_bench.py": (
        ["--waits", "40", "--regions", "10", "--letters", "2"],
        "ratio naive / product",
    ),
}


@pytest.mark.parametrize("script", sorted(SMALL))
def test_benchmark_runs_at_a_tiny_size(script: str, tmp_path: Path) -> None:
    args, expected = SMALL[script]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PEMANTIK_"))}
    env["TMPDIR"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert expected in proc.stdout, proc.stdout[-2000:]
