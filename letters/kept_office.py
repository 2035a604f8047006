"""One LibreOffice kept running by a long-lived process (``pemantik serve``), through unoserver.

A ``soffice --convert-to`` call costs LibreOffice's start-up (≈1.5 CPU-s) however few documents
it carries, and in a cycle most batches carry one to three. unoserver (a maintained wrapper of
LibreOffice's UNO API) keeps one LibreOffice listening and converts a document in ≈0.2 s.

unoserver's server needs LibreOffice's Python bridge (``uno``), which Debian ships for its own
``python3`` (package python3-uno), not for a virtual environment. So the server runs under the
first interpreter that can import ``uno``, with only the unoserver package (linked from this
environment) added to its path; this process talks XML-RPC to it. Without such an interpreter,
or while the kept LibreOffice starts, or after it failed, :mod:`letters.pdf` converts with a
``soffice`` call as before: no document waits for the kept one.

unoserver and its LibreOffice run in a process group of their own, ended together, and end
themselves when the process that started them is gone, so no LibreOffice outlives it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from pathlib import Path

from letters.pdf import PdfError, soffice_path
from models.embedded_db import free_port

log = logging.getLogger(__name__)

START_SECONDS = 90.0  # unoserver itself waits 7 s before it listens
# unoserver in a process group of its own, with LibreOffice: when the process that started it
# is gone (its parent changes), the whole group is killed, so no LibreOffice outlives it.
BOOT = """
import os, signal, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(1)
    os.killpg(0, signal.SIGKILL)
threading.Thread(target=watch, daemon=True).start()
from unoserver.server import main
main()
"""


class _Transport(xmlrpc.client.Transport):
    """XML-RPC over HTTP with a timeout (the stdlib's has none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):  # type: ignore[no-untyped-def]  # stdlib signature
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


def _shim(folder: Path) -> Path | None:
    """A folder holding only the unoserver package (and its metadata), for PYTHONPATH."""
    spec = importlib.util.find_spec("unoserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    shim = folder / "path"
    shim.mkdir(parents=True, exist_ok=True)
    for source in [package, *package.parent.glob("unoserver-*.dist-info")]:
        link = shim / source.name
        if not link.exists():
            link.symlink_to(source, target_is_directory=True)
    return shim


def _python_with_uno(env: dict[str, str]) -> str | None:
    for candidate in dict.fromkeys([sys.executable, "/usr/bin/python3", shutil.which("python3")]):
        if not candidate or not Path(candidate).exists():
            continue
        probe = subprocess.run(
            [candidate, "-c", "import uno, unoserver.server"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if probe.returncode == 0:
            return candidate
    return None


class KeptOffice:
    """The kept LibreOffice of this process: start once, convert, restart after a failure."""

    def __init__(self, parent: Path | None = None) -> None:
        """Its profile and log go in a new folder under ``parent`` (removed at stop)."""
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="kantor-", dir=parent))
        self.port = 0
        self._ready = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # unoserver serves one request at a time
        self._process: subprocess.Popen | None = None
        self._owner: threading.Thread | None = None
        self.unavailable = ""  # why it cannot run here, once known
        self.converted = 0  # documents it has converted

    # --- the owner thread: start, watch, restart ---------------------------------------------

    def start(self) -> KeptOffice:
        self._owner = threading.Thread(target=self._own, name="pemantik-libreoffice", daemon=True)
        self._owner.start()
        return self

    def _own(self) -> None:
        binary = soffice_path()
        shim = _shim(self.folder)
        if binary is None or shim is None:
            self.unavailable = "LibreOffice atau unoserver tidak terpasang"
            return
        # Only what LibreOffice needs: none of the installation's secrets go to it.
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep} | {"PYTHONPATH": str(shim)}
        python = _python_with_uno(env)
        if python is None:
            self.unavailable = "tidak ada Python dengan modul uno (paket python3-uno)"
            log.info("LibreOffice tidak dibiarkan menyala: %s", self.unavailable)
            return
        failures = 0
        while not self._stopping.is_set():
            self.port = free_port()
            command = [
                python,
                "-c",
                BOOT,
                "--interface=127.0.0.1",
                f"--port={self.port}",
                "--uno-interface=127.0.0.1",
                f"--uno-port={free_port()}",
                f"--user-installation={self.folder / 'profile'}",
                f"--executable={binary}",
                "--conversion-timeout=300",
                "--quiet",
            ]
            with (self.folder / "unoserver.log").open("ab") as out:
                self._process = subprocess.Popen(
                    command,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_until_listening():
                self._ready.set()
                failures = 0
                # Until a conversion fails, stop() is called or the server ends by itself.
                while not self._wake.wait(5) and self._process.poll() is None:
                    pass
                self._wake.clear()
            else:
                failures += 1
            self._ready.clear()
            self._end_process()
            if failures >= 3:
                self.unavailable = "LibreOffice yang dibiarkan menyala gagal dinyalakan tiga kali"
                log.warning("%s; PDF dibuat dengan LibreOffice sekali jalan", self.unavailable)
                return

    def _wait_until_listening(self) -> bool:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and not self._stopping.is_set():
            if self._process is not None and self._process.poll() is not None:
                return False
            try:
                with self._proxy(5) as proxy:
                    proxy.info()
                return True
            except (OSError, xmlrpc.client.Error):
                time.sleep(0.5)
        return False

    def _end_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)  # unoserver and its LibreOffice
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(process.pid, signal.SIGKILL)  # a LibreOffice left behind by unoserver
        except ProcessLookupError:
            pass
        process.wait()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._owner is not None:
            self._owner.join(30)
        if self._process is None:
            shutil.rmtree(self.folder, ignore_errors=True)

    # --- converting ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The unoserver process (LibreOffice is its child), while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def ready(self) -> bool:
        return self._ready.is_set() and not self._stopping.is_set()

    def _proxy(self, timeout: float) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(
            f"http://127.0.0.1:{self.port}", transport=_Transport(timeout), allow_none=True
        )

    def convert(self, docx_paths: list[Path], timeout: float) -> dict[Path, Path]:
        """Each .docx to the PDF beside it; PdfError (and a restart) when the server fails."""
        result: dict[Path, Path] = {}
        with self._lock:
            for path in docx_paths:
                target = path.with_suffix(".pdf")
                part = target.with_name(target.name + ".part")
                try:
                    with self._proxy(timeout) as proxy:
                        proxy.convert(str(path), None, str(part), "pdf", None, [], True, None, None)
                    if not part.is_file() or part.stat().st_size == 0:
                        raise PdfError(f"LibreOffice tidak menghasilkan PDF dari {path.name}")
                except (OSError, xmlrpc.client.Error, PdfError) as exc:
                    part.unlink(missing_ok=True)
                    self._ready.clear()
                    self._wake.set()  # the owner restarts it
                    raise PdfError(
                        f"LibreOffice gagal membuat PDF dari {path.name}: {exc}"
                    ) from exc
                os.replace(part, target)
                result[path] = target
                self.converted += 1
        return result


_kept: KeptOffice | None = None
_kept_lock = threading.Lock()


def keep_running(parent: Path | None = None) -> KeptOffice:
    """Start this process's kept LibreOffice (once), its folder under ``parent``; conversions
    use it when it is ready."""
    global _kept
    with _kept_lock:
        if _kept is None:
            _kept = KeptOffice(parent).start()
        return _kept


def stop_kept() -> None:
    global _kept
    with _kept_lock:
        kept, _kept = _kept, None
    if kept is not None:
        kept.stop()


def ready_office() -> KeptOffice | None:
    """The kept LibreOffice when it is listening, else None (convert with a soffice call)."""
    kept = _kept
    return kept if kept is not None and kept.ready() else None
