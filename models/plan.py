"""The cycle plan: each SOP step's start and due date in working days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from models.sop import SopStep, sop_steps
from models.workdays import WorkCalendar


@dataclass(frozen=True)
class PlannedStep:
    step: SopStep
    sla_days: int
    start: date
    due: date


def step_duration(step: SopStep, overrides: dict | None = None) -> int:
    """The step's SLA in working days, or the cycle's override (keys may be int or str)."""
    overrides = overrides or {}
    value = overrides.get(step.number, overrides.get(str(step.number)))
    return int(value) if value is not None else step.sla_days


def due_date(calendar: WorkCalendar, start: date, days: int) -> date:
    return calendar.add_working_days(start, max(days, 1))


def plan_cycle(
    start: date, calendar: WorkCalendar, overrides: dict | None = None
) -> list[PlannedStep]:
    """Steps run one after the other; each starts on the working day after the previous due."""
    planned: list[PlannedStep] = []
    cursor = calendar.next_working_day(start)
    for step in sop_steps():
        days = step_duration(step, overrides)
        due = due_date(calendar, cursor, days)
        planned.append(PlannedStep(step, days, cursor, due))
        cursor = calendar.next_working_day(due + timedelta(days=1))
    return planned
