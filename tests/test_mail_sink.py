"""The embedded SMTP sink (aiosmtpd) with the stdlib smtplib as an independent client."""

from __future__ import annotations

import mailbox
import os
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from mail.sink import message_id_of, start_sink

ROOT = Path(__file__).resolve().parents[1]


def make_message(message_id: str, to: str = "pic@samarinda.go.id") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "pemantik@kaltimprov.go.id"
    msg["To"] = to
    msg["Subject"] = "Uji sink"
    msg["Message-ID"] = message_id
    msg.set_content("Isi pesan.\n.baris yang diawali titik\n")
    msg.add_attachment(os.urandom(2000), maintype="application", subtype="pdf", filename="a.pdf")
    return msg


def test_message_id_of_reads_headers_only() -> None:
    raw = b"Subject: x\r\nMessage-ID:\r\n <abc@d>\r\n\r\nMessage-ID: <body@x>\r\n"
    assert message_id_of(raw) == "<abc@d>"
    assert message_id_of(b"Subject: x\r\n\r\nMessage-ID: <body@x>\r\n") is None


def test_stores_in_maildir_and_deduplicates(tmp_path: Path) -> None:
    with start_sink(tmp_path / "md") as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as client:
            client.send_message(make_message("<satu@uji>"))
            client.send_message(make_message("<dua@uji>"))
            code, _ = client.noop()
            assert code == 250
        # A re-send of a stored Message-ID is accepted but not stored again.
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as client:
            refused = client.send_message(make_message("<satu@uji>"))
            assert refused == {}
        assert sink.handler.stored == 2 and sink.handler.duplicates == 1

    box = mailbox.Maildir(str(tmp_path / "md"), create=False)  # plain stdlib reader
    ids = sorted(m["Message-ID"] for m in box)
    assert ids == ["<dua@uji>", "<satu@uji>"]
    [one] = [m for m in box if m["Message-ID"] == "<satu@uji>"]
    assert ".baris yang diawali titik" in one.get_payload()[0].get_payload()

    # Restarted on the same Maildir: still knows what it stored.
    with start_sink(tmp_path / "md") as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as client:
            client.send_message(make_message("<dua@uji>"))
        assert sink.handler.duplicates == 1 and sink.handler.stored == 0
    assert len(mailbox.Maildir(str(tmp_path / "md"), create=False)) == 2


def test_reject_and_temporary_failures(tmp_path: Path) -> None:
    with start_sink(tmp_path / "md", reject={"Tolak@Contoh.go.id"}, temp_failures=2) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as client:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
                client.send_message(make_message("<x@uji>", to="tolak@contoh.go.id"))
            assert info.value.recipients["tolak@contoh.go.id"][0] == 550
            for _ in range(2):
                with pytest.raises(smtplib.SMTPDataError) as data_info:
                    client.send_message(make_message("<y@uji>"))
                assert data_info.value.smtp_code == 451
            client.send_message(make_message("<y@uji>"))
        assert [m["Message-ID"] for m in sink.messages()] == ["<y@uji>"]


@pytest.mark.parametrize("mode", ["aiosmtpd", "cepat"])
def test_cli_smtp_sink(tmp_path: Path, mode: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PEMANTIK_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    args = ["smtp-sink", "--maildir", str(tmp_path / "md"), "--port", str(port)]
    args += ["--tolak", "tolak@contoh.go.id"]
    if mode == "cepat":
        args.append("--cepat")
    proc = subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert f"127.0.0.1:{port}" in line, line
        deadline = time.monotonic() + 30
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=30)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with client:
            sent = make_message("<cli@uji>")
            client.send_message(sent)
            client.send_message(make_message("<cli@uji>"))  # duplicate: accepted, not stored
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.send_message(make_message("<lain@uji>", to="tolak@contoh.go.id"))
            client.send_message(make_message("<dua@uji>"))
    finally:
        proc.terminate()
        proc.wait(30)
    box = mailbox.Maildir(str(tmp_path / "md"), create=False)
    stored = {m["Message-ID"]: m for m in box}
    assert set(stored) == {"<cli@uji>", "<dua@uji>"}
    # Dot-stuffing undone, attachment intact.
    got = stored["<cli@uji>"]
    assert ".baris yang diawali titik" in got.get_payload()[0].get_payload()
    assert got.get_payload()[1].get_payload(decode=True) == sent.get_payload()[1].get_content()


def test_cli_smtp_sink_bad_port() -> None:
    from typer.testing import CliRunner

    from deployments.cli import app

    result = CliRunner().invoke(app, ["smtp-sink", "--maildir", "md", "--port", "70000"])
    assert result.exit_code == 1
    assert "bukan nomor port yang sah" in result.output
