"""What a person reads in an email: no words glued at HTML tag boundaries, no internal jargon,
a named contact person, and the RFC 3834 headers that keep autoresponders quiet."""

from __future__ import annotations

import re
from datetime import date
from email import message_from_bytes
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mail.message import message_bytes, product_headers
from mail.render import TEMPLATES_DIR, available_templates, render_bodies
from models.settings import load_settings
from models.tables import Dispatch
from tests.test_mail_templates import SAMPLES, values

LETTER_TEMPLATES = Path(__file__).resolve().parent.parent / "letters" / "templates"

# Every optional key filled, with multi-word values, so every branch's joins are rendered.
OPTIONAL = {
    "region_name": "Kabupaten Mahakam Ulu",
    "recipient_name": "Kepala Dinas Komunikasi dan Informatika Kabupaten Mahakam Ulu",
    "reply_by": date(2026, 8, 1),
    "deadline": date(2026, 7, 10),
    "portal_link": "https://pemantik.example/isi",
    "indicator_count": 47,
    "note": "Bukti dukung lengkap",
    "online_link": "https://rapat.example/pemantik",
    "letter": {"number": "005/21/Diskominfo/2026", "subject": "Surat"},
    "paragraf": ["Paragraf pertama.", "Paragraf kedua."],
}
REPLY = {
    "label": "jawaban kuesioner",
    "ringkasan": "jawaban disimpan",
    "galat": ["Indikator 3: tingkat kosong"],
    "petunjuk": True,
    "pihak": "",
    "contoh": {
        "delegasi": "Nama, Jabatan",
        "alasan": "bertugas ke luar daerah",
        "pernyataan": "tidak memiliki benturan kepentingan",
        "tanda_terima": "Diterima oleh: Nama; Nomor agenda: 12",
    },
    "tahun": 2025,
    "tahun_kini": 2026,
    "wilayah": "Kabupaten Mahakam Ulu",
    "admin": "admin@contoh.go.id",
    "dikutip": ["kami akan hadir"],
    "kurang": "nama delegasi",
}
DIGEST = {
    "tanggal": date(2026, 7, 13),
    "jumlah": 1,
    "baris": [
        {
            "wilayah": "Kabupaten Mahakam Ulu",
            "langkah": "Jawaban kuesioner",
            "uraian": "pengembalian Jawaban Kuesioner",
            "pihak": "wilayah",
            "tenggat": date(2026, 7, 10),
            "lewat": 1,
            "diperpanjang": True,
        }
    ],
    "lainnya": 3,
}
JENIS = ["ditolak", "tidak-ditunggu", "siklus-lama", "tidak-terdaftar", "tidak-terkait",
         "tidak-terbaca", "diterima"]  # fmt: skip
CASES = [(name, {}) for name in sorted(SAMPLES)]
CASES += [("balasan_otomatis", {**REPLY, "jenis": j}) for j in JENIS]
CASES += [("ringkasan_admin", DIGEST)]
CASES += [
    (
        "report/pengantar_sk",
        {"sk_number": "100.3.3.2/1/Diskominfo/2026", "sk_date": date(2026, 12, 28),
         "ba_number": "000.5.6/3/Diskominfo/2026", "total": 3.425, "predicate": "Baik",
         "rank": 2},
    )
]  # fmt: skip

BLOCK_TAGS = {"p", "li", "ul", "ol", "td", "th", "tr", "table", "br", "hr", "div", "title",
              "h1", "h2", "h3", "head", "body", "html"}  # fmt: skip
MONTHS_DAYS = {"januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus",
               "september", "oktober", "november", "desember", "senin", "selasa", "rabu",
               "kamis", "jumat", "sabtu", "minggu"}  # fmt: skip


class _Text(HTMLParser):
    """The text a mail client shows: block tags break words apart, inline tags do not."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _shown(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


def _words(text: str) -> set[str]:
    """Whitespace-separated words, lower case, without punctuation at either end."""
    edge = "\"'.,:;!?()[]<>«»“”‘’&-–—…*"
    return {w.strip(edge).lower() for w in text.split()} - {""}


def _vocabulary(name: str, context: dict) -> set[str]:
    """Words a correct rendering may show: the template's own words (jinja code and tags
    counted as spaces, string literals in expressions included) and the values' words."""
    source = ""
    for path in (TEMPLATES_DIR / f"{name}.html.j2", TEMPLATES_DIR / "_dasar.html.j2"):
        source += path.read_text(encoding="utf-8") + "\n"
    literals = " ".join(re.findall(r'"([^"]*)"', " ".join(re.findall(r"{[{%].*?[%}]}", source))))
    plain = re.sub(r"{#.*?#}|{[{%].*?[%}]}|<[^>]+>", " ", source, flags=re.S)
    words = _words(_shown(plain) + " " + literals)

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        elif hasattr(value, "model_dump"):
            walk(value.model_dump(mode="json"))
        else:
            words.update(_words(str(value)))

    walk(context)
    return words | MONTHS_DAYS


def _context(name: str, extra: dict) -> dict:
    settings = load_settings()
    base = values(name) if name in SAMPLES else values("umum")
    return {**base, **OPTIONAL, **extra, "contact": settings.contact, "reply_to": "a@b.go.id"}


@pytest.mark.parametrize(
    ("name", "extra"), CASES, ids=[f"{n}-{e.get('jenis', '')}" for n, e in CASES]
)
def test_no_words_glued_at_tag_boundaries(name: str, extra: dict) -> None:
    ctx = _context(name, extra)
    _, html = render_bodies(name, ctx)
    vocabulary = _vocabulary(name, ctx)
    glued = sorted(
        w for w in _words(_shown(html)) if w not in vocabulary and not re.fullmatch(r"[\d.,/]+", w)
    )
    assert glued == [], f"{name}: words glued together in the HTML: {glued}"


def test_the_known_spacing_bugs_are_gone() -> None:
    _, html = render_bodies("invitation/undangan", _context("invitation/undangan", {}))
    assert "delegasi) paling lambat" in " ".join(_shown(html).split())
    _, html = render_bodies("pengingat", _context("pengingat", {}))
    assert "Mahakam Ulu dalam rangka" in " ".join(_shown(html).split())


# Step numbers, the engine's words, answer versions, CLI commands and options, English terms.
JARGON = re.compile(
    r"\blangkah \d|\bpenantian\b|\bversi \d|\bversi jawaban\b|--[a-z]|\blevel\b|\bPIC\b"
    r"|\bCLI\b|\bpemantik (status|perpanjang|jawaban|nilai|surat|konfirmasi|kehadiran|serve|lepas)\b",
    re.I,
)


@pytest.mark.parametrize(
    ("name", "extra"), CASES, ids=[f"{n}-{e.get('jenis', '')}" for n, e in CASES]
)
def test_no_internal_jargon_in_what_a_person_reads(name: str, extra: dict) -> None:
    text, html = render_bodies(name, _context(name, extra))
    for body in (text, _shown(html)):
        found = [
            m.group(0) for m in JARGON.finditer(body) if m.group(0).lower() != "pemantik tahun"
        ]
        assert found == [], f"{name}: {found}"


def test_letter_templates_carry_no_internal_jargon() -> None:
    for path in sorted(LETTER_TEMPLATES.rglob("*.j2")):
        shown = re.sub(r"{#.*?#}", "", path.read_text(encoding="utf-8"), flags=re.S)
        shown = re.sub(r"{[{%].*?[%}]}", " ", shown, flags=re.S)
        assert not re.search(r"\blangkah \d|\bpenantian\b|\bversi\b|\bPIC\b|\blevel\b", shown), path


def test_every_email_names_the_contact_person() -> None:
    settings = load_settings()
    assert {n for n, _ in CASES} == set(available_templates())  # every template is rendered
    for name, extra in CASES:
        text, html = render_bodies(name, _context(name, extra))
        for body in (text, html):
            assert f"Narahubung: {settings.contact.name}" in body, name
            assert settings.contact.phone in body, name


@pytest.mark.parametrize(
    ("kind", "value"),
    [("undangan", "auto-generated"), ("pengingat", "auto-generated"),
     ("notifikasi_admin", "auto-generated"), ("balasan_otomatis", "auto-replied")],
)  # fmt: skip
def test_automatic_messages_say_so(kind: str, value: str) -> None:
    row = Dispatch(
        idempotency_key=f"k/{kind}",
        recipient="kadis@contoh.go.id",
        subject="Uji",
        body_text="isi",
        body_html="<p>isi</p>",
        kind=kind,
        message_id=f"<{kind}@pemantik.example>",
    )
    assert ("Auto-Submitted", value) in product_headers(row)
    parsed = message_from_bytes(message_bytes(row, load_settings()))
    assert parsed["Auto-Submitted"] == value
    assert parsed["X-Auto-Response-Suppress"] == "All"
