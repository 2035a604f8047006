"""What each portal page shows and what each form does. Inputs go through
``services.waits.submit`` (the one door); this module only reads and shapes data."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from assessment.answers import latest_answers
from assessment.instruments import load_instrument
from assessment.results import scores_visible_to
from models import clock
from models.audit import record_step
from models.db import session_scope
from models.lookups import letter_kinds_sent
from models.settings import get_settings
from models.sop import receipt_step, sop_steps
from models.tables import (
    Acknowledgement,
    AnswerDraft,
    Assessor,
    Assignment,
    AssignmentState,
    Cycle,
    Letter,
    PortalToken,
    Recommendation,
    Region,
    RegionProcess,
    Wait,
    WaitState,
)
from models.tokens import personal_token, reissue, revoke
from portal.app import VIA, Viewer, accepted_regions, message_page, open_waits_of, render
from reminders.status import CellStatus, status_grid
from services import evidence, links, waits
from services.recommendations import PRIORITIES
from services.stage import InputRefused, NotWaiting

RESUME_TIMEOUT = 10.0  # the sweeper resumes later what a busy server did not take now


def go(viewer: Viewer, path: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{viewer.base}{path}?pesan={quote(notice)}", status_code=303)


def door(viewer: Viewer, kind: str, region: str, payload: dict) -> tuple[list[str], str]:
    """Hand ``payload`` to the one door; returns (errors, summary)."""
    try:
        outcome = waits.submit(
            kind,
            region=region,
            payload=payload,
            via=VIA,
            who=viewer.who,
            cycle_id=viewer.cycle.id,
            resume_timeout=RESUME_TIMEOUT,
            audit=viewer.audit,
        )
    except InputRefused as exc:
        return exc.errors, ""
    except NotWaiting as exc:
        return [f"Belum dapat diterima: {exc}."], ""
    return [], outcome.summary


def may_see_region(session: Session, viewer: Viewer, region_code: str) -> bool:
    if viewer.region is not None:
        return viewer.region.code == region_code
    if viewer.assessor is not None:
        return any(
            a.region_code == region_code and a.state == AssignmentState.ACCEPTED
            for a in accepted_regions(session, viewer.cycle.id, viewer.assessor.id)
        )
    return viewer.role == "admin"


def _status_text(cell: Any) -> str:
    from letters.formats import long_date

    day = long_date(cell.day) if cell.day else ""
    return {
        CellStatus.DONE: f"Selesai {day}",
        CellStatus.WAITING: f"Menunggu, batas waktu {day}",
        CellStatus.EXTENDED: f"Diperpanjang sampai {day}",
        CellStatus.OVERDUE: f"Terlambat {cell.overdue_days} hari kerja (batas waktu {day})",
        CellStatus.FAILED: "Terhenti karena galat; admin perlu menjalankannya ulang",
        CellStatus.BLANK: "Belum dimulai",
    }[cell.status]


def _steps(session: Session, cycle: Cycle, region_code: str) -> list[dict[str, Any]]:
    grid = status_grid(session, cycle.year, region_code=region_code)
    row = next((r for r in grid.rows if r.region_code == region_code), None)
    steps = []
    for i, step in enumerate(sop_steps()):
        cell = row.cells[i] if row else None
        steps.append(
            {
                "no": step.number,
                "activity": step.activity,
                "actor": step.actor,
                "status": _status_text(cell) if cell else "Belum dimulai",
                "late": bool(cell and cell.status == CellStatus.OVERDUE),
            }
        )
    return steps


def _owed_by(
    session: Session, cycle_id: int, region_code: str, role: str, assessor_id: int | None = None
) -> list[dict[str, Any]]:
    items = []
    for wait in open_waits_of(session, cycle_id, region_code):
        st = waits.stage(wait.kind)
        for party in st.owes(session, cycle_id, region_code):
            if party.role == role and (assessor_id is None or party.assessor_id == assessor_id):
                items.append(
                    {"what": st.request_for(party), "due": wait.due_date, "kind": wait.kind}
                )
    return items


# --- region officer -----------------------------------------------------------------------


def region_home(viewer: Viewer) -> dict[str, Any]:
    code = viewer.region.code
    with session_scope() as session:
        letters = session.exec(
            select(Letter)
            .where(
                Letter.cycle_id == viewer.cycle.id,
                Letter.region_code == code,
                Letter.assessor_id == None,  # noqa: E711
            )
            .order_by(Letter.id)
        ).all()
        owed = _owed_by(session, viewer.cycle.id, code, "wilayah")
        data = {
            "steps": _steps(session, viewer.cycle, code),
            "owed": owed,
            "letters": [
                {"id": x.id, "subject": x.subject, "number": x.number, "date": x.letter_date}
                for x in letters
            ],
            "confirming": any(o["kind"] == "konfirmasi" for o in owed),
            "answering": any(o["kind"] == "jawaban" for o in owed),
            "today": clock.today().isoformat(),
        }
    return data


def _draft(session: Session, cycle_id: int, region_code: str) -> dict[str, dict[str, Any]]:
    row = session.exec(
        select(AnswerDraft).where(
            AnswerDraft.cycle_id == cycle_id, AnswerDraft.region_code == region_code
        )
    ).first()
    if row is not None:
        return dict(row.answers or {})
    answers = latest_answers(session, cycle_id, region_code)
    return dict(answers.answers or {}) if answers else {}


def questionnaire_form(viewer: Viewer, values: dict | None = None) -> dict[str, Any]:
    code = viewer.region.code
    instrument = load_instrument(viewer.cycle.instrument_code)
    with session_scope() as session:
        saved = values if values is not None else _draft(session, viewer.cycle.id, code)
        files = evidence.evidence_of(session, viewer.cycle.id, code)
        owed = _owed_by(session, viewer.cycle.id, code, "wilayah")
        closed = evidence.answers_closed(session, viewer.cycle.id, code)
        files = {
            k: [
                {
                    "id": f.id,
                    "name": f.file_name,
                    "size": f.size,
                    "sha": f.sha256[:12],
                    "sent": evidence.sent_with_answers(session, f),
                }
                for f in v
            ]
            for k, v in files.items()
        }
    s = get_settings().portal
    return {
        "instrument": instrument,
        "levels": instrument.levels,
        "saved": saved,
        "files": files,
        "answering": any(o["kind"] == "jawaban" for o in owed),
        "due": next((o["due"] for o in owed if o["kind"] == "jawaban"), None),
        "closed": closed,
        "max_file_mb": s.max_file_mb,
        "max_region_mb": s.max_region_mb,
    }


def _answers_from(form: dict[str, Any], codes: list[str]) -> dict[str, dict[str, Any]]:
    result = {}
    for code in codes:
        level = str(form.get(f"tingkat-{code}", "")).strip()
        result[code] = {
            "level": int(level) if level.isdigit() else (level or None),
            "evidence": str(form.get(f"bukti-{code}", "")).strip(),
        }
    return result


def questionnaire_submit(viewer: Viewer, form: dict[str, Any]) -> Response:
    code = viewer.region.code
    instrument = load_instrument(viewer.cycle.instrument_code)
    answers = _answers_from(form, instrument.indicator_codes)
    with session_scope() as session:  # the draft is kept whatever happens next
        row = session.exec(
            select(AnswerDraft).where(
                AnswerDraft.cycle_id == viewer.cycle.id, AnswerDraft.region_code == code
            )
        ).first() or AnswerDraft(cycle_id=viewer.cycle.id, region_code=code)
        row.answers = answers
        row.updated_at = clock.now()
        session.add(row)
        files = evidence.evidence_of(session, viewer.cycle.id, code)
    if form.get("aksi") != "kirim":
        return go(
            viewer, "/kuesioner", "Draf jawaban tersimpan. Anda dapat melanjutkannya kapan saja."
        )
    data = {
        c: {
            "level": a["level"],
            "evidence": evidence.evidence_text(a["evidence"], files.get(c, [])),
        }
        for c, a in answers.items()
    }
    errors, summary = door(viewer, "jawaban", code, {"data": data})
    return answered(viewer, errors, summary, answers)


def answered(
    viewer: Viewer, errors: list[str], summary: str, values: dict | None = None
) -> Response:
    """The questionnaire again with the reasons it was refused, or the thanks."""
    if errors:
        return render(
            "kuesioner.html",
            status=422,
            v=viewer,
            notice="",
            errors=errors,
            **questionnaire_form(viewer, values),
        )
    return go(viewer, "", f"Terima kasih, {summary}. Tanda terima dikirim melalui surel.")


def _uploads(form: dict[str, Any]) -> list[Any]:
    return [f for _, f in form.get("_files", []) if getattr(f, "filename", "")]


def evidence_remove(viewer: Viewer, form: dict[str, Any]) -> Response:
    if viewer.region is None:
        return message_page(
            "Halaman Tidak Tersedia", ["Hanya petugas Kab/Kota yang menghapus bukti."], 403
        )
    try:
        evidence_id = int(str(form.get("berkas", "")))
    except ValueError:
        evidence_id = 0  # refused below as a file that is not there
    try:
        with session_scope() as session:
            row = evidence.remove_evidence(
                session,
                cycle_id=viewer.cycle.id,
                region_code=viewer.region.code,
                evidence_id=evidence_id,
                who=viewer.who,
                ip=viewer.ip,
            )
            name, indicator = row.file_name, row.indicator_code
    except InputRefused as exc:
        return render(
            "kuesioner.html",
            status=422,
            v=viewer,
            notice="",
            errors=exc.errors,
            **questionnaire_form(viewer),
        )
    return go(
        viewer, "/kuesioner", f"Berkas {name} dihapus dari bukti dukung indikator {indicator}."
    )


async def evidence_upload(viewer: Viewer, form: dict[str, Any]) -> Response:
    from portal.app import spooled

    if viewer.region is None:
        return message_page(
            "Halaman Tidak Tersedia", ["Hanya petugas Kab/Kota yang mengunggah bukti."], 403
        )
    code = viewer.region.code
    indicator = str(form.get("indikator", ""))
    uploads = _uploads(form)
    limit = int(get_settings().portal.max_file_mb * 1048576)
    instrument = load_instrument(viewer.cycle.instrument_code)
    errors: list[str] = [] if uploads else ["Pilih minimal satu berkas bukti dukung."]
    stored: list[str] = []
    if uploads:
        try:
            with session_scope() as session:  # all the files of one upload, or none
                for upload in uploads:
                    data, _ = spooled(upload, limit)
                    row = evidence.store_evidence(
                        session,
                        cycle_id=viewer.cycle.id,
                        region_code=code,
                        indicator_code=indicator,
                        indicator_codes=instrument.indicator_codes,
                        file_name=upload.filename,
                        data=data,
                        who=viewer.who,
                        ip=viewer.ip,
                    )
                    stored.append(row.file_name)
        except InputRefused as exc:
            errors = exc.errors
    if errors:
        return render(
            "kuesioner.html",
            status=422,
            v=viewer,
            notice="",
            errors=errors,
            **questionnaire_form(viewer),
        )
    return go(
        viewer,
        "/kuesioner",
        f"{len(stored)} berkas bukti dukung tersimpan untuk indikator {indicator}: {', '.join(stored)}.",
    )


async def workbook_submit(viewer: Viewer, form: dict[str, Any]) -> Response:
    from portal.app import spooled

    if viewer.region is None:
        return message_page("Halaman Tidak Tersedia", ["Halaman ini untuk petugas Kab/Kota."], 403)
    uploads = _uploads(form)
    limit = int(get_settings().portal.max_file_mb * 1048576)
    errors: list[str] = []
    summary = ""
    if not uploads:
        errors = ["Pilih berkas Lembar Kuesioner (.xlsx) yang sudah diisi."]
    else:
        upload = uploads[0]
        data, too_big = spooled(upload, limit)
        name = evidence.safe_name(upload.filename)
        if too_big:
            errors = [f"Berkas {name} melebihi batas {get_settings().portal.max_file_mb:g} MB."]
        elif evidence.sniff(data) != "xlsx" or not name.lower().endswith(".xlsx"):
            errors = [
                f"Berkas {name} bukan Lembar Kuesioner Excel (.xlsx). Unggah berkas kuesioner yang dikirim bersama Surat Pemberitahuan."
            ]
        else:
            digest = hashlib.sha256(data).hexdigest()
            folder = (
                get_settings().docs_dir
                / "unggahan"
                / str(viewer.cycle.id)
                / evidence.safe_folder(viewer.region.code)
            )
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{digest[:16]}-{name}"
            path.write_bytes(data)
            errors, summary = door(viewer, "jawaban", viewer.region.code, {"berkas": str(path)})
            if errors:
                path.unlink(missing_ok=True)
    return answered(viewer, errors, summary)


def acknowledge(viewer: Viewer, form: dict[str, Any]) -> Response:
    received_by = str(form.get("diterima_oleh", "")).strip()
    agenda = str(form.get("nomor_agenda", "")).strip()
    raw_day = str(form.get("tanggal", "")).strip()
    errors = []
    if not received_by:
        errors.append("Nama penerima surat wajib diisi.")
    try:
        day = date.fromisoformat(raw_day) if raw_day else clock.today()
    except ValueError:
        errors.append(f"Tanggal diterima '{raw_day}' tidak sah; gunakan pemilih tanggal.")
        day = None
    with session_scope() as session:
        letter = (
            session.get(Letter, int(form.get("surat") or 0))
            if str(form.get("surat", "")).isdigit()
            else None
        )
        own = (
            letter is not None
            and letter.cycle_id == viewer.cycle.id
            and (
                (viewer.region is not None and letter.region_code == viewer.region.code)
                or (viewer.assessor is not None and letter.assessor_id == viewer.assessor.id)
            )
        )
        if not own:
            errors.append("Pilih surat yang diterima.")
        if errors:
            return message_page("Tanda Terima Belum Dapat Dicatat", errors, 422)
        if viewer.assessor is not None:
            sent = letter_kinds_sent(session, viewer.cycle.id, assessor_id=viewer.assessor.id)
        else:
            sent = letter_kinds_sent(session, viewer.cycle.id, region_code=letter.region_code)
        step_no = receipt_step(letter.kind, sent)
        session.add(
            Acknowledgement(
                cycle_id=viewer.cycle.id,
                region_code=letter.region_code if viewer.region is not None else None,
                assessor_id=viewer.assessor.id if viewer.assessor is not None else None,
                step_no=step_no,
                received_by=received_by,
                agenda_number=agenda,
                received_date=day,
                source=VIA,
            )
        )
        record_step(
            session,
            cycle_id=viewer.cycle.id,
            region_code=letter.region_code,
            assessor_id=viewer.assessor.id if viewer.assessor is not None else None,
            step_no=step_no,
            event="disposisi",
            outcome=f"tanda terima surat {letter.number} oleh {received_by}",
            who=viewer.who,
            document_id=letter.id,
            detail={**viewer.audit, "melalui": VIA, "nomor_agenda": agenda},
        )
    return go(viewer, "", f"Tanda terima surat {letter.number} telah dicatat.")


def confirm(viewer: Viewer, form: dict[str, Any]) -> Response:
    if viewer.region is not None:
        delegates = [
            {
                "nama": str(form.get(f"nama-{i}", "")).strip(),
                "jabatan": str(form.get(f"jabatan-{i}", "")).strip(),
            }
            for i in range(1, 4)
        ]
        payload = {
            "pihak": "wilayah",
            "jawaban": form.get("jawaban", ""),
            "delegasi": [d for d in delegates if d["nama"] or d["jabatan"]],
            "alasan": form.get("alasan", ""),
        }
        errors, summary = door(viewer, "konfirmasi", viewer.region.code, payload)
    elif viewer.assessor is not None:
        region = str(form.get("wilayah", ""))
        payload = {
            "pihak": viewer.assessor.email,
            "jawaban": form.get("jawaban", ""),
            "pernyataan_benturan_kepentingan": form.get("pernyataan", ""),
            "alasan": form.get("alasan", ""),
        }
        errors, summary = door(viewer, "konfirmasi", region, payload)
    else:
        return message_page(
            "Halaman Tidak Tersedia", ["Konfirmasi diisi oleh Kab/Kota atau asesor."], 403
        )
    if errors:
        return message_page(
            "Konfirmasi Belum Dapat Diterima",
            [*errors, "Kembali ke halaman sebelumnya, perbaiki isian, lalu kirim lagi."],
            422,
        )
    return go(viewer, "", f"Konfirmasi diterima: {summary}.")


# --- assessor -----------------------------------------------------------------------------


def assessor_home(viewer: Viewer) -> dict[str, Any]:
    rows = []
    with session_scope() as session:
        for a in accepted_regions(session, viewer.cycle.id, viewer.assessor.id):
            region = session.get(Region, a.region_code)
            owed = _owed_by(session, viewer.cycle.id, a.region_code, "asesor", viewer.assessor.id)
            rows.append(
                {
                    "code": region.code,
                    "name": region.name,
                    "state": a.state,
                    "owed": owed,
                    "asking": any(o["kind"] == "konfirmasi" for o in owed),
                    "scoring": any(o["kind"] == "nilai" for o in owed),
                    "scored": bool(
                        scores_visible_to(
                            session, viewer.cycle.id, a.region_code, viewer.assessor.id
                        ).get(viewer.assessor.id)
                    ),
                }
            )
        letters = session.exec(
            select(Letter)
            .where(Letter.cycle_id == viewer.cycle.id, Letter.assessor_id == viewer.assessor.id)
            .order_by(Letter.id)
        ).all()
        letters = [
            {"id": x.id, "subject": x.subject, "number": x.number, "date": x.letter_date}
            for x in letters
        ]
    return {"regions": rows, "letters": letters, "today": clock.today().isoformat()}


def scoring_page(
    viewer: Viewer,
    region_code: str,
    notice: str = "",
    errors: list[str] | None = None,
    values: dict | None = None,
    status: int = 200,
) -> Response:
    if viewer.assessor is None:
        return message_page("Halaman Tidak Tersedia", ["Halaman ini untuk asesor."], 403)
    instrument = load_instrument(viewer.cycle.instrument_code)
    with session_scope() as session:
        if not may_see_region(session, viewer, region_code):
            return message_page(
                "Penilaian Belum Tersedia",
                [
                    "Anda belum tercatat bersedia menilai wilayah ini. Isi konfirmasi kesediaan "
                    "di halaman utama tautan pribadi Anda terlebih dahulu."
                ],
                403,
            )
        region = session.get(Region, region_code)
        answers = latest_answers(session, viewer.cycle.id, region_code)
        files = evidence.evidence_of(session, viewer.cycle.id, region_code)
        visible = scores_visible_to(session, viewer.cycle.id, region_code, viewer.assessor.id)
        mine = visible.get(viewer.assessor.id, {})
        others = {
            session.get(Assessor, aid).name: levels
            for aid, levels in visible.items()
            if aid != viewer.assessor.id
        }
        recs = {
            r.indicator_code: {"teks": r.text, "prioritas": r.priority}
            for r in session.exec(
                select(Recommendation).where(
                    Recommendation.cycle_id == viewer.cycle.id,
                    Recommendation.region_code == region_code,
                    Recommendation.assessor_id == viewer.assessor.id,
                )
            )
        }
        owed = _owed_by(session, viewer.cycle.id, region_code, "asesor", viewer.assessor.id)
        due = waits.due_of(session, viewer.cycle.id, region_code, "nilai")
        files = {
            k: [{"id": f.id, "name": f.file_name, "size": f.size} for f in v]
            for k, v in files.items()
        }
        region_name = region.name
    return render(
        "nilai.html",
        status=status,
        v=viewer,
        notice=notice,
        errors=errors or [],
        region_code=region_code,
        region_name=region_name,
        instrument=instrument,
        levels=instrument.levels,
        answers=(answers.answers or {}) if answers else {},
        files=files,
        mine=values or mine,
        recs=(values or {}).get("_rek", recs),
        others=others,
        scoring=any(o["kind"] == "nilai" for o in owed),
        due=due,
        priorities=PRIORITIES,
    )


def scoring_submit(viewer: Viewer, form: dict[str, Any], region_code: str) -> Response:
    if viewer.assessor is None:
        return message_page("Halaman Tidak Tersedia", ["Halaman ini untuk asesor."], 403)
    instrument = load_instrument(viewer.cycle.instrument_code)
    data, recs = {}, {}
    for code in instrument.indicator_codes:
        level = str(form.get(f"tingkat-{code}", "")).strip()
        data[code] = {
            "level": int(level) if level.isdigit() else (level or None),
            "note": str(form.get(f"catatan-{code}", "")).strip(),
        }
        text = str(form.get(f"rekomendasi-{code}", "")).strip()
        if text:
            recs[code] = {"teks": text, "prioritas": str(form.get(f"prioritas-{code}", ""))}
    with session_scope() as session:
        if not may_see_region(session, viewer, region_code):
            return message_page(
                "Penilaian Belum Tersedia", ["Anda tidak ditugaskan menilai wilayah ini."], 403
            )
    payload = {"asesor": viewer.assessor.email, "data": data, "rekomendasi": recs}
    errors, summary = door(viewer, "nilai", region_code, payload)
    if errors:
        return scoring_page(
            viewer, region_code, errors=errors, values={**data, "_rek": recs}, status=422
        )
    return go(viewer, f"/nilai/{region_code}", f"Terima kasih, {summary}.")


# --- admin --------------------------------------------------------------------------------


def board_page(cycle_id: int) -> Response:
    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        if cycle is None:
            return message_page("Siklus Tidak Ditemukan", ["Siklus ini tidak ada."], 404)
        grid = status_grid(session, cycle.year)
        open_rows = session.exec(
            select(Wait).where(Wait.cycle_id == cycle_id, Wait.state == WaitState.OPEN)
        ).all()
        wait_links = {
            (w.region_code, w.step_no): links.flow_run_url(w.flow_run_id)
            for w in open_rows
            if w.flow_run_id
        }
        process_links = {
            p.region_code: links.flow_run_url(p.flow_run_id)
            for p in session.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle_id))
            if p.flow_run_id
        }
        letters = session.exec(
            select(Letter).where(Letter.cycle_id == cycle_id).order_by(Letter.id)
        ).all()
        letters = [
            {"url": links.letter_url(x.id), "text": links.letter_text(x, region_names(session))}
            for x in letters
        ]
        rows = []
        for row in grid.rows:
            cells = []
            for step, cell in zip(sop_steps(), row.cells, strict=True):
                cells.append(
                    {
                        "text": cell.text(),
                        "late": cell.status == CellStatus.OVERDUE,
                        "done": cell.status == CellStatus.DONE,
                        "url": wait_links.get((row.region_code, step.number))
                        or (
                            process_links.get(row.region_code)
                            if cell.status != CellStatus.BLANK
                            else None
                        ),
                    }
                )
            rows.append({"code": row.region_code, "name": row.region_name, "cells": cells})
        name = cycle.name or f"Siklus {cycle.year}"
    return render(
        "papan.html",
        cycle_name=name,
        cycle_id=cycle_id,
        steps=sop_steps(),
        rows=rows,
        letters=letters,
        today=grid.today,
    )


def region_names(session: Session) -> dict[str, str]:
    return {r.code: r.name for r in session.exec(select(Region))}


def _people(session: Session, cycle_id: int) -> list[dict[str, Any]]:
    tokens = session.exec(select(PortalToken).where(PortalToken.cycle_id == cycle_id)).all()

    def state(role: str, person: Any) -> str:
        rows = [
            t
            for t in tokens
            if t.role == role and (t.region_code if role == "wilayah" else t.assessor_id) == person
        ]
        if any(t.revoked_at is None for t in rows):
            return "aktif"
        return "dicabut" if rows else "belum dibuat"

    people = []
    codes = {
        p.region_code
        for p in session.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle_id))
    }
    codes |= {w.region_code for w in session.exec(select(Wait).where(Wait.cycle_id == cycle_id))}
    for region in session.exec(
        select(Region).where(Region.code.in_(sorted(codes))).order_by(Region.code)
    ):
        people.append(
            {
                "role": "wilayah",
                "person": region.code,
                "label": f"{region.name} — {region.pic_name}",
                "state": state("wilayah", region.code),
            }
        )
    ids = sorted(
        {
            a.assessor_id
            for a in session.exec(select(Assignment).where(Assignment.cycle_id == cycle_id))
        }
    )
    for aid in ids:
        a = session.get(Assessor, aid)
        people.append(
            {
                "role": "asesor",
                "person": str(aid),
                "label": f"Asesor {a.name}",
                "state": state("asesor", aid),
            }
        )
    return people


def tokens_page(cycle_id: int, user: str, notice: str = "") -> Response:
    from portal import security

    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        if cycle is None:
            return message_page("Siklus Tidak Ditemukan", ["Siklus ini tidak ada."], 404)
        people = _people(session, cycle_id)
        name = cycle.name or f"Siklus {cycle.year}"
    return render(
        "tautan.html",
        cycle_name=name,
        cycle_id=cycle_id,
        people=people,
        csrf=security.csrf_value(user),
        notice=notice,
    )


def tokens_action(cycle_id: int, user: str, form: dict[str, Any], ip: str) -> Response:
    role = str(form.get("peran", ""))
    person = str(form.get("orang", ""))
    action = str(form.get("aksi", ""))
    if role not in ("wilayah", "asesor") or action not in ("cabut", "terbitkan"):
        return message_page(
            "Permintaan Tidak Dikenal", ["Pilih orang dan tindakan dari daftar."], 422
        )
    region_code = person if role == "wilayah" else None
    assessor_id = int(person) if role == "asesor" and person.isdigit() else None
    with session_scope() as session:
        if session.get(Cycle, cycle_id) is None:
            return message_page("Siklus Tidak Ditemukan", ["Siklus ini tidak ada."], 404)
        try:
            if action == "cabut":
                revoke(
                    session,
                    cycle_id,
                    role,
                    f"admin {user}",
                    region_code=region_code,
                    assessor_id=assessor_id,
                )
            else:
                reissue(
                    session,
                    cycle_id,
                    role,
                    f"admin {user}",
                    region_code=region_code,
                    assessor_id=assessor_id,
                )
        except ValueError as exc:
            return message_page("Permintaan Tidak Dikenal", [str(exc)], 422)
        generation = max(
            (
                t.generation
                for t in session.exec(
                    select(PortalToken).where(
                        PortalToken.cycle_id == cycle_id, PortalToken.role == role
                    )
                )
            ),
            default=0,
        )
        record_step(
            session,
            cycle_id=cycle_id,
            region_code=region_code,
            assessor_id=assessor_id,
            step_no=1 if role == "wilayah" else 6,
            event="tautan_dicabut" if action == "cabut" else "tautan_diterbitkan",
            outcome="tautan pribadi " + ("dicabut" if action == "cabut" else "diterbitkan ulang"),
            who=f"admin {user}",
            detail={"ip": ip, "generasi": generation},
        )
    if action == "terbitkan":
        send_new_link(cycle_id, role, region_code, assessor_id)
        return RedirectResponse(
            f"/admin/tautan/{cycle_id}?pesan={quote('Tautan baru diterbitkan dan dikirim melalui surel.')}",
            status_code=303,
        )
    return RedirectResponse(
        f"/admin/tautan/{cycle_id}?pesan={quote('Tautan dicabut.')}", status_code=303
    )


def send_new_link(
    cycle_id: int, role: str, region_code: str | None, assessor_id: int | None
) -> None:
    """Email the person their new link (the footer carries it, as in every email)."""
    from services.outgoing import mail_only, queue_then_deliver

    def build(session: Session, out) -> None:  # noqa: ANN001
        cycle = session.get(Cycle, cycle_id)
        token = personal_token(session, cycle_id, role, region_code, assessor_id)
        if role == "wilayah":
            region = session.get(Region, region_code)
            recipient, name = region.pic_email, region.pic_name
        else:
            assessor = session.get(Assessor, assessor_id)
            recipient, name = assessor.email, assessor.name
        mail_only(
            session,
            out,
            key=f"c{cycle_id}/tautan/{role}/{region_code or assessor_id}/{hashlib.sha256(token.encode()).hexdigest()[:12]}",
            recipient=recipient,
            recipient_name=name,
            subject=f"Tautan Pribadi Baru Portal {cycle.name or 'PeManTIK'}",
            template="umum",
            context={
                "paragraf": [
                    "Tautan pribadi Anda untuk portal PeManTIK telah diperbarui oleh admin. "
                    "Tautan sebelumnya tidak berlaku lagi.",
                    "Gunakan tautan di bagian bawah surel ini untuk membuka portal.",
                ]
            },
            cycle_id=cycle_id,
            region_code=region_code,
            assessor_id=assessor_id,
            kind="tautan_pribadi",
        )

    queue_then_deliver(build)
