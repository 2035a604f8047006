"""Visible progress: the cycle's status grid as a table artifact on the cycle's run, and the
nudge that resumes the cycle when its last region has passed step 13."""

from __future__ import annotations

import logging
from uuid import UUID

from models import clock
from models.db import session_scope
from models.tables import Cycle
from services.cycle import regions_unfinished

log = logging.getLogger("pemantik.status")


def publish_status(cycle_id: int) -> None:
    """Refresh the regions × steps grid artifact on the cycle run (best effort)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate

    from reminders.status import status_grid
    from services.links import board_url

    try:
        with session_scope() as session:
            cycle = session.get(Cycle, cycle_id)
            if cycle is None:
                return
            grid = status_grid(session, cycle.year, today=clock.today())
            flow_run_id = cycle.flow_run_id
        records = grid.as_records()
        if not flow_run_id or not records:
            return
        with get_client(sync_client=True) as client:
            client.create_artifact(
                ArtifactCreate(
                    key=f"status-siklus-{cycle.year}",
                    type="table",
                    data=records,
                    description=(
                        f"Status siklus PeManTIK {cycle.year}: wilayah × langkah SOP. "
                        f"[Papan siklus di portal]({board_url(cycle_id)})"
                    ),
                    flow_run_id=UUID(flow_run_id),
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
