"""docx → PDF with LibreOffice (``soffice --headless --convert-to pdf``), in batches.

Start-up dominates (≈1 s), so many files go through one soffice call. Each call gets its own
profile folder (``-env:UserInstallation``) so concurrent calls do not clash on a shared profile.
Without soffice the .docx is used and a warning says so.

Inside one process (the served flows run region steps on many threads at once),
:func:`convert_shared` gathers the requests of concurrent steps into one soffice call with a
profile that is made once and kept, instead of one cold LibreOffice per thread fighting for
two cores; in the serving process it hands them to the LibreOffice kept running there
(:mod:`letters.kept_office`) once that one listens.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
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


def convert_to_pdf(
    docx_paths: Sequence[Path], timeout: float = 300.0, profile_dir: Path | None = None
) -> dict[Path, Path]:
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
            profile = profile_dir or Path(work) / "profile"
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


_shared = threading.Condition()
_queue: list[tuple[list[Path], Future]] = []
_leader_busy = False
_profile: Path | None = None
GATHER_SECONDS = 0.25


def convert_shared(docx_paths: Sequence[Path], timeout: float = 300.0) -> dict[Path, Path]:
    """Like :func:`convert_to_pdf`, batching concurrent callers of this process into one call.

    The first caller becomes the leader: it waits a moment for others, converts everything
    queued with the kept profile, hands each caller its own result, and repeats until the
    queue is empty. A failed batch fails every caller in it with the same error. A leader
    whose thread is interrupted (a run cancelled in the middle of its step) fails what it
    held and what was queued, and the next caller leads: no caller waits for ever.
    """
    global _leader_busy, _profile
    future: Future = Future()
    with _shared:
        _queue.append(([Path(p).resolve() for p in docx_paths], future))
        leader = not _leader_busy
        _leader_busy = True
        if _profile is None:
            _profile = Path(tempfile.mkdtemp(prefix="pemantik-lo-profile-"))
    if leader:
        _lead(timeout)
    try:
        return future.result(timeout=timeout + 60)
    except TimeoutError:
        raise PdfError(f"LibreOffice tidak selesai dalam {timeout:.0f} detik") from None


def _convert_batch(paths: list[Path], timeout: float) -> dict[Path, Path]:
    """Through the process's kept LibreOffice when it is listening, else one soffice call."""
    from letters.kept_office import ready_office

    office = ready_office()
    if office is not None:
        try:
            return office.convert(paths, timeout)
        except PdfError as exc:
            log.warning("%s; dibuat dengan LibreOffice sekali jalan", exc)
    return convert_to_pdf(paths, timeout=timeout, profile_dir=_profile)


def _lead(timeout: float) -> None:
    from letters.kept_office import ready_office

    global _leader_busy
    batch: list[tuple[list[Path], Future]] = []
    try:
        if ready_office() is None:  # a soffice call: worth waiting for others to join it
            time.sleep(GATHER_SECONDS)
        while True:
            with _shared:
                batch = list(_queue)
                _queue.clear()
                if not batch:
                    _leader_busy = False
                    return
            everything = list(dict.fromkeys(p for paths, _ in batch for p in paths))
            try:
                converted = _convert_batch(everything, timeout)
            except Exception as exc:  # every waiting caller gets the failure
                for _, fut in batch:
                    fut.set_exception(exc)
                continue
            for paths, fut in batch:
                fut.set_result({p: converted[p] for p in paths})
    except BaseException:
        with _shared:
            held = batch + list(_queue)
            _queue.clear()
            _leader_busy = False
        stopped = PdfError("Pembuatan PDF terhenti karena langkah lain dihentikan; coba lagi")
        for _, fut in held:
            if not fut.done():
                fut.set_exception(stopped)
        raise
