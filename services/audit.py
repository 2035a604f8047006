"""The audit trail: append-only step records, and the region's process row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from models import clock
from models.sop import step as sop_step
from models.tables import ProcessState, RegionProcess, StepRecord


def record_step(
    session: Session,
    *,
    cycle_id: int,
    step_no: int,
    event: str,
    region_code: str | None = None,
    assessor_id: int | None = None,
    outcome: str = "",
    who: str = "",
    document_id: int | None = None,
    started_at: datetime | None = None,
    due_date: date | None = None,
    detail: dict[str, Any] | None = None,
) -> StepRecord:
    """Append one step record (never updated afterwards)."""
    record = StepRecord(
        cycle_id=cycle_id,
        region_code=region_code,
        assessor_id=assessor_id,
        step_no=step_no,
        actor=sop_step(step_no).actor,
        event=event,
        started_at=started_at,
        due_date=due_date,
        completed_at=clock.now() if event in ("done", "refused", "overridden") else None,
        outcome=outcome,
        who=who,
        document_id=document_id,
        detail=detail,
    )
    session.add(record)
    session.flush()
    return record


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
