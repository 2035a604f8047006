"""Exports and charts of a cycle's results, through the ``pemantik hasil`` command."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from assessment.instruments import load_instrument
from assessment.results import finalize_result, submit_scores
from deployments.cli import app
from letters import charts
from models.db import session_scope
from models.registry import ensure_reference_data
from models.tables import Assessor, Cycle


@pytest.fixture
def scored_cycle(db_url: str) -> int:
    """Cycle 2026 on SPBE 2020: Samarinda all 4, Balikpapan all 3, Paser all 3 but I47 at 4."""
    spbe = load_instrument("spbe-2020")
    with session_scope(db_url) as session:
        ensure_reference_data(session)
        cycle = Cycle(
            year=2026,
            instrument_code="spbe-2020",
            instrument_version=spbe.version,
            start_date=date(2026, 7, 1),
        )
        session.add(cycle)
        session.flush()
        assessor = session.exec(select(Assessor).where(Assessor.home_region_code.is_(None))).first()
        for region, level, top in (("64.72", 4, 4), ("64.71", 3, 3), ("64.01", 3, 4)):
            scores = {c: {"level": level, "note": ""} for c in spbe.indicator_codes}
            scores["I47"]["level"] = top
            submit_scores(
                session,
                cycle_id=cycle.id,
                region_code=region,
                assessor_id=assessor.id,
                scores=scores,
                instrument=spbe,
            )
            finalize_result(session, cycle.id, region, spbe)
        return cycle.id


def test_hasil_csv_xlsx_and_charts(scored_cycle: int, tmp_path: Path) -> None:
    out_csv, out_xlsx, charts = tmp_path / "hasil.csv", tmp_path / "hasil.xlsx", tmp_path / "g"
    result = CliRunner().invoke(
        app,
        ["hasil", "--siklus", "2026", "--csv", str(out_csv), "--xlsx", str(out_xlsx)]
        + ["--grafik", str(charts)],
    )
    assert result.exit_code == 0, result.output
    assert "64.72" in result.output and "3,03" in result.output
    with open(out_csv, encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["Peringkat"], r["Kode Wilayah"], r["Predikat"]) for r in rows] == [
        ("1", "64.72", "Sangat Baik"),
        ("2", "64.01", "Baik"),
        ("3", "64.71", "Baik"),
    ]
    # Paser: 3.0 + 0.03 (I47 one level up, weight 3%) = 3.03
    assert float(rows[1]["Indeks Total"]) == pytest.approx(3.03)
    assert float(rows[1]["D4 Layanan SPBE"]) == pytest.approx(3 + 3 / 45.5, abs=1e-4)
    assert (rows[1]["I47"], rows[1]["I01"]) == ("4", "3")
    wb = openpyxl.load_workbook(out_xlsx)
    assert wb.sheetnames == ["Peringkat", "Per Indikator"]
    assert wb["Peringkat"]["C2"].value == "Kota Samarinda"
    per = list(wb["Per Indikator"].iter_rows(values_only=True))
    assert len(per) == 48 and per[47][0] == "I47" and per[47][4:] == (4, 4, 3)
    pngs = sorted(p.name for p in charts.iterdir())
    assert pngs == ["indeks-total-2026.png", "profil-dimensi-2026.png"]
    assert all((charts / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_hasil_unknown_cycle(db_url: str) -> None:
    result = CliRunner().invoke(app, ["hasil", "--siklus", "1999"])
    assert result.exit_code == 1
    assert "siklus tahun 1999 tidak ditemukan" in result.output


def test_instrumen_commands(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["instrumen", "daftar"])
    assert listed.exit_code == 0 and "spbe-2020" in listed.output and "contoh" in listed.output
    bad = tmp_path / "rusak.yaml"
    text = (Path(__file__).parent / "data" / "assessment-mini.yaml").read_text()
    bad.write_text(text.replace("weight: 60\n", "weight: 55\n", 1))
    checked = runner.invoke(app, ["instrumen", "periksa", str(bad)])
    assert checked.exit_code == 1
    assert (
        "rusak.yaml baris" in checked.output
        and "(dimensions[0].weight): jumlah bobot aspek 60" in checked.output
    )


def test_charts_one_look(tmp_path: Path) -> None:
    """The chart module draws on the instrument's scale with its predicate bands, at one dpi,
    and the same data gives the same bytes."""
    mini = load_instrument(Path(__file__).parent / "data" / "assessment-mini.yaml")
    scale = charts.ChartScale.of(mini)
    assert (scale.min, scale.max) == (mini.scale.min, mini.scale.max)
    assert [b.name for b in scale.bands] == [p.name for p in mini.predicates]
    args = (["Paser", "Berau"], [2.0, 3.425])
    png = charts.totals_chart(*args, scale=scale, title="Indeks", xlabel="Indeks")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")  # IHDR
    assert width == round(7.5 * charts.DPI)
    assert charts.totals_chart(*args, scale=scale, title="Indeks", xlabel="Indeks") == png
    plain = charts.ChartScale(min=scale.min, max=scale.max)
    assert charts.totals_chart(*args, scale=plain, title="Indeks", xlabel="Indeks") != png
    many = [f"Wilayah {i}" for i in range(charts.TOTALS_PER_CHART + 1)]
    pages = charts.totals_charts(many, [3.0] * len(many), scale=scale, title="Indeks")
    assert len(pages) == 2
    profiles = charts.profile_charts(
        many[:11], ["A", "B"], [[2.0, 3.0]] * 11, scale=scale, title="Profil"
    )
    assert len(profiles) == 2 and all(p[:4] == b"\x89PNG" for p in profiles)


def test_kuesioner_buat_and_periksa(db_url: str, tmp_path: Path) -> None:
    with session_scope(db_url) as session:
        ensure_reference_data(session)
        session.add(Cycle(year=2026, instrument_code="pegi", start_date=date(2026, 7, 1)))
    runner = CliRunner()
    out = tmp_path / "kuesioner-6472.xlsx"
    made = runner.invoke(
        app, ["kuesioner", "buat", "--siklus", "2026", "--wilayah", "64.72", "--keluar", str(out)]
    )
    assert made.exit_code == 0, made.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[1:7] == [
        "Identitas",  # who filled it in, read back on import
        "Kebijakan",
        "Kelembagaan",
        "Infrastruktur",
        "Aplikasi",
        "Perencanaan",
    ]
    checked = runner.invoke(
        app, ["kuesioner", "periksa", str(out), "--siklus", "2026", "--wilayah", "64.72"]
    )
    assert checked.exit_code == 1
    text = " ".join(checked.output.split())  # undo the console's line wrapping
    # 20 levels + 20 required evidence + the 4 required identity cells (NIP may be empty)
    assert "ditolak (44 kesalahan)" in text
    assert "Lembar 'Identitas' sel B4 (Nama pengisi): wajib diisi" in text
    assert "tingkat belum diisi (pilih 1–4)" in text
    unknown = runner.invoke(
        app, ["kuesioner", "buat", "--siklus", "2026", "--wilayah", "99.99", "--keluar", str(out)]
    )
    assert unknown.exit_code == 1 and "99.99 tidak terdaftar" in unknown.output
