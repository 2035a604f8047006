"""Visible progress on the cycle's run page, and the nudge that resumes the cycle when its
last region has passed step 13.

Prefect updates only progress artifacts in place (a keyed table gains a version on every
write), so the cycle run carries ONE progress artifact, ``kemajuan-siklus-<year>``: its value
is the share of regions past step 13 and its description the regions × steps grid, rewritten
on every change. The grid as a table (``status-siklus-<year>``) is written at milestones only:
when the regions are started and when the cycle is reported (and daily by the reminder flow).

A rewrite reads every region of the cycle, and every region's run asks for one at each of its
waits: rewriting on every ask would cost O(regions²) per cycle. So the asks of a process are
coalesced, one rewrite per cycle at most every ``PEMANTIK_RUNNER__STATUS_SECONDS``, always
after the last ask (it reads the state as it is then), and a pending one is written when the
process exits.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any
from uuid import UUID

from models import clock
from models.db import session_scope
from models.tables import Cycle
from services.cycle import regions_unfinished

log = logging.getLogger("pemantik.status")

LAST_REGION_STEP = 13


def progress_key(year: int) -> str:
    return f"kemajuan-siklus-{year}"


def table_key(year: int) -> str:
    return f"status-siklus-{year}"


def grid_markdown(grid: Any) -> str:
    """The grid as a markdown table (short step numbers as column heads, a legend below)."""
    heads = [title.split(" ", 1)[0] for title in grid.columns]
    lines = [
        "| Wilayah | " + " | ".join(heads) + " |",
        "|---|" + "---|" * len(heads),
    ]
    for row in grid.rows:
        cells = [cell.text() or "·" for cell in row.cells]
        lines.append(f"| {row.region_name} ({row.region_code}) | " + " | ".join(cells) + " |")
    legend = "; ".join(grid.columns)
    return "\n".join(lines) + f"\n\nLangkah: {legend}."


_pending: dict[int, threading.Timer] = {}  # cycle id → its rewrite, on its way
_pending_lock = threading.Lock()


def publish_status(cycle_id: int, table: bool = False, create: bool = False) -> None:
    """Ask for the cycle run's progress artifact to be rewritten (coalesced, see above); at a
    milestone (``table``, ``create``) it is written at once, the table with it.

    Only the cycle run makes the artifact (``create``, before it starts any region): region
    runs publish at the same moments, and each making its own would leave several."""
    from models.settings import get_settings

    delay = get_settings().runner.status_seconds
    if table or create or delay <= 0:
        write_status(cycle_id, table=table, create=create)
        return
    with _pending_lock:
        if cycle_id in _pending:
            return  # the rewrite on its way reads this change too
        timer = threading.Timer(delay, _write_pending, args=(cycle_id,))
        timer.daemon = True
        _pending[cycle_id] = timer
        timer.start()


def _write_pending(cycle_id: int) -> None:
    with _pending_lock:  # taken off first: a change made while it writes asks for a new one
        _pending.pop(cycle_id, None)
    write_status(cycle_id)


@atexit.register
def flush_status() -> None:
    """Write every rewrite still waiting for its moment (the process is ending)."""
    with _pending_lock:
        timers = list(_pending.items())
        _pending.clear()
    for cycle_id, timer in timers:
        timer.cancel()
        # On a thread of its own: a server already gone must not hold the exit for its retries.
        writer = threading.Thread(target=write_status, args=(cycle_id,), daemon=True)
        writer.start()
        writer.join(timeout=10)


def write_status(cycle_id: int, table: bool = False, create: bool = False) -> None:
    """Rewrite the cycle run's progress artifact in place now (and the table, if asked)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate, ArtifactUpdate
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
        ArtifactFilterType,
    )

    from reminders.status import CellStatus, status_grid
    from services.links import board_url

    try:
        with session_scope() as session:
            cycle = session.get(Cycle, cycle_id)
            if cycle is None or not cycle.flow_run_id:
                return
            grid = status_grid(session, cycle.year, today=clock.today())
            year, flow_run_id = cycle.year, cycle.flow_run_id
        if grid.cycle_id != cycle_id:
            return
        finished = sum(
            1 for r in grid.rows if r.cells[LAST_REGION_STEP - 1].status == CellStatus.DONE
        )
        percent = round(100.0 * finished / len(grid.rows), 1) if grid.rows else 0.0
        description = (
            f"**Siklus PeManTIK {year}**: {finished} dari {len(grid.rows)} Kab/Kota selesai "
            f"langkah {LAST_REGION_STEP} (per {clock.local(clock.now()):%d/%m/%Y %H.%M} "
            f"{clock.zone_label()}). [Papan siklus di portal]({board_url(cycle_id)})\n\n"
            + grid_markdown(grid)
        )
        run = UUID(flow_run_id)
        ours = ArtifactFilter(
            key=ArtifactFilterKey(any_=[progress_key(year)]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[run]),
            type=ArtifactFilterType(any_=["progress"]),
        )
        with get_client(sync_client=True) as client:
            found = client.read_artifacts(artifact_filter=ours, limit=1)
            if found:
                client.update_artifact(
                    found[0].id, ArtifactUpdate(data=percent, description=description)
                )
            elif create:
                client.create_artifact(
                    ArtifactCreate(
                        key=progress_key(year),
                        type="progress",
                        data=percent,
                        description=description,
                        flow_run_id=run,
                    )
                )
            if table:
                client.create_artifact(
                    ArtifactCreate(
                        key=table_key(year),
                        type="table",
                        data=grid.as_records(),
                        description=f"Status siklus PeManTIK {year}: wilayah × langkah SOP",
                        flow_run_id=run,
                    )
                )
    except Exception:  # the grid is a view: never fail a step because of it
        log.warning("Status siklus %s tidak dapat diperbarui", cycle_id, exc_info=True)


def tell_cycle_if_all_done(cycle_id: int) -> bool:
    """Resume the cycle run (waiting on its close form) once every region is done."""
    from services.waits import resume_when_suspended

    if regions_unfinished(cycle_id):
        return False
    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        flow_run_id = cycle.flow_run_id if cycle else None
    if not flow_run_id:
        return False
    return resume_when_suspended(flow_run_id, {"melalui": "otomatis", "tutup": False}, timeout=60)
