"""Due dates of waits: the SOP duration in working days from the step's start."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from models.plan import due_date, step_duration
from models.sop import sop_steps, step
from models.tables import Cycle
from models.workdays import WorkCalendar, calendar_from_settings


class DeadlineError(ValueError):
    """Bad input for a due date; the message is Indonesian and names the field."""


def wait_due_date(
    session: Session,
    cycle: Cycle | int,
    step_no: int,
    started_on: date,
    calendar: WorkCalendar | None = None,
) -> date:
    """The due date of a wait on ``step_no`` that starts on ``started_on``.

    The SOP's duration (or the cycle's override in ``Cycle.step_overrides``) counted in working
    days from ``started_on`` itself (a 1-day step started on a working day is due that day).
    """
    if isinstance(cycle, int):
        found = session.get(Cycle, cycle)
        if found is None:
            raise DeadlineError(f"siklus dengan id {cycle} tidak ditemukan")
        cycle = found
    if not 1 <= step_no <= len(sop_steps()):
        raise DeadlineError(f"langkah {step_no} tidak ada dalam SOP (1..{len(sop_steps())})")
    days = step_duration(step(step_no), cycle.step_overrides)
    return due_date(calendar or calendar_from_settings(session), started_on, days)
