"""Importing a region's answers (steps 4–5): a filled workbook or the same answers as JSON.

Both doors end in the same checks and the same error style, and :func:`validate_and_store` is
the one function every door (upload, email intake, Prefect form, CLI) should call: it validates
everything first and writes a new :class:`~models.tables.AnswerSet` version only when the whole
input is valid. Every error is in Indonesian and names the place (sheet and cell, or indicator).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from pydantic import BaseModel
from sqlalchemy import func, update
from sqlmodel import Session, select

from assessment.instruments import Indicator, Instrument
from assessment.settings import assessment_settings
from assessment.workbook import (
    COL_CODE,
    COL_CODE_LETTER,
    COL_EVIDENCE,
    COL_LEVEL,
    COL_NOTE,
    EVIDENCE_LETTER,
    FORMAT,
    IDENTITY_SHEET,
    LEVEL_LETTER,
    META_SHEET,
    WorkbookMeta,
    compute_checksum,
    read_identity,
)
from models.tables import AnswerSet, Cycle, Region

MAX_ZIP_ENTRIES = 500
_DIGITS = re.compile(r"^\s*\d+\s*$")


class AnswerValidationError(ValueError):
    """Answers refused; ``errors`` lists every problem, each naming its place."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(
            f"Jawaban kuesioner ditolak ({len(errors)} kesalahan):\n  " + "\n  ".join(errors)
        )


class Answer(BaseModel):
    level: int
    evidence: str = ""
    note: str = ""


class AnswersPayload(BaseModel):
    cycle_id: int
    region_code: str
    instrument_code: str
    instrument_version: str
    answers: dict[str, Answer]
    # Who filled the workbook in (its Identitas sheet): nama, jabatan, nip, telepon, tanggal.
    identity: dict[str, str] = {}

    def levels(self) -> dict[str, int]:
        return {code: a.level for code, a in self.answers.items()}


# --- one check for every door ----------------------------------------------------------------


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def check_level(value: Any, instrument: Instrument) -> tuple[int | None, str | None]:
    """(level, None) when ``value`` is a level on the scale, else (None, Indonesian reason)."""
    scale = instrument.scale_text
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, f"tingkat belum diisi (pilih {scale})"
    if isinstance(value, bool):
        return None, f"berisi '{value}', seharusnya angka tingkat {scale}"
    if isinstance(value, float):
        if not value.is_integer():
            shown = f"{value:g}".replace(".", ",")  # the Indonesian decimal comma
            return None, f"tingkat {shown} harus bilangan bulat {scale}, tanpa desimal"
        value = int(value)
    if isinstance(value, str):
        if not _DIGITS.match(value):
            shown = value.strip()[:40]
            return None, f"berisi teks '{shown}', seharusnya angka tingkat {scale}"
        value = int(value)
    if not isinstance(value, int):
        return None, f"berisi '{value}', seharusnya angka tingkat {scale}"
    if not instrument.on_scale(value):
        return None, f"tingkat {value} di luar skala {scale}"
    return value, None


def _check_one(
    instrument: Instrument,
    ind: Indicator,
    raw_level: Any,
    evidence: str,
    note: str,
    level_place: str,
    evidence_place: str,
    errors: list[str],
) -> Answer | None:
    level, problem = check_level(raw_level, instrument)
    if problem:
        errors.append(f"{level_place}: {problem}")
    if ind.evidence_required and not evidence:
        errors.append(f"{evidence_place}: bukti dukung wajib diisi")
    if level is None:
        return None
    return Answer(level=level, evidence=evidence, note=note)


# --- workbook door -----------------------------------------------------------------------


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _ole_problem(path: Path) -> str:
    """An OLE2 file under an .xlsx name: a password-protected workbook (Excel encrypts .xlsx
    into an OLE container) or an Excel 97-2003 workbook; "" for anything else."""
    with open(path, "rb") as fh:
        if fh.read(8) != _OLE_MAGIC:
            return ""
        fh.seek(0)
        try:
            import msoffcrypto

            encrypted = msoffcrypto.OfficeFile(fh).is_encrypted()
        except Exception:  # noqa: BLE001 - an OLE file msoffcrypto cannot read
            encrypted = False
    if encrypted:
        return (
            f"Berkas '{path.name}' dilindungi kata sandi sehingga tidak dapat dibaca; buka "
            "berkas di Excel, hapus kata sandinya (menu File > Info > Proteksi Buku Kerja > "
            "Enkripsi dengan Kata Sandi, kosongkan kata sandi), simpan, lalu kirim kembali"
        )
    return (
        f"Berkas '{path.name}' berformat Excel 97-2003 (.xls); buka di Excel, simpan sebagai "
        "Excel Workbook (.xlsx), lalu kirim kembali"
    )


def _check_file(path: Path) -> list[str]:
    """Size, zip and zip-bomb checks before openpyxl ever opens the file."""
    cfg = assessment_settings()
    name = path.name
    if not path.is_file():
        return [f"Berkas '{name}' tidak ditemukan"]
    size = path.stat().st_size
    if size > cfg.workbook_max_mb * 1024 * 1024:
        return [
            f"Berkas '{name}' berukuran {size / 1048576:.1f} MB, melebihi batas "
            f"{cfg.workbook_max_mb:g} MB"
        ]
    ole = _ole_problem(path)
    if ole:
        return [ole]
    if not zipfile.is_zipfile(path):
        return [f"Berkas '{name}' bukan berkas Excel (.xlsx) yang sah"]
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        return [f"Berkas '{name}' bukan berkas Excel (.xlsx) yang sah"]
    if len(infos) > MAX_ZIP_ENTRIES:
        return [f"Berkas '{name}' memuat {len(infos)} bagian, melebihi batas {MAX_ZIP_ENTRIES}"]
    # The declared sizes are binding: Python's zipfile never inflates a member beyond its
    # declared file_size, so checking them bounds what openpyxl can unpack.
    unpacked = sum(i.file_size for i in infos)
    if unpacked > cfg.workbook_max_uncompressed_mb * 1024 * 1024:
        return [
            f"Berkas '{name}' berukuran {unpacked / 1048576:.0f} MB setelah diurai, melebihi "
            f"batas {cfg.workbook_max_uncompressed_mb:g} MB (berkas ditolak demi keamanan)"
        ]
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        return [f"Berkas '{name}' bukan berkas Excel (.xlsx) yang sah"]
    return []


def _read_rows(ws: Any, max_rows: int, max_col: int) -> list[tuple[Any, ...]] | None:
    rows: list[tuple[Any, ...]] = []
    for row in ws.iter_rows(max_col=max_col, values_only=True):
        rows.append(row)
        if len(rows) > max_rows:
            return None
    return rows


def _read_meta(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {str(r[0]): r[1] for r in rows if r and r[0] is not None and len(r) > 1}


def _workbook_meta(meta: dict[str, Any], name: str) -> tuple[WorkbookMeta | None, list[str]]:
    """The metadata sheet's values, checked against their keyed checksum."""
    try:
        layout_raw = json.loads(meta.get("layout") or "{}")
        wm = WorkbookMeta(
            cycle_id=int(meta["cycle_id"]),
            cycle_year=int(meta["cycle_year"]),
            region_code=str(meta["region_code"]),
            region_name=str(meta.get("region_name") or ""),
            instrument_code=str(meta["instrument_code"]),
            instrument_version=str(meta["instrument_version"]),
            layout={k: (str(v[0]), int(v[1])) for k, v in layout_raw.items()},
            checksum=str(meta.get("checksum") or ""),
        )
    except (KeyError, ValueError, TypeError, IndexError):
        return None, [f"Lembar metadata '{META_SHEET}' pada berkas '{name}' rusak atau diubah"]
    expected = compute_checksum(wm, list(wm.layout), assessment_settings().workbook_secret)
    if meta.get("format") != FORMAT or not hmac.compare_digest(expected, wm.checksum):
        return None, [
            f"Metadata berkas '{name}' telah diubah (checksum tidak cocok); gunakan Lembar "
            "Kuesioner asli yang dikirim untuk wilayah dan siklus ini"
        ]
    return wm, []


def _meta_errors(
    meta: dict[str, Any],
    instrument: Instrument,
    cycle_id: int,
    region_code: str,
    name: str,
    cycle_year: int | None = None,
) -> tuple[WorkbookMeta | None, list[str]]:
    wm, errors = _workbook_meta(meta, name)
    if wm is None:
        return None, errors
    if wm.region_code != region_code:
        errors.append(
            f"Berkas '{name}' adalah Lembar Kuesioner untuk wilayah {wm.region_code} "
            f"({wm.region_name}), bukan untuk wilayah {region_code}"
        )
    if wm.cycle_id != cycle_id:
        if cycle_year is not None and wm.cycle_year != cycle_year:
            errors.append(
                f"Berkas '{name}' adalah Lembar Kuesioner PeManTIK tahun {wm.cycle_year}, bukan "
                f"tahun {cycle_year}; isi Lembar Kuesioner tahun {cycle_year} yang terlampir "
                "pada Surat Pemberitahuan tahun ini, lalu kirim kembali"
            )
        else:
            errors.append(
                f"Berkas '{name}' adalah Lembar Kuesioner PeManTIK tahun {wm.cycle_year} yang "
                "sudah tidak berlaku; isi Lembar Kuesioner yang terlampir pada Surat "
                "Pemberitahuan terbaru, lalu kirim kembali"
            )
    if (wm.instrument_code, wm.instrument_version) != (instrument.code, instrument.version):
        errors.append(
            f"Berkas '{name}' memakai instrumen {wm.instrument_code} versi "
            f"{wm.instrument_version}, sedangkan siklus ini memakai {instrument.code} versi "
            f"{instrument.version}"
        )
    if list(wm.layout) != instrument.indicator_codes:
        errors.append(f"Daftar indikator pada berkas '{name}' tidak sesuai dengan instrumen")
    return wm, errors


def workbook_identity(path: Path) -> WorkbookMeta | None:
    """The cycle and region a filled Lembar Kuesioner belongs to, from its own (checked)
    metadata; None for anything that is not an intact PeManTIK workbook."""
    path = Path(path)
    if _check_file(path):
        return None
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - not readable: the door will say why
        return None
    try:
        if META_SHEET not in wb.sheetnames:
            return None
        rows = _read_rows(wb[META_SHEET], 50, 2)
    finally:
        wb.close()
    if rows is None:
        return None
    wm, _ = _workbook_meta(_read_meta(rows), path.name)
    return wm


def parse_workbook(
    path: Path,
    instrument: Instrument,
    *,
    cycle_id: int,
    region_code: str,
    cycle_year: int | None = None,
) -> AnswersPayload:
    """Read and check a filled Lembar Kuesioner; raises :class:`AnswerValidationError`."""
    path = Path(path)
    name = path.name
    errors = _check_file(path)
    if errors:
        raise AnswerValidationError(errors)
    max_rows = assessment_settings().workbook_max_rows
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file
        raise AnswerValidationError(
            [f"Berkas '{name}' tidak dapat dibaca sebagai berkas Excel (.xlsx)"]
        ) from None
    try:
        if META_SHEET not in wb.sheetnames:
            raise AnswerValidationError(
                [f"Berkas '{name}' bukan Lembar Kuesioner PeManTIK (lembar metadata tidak ada)"]
            )
        meta_rows = _read_rows(wb[META_SHEET], 50, 2)
        if meta_rows is None:
            raise AnswerValidationError([f"Lembar metadata pada berkas '{name}' diubah"])
        wm, errors = _meta_errors(
            _read_meta(meta_rows), instrument, cycle_id, region_code, name, cycle_year
        )
        if errors or wm is None:
            raise AnswerValidationError(errors)
        identity: dict[str, str] = {}
        if IDENTITY_SHEET not in wb.sheetnames:
            errors.append(f"Lembar '{IDENTITY_SHEET}' tidak ada pada berkas '{name}'")
        else:
            from models import clock

            identity, errors = read_identity(
                _read_rows(wb[IDENTITY_SHEET], 20, 3) or [], clock.today()
            )
        sheets: dict[str, list[tuple[Any, ...]]] = {}
        for title in dict.fromkeys(sheet for sheet, _ in wm.layout.values()):
            if title not in wb.sheetnames:
                raise AnswerValidationError([f"Lembar '{title}' tidak ada pada berkas '{name}'"])
            rows = _read_rows(wb[title], max_rows, COL_NOTE)
            if rows is None:
                raise AnswerValidationError(
                    [f"Lembar '{title}' memuat lebih dari {max_rows} baris (batas)"]
                )
            sheets[title] = rows
    finally:
        wb.close()

    answers: dict[str, Answer] = {}
    cell_errors: list[tuple[str, int, str]] = []  # (sheet, row, message)
    moved: set[str] = set()  # sheets whose rows were inserted or removed (one message each)
    for ind in instrument.indicators:
        title, row = wm.layout[ind.code]
        if title in moved:
            continue
        rows = sheets[title]
        values = rows[row - 1] if row - 1 < len(rows) else ()
        values = tuple(values) + (None,) * (COL_NOTE - len(values))
        place = f"Lembar '{title}' sel"
        code = _as_text(values[COL_CODE - 1])
        if code != ind.code:
            moved.add(title)
            errors.append(_row_change(title, row, ind.code, code, rows, wm.layout))
            continue
        found: list[str] = []
        answer = _check_one(
            instrument,
            ind,
            values[COL_LEVEL - 1],
            _as_text(values[COL_EVIDENCE - 1]),
            _as_text(values[COL_NOTE - 1]),
            f"{place} {LEVEL_LETTER}{row} ({ind.code})",
            f"{place} {EVIDENCE_LETTER}{row} ({ind.code})",
            found,
        )
        cell_errors.extend((title, row, message) for message in found)
        if answer is not None:
            answers[ind.code] = answer
    if cell_errors:
        merged = _merged_answer_cells(path, {t for t, _, _ in cell_errors})
        reported: set[str] = set()
        for title, row, message in cell_errors:
            span = merged.get((title, row))
            if span is None:
                errors.append(message)
            elif span not in reported:
                reported.add(span)
                errors.append(
                    f"Lembar '{title}' sel {span} digabung (merge), sehingga hanya sel pertamanya "
                    "yang terbaca; pisahkan kembali sel tersebut (Unmerge Cells), isi setiap sel, "
                    "lalu kirim kembali"
                )
    if errors:
        raise AnswerValidationError(errors)
    return AnswersPayload(
        cycle_id=cycle_id,
        region_code=region_code,
        instrument_code=instrument.code,
        instrument_version=instrument.version,
        answers=answers,
        identity=identity,
    )


def _row_change(
    title: str,
    row: int,
    expected: str,
    written: str,
    rows: list[tuple[Any, ...]],
    layout: dict[str, tuple[str, int]],
) -> str:
    """One message for a sheet whose rows no longer sit where the questionnaire put them."""
    codes = {_as_text(r[COL_CODE - 1]): n for n, r in enumerate(rows, start=1) if r}
    now = codes.get(expected)
    if now is not None and now > row:
        count = now - row
        return (
            f"Lembar '{title}': {count} baris disisipkan pada baris {row} (kode {expected} "
            f"seharusnya di baris {row}, kini di baris {now}); hapus baris yang disisipkan, "
            "lalu kirim kembali. Jangan menyisipkan atau menghapus baris pada Lembar Kuesioner"
        )
    later = layout.get(written)
    if (now is not None and now < row) or (later is not None and later[1] > row):
        gone = [
            f"{code} (baris {r})"
            for code, (sheet, r) in layout.items()
            if sheet == title and code not in codes
        ]
        what = f"baris indikator {', '.join(gone)}" if gone else "baris"
        return (
            f"Lembar '{title}': {what} dihapus; isi kembali Lembar Kuesioner asli tanpa "
            "menghapus baris, lalu kirim kembali"
        )
    return (
        f"Lembar '{title}' sel {COL_CODE_LETTER}{row}: seharusnya kode {expected}, tertulis "
        f"'{written}'; jangan mengubah kolom Kode, lalu kirim kembali"
    )


def _merged_answer_cells(path: Path, titles: set[str]) -> dict[tuple[str, int], str]:
    """(sheet, row) → the merged range ("D12:D14") covering that row's answer cells.

    Read only when a sheet has errors: merged cells read as empty in all but their first
    cell, which would otherwise be reported as "not filled" although the person filled them.
    """
    try:
        wb = load_workbook(path, data_only=True)
    except Exception:  # noqa: BLE001 - already read once; nothing more to say
        return {}
    out: dict[tuple[str, int], str] = {}
    try:
        for title in titles:
            if title not in wb.sheetnames:
                continue
            for rng in wb[title].merged_cells.ranges:
                if rng.max_col < COL_LEVEL or rng.min_col > COL_NOTE:
                    continue
                for r in range(rng.min_row, rng.max_row + 1):
                    out[(title, r)] = rng.coord
    finally:
        wb.close()
    return out


# --- JSON door ---------------------------------------------------------------------------


def parse_answers_json(
    data: dict[str, Any], instrument: Instrument, *, cycle_id: int, region_code: str
) -> AnswersPayload:
    """Check answers given as ``{indicator_code: {"level": int, "evidence": str, "note": str}}``."""
    if not isinstance(data, dict):
        raise AnswerValidationError(["Jawaban harus berupa objek {kode_indikator: {...}}"])
    errors: list[str] = []
    known = set(instrument.indicator_codes)
    for code in data:
        if code not in known:
            errors.append(f"Indikator '{code}': tidak ada dalam instrumen {instrument.code}")
    answers: dict[str, Answer] = {}
    for ind in instrument.indicators:
        item = data.get(ind.code)
        place = f"Indikator {ind.code}"
        if item is None:
            errors.append(
                f"{place} kolom level: tingkat belum diisi (pilih {instrument.scale_text})"
            )
            continue
        if not isinstance(item, dict):
            errors.append(f"{place}: harus berupa objek dengan kolom level dan evidence")
            continue
        answer = _check_one(
            instrument,
            ind,
            item.get("level"),
            _as_text(item.get("evidence")),
            _as_text(item.get("note")),
            f"{place} kolom level",
            f"{place} kolom evidence",
            errors,
        )
        if answer is not None:
            answers[ind.code] = answer
    if errors:
        raise AnswerValidationError(errors)
    return AnswersPayload(
        cycle_id=cycle_id,
        region_code=region_code,
        instrument_code=instrument.code,
        instrument_version=instrument.version,
        answers=answers,
    )


# --- storing ------------------------------------------------------------------------------


def store_answers(
    session: Session,
    payload: AnswersPayload,
    *,
    cycle_id: int,
    region_code: str,
    source: str,
    submitted_by: str,
    file_path: str = "",
    sha256: str = "",
) -> AnswerSet:
    """Add the payload as the next version (earlier versions are kept untouched)."""
    if (payload.cycle_id, payload.region_code) != (cycle_id, region_code):
        raise AnswerValidationError(
            [
                f"Jawaban untuk wilayah {payload.region_code} siklus {payload.cycle_id} tidak "
                f"dapat disimpan sebagai jawaban wilayah {region_code} siklus {cycle_id}"
            ]
        )
    # A no-op write on the region's row takes its write lock first (a row lock on PostgreSQL,
    # the database write lock on SQLite), so two imports at once get versions n+1 and n+2
    # instead of both reading the same maximum and one failing on the unique constraint.
    session.execute(update(Region).where(Region.code == region_code).values(active=Region.active))
    current = session.exec(
        select(func.max(AnswerSet.version)).where(
            AnswerSet.cycle_id == cycle_id, AnswerSet.region_code == region_code
        )
    ).one()
    row = AnswerSet(
        cycle_id=cycle_id,
        region_code=region_code,
        version=(current or 0) + 1,
        instrument_code=payload.instrument_code,
        instrument_version=payload.instrument_version,
        source=source,
        file_path=file_path,
        sha256=sha256,
        answers={code: a.model_dump() for code, a in payload.answers.items()},
        submitted_by=submitted_by,
        identity=payload.identity or None,
    )
    session.add(row)
    session.flush()
    return row


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def validate_and_store(
    session: Session,
    instrument: Instrument,
    *,
    cycle_id: int,
    region_code: str,
    source: str,
    submitted_by: str,
    path: Path | None = None,
    data: dict[str, Any] | None = None,
) -> AnswerSet:
    """The one door-independent entry: check a workbook (``path``) or JSON (``data``) and store it.

    Raises :class:`AnswerValidationError` and writes nothing when anything is wrong.
    """
    if (path is None) == (data is None):
        raise ValueError("berikan tepat satu dari path atau data")
    if path is not None:
        cycle = session.get(Cycle, cycle_id)
        payload = parse_workbook(
            path,
            instrument,
            cycle_id=cycle_id,
            region_code=region_code,
            cycle_year=cycle.year if cycle is not None else None,
        )
        return store_answers(
            session,
            payload,
            cycle_id=cycle_id,
            region_code=region_code,
            source=source,
            submitted_by=submitted_by,
            file_path=str(path),
            sha256=file_sha256(Path(path)),
        )
    payload = parse_answers_json(data or {}, instrument, cycle_id=cycle_id, region_code=region_code)
    return store_answers(
        session,
        payload,
        cycle_id=cycle_id,
        region_code=region_code,
        source=source,
        submitted_by=submitted_by,
    )


def latest_answers(session: Session, cycle_id: int, region_code: str) -> AnswerSet | None:
    return session.exec(
        select(AnswerSet)
        .where(AnswerSet.cycle_id == cycle_id, AnswerSet.region_code == region_code)
        .order_by(AnswerSet.version.desc())
    ).first()
