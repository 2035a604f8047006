"""Which rung of the ladder fires today for each open wait: pure functions, no database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from letters.formats import long_date
from models.sop import step
from models.workdays import WorkCalendar
from reminders.ladder import Ladder, Rung


@dataclass(frozen=True)
class WaitView:
    """An open wait with what a message needs from its region and assessor."""

    wait_id: int
    cycle_id: int
    cycle_year: int
    region_code: str
    region_name: str
    pic_name: str
    pic_email: str
    head_title: str
    head_email: str
    step_no: int
    party: str
    kind: str
    description: str
    due_date: date
    extended: bool = False
    assessor_id: int | None = None
    assessor_name: str = ""
    assessor_email: str = ""
    # True when one wait of several assessors was split per assessor (see reminders.targets):
    # the key then names the assessor.
    per_assessor: bool = False


@dataclass(frozen=True)
class Decision:
    """One message a rung sends today for one wait."""

    wait: WaitView
    rung: Rung
    offset: int  # working days from the due date to today (negative: before it)
    key: str
    recipient: str
    recipient_name: str
    cc: tuple[str, ...]
    subject: str
    message: str
    warning: str = ""


@dataclass
class DayPlan:
    today: date
    working_day: bool
    holiday: str | None = None
    decisions: list[Decision] = field(default_factory=list)
    overdue: list[tuple[WaitView, int]] = field(default_factory=list)  # (wait, working days late)


def reminder_key(wait_id: int, rung_key: str, day: date, assessor_id: int | None = None) -> str:
    """One idempotency key per wait, rung and day (and assessor, for a wait of several)."""
    key = f"pengingat/{wait_id}/{rung_key}/{day.isoformat()}"
    return f"{key}/a{assessor_id}" if assessor_id is not None else key


def parse_reminder_key(key: str) -> tuple[int, str, int | None]:
    """(wait id, rung key, assessor id or None) of a reminder key."""
    parts = key.split("/")
    assessor = int(parts[4][1:]) if len(parts) > 4 and parts[4].startswith("a") else None
    return int(parts[1]), parts[2], assessor


def digest_key(day: date) -> str:
    return f"ringkasan-admin/{day.isoformat()}"


class OffsetCache:
    """Signed working days from a due date to ``today``, computed once per distinct due date."""

    def __init__(self, calendar: WorkCalendar, today: date) -> None:
        self.calendar = calendar
        self.today = today
        self._cache: dict[date, int] = {}

    def __call__(self, due: date) -> int:
        value = self._cache.get(due)
        if value is None:
            value = self.calendar.working_days_between(due, self.today)
            self._cache[due] = value
        return value


def _step_label(step_no: int) -> str:
    try:
        return step(step_no).task_name
    except IndexError:
        return f"Langkah {step_no}"


def render_text(template: str, wait: WaitView, offset: int, due_text: str) -> str:
    return template.format(
        uraian=wait.description,
        tenggat=due_text,
        wilayah=wait.region_name or wait.region_code,
        langkah=_step_label(wait.step_no),
        hari=abs(offset),
        asesor=wait.assessor_name,
    )


def _address(role: str, wait: WaitView, admin_email: str) -> tuple[str, str, str]:
    """(email, name, warning) for a role of the ladder."""
    if role == "admin":
        return admin_email, "Admin PeManTIK", ""
    if role == "pic" or (role == "pihak" and wait.party == "wilayah"):
        return wait.pic_email, wait.pic_name, ""
    if role == "pihak" and wait.party == "asesor":
        return wait.assessor_email, wait.assessor_name, ""
    if role == "pihak":
        return admin_email, "Admin PeManTIK", ""
    # kepala: the head of the region's Diskominfo; without an address, the PIC forwards it.
    if wait.head_email:
        return wait.head_email, wait.head_title, ""
    return (
        wait.pic_email,
        wait.pic_name,
        f"{wait.region_code}: email kepala dinas kosong; surat dikirim ke PIC",
    )


def decide_day(
    waits: Iterable[WaitView],
    today: date,
    calendar: WorkCalendar,
    ladder: Ladder,
    admin_email: str,
    sent_catch_up: set[tuple[int, str, int | None]] | None = None,
) -> DayPlan:
    """Every message the ladder sends ``today``; nothing on a weekend or holiday.

    ``sent_catch_up``: (wait id, rung key, assessor id) of the catch-up rungs queued on any
    day. With it, a catch-up rung whose day was missed (no run that day) fires on the next run;
    without it (None) rungs fire only on their own day.
    """
    if not calendar.is_working_day(today):
        return DayPlan(today, working_day=False, holiday=calendar.holiday_name(today))
    plan = DayPlan(today, working_day=True)
    offset_of = OffsetCache(calendar, today)
    due_texts: dict[date, str] = {}
    min_overdue = ladder.digest.min_overdue if ladder.digest else 1
    for wait in waits:
        offset = offset_of(wait.due_date)
        if offset >= min_overdue:
            plan.overdue.append((wait, offset))
        rung = ladder.rung_for(offset, wait.party)
        if rung is None and sent_catch_up is not None and offset > 0:
            rung = ladder.missed_rung(offset, wait.party)
            target = wait.assessor_id if wait.per_assessor else None
            if rung is not None and (wait.wait_id, rung.key, target) in sent_catch_up:
                rung = None
        if rung is None:
            continue
        due_text = due_texts.get(wait.due_date)
        if due_text is None:
            due_text = due_texts[wait.due_date] = long_date(wait.due_date, with_day=True)
        recipient, name, warning = _address(rung.to, wait, admin_email)
        cc: list[str] = []
        for role in rung.cc:
            email, _, cc_warning = _address(role, wait, admin_email)
            warning = warning or cc_warning
            if email and email != recipient and email not in cc:
                cc.append(email)
        plan.decisions.append(
            Decision(
                wait=wait,
                rung=rung,
                offset=offset,
                key=reminder_key(
                    wait.wait_id, rung.key, today, wait.assessor_id if wait.per_assessor else None
                ),
                recipient=recipient,
                recipient_name=name,
                cc=tuple(cc),
                subject=render_text(rung.subject, wait, offset, due_text),
                message=render_text(rung.pesan, wait, offset, due_text),
                warning=warning,
            )
        )
    plan.overdue.sort(key=lambda item: (-item[1], item[0].region_code, item[0].step_no))
    return plan
