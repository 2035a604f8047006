"""The daily reminder run: find every open wait, decide today's rung, queue, then deliver.

Idempotent per (wait, rung, day): the outbox key ``pengingat/<wait>/<rung>/<day>`` is queued at
most once, so running twice on a day sends nothing new. On a weekend or holiday nothing is sent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from letters.formats import numeric_date
from mail import outbox
from mail.outbox import OutboxMessage, enqueue_many, existing_keys
from models.audit import record_steps
from models.db import session_scope
from models.settings import Settings, get_settings
from models.tables import (
    Cycle,
    CycleState,
    Dispatch,
    Letter,
    Region,
    Wait,
    WaitState,
)
from models.workdays import WorkCalendar, calendar_from_settings
from reminders.decide import (
    DayPlan,
    Decision,
    WaitView,
    decide_day,
    digest_key,
    parse_reminder_key,
)
from reminders.ladder import Ladder, load_ladder
from reminders.targets import expand_targets
from services.outgoing import letter_attachment
from services.waits import stage

log = logging.getLogger("pemantik.reminders")

DIGEST_MAX_ROWS = 300  # rows listed in the admin's digest; the rest are counted
PARTY_LABELS = {"wilayah": "Kab/Kota", "asesor": "asesor", "admin": "Bidang Aptika"}


@dataclass
class ReminderReport:
    today: date
    working_day: bool = True
    holiday: str | None = None
    open_waits: int = 0
    decided: int = 0  # messages the ladder asks for today
    queued: list[str] = field(default_factory=list)  # keys newly queued
    already_queued: int = 0  # keys queued by an earlier run today (sent nothing new)
    letters: list[str] = field(default_factory=list)  # numbers of Surat Pengingat issued
    overdue: int = 0
    digest_key: str | None = None  # the digest's key when it was queued by this run
    step_records: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # messages refused (Indonesian)
    delivery: outbox.DeliveryReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        if not self.working_day:
            why = f" ({self.holiday})" if self.holiday else " (akhir pekan)"
            return f"{self.today.isoformat()} bukan hari kerja{why}: tidak ada pengingat dikirim."
        text = (
            f"{self.today.isoformat()}: {self.open_waits} penantian terbuka, "
            f"{self.decided} pengingat jatuh hari ini, {len(self.queued)} baru diantrekan, "
            f"{self.already_queued} sudah diantrekan sebelumnya, {self.overdue} lewat tenggat"
        )
        if self.letters:
            text += f", {len(self.letters)} Surat Pengingat"
        if self.errors:
            text += f", {len(self.errors)} ditolak"
        if self.delivery is not None:
            text += f"; pengiriman: {self.delivery.summary()}"
        return text + "."


def load_open_waits(session: Session) -> list[WaitView]:
    """Every open wait of a cycle not yet reported, with its region (one query); who owes
    each one is asked of its stage afterwards (reminders.targets)."""
    w, r, c = (t.__table__.c for t in (Wait, Region, Cycle))
    query = (
        sa_select(
            w.id,
            w.cycle_id,
            c.year,
            w.region_code,
            r.name,
            r.pic_name,
            r.pic_email,
            r.head_title,
            r.head_email,
            w.step_no,
            w.kind,
            w.due_date,
            w.extended,
        )  # fmt: skip
        .select_from(Wait.__table__)
        .join(Region.__table__, r.code == w.region_code)
        .join(Cycle.__table__, c.id == w.cycle_id)
        .where(w.state == WaitState.OPEN.value, c.state != CycleState.REPORTED.value)
        .order_by(w.id)
    )
    return [
        WaitView(
            wait_id=row[0],
            cycle_id=row[1],
            cycle_year=row[2],
            region_code=row[3],
            region_name=row[4],
            pic_name=row[5],
            pic_email=row[6],
            head_title=row[7] or "",
            head_email=row[8] or "",
            step_no=row[9],
            party="",
            kind=row[10],
            description="",
            due_date=row[11],
            extended=bool(row[12]),
        )  # fmt: skip
        for row in session.execute(query)
    ]


def sent_catch_up(session: Session, ladder: Ladder) -> set[tuple[int, str, int | None]]:
    """(wait id, rung key) of every catch-up rung already queued, whatever the day."""
    rungs = ladder.catch_up_keys()
    if not rungs:
        return set()
    column = Dispatch.__table__.c.idempotency_key
    query = sa_select(column).where(or_(*(column.like(f"pengingat/%/{r}/%") for r in rungs)))
    return {parse_reminder_key(key) for key in session.execute(query).scalars()}


def _context(decision: Decision) -> dict:
    """Values for any of the reminder templates (pengingat, umum, notifikasi_admin)."""
    wait = decision.wait
    pending = wait.description
    if wait.party == "asesor":
        pending = f"{pending} untuk {wait.region_name}"
    return {
        "year": wait.cycle_year,
        "pending": pending,
        "due_date": wait.due_date,
        "region_name": wait.region_name if wait.party != "asesor" else "",
        "days_left": -decision.offset,
        "judul": decision.subject,
        "paragraf": [decision.message] if decision.message else [],
        "rincian": {
            "Wilayah": f"{wait.region_code} {wait.region_name}",
            "Tahap": stage(wait.kind).title,
            "Pihak": wait.assessor_name or PARTY_LABELS.get(wait.party, wait.party),
            "Tenggat": wait.due_date.isoformat() + (" (diperpanjang)" if wait.extended else ""),
            "Hari kerja dari tenggat": decision.offset,
        },
    }


def reminder_message(decision: Decision, letter: Letter | None = None) -> OutboxMessage:
    """The outbox message of one reminder (with its Surat Pengingat attached, if any)."""
    wait = decision.wait
    context = _context(decision)
    if letter is not None:
        context["letter"] = {"number": letter.number, "subject": letter.subject}
    return OutboxMessage(
        key=decision.key,
        step_no=wait.step_no,
        recipient=decision.recipient,
        recipient_name=decision.recipient_name,
        cc=decision.cc,
        subject=decision.subject,
        template=decision.rung.template,
        context=context,
        attachments=[letter_attachment(letter)] if letter is not None else (),
        kind="pengingat",
        cycle_id=wait.cycle_id,
        region_code=wait.region_code,
        assessor_id=wait.assessor_id,
        letter_id=letter.id if letter is not None else None,
    )


def _step_record(decision: Decision, dispatch_id: int, letter_id: int | None) -> dict:
    wait = decision.wait
    return {
        "cycle_id": wait.cycle_id,
        "region_code": wait.region_code,
        "assessor_id": wait.assessor_id,
        "step_no": wait.step_no,
        "event": "reminder",
        "due_date": wait.due_date,
        "outcome": f"Pengingat {decision.rung.key} diantrekan untuk {decision.recipient}",
        "who": "sistem",
        "document_id": letter_id,
        "detail": {
            "wait_id": wait.wait_id,
            "rung": decision.rung.key,
            "offset": decision.offset,
            "caught_up": decision.offset != decision.rung.offset,
            "key": decision.key,
            "dispatch_id": dispatch_id,
            "recipient": decision.recipient,
            "cc": list(decision.cc),
        },
    }


def _issue_reminder_letter(session: Session, decision: Decision, today: date) -> Letter:
    """The numbered Surat Pengingat for a rung that names a letter (idempotent per key)."""
    from letters.service import issue_letter

    wait = decision.wait
    earlier = session.exec(
        select(Letter)
        .where(
            Letter.cycle_id == wait.cycle_id,
            Letter.region_code == wait.region_code,
            Letter.kind == "pemberitahuan",
        )
        .order_by(Letter.id)
    ).first()
    data = {
        "addressee": {
            "name": wait.head_title or f"Kepala Dinas Komunikasi dan Informatika {wait.region_name}"
        },
        "year": wait.cycle_year,
        "region_name": wait.region_name,
        "pending": wait.description,
        "due_date": wait.due_date,
        "cc": [f"Petugas Penghubung PeManTIK {wait.region_name}", "Admin PeManTIK"],
    }
    if earlier is not None:
        data["reference_number"] = earlier.number
        data["reference_date"] = earlier.letter_date
    return issue_letter(
        session,
        decision.rung.letter,
        data=data,
        idempotency_key=f"{decision.key}/surat",
        cycle_id=wait.cycle_id,
        region_code=wait.region_code,
        letter_date=today,
        pdf=False,  # converted in one batch by the caller
    )


def queue_with_letters(
    session: Session,
    decisions: list[Decision],
    today: date,
    settings: Settings,
    report: ReminderReport,
) -> list[tuple[Decision, int, int | None]]:
    """Rungs that escalate with a numbered letter (few per day): number and render each letter,
    convert them to PDF in one batch, then queue each email with its letter attached."""
    from letters.service import make_pdfs

    done: list[tuple[Decision, int, int | None]] = []
    already = existing_keys(session, (d.key for d in decisions))
    issued: list[tuple[Decision, Letter]] = []
    fallback: list[Decision] = []
    for decision in decisions:
        if decision.key in already:
            report.already_queued += 1
            continue
        try:
            with session.begin_nested():
                issued.append((decision, _issue_reminder_letter(session, decision, today)))
        except Exception as exc:  # noqa: BLE001 - one bad letter must not stop the others
            # The rung fires only today: send the escalation without the letter rather than not
            # at all, and tell the admin (the report and the log) that the letter is missing.
            report.errors.append(
                f"{decision.key}: Surat Pengingat tidak dapat dibuat ({exc}); "
                "surel eskalasi dikirim tanpa lampiran surat"
            )
            log.error("surat pengingat %s gagal: %s", decision.key, exc)
            fallback.append(decision)
    if issued:
        try:
            make_pdfs(session, [letter for _, letter in issued])
        except Exception as exc:  # noqa: BLE001 - the .docx is attached instead
            report.warnings.append(
                f"PDF Surat Pengingat tidak dapat dibuat ({exc}); dilampirkan .docx"
            )
    bulk = enqueue_many(session, [reminder_message(d, letter) for d, letter in issued], settings)
    report.errors.extend(f"{key}: {reason}" for key, reason in bulk.refused.items())
    for decision, letter in issued:
        if decision.key in bulk.inserted:
            report.letters.append(letter.number)
            report.queued.append(decision.key)
            done.append((decision, bulk.inserted[decision.key], letter.id))
    if fallback:
        bulk = enqueue_many(session, [reminder_message(d) for d in fallback], settings)
        report.errors.extend(f"{key}: {reason}" for key, reason in bulk.refused.items())
        for decision in fallback:
            if decision.key in bulk.inserted:
                report.queued.append(decision.key)
                done.append((decision, bulk.inserted[decision.key], None))
    return done


def _queue_digest(
    session: Session, plan: DayPlan, ladder: Ladder, settings: Settings, report: ReminderReport
) -> None:
    if ladder.digest is None or not plan.overdue:
        return
    key = digest_key(plan.today)
    if existing_keys(session, [key]):
        return
    rows = [
        {
            "wilayah": f"{w.region_name} ({w.region_code})",
            "langkah": stage(w.kind).title,
            "uraian": w.description or w.kind,
            "pihak": w.assessor_name or PARTY_LABELS.get(w.party, w.party),
            "tenggat": w.due_date,
            "lewat": late,
            "diperpanjang": w.extended,
        }
        for w, late in plan.overdue[:DIGEST_MAX_ROWS]
    ]
    subject = ladder.digest.subject.format(
        tanggal=numeric_date(plan.today), jumlah=len(plan.overdue)
    )
    try:
        outbox.enqueue(
            session,
            key=key,
            recipient=str(settings.admin_email),
            recipient_name="Admin PeManTIK",
            subject=subject,
            template=ladder.digest.template,
            context={
                "tanggal": plan.today,
                "jumlah": len(plan.overdue),
                "baris": rows,
                "lainnya": max(0, len(plan.overdue) - DIGEST_MAX_ROWS),
            },
            kind="ringkasan_admin",
            settings=settings,
        )
    except outbox.OutboxError as exc:
        report.errors.append(f"{key}: {exc}")
        return
    report.digest_key = key
    report.queued.append(key)


def plan_and_queue(
    session: Session,
    today: date,
    *,
    ladder: Ladder | None = None,
    settings: Settings | None = None,
    calendar: WorkCalendar | None = None,
) -> ReminderReport:
    """Decide today's reminders and queue them in ``session`` (not committed, not sent)."""
    settings = settings or get_settings()
    ladder = ladder or load_ladder()
    report = ReminderReport(today=today)
    started = time.perf_counter()
    calendar = calendar or calendar_from_settings(session)
    if not calendar.is_working_day(today):
        report.working_day = False
        report.holiday = calendar.holiday_name(today)
        return report
    waits = load_open_waits(session)
    report.open_waits = len(waits)
    waits = expand_targets(session, waits)
    report.seconds["query"] = time.perf_counter() - started

    started = time.perf_counter()
    plan = decide_day(
        waits, today, calendar, ladder, str(settings.admin_email), sent_catch_up(session, ladder)
    )
    report.decided = len(plan.decisions)
    report.overdue = len(plan.overdue)
    report.warnings.extend(sorted({d.warning for d in plan.decisions if d.warning}))
    report.seconds["decide"] = time.perf_counter() - started

    started = time.perf_counter()
    plain = [d for d in plan.decisions if not d.rung.letter]
    with_letter = [d for d in plan.decisions if d.rung.letter]
    bulk = enqueue_many(session, [reminder_message(d) for d in plain], settings)
    report.already_queued += len(bulk.existing)
    report.errors.extend(f"{key}: {reason}" for key, reason in bulk.refused.items())
    queued: list[tuple[Decision, int, int | None]] = [
        (d, bulk.inserted[d.key], None) for d in plain if d.key in bulk.inserted
    ]
    report.queued.extend(d.key for d, _, _ in queued)
    queued.extend(queue_with_letters(session, with_letter, today, settings, report))
    _queue_digest(session, plan, ladder, settings, report)

    # One audit record per reminder actually queued by this run.
    records = [_step_record(d, dispatch_id, letter_id) for d, dispatch_id, letter_id in queued]
    record_steps(session, records)
    report.step_records = len(records)
    session.flush()
    report.seconds["queue"] = time.perf_counter() - started
    return report


def run_reminders(
    session_or_url: Session | str | None,
    today: date,
    *,
    deliver: bool = True,
    ladder: Ladder | None = None,
    settings: Settings | None = None,
) -> ReminderReport:
    """The daily run for ``today`` (a WITA date): queue, commit, then send what was queued.

    With a URL (or None: the configured database) the run uses its own transaction. With a
    session, the session is committed before delivery (delivery reads committed rows).
    """
    settings = settings or get_settings()
    if isinstance(session_or_url, Session):
        session = session_or_url
        report = plan_and_queue(session, today, ladder=ladder, settings=settings)
        session.commit()
        url = session.get_bind().url.render_as_string(hide_password=False)
    else:
        url = session_or_url or settings.db_url
        with session_scope(url) as session:
            report = plan_and_queue(session, today, ladder=ladder, settings=settings)
    if deliver and report.queued:
        started = time.perf_counter()
        report.delivery = outbox.deliver_pending_sync(url, keys=report.queued, settings=settings)
        report.seconds["deliver"] = time.perf_counter() - started
    log.info(report.summary())
    return report
