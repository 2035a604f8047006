"""Helpers for the flow tests and the demo: a served product and simulated people."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from deployments.serve import BackgroundServe as ServedProduct  # noqa: F401
from models.db import session_scope
from models.tables import Wait, WaitState


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


def levels(kind: str = "jawaban", level: int = 3) -> dict:
    """Every indicator of the SPBE 2020 instrument at ``level``: a region's answers
    (``kind="jawaban"``, with evidence links) or an assessor's scores (with notes)."""
    from assessment.instruments import load_instrument

    key = "evidence" if kind == "jawaban" else "note"
    return {
        i.code: {"level": level, key: "https://contoh.example/bukti"}
        for i in load_instrument("spbe-2020").indicators
    }
