"""The Laporan as an activity report: recommendations that name indicators, the province's
weakest indicators, the self-assessment beside the verified result, obstacles, signers."""

from __future__ import annotations

from datetime import date

import docx

from assessment.instruments import load_instrument
from letters.examples import example_inputs
from letters.laporan import overrated_indicators, recommendations_for, weakest_indicators
from letters.render import render_document


def _levels(instrument, default: int, **changed: int) -> dict[str, int]:
    levels = {c: default for c in instrument.indicator_codes}
    levels.update(changed)
    return levels


def test_recommendations_name_the_lowest_heaviest_indicators():
    inst = load_instrument("spbe-2020")
    # I45 (weight 3.0) and I01 (1.3) both at level 1: the heavier comes first.
    final = _levels(inst, 3, I01=1, I45=1, I12=2)
    recs = recommendations_for(inst, final, {"I45": 3})
    assert [r.indicator.split()[0] for r in recs] == ["I45", "I01", "I12"]
    first = recs[0]
    assert (first.level, first.target, first.priority, first.self_level) == (1, 2, "tinggi", 3)
    assert first.level_name == "Rintisan" and first.target_name == "Terkelola"
    assert recs[2].priority == "tinggi" and recs[1].self_level is None
    # Two regions with different weak spots get different recommendations.
    other = recommendations_for(inst, _levels(inst, 4, I30=2))
    assert other[0].indicator.startswith("I30") and other[1].level == 4
    assert other[1].priority == "rendah"
    # A region at the top of the scale everywhere has nothing left to recommend.
    assert recommendations_for(inst, _levels(inst, 5)) == []


def test_weakest_indicators_across_the_province_and_overrated():
    inst = load_instrument("spbe-2020")
    finals = {
        "64.01": _levels(inst, 3, I09=1, I21=2),
        "64.02": _levels(inst, 4, I09=2, I21=1),
        "64.03": _levels(inst, 3, I09=1),
    }
    weakest = weakest_indicators(inst, finals, count=2)
    assert [w.indicator.split()[0] for w in weakest] == ["I09", "I21"]
    assert (weakest[0].low, weakest[0].regions) == (3, 3)
    assert round(weakest[0].mean, 2) == 1.33 and weakest[0].dimension == "Kebijakan Internal SPBE"
    # Most overrated first (I21: 5 against 2), then by code; equal or lower ones are left out.
    own = _levels(inst, 3, I09=3, I21=5)
    named = {i.code: f"{i.code} {i.name}" for i in inst.indicators}
    assert overrated_indicators(inst, finals["64.01"], own) == [named["I21"], named["I09"]]


def test_laporan_shows_self_assessment_obstacles_recommendations_and_signers(tmp_path):
    data = example_inputs(0)["laporan"]
    for r in data["results"]:
        r["self_total"] = round(r["total"] + 0.4, 2)
        r["self_predicate"] = "Sangat Baik"
    data["results"][0]["recommendations"] = [
        {
            "indicator": "I09 Tingkat Kematangan Kebijakan Internal Audit TIK",
            "level": 1,
            "level_name": "Rintisan",
            "target": 2,
            "target_name": "Terkelola",
            "target_description": "direncanakan, dikelola dan memiliki tujuan",
            "priority": "tinggi",
        }
    ]
    data["events"] = [
        {
            "day": "2026-07-20",
            "region_name": "Kabupaten Mahakam Ulu",
            "text": "jawaban kuesioner diterima terlambat 3 hari kerja",
        }
    ]
    data["report_signatory"] = {
        "name": "Ir. Kepala Bidang Uji",
        "nip": "197501012000031001",
        "pangkat": "Pembina (IV/a)",
        "jabatan": "Kepala Bidang Aplikasi Informatika",
    }
    result = render_document(
        "laporan", data, tmp_path / "laporan.docx", None, letter_date=date(2026, 10, 5)
    )
    d = docx.Document(result.path)
    cells = [[c.text for c in row.cells] for t in d.tables for row in t.rows]
    texts = [p.text for p in d.paragraphs]
    # Totals, heat map and the self-assessment comparison.
    assert len(d.inline_shapes) == 3 + 1  # and the lambang daerah in the kop
    compare = next(i for i, row in enumerate(cells) if row[:2] == ["Kabupaten/Kota", "Mandiri"])
    assert len(cells[compare + 1]) == 6 and cells[compare + 1][5] == "-0,40"
    assert any("terlambat 3 hari kerja" in row[-1] for row in cells)
    assert any(row[0].startswith("I09 Tingkat Kematangan") and row[3] == "tinggi" for row in cells)
    signature = next(row for row in cells if row[0].startswith("Mengetahui,"))
    assert "Kepala Dinas" in signature[0] and "Ir. Kepala Bidang Uji" in signature[1]
    assert any(
        t.startswith("Kegiatan PeManTIK Tahun 2026 dilaksanakan sejak 1 Juli 2026") for t in texts
    )
