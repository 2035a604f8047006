"""The Lembar Kuesioner: the questionnaire workbook a region fills (steps 1 and 3).

Layout: a "Petunjuk" sheet (instructions, the level scale), one sheet per dimension with one row
per indicator, and a very hidden metadata sheet. Only the answer cells (level, evidence, note)
are unlocked; the sheets are protected so the structure stays where the import expects it. The
metadata carries the cycle, region, instrument version, where each indicator sits, and a keyed
sha256 checksum over all of that, so an edited or swapped workbook is recognised on import.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation

from assessment.instruments import Instrument
from assessment.settings import assessment_settings

FORMAT = "pemantik-kuesioner/1"
META_SHEET = "_pemantik_meta"
INSTRUCTIONS_SHEET = "Petunjuk"
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


def _sheet_title(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", " ", name).strip()[:31] or "Dimensi"
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
        (f"Instrumen: {inst.name} (versi {inst.version})", None),
        ("", None),
        ("Petunjuk pengisian:", _BOLD),
        (
            f"1. Isi setiap lembar {inst.dimension_label.lower()} (satu lembar untuk setiap "
            f"{inst.dimension_label.lower()}). Setiap baris adalah satu "
            f"{inst.indicator_label.lower()}.",
            None,
        ),
        (
            f"2. Pilih tingkat pada kolom '{LEVEL_LETTER}' (Tingkat) dari daftar pilihan "
            f"{inst.scale_text} sesuai kondisi instansi Saudara saat ini.",
            None,
        ),
        (
            f"3. Isi kolom '{EVIDENCE_LETTER}' (Bukti Dukung) dengan tautan dokumen atau uraian "
            "bukti. Bukti dukung wajib diisi bila kolom 'Bukti Wajib' bertanda 'Ya'.",
            None,
        ),
        (f"4. Kolom '{NOTE_LETTER}' (Catatan) boleh diisi dengan keterangan tambahan.", None),
        (
            "5. Jangan mengubah, menyisipkan, atau menghapus baris, kolom, maupun lembar. "
            "Lembar kerja ini dikunci kecuali sel jawaban.",
            None,
        ),
        (
            "6. Kirimkan kembali berkas ini dalam format .xlsx sebagai Jawaban Kuesioner. "
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
    ws.protection.sheet = True


def _dimension_sheet(
    wb: Workbook, inst: Instrument, dim_index: int, title: str, year: int, region_name: str
) -> dict[str, tuple[str, int]]:
    dim = inst.dimensions[dim_index]
    ws = wb.create_sheet(title)
    ws["A1"] = f"{inst.dimension_label} {dim.name} (bobot {dim.weight:g}%)"
    ws["A1"].font = _TITLE
    ws["A2"] = f"{region_name} — PeManTIK {year}"
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
        errorTitle="Tingkat tidak sah",
        error=f"Pilih tingkat {inst.scale_text} dari daftar.",
        promptTitle="Tingkat",
        prompt=f"Pilih tingkat {inst.scale_text}.",
    )
    ws.add_data_validation(dv)
    layout: dict[str, tuple[str, int]] = {}
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
            layout[ind.code] = (title, row)
    widths = [8, 40, 50, 12, 40, 30, 10] + [30] * len(inst.levels)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=COL_LEVEL)
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
) -> Path:
    """Write the region's Lembar Kuesioner to ``out_path`` and return the path."""
    wb = Workbook()
    _instructions(wb, instrument, cycle_year, region_name)
    taken = {INSTRUCTIONS_SHEET.lower(), META_SHEET.lower()}
    layout: dict[str, tuple[str, int]] = {}
    for index, dim in enumerate(instrument.dimensions):
        title = _sheet_title(dim.name, taken)
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
    ms.sheet_state = "veryHidden"
    ms.protection.sheet = True
    wb.security = WorkbookProtection(lockStructure=True)  # no adding, removing, unhiding sheets
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(out_path)  # never leave a half-written workbook under the real name
    return out_path
