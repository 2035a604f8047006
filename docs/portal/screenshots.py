#!/usr/bin/env python3
"""Make the portal's screenshots for the README (docs/portal/*.png).

Runs the browser test (tests/test_portal_browser.py: the real flows, a real SMTP sink, the
portal over HTTP and Debian's Chromium) with PORTAL_SCREENSHOTS_DIR pointing here, so
each page is saved as the officer, the assessor and the admin see it.

    python3 docs/portal/screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> int:
    python = ROOT / ".venv" / "bin" / "python"
    env = {
        **os.environ,
        "PORTAL_SCREENSHOTS_DIR": str(HERE),
        "PYTHONPATH": str(ROOT),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    test = "tests/test_portal_browser.py"
    return subprocess.call([str(python), "-m", "pytest", "-q", "-x", test], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
