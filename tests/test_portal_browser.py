"""The portal in a real browser (Debian's Chromium through Playwright) against the real flows:
an officer answers the questionnaire with two evidence files, the assessors confirm and score,
the region's flow resumes at each stage, a disguised file and a revoked link are refused.

With ``PORTAL_SCREENSHOTS_DIR=<folder>`` every page is saved there as a PNG
(``docs/portal/screenshots.py`` runs this test so for the README).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import select

from models.db import session_scope
from models.tables import Assessor, Assignment, EvidenceFile, Recommendation
from tests.flow_helpers import open_wait, wait_until
from tests.test_flows import product  # noqa: F401  (the served product fixture)

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def portal_url(monkeypatch):
    """The portal served over HTTP by uvicorn in this process; emails link to it."""
    from models.settings import reset_settings
    from portal.server import PortalThread

    with PortalThread() as portal:
        monkeypatch.setenv("PEMANTIK_PORTAL_URL", portal.url)
        reset_settings()
        yield portal.url


def _browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("PEMANTIK_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} tidak ada (PEMANTIK_REQUIRE_BROWSER=1)")
        pytest.skip("Chromium Debian tidak terpasang")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def _link_to(sink, address: str, url: str) -> str:  # noqa: ANN001
    from portal.server import personal_link_in

    for message in reversed(sink.messages()):
        # Official letters go to the head of the Diskominfo with the officer in Cc.
        readers = f"{message['To']} {message['Cc'] or ''}".lower()
        if address.lower() in readers:
            link = personal_link_in(message.get_body(("plain",)).get_content(), url)
            if link:
                return link
    raise AssertionError(f"tidak ada tautan pribadi dalam surel untuk {address}")


def go(page, selector: str) -> None:  # noqa: ANN001
    """Click a link or a submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


class Shots:
    def __init__(self) -> None:
        folder = os.environ.get("PORTAL_SCREENSHOTS_DIR", "")
        self.folder = Path(folder) if folder else None

    def __call__(self, page, name: str) -> None:  # noqa: ANN001
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(self.folder / f"{name}.png"), full_page=name != "kuesioner")


def test_officer_and_assessors_in_the_browser(product, portal_url, tmp_path):  # noqa: F811
    from prefect.deployments import run_deployment

    from models.credentials import load_credentials
    from models.settings import get_settings
    from models.tables import Region
    from services import waits

    sink = product["sink"]
    region = "64.72"
    run_deployment(
        "siklus-pemantik/siklus",
        parameters={
            "year": 2026,
            "regions": [region],
            "start_date": "2026-07-01",
            "session_date": "2026-07-22",
        },
        timeout=0,
    )
    wait_until(lambda: open_wait(region, "jawaban"), 180)
    with session_scope() as s:
        pic = s.get(Region, region).pic_email
    officer = _link_to(sink, pic, portal_url)
    shots = Shots()
    (tmp_path / "sk-tim.pdf").write_bytes(PDF)
    (tmp_path / "foto-ruang-server.png").write_bytes(PNG)
    (tmp_path / "bukan-pdf.pdf").write_bytes(b"<html><script>alert(1)</script></html>")

    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(officer)
        assert "Pengembalian Jawaban Kuesioner" in page.content()
        shots(page, "wilayah")
        go(page, 'a:has-text("Buka kuesioner dan bukti dukung")')
        # Two evidence files for I01; then a disguised one, refused from its content.
        page.select_option("#indikator", "I01")
        page.set_input_files(
            "#berkas-bukti", [str(tmp_path / "sk-tim.pdf"), str(tmp_path / "foto-ruang-server.png")]
        )
        go(page, 'button:has-text("Unggah bukti")')
        assert "2 berkas bukti dukung tersimpan" in page.content()
        page.set_input_files("#berkas-bukti", [str(tmp_path / "bukan-pdf.pdf")])
        go(page, 'button:has-text("Unggah bukti")')
        assert "bukan PDF, gambar" in page.content()
        # The questionnaire: every level, evidence text except where files were uploaded.
        for box in page.locator("select[name^=tingkat-]").all():
            box.select_option("3")
        for area in page.locator("textarea[name^=bukti-]").all():
            if area.get_attribute("name") != "bukti-I01":
                area.fill("https://jdih.samarindakota.go.id/bukti")
        go(page, 'button:has-text("Simpan draf")')
        assert "Draf jawaban tersimpan" in page.content()
        shots(page, "kuesioner")
        go(page, 'button:has-text("Kirim jawaban")')
        assert "Terima kasih, jawaban kuesioner diterima" in page.content()

        # The flow resumed: it sent the invitation and the requests, and waits on confirmations.
        wait_until(lambda: open_wait(region, "konfirmasi"), 180)
        page.goto(officer)
        page.select_option("#jawaban", "hadir")
        page.fill("input[name=nama-1]", "Budi Santoso")
        page.fill("input[name=jabatan-1]", "Kepala Bidang Aptika")
        go(page, 'button:has-text("Kirim konfirmasi")')
        assert "Konfirmasi diterima" in page.content()
        with session_scope() as s:
            emails = [
                s.get(Assessor, a.assessor_id).email
                for a in s.exec(select(Assignment).where(Assignment.region_code == region))
            ]
        assessors = [_link_to(sink, e, portal_url) for e in emails]
        for i, link in enumerate(assessors):
            page.goto(link)
            if i == 0:
                shots(page, "asesor")
            go(page, 'button:has-text("Kirim konfirmasi")')
            assert "Konfirmasi diterima" in page.content()

        wait_until(lambda: open_wait(region, "kehadiran"), 180)
        waits.submit(
            "kehadiran",
            year=2026,
            region=region,
            via="api",
            who="admin",
            payload={
                "peserta": [{"nama": "Budi Santoso", "jabatan": "Kabid", "instansi": "Diskominfo"}]
            },
        )
        wait_until(lambda: open_wait(region, "nilai"), 180)
        for i, link in enumerate(assessors):
            page.goto(link)
            go(page, 'a:has-text("Nilai jawaban dan bukti dukung")')
            assert "sk-tim.pdf" in page.content()  # the evidence beside the answers
            for box in page.locator("select[name^=tingkat-]").all():
                box.select_option(str(3 + i))
            page.fill(
                "textarea[name=rekomendasi-I01]",
                "Tetapkan Peraturan Wali Kota tentang Arsitektur SPBE.",
            )
            page.select_option("select[name=prioritas-I01]", "tinggi")
            if i == 0:
                shots(page, "nilai")
            go(page, 'button:has-text("Kirim penilaian")')
            assert "Terima kasih, nilai asesor" in page.content()
        wait_until(lambda: open_wait(region, "penerimaan"), 180)  # the flow resumed again

        # The admin's board and link management, behind the credentials; a revoked link.
        creds = load_credentials(get_settings().data_dir, create=True)
        admin = browser.new_context(
            http_credentials={"username": creds.prefect_user, "password": creds.prefect_password},
            viewport={"width": 1400, "height": 900},
        )
        board = admin.new_page()
        board.goto(f"{portal_url}/admin")
        go(board, 'a:has-text("Papan siklus")')
        assert "Kota Samarinda" in board.content()
        shots(board, "papan")
        go(board, 'a:has-text("Kelola tautan pribadi")')
        with board.expect_navigation():
            board.locator("tr", has_text="Kota Samarinda").locator(
                'button:has-text("Cabut")'
            ).click()
        page.goto(officer)
        assert "Tautan Ini Sudah Dicabut" in page.content()
        shots(page, "tautan-dicabut")
        browser.close()

    with session_scope() as s:
        assert len(s.exec(select(EvidenceFile)).all()) == 2
        recs = s.exec(select(Recommendation)).all()
        assert {r.priority for r in recs} == {"tinggi"} and len(recs) == 2
