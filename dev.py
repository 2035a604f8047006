#!/usr/bin/env python3
"""Bootstrap and run: needs only Python >= 3.11 with pip.

    python3 dev.py demo    # make .venv, install the locked dependencies, run a whole demo cycle
    python3 dev.py test    # same environment, run the whole test suite
    python3 dev.py lint    # ruff check and ruff format --check (what CI runs)
    python3 dev.py run ARGS...  # any `pemantik` command inside the environment

The environment is `.venv/` beside this file, installed from `requirements.lock` with uv (itself
installed into the venv by pip, so nothing is needed beforehand). Re-installs only when the lock
or pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".pemantik-installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit("PeManTIK memerlukan Python 3.11 atau lebih baru.")
    if not PY.exists():
        print("Membuat lingkungan .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("Memasang dependensi dari requirements.lock ...", flush=True)
    subprocess.run([PY, "-m", "pip", "install", "-q", "uv"], check=True)
    uv = [PY, "-m", "uv", "pip", "install", "--python", str(PY), "-q"]
    subprocess.run([*uv, "-r", ROOT / "requirements.lock"], check=True)
    subprocess.run([*uv, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(_fingerprint())


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command not in ("demo", "test", "lint", "run"):
        print(__doc__)
        return 0 if command == "help" else 2
    ensure_env()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if command == "demo":
        args = argv[1:] or ["--keluar", "demo-out"]
        return subprocess.call([BIN / "pemantik", "demo", *args], cwd=ROOT, env=env)
    if command == "test":
        # Both cores by default: each worker starts its own Prefect server and databases, and a
        # test file stays on one worker (its fixtures are shared within the file).
        spread = (
            [] if any(a.startswith("-n") for a in argv[1:]) else ["-n", "2", "--dist", "loadfile"]
        )
        return subprocess.call([PY, "-m", "pytest", *spread, *argv[1:]], cwd=ROOT, env=env)
    if command == "lint":
        checked = subprocess.call([BIN / "ruff", "check", "."], cwd=ROOT, env=env)
        formatted = subprocess.call([BIN / "ruff", "format", "--check", "."], cwd=ROOT, env=env)
        return checked or formatted
    return subprocess.call([BIN / "pemantik", *argv[1:]], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
