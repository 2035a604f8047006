"""Sign-off (PEMANTIK_SIGNOFF=true): a letter waits as a normal wait; nothing is mailed until
the admin approves it, and an uploaded PDF signed electronically is what is sent. Also: an
official letter goes to the Kepala Dinas with the contact officer in Cc."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from mail.sink import start_sink
from models.db import session_scope
from models.settings import reset_settings
from models.tables import Dispatch, Letter
from services import questionnaire, waits
from services.signoff import sign_off
from tests.cycles import new_cycle

# The shape an electronic signature leaves in a PDF: a signature dictionary (ISO 32000-1
# 12.8) with its ByteRange and the detached PKCS#7 contents.
SIGNED_PDF = (
    b"%PDF-1.7\n1 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached"
    b" /ByteRange [0 120 220 40] /Contents <3082> /Name (Kepala Dinas) >>\nendobj\n%%EOF\n"
)


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    handle = start_sink(tmp_path / "maildir")
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(handle.port))
    monkeypatch.setenv("PEMANTIK_SIGNOFF", "true")
    reset_settings()
    yield handle
    handle.stop()


def _held_letter(cycle: int, region: str) -> tuple[str, list[str]]:
    with session_scope() as s:
        letter = s.exec(select(Letter).where(Letter.region_code == region)).one()
        states = [d.state for d in s.exec(select(Dispatch).where(Dispatch.letter_id == letter.id))]
        return letter.number, states


def test_nothing_is_mailed_until_approved_and_the_signed_pdf_is_what_is_sent(
    db_url, sink, sim_clock, tmp_path
) -> None:
    cycle = new_cycle(2026, date(2026, 7, 1))
    sim_clock(date(2026, 7, 1))
    questionnaire.send_notification(cycle, "64.72")
    number, states = _held_letter(cycle, "64.72")
    assert states == ["held"] and sink.messages() == []
    # A normal wait: the stage says what it waits for, and a reminder would ask the admin.
    status = waits.check("pengesahan", cycle, "64.72")
    assert not status.complete and [p.role for p in status.owes] == ["admin"]
    assert status.missing == [
        f"pengesahan Surat Pemberitahuan Nomor {number} oleh admin (setujui, atau unggah PDF "
        "yang ditandatangani secara elektronik)"
    ]
    # A PDF without an electronic signature is refused; nothing changes, nothing is sent.
    unsigned = tmp_path / "tanpa-ttd.pdf"
    unsigned.write_bytes(b"%PDF-1.7\n%%EOF\n")
    with pytest.raises(waits.InputRefused, match="belum ditandatangani secara elektronik"):
        sign_off(number, signed_pdf=unsigned, via="uji", who="Admin Uji")
    assert _held_letter(cycle, "64.72")[1] == ["held"] and sink.messages() == []

    signed = tmp_path / "ttd.pdf"
    signed.write_bytes(SIGNED_PDF)
    result = sign_off(number, signed_pdf=signed, via="uji", who="Admin Uji")
    digest = hashlib.sha256(SIGNED_PDF).hexdigest()
    assert result["summary"].endswith(f"(SHA-256 {digest})")
    (receipt,) = result["receipts"]
    assert receipt["state"] == "sent" and digest in receipt["attachments"]
    (message,) = sink.messages()
    pdfs = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert [p.get_content() for p in pdfs] == [SIGNED_PDF]
    # Addressed to the Kepala Dinas, the contact officer in Cc.
    assert "kadis.samarinda@contoh.example" in message["To"]
    assert message["Cc"] == "pic.samarinda@contoh.example"
    assert waits.check("pengesahan", cycle, "64.72").complete
    with session_scope() as s:
        letter = s.exec(select(Letter).where(Letter.number == number)).one()
        assert letter.approved_by == "Admin Uji" and letter.signed_pdf_sha256 == digest
    # Signing again is refused: the letter no longer waits.
    with pytest.raises(waits.NotWaiting):
        sign_off(number, via="uji", who="Admin Uji")


def test_approval_sends_the_system_pdf(db_url, sink, sim_clock) -> None:
    cycle = new_cycle(2026, date(2026, 7, 1))
    sim_clock(date(2026, 7, 1))
    questionnaire.send_notification(cycle, "64.71")
    number, _ = _held_letter(cycle, "64.71")
    assert sink.messages() == []
    sign_off(number, via="uji", who="Admin Uji")
    (message,) = sink.messages()
    with session_scope() as s:
        letter = s.exec(select(Letter).where(Letter.number == number)).one()
        pdf = Path(letter.pdf_path).read_bytes()
    attached = [p.get_content() for p in message.iter_attachments()]
    assert pdf in attached and message["Auto-Submitted"] == "auto-generated"


def test_the_cli_door_approves_and_refuses_in_indonesian(db_url, sink, sim_clock, tmp_path) -> None:
    from typer.testing import CliRunner

    from deployments.cli import app

    def run(*args: str):
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})

    unknown = run("surat", "sahkan", "005/999/Diskominfo/2026")
    assert unknown.exit_code != 0 and "tidak menunggu pengesahan" in unknown.output
    cycle = new_cycle(2026, date(2026, 7, 1))
    sim_clock(date(2026, 7, 1))
    questionnaire.send_notification(cycle, "64.74")
    number, _ = _held_letter(cycle, "64.74")
    not_pdf = tmp_path / "surat.pdf"
    not_pdf.write_text("bukan pdf")
    refused = run("surat", "sahkan", number, "--pdf", str(not_pdf))
    assert refused.exit_code != 0 and "berkas bukan PDF" in refused.output
    assert sink.messages() == []
    done = run("surat", "sahkan", number, "--oleh", "Kepala Seksi Uji")
    assert done.exit_code == 0, done.output
    assert "disahkan" in done.output and len(sink.messages()) == 1
