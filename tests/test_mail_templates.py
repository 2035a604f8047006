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
    "questionnaire/pemberitahuan": {
        "letter": {"number": "005/12/Diskominfo/2026", "subject": "Pemberitahuan"},
        "year": 2026,
        "region_name": "Kota Samarinda",
        "deadline": date(2026, 7, 10),
    },
    "questionnaire/tanda_terima": {
        "letter": {"number": "005/14/Diskominfo/2026", "subject": "Tanda Terima"},
        "year": 2026,
        "region_name": "Kota Samarinda",
        "received_at": date(2026, 7, 8),
    },
    "invitation/undangan": {
        "letter": {"number": "005/20/Diskominfo/2026", "subject": "Undangan"},
        "year": 2026,
        "region_name": "Kota Samarinda",
        "event_date": date(2026, 8, 4),
        "time_start": "09.00",
        "venue": "Ruang Rapat Diskominfo",
        "agenda": "Asesmen PeManTIK",
        "zone": "WITA",
    },
    "invitation/permohonan": {
        "letter": {"number": "005/21/Diskominfo/2026", "subject": "Permohonan"},
        "year": 2026,
        "regions": ["Kota Samarinda", "Kota Bontang"],
        "assignments": [
            {
                "name": "Kota Samarinda",
                "session_date": date(2026, 8, 4),
                "scores_due": date(2026, 8, 7),
                "template": "Nilai-PeManTIK-2026-64.72.csv",
            },
            {
                "name": "Kota Bontang",
                "session_date": date(2026, 8, 5),
                "scores_due": date(2026, 8, 10),
                "template": "Nilai-PeManTIK-2026-64.74.csv",
            },
        ],
        "scores_due": date(2026, 8, 10),
        "event_date": date(2026, 8, 4),
        "venue": "Ruang Rapat Diskominfo",
    },
    "pengingat": {
        "pending": "pengembalian Jawaban Kuesioner",
        "year": 2026,
        "due_date": date(2026, 7, 10),
        "days_left": -2,
    },
    "scoring/hasil": {
        "total": 3.456,
        "year": 2026,
        "region_name": "Kota Samarinda",
        "predicate": "Baik",
        "dimensions": [{"name": "Kebijakan Internal SPBE", "score": 3.1}],
    },
    "notifikasi_admin": {
        "judul": "Surel gagal dikirim",
        "rincian": {"Penerima": "x@contoh.go.id", "Kode SMTP": 550},
    },
    "umum": {"paragraf": ["Paragraf pertama.", "Paragraf kedua."]},
}

EXPECTED = {
    "questionnaire/pemberitahuan": "Jumat, 10 Juli 2026",
    "questionnaire/tanda_terima": "Tanda Terima Nomor 005/14/Diskominfo/2026",
    "invitation/undangan": "Selasa, 4 Agustus 2026",
    "invitation/permohonan": "Kota Bontang",
    "pengingat": "terlewati 2 hari kerja",
    "scoring/hasil": "3,46 (Baik)",
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
    with pytest.raises(TemplateContextError, match=rf"'{name}'.*{required.split('.')[0]}"):
        render_bodies(name, ctx)


def test_bad_date_is_refused() -> None:
    with pytest.raises(TemplateContextError, match="bukan tanggal"):
        render_bodies("pengingat", values("pengingat", due_date="besok"))
