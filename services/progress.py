"""Where each region stands: its process row (current step, state, due date) and the SOP
steps its run has passed, read from the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from models import clock
from models.tables import ProcessState, RegionProcess, StepRecord


def process_row(session: Session, cycle_id: int, region_code: str) -> RegionProcess:
    row = session.exec(
        select(RegionProcess).where(
            RegionProcess.cycle_id == cycle_id, RegionProcess.region_code == region_code
        )
    ).first()
    if row is None:
        row = RegionProcess(cycle_id=cycle_id, region_code=region_code)
        session.add(row)
        session.flush()
    return row


def set_progress(
    session: Session,
    cycle_id: int,
    region_code: str,
    *,
    step_no: int,
    state: str = ProcessState.RUNNING,
    due: date | None = None,
    waiting_for: str = "",
    flow_run_id: str | None = None,
) -> RegionProcess:
    row = process_row(session, cycle_id, region_code)
    row.current_step = step_no
    row.state = state
    row.due_date = due
    row.waiting_for = waiting_for
    if flow_run_id:
        row.flow_run_id = flow_run_id
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class RegionProgress:
    """Which SOP steps a region's run has passed, from the append-only step records."""

    steps: frozenset[int]
    confirmed: bool  # step 9 settled: nobody declined in its latest round


def region_progress(cycle_id: int, region_code: str) -> RegionProgress:
    from models.db import session_scope

    with session_scope() as session:
        records = session.exec(
            select(StepRecord)
            .where(
                StepRecord.cycle_id == cycle_id,
                StepRecord.region_code == region_code,
                StepRecord.event == "done",
            )
            .order_by(StepRecord.id)
        ).all()
    steps = frozenset(r.step_no for r in records)
    last_settle = [r for r in records if r.step_no == 9]
    detail = (last_settle[-1].detail or {}) if last_settle else None
    confirmed = detail is not None and not detail.get("replaced") and not detail.get("rescheduled")
    return RegionProgress(steps, confirmed)
