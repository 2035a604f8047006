"""The daily reminder run: find every open wait, decide today's rung, queue, then deliver.

Idempotent per (wait, rung, day): the outbox key ``pengingat/<wait>/<rung>/<day>`` is queued at
most once, so running twice on a day sends nothing new. On a weekend or holiday nothing is sent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import insert, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from letters.formats import numeric_date
from mail import outbox
from models import clock
from models.db import session_scope
from models.settings import Settings, get_settings
from models.tables import (
    Assessor,
    Cycle,
    CycleState,
    Dispatch,
    Letter,
    Region,
    StepRecord,
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
from reminders.queue import Outgoing, copy_rows, enqueue_many, existing_keys
from reminders.targets import expand_targets

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
    """Every open wait of a cycle not yet reported, with its region and assessor (one query)."""
    w, r, c, a = (t.__table__.c for t in (Wait, Region, Cycle, Assessor))
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
            w.party,
            w.kind,
            w.description,
            w.due_date,
            w.extended,
            w.assessor_id,
            a.name,
            a.email,
        )  # fmt: skip
        .select_from(Wait.__table__)
        .join(Region.__table__, r.code == w.region_code)
        .join(Cycle.__table__, c.id == w.cycle_id)
        .outerjoin(Assessor.__table__, a.id == w.assessor_id)
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
            party=row[10],
            kind=row[11],
            description=row[12] or "",
            due_date=row[13],
            extended=bool(row[14]),
            assessor_id=row[15],
            assessor_name=row[16] or "",
            assessor_email=row[17] or "",
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
    hal = wait.description or wait.kind
    if wait.party == "asesor":
        hal = f"{hal} untuk {wait.region_name}"
    return {
        "tahun": wait.cycle_year,
        "hal": hal,
        "tenggat": wait.due_date,
        "nama_wilayah": wait.region_name if wait.party != "asesor" else "",
        "sisa_hari": -decision.offset,
        "judul": decision.subject,
        "paragraf": [decision.message] if decision.message else [],
        "rincian": {
            "Wilayah": f"{wait.region_code} {wait.region_name}",
            "Langkah SOP": wait.step_no,
            "Pihak": wait.assessor_name or PARTY_LABELS.get(wait.party, wait.party),
            "Tenggat": wait.due_date.isoformat() + (" (diperpanjang)" if wait.extended else ""),
            "Hari kerja dari tenggat": decision.offset,
        },
    }


def _outgoing(decision: Decision, letter_id: int | None = None) -> Outgoing:
    wait = decision.wait
    return Outgoing(
        key=decision.key,
        recipient=decision.recipient,
        recipient_name=decision.recipient_name,
        cc=decision.cc,
        subject=decision.subject,
        template=decision.rung.template,
        context=_context(decision),
        year=wait.cycle_year,
        kind="pengingat",
        cycle_id=wait.cycle_id,
        region_code=wait.region_code,
        assessor_id=wait.assessor_id,
        letter_id=letter_id,
    )


def _step_record(decision: Decision, dispatch_id: int, now: datetime, letter_id: int | None):
    wait = decision.wait
    return {
        "cycle_id": wait.cycle_id,
        "region_code": wait.region_code,
        "assessor_id": wait.assessor_id,
        "step_no": wait.step_no,
        "actor": "Bidang Aptika",
        "event": "reminder",
        "started_at": None,
        "due_date": wait.due_date,
        "completed_at": now,
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
        "recorded_at": now,
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
        "pending": wait.description or wait.kind,
        "due_date": wait.due_date,
        "cc": [f"PIC PeManTIK {wait.region_name}", "Admin PeManTIK"],
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


def _queue_with_letters(
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
    for decision, letter in issued:
        try:
            with session.begin_nested():
                row = outbox.enqueue(
                    session,
                    key=decision.key,
                    recipient=decision.recipient,
                    recipient_name=decision.recipient_name,
                    cc=list(decision.cc),
                    subject=decision.subject,
                    template=decision.rung.template,
                    context={**_context(decision), "nomor_surat": letter.number},
                    attachments=[Path(letter.pdf_path or letter.file_path)],
                    kind="pengingat",
                    cycle_id=decision.wait.cycle_id,
                    region_code=decision.wait.region_code,
                    assessor_id=decision.wait.assessor_id,
                    letter_id=letter.id,
                    settings=settings,
                )
        except outbox.OutboxError as exc:
            report.errors.append(f"{decision.key}: {exc}")
            continue
        report.letters.append(letter.number)
        report.queued.append(decision.key)
        done.append((decision, row.id, letter.id))
    if fallback:
        bulk = enqueue_many(session, [_outgoing(d) for d in fallback], settings)
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
            "langkah": _step_title(w.step_no),
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


def _step_title(step_no: int) -> str:
    from models.sop import sop_steps

    steps = sop_steps()
    return steps[step_no - 1].task_name if 1 <= step_no <= len(steps) else f"Langkah {step_no}"


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
    bulk = enqueue_many(session, [_outgoing(d) for d in plain], settings)
    report.already_queued += len(bulk.existing)
    report.errors.extend(f"{key}: {reason}" for key, reason in bulk.refused.items())
    queued: list[tuple[Decision, int, int | None]] = [
        (d, bulk.inserted[d.key], None) for d in plain if d.key in bulk.inserted
    ]
    report.queued.extend(d.key for d, _, _ in queued)
    queued.extend(_queue_with_letters(session, with_letter, today, settings, report))
    _queue_digest(session, plan, ladder, settings, report)

    # One audit record per reminder actually queued by this run.
    now = clock.now()
    records = [_step_record(d, dispatch_id, now, letter_id) for d, dispatch_id, letter_id in queued]
    if records and session.get_bind().dialect.name == "postgresql":
        columns = list(records[0])
        copy_rows(session, "steprecord", columns, ([r[c] for c in columns] for r in records))
    elif records:
        session.execute(insert(StepRecord.__table__), records)
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
