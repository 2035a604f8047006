"""The ``pemantik surat`` commands and the PDF path (skipped when LibreOffice is missing)."""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from pathlib import Path

import docx
import pytest
from typer.testing import CliRunner

from letters.examples import example_inputs
from letters.pdf import convert_to_pdf, pdf_available
from letters.register import register_of
from letters.service import issue_letter, make_pdfs

needs_soffice = pytest.mark.skipif(
    not pdf_available(), reason="LibreOffice (soffice) tidak terpasang"
)
DAY = date(2026, 11, 25)


def _cli(*args: str):
    from deployments.cli import app

    return CliRunner().invoke(app, list(args))


def test_surat_contoh_writes_every_document(tmp_path):
    result = _cli(
        "surat",
        "contoh",
        "--keluar",
        str(tmp_path / "contoh"),
        "--tanggal",
        "2026-11-25",
        "--tanpa-pdf",
    )
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "contoh").glob("*.docx"))
    assert len(files) == 11 and "contoh-sk_penetapan.docx" in files
    assert "contoh-daftar_hadir.docx" in files and "contoh-pengantar_sk.docx" in files
    texts = [p.text for p in docx.Document(tmp_path / "contoh" / "contoh-undangan.docx").paragraphs]
    assert (
        "Samarinda, 25 November 2026" in texts
        and f"Nomor\t:\t{register_of('undangan').klasifikasi}/3/Diskominfo/2026" in texts
    )


def test_surat_ulang_regenerates_with_recorded_hash(db_url, tmp_path):
    from models.db import session_scope

    with session_scope(db_url) as session:
        letter = issue_letter(
            session,
            "berita_acara",
            example_inputs(0)["berita_acara"],
            idempotency_key="ba",
            letter_date=DAY,
            pdf=False,
        )
        number, sha = letter.number, letter.sha256
    out = tmp_path / "ulang.docx"
    result = _cli("surat", "ulang", number, "--keluar", str(out))
    assert result.exit_code == 0, result.output
    assert "SHA-256 sama" in result.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() == sha
    missing = _cli("surat", "ulang", "005/404/Diskominfo/2026")
    assert missing.exit_code == 1 and "tidak ditemukan" in missing.output


def test_without_soffice_docx_is_used_with_a_warning(session, monkeypatch, caplog):
    monkeypatch.setattr("letters.service.pdf_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="letters.pdf"):
        letter = issue_letter(
            session,
            "pengingat",
            example_inputs(0)["pengingat"],
            idempotency_key="w",
            letter_date=DAY,
        )
    assert letter.pdf_path == "" and Path(letter.file_path).is_file()
    assert "LibreOffice (soffice) tidak terpasang" in caplog.text


@needs_soffice
@pytest.mark.slow
def test_issue_letter_makes_a_pdf(session):
    letter = issue_letter(
        session, "undangan", example_inputs(0)["undangan"], idempotency_key="pdf", letter_date=DAY
    )
    pdf = Path(letter.pdf_path)
    assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == letter.pdf_sha256


@needs_soffice
@pytest.mark.slow
def test_pdfs_in_one_batch_and_concurrent_calls(session, tmp_path):
    import threading

    letters = [
        issue_letter(
            session,
            kind,
            example_inputs(0)[kind],
            idempotency_key=f"b-{kind}",
            letter_date=DAY,
            pdf=False,
        )
        for kind in ("pemberitahuan", "tanda_terima", "permohonan")
    ]
    assert make_pdfs(session, letters) == 3
    assert all(Path(letter.pdf_path).read_bytes()[:5] == b"%PDF-" for letter in letters)
    # Two conversions at the same time use separate LibreOffice profiles and both succeed.
    results: dict[int, dict] = {}
    sources = []
    for i in range(2):
        folder = tmp_path / f"d{i}"
        folder.mkdir()
        target = folder / "sama.docx"
        target.write_bytes(Path(letters[i].file_path).read_bytes())
        sources.append(target)
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, convert_to_pdf([sources[i]])))
        for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert all(results[i][sources[i].resolve()].is_file() for i in range(2))
