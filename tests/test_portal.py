"""The portal over HTTP (FastAPI's test client, no browser): personal links from the emails,
evidence checked from its content, the questionnaire through the one door, CSRF, revoked
links, and the admin's documents behind the credentials."""

from __future__ import annotations

import base64
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from mail.sink import start_sink
from models.credentials import load_credentials
from models.db import session_scope
from models.settings import get_settings, reset_settings
from models.tables import AnswerSet, EvidenceFile, Letter, PortalToken, StepRecord
from models.tokens import revoke, token_hash
from services import questionnaire
from services.waits import open_wait
from tests.cycles import new_cycle
from tests.flow_helpers import wait_until

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    handle = start_sink(tmp_path / "maildir")
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(handle.port))
    reset_settings()
    yield handle
    handle.stop()


def _link_from(sink) -> str:  # noqa: ANN001
    (message,) = sink.messages()
    body = message.get_body(("plain",)).get_content()
    found = re.search(r"http://127\.0\.0\.1:8600(/t/[A-Za-z0-9_-]{43})", body)
    assert found, body[-600:]
    return found.group(1)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _levels(client: TestClient, base: str) -> dict[str, str]:
    page = client.get(f"{base}/kuesioner").text
    return {code: "3" for code in re.findall(r'name="tingkat-([^"]+)"', page)}


def test_officer_answers_through_the_portal(db_url, sink, sim_clock, monkeypatch) -> None:
    from portal.app import create_app

    cycle = new_cycle(2026, date(2026, 7, 1))
    sim_clock(date(2026, 7, 1))
    questionnaire.send_notification(cycle, "64.72")
    base = _link_from(sink)  # the email's footer carries the personal link
    open_wait(kind="jawaban", cycle_id=cycle, region="64.72", flow_run_id="", key="jawaban-r1-0")
    with session_scope() as s:
        (row,) = s.exec(select(PortalToken)).all()
        assert row.token_hash == token_hash(base.rsplit("/", 1)[1])  # only the hash is kept

    client = TestClient(create_app())
    home = client.get(base)
    assert home.status_code == 200 and "Kota Samarinda" in home.text
    assert "Pengembalian Jawaban Kuesioner" in home.text
    assert home.headers["x-content-type-options"] == "nosniff"
    csrf = _csrf(home.text)

    # Two evidence files for one indicator; a disguised and an oversized one are refused.
    files = [
        ("berkas", ("sk-tim.pdf", PDF, "application/pdf")),
        ("berkas", ("foto.png", PNG, "image/png")),
    ]
    done = client.post(
        f"{base}/bukti",
        data={"csrf": csrf, "indikator": "I01"},
        files=files,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    html = b"<html><script>alert(1)</script></html>"
    bad = client.post(
        f"{base}/bukti",
        data={"csrf": csrf, "indikator": "I01"},
        files=[("berkas", ("bukti.pdf", html, "application/pdf"))],
    )
    assert bad.status_code == 422 and "bukan PDF, gambar" in bad.text
    named = client.post(
        f"{base}/bukti",
        data={"csrf": csrf, "indikator": "I01"},
        files=[("berkas", ("bukti.exe", PDF, "application/pdf"))],
    )
    assert named.status_code == 422 and "berisi PDF" in named.text
    monkeypatch.setenv("PEMANTIK_PORTAL__MAX_FILE_MB", "0.0001")
    reset_settings()
    big = client.post(
        f"{base}/bukti",
        data={"csrf": csrf, "indikator": "I01"},
        files=[("berkas", ("besar.pdf", PDF + b"0" * 200, "application/pdf"))],
    )
    assert big.status_code == 422 and "melebihi batas" in big.text
    monkeypatch.delenv("PEMANTIK_PORTAL__MAX_FILE_MB")
    reset_settings()
    with session_scope() as s:
        rows = s.exec(select(EvidenceFile)).all()
        assert sorted(r.file_name for r in rows) == ["foto.png", "sk-tim.pdf"]
        assert all(Path(r.storage_path).name.startswith(r.sha256) for r in rows)
    download = client.get(f"{base}/bukti/{rows[0].id}")
    assert download.headers["content-disposition"].startswith("attachment")

    # A form without the CSRF value is refused.
    assert client.post(f"{base}/kuesioner", data={"aksi": "simpan"}).status_code == 403

    # An incomplete questionnaire is refused with the reasons; nothing is stored.
    levels = _levels(client, base)
    partial = {f"tingkat-{c}": v for c, v in list(levels.items())[:5]}
    refused = client.post(f"{base}/kuesioner", data={"csrf": csrf, "aksi": "kirim", **partial})
    assert refused.status_code == 422 and "Masukan belum dapat diterima" in refused.text
    with session_scope() as s:
        assert s.exec(select(AnswerSet)).all() == []
    # The draft kept what was typed.
    assert 'value="3" selected' in client.get(f"{base}/kuesioner").text

    form = {f"tingkat-{c}": v for c, v in levels.items()}
    form |= {f"bukti-{c}": f"https://contoh.example/{c}" for c in levels if c != "I01"}
    sent = client.post(
        f"{base}/kuesioner", data={"csrf": csrf, "aksi": "kirim", **form}, follow_redirects=False
    )
    assert sent.status_code == 303, sent.text
    with session_scope() as s:
        (answers,) = s.exec(select(AnswerSet)).all()
        assert answers.source == "portal" and "sk-tim.pdf" in answers.answers["I01"]["evidence"]
        record = s.exec(select(StepRecord).where(StepRecord.event == "received")).one()
        assert record.detail["ip"] == "testclient" and "@" in record.who  # the person, and IP

    # Revoked: a clear page that says whom to ask.
    with session_scope() as s:
        revoke(s, cycle, "wilayah", "admin", region_code="64.72")
    gone = client.get(base)
    assert gone.status_code == 403 and "dicabut" in gone.text
    assert get_settings().admin_email in gone.text


def test_officer_removes_a_wrong_evidence_file(db_url, sink, sim_clock, monkeypatch) -> None:
    """A file uploaded by mistake can be removed while the answers are not yet in: it leaves
    the list and the region's limit, the audit trail keeps who and from where; afterwards, and
    for another region's file, removal is refused."""
    from portal.app import create_app

    cycle = new_cycle(2026, date(2026, 7, 1))
    sim_clock(date(2026, 7, 1))
    questionnaire.send_notification(cycle, "64.72")
    base = _link_from(sink)
    open_wait(kind="jawaban", cycle_id=cycle, region="64.72", flow_run_id="", key="jawaban-r1-0")
    client = TestClient(create_app())
    csrf = _csrf(client.get(base).text)
    # The region's limit fits one of the two files: the second waits for the first's removal.
    monkeypatch.setenv("PEMANTIK_PORTAL__MAX_REGION_MB", str(1.5 * len(PDF) / 1048576))
    reset_settings()
    client.post(
        f"{base}/bukti",
        data={"csrf": csrf, "indikator": "I02"},
        files=[("berkas", ("salah.pdf", PDF, "application/pdf"))],
    )
    full = client.post(
        f"{base}/bukti",
        data={"csrf": csrf, "indikator": "I02"},
        files=[("berkas", ("benar.pdf", PDF + b"%benar", "application/pdf"))],
    )
    assert full.status_code == 422 and "Hapus berkas yang tidak diperlukan" in full.text
    page = client.get(f"{base}/kuesioner").text
    with session_scope() as s:
        (wrong,) = s.exec(select(EvidenceFile)).all()
    assert f'name="berkas" value="{wrong.id}"' in page  # the page offers the removal it asks for

    assert (
        client.post(f"{base}/bukti/hapus", data={"berkas": wrong.id}).status_code == 403
    )  # no CSRF
    gone = client.post(
        f"{base}/bukti/hapus", data={"csrf": csrf, "berkas": wrong.id}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert "salah.pdf dihapus" in client.get(gone.headers["location"]).text
    again = client.post(f"{base}/bukti/hapus", data={"csrf": csrf, "berkas": wrong.id})
    assert again.status_code == 422 and "tidak ada (mungkin sudah dihapus)" in again.text
    fits = client.post(
        f"{base}/bukti",
        data={"csrf": csrf, "indikator": "I02"},
        files=[("berkas", ("benar.pdf", PDF + b"%benar", "application/pdf"))],
        follow_redirects=False,
    )
    assert fits.status_code == 303, fits.text
    page = client.get(f"{base}/kuesioner").text
    assert "benar.pdf" in page and "salah.pdf" not in page
    with session_scope() as s:
        removed = s.exec(select(StepRecord).where(StepRecord.event == "bukti_dihapus")).one()
        assert removed.detail["ip"] == "testclient" and "@" in removed.who
        assert removed.detail["sha256"] == wrong.sha256
        kept = s.exec(select(EvidenceFile).where(EvidenceFile.removed == False)).one()  # noqa: E712

    # Another region's officer cannot remove this region's file.
    questionnaire.send_notification(cycle, "64.74")
    other = _link_from_region(sink, "Bontang")
    other_csrf = _csrf(client.get(other).text)
    foreign = client.post(f"{other}/bukti/hapus", data={"csrf": other_csrf, "berkas": kept.id})
    assert foreign.status_code == 422
    # Once the answers are in, the evidence stays as it was sent.
    levels = _levels(client, base)
    form = {f"tingkat-{c}": v for c, v in levels.items()}
    form |= {f"bukti-{c}": f"https://contoh.example/{c}" for c in levels}
    client.post(f"{base}/kuesioner", data={"csrf": csrf, "aksi": "kirim", **form})
    assert "terkirim bersama jawaban" in client.get(f"{base}/kuesioner").text
    late = client.post(f"{base}/bukti/hapus", data={"csrf": csrf, "berkas": kept.id})
    assert late.status_code == 422 and "sudah terkirim bersama jawaban" in late.text
    with session_scope() as s:
        assert not s.get(EvidenceFile, kept.id).removed


def _link_from_region(sink, name: str) -> str:  # noqa: ANN001
    for message in sink.messages():
        body = message.get_body(("plain",)).get_content()
        found = re.search(r"http://127\.0\.0\.1:8600(/t/[A-Za-z0-9_-]{43})", body)
        if name in body and found:
            return found.group(1)
    raise AssertionError(f"tidak ada tautan untuk {name}")


def test_admin_documents_need_the_credentials(db_url, sink, sim_clock) -> None:
    from portal.app import create_app

    cycle = new_cycle(2026, date(2026, 7, 1))
    sim_clock(date(2026, 7, 1))
    questionnaire.send_notification(cycle, "64.72")
    with session_scope() as s:
        letter = s.exec(select(Letter)).first()
    creds = load_credentials(get_settings().data_dir, create=True)
    client = TestClient(create_app())
    assert client.get(f"/berkas/surat/{letter.id}").status_code == 401
    auth = {"Authorization": "Basic " + base64.b64encode(creds.auth_string.encode()).decode()}
    got = client.get(f"/berkas/surat/{letter.id}", headers=auth)
    assert got.status_code == 200 and got.headers["content-disposition"].startswith("attachment")
    assert "html" not in got.headers["content-type"]
    board = client.get(f"/papan/{cycle}", headers=auth)
    assert board.status_code == 200 and "Kota Samarinda" in board.text


def test_tokens_expire_with_the_cycle_and_reissue_changes_them(db_url) -> None:
    from models.tables import Cycle, CycleState
    from models.tokens import check_token, personal_token, reissue

    cycle = new_cycle(2026, date(2026, 7, 1))
    with session_scope() as s:
        first = personal_token(s, cycle, "wilayah", region_code="64.72")
        assert personal_token(s, cycle, "wilayah", region_code="64.72") == first  # same link
        assert len(base64.urlsafe_b64decode(first + "=")) * 8 == 256
        other = personal_token(s, cycle, "wilayah", region_code="64.01")
        assert other != first
        second = reissue(s, cycle, "wilayah", "admin", region_code="64.72")
        assert second != first
        assert check_token(s, first).status == "revoked"
        assert check_token(s, second).valid
        assert check_token(s, "x" * 43).status == "unknown"
        assert all(first not in t.token_hash for t in s.exec(select(PortalToken)))
        row = s.get(Cycle, cycle)
        row.state = CycleState.REPORTED
        row.closed_at = row.created_at
        s.add(row)
    with session_scope() as s:
        assert check_token(s, second).status == "expired"
    from portal.app import create_app

    client = TestClient(create_app())
    page = client.get(f"/t/{second}")
    assert page.status_code == 403 and "Sudah Berakhir" in page.text


def test_rate_limit_and_content_sniffing() -> None:
    from portal.security import RateLimiter
    from services.evidence import sniff

    limiter = RateLimiter(3, window=60)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")
    assert sniff(PDF) == "pdf" and sniff(PNG) == "png"
    assert sniff(b"<!DOCTYPE html><html>") is None
    assert sniff(b"PK\x03\x04 not really a zip") is None


def test_cli_prints_revokes_and_reissues_a_link(db_url, sink) -> None:
    from typer.testing import CliRunner

    from deployments.cli import app

    new_cycle(2026, date(2026, 7, 1))

    def run(*args: str) -> str:
        result = CliRunner().invoke(
            app, ["tautan", "--siklus", "2026", *args], env={"COLUMNS": "200"}
        )
        assert result.exit_code == 0, result.output
        return result.output

    first = re.search(r"/t/\S+", run("--wilayah", "64.72")).group(0)
    assert re.search(r"/t/\S+", run("--wilayah", "64.72")).group(0) == first
    assert "dicabut" in run("--wilayah", "64.72", "--cabut")
    again = run("--wilayah", "64.72", "--terbitkan-ulang")
    assert "dikirim melalui surel" in again and first not in again
    (message,) = sink.messages()  # the new link went out by email, in the footer
    assert re.search(r"/t/\S+", again).group(0) in message.get_body(("plain",)).get_content()


@pytest.mark.slow
def test_serve_runs_the_portal_too(
    prefect_server, isolated_settings, tmp_path, monkeypatch
) -> None:
    """``pemantik serve --portal``: one command serves the flows and the portal; the portal
    stops with it."""
    import httpx

    from deployments.prefect_server import free_port
    from deployments.serve import ServeProcess

    port = free_port()
    monkeypatch.setenv("PEMANTIK_PORTAL__PORT", str(port))
    served = ServeProcess(tmp_path / "serve.log", extra_args=["--portal"]).start()
    try:
        # The deployments may be there from an earlier serving process: wait for this one.
        page = wait_until(lambda: _answer(f"http://127.0.0.1:{port}/"), 120)
        assert page.status_code == 200 and "tautan pribadi" in page.text
        assert (
            f"Portal PeManTIK berjalan di http://127.0.0.1:{port}"
            in (tmp_path / "serve.log").read_text()
        )
    finally:
        served.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=5)


def _answer(url: str):  # noqa: ANN202
    import httpx

    try:
        return httpx.get(url, timeout=10)
    except httpx.ConnectError:
        return None
