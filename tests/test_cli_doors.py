"""The CLI doors to the waits: same validation as every door, clear refusals, nothing half-stored."""

from __future__ import annotations

import json
from datetime import date

import openpyxl
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from models.db import session_scope
from models.registry import ensure_reference_data
from models.tables import AnswerSet, Cycle


@pytest.fixture
def cycle(session):
    ensure_reference_data(session)
    row = Cycle(
        year=2026,
        instrument_code="spbe-2020",
        start_date=date(2026, 7, 1),
        params={"year": 2026, "regions": ["64.72"], "start_date": "2026-07-01"},
    )
    session.add(row)
    session.commit()
    return row


def _open_wait(cycle_id: int, kind: str, step_no: int) -> None:
    """The region's wait on ``kind``, opened as the flow opens it (no run to resume here)."""
    from services import waits

    assert waits.stage(kind).step_no == step_no
    waits.open_wait(kind=kind, cycle_id=cycle_id, region="64.72", flow_run_id="", key=kind)


def _workbook(tmp_path, cycle_id: int, level=lambda i: i % 5 + 1):
    from assessment.instruments import load_instrument
    from assessment.workbook import META_SHEET, build_questionnaire

    path = build_questionnaire(
        load_instrument("spbe-2020"),
        cycle_year=2026,
        cycle_id=cycle_id,
        region_code="64.72",
        region_name="Kota Samarinda",
        out_path=tmp_path / "kuesioner.xlsx",
    )
    wb = openpyxl.load_workbook(path)
    from assessment.workbook import fill_identity

    fill_identity(wb)
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    for i, (code, (sheet, row)) in enumerate(json.loads(meta["layout"]).items()):
        wb[sheet].cell(row=row, column=4, value=level(i))
        wb[sheet].cell(row=row, column=5, value=f"https://bukti.contoh.example/{code}")
    filled = tmp_path / "terisi.xlsx"
    wb.save(filled)
    return filled


def run(*args: str):
    from deployments.cli import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_answer_for_a_region_that_is_not_waiting(cycle, tmp_path):
    filled = _workbook(tmp_path, cycle.id)
    result = run("jawaban", "impor", "--wilayah", "64.72", str(filled))
    assert result.exit_code == 1
    assert "Kota Samarinda tidak sedang menunggu jawaban kuesioner" in result.output


def test_unknown_region_and_unknown_cycle(cycle, tmp_path):
    filled = _workbook(tmp_path, cycle.id)
    assert (
        "Wilayah 99.99 tidak dikenal"
        in run("jawaban", "impor", "--wilayah", "99.99", str(filled)).output
    )
    out = run("jawaban", "impor", "--wilayah", "64.72", "--siklus", "2031", str(filled)).output
    assert "Siklus tahun 2031 belum ada" in out


def test_invalid_workbook_refused_with_cells_and_nothing_stored(cycle, tmp_path):
    _open_wait(cycle.id, "jawaban", 4)
    bad = _workbook(tmp_path, cycle.id, level=lambda i: 9 if i == 2 else 3)
    result = run("jawaban", "impor", "--wilayah", "64.72", str(bad))
    assert result.exit_code == 1
    assert "masukan ditolak" in result.output and "sel D" in result.output and "9" in result.output
    with session_scope() as s:
        assert s.exec(select(AnswerSet)).all() == []


def test_valid_workbook_stored_and_stage_complete(cycle, tmp_path):
    _open_wait(cycle.id, "jawaban", 4)
    result = run("jawaban", "impor", "--wilayah", "64.72", str(_workbook(tmp_path, cycle.id)))
    assert result.exit_code == 0, result.output
    assert "jawaban kuesioner diterima (47 indikator)" in result.output
    assert "Tahap ini lengkap" in result.output
    with session_scope() as s:
        assert s.exec(select(AnswerSet)).one().source == "cli"


def test_scores_file_errors_are_named(cycle, tmp_path):
    bad = tmp_path / "nilai.csv"
    bad.write_text("kode,catatan\nI01,ok\n")
    result = run("nilai", "--wilayah", "64.72", "--asesor", "asesor1@contoh.example", str(bad))
    assert result.exit_code == 1 and "kolom wajib tidak ada: tingkat" in result.output


def test_confirmation_needs_delegates_when_attending(cycle):
    _open_wait(cycle.id, "konfirmasi", 8)
    result = run("konfirmasi", "--wilayah", "64.72", "--jawaban", "ya")
    assert result.exit_code == 1 and "minimal satu delegasi" in result.output
    result = run("konfirmasi", "--wilayah", "64.72", "--jawaban", "mungkin")
    assert result.exit_code == 1 and "isi 'ya' atau 'tidak'" in result.output
    ok = run(
        "konfirmasi", "--wilayah", "64.72", "--jawaban", "ya", "--delegasi", "Sari|Kepala Bidang"
    )
    assert ok.exit_code == 0, ok.output
    assert "Kab/Kota hadir" in ok.output
