"""Sample rows for tests, the benchmark and demos: a cycle and open waits made directly."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from models.registry import ensure_reference_data
from models.tables import Cycle, CycleState, Wait, WaitState
from models.workdays import WorkCalendar
from reminders.deadlines import wait_due_date

# What each kind of wait expects, in the words of a reminder (the flows write their own).
DESCRIPTIONS = {
    "penerimaan": "konfirmasi penerimaan Surat Pemberitahuan",
    "jawaban": "pengembalian Jawaban Kuesioner",
    "kehadiran": "konfirmasi kehadiran pada pelaksanaan penilaian",
    "kesediaan": "konfirmasi kesediaan sebagai asesor",
    "nilai": "Formulir Penilaian Asesmen (nilai asesor)",
}


def make_cycle(
    session: Session,
    year: int,
    start: date,
    step_overrides: dict | None = None,
    instrument_code: str = "spbe-2020",
) -> Cycle:
    """A running cycle, with the shipped regions and assessors loaded."""
    ensure_reference_data(session)
    cycle = Cycle(
        year=year,
        name=f"PeManTIK {year}",
        instrument_code=instrument_code,
        start_date=start,
        state=CycleState.RUNNING,
        step_overrides=step_overrides,
    )
    session.add(cycle)
    session.flush()
    return cycle


def open_wait(
    session: Session,
    cycle: Cycle,
    region_code: str,
    step_no: int,
    started_on: date,
    *,
    kind: str = "jawaban",
    party: str = "wilayah",
    assessor_id: int | None = None,
    description: str | None = None,
    calendar: WorkCalendar | None = None,
) -> Wait:
    """Open a wait whose due date comes from the SOP (and the cycle's override)."""
    wait = Wait(
        cycle_id=cycle.id,
        region_code=region_code,
        assessor_id=assessor_id,
        step_no=step_no,
        party=party,
        kind=kind,
        description=description if description is not None else DESCRIPTIONS.get(kind, kind),
        input_key=f"{kind}-{region_code.replace('.', '')}",
        started_on=started_on,
        due_date=wait_due_date(session, cycle, step_no, started_on, calendar=calendar),
        state=WaitState.OPEN,
    )
    session.add(wait)
    session.flush()
    return wait


def region_codes(session: Session) -> list[str]:
    from models.tables import Region

    return list(session.exec(select(Region.code).order_by(Region.code)))
