"""The Lembar Kuesioner: the questionnaire workbook a region fills (steps 1 and 3).

Layout: a "Petunjuk" sheet (instructions, the level scale), an "Identitas" sheet (who filled it
in: name, jabatan, NIP, phone, date — read back and checked on import), one sheet per domain
(the instrument's ``dimension_label``) with one row per indicator, and a very hidden metadata
sheet. A domain sheet keeps the code, indicator, question and the level (input) column frozen
on the left, so the input stays in view while the level criteria are read to its right; it
prints landscape on A4, fitted to the page width, the header row repeated, one domain per
sheet (so each domain starts its own run of pages). Only the answer cells (level, evidence, note)
are unlocked; the sheets are protected so the structure stays where the import expects it. The
metadata carries the cycle, region, instrument version, where each indicator sits, and a keyed
sha256 checksum over all of that, so an edited or swapped workbook is recognised on import.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation

from assessment.instruments import Instrument
from assessment.settings import assessment_settings
from letters.formats import decimal_comma

FORMAT = "pemantik-kuesioner/1"
META_SHEET = "_pemantik_meta"
INSTRUCTIONS_SHEET = "Petunjuk"
IDENTITY_SHEET = "Identitas"
# (key, label, row, hint): the identity cells sit in column B of the Identitas sheet.
IDENTITY_FIELDS: tuple[tuple[str, str, int, str], ...] = (
    ("nama", "Nama pengisi", 4, "nama lengkap dengan gelar"),
    ("jabatan", "Jabatan", 5, "jabatan pada perangkat daerah"),
    ("nip", "NIP", 6, "18 digit; kosongkan bila bukan ASN"),
    ("telepon", "Nomor telepon/HP", 7, "nomor yang dapat dihubungi, mis. 0812-3456-7890"),
    ("tanggal", "Tanggal pengisian", 8, "tanggal, mis. 10-07-2026"),
)
IDENTITY_VALUE_COL = 2
HEADER_ROW = 4
COL_CODE, COL_NAME, COL_QUESTION, COL_LEVEL, COL_EVIDENCE, COL_NOTE, COL_REQUIRED = range(1, 8)
FIRST_LEVEL_COL = 8
COL_CODE_LETTER = get_column_letter(COL_CODE)
LEVEL_LETTER = get_column_letter(COL_LEVEL)
EVIDENCE_LETTER = get_column_letter(COL_EVIDENCE)
NOTE_LETTER = get_column_letter(COL_NOTE)

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="1F4E78")
_HEAD_FONT = Font(bold=True, color="FFFFFF")
_ASPECT_FILL = PatternFill("solid", fgColor="DDEBF7")
_ANSWER_FILL = PatternFill("solid", fgColor="FFF2CC")
_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_UNLOCKED = Protection(locked=False)


@dataclass(frozen=True)
class WorkbookMeta:
    cycle_id: int
    cycle_year: int
    region_code: str
    region_name: str
    instrument_code: str
    instrument_version: str
    layout: dict[str, tuple[str, int]]  # indicator code → (sheet title, row)
    checksum: str = ""


def compute_checksum(meta: WorkbookMeta, indicator_codes: list[str], secret: str) -> str:
    """Keyed sha256 (HMAC) over the identity fields, the indicator list and the layout."""
    body = json.dumps(
        {
            "format": FORMAT,
            "cycle_id": meta.cycle_id,
            "cycle_year": meta.cycle_year,
            "region_code": meta.region_code,
            "instrument_code": meta.instrument_code,
            "instrument_version": meta.instrument_version,
            "indicators": indicator_codes,
            "layout": {k: list(v) for k, v in meta.layout.items()},
        },
        sort_keys=True,
        ensure_ascii=True,
    )
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def _sheet_title(name: str, taken: set[str], fallback: str) -> str:
    base = re.sub(r"[\[\]:*?/\\']", " ", name).strip()[:31] or fallback
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _instructions(wb: Workbook, inst: Instrument, year: int, region_name: str) -> None:
    ws = wb.active
    ws.title = INSTRUCTIONS_SHEET
    lines = [
        (f"LEMBAR KUESIONER PeManTIK TAHUN {year}", _TITLE),
        (f"{region_name}", _BOLD),
        (f"Instrumen: {inst.name} ({inst.version})", None),
        ("", None),
        ("Petunjuk pengisian:", _BOLD),
        (
            f"1. Isi lembar '{IDENTITY_SHEET}' (nama, jabatan, NIP, nomor telepon dan tanggal "
            "pengisian).",
            None,
        ),
        (
            f"2. Isi setiap lembar {inst.dimension_label.lower()} (satu lembar untuk setiap "
            f"{inst.dimension_label.lower()}). Setiap baris adalah satu "
            f"{inst.indicator_label.lower()}.",
            None,
        ),
        (
            f"3. Pilih tingkat pada kolom '{LEVEL_LETTER}' (Tingkat) dari daftar pilihan "
            f"{inst.scale_text} sesuai kondisi instansi Saudara saat ini.",
            None,
        ),
        (
            f"4. Isi kolom '{EVIDENCE_LETTER}' (Bukti Dukung) dengan tautan dokumen atau uraian "
            "bukti. Bukti dukung wajib diisi bila kolom 'Bukti Wajib' bertanda 'Ya'.",
            None,
        ),
        (f"5. Kolom '{NOTE_LETTER}' (Catatan) boleh diisi dengan keterangan tambahan.", None),
        (
            "6. Jangan mengubah, menyisipkan, atau menghapus baris, kolom, maupun lembar. "
            "Lembar kerja ini dikunci kecuali sel jawaban.",
            None,
        ),
        (
            "7. Kirimkan kembali berkas ini dalam format .xlsx sebagai Jawaban Kuesioner. "
            "Jawaban yang belum lengkap akan dikembalikan disertai alasannya.",
            None,
        ),
        ("", None),
        ("Skala tingkat:", _BOLD),
    ]
    for row, (text, font) in enumerate(lines, start=1):
        cell = ws.cell(row=row, column=1, value=text)
        if font:
            cell.font = font
    row = len(lines) + 1
    for col, head in enumerate(("Tingkat", "Nama", "Uraian umum"), start=1):
        c = ws.cell(row=row, column=col, value=head)
        c.font, c.fill, c.border = _HEAD_FONT, _HEAD_FILL, _BOX
    for lv in inst.levels:
        row += 1
        for col, value in enumerate((lv.level, lv.name, lv.description), start=1):
            c = ws.cell(row=row, column=col, value=value)
            c.border, c.alignment = _BOX, _WRAP
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 24
    ws.column_dimensions["C"].width = 80
    _print_setup(ws)
    ws.protection.sheet = True


def _print_setup(ws: Any, title_rows: str = "") -> None:
    """A4 landscape, fitted to the page width (as many pages down as needed)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    if title_rows:
        ws.print_title_rows = title_rows


def _row_height(values: list[Any], widths: list[int]) -> float:
    """A row tall enough for its longest wrapped cell (about one line per column width)."""
    lines = 1
    for value, width in zip(values, widths, strict=False):
        text = str(value or "")
        if text:
            lines = max(
                lines, sum(math.ceil(len(p) * 1.1 / max(width, 1)) or 1 for p in text.split("\n"))
            )
    return min(409.0, 15.0 * lines + 4)


def _identity_sheet(wb: Workbook, year: int, region_name: str) -> None:
    ws = wb.create_sheet(IDENTITY_SHEET)
    ws["A1"] = f"IDENTITAS PENGISI KUESIONER PeManTIK TAHUN {year}"
    ws["A1"].font = _TITLE
    ws["A2"] = (
        f"{region_name} — isi sel berwarna kuning; identitas ini diperiksa saat berkas diterima."
    )
    for col, head in enumerate(("Data", "Isian", "Keterangan"), start=1):
        c = ws.cell(row=3, column=col, value=head)
        c.font, c.fill, c.border = _HEAD_FONT, _HEAD_FILL, _BOX
    check = DataValidation(
        type="date",
        operator="greaterThan",
        formula1="36526",  # 1 Januari 2000
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle="Tanggal tidak sah",
        error="Isi tanggal pengisian, mis. 10-07-2026.",
        promptTitle="Tanggal pengisian",
        prompt="Isi tanggal pengisian, mis. 10-07-2026.",
    )
    ws.add_data_validation(check)
    for key, label, row, hint in IDENTITY_FIELDS:
        ws.cell(row=row, column=1, value=label).font = _BOLD
        value = ws.cell(row=row, column=IDENTITY_VALUE_COL)
        value.protection, value.fill, value.border = _UNLOCKED, _ANSWER_FILL, _BOX
        value.number_format = "DD-MM-YYYY" if key == "tanggal" else "@"  # NIP stays text
        if key == "tanggal":
            check.add(value)
        ws.cell(row=row, column=3, value=hint).alignment = _WRAP
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 44
    ws.column_dimensions["C"].width = 50
    _print_setup(ws)
    ws.protection.sheet = True


def fill_identity(
    wb: Workbook,
    *,
    nama: str = "Rina Pengisi",
    jabatan: str = "Pranata Komputer Ahli Muda",
    nip: str = "199001012015032001",
    telepon: str = "0812-3456-7890",
    tanggal: date | None = None,
) -> None:
    """Fill the Identitas sheet as the region's officer would (the demo's simulated officers,
    tests, benchmarks); the defaults are an example person, ``tanggal`` today."""
    from models import clock

    tanggal = tanggal or clock.today()
    ws = wb[IDENTITY_SHEET]
    given = {"nama": nama, "jabatan": jabatan, "nip": nip, "telepon": telepon, "tanggal": tanggal}
    for key, _label, row, _hint in IDENTITY_FIELDS:
        ws.cell(row=row, column=IDENTITY_VALUE_COL, value=given[key])


def _as_day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    for fmt in ("%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def read_identity(rows: list[tuple[Any, ...]], today: date) -> tuple[dict[str, str], list[str]]:
    """The Identitas sheet's values (``rows`` as read from the sheet) and every problem, each
    naming its cell and how to fix it."""
    values: dict[str, str] = {}
    errors: list[str] = []
    for key, label, row, _hint in IDENTITY_FIELDS:
        cells = rows[row - 1] if row - 1 < len(rows) else ()
        raw = cells[IDENTITY_VALUE_COL - 1] if len(cells) >= IDENTITY_VALUE_COL else None
        place = f"Lembar '{IDENTITY_SHEET}' sel B{row} ({label})"
        text = "" if raw is None else str(raw).strip()
        if key == "tanggal":
            day = _as_day(raw)
            if raw in (None, ""):
                errors.append(f"{place}: wajib diisi")
            elif day is None:
                errors.append(f"{place}: '{text}' bukan tanggal; tulis mis. 10-07-2026")
            elif day > today:
                errors.append(f"{place}: tanggal {day:%d-%m-%Y} belum tiba")
            else:
                values[key] = day.isoformat()
            continue
        if key == "nip":
            digits = re.sub(r"\s", "", text)
            if digits and not re.fullmatch(r"\d{18}", digits):
                errors.append(f"{place}: NIP harus 18 digit angka (atau kosong bila bukan ASN)")
            values[key] = digits
            continue
        if not text:
            errors.append(f"{place}: wajib diisi")
        elif key == "telepon" and not (
            re.fullmatch(r"[\d\s()+.-]+", text) and 8 <= len(re.sub(r"\D", "", text)) <= 15
        ):
            errors.append(f"{place}: '{text}' bukan nomor telepon; tulis mis. 0812-3456-7890")
        values[key] = text
    return values, errors


def _dimension_sheet(
    wb: Workbook, inst: Instrument, dim_index: int, title: str, year: int, region_name: str
) -> dict[str, tuple[str, int]]:
    dim = inst.dimensions[dim_index]
    ws = wb.create_sheet(title)
    weight = decimal_comma(dim.weight, 2).rstrip("0").rstrip(",")
    ws["A1"] = f"{inst.dimension_label} {dim.name} (bobot {weight}%)"
    ws["A1"].font = _TITLE
    ws["A2"] = f"{region_name} — PeManTIK {year}"
    ws["A3"] = (
        f"Isi kolom {LEVEL_LETTER} (Tingkat), {EVIDENCE_LETTER} (Bukti Dukung) dan "
        f"{NOTE_LETTER} (Catatan) pada sel berwarna kuning. Uraian setiap tingkat ada di "
        "sebelah kanan; kolom kiri tetap terlihat saat digeser."
    )
    ws["A3"].font = Font(bold=True, color="C00000")
    heads = [
        "Kode",
        inst.indicator_label,
        "Pertanyaan",
        f"Tingkat ({inst.scale_text})",
        "Bukti Dukung (tautan/uraian)",
        "Catatan",
        "Bukti Wajib",
    ] + [f"Tingkat {lv.level} – {lv.name}" for lv in inst.levels]
    for col, head in enumerate(heads, start=1):
        c = ws.cell(row=HEADER_ROW, column=col, value=head)
        c.font, c.fill, c.border, c.alignment = _HEAD_FONT, _HEAD_FILL, _BOX, _WRAP
    choices = ",".join(str(lv.level) for lv in inst.levels)
    dv = DataValidation(
        type="list",
        formula1=f'"{choices}"',
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,  # the prompt shows when the cell is selected
        errorTitle="Tingkat tidak sah",
        error=f"Pilih tingkat {inst.scale_text} dari daftar.",
        promptTitle="Tingkat",
        prompt=f"Pilih tingkat {inst.scale_text}; uraiannya ada di kolom sebelah kanan.",
    )
    ws.add_data_validation(dv)
    layout: dict[str, tuple[str, int]] = {}
    # Narrow enough that the frozen columns (code, indicator, question, level) leave room
    # on a laptop screen for the criteria scrolling on their right.
    widths = [8, 26, 34, 12, 36, 24, 9] + [30] * len(inst.levels)
    ws.row_dimensions[HEADER_ROW].height = _row_height(heads, widths)
    row = HEADER_ROW
    for aspect in dim.aspects:
        row += 1
        c = ws.cell(row=row, column=1, value=f"{inst.aspect_label} {aspect.name}")
        c.font = _BOLD
        for col in range(1, len(heads) + 1):
            ws.cell(row=row, column=col).fill = _ASPECT_FILL
        for ind in aspect.indicators:
            row += 1
            descriptions = inst.level_descriptions(ind)
            values = [
                ind.code,
                ind.name,
                ind.question,
                None,
                None,
                None,
                "Ya" if ind.evidence_required else "Tidak",
            ] + [descriptions[lv.level] for lv in inst.levels]
            for col, value in enumerate(values, start=1):
                c = ws.cell(row=row, column=col, value=value)
                c.border, c.alignment = _BOX, _WRAP
            for col in (COL_LEVEL, COL_EVIDENCE, COL_NOTE):
                c = ws.cell(row=row, column=col)
                c.protection, c.fill = _UNLOCKED, _ANSWER_FILL
            dv.add(ws.cell(row=row, column=COL_LEVEL))
            ws.row_dimensions[row].height = _row_height(values, widths)
            layout[ind.code] = (title, row)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    # Frozen: the header rows and the columns up to the level (input) column.
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=COL_LEVEL + 1)
    _print_setup(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}")
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # let the region widen columns to read
    ws.protection.formatRows = False
    return layout


def build_questionnaire(
    instrument: Instrument,
    *,
    cycle_year: int,
    cycle_id: int,
    region_code: str,
    region_name: str,
    out_path: Path,
    example: bool = False,
) -> Path:
    """Write the region's Lembar Kuesioner to ``out_path`` and return the path; ``example``
    (the demo) marks every sheet CONTOH, on screen and in print."""
    wb = Workbook()
    _instructions(wb, instrument, cycle_year, region_name)
    _identity_sheet(wb, cycle_year, region_name)
    taken = {INSTRUCTIONS_SHEET.lower(), IDENTITY_SHEET.lower(), META_SHEET.lower()}
    layout: dict[str, tuple[str, int]] = {}
    for index, dim in enumerate(instrument.dimensions):
        title = _sheet_title(dim.name, taken, instrument.dimension_label)
        layout.update(_dimension_sheet(wb, instrument, index, title, cycle_year, region_name))
    meta = WorkbookMeta(
        cycle_id=cycle_id,
        cycle_year=cycle_year,
        region_code=region_code,
        region_name=region_name,
        instrument_code=instrument.code,
        instrument_version=instrument.version,
        layout=layout,
    )
    checksum = compute_checksum(
        meta, instrument.indicator_codes, assessment_settings().workbook_secret
    )
    ms = wb.create_sheet(META_SHEET)
    rows = [
        ("format", FORMAT),
        ("cycle_id", cycle_id),
        ("cycle_year", cycle_year),
        ("region_code", region_code),
        ("region_name", region_name),
        ("instrument_code", instrument.code),
        ("instrument_version", instrument.version),
        ("layout", json.dumps({k: list(v) for k, v in layout.items()}, ensure_ascii=False)),
        ("checksum", checksum),
    ]
    for key, value in rows:
        ms.append([key, value])
    if example:
        from letters.readiness import EXAMPLE_MARK

        for ws in wb.worksheets:
            ws.oddHeader.center.text = " — ".join(EXAMPLE_MARK)
            ws.oddHeader.center.color = "C00000"
        first = wb[INSTRUCTIONS_SHEET]["A1"]
        first.value = f"{EXAMPLE_MARK[0]} — {first.value}"
        first.font = Font(bold=True, size=14, color="C00000")
    ms.sheet_state = "veryHidden"
    ms.protection.sheet = True
    wb.security = WorkbookProtection(lockStructure=True)  # no adding, removing, unhiding sheets
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(out_path)  # never leave a half-written workbook under the real name
    return out_path
