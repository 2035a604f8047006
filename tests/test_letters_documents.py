"""Every document kind, opened with python-docx and checked for its Tata Naskah Dinas structure."""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import UTC, date
from pathlib import Path

import docx
import pytest

from letters.errors import LetterInputError, TemplateProblem
from letters.examples import example_inputs
from letters.render import render_document

DAY = date(2026, 11, 25)
NUMBER = "005/17/Diskominfo/2026"
SURAT_DINAS = ["pemberitahuan", "tanda_terima", "undangan", "permohonan", "pengingat"]


def _render(kind: str, tmp_path: Path, data: dict | None = None, number: str | None = NUMBER):
    data = data if data is not None else example_inputs(0)[kind]
    result = render_document(kind, data, tmp_path / f"{kind}.docx", number, letter_date=DAY)
    return result, docx.Document(result.path)


def _texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def _table_texts(document) -> list[list[list[str]]]:
    """The body's tables (the kop with the lambang daerah is a table too: left out)."""
    tables = [t for t in document.tables if not t._tbl.xpath(".//a:blip")]
    return [[[c.text for c in row.cells] for row in t.rows] for t in tables]


def test_kop_page_and_fixed_core_properties(tmp_path):
    result, d = _render("undangan", tmp_path)
    # The kop: the lambang daerah on the left, the lines beside it.
    logo_cell, text_cell = d.tables[0].rows[0].cells
    assert logo_cell._tc.xpath(".//a:blip")
    texts = [p.text for p in text_cell.paragraphs]
    assert texts[:2] == ["PEMERINTAH PROVINSI KALIMANTAN TIMUR", "DINAS KOMUNIKASI DAN INFORMATIKA"]
    assert any(
        "Telepon (0541) 733333" in t and "diskominfo@kaltimprov.go.id" in t for t in texts[:5]
    )
    section = d.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
    assert round(section.left_margin.cm, 1) == 3.0
    assert d.core_properties.identifier == NUMBER
    assert d.core_properties.created.date() == DAY
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    with zipfile.ZipFile(result.path) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize("kind", SURAT_DINAS)
def test_surat_dinas_structure(kind, tmp_path):
    _, d = _render(kind, tmp_path)
    texts = _texts(d)
    labels = ("Samarinda, ", "Nomor\t:", "Sifat\t:", "Lampiran\t:", "Hal\t:", "Yth. ", "di ")
    idx = {label: next(i for i, t in enumerate(texts) if t.startswith(label)) for label in labels}
    place = "di Samarinda" if kind == "permohonan" else "di Tempat"
    assert texts[idx["di "]] == place
    assert texts[idx["Samarinda, "]] == "Samarinda, 25 November 2026"
    assert texts[idx["Nomor\t:"]] == f"Nomor\t:\t{NUMBER}"
    assert texts[idx["Sifat\t:"]] == "Sifat\t:\tPenting"
    order = [idx[k] for k in labels]
    assert order == sorted(order)
    assert "Kepala Dinas Komunikasi dan Informatika" in texts[idx["Yth. "]] or kind == "permohonan"
    nip = [t for t in texts if t.startswith("NIP. ")]
    assert nip and re.fullmatch(r"NIP\. \d{18}", nip[-1])
    signer = texts.index("Dr. Uji Penandatangan, S.Kom., M.T.")
    assert idx["di "] < signer < texts.index(nip[-1])
    # The right-column date line and the signature block are indented to the right half.
    date_para = d.paragraphs[idx["Samarinda, "]]
    assert date_para.paragraph_format.left_indent.cm > 7


def test_pemberitahuan_wording_and_lampiran(tmp_path):
    _, d = _render("pemberitahuan", tmp_path)
    texts = _texts(d)
    assert "Lampiran\t:\t1 (satu) berkas" in texts
    assert "Hal\t:\tPemberitahuan Pengisian Kuesioner PeManTIK Tahun 2026" in texts
    body = "\n".join(texts)
    assert "paling lambat Jumat, 10 Juli 2026" in body
    assert "kuesioner-pemantik-2026-64.72.xlsx" in body


def test_undangan_event_block_and_tembusan(tmp_path):
    _, d = _render("undangan", tmp_path)
    texts = _texts(d)
    assert "Hari/tanggal\t:\tRabu, 12 Agustus 2026" in texts
    assert "Waktu\t:\tpukul 09.00 WITA s.d. 12.00 WITA" in texts
    assert any(
        t.startswith("Tempat\t:\tRuang Rapat") and "https://zoom.example/" in t for t in texts
    )
    assert any(t.startswith("Acara\t:\t") for t in texts)
    tembusan = texts.index("Tembusan:")
    assert texts[tembusan + 1] == "1.\tGubernur Kalimantan Timur (sebagai laporan)"


def test_undangan_online_only(tmp_path):
    data = example_inputs(0)["undangan"]
    data["venue"] = ""
    data["time_end"] = ""
    _, d = _render("undangan", tmp_path, data)
    texts = _texts(d)
    assert "Tempat\t:\tdaring melalui https://zoom.example/j/123456789" in texts
    assert "Waktu\t:\tpukul 09.00 WITA s.d. selesai" in texts
    data["online_link"] = ""
    with pytest.raises(LetterInputError, match="tempat .* atau tautan daring"):
        _render("undangan", tmp_path / "x", data)


def test_permohonan_lists_regions(tmp_path):
    _, d = _render("permohonan", tmp_path)
    texts = _texts(d)
    assert "Yth. Dr. Asesor Pertama, M.Kom. (contoh)" in texts and "di Samarinda" in texts
    assert "1.\tKota Samarinda" in texts and "2.\tKota Balikpapan" in texts


def test_formulir_table_levels_scores_and_signatures(tmp_path):
    data = example_inputs(3)["formulir"]
    _, d = _render("formulir", tmp_path, data, number=None)
    tables = _table_texts(d)
    indicators, dims, signatures = tables
    header = indicators[0]
    assert header == [
        "No",
        "Indikator",
        "Mandiri",
        data["assessors"][0]["name"],
        data["assessors"][1]["name"],
        "Akhir",
    ]
    assert len(indicators) == 1 + 47
    row4 = indicators[4]  # indicator 4 carries a note from the first assessor
    ind4 = data["indicators"][3]
    assert (
        row4[0] == "4"
        and row4[2] == str(ind4["self_level"])
        and row4[5] == str(ind4["final_level"])
    )
    assert row4[3] == f"{ind4['scores'][0]['level']}\nbukti dukung kurang lengkap"
    assert [r[0] for r in dims[1:5]] == [x["name"] for x in data["dimensions"]]
    assert dims[-2][2] == f"{data['total']:.2f}".replace(".", ",")
    assert dims[-1][2] == data["predicate"]
    assert "Asesor 1" in signatures[0][0] and data["assessors"][0]["name"] in signatures[0][0]
    assert "NIP. 198503122010011002" in signatures[0][1]


def test_berita_acara_date_in_words_and_closing(tmp_path):
    _, d = _render("berita_acara", tmp_path)
    texts = _texts(d)
    assert "BERITA ACARA PENILAIAN" in texts
    assert f"Nomor: {NUMBER}" in texts
    opening = next(t for t in texts if t.startswith("Pada "))
    assert opening.startswith(
        "Pada hari ini, Rabu tanggal dua belas bulan Agustus tahun dua ribu dua puluh enam"
    )
    assert "Demikian Berita Acara ini dibuat untuk dipergunakan sebagaimana mestinya." in texts
    parties = _table_texts(d)[0]
    assert parties[0] == ["No", "Nama", "Jabatan", "Instansi"] and len(parties) == 4
    assert any(re.fullmatch(r"NIP\. \d{18}", t) for t in texts)


def test_sk_penetapan_sections_in_order_and_lampiran(tmp_path):
    _, d = _render("sk_penetapan", tmp_path)
    texts = _texts(d)
    heads = [
        "KEPUTUSAN KEPALA DINAS KOMUNIKASI DAN INFORMATIKA PROVINSI KALIMANTAN TIMUR",
        f"NOMOR {NUMBER}",
        "TENTANG",
        "Menimbang\t:\ta.\t",
        "\t\tb.\t",
        "Mengingat\t:\t1.\tUndang-Undang Nomor 23 Tahun 2014 tentang Pemerintahan Daerah "
        "(Lembaran Negara Republik Indonesia Tahun 2014 Nomor 244, Tambahan Lembaran Negara "
        "Republik Indonesia Nomor 5587)",
        "\t\t2.\tUndang-Undang Nomor 11 Tahun 2008 tentang Informasi dan Transaksi Elektronik "
        "(Lembaran Negara Republik Indonesia Tahun 2008 Nomor 58",
        "\t\t3.\tUndang-Undang Nomor 14 Tahun 2008",
        "\t\t4.\tUndang-Undang Nomor 25 Tahun 2009",
        "\t\t5.\tPeraturan Pemerintah Nomor 12 Tahun 2017",
        "\t\t6.\tPeraturan Presiden Nomor 95 Tahun 2018 tentang Sistem Pemerintahan Berbasis "
        "Elektronik (Lembaran Negara Republik Indonesia Tahun 2018 Nomor 182)",
        "\t\t7.\tPeraturan Menteri Pendayagunaan Aparatur Negara dan Reformasi Birokrasi Nomor 59 "
        "Tahun 2020",
        "MEMUTUSKAN:",
        "Menetapkan\t:\t",
        "KESATU\t:\t",
        "KEDUA\t:\t",
        "KETIGA\t:\t",
        "Ditetapkan di Samarinda",
        "pada tanggal 25 November 2026",
        "Tembusan Yth.:",
        "LAMPIRAN",
    ]
    assert texts[texts.index("TENTANG") + 1].startswith("PENETAPAN HASIL PENILAIAN PENGUATAN")
    amended = next(t for t in texts if "Nomor 11 Tahun 2008 tentang Informasi" in t)
    assert "diubah dengan Undang-Undang Nomor 19 Tahun 2016" in amended
    assert "Undang-Undang Nomor 1 Tahun 2024" in amended and "Nomor 6905" in amended
    positions = []
    for head in heads:
        positions.append(
            next(
                i
                for i, t in enumerate(texts)
                if t.startswith(head) and i > (positions[-1] if positions else -1)
            )
        )
    assert positions == sorted(positions)
    ranking = _table_texts(d)[0]
    assert ranking[0] == ["Peringkat", "Kode", "Kabupaten/Kota", "Nilai", "Predikat", "Keterangan"]
    assert [r[0] for r in ranking[1:]] == [str(i) for i in range(1, 11)]
    totals = [float(r[3].replace(",", ".")) for r in ranking[1:]]
    assert totals == sorted(totals, reverse=True)


def test_laporan_charts_ranking_timeline_and_findings(tmp_path):
    data = example_inputs(0)["laporan"]
    _, d = _render("laporan", tmp_path, data, number=None)
    texts = _texts(d)
    for head in (
        "LAPORAN HASIL KEGIATAN",
        "BAB I PENDAHULUAN",
        "B. Dasar Hukum",
        "BAB II PELAKSANAAN KEGIATAN",
        "BAB III HASIL PENILAIAN",
        "BAB IV TEMUAN DAN REKOMENDASI",
        "BAB V PENUTUP",
        "LAMPIRAN",
    ):
        assert head in texts, head
    # Charts are inline PNG images: the totals chart plus one profile chart per 10 regions.
    assert len(d.inline_shapes) == 2 + 1  # and the lambang daerah in the kop
    with zipfile.ZipFile(tmp_path / "laporan.docx") as zf:
        media = [n for n in zf.namelist() if n.startswith("word/media/")]
        assert len(media) == 3 and all(zf.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in media)
    tables = _table_texts(d)
    timeline = tables[0]
    assert timeline[0][:2] == ["No", "Kegiatan"] and len(timeline) == 15
    ranking = tables[1]
    assert (
        ranking[0] == ["Peringkat", "Kode", "Kabupaten/Kota", "Nilai", "Predikat"]
        and len(ranking) == 11
    )
    best = min(data["results"], key=lambda r: r["rank"])
    assert ranking[1][2] == best["region_name"]
    per_dim = tables[2]
    assert per_dim[0] == ["Kabupaten/Kota", *data["dimensions"], "Total"]
    # Findings name each region's weakest dimension.
    first = data["results"][0]
    weakest = min(first["dimensions"], key=first["dimensions"].get)
    finding = texts[
        texts.index(
            f"{[r['region_name'] for r in sorted(data['results'], key=lambda r: r['rank'])].index(first['region_name']) + 1}. {first['region_name']}"
        )
        + 1
    ]
    assert finding.startswith("Dimensi terlemah:") and weakest in finding


def test_laporan_recommendation_from_input(tmp_path):
    data = example_inputs(0)["laporan"]
    data["results"] = data["results"][:1]
    data["results"][0]["dimensions"] = {"Kebijakan Internal SPBE": 1.0, "Tata Kelola SPBE": 3.0}
    data["dimensions"] = ["Kebijakan Internal SPBE", "Tata Kelola SPBE"]
    data["recommendations"] = {
        "Kebijakan Internal SPBE": "Menetapkan Peraturan Kepala Daerah tentang SPBE."
    }
    _, d = _render("laporan", tmp_path, data, number=None)
    assert "-\tMenetapkan Peraturan Kepala Daerah tentang SPBE." in _texts(d)


def test_same_input_same_bytes(tmp_path):
    a, _ = _render("laporan", tmp_path / "a")
    b, _ = _render("laporan", tmp_path / "b")
    assert a.sha256 == b.sha256


def test_markup_errors_name_the_template(tmp_path, monkeypatch):
    from models.settings import reset_settings

    override = tmp_path / "wording"
    override.mkdir()
    (override / "pengingat.j2").write_text(".tabel\n.sel a | b\n", encoding="utf-8")
    monkeypatch.setenv("PEMANTIK_TEMPLATES_DIR", str(override))
    reset_settings()
    with pytest.raises(TemplateProblem, match=r"Surat Pengingat .*pengingat\.j2.*tidak ditutup"):
        _render("pengingat", tmp_path)
    (override / "pengingat.j2").write_text("{% if %}\n", encoding="utf-8")
    with pytest.raises(TemplateProblem, match=r"pengingat\.j2 baris 1 tidak sah"):
        _render("pengingat", tmp_path)
    assert not (tmp_path / "pengingat.docx").exists()


def test_timeline_from_step_records_feeds_the_laporan(tmp_path):
    from datetime import datetime

    from letters.laporan import timeline_from_records
    from models.tables import StepRecord

    records = [
        StepRecord(
            cycle_id=1,
            region_code="64.72",
            step_no=1,
            actor="Aptika",
            event="done",
            due_date=date(2026, 7, 2),
            completed_at=datetime(2026, 7, 1, 17, 0, tzinfo=UTC),
        ),
        StepRecord(
            cycle_id=1,
            region_code="64.71",
            step_no=1,
            actor="Aptika",
            event="done",
            due_date=date(2026, 7, 2),
            completed_at=datetime(2026, 7, 1, 1, 0, tzinfo=UTC),
        ),
        {"step_no": 3, "region_code": "64.72", "event": "waiting", "due_date": date(2026, 7, 13)},
        {
            "step_no": 3,
            "region_code": "64.72",
            "event": "done",
            "due_date": date(2026, 7, 15),
            "completed_at": datetime(2026, 7, 14, 3, 0, tzinfo=UTC),
        },
    ]
    items = timeline_from_records(records, total=2)
    assert len(items) == 14
    first, third = items[0], items[2]
    # 17:00 UTC on 1 July is 2 July in WITA.
    assert (first.completed_on, first.due_date, first.done, first.total) == (
        date(2026, 7, 2),
        date(2026, 7, 2),
        2,
        2,
    )
    assert (third.due_date, third.completed_on, third.done) == (
        date(2026, 7, 15),
        date(2026, 7, 14),
        1,
    )
    assert items[13].completed_on is None and items[13].done == 0
    data = example_inputs(0)["laporan"]
    data["timeline"] = [i.model_dump(mode="json") for i in items]
    _, d = _render("laporan", tmp_path, data, number=None)
    timeline = _table_texts(d)[0]
    assert timeline[1][0] == "1" and timeline[1][4] == "2 Juli 2026" and timeline[1][5] == "2/2"
    assert timeline[3][5] == "1/2" and timeline[14][4] == "-"


def test_override_added_while_running_is_picked_up(tmp_path, monkeypatch):
    from models.settings import reset_settings

    override = tmp_path / "wording"
    override.mkdir()
    monkeypatch.setenv("PEMANTIK_TEMPLATES_DIR", str(override))
    reset_settings()
    first, d1 = _render("pengingat", tmp_path / "a")
    assert first.template_version.startswith("2026.1+")
    (override / "_ttd.j2").write_text(".ttd Penandatangan Khusus\n", encoding="utf-8")
    second, d2 = _render("pengingat", tmp_path / "b")
    assert second.template_version != first.template_version
    assert "Penandatangan Khusus" in _texts(d2) and "Penandatangan Khusus" not in _texts(d1)


def test_values_cannot_break_the_layout(tmp_path):
    data = example_inputs(0)["formulir"]
    data["indicators"][0]["name"] = "Nama | dengan garis\nbaris baru dan kontrol \x0b"
    data["region_name"] = "Kota | Uji"
    _, d = _render("formulir", tmp_path, data, number=None)
    row = _table_texts(d)[0][1]
    assert len(row) == 6 and row[1].startswith("Nama | dengan garis baris baru dan kontrol")
    assert "Kabupaten/Kota\t:\tKota | Uji (64.72)" in _texts(d)
