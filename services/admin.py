"""Admin actions (each also a deployment with a form): resend a letter, move a region's
assessment date, replace an assessor, close a cycle. Each refuses bad input with an Indonesian
message and records itself in the audit trail."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import delete, func, select

from models.audit import record_step
from models.db import session_scope
from models.lookups import open_waits
from models.tables import (
    Assessor,
    Assignment,
    AssignmentState,
    Cycle,
    CycleState,
    Dispatch,
    Letter,
    RegionProcess,
    Result,
    Score,
)
from services.context import NotFound, cycle_by_year, get_assessor_by_email, get_region, load_cycle
from services.outgoing import letter_attachment, queue_then_deliver


class AdminRefused(ValueError):
    """An admin action that cannot be done; the message says why (Indonesian)."""


def resend_letter(number: str, reason: str, who: str = "admin") -> dict[str, Any]:
    """Send a letter again to its first recipient, in the same thread, as a new round."""
    from mail.outbox import enqueue

    if not reason.strip():
        raise AdminRefused("alasan pengiriman ulang wajib diisi")

    def build(session, out) -> dict[str, Any]:  # noqa: ANN001
        letter = session.exec(select(Letter).where(Letter.number == number)).first()
        if letter is None:
            raise AdminRefused(f"surat nomor {number} tidak ditemukan")
        first = session.exec(
            select(Dispatch).where(Dispatch.letter_id == letter.id).order_by(Dispatch.id)
        ).first()
        if first is None:
            raise AdminRefused(f"surat nomor {number} belum pernah dikirim melalui surel")
        rounds = session.exec(select(func.count()).where(Dispatch.letter_id == letter.id)).one()
        key = f"{first.idempotency_key}/ulang/{rounds + 1}"
        enqueue(
            session,
            key=key,
            recipient=first.recipient,
            recipient_name=first.recipient_name,
            subject=f"[Kirim Ulang] {letter.subject} — Nomor {letter.number}",
            template="umum",
            context={
                "paragraf": [
                    f"Bersama ini kami kirimkan ulang surat Nomor {letter.number} perihal {letter.subject}.",
                    f"Alasan pengiriman ulang: {reason.strip()}.",
                ]
            },
            attachments=[letter_attachment(letter)],
            kind=letter.kind,
            step_no=first.step_no,
            cycle_id=letter.cycle_id,
            region_code=letter.region_code,
            assessor_id=letter.assessor_id,
            letter_id=letter.id,
            in_reply_to=first.message_id,
            references=[first.message_id],
        )
        out.extra_keys.append(key)
        if letter.cycle_id and first.step_no is not None:
            record_step(
                session,
                cycle_id=letter.cycle_id,
                region_code=letter.region_code,
                step_no=first.step_no,
                event="resent",
                who=who,
                outcome=f"surat {letter.number} dikirim ulang",
                document_id=letter.id,
                detail={"alasan": reason.strip(), "kunci": key},
            )
        return {"number": letter.number, "recipient": first.recipient, "key": key}

    result, receipts = queue_then_deliver(build)
    return {**result, "receipts": receipts}


def move_session_date(
    year: int, region_code: str, new_date: date, reason: str, who: str = "admin"
) -> dict[str, Any]:
    """Move a region's assessment date; a new Undangan goes out; open waits follow the date."""
    from services.invitation import send_invitation
    from services.waits import stage

    if not reason.strip():
        raise AdminRefused("alasan perubahan jadwal wajib diisi")
    with session_scope() as session:
        cycle = cycle_by_year(session, year)
        ctx = load_cycle(session, cycle.id)
        get_region(session, region_code)
        if not ctx.calendar.is_working_day(new_date):
            name = ctx.calendar.holiday_name(new_date) or "akhir pekan"
            raise AdminRefused(f"{new_date.isoformat()} bukan hari kerja ({name})")
        process = session.exec(
            select(RegionProcess).where(
                RegionProcess.cycle_id == cycle.id, RegionProcess.region_code == region_code
            )
        ).first()
        if process is None:
            raise NotFound(f"wilayah {region_code} tidak ikut siklus {year}")
        if process.current_step > 10:
            raise AdminRefused(f"penilaian wilayah {region_code} sudah dilaksanakan")
        old = ctx.session_date_for(session, region_code)
        process.session_date = new_date
        session.add(process)
        session.flush()
        for wait in open_waits(session, cycle.id, region_code):
            if not wait.extended:  # the attendance wait (and any other) follows the stage
                wait.due_date = stage(wait.kind).due(session, ctx, region_code)
                session.add(wait)
        record_step(
            session,
            cycle_id=cycle.id,
            region_code=region_code,
            step_no=6,
            event="rescheduled",
            who=who,
            outcome=f"jadwal {old} → {new_date}",
            detail={
                "alasan": reason.strip(),
                "lama": old.isoformat(),
                "baru": new_date.isoformat(),
            },
        )
        cycle_id = cycle.id
    sent = send_invitation(cycle_id, region_code, round_no=100 + new_date.toordinal() % 1000)
    return {
        "region": region_code,
        "old": old.isoformat(),
        "new": new_date.isoformat(),
        "undangan": sent["number"],
    }


def replace_assessor(
    year: int,
    region_code: str,
    old_email: str,
    new_email: str,
    coi_statement: str,
    reason: str,
    who: str = "admin",
) -> dict[str, Any]:
    """Replace an assessor (the replacement has agreed; their statement is recorded).

    The old assignment becomes ``replaced``; scores the old assessor gave for the region are
    removed (unless the result is locked); the replacement gets a Surat Permohonan.
    """
    from assessment.assignment import conflict_of_interest
    from services.invitation import send_requests

    if not reason.strip():
        raise AdminRefused("alasan penggantian asesor wajib diisi")
    if not coi_statement.strip():
        raise AdminRefused("pernyataan benturan kepentingan asesor pengganti wajib diisi")
    with session_scope() as session:
        cycle = cycle_by_year(session, year)
        old = get_assessor_by_email(session, old_email)
        new: Assessor = get_assessor_by_email(session, new_email)
        if conflict_of_interest(new, region_code):
            raise AdminRefused(
                f"{new.name} berasal dari wilayah {region_code} (benturan kepentingan)"
            )
        row = session.exec(
            select(Assignment).where(
                Assignment.cycle_id == cycle.id,
                Assignment.region_code == region_code,
                Assignment.assessor_id == old.id,
                Assignment.state.in_([AssignmentState.REQUESTED, AssignmentState.ACCEPTED]),
            )
        ).first()
        if row is None:
            raise AdminRefused(f"{old.name} tidak sedang ditugaskan menilai wilayah {region_code}")
        taken = session.exec(
            select(Assignment).where(
                Assignment.cycle_id == cycle.id,
                Assignment.region_code == region_code,
                Assignment.assessor_id == new.id,
                Assignment.state.in_([AssignmentState.REQUESTED, AssignmentState.ACCEPTED]),
            )
        ).first()
        if taken is not None:
            raise AdminRefused(f"{new.name} sudah ditugaskan menilai wilayah {region_code}")
        locked = session.exec(
            select(Result).where(
                Result.cycle_id == cycle.id,
                Result.region_code == region_code,
                Result.locked == True,
            )
        ).first()
        if locked:
            raise AdminRefused(f"hasil wilayah {region_code} sudah dikunci")
        replacement = Assignment(
            cycle_id=cycle.id,
            region_code=region_code,
            assessor_id=new.id,
            state=AssignmentState.REQUESTED,
            coi_statement=coi_statement.strip(),
        )
        session.add(replacement)
        session.flush()
        row.state = AssignmentState.REPLACED
        row.replaced_by_id = replacement.id
        row.reason = reason.strip()
        session.add(row)
        session.exec(
            delete(Score).where(
                Score.cycle_id == cycle.id,
                Score.region_code == region_code,
                Score.assessor_id == old.id,
            )
        )
        record_step(
            session,
            cycle_id=cycle.id,
            region_code=region_code,
            step_no=9,
            event="replaced",
            who=who,
            outcome=f"{old.name} diganti {new.name}",
            detail={"alasan": reason.strip(), "lama": old.email, "baru": new.email},
        )
        cycle_id, replacement_id = cycle.id, replacement.id
    letters = send_requests(cycle_id, region_code)
    with session_scope() as session:
        replacement = session.get(Assignment, replacement_id)
        replacement.state = AssignmentState.ACCEPTED  # the admin vouches the replacement agreed
        session.add(replacement)
    return {
        "region": region_code,
        "old": old.email,
        "new": new.email,
        "permohonan": [p["number"] for p in letters["letters"]],
    }


def close_cycle(year: int, reason: str, who: str = "admin") -> dict[str, Any]:
    """Close the cycle now: every door refuses input from here on, the unfinished regions'
    runs are cancelled and their waits closed (services/cycle.py); then the cycle run is
    resumed to step 14 (should that resume fail, the serving process's sweep resumes it)."""
    from services import cycle as cycles
    from services.waits import resume_when_suspended

    if not reason.strip():
        raise AdminRefused("alasan penutupan siklus wajib diisi")
    with session_scope() as session:
        cycle: Cycle = cycle_by_year(session, year)
        if cycle.state != CycleState.RUNNING:
            raise AdminRefused(f"siklus {year} {cycles.state_words(cycle.state)}")
        cycle_id, flow_run_id = cycle.id, cycle.flow_run_id
    unfinished = cycles.close(cycle_id, reason.strip(), who)
    resumed = bool(flow_run_id) and resume_when_suspended(
        flow_run_id, {"melalui": who, "tutup": True, "alasan": reason.strip()}, timeout=30
    )
    return {
        "year": year,
        "closed": True,
        "reason": reason.strip(),
        "unfinished": unfinished,
        "step_14": "dimulai" if resumed else "dimulai oleh penyapu penantian",
    }
