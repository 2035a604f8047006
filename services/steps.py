"""What each SOP step does, without Prefect: letters, workbooks, email, records.

Each function is idempotent: letters and emails carry keys derived from (cycle, region or
assessor, document, round), so a task re-run after a resume or a crash repeats nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from models import clock
from models.db import session_scope
from models.settings import get_settings
from models.tables import (
    AnswerSet,
    Assessor,
    Assignment,
    AssignmentState,
    Confirmation,
    Cycle,
    CycleState,
    Document,
    Region,
    RegionProcess,
    Result,
)
from services.context import CycleContext, get_region, load_cycle
from services.outgoing import issue_and_mail, mail_only, queue_then_deliver


def _signatory() -> dict[str, str]:
    s = get_settings().signatory
    return {"name": s.name, "nip": s.nip, "pangkat": s.pangkat, "jabatan": s.jabatan}


def _contact() -> str:
    org = get_settings().organisation
    return f"{org.bidang}, telepon {org.phone}, email {get_settings().reply_to}"


def _head_of(region: Region) -> dict[str, str]:
    """The addressee of a letter to a region: the head of its Diskominfo."""
    return {"name": region.head_title or f"Kepala Dinas Kominfo {region.name}"}


def _region_context(ctx: CycleContext, region: Region) -> dict[str, Any]:
    return {
        "tahun": ctx.params.year,
        "nama_wilayah": region.name,
        "kode_wilayah": region.code,
        "nama_penerima": region.pic_name,
        "instansi": get_settings().organisation.instansi,
    }


def _store_document(
    session: Session, kind: str, path: Path, cycle_id: int, region_code: str
) -> Document:
    from assessment.answers import file_sha256

    existing = session.exec(
        select(Document).where(Document.file_path == str(path), Document.kind == kind)
    ).first()
    if existing:
        return existing
    doc = Document(
        kind=kind,
        cycle_id=cycle_id,
        region_code=region_code,
        file_path=str(path),
        sha256=file_sha256(path),
    )
    session.add(doc)
    session.flush()
    return doc


# --- steps 1–2 ------------------------------------------------------------------------------


def answers_due(ctx: CycleContext, sent_on: date) -> date:
    """Steps 2–4 follow step 1: receive (1 day), fill (7), send (1) — in working days."""
    days = sum(ctx.duration(n) for n in (2, 3, 4))
    return ctx.calendar.add_working_days(ctx.calendar.next_working_day(sent_on), days)


def send_pemberitahuan(cycle_id: int, region_code: str, sent_on: date) -> dict[str, Any]:
    """Step 1: the Lembar Kuesioner workbook and the numbered Surat Pemberitahuan, by email."""
    from assessment.instruments import load_instrument
    from assessment.workbook import build_questionnaire

    def build(session: Session, out) -> dict[str, Any]:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        instrument = load_instrument(ctx.cycle.instrument_code)
        folder = get_settings().docs_dir / str(ctx.params.year) / "kuesioner"
        folder.mkdir(parents=True, exist_ok=True)
        workbook = folder / f"Lembar-Kuesioner-{region.code}-{ctx.params.year}.xlsx"
        if not workbook.exists():
            build_questionnaire(
                instrument,
                cycle_year=ctx.params.year,
                cycle_id=ctx.id,
                region_code=region.code,
                region_name=region.name,
                out_path=workbook,
            )
        doc = _store_document(session, "kuesioner", workbook, ctx.id, region.code)
        deadline = answers_due(ctx, sent_on)
        data = {
            "addressee": _head_of(region),
            "year": ctx.params.year,
            "region_name": region.name,
            "deadline": deadline,
            "instrument_name": instrument.name,
            "questionnaire_file": workbook.name,
            "contact": _contact(),
            "signatory": _signatory(),
        }
        letter = issue_and_mail(
            session,
            out,
            kind="pemberitahuan",
            data=data,
            key=f"c{ctx.id}/{region.code}/pemberitahuan/1",
            recipient=region.pic_email,
            recipient_name=region.pic_name,
            template="pemberitahuan",
            context={
                **_region_context(ctx, region),
                "tenggat": deadline,
            },
            cycle_id=ctx.id,
            region_code=region.code,
            extra_attachments=[workbook],
            letter_date=sent_on,
        )
        return {
            "letter_id": letter.id,
            "number": letter.number,
            "deadline": deadline.isoformat(),
            "workbook_document_id": doc.id,
        }

    result, receipts = queue_then_deliver(build)
    return {**result, "receipts": receipts}


# --- step 5 ---------------------------------------------------------------------------------


def send_tanda_terima(cycle_id: int, region_code: str) -> dict[str, Any]:
    """Step 5: a numbered Tanda Terima for the newest accepted answers, by email."""

    def build(session: Session, out) -> dict[str, Any]:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        answers = session.exec(
            select(AnswerSet)
            .where(AnswerSet.cycle_id == ctx.id, AnswerSet.region_code == region.code)
            .order_by(AnswerSet.version.desc())
        ).first()
        if answers is None:
            raise LookupError(f"Belum ada jawaban tersimpan untuk {region.name}")
        data = {
            "addressee": _head_of(region),
            "year": ctx.params.year,
            "region_name": region.name,
            "received_at": answers.submitted_at,
            "version": answers.version,
            "file_name": Path(answers.file_path).name if answers.file_path else "",
            "sha256": answers.sha256,
            "indicator_count": len(answers.answers or {}),
            "submitted_by": answers.submitted_by,
            "signatory": _signatory(),
        }
        letter = issue_and_mail(
            session,
            out,
            kind="tanda_terima",
            data=data,
            key=f"c{ctx.id}/{region.code}/tanda_terima/v{answers.version}",
            recipient=region.pic_email,
            recipient_name=region.pic_name,
            template="tanda_terima",
            context={
                **_region_context(ctx, region),
                "versi": answers.version,
                "diterima_pada": answers.submitted_at,
                "jumlah_indikator": len(answers.answers or {}),
            },
            cycle_id=ctx.id,
            region_code=region.code,
        )
        return {"letter_id": letter.id, "number": letter.number, "answer_version": answers.version}

    result, receipts = queue_then_deliver(build)
    return {**result, "receipts": receipts}


# --- step 6 ---------------------------------------------------------------------------------


def _event(ctx: CycleContext, event_date: date) -> dict[str, Any]:
    return {
        "event_date": event_date,
        "time_start": ctx.params.session_time,
        "venue": ctx.params.venue,
        "online_link": ctx.params.online_link,
        "agenda": ctx.params.agenda,
    }


def send_undangan(cycle_id: int, region_code: str, round_no: int) -> dict[str, Any]:
    """Step 6 (region): the Surat Undangan for the region's session date, round ``round_no``."""

    def build(session: Session, out) -> dict[str, Any]:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        when = ctx.session_date_for(session, region.code)
        reply_by = ctx.calendar.add_working_days(clock.today(), ctx.duration(7) + ctx.duration(8))
        data = {
            "addressee": _head_of(region),
            "year": ctx.params.year,
            "region_name": region.name,
            "reply_by": reply_by,
            "contact": _contact(),
            "signatory": _signatory(),
            **_event(ctx, when),
        }
        letter = issue_and_mail(
            session,
            out,
            kind="undangan",
            data=data,
            key=f"c{ctx.id}/{region.code}/undangan/{round_no}",
            recipient=region.pic_email,
            recipient_name=region.pic_name,
            template="undangan",
            context={
                **_region_context(ctx, region),
                "tanggal_acara": when,
                "waktu": f"{ctx.params.session_time} WITA – selesai",
                "tempat": ctx.params.venue or ctx.params.online_link,
                "acara": ctx.params.agenda,
                "batas_konfirmasi": reply_by,
            },
            cycle_id=ctx.id,
            region_code=region.code,
        )
        return {"letter_id": letter.id, "number": letter.number, "session_date": when.isoformat()}

    result, receipts = queue_then_deliver(build)
    return {**result, "receipts": receipts}


def send_permohonan(cycle_id: int, region_code: str) -> dict[str, Any]:
    """Step 6 (assessors): a Surat Permohonan to every assigned assessor not yet asked."""

    def build(session: Session, out) -> list[dict[str, Any]]:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        when = ctx.session_date_for(session, region.code)
        reply_by = ctx.calendar.add_working_days(clock.today(), ctx.duration(7) + ctx.duration(8))
        issued = []
        rows = session.exec(
            select(Assignment).where(
                Assignment.cycle_id == ctx.id,
                Assignment.region_code == region.code,
                Assignment.state == AssignmentState.REQUESTED,
            )
        ).all()
        for assignment in rows:
            assessor = session.get(Assessor, assignment.assessor_id)
            data = {
                "addressee": {"name": assessor.name},
                "year": ctx.params.year,
                "assessor_name": assessor.name,
                "institution": assessor.institution,
                "regions": [region.name],
                "reply_by": reply_by,
                "signatory": _signatory(),
                **_event(ctx, when),
            }
            letter = issue_and_mail(
                session,
                out,
                kind="permohonan",
                data=data,
                key=f"c{ctx.id}/{region.code}/permohonan/a{assignment.id}",
                recipient=assessor.email,
                recipient_name=assessor.name,
                template="permohonan",
                context={
                    "tahun": ctx.params.year,
                    "wilayah": [region.name],
                    "tanggal_acara": when,
                    "tempat": ctx.params.venue or ctx.params.online_link,
                    "batas_konfirmasi": reply_by,
                },
                cycle_id=ctx.id,
                region_code=region.code,
                assessor_id=assessor.id,
            )
            assignment.letter_id = letter.id
            session.add(assignment)
            issued.append(
                {"assessor": assessor.email, "number": letter.number, "letter_id": letter.id}
            )
        return issued

    result, receipts = queue_then_deliver(build)
    return {"letters": result, "receipts": receipts}


# --- step 9 ---------------------------------------------------------------------------------


def settle_confirmations(cycle_id: int, region_code: str) -> dict[str, Any]:
    """Step 9: replace declining assessors from the pool; reschedule a declining region.

    Returns what changed so the flow can send new letters and wait again.
    """
    from assessment.assignment import pick_replacement

    with session_scope() as session:
        ctx = load_cycle(session, cycle_id)
        replaced: list[dict[str, Any]] = []
        declined = session.exec(
            select(Assignment).where(
                Assignment.cycle_id == ctx.id,
                Assignment.region_code == region_code,
                Assignment.state == AssignmentState.DECLINED,
                Assignment.replaced_by_id.is_(None),
            )
        ).all()
        if declined:
            pool = _pool(session, ctx)
            everyone = session.exec(
                select(Assignment).where(
                    Assignment.cycle_id == ctx.id, Assignment.region_code == region_code
                )
            ).all()
            exclude = {a.assessor_id for a in everyone}
            load = _load(session, ctx.id)
            for row in declined:
                new_id = pick_replacement(pool, region_code, exclude, load)
                exclude.add(new_id)
                load[new_id] = load.get(new_id, 0) + 1
                new_row = Assignment(cycle_id=ctx.id, region_code=region_code, assessor_id=new_id)
                session.add(new_row)
                session.flush()
                row.replaced_by_id = new_row.id
                row.state = AssignmentState.REPLACED
                session.add(row)
                replaced.append({"declined": row.assessor_id, "replacement": new_id})
        rescheduled = None
        latest = session.exec(
            select(Confirmation)
            .where(Confirmation.cycle_id == ctx.id, Confirmation.region_code == region_code)
            .order_by(Confirmation.id.desc())
        ).first()
        process = session.exec(
            select(RegionProcess).where(
                RegionProcess.cycle_id == ctx.id, RegionProcess.region_code == region_code
            )
        ).one()
        if latest is not None and not latest.attend:
            current = ctx.session_date_for(session, region_code)
            new_date = latest.session_date or ctx.reschedule(current)
            process.session_date = new_date
            session.add(process)
            rescheduled = new_date.isoformat()
        return {"replaced": replaced, "rescheduled": rescheduled}


def _pool(session: Session, ctx: CycleContext) -> list[Assessor]:
    query = select(Assessor).where(Assessor.active == True)  # noqa: E712
    pool = list(session.exec(query))
    if ctx.params.assessor_pool:
        wanted = {e.lower() for e in ctx.params.assessor_pool}
        pool = [a for a in pool if a.email in wanted]
    return pool


def _load(session: Session, cycle_id: int) -> dict[int, int]:
    load: dict[int, int] = {}
    for row in session.exec(select(Assignment).where(Assignment.cycle_id == cycle_id)):
        if row.state in (AssignmentState.REQUESTED, AssignmentState.ACCEPTED):
            load[row.assessor_id] = load.get(row.assessor_id, 0) + 1
    return load


def assign_for_cycle(cycle_id: int, region_codes: list[str]) -> dict[str, list[int]]:
    """Assign assessors to every region of the cycle at once (spreads the load evenly)."""
    from assessment.assignment import assign_assessors

    with session_scope() as session:
        ctx = load_cycle(session, cycle_id)
        existing = session.exec(select(Assignment).where(Assignment.cycle_id == ctx.id)).all()
        done = {a.region_code for a in existing}
        todo = [c for c in region_codes if c not in done]
        plan = assign_assessors(
            _pool(session, ctx), todo, ctx.params.assessors_per_region, _load(session, ctx.id)
        )
        for code, ids in plan.items():
            for assessor_id in ids:
                session.add(Assignment(cycle_id=ctx.id, region_code=code, assessor_id=assessor_id))
        result: dict[str, list[int]] = {}
        for row in [*existing, *session.new]:
            if isinstance(row, Assignment):
                result.setdefault(row.region_code, []).append(row.assessor_id)
        return result


# --- steps 12–13 ----------------------------------------------------------------------------


def active_assessor_ids(session: Session, cycle_id: int, region_code: str) -> list[int]:
    rows = session.exec(
        select(Assignment).where(
            Assignment.cycle_id == cycle_id,
            Assignment.region_code == region_code,
            Assignment.state == AssignmentState.ACCEPTED,
        )
    ).all()
    return sorted(r.assessor_id for r in rows)


def send_result_to_region(cycle_id: int, region_code: str) -> dict[str, Any]:
    """Step 13: tell the region its locked result."""

    def build(session: Session, out) -> dict[str, Any]:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        result = session.exec(
            select(Result).where(Result.cycle_id == ctx.id, Result.region_code == region.code)
        ).one()
        mail_only(
            session,
            out,
            key=f"c{ctx.id}/{region.code}/hasil/1",
            recipient=region.pic_email,
            recipient_name=region.pic_name,
            subject=f"Hasil Penilaian PeManTIK Tahun {ctx.params.year} — {region.name}",
            template="hasil",
            context={
                **_region_context(ctx, region),
                "nilai": result.total,
                "predikat": result.predicate,
                "dimensi": [
                    {"nama": _dimension_name(ctx, k), "nilai": v}
                    for k, v in (result.dimension_scores or {}).items()
                ],
            },
            cycle_id=ctx.id,
            region_code=region.code,
            kind="hasil",
        )
        return {"total": result.total, "predicate": result.predicate}

    result, receipts = queue_then_deliver(build)
    return {**result, "receipts": receipts}


def _dimension_name(ctx: CycleContext, code: str) -> str:
    from assessment.instruments import load_instrument

    names = {d.code: d.name for d in load_instrument(ctx.cycle.instrument_code).dimensions}
    return names.get(code, code)


def mark_cycle(cycle_id: int, state: CycleState, reason: str = "") -> None:

    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        cycle.state = state
        if state in (CycleState.CLOSING, CycleState.REPORTED) and cycle.closed_at is None:
            cycle.closed_at = clock.now()
            cycle.close_reason = reason
        session.add(cycle)


def send_refusal(cycle_id: int, region_code: str, errors: list[str], key: str) -> None:
    """Tell the region exactly what is wrong with its answers (once per refused input)."""

    def build(session: Session, out) -> None:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        mail_only(
            session,
            out,
            key=f"c{ctx.id}/{region.code}/jawaban_ditolak/{key}",
            recipient=region.pic_email,
            recipient_name=region.pic_name,
            subject=f"Jawaban Kuesioner PeManTIK Tahun {ctx.params.year} Belum Dapat Diterima — {region.name}",
            template="jawaban_ditolak",
            context={**_region_context(ctx, region), "kesalahan": errors},
            cycle_id=ctx.id,
            region_code=region.code,
            kind="jawaban_ditolak",
        )

    queue_then_deliver(build)
