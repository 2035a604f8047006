"""Probe flows for the runner's tests, and a serving process that serves them.

    python -m tests.runner_probe --interval 0.3 --batas 4

serves one deployment, ``uji-runner/probe``, with the product's in-process runner (the same
``deployments.runner`` that ``pemantik serve`` uses); it prints ``SIAP`` once its start-up
clean-up is done. A probe run appends one line
``<pid> <start>`` to ``<folder>/<token>.runs`` each time it executes, then works for ``seconds``
in small steps, touching ``<token>.beat`` (or until ``<token>.stop`` exists) — so a test can
count executions and see whether a cancelled run really stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from pathlib import Path

from prefect import flow, task

PROBE_DEPLOYMENT = "uji-runner/probe"


@task(name="kerja probe", persist_result=False, cache_policy=None)
def work(token: str, seconds: float, folder: str) -> int:
    base = Path(folder)
    with (base / f"{token}.runs").open("a") as fh:
        fh.write(f"{os.getpid()} {time.time()}\n")
    beats = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (base / f"{token}.stop").exists():
        (base / f"{token}.beat").write_text(str(beats))
        beats += 1
        time.sleep(0.05)
    return beats


@flow(name="uji-runner", persist_result=False)
def probe_flow(token: str, seconds: float = 0.0, folder: str = ".") -> int:
    return work(token, seconds, folder)


def probe_pairs() -> list:
    return [(probe_flow, probe_flow.to_deployment(name="probe", tags=["uji"]))]


def main() -> None:
    from deployments.runner import exit_within, serve_in_process
    from models.db import migrate
    from models.settings import get_settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--batas", type=int, default=8)
    args = parser.parse_args()
    migrate()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    ready = threading.Event()
    threading.Thread(target=lambda: ready.wait() and print("SIAP", flush=True), daemon=True).start()
    serve_in_process(
        probe_pairs(),
        poll_seconds=args.interval,
        limit=args.batas,
        stop=stop,
        ready=ready,
        lease_seconds=get_settings().runner.lease_seconds,
        drain_seconds=get_settings().runner.drain_seconds,
    )
    print("BERHENTI", flush=True)
    exit_within(max(5.0, get_settings().runner.drain_seconds))


if __name__ == "__main__":
    main()
