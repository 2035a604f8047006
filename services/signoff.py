"""Sign-off: with ``PEMANTIK_SIGNOFF=true`` a letter is not mailed until the admin approves it,
or uploads the PDF signed with an electronic certificate (then that PDF is what is sent).

The letter's emails are queued as usual and *held* (``DispatchState.HELD``: the outbox never
sends them); a wait of the ``pengesahan`` stage opens for the region, like every other wait
(reminders, the status grid and the doors ask the stage). Doors: the Prefect UI form
``sahkan-surat``, the CLI ``pemantik surat sahkan NOMOR [--pdf BERKAS]``, and
:func:`sign_off` from Python; each hands its input to ``services.waits`` (all or nothing).

Usage::

    sign_off("005/12/Diskominfo/2026", via="cli", who="admin")              # approve
    sign_off("005/12/Diskominfo/2026", signed_pdf=Path("ttd.pdf"), via="cli", who="admin")
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from letters.inputs import KIND_TITLES
from mail.message import content_type_for
from models import clock
from models.tables import Dispatch, DispatchState, Letter
from services.context import CycleContext
from services.stage import InputRefused, NotWaiting, Party, Place, Stage, group_by_cycle

KIND = "pengesahan"
# What an electronic signature leaves inside a PDF (ISO 32000 signature dictionary).
_SIGNATURE_MARKS = (b"/ByteRange", b"/Contents")
_SIGNATURE_FILTERS = (b"/adbe.pkcs7.detached", b"/ETSI.CAdES.detached", b"/adbe.pkcs7.sha1")


def _held(session: Session, places: Iterable[Place]) -> dict[Place, list[Letter]]:
    """The letters whose emails are held, per (cycle, region), oldest first."""
    result: dict[Place, list[Letter]] = {p: [] for p in places}
    for cycle_id, regions in group_by_cycle(result).items():
        held = select(Dispatch.letter_id).where(Dispatch.state == DispatchState.HELD.value)
        rows = session.exec(
            select(Letter)
            .where(
                Letter.id.in_(held),
                Letter.cycle_id == cycle_id,
                Letter.region_code.in_(regions),
            )
            .order_by(Letter.id)
        ).all()
        for letter in rows:
            result[(cycle_id, letter.region_code)].append(letter)
    return result


def _label(letter: Letter) -> str:
    return f"{KIND_TITLES.get(letter.kind, letter.kind)} Nomor {letter.number}"


def signature_problem(data: bytes) -> str:
    """Why ``data`` is not a PDF signed with an electronic certificate ("" when it is).

    The signature dictionary is checked for; the certificate chain is verified by whoever
    opens the file (a PDF reader, or the BSrE verification service)."""
    if not data.startswith(b"%PDF-"):
        return "berkas bukan PDF"
    if not all(mark in data for mark in _SIGNATURE_MARKS) or not any(
        f in data for f in _SIGNATURE_FILTERS
    ):
        return (
            "PDF belum ditandatangani secara elektronik (tidak ada tanda tangan digital di "
            "dalamnya); tanda tangani dengan sertifikat elektronik lalu unggah kembali"
        )
    return ""


class SignOff(Stage):
    kind = KIND
    step_no = 1  # a letter's own step is recorded (see step_of)
    roles = ("admin",)
    title = "Pengesahan surat"

    def request_for(self, party: Party) -> str:
        return "pengesahan surat sebelum dikirim"

    def missing_text(self, party: Party) -> str:
        return (
            f"pengesahan {party.name or 'surat'} oleh admin (setujui, atau unggah PDF yang "
            "ditandatangani secara elektronik)"
        )

    def owes_many(self, session: Session, places: Iterable[Place]) -> dict[Place, list[Party]]:
        return {
            place: [Party("admin", name=_label(letter)) for letter in letters]
            for place, letters in _held(session, places).items()
        }

    def due(self, session: Session, ctx: CycleContext, region: str) -> date:
        """The day of the oldest held letter (a letter is signed the day it is made)."""
        held = _held(session, [(ctx.id, region)])[(ctx.id, region)]
        if held:
            return held[0].letter_date
        last = session.exec(
            select(Letter.letter_date)
            .where(Letter.cycle_id == ctx.id, Letter.region_code == region)
            .order_by(Letter.letter_date.desc())
        ).first()
        return last or ctx.params.start_date

    def step_of(self, session: Session, ctx: CycleContext, region: str, payload: dict) -> int:
        """The SOP step of the letter being signed off (its email names it)."""
        letter = _letter(session, str(payload.get("nomor") or "").strip())
        if letter is None:
            return self.step_no
        step = session.exec(select(Dispatch.step_no).where(Dispatch.letter_id == letter.id)).first()
        return step or self.step_no

    def accept(
        self, session: Session, ctx: CycleContext, region: str, payload: dict, via: str, who: str
    ) -> str:
        number = str(payload.get("nomor") or "").strip()
        pdf_text = str(payload.get("berkas_pdf") or "").strip()
        if not number:
            raise InputRefused(["isi nomor surat yang disahkan"])
        letter = _letter(session, number)
        if letter is None or letter.cycle_id != ctx.id or letter.region_code != region:
            raise InputRefused(
                [f"surat nomor {number} tidak menunggu pengesahan untuk wilayah ini"]
            )
        rows = session.exec(
            select(Dispatch).where(
                Dispatch.letter_id == letter.id, Dispatch.state == DispatchState.HELD.value
            )
        ).all()
        if not rows:
            raise InputRefused([f"surat nomor {number} sudah disahkan atau tidak menunggu"])
        signed: dict[str, Any] | None = None
        if pdf_text:
            source = Path(pdf_text).expanduser()
            if not source.is_file():
                raise InputRefused([f"berkas PDF {pdf_text} tidak ditemukan"])
            data = source.read_bytes()
            problem = signature_problem(data)
            if problem:
                raise InputRefused([f"berkas {source.name}: {problem}"])
            base = Path(letter.pdf_path or letter.file_path)
            target = base.with_name(f"{base.stem}-ditandatangani.pdf")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            digest = hashlib.sha256(data).hexdigest()
            letter.signed_pdf_path, letter.signed_pdf_sha256 = str(target), digest
            signed = {
                "path": str(target.resolve()),
                "filename": target.name,
                "sha256": digest,
                "size": len(data),
                "content_type": content_type_for(target),
            }
        letter.approved_at, letter.approved_by = clock.now(), who
        session.add(letter)
        sent_file = {str(Path(p).resolve()) for p in (letter.pdf_path, letter.file_path) if p}
        for row in rows:
            if signed is not None:
                # The letter's own file is replaced by the signed PDF; other attachments stay.
                row.attachments = [
                    signed if a.get("path") in sent_file else a for a in (row.attachments or [])
                ]
            row.state = DispatchState.QUEUED.value
            row.next_attempt_at = None
            session.add(row)
        session.flush()
        how = (
            f"dengan PDF bertanda tangan elektronik (SHA-256 {signed['sha256']})"
            if signed
            else "dengan PDF yang dibuat sistem"
        )
        return f"{_label(letter)} disahkan; dikirim {how}"


def _letter(session: Session, number: str) -> Letter | None:
    if not number:
        return None
    return session.exec(select(Letter).where(Letter.number == number)).first()


STAGES: tuple[Stage, ...] = (SignOff(),)


def hold_for_signoff(session: Session, dispatch_ids: Iterable[int]) -> list[Place]:
    """Hold the queued emails of letters not approved yet (caller's transaction); returns the
    places with held letters, whose sign-off wait is opened once the transaction is committed
    (rows held by an earlier run of the step count too: a crash in between reopens it)."""
    places: list[Place] = []
    for row_id in dispatch_ids:
        row = session.get(Dispatch, row_id)
        if row is None or row.letter_id is None or row.cycle_id is None or not row.region_code:
            continue  # only a region's letters are held: their wait belongs to the region
        letter = session.get(Letter, row.letter_id)
        if letter is None or letter.approved_at is not None:
            continue
        if row.state not in (DispatchState.QUEUED.value, DispatchState.HELD.value):
            continue  # already on its way or sent
        row.state = DispatchState.HELD.value
        session.add(row)
        place = (row.cycle_id, row.region_code)
        if place not in places:
            places.append(place)
    session.flush()
    return places


def open_signoff_waits(places: Iterable[Place]) -> None:
    """Open the sign-off wait of each place (one open wait per region lists every held
    letter); idempotent, and without a run to resume (the letters are released by the door)."""
    from services.waits import open_wait

    for cycle_id, region in places:
        open_wait(
            kind=KIND,
            cycle_id=cycle_id,
            region=region,
            flow_run_id="",
            key=f"{KIND}-{cycle_id}-{region}",
        )


def sign_off(number: str, *, signed_pdf: Path | None = None, via: str, who: str) -> dict[str, Any]:
    """The door for the CLI, the UI form and Python: approve a held letter (or send the signed
    PDF instead), then send it. Raises NotWaiting / InputRefused (nothing stored)."""
    from mail.outbox import deliver_pending_sync
    from models.db import session_scope
    from services import waits

    with session_scope() as session:
        letter = _letter(session, number.strip())
        if letter is None or not letter.region_code or letter.cycle_id is None:
            raise NotWaiting(f"surat nomor {number} tidak menunggu pengesahan")
        cycle_id, region = letter.cycle_id, letter.region_code
        letter_id = letter.id
    outcome = waits.submit(
        KIND,
        cycle_id=cycle_id,
        region=region,
        payload={"nomor": number.strip(), "berkas_pdf": str(signed_pdf or "")},
        via=via,
        who=who,
    )
    if outcome.complete:
        waits.close_waits(KIND, cycle_id, region)
    with session_scope() as session:
        keys = list(
            session.exec(select(Dispatch.idempotency_key).where(Dispatch.letter_id == letter_id))
        )
    deliver_pending_sync(keys=keys)
    from services.outgoing import receipts

    return {"summary": outcome.summary, "missing": outcome.missing, "receipts": receipts(keys)}
