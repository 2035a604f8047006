"""The letters service the flows call: issue numbered letters, store unnumbered documents,
regenerate a letter from its snapshot, add PDFs in batches.

Order inside :func:`issue_letter` (all in the caller's transaction):
1. an existing letter with the idempotency key is returned as it is;
2. the input is validated and the wording rendered (any error here: nothing taken, nothing written);
3. a number is taken from the register (row locked until the caller commits);
4. the file is packed and written, the Letter row inserted and flushed;
   on any error the file is removed, and the caller's rollback returns the number.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, select

from letters.errors import LetterError
from letters.inputs import INPUT_MODELS, KIND_TITLES, NUMBERED_KINDS
from letters.pdf import convert_shared, pdf_available, warn_no_pdf
from letters.register import give_back, register_of, take_number
from letters.render import RenderResult, prepare, render_document, sha256_bytes, write_atomic
from models.settings import Organisation, get_settings
from models.tables import Document, Letter

log = logging.getLogger(__name__)

__all__ = [
    "RenderResult",
    "issue_letter",
    "letter_by_number",
    "make_pdfs",
    "outgoing_file",
    "regenerate",
    "render_document",
    "store_document",
]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "dokumen"


def _by_key(session: Session, key: str) -> Letter | None:
    return session.exec(select(Letter).where(Letter.idempotency_key == key)).first()


def letter_by_number(session: Session, number: str) -> Letter:
    letter = session.exec(select(Letter).where(Letter.number == number)).first()
    if letter is None:
        raise LetterError(f"surat dengan nomor '{number}' tidak ditemukan")
    return letter


def issue_letter(
    session: Session,
    kind: str,
    data: BaseModel | dict[str, Any],
    *,
    idempotency_key: str,
    cycle_id: int | None = None,
    region_code: str | None = None,
    assessor_id: int | None = None,
    letter_date: date | None = None,
    pdf: bool | None = None,
) -> Letter:
    """Number, render and store one letter (see the module docstring for the order).

    ``pdf``: None = make a PDF when LibreOffice is installed (warn otherwise); False = not now
    (call :func:`make_pdfs` later for a batch); True = required (error without LibreOffice).
    Raises :class:`LetterError` (Indonesian message) on bad input or a bad template.
    """
    if not idempotency_key:
        raise LetterError("idempotency_key wajib diisi", kind=kind)
    existing = _by_key(session, idempotency_key)
    if existing is not None:
        return existing
    if kind not in INPUT_MODELS:
        raise LetterError(
            f"jenis dokumen tidak dikenal '{kind}'; pilihan: {', '.join(INPUT_MODELS)}", kind=kind
        )
    if kind not in NUMBERED_KINDS:
        title = KIND_TITLES.get(kind, kind)
        raise LetterError(
            f"{title} ({kind}) bukan surat bernomor; gunakan store_document/render_document",
            kind=kind,
        )
    settings = get_settings()
    prepared = prepare(kind, data, letter_date=letter_date, settings=settings)
    entry = register_of(kind)
    klasifikasi = getattr(prepared.model, "klasifikasi", "") or entry.klasifikasi
    if pdf is True and not pdf_available():
        raise LetterError("PDF diminta tetapi LibreOffice (soffice) tidak terpasang", kind=kind)

    taken = take_number(
        session,
        on=prepared.letter_date,
        klasifikasi=klasifikasi,
        register=entry.family,
        number_format=entry.number_format,
    )
    # Another writer with the same key may have committed while we waited for the register row.
    again = _by_key(session, idempotency_key)
    if again is not None:
        give_back(session, taken)
        return again
    if taken.on != prepared.letter_date:
        # The register already carries a later date: this number is dated that day, so a
        # later number never shows an earlier date (the row is ours until commit).
        prepared = prepare(kind, data, letter_date=taken.on, settings=settings)

    payload = prepared.build(taken.number)
    folder = settings.docs_dir / str(prepared.letter_date.year) / kind
    path = (folder / f"{_safe(taken.number)}.docx").resolve()
    written: list[Path] = []
    try:
        write_atomic(path, payload)
        written.append(path)
        pdf_path, pdf_sha = "", ""
        if pdf is not False:
            if pdf_available():
                converted = convert_shared([path])[path]
                written.append(converted)
                pdf_path, pdf_sha = str(converted), _file_sha(converted)
            else:
                warn_no_pdf(path)
        letter = Letter(
            number=taken.number,
            seq=taken.seq,
            family=taken.register,
            unit=taken.unit,
            klasifikasi=taken.klasifikasi,
            year=taken.year,
            kind=kind,
            cycle_id=cycle_id,
            region_code=region_code,
            assessor_id=assessor_id,
            addressee=prepared.addressee,
            subject=prepared.subject,
            letter_date=prepared.letter_date,
            file_path=str(path),
            sha256=sha256_bytes(payload),
            pdf_path=pdf_path,
            pdf_sha256=pdf_sha,
            template_version=prepared.template_version,
            snapshot=prepared.snapshot(),
            idempotency_key=idempotency_key,
        )
        session.add(letter)
        session.flush()
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return letter


def _file_sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_pdfs(session: Session, letters: Sequence[Letter | Document]) -> int:
    """Add PDFs to letters and documents that have none, in one LibreOffice call; returns how
    many were made."""
    todo = [letter for letter in letters if not letter.pdf_path and letter.file_path]
    if not todo:
        return 0
    if not pdf_available():
        for letter in todo:
            warn_no_pdf(letter.file_path)
        return 0
    converted = convert_shared([Path(letter.file_path) for letter in todo])
    for letter in todo:
        pdf_path = converted[Path(letter.file_path).resolve()]
        letter.pdf_path = str(pdf_path)
        letter.pdf_sha256 = _file_sha(pdf_path)
        session.add(letter)
    session.flush()
    return len(todo)


def outgoing_file(letter: Letter) -> Path:
    """The file that leaves for a letter: the signed PDF when one was uploaded at sign-off,
    else the PDF; a .docx only in the demo (marked CONTOH). Raises LetterError otherwise."""
    from letters.readiness import pdf_required

    if letter.signed_pdf_path:
        return Path(letter.signed_pdf_path)
    if letter.pdf_path:
        return Path(letter.pdf_path)
    if pdf_required(get_settings()):
        raise LetterError(
            f"surat {letter.number} belum memiliki PDF (LibreOffice belum terpasang); surat "
            "tidak dikirim sebagai berkas .docx",
            kind=letter.kind,
        )
    return Path(letter.file_path)


def rebuild_bytes(letter: Letter) -> bytes:
    """The .docx bytes of a letter, rebuilt from its stored snapshot."""
    snapshot = dict(letter.snapshot or {})
    meta = snapshot.pop("_render", None)
    if not meta:
        raise LetterError(f"surat {letter.number} tidak memiliki snapshot untuk dibuat ulang")
    prepared = prepare(
        letter.kind,
        snapshot,
        letter_date=date.fromisoformat(meta["letter_date"]),
        sources=meta["templates"],
        organisation=Organisation.model_validate(meta["organisation"]),
        reply_to=meta.get("reply_to"),
        example=bool(meta.get("contoh", False)),
    )
    return prepared.build(letter.number)


def regenerate(session: Session, number: str, out_path: Path | None = None) -> Path:
    """Rebuild a letter from its snapshot (same wording, same kop) and write it.

    Without ``out_path`` the stored file is rewritten. The bytes are reproducible: a warning is
    logged when the sha256 differs from the recorded one (e.g. another python-docx version).
    """
    letter = letter_by_number(session, number)
    payload = rebuild_bytes(letter)
    target = Path(out_path) if out_path is not None else Path(letter.file_path)
    write_atomic(target, payload)
    if sha256_bytes(payload) != letter.sha256:
        log.warning("surat %s: sha256 hasil buat ulang berbeda dari yang tercatat", number)
    return target


def store_document(
    session: Session,
    kind: str,
    data: BaseModel | dict[str, Any],
    *,
    cycle_id: int | None,
    region_code: str | None,
    letter_date: date | None = None,
    pdf: bool | None = None,
) -> Document:
    """Render an unnumbered document (formulir, laporan) under docs_dir and record it once,
    with its PDF beside the .docx (``pdf`` as in :func:`issue_letter`; the PDF of a stored
    document that has none yet is made on the next call)."""
    settings = get_settings()
    prepared = prepare(kind, data, letter_date=letter_date, settings=settings)
    payload = prepared.build(None)
    digest = sha256_bytes(payload)
    year = getattr(prepared.model, "year", prepared.letter_date.year)
    name = f"{kind}-{_safe(region_code or 'semua')}-{cycle_id or 0}-{digest[:10]}.docx"
    path = (settings.docs_dir / str(year) / kind / name).resolve()
    existing = session.exec(
        select(Document).where(
            Document.sha256 == digest,
            Document.kind == kind,
            Document.cycle_id == cycle_id,
            Document.region_code == region_code,
        )
    ).first()
    if existing is not None and Path(existing.file_path).is_file():
        if pdf is not False and not existing.pdf_path:
            make_pdfs(session, [existing])
        return existing
    if pdf is True and not pdf_available():
        raise LetterError("PDF diminta tetapi LibreOffice (soffice) tidak terpasang", kind=kind)
    write_atomic(path, payload)
    try:
        doc = Document(
            kind=kind,
            cycle_id=cycle_id,
            region_code=region_code,
            file_path=str(path),
            sha256=digest,
        )
        session.add(doc)
        session.flush()
        if pdf is not False:
            make_pdfs(session, [doc])
    except BaseException:
        path.unlink(missing_ok=True)
        path.with_suffix(".pdf").unlink(missing_ok=True)
        raise
    return doc
