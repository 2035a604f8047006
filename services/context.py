"""Loading what a step needs: the cycle, its parameters, instrument, region, calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, select

from models.lookups import assessor_by_email
from models.plan import plan_cycle, step_duration
from models.settings import get_settings
from models.sop import step as sop_step
from models.tables import Assessor, Cycle, CycleState, Region, RegionProcess
from models.workdays import WorkCalendar, calendar_from_settings
from services.params import CycleParams


class NotFound(LookupError):
    """A cycle, region or assessor that does not exist; the message is Indonesian."""


@dataclass
class CycleContext:
    cycle: Cycle
    params: CycleParams
    calendar: WorkCalendar

    @property
    def id(self) -> int:
        return self.cycle.id  # type: ignore[return-value]

    def duration(self, step_no: int) -> int:
        return step_duration(sop_step(step_no), self.params.step_overrides)

    def working_days_after(self, start: date, *step_numbers: int) -> date:
        """The date the given SOP steps, done one after the other from ``start``, end on."""
        return self.calendar.add_working_days(start, sum(self.duration(n) for n in step_numbers))

    def planned_session_date(self) -> date:
        if self.params.session_date:
            return self.params.session_date
        plan = plan_cycle(self.params.start_date, self.calendar, self.params.step_overrides)
        return plan[9].start  # step 10, the assessment session

    def session_date_for(self, session: Session, region_code: str) -> date:
        process = session.exec(
            select(RegionProcess).where(
                RegionProcess.cycle_id == self.id, RegionProcess.region_code == region_code
            )
        ).first()
        if process is not None and process.session_date:
            return process.session_date
        return self.planned_session_date()

    def reschedule(self, current: date) -> date:
        day = current
        for _ in range(self.params.reschedule_working_days):
            day = self.calendar.next_working_day(day + timedelta(days=1))
        return day


def load_cycle(session: Session, cycle_id: int) -> CycleContext:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound(f"Siklus {cycle_id} tidak ditemukan")
    params = CycleParams.model_validate(cycle.params or {"year": cycle.year})
    return CycleContext(cycle, params, calendar_from_settings(session))


def cycle_by_year(session: Session, year: int) -> Cycle:
    """The year's cycle: the one not cancelled (there is at most one per instrument), else
    the newest cancelled one."""
    cancelled = Cycle.state == CycleState.CANCELLED
    query = select(Cycle).where(Cycle.year == year).order_by(cancelled.asc(), Cycle.id.desc())
    cycle = session.exec(query).first()
    if cycle is None:
        raise NotFound(f"Siklus tahun {year} belum ada")
    return cycle


def get_region(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise NotFound(f"Wilayah {code} tidak dikenal")
    return region


def get_assessor_by_email(session: Session, email: str) -> Assessor:
    """The registered assessor with this address; :class:`NotFound` (Indonesian) otherwise."""
    assessor = assessor_by_email(session, email)
    if assessor is None:
        raise NotFound(f"Asesor dengan email {email} tidak terdaftar")
    return assessor


# --- the parts every letter of a step shares -------------------------------------------------


def signatory() -> dict[str, str]:
    s = get_settings().signatory
    return {"name": s.name, "nip": s.nip, "pangkat": s.pangkat, "jabatan": s.jabatan}


def contact_line() -> str:
    """The named contact person of the cycle, as letters write it."""
    settings = get_settings()
    c = settings.contact
    return (
        f"{c.name} ({c.jabatan}, {settings.organisation.bidang}), telepon {c.phone}, "
        f"pos-el {c.email or settings.reply_to}"
    )


def addressee_of(region: Region) -> dict[str, str]:
    """The addressee of a letter to a region: the head of its Diskominfo."""
    return {"name": region.head_title or f"Kepala Dinas Kominfo {region.name}"}


def letter_recipients(region: Region) -> dict[str, Any]:
    """Who an official letter to a region is mailed to: the head of its Diskominfo, with the
    contact officer in Cc (who handles it); the officer alone when the head has no address.
    The keys are :func:`services.outgoing.issue_and_mail`'s ``recipient``, ``recipient_name``
    and ``cc``."""
    if region.head_email and region.head_email.lower() != region.pic_email.lower():
        return {
            "recipient": region.head_email,
            "recipient_name": addressee_of(region)["name"],
            "cc": [region.pic_email],
        }
    return {"recipient": region.pic_email, "recipient_name": region.pic_name, "cc": []}


def region_data(ctx: CycleContext, region: Region) -> dict[str, Any]:
    """The values every message to a region names (the same keys in letters and emails)."""
    return {"year": ctx.params.year, "region_name": region.name}
