"""The LibreOffice that ``pemantik serve`` keeps running: PDFs through it, a fallback to a
``soffice`` call when it fails, a restart, and no LibreOffice left when its process ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from docx import Document

from letters import kept_office, pdf

pytestmark = pytest.mark.skipif(
    not pdf.pdf_available()
    or subprocess.run(
        ["/usr/bin/python3", "-c", "import uno"], capture_output=True, check=False
    ).returncode
    != 0,
    reason="LibreOffice atau python3-uno tidak terpasang",
)
ROOT = Path(__file__).resolve().parents[1]


def documents(folder: Path, count: int, prefix: str = "surat") -> list[Path]:
    paths = []
    for i in range(count):
        doc = Document()
        doc.add_paragraph(f"Surat uji nomor {i} — {prefix}")
        path = folder / f"{prefix}-{i}.docx"
        doc.save(path)
        paths.append(path)
    return paths


def wait_for(condition, timeout: float = 120.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited too long"
        time.sleep(0.2)


def running(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (unoserver, LibreOffice)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_pdfs_go_through_it_and_a_failure_falls_back_then_restarts(tmp_path: Path) -> None:
    office = kept_office.keep_running(tmp_path / "office")
    folder = office.folder
    try:
        wait_for(lambda: office.ready() or bool(office.unavailable))
        assert not office.unavailable
        first = documents(tmp_path, 3)
        converted = pdf.convert_shared(first)
        assert office.converted == 3
        for path in first:
            assert converted[path].read_bytes().startswith(b"%PDF")
            assert "Surat uji" in _text_of(converted[path]) or converted[path].stat().st_size > 1000

        # LibreOffice dies under it: the batch is still made, by a soffice call, and the kept
        # one is started again.
        os.kill(office.pid, signal.SIGKILL)
        second = documents(tmp_path, 2, "kedua")
        converted = pdf.convert_shared(second)
        assert all(converted[p].read_bytes().startswith(b"%PDF") for p in second)
        wait_for(office.ready)
        third = documents(tmp_path, 1, "ketiga")
        before = office.converted
        assert pdf.convert_shared(third)[third[0]].read_bytes().startswith(b"%PDF")
        assert office.converted == before + 1
    finally:
        kept_office.stop_kept()
    assert running(str(folder)) == []
    assert not folder.exists()  # its profile is removed with it


def _text_of(path: Path) -> str:
    try:
        import pypdfium2

        return pypdfium2.PdfDocument(str(path))[0].get_textpage().get_text_range()
    except ImportError:
        return ""


def test_no_libreoffice_outlives_a_killed_process(tmp_path: Path) -> None:
    folder = tmp_path / "office"
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from letters import kept_office
        office = kept_office.keep_running(Path({str(folder)!r}))
        while not office.ready():
            time.sleep(0.2)
        print("siap", flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "siap"
        assert running(str(folder))  # unoserver and its LibreOffice
    finally:
        child.kill()
        child.wait()
    wait_for(lambda: running(str(folder)) == [], timeout=30)
