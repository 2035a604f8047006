"""Helpers for the flow tests and the demo: a served product and simulated people."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from models.db import session_scope
from models.tables import Wait, WaitState


class ServedProduct:
    """Run every deployment in a background thread of this process (the in-process runner)."""

    def __init__(self, poll_seconds: float = 0.5) -> None:
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.poll_seconds = poll_seconds
        self.thread: threading.Thread | None = None

    def __enter__(self) -> ServedProduct:
        from deployments.serve import serve_all

        self.thread = threading.Thread(
            target=serve_all,
            kwargs={
                "stop": self.stop_event,
                "ready": self.ready,
                "poll_seconds": self.poll_seconds,
            },
            daemon=True,
        )
        self.thread.start()
        if not self.ready.wait(60):
            raise RuntimeError("runner tidak siap")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        if self.thread:
            self.thread.join(60)


def wait_until(predicate: Callable[[], Any], timeout: float = 120.0, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError("kondisi tidak tercapai dalam batas waktu")


def open_wait(region: str, kind: str) -> Wait | None:
    with session_scope() as session:
        return session.exec(
            select(Wait).where(
                Wait.region_code == region, Wait.kind == kind, Wait.state == WaitState.OPEN
            )
        ).first()


def flow_state(flow_run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state.name
