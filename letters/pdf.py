"""docx → PDF with LibreOffice (``soffice --headless --convert-to pdf``), in batches.

Start-up dominates (≈1 s), so many files go through one soffice call. Each call gets its own
profile folder (``-env:UserInstallation``) so concurrent calls do not clash on a shared profile.
Without soffice the .docx is used and a warning says so.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


class PdfError(RuntimeError):
    """LibreOffice failed to convert a document."""


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_available() -> bool:
    return soffice_path() is not None


def warn_no_pdf(path: Path | str) -> None:
    log.warning(
        "LibreOffice (soffice) tidak terpasang: %s tidak dibuat PDF-nya; berkas .docx yang dipakai",
        path,
    )


def convert_to_pdf(docx_paths: Sequence[Path], timeout: float = 300.0) -> dict[Path, Path]:
    """Convert documents to PDF next to each .docx; returns {docx path: pdf path}.

    Raises PdfError when soffice is missing or a PDF was not produced.
    """
    binary = soffice_path()
    if binary is None:
        raise PdfError("LibreOffice (soffice) tidak terpasang")
    paths = [Path(p).resolve() for p in docx_paths]
    result: dict[Path, Path] = {}
    # soffice writes <stem>.pdf into one --outdir; files sharing a stem go into separate calls.
    batches: list[list[Path]] = []
    for path in paths:
        for batch in batches:
            if all(p.stem != path.stem for p in batch):
                batch.append(path)
                break
        else:
            batches.append([path])
    for batch in batches:
        with tempfile.TemporaryDirectory(prefix="pemantik-lo-") as work:
            profile = Path(work) / "profile"
            outdir = Path(work) / "out"
            cmd = [
                binary,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--nologo",
                "--convert-to",
                "pdf",
                "--outdir",
                str(outdir),
                *[str(p) for p in batch],
            ]
            try:
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired:
                raise PdfError(f"LibreOffice tidak selesai dalam {timeout:.0f} detik") from None
            for path in batch:
                produced = outdir / f"{path.stem}.pdf"
                if not produced.is_file():
                    raise PdfError(
                        f"LibreOffice gagal membuat PDF dari {path.name}: "
                        f"{(proc.stderr or proc.stdout).strip()[-400:]}"
                    )
                target = path.with_suffix(".pdf")
                shutil.move(str(produced), target)
                result[path] = target
    return result
