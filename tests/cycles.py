"""Cycles and waits for tests, made through the product's own paths: ``services.cycle`` for
the cycle, ``services.waits.open_wait`` for a wait (its due date is the stage's rule), on the
simulated clock. Nothing here writes a table directly."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.tables import Wait
from services.cycle import create_cycle
from services.waits import open_wait


def new_cycle(year: int = 2026, start: date = date(2026, 3, 2), **params: Any) -> int:
    """A running cycle (every shipped region and assessor loaded); returns its id."""
    made = create_cycle(
        {"year": year, "start_date": start.isoformat(), **params}, f"run-siklus-{year}"
    )
    return made["cycle_id"]


def open_stage(
    sim_clock: Any, cycle_id: int, region: str, kind: str, on: date, key: str = ""
) -> Wait:
    """Open the region's wait on ``kind`` as the flow does, on day ``on``."""
    sim_clock(on)
    return open_wait(
        kind=kind,
        cycle_id=cycle_id,
        region=region,
        flow_run_id=f"run-{region}",
        key=key or f"{kind}-r1-0",
    )
