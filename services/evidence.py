"""Supporting-evidence files (bukti dukung) per indicator: checked, stored once, described.

A file is accepted only when its *content* is one of the allowed kinds (PDF, PNG, JPEG, GIF,
WebP, the Office and OpenDocument formats) and its name's extension belongs to that kind, so
an HTML page named ``bukti.pdf`` is refused. Limits per file and per region (all of a region's
files in a cycle) come from ``PEMANTIK_PORTAL__MAX_FILE_MB`` / ``MAX_REGION_MB``. Files are
stored under the documents folder by their sha256 (never by the name given), and are only ever
served as attachments.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from letters.formats import file_size
from models.audit import record_step
from models.lookups import open_waits
from models.settings import get_settings
from models.tables import AnswerSet, EvidenceFile
from services.stage import InputRefused

EVIDENCE_STEP = 3  # filling in the questionnaire (with its evidence)


@dataclass(frozen=True)
class Kind:
    name: str  # shown to people
    content_type: str
    extensions: tuple[str, ...]


KINDS: dict[str, Kind] = {
    "pdf": Kind("PDF", "application/pdf", (".pdf",)),
    "png": Kind("gambar PNG", "image/png", (".png",)),
    "jpeg": Kind("gambar JPEG", "image/jpeg", (".jpg", ".jpeg")),
    "gif": Kind("gambar GIF", "image/gif", (".gif",)),
    "webp": Kind("gambar WebP", "image/webp", (".webp",)),
    "ole": Kind("dokumen Office lama", "application/octet-stream", (".doc", ".xls", ".ppt")),
    "docx": Kind(
        "dokumen Word",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
    ),
    "xlsx": Kind(
        "lembar kerja Excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
    ),
    "pptx": Kind(
        "presentasi PowerPoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (".pptx",),
    ),
    "odf": Kind("dokumen OpenDocument", "application/octet-stream", (".odt", ".ods", ".odp")),
}
ALLOWED_TEXT = "PDF, gambar (PNG, JPEG, GIF, WebP), atau dokumen Office/OpenDocument"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sniff(data: bytes) -> str | None:
    """The kind of a file from its first bytes (and, for zip-based formats, its parts)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(OLE_MAGIC):
        return "ole"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if "mimetype" in names:
                    mime = archive.read("mimetype")[:100]
                    if mime.startswith(b"application/vnd.oasis.opendocument."):
                        return "odf"
                if "[Content_Types].xml" in names:
                    for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
                        if any(n.startswith(prefix) for n in names):
                            return kind
        except zipfile.BadZipFile:
            return None
    return None


def safe_name(name: str) -> str:
    """The name as shown and offered for download: no folders, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", base).strip().lstrip(".")
    return base[:150] or "berkas"


def region_total(session: Session, cycle_id: int, region_code: str) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(EvidenceFile.size), 0)).where(
            EvidenceFile.cycle_id == cycle_id,
            EvidenceFile.region_code == region_code,
            EvidenceFile.removed == False,  # noqa: E712
        )
    ).one()
    return int(total or 0)


def check_file(name: str, data: bytes) -> Kind:
    """The file's kind, or InputRefused naming what is wrong and what to send instead."""
    limit = get_settings().portal.max_file_mb * 1048576
    shown = safe_name(name)
    if not data:
        raise InputRefused([f"Berkas {shown} kosong. Pilih berkas yang berisi bukti dukung."])
    if len(data) > limit:
        raise InputRefused(
            [
                f"Berkas {shown} berukuran {file_size(len(data))}, melebihi batas {file_size(limit)} per "
                "berkas. Perkecil berkasnya (mis. simpan ulang PDF dengan kualitas lebih "
                "rendah) atau bagi menjadi beberapa berkas."
            ]
        )
    found = sniff(data)
    if found is None:
        raise InputRefused(
            [
                f"Isi berkas {shown} bukan {ALLOWED_TEXT}. Simpan bukti dalam salah satu "
                "format tersebut, lalu unggah kembali."
            ]
        )
    kind = KINDS[found]
    if Path(shown).suffix.lower() not in kind.extensions:
        raise InputRefused(
            [
                f"Berkas {shown} berisi {kind.name}, tetapi namanya berakhiran "
                f"'{Path(shown).suffix or '(tanpa akhiran)'}'. Beri nama dengan akhiran "
                f"{' atau '.join(kind.extensions)} sesuai isinya, lalu unggah kembali."
            ]
        )
    return kind


def storage_root() -> Path:
    return (get_settings().docs_dir / "bukti").resolve()


def safe_folder(region_code: str) -> str:
    """A region code as a folder name (letters, digits, dots and dashes; never ``..``)."""
    return re.sub(r"[^A-Za-z0-9.-]", "_", region_code).strip(".") or "wilayah"


def _storage_path(cycle_id: int, region_code: str, sha256: str, suffix: str) -> Path:
    folder = safe_folder(region_code)
    path = (storage_root() / str(int(cycle_id)) / folder / f"{sha256}{suffix}").resolve()
    if storage_root() not in path.parents:
        raise InputRefused(["Lokasi penyimpanan berkas tidak sah"])
    return path


def answers_closed(session: Session, cycle_id: int, region_code: str) -> bool:
    """True when the region's answers were accepted and nothing waits on them any more."""
    answered = session.exec(
        select(AnswerSet.id).where(
            AnswerSet.cycle_id == cycle_id, AnswerSet.region_code == region_code
        )
    ).first()
    return answered is not None and not open_waits(session, cycle_id, region_code, kind="jawaban")


def store_evidence(
    session: Session,
    *,
    cycle_id: int,
    region_code: str,
    indicator_code: str,
    indicator_codes: list[str],
    file_name: str,
    data: bytes,
    who: str,
    ip: str,
) -> EvidenceFile:
    """Check and store one evidence file for an indicator (in the caller's transaction)."""
    if indicator_code not in indicator_codes:
        raise InputRefused([f"Indikator '{indicator_code}' tidak ada dalam instrumen siklus ini"])
    if answers_closed(session, cycle_id, region_code):
        raise InputRefused(
            ["Jawaban kuesioner sudah diterima; bukti dukung tidak dapat ditambah lagi."]
        )
    kind = check_file(file_name, data)
    limit = get_settings().portal.max_region_mb * 1048576
    used = region_total(session, cycle_id, region_code)
    if used + len(data) > limit:
        raise InputRefused(
            [
                f"Seluruh bukti dukung wilayah ini akan menjadi {file_size(used + len(data))}, "
                f"melebihi batas {file_size(limit)}. Hapus berkas yang tidak diperlukan atau "
                "perkecil berkasnya."
            ]
        )
    digest = hashlib.sha256(data).hexdigest()
    shown = safe_name(file_name)
    path = _storage_path(cycle_id, region_code, digest, Path(shown).suffix.lower())
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    row = EvidenceFile(
        cycle_id=cycle_id,
        region_code=region_code,
        indicator_code=indicator_code,
        file_name=shown,
        content_type=kind.content_type,
        size=len(data),
        sha256=digest,
        storage_path=str(path),
        uploaded_by=who,
    )
    session.add(row)
    session.flush()
    _record(session, row, "bukti_diunggah", f"bukti dukung {indicator_code}: {shown}", who, ip)
    return row


def _record(
    session: Session, row: EvidenceFile, event: str, outcome: str, who: str, ip: str
) -> None:
    """The audit line of an upload or a removal: the person behind the link and their address."""
    record_step(
        session,
        cycle_id=row.cycle_id,
        region_code=row.region_code,
        step_no=EVIDENCE_STEP,
        event=event,
        outcome=outcome,
        who=who,
        detail={"ip": ip, "sha256": row.sha256, "ukuran": row.size, "melalui": "portal"},
    )


def sent_with_answers(session: Session, row: EvidenceFile) -> bool:
    """True when answers were sent after the file was uploaded (they name it as evidence)."""
    return (
        session.exec(
            select(AnswerSet.id).where(
                AnswerSet.cycle_id == row.cycle_id,
                AnswerSet.region_code == row.region_code,
                AnswerSet.submitted_at >= row.uploaded_at,
            )
        ).first()
        is not None
    )


def remove_evidence(
    session: Session, *, cycle_id: int, region_code: str, evidence_id: int, who: str, ip: str
) -> EvidenceFile:
    """Take one of the region's files out of its evidence (in the caller's transaction).

    The row stays, marked removed, and the stored bytes stay (another row may share them, and
    the audit trail names their sha256); it no longer counts towards the region's limit."""
    row = session.get(EvidenceFile, evidence_id)
    if row is None or row.cycle_id != cycle_id or row.region_code != region_code or row.removed:
        raise InputRefused(["Berkas bukti dukung itu tidak ada (mungkin sudah dihapus)."])
    if answers_closed(session, cycle_id, region_code):
        raise InputRefused(
            ["Jawaban kuesioner sudah diterima; bukti dukung tidak dapat dihapus lagi."]
        )
    if sent_with_answers(session, row):
        raise InputRefused(
            [
                f"Berkas {row.file_name} sudah terkirim bersama jawaban kuesioner; berkas yang "
                "sudah terkirim tidak dapat dihapus."
            ]
        )
    row.removed = True
    session.add(row)
    outcome = f"bukti dukung {row.indicator_code} dihapus: {row.file_name}"
    _record(session, row, "bukti_dihapus", outcome, who, ip)
    return row


def evidence_of(session: Session, cycle_id: int, region_code: str) -> dict[str, list[EvidenceFile]]:
    """The region's live evidence files, per indicator, oldest first."""
    result: dict[str, list[EvidenceFile]] = {}
    for row in session.exec(
        select(EvidenceFile)
        .where(
            EvidenceFile.cycle_id == cycle_id,
            EvidenceFile.region_code == region_code,
            EvidenceFile.removed == False,  # noqa: E712
        )
        .order_by(EvidenceFile.id)
    ):
        result.setdefault(row.indicator_code, []).append(row)
    return result


def evidence_text(typed: str, files: list[EvidenceFile]) -> str:
    """The evidence an answer carries: what the officer typed, then the uploaded files."""
    parts = [typed.strip()] if typed and typed.strip() else []
    parts += [f"berkas {f.file_name} (sha256 {f.sha256[:12]})" for f in files]
    return "; ".join(parts)
