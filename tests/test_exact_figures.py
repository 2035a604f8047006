"""Exact figures (issue 13): half-up rounding of real totals, rows that add up to the total,
ties broken by the stated rule, weights on the Formulir, page numbers and signature blocks."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import docx
import pytest

from assessment.instruments import load_instrument
from assessment.scoring import figures, rank_table, tie_rule_text
from letters.examples import example_inputs
from letters.formats import decimal_comma, half_up
from letters.render import render_document
from models.settings import get_settings

RAISED = {  # indicators one level above 3 → the total the issue found misprinted
    "3.425": [*range(11, 16), *range(42, 48), *range(21, 29)],  # 12.5 + 18 + 12 = 42.5
    "3.135": list(range(21, 30)),  # 9 × 1.5 = 13.5
    "3.025": [11],  # 2.5
}


@pytest.fixture(scope="module")
def spbe():
    return load_instrument("spbe-2020")


def _levels(spbe, raised: list[int]) -> dict[str, int]:
    levels = {i.code: 3 for i in spbe.indicators}
    levels.update({f"I{n:02d}": 4 for n in raised})
    return levels


@pytest.mark.parametrize(
    ("total", "shown"), [("3.425", "3,43"), ("3.135", "3,14"), ("3.025", "3,03")]
)
def test_real_totals_round_half_up(spbe, total, shown) -> None:
    fig = figures(spbe, _levels(spbe, RAISED[total]))
    assert fig.total == Decimal(total)
    assert decimal_comma(fig.total) == shown
    # The stored float and the float the old code printed are read back as the same decimal.
    assert decimal_comma(float(fig.total)) == shown == decimal_comma(float(total))
    assert round(float(total), 2) != float(half_up(total))  # what binary rounding got wrong


def test_berita_acara_rows_add_up_to_its_total(spbe, tmp_path) -> None:
    fig = figures(spbe, _levels(spbe, RAISED["3.425"]))
    data = {
        **example_inputs(0)["berita_acara"],
        "dimensions": fig.rows(),
        "total": fig.total,
        "share_places": fig.share_places,
    }
    out = render_document("berita_acara", data, tmp_path / "ba.docx", "X/BA.1/2026")
    table = next(t for t in docx.Document(out.path).tables if t.rows[0].cells[0].text == "Dimensi")
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0] == ["Dimensi", "Bobot", "Nilai", "Nilai tertimbang"]
    shares = [Decimal(r[3].replace(",", ".")) for r in rows[1:5]]
    total_row = rows[5]
    assert total_row[1] == "100%" and total_row[2] == "3,43"
    assert sum(shares) == Decimal(total_row[3].replace(",", ".")) == Decimal("3.425")
    assert [r[1] for r in rows[1:5]] == ["13,00%", "25,00%", "16,50%", "45,50%"]


@dataclass
class _Row:
    region_code: str
    total: float
    dimension_scores: dict[str, float]


def test_ties_are_broken_by_the_heaviest_dimension_and_shown(spbe, monkeypatch) -> None:
    results = [
        _Row("64.01", 3.2, {"D1": 3.0, "D2": 3.5, "D3": 3.0, "D4": 3.1}),
        _Row("64.72", 3.2, {"D1": 3.0, "D2": 3.0, "D3": 3.0, "D4": 3.4}),
        _Row("64.71", 3.9, {"D1": 4.0, "D2": 4.0, "D3": 4.0, "D4": 3.8}),
        _Row("64.74", 2.5, {"D1": 2.5, "D2": 2.5, "D3": 2.5, "D4": 2.5}),
        _Row("64.03", 2.5, {"D1": 2.5, "D2": 2.5, "D3": 2.5, "D4": 2.5}),
    ]
    table = {r.region_code: r for r in rank_table(results, spbe)}
    assert [(c, table[c].rank) for c in ("64.71", "64.72", "64.01", "64.03", "64.74")] == [
        ("64.71", 1),
        ("64.72", 2),  # equal total, higher Layanan SPBE (45.5 %, the heaviest)
        ("64.01", 3),
        ("64.03", 4),  # equal in every dimension: a shared rank
        ("64.74", 4),
    ]
    assert table["64.72"].tied_with == ("64.01",) and table["64.72"].decided_by == "Layanan SPBE"
    assert table["64.03"].decided_by == "" and table["64.03"].tied_with == ("64.74",)
    rule = tie_rule_text(spbe)
    assert "Layanan SPBE (bobot 45,50%), Tata Kelola SPBE (bobot 25,00%)" in rule
    monkeypatch.setenv("PEMANTIK_TIE_BREAK", "shared")
    shared = {r.region_code: r.rank for r in rank_table(results, spbe)}
    assert shared["64.72"] == shared["64.01"] == 2 and shared["64.03"] == 4
    assert "peringkat yang sama" in tie_rule_text(spbe)


def content_tables(document) -> list:  # noqa: ANN001 - a python-docx Document
    """The document's tables after the kop (a table since the lambang sits beside the text)."""
    kop = get_settings().organisation.pemerintah
    return [t for t in document.tables if kop not in t.rows[0].cells[-1].text]


def test_sk_prints_ties_and_the_rule(spbe, tmp_path) -> None:
    data = example_inputs(0)["sk_penetapan"]
    data["ranking"] = [
        {
            "rank": 1,
            "region_name": "Kota Samarinda",
            "total": "3.425",
            "note": "Nilai total sama "
            "dengan Kabupaten Paser; diurutkan menurut nilai dimensi Layanan SPBE",
        },
        {"rank": 2, "region_name": "Kabupaten Paser", "total": "3.425"},
    ]
    data["ranking_rule"] = tie_rule_text(spbe)
    out = render_document("sk_penetapan", data, tmp_path / "sk.docx", "100/K.1/2026")
    d = docx.Document(out.path)
    rows = [[c.text for c in r.cells] for r in content_tables(d)[0].rows]
    assert rows[1][3] == rows[2][3] == "3,43"
    assert rows[1][5].startswith("Nilai total sama dengan Kabupaten Paser")
    assert any(p.text.startswith("Peringkat diurutkan menurut nilai total") for p in d.paragraphs)


def test_formulir_shows_the_weights(tmp_path) -> None:
    out = render_document("formulir", example_inputs(0)["formulir"], tmp_path / "f.docx", None)
    table = next(t for t in docx.Document(out.path).tables if t.rows[0].cells[0].text == "Dimensi")
    weights = [r.cells[1].text for r in table.rows[1:5]]
    assert weights and all(re.fullmatch(r"\d+,\d\d%", w) for w in weights), weights


def test_page_numbers_and_signature_blocks_kept_together(tmp_path) -> None:
    out = render_document(
        "berita_acara", example_inputs(0)["berita_acara"], tmp_path / "ba.docx", "X/BA.1/2026"
    )
    with zipfile.ZipFile(out.path) as zf:
        footers = [zf.read(n).decode() for n in zf.namelist() if n.startswith("word/footer")]
        body = zf.read("word/document.xml").decode()
    assert any("PAGE" in f and "NUMPAGES" in f and "Halaman" in f for f in footers)
    assert "<w:titlePg/>" in body  # no number on the first page (the kop)
    d = docx.Document(out.path)
    texts = [p.text for p in d.paragraphs]
    closing_line = "Demikian Berita Acara ini dibuat untuk dipergunakan sebagaimana mestinya."
    start = texts.index(closing_line) + 2  # the place-and-date line opens the kept block
    assert texts[start].endswith("2026")
    nip = max(i for i, t in enumerate(texts) if t.startswith("NIP. "))
    closing = d.paragraphs[start:nip]
    assert closing and all(p.paragraph_format.keep_with_next for p in closing)
    # The region's representative signs; no indicator needed consensus in the example.
    cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
    assert any("Perwakilan" in c for c in cells) or "Perwakilan Kota Samarinda," in texts


def test_daftar_hadir_has_a_signature_column(tmp_path) -> None:
    out = render_document(
        "daftar_hadir", example_inputs(0)["daftar_hadir"], tmp_path / "dh.docx", None
    )
    d = docx.Document(out.path)
    rows = [[c.text for c in r.cells] for r in content_tables(d)[0].rows]
    assert rows[0] == ["No", "Nama", "Jabatan", "Instansi", "Tanda Tangan"]
    assert len(rows) == 1 + len(example_inputs(0)["daftar_hadir"]["people"])
    assert Path(out.path).stat().st_size > 0


@pytest.mark.parametrize(("zone", "label"), [("Asia/Makassar", "WITA"), ("Asia/Jakarta", "WIB")])
def test_event_times_carry_the_configured_zone(tmp_path, monkeypatch, zone, label) -> None:
    from models.settings import reset_settings

    monkeypatch.setenv("PEMANTIK_TIMEZONE", zone)
    reset_settings()
    out = render_document("undangan", example_inputs(0)["undangan"], tmp_path / "u.docx", "X/1")
    waktu = next(p.text for p in docx.Document(out.path).paragraphs if p.text.startswith("Waktu"))
    assert f" {label} s.d. " in waktu and ("WITA" in waktu) == (label == "WITA")
