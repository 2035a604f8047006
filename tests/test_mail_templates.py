"""The Indonesian email templates: every one renders, HTML is escaped, gaps are refused."""

from __future__ import annotations

from datetime import date

import pytest

from mail.render import TEMPLATES_DIR, TemplateContextError, available_templates, render_bodies
from models.settings import load_settings

COMMON = {
    "subject": "[PEMANTIK-2026-64.72] Uji",
    "reference": "[PEMANTIK-2026-64.72]",
    "recipient_name": "PIC Kota Samarinda",
    "sender_name": "PeManTIK Diskominfo Prov. Kaltim",
    "lampiran": ["Surat Pemberitahuan.docx", "Lembar Kuesioner.xlsx"],
}

SAMPLES = {
    "pemberitahuan": {
        "tahun": 2026,
        "nama_wilayah": "Kota Samarinda",
        "nomor_surat": "005/12/Diskominfo/2026",
        "tenggat": date(2026, 7, 10),
    },
    "tanda_terima": {
        "tahun": 2026,
        "nama_wilayah": "Kota Samarinda",
        "versi": 2,
        "diterima_pada": date(2026, 7, 8),
    },
    "undangan": {
        "tahun": 2026,
        "nama_wilayah": "Kota Samarinda",
        "nomor_surat": "005/20/Diskominfo/2026",
        "tanggal_acara": date(2026, 8, 4),
        "waktu": "09.00 WITA – selesai",
        "tempat": "Ruang Rapat Diskominfo",
        "acara": "Asesmen PeManTIK",
    },
    "permohonan": {
        "tahun": 2026,
        "nomor_surat": "005/21/Diskominfo/2026",
        "wilayah": ["Kota Samarinda", "Kota Bontang"],
        "tanggal_acara": date(2026, 8, 4),
        "tempat": "Ruang Rapat Diskominfo",
    },
    "pengingat": {
        "tahun": 2026,
        "hal": "pengembalian Jawaban Kuesioner",
        "tenggat": date(2026, 7, 10),
        "sisa_hari": -2,
    },
    "jawaban_ditolak": {
        "tahun": 2026,
        "nama_wilayah": "Kota Samarinda",
        "kesalahan": ["Indikator 3: tingkat kosong", "Indikator 7: tautan bukti tidak sah"],
    },
    "hasil": {
        "tahun": 2026,
        "nama_wilayah": "Kota Samarinda",
        "nilai": 3.456,
        "predikat": "Baik",
        "dimensi": [{"nama": "Kebijakan Internal SPBE", "nilai": 3.1}],
    },
    "notifikasi_admin": {
        "judul": "Surel gagal dikirim",
        "rincian": {"Penerima": "x@contoh.go.id", "Kode SMTP": 550},
    },
    "umum": {"paragraf": ["Paragraf pertama.", "Paragraf kedua."]},
}

EXPECTED = {
    "pemberitahuan": "Jumat, 10 Juli 2026",
    "tanda_terima": "versi 2",
    "undangan": "Selasa, 4 Agustus 2026",
    "permohonan": "Kota Bontang",
    "pengingat": "terlewati 2 hari kerja",
    "jawaban_ditolak": "2. Indikator 7: tautan bukti tidak sah",
    "hasil": "3,46 (Baik)",
    "notifikasi_admin": "Kode SMTP: 550",
    "umum": "Paragraf kedua.",
}


def values(name: str, **extra: object) -> dict:
    return {**COMMON, "org": load_settings().organisation, **SAMPLES[name], **extra}


def test_the_required_templates_exist() -> None:
    assert set(SAMPLES) <= set(available_templates())
    for name in available_templates():
        for ext in ("txt", "html"):
            source = (TEMPLATES_DIR / f"{name}.{ext}.j2").read_text(encoding="utf-8")
            assert source.startswith("{#"), f"{name}.{ext}.j2 must document its context keys"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_template_renders(name: str) -> None:
    text, html = render_bodies(name, values(name))
    assert EXPECTED[name] in text
    assert "Hormat kami" in text and "[PEMANTIK-2026-64.72]" in text
    assert html.lstrip().startswith("<!DOCTYPE html>") and "Yth. PIC Kota Samarinda" in html


def test_html_is_autoescaped_text_is_not() -> None:
    text, html = render_bodies("umum", values("umum", paragraf=["<script>alert(1)</script> & co"]))
    assert "<script>alert(1)</script> & co" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html and "<script>" not in html


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_missing_required_key_is_named(name: str) -> None:
    required = next(iter(SAMPLES[name]))
    ctx = values(name)
    del ctx[required]
    with pytest.raises(TemplateContextError, match=rf"'{name}'.*{required}"):
        render_bodies(name, ctx)


def test_bad_date_is_refused() -> None:
    with pytest.raises(TemplateContextError, match="bukan tanggal"):
        render_bodies("pengingat", values("pengingat", tenggat="besok"))
