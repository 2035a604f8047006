"""Result exports for a cycle: CSV and XLSX (per indicator, per dimension, total, predicate, rank)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session, select

from assessment.instruments import Instrument
from letters.formats import half_up
from models.tables import Region, Result


@dataclass
class ResultRow:
    rank: int | None
    region_code: str
    region_name: str
    total: float
    predicate: str
    dimension_scores: dict[str, float]
    final_levels: dict[str, int]
    locked: bool


def cycle_results(session: Session, cycle_id: int) -> list[ResultRow]:
    """The cycle's stored results, best rank first (unranked last, then by region code)."""
    names = {r.code: r.name for r in session.exec(select(Region))}
    rows = [
        ResultRow(
            rank=r.rank,
            region_code=r.region_code,
            region_name=names.get(r.region_code, r.region_code),
            total=r.total,
            predicate=r.predicate,
            dimension_scores=dict(r.dimension_scores or {}),
            final_levels={k: int(v) for k, v in (r.final_levels or {}).items()},
            locked=r.locked,
        )
        for r in session.exec(select(Result).where(Result.cycle_id == cycle_id))
    ]
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.region_code))


def _header(instrument: Instrument) -> list[str]:
    return (
        ["Peringkat", "Kode Wilayah", "Nama Wilayah", "Indeks Total", "Predikat", "Terkunci"]
        + [f"{d.code} {d.name}" for d in instrument.dimensions]
        + [i.code for i in instrument.indicators]
    )


def _values(row: ResultRow, instrument: Instrument) -> list[object]:
    return (
        [
            row.rank,
            row.region_code,
            row.region_name,
            float(half_up(row.total, 4)),
            row.predicate,
            "Ya" if row.locked else "Tidak",
        ]
        + [float(half_up(row.dimension_scores.get(d.code, 0.0), 4)) for d in instrument.dimensions]
        + [row.final_levels.get(i.code) for i in instrument.indicators]
    )


def export_csv(rows: list[ResultRow], instrument: Instrument, path: Path) -> Path:
    """One line per region; UTF-8 with BOM so spreadsheet programs read the names correctly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(_header(instrument))
        for row in rows:
            writer.writerow(_values(row, instrument))
    tmp.replace(path)
    return path


def export_xlsx(rows: list[ResultRow], instrument: Instrument, path: Path) -> Path:
    """Sheets "Peringkat" (a line per region) and "Per Indikator" (a line per indicator)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Peringkat"
    ws.append(_header(instrument)[: 6 + len(instrument.dimensions)])
    for row in rows:
        ws.append(_values(row, instrument)[: 6 + len(instrument.dimensions)])
    per = wb.create_sheet("Per Indikator")
    per.append(
        ["Kode", instrument.indicator_label, instrument.dimension_label, "Bobot (%)"]
        + [f"{r.region_code} {r.region_name}" for r in rows]
    )
    for ind in instrument.indicators:
        per.append(
            [ind.code, ind.name, instrument.dimension_of(ind.code).name, ind.weight]
            + [r.final_levels.get(ind.code) for r in rows]
        )
    for sheet in (ws, per):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path
