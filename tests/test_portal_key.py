"""The portal key: made once, whole, even when several processes need it at the same moment.

The serving process runs every region's first step at once; each step's email carries a
personal link, so the first use of the key is a race between threads and processes.
"""

from __future__ import annotations

import multiprocessing
import secrets
import time
from pathlib import Path

import pytest

from models import tokens

PROCESSES = 6
ROUNDS = 5


def _read_key(path: str, barrier, results) -> None:  # noqa: ANN001 - multiprocessing objects
    # A slow moment between making the file and filling it (a loaded machine preempts there):
    # in this forked child only, drawing the key's bytes takes a while.
    draw = secrets.token_bytes
    secrets.token_bytes = lambda n: (time.sleep(0.2), draw(n))[1]
    barrier.wait()
    try:
        results.put(tokens.make_or_read_key(Path(path)).hex())
    except Exception as exc:  # reported to the test, which names it
        results.put(f"galat: {exc}")


def test_processes_racing_for_a_new_key_all_get_the_same_whole_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for round_no in range(ROUNDS):
        path = tmp_path / f"putaran-{round_no}" / tokens.KEY_FILE
        barrier = ctx.Barrier(PROCESSES)
        results = ctx.Queue()
        workers = [
            ctx.Process(target=_read_key, args=(str(path), barrier, results))
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        seen = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(60)
        assert not [s for s in seen if s.startswith("galat")], seen
        assert len(set(seen)) == 1, seen
        assert len(bytes.fromhex(seen[0])) == 32
        assert path.read_bytes().hex() == seen[0]
        assert path.stat().st_mode & 0o777 == 0o600
        assert sorted(p.name for p in path.parent.iterdir()) == [tokens.KEY_FILE]


def test_a_damaged_key_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / tokens.KEY_FILE
    path.write_bytes(b"pendek")
    with pytest.raises(RuntimeError, match="rusak.*Hapus berkas itu"):
        tokens.make_or_read_key(path)
