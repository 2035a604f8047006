"""Signer, lambang and LibreOffice: a real cycle refuses to start on the shipped examples; the
demo may, and every page it makes carries the CONTOH mark."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest

from letters.examples import example_inputs
from letters.readiness import CycleNotReady, start_problems
from letters.service import issue_letter, store_document
from models.settings import EXAMPLE_LOGO, get_settings, reset_settings
from tests.cycles import new_cycle

DAY = date(2026, 11, 25)


def _header_text(path: str | Path) -> str:
    """The page header's text, the same on the first page (own header) and the others."""
    section = docx.Document(str(path)).sections[0]
    first, rest = (
        "\n".join(p.text for p in h.paragraphs) for h in (section.first_page_header, section.header)
    )
    assert first == rest
    return first


def _media(path: str | Path) -> list[bytes]:
    with zipfile.ZipFile(path) as zf:
        return [zf.read(n) for n in zf.namelist() if n.startswith("word/media/")]


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("PEMANTIK_SIGNATORY__NAME", "PEMANTIK_SIGNATORY__NAME"),
        ("PEMANTIK_SIGNATORY__NIP", "PEMANTIK_SIGNATORY__NIP"),
        ("PEMANTIK_ORGANISATION__LOGO", "PEMANTIK_ORGANISATION__LOGO"),
        ("PEMANTIK_CONTACT__PHONE", "PEMANTIK_CONTACT__PHONE"),
    ],
)
def test_a_cycle_refuses_to_start_on_an_example_setting(db_url, monkeypatch, unset, named):
    monkeypatch.delenv(unset)
    reset_settings()
    with pytest.raises(CycleNotReady) as err:
        new_cycle()
    message = str(err.value)
    assert message.startswith("Siklus tidak dapat dimulai")
    assert named in message and "contoh bawaan" in message


def test_a_cycle_refuses_to_start_without_libreoffice(db_url, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    reset_settings()
    with pytest.raises(CycleNotReady, match="LibreOffice belum terpasang"):
        new_cycle()


def test_real_settings_start_a_cycle_and_the_demo_may_use_the_examples(db_url, monkeypatch):
    assert start_problems(get_settings()) == []
    assert new_cycle(year=2026) > 0
    for name in ("SIGNATORY__NAME", "SIGNATORY__NIP", "ORGANISATION__LOGO", "CONTACT__NAME"):
        monkeypatch.delenv(f"PEMANTIK_{name}")
    monkeypatch.setenv("PEMANTIK_DEMO", "true")
    reset_settings()
    assert start_problems(get_settings()) == []
    assert new_cycle(year=2027) > 0


def test_the_kop_carries_the_lambang_from_settings(session):
    letter = issue_letter(
        session,
        "pemberitahuan",
        example_inputs(0)["pemberitahuan"],
        idempotency_key="kop-1",
        letter_date=DAY,
        pdf=False,
    )
    logo = Path(get_settings().organisation.logo).read_bytes()
    assert logo in _media(letter.file_path)
    assert "CONTOH" not in _header_text(letter.file_path)  # a real letter carries no mark


def test_every_demo_document_is_marked_contoh(session, monkeypatch):
    monkeypatch.delenv("PEMANTIK_ORGANISATION__LOGO")
    monkeypatch.setenv("PEMANTIK_DEMO", "true")
    reset_settings()
    inputs = example_inputs(0)
    letter = issue_letter(
        session,
        "undangan",
        inputs["undangan"],
        idempotency_key="demo-1",
        letter_date=DAY,
        pdf=False,
    )
    formulir = store_document(
        session, "formulir", inputs["formulir"], cycle_id=None, region_code=None
    )
    for path in (letter.file_path, formulir.file_path):
        assert _header_text(path).startswith("CONTOH\n")
        assert EXAMPLE_LOGO.read_bytes() in _media(path)  # the shipped example lambang
    # A letter rebuilt from its snapshot keeps the mark, whatever the settings are now.
    monkeypatch.delenv("PEMANTIK_DEMO")
    reset_settings()
    from letters.service import regenerate

    again = regenerate(session, letter.number, Path(letter.file_path).with_name("ulang.docx"))
    assert _header_text(again).startswith("CONTOH\n")


def test_documents_are_archived_as_pdf_beside_the_docx(session):
    import hashlib

    doc = store_document(
        session, "formulir", example_inputs(1)["formulir"], cycle_id=None, region_code=None
    )
    pdf = Path(doc.pdf_path)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.with_suffix(".docx") == Path(doc.file_path)
    assert doc.pdf_sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()


def test_a_letter_without_pdf_never_leaves_as_docx_outside_the_demo(session, monkeypatch):
    from letters.errors import LetterError
    from letters.service import outgoing_file

    letter = issue_letter(
        session,
        "pemberitahuan",
        example_inputs(0)["pemberitahuan"],
        idempotency_key="docx-1",
        letter_date=DAY,
        pdf=False,
    )
    with pytest.raises(LetterError, match="tidak dikirim sebagai berkas .docx"):
        outgoing_file(letter)
    monkeypatch.setenv("PEMANTIK_DEMO", "true")
    reset_settings()
    assert outgoing_file(letter) == Path(letter.file_path)  # the demo's fallback


def test_the_demo_workbook_is_marked_contoh(tmp_path):
    import openpyxl

    from assessment.instruments import load_instrument
    from assessment.workbook import build_questionnaire

    path = build_questionnaire(
        load_instrument("spbe-2020"),
        cycle_year=2026,
        cycle_id=1,
        region_code="64.72",
        region_name="Kota Samarinda",
        out_path=tmp_path / "k.xlsx",
        example=True,
    )
    wb = openpyxl.load_workbook(path)
    assert wb["Petunjuk"]["A1"].value.startswith("CONTOH — ")
    assert all(ws.oddHeader.center.text.startswith("CONTOH") for ws in wb.worksheets)
