"""The questionnaire phase (SOP steps 1–5): the Surat Pemberitahuan with the Lembar Kuesioner,
the wait for the answers, the Tanda Terima, and the refusal of invalid answers.

Each step builds one data dict that both its letter and its email render, so one value has
one name everywhere (``deadline`` in the letter is ``deadline`` in the email). Letters and
emails carry idempotency keys derived from (cycle, region, document, version), so a step that
runs again after a resume or a crash repeats nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from models import clock
from models.settings import get_settings
from models.tables import AnswerSet, Document, Letter
from services.context import (
    CycleContext,
    addressee_of,
    contact_line,
    get_region,
    letter_recipients,
    load_cycle,
    region_data,
    signatory,
)
from services.outgoing import issue_and_mail, queue_then_deliver
from services.stage import (
    InputRefused,
    Party,
    Place,
    Stage,
    fetch_linked_file,
    levels_from_form,
    places_having,
)

TEMPLATES = "questionnaire"  # mail/templates/questionnaire/, letters/templates/questionnaire/


def answers_due(ctx: CycleContext, sent_on: date) -> date:
    """Steps 2–4 follow step 1: receive, fill in, send back — in working days."""
    return ctx.working_days_after(ctx.calendar.next_working_day(sent_on), 2, 3, 4)


def _notification_letter(session: Session, cycle_id: int, region_code: str) -> Letter | None:
    return session.exec(
        select(Letter)
        .where(
            Letter.cycle_id == cycle_id,
            Letter.region_code == region_code,
            Letter.kind == "pemberitahuan",
        )
        .order_by(Letter.id)
    ).first()


def _store_file(session: Session, kind: str, path: Path, cycle_id: int, region_code: str) -> int:
    from assessment.answers import file_sha256

    existing = session.exec(
        select(Document).where(Document.file_path == str(path), Document.kind == kind)
    ).first()
    if existing:
        return existing.id
    doc = Document(
        kind=kind,
        cycle_id=cycle_id,
        region_code=region_code,
        file_path=str(path),
        sha256=file_sha256(path),
    )
    session.add(doc)
    session.flush()
    return doc.id


def _filled_by(identity: dict | None) -> str:
    if not identity or not identity.get("nama"):
        return ""
    parts = [identity["nama"], identity.get("jabatan", "")]
    if identity.get("nip"):
        parts.append(f"NIP {identity['nip']}")
    if identity.get("telepon"):
        parts.append(f"telepon {identity['telepon']}")
    return ", ".join(p for p in parts if p)


# --- step 1 ---------------------------------------------------------------------------------


def send_notification(cycle_id: int, region_code: str) -> dict[str, Any]:
    """Step 1: the numbered Surat Pemberitahuan with the Lembar Kuesioner, by email."""
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
                example=get_settings().demo,
            )
        workbook_id = _store_file(session, "kuesioner", workbook, ctx.id, region.code)
        sent_on = clock.today()
        data = {
            **region_data(ctx, region),
            "addressee": addressee_of(region),
            "deadline": answers_due(ctx, sent_on),
            "instrument_name": instrument.name,
            "questionnaire_file": workbook.name,
            "contact": contact_line(),
            "signatory": signatory(),
        }
        letter = issue_and_mail(
            session,
            out,
            kind="pemberitahuan",
            step_no=1,
            data=data,
            key=f"c{ctx.id}/{region.code}/pemberitahuan/1",
            **letter_recipients(region),
            template=f"{TEMPLATES}/pemberitahuan",
            cycle_id=ctx.id,
            region_code=region.code,
            extra_attachments=[workbook],
            letter_date=sent_on,
        )
        return {
            "letter_id": letter.id,
            "number": letter.number,
            "deadline": data["deadline"].isoformat(),
            "workbook_document_id": workbook_id,
        }

    result, receipts = queue_then_deliver(build)
    return {**result, "receipts": receipts}


def receipt_completes_delivery(cycle_id: int, region_code: str, sent: dict) -> dict[str, Any]:
    """Step 2: the delivery receipt completes it; an acknowledgement (disposisi) is recorded
    when it comes, without blocking."""
    delivered = [r for r in sent["receipts"] if r["state"] == "sent"]
    return {"outcome": f"{len(delivered)} surat elektronik terkirim", "receipts": sent["receipts"]}


# --- steps 3–4: the answers -----------------------------------------------------------------


class Answers(Stage):
    kind = "jawaban"
    step_no = 4
    done_steps = (3, 4)
    roles = ("wilayah",)
    title = "Jawaban kuesioner"

    def request_for(self, party: Party) -> str:
        return "pengembalian Jawaban Kuesioner"

    def missing_text(self, party: Party) -> str:
        return "jawaban kuesioner dari Kab/Kota"

    def accept(
        self, session: Session, ctx: CycleContext, region: str, payload: dict, via: str, who: str
    ) -> str:
        from assessment.answers import AnswerValidationError, validate_and_store
        from assessment.instruments import load_instrument

        instrument = load_instrument(ctx.cycle.instrument_code)
        path = (payload.get("berkas") or "").strip()
        link = str(payload.get("tautan_berkas") or "").strip()
        if link and not path:  # the Prefect UI's form: the file behind a link
            name, content = fetch_linked_file(link, "Tautan berkas jawaban")
            with tempfile.TemporaryDirectory(prefix="pemantik-jawaban-") as folder:
                linked = Path(folder) / (Path(name).name or "jawaban.xlsx")
                linked.write_bytes(content)
                return self.accept(session, ctx, region, {"berkas": str(linked)}, via, who)
        common = {
            "cycle_id": ctx.id,
            "region_code": region,
            "source": via,
            "submitted_by": who,
        }
        try:
            if path:
                if not Path(path).is_file():
                    raise InputRefused([f"Berkas '{Path(path).name}' tidak ditemukan"])
                row = validate_and_store(session, instrument, path=Path(path), **common)
            else:
                data = payload.get("data")
                if data is None:
                    data = levels_from_form(payload.get("jawaban") or [], evidence=True)
                if not data:
                    return ""  # an empty form: nothing handed over
                row = validate_and_store(session, instrument, data=data, **common)
        except AnswerValidationError as exc:
            raise InputRefused(list(exc.errors)) from None
        return f"jawaban kuesioner diterima ({len(row.answers or {})} indikator)"

    def owes_many(self, session: Session, places: Iterable[Place]) -> dict[Place, list[Party]]:
        places = list(places)
        answered = places_having(session, places, AnswerSet)
        return {p: [] if p in answered else [Party("wilayah")] for p in places}

    def due(self, session: Session, ctx: CycleContext, region: str) -> date:
        letter = _notification_letter(session, ctx.id, region)
        return answers_due(ctx, letter.letter_date if letter else clock.today())


# --- step 5 ---------------------------------------------------------------------------------


def send_receipt(cycle_id: int, region_code: str) -> dict[str, Any]:
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
            **region_data(ctx, region),
            "addressee": addressee_of(region),
            "received_at": answers.submitted_at,
            "version": answers.version,
            "file_name": Path(answers.file_path).name if answers.file_path else "",
            "sha256": answers.sha256,
            "indicator_count": len(answers.answers or {}),
            # Who filled the workbook in (its Identitas sheet), else who sent it.
            "submitted_by": _filled_by(answers.identity) or answers.submitted_by,
            "signatory": signatory(),
        }
        letter = issue_and_mail(
            session,
            out,
            kind="tanda_terima",
            step_no=5,
            data=data,
            key=f"c{ctx.id}/{region.code}/tanda_terima/v{answers.version}",
            **letter_recipients(region),
            template=f"{TEMPLATES}/tanda_terima",
            cycle_id=ctx.id,
            region_code=region.code,
        )
        return {"letter_id": letter.id, "number": letter.number, "answer_version": answers.version}

    result, receipts = queue_then_deliver(build)
    return {**result, "receipts": receipts}


STAGES: tuple[Stage, ...] = (Answers(),)
