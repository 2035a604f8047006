"""The inbox read from a real IMAP server over TLS: Debian's Dovecot, started by
``.ci/dovecot-setup.sh`` on 127.0.0.1 (IMAPS, a certificate of its own, one test user).

Skipped when the server is not running, unless ``PEMANTIK_REQUIRE_IMAP=1``. Each test works
in a folder of its own, so runs beside each other do not meet.
"""

from __future__ import annotations

import imaplib
import os
import socket
import ssl
import uuid
from pathlib import Path

import pytest

from inbox.reader import read_once
from inbox.settings import ImapSettings
from inbox.sources import ImapSource, SourceError
from models.settings import reset_settings
from models.tables import AnswerSet, Confirmation
from tests.test_inbox import (
    PIC,
    PIC2,
    STRANGER,
    count,
    filled_workbook,
    open_wait,
    outgoing,
    reply_to,
    rows,
    send_letter,
)
from tests.test_inbox import sink as _sink_fixture
from tests.test_inbox import world as _world_fixture

sink = _sink_fixture  # the same fixtures as the Maildir tests
world = _world_fixture

# Read at import: the isolated_settings fixture clears PEMANTIK_* variables for each test.
HOST = "127.0.0.1"
PORT = int(os.environ.get("PEMANTIK_TEST_IMAP_PORT", "10993"))
USER = os.environ.get("PEMANTIK_TEST_IMAP_USER", "pemantik")
PASSWORD = os.environ.get("PEMANTIK_TEST_IMAP_PASSWORD", "rahasia-uji")
CA = Path(os.environ.get("PEMANTIK_TEST_IMAP_CA", "/tmp/pemantik-dovecot/cert.pem"))
REQUIRED = os.environ.get("PEMANTIK_REQUIRE_IMAP") == "1"


def _running() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            return CA.is_file()
    except OSError:
        return False


@pytest.fixture
def folder() -> str:
    if not _running():
        if REQUIRED:
            pytest.fail(f"Dovecot tidak berjalan di {HOST}:{PORT} (jalankan .ci/dovecot-setup.sh)")
        pytest.skip("Dovecot tidak berjalan (jalankan .ci/dovecot-setup.sh)")
    name = f"uji-{uuid.uuid4().hex[:10]}"
    with _admin() as client:
        client.create(name)
    yield name
    with _admin() as client:
        for box in (name, f"{name}-diproses"):
            client.delete(box)


def _admin() -> imaplib.IMAP4_SSL:
    """The test's own stdlib client (delivers mail with APPEND and inspects the folders)."""
    client = imaplib.IMAP4_SSL(HOST, PORT, ssl_context=ssl.create_default_context(cafile=str(CA)))
    client.login(USER, PASSWORD)
    return client


def deliver(folder: str, *messages: bytes) -> None:
    with _admin() as client:
        for raw in messages:
            typ, _ = client.append(folder, "", None, raw)
            assert typ == "OK"


def flags_of(folder: str) -> list[str]:
    with _admin() as client:
        client.select(folder, readonly=True)
        typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
        return [d.decode() for d in data if d]


def size_of(folder: str) -> int:
    with _admin() as client:
        typ, data = client.select(folder, readonly=True)
        return int(data[0])


def use_imap(monkeypatch: pytest.MonkeyPatch, folder: str, done_folder: str = "") -> None:
    for key, value in {
        "ENABLED": "1",
        "HOST": HOST,
        "PORT": str(PORT),
        "USER": USER,
        "PASSWORD": PASSWORD,
        "FOLDER": folder,
        "DONE_FOLDER": done_folder,
        "CA_FILE": str(CA),
    }.items():
        monkeypatch.setenv(f"PEMANTIK_IMAP_{key}", value)
    reset_settings()


def test_imap_replies_acted_on_and_marked_seen(
    world, sink, folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_wait(world, "64.72", "jawaban", 4)
    letter = send_letter(world, sink, "64.72", "pemberitahuan", PIC)
    answer = reply_to(letter, PIC, "Jawaban terlampir.", [filled_workbook(world, tmp_path)])
    deliver(folder, answer, reply_to(letter, STRANGER, "HADIR"))
    use_imap(monkeypatch, folder)

    report = read_once()

    assert report.source == "imap" and report.new == 2
    assert sorted(report.counts().items()) == [("processed", 1), ("quarantined", 1)]
    assert count(AnswerSet) == 1
    assert [Path(r.raw_path).read_bytes() == answer for r in rows()][0]
    assert all("\\Seen" in f for f in flags_of(folder))
    assert len(outgoing(sink, "admin.pemantik@kaltimprov.go.id")) == 1
    again = read_once()
    assert again.fetched == 0 and again.outcomes == []


class DyingImap(ImapSource):
    def __init__(self, cfg: ImapSettings, die_at: int) -> None:
        super().__init__(cfg)
        self.die_at, self.marked = die_at, 0

    def mark_done(self, handle) -> None:  # noqa: ANN001
        if self.marked + 1 == self.die_at:
            raise KeyboardInterrupt("proses dihentikan")
        self.marked += 1
        super().mark_done(handle)


def test_imap_reader_killed_mid_batch_then_moves_to_done_folder(
    world, sink, folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_wait(world, "64.72", "jawaban", 4)
    open_wait(world, "64.71", "konfirmasi", 8)
    first = send_letter(world, sink, "64.72", "pemberitahuan", PIC)
    second = send_letter(world, sink, "64.71", "undangan", PIC2)
    deliver(
        folder,
        reply_to(first, PIC, "Jawaban.", [filled_workbook(world, tmp_path)]),
        reply_to(second, PIC2, "TIDAK HADIR\nAlasan: bentrok dengan agenda daerah"),
        reply_to(first, PIC, "DITERIMA"),
    )
    done = f"{folder}-diproses"
    use_imap(monkeypatch, folder, done)
    from inbox.settings import load_imap_settings

    source = DyingImap(load_imap_settings(), die_at=2)
    with pytest.raises(KeyboardInterrupt):
        try:
            read_once(source)
        finally:
            source.close()
    assert size_of(folder) == 2 and size_of(done) == 1
    assert len(rows()) == 3  # committed in one chunk, then killed while marking

    report = read_once()

    assert (report.fetched, report.new, report.duplicates) == (2, 0, 2)
    assert sorted(o.state for o in report.outcomes) == ["processed"] * 3
    assert size_of(folder) == 0 and size_of(done) == 3
    assert count(AnswerSet) == 1 and count(Confirmation) == 1


def test_imap_refusals_are_named(folder: str) -> None:
    wrong_password = ImapSettings(
        enabled=True, host=HOST, port=PORT, user=USER, password="salah", folder=folder, ca_file=CA
    )
    with pytest.raises(SourceError) as err:
        ImapSource(wrong_password)
    assert "LOGIN" in str(err.value)
    unverified = ImapSettings(
        enabled=True, host=HOST, port=PORT, user=USER, password=PASSWORD, folder=folder
    )
    with pytest.raises(SourceError) as err:  # a self-signed server without its CA
        ImapSource(unverified)
    assert "tidak dapat dibuka" in str(err.value) and "CERTIFICATE" in str(err.value).upper()
