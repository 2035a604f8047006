"""Where messages come from: a Maildir folder (the embedded default) or an IMAP mailbox over
TLS (production). A source hands out raw messages and, only once the reader has committed a
message's row, marks it handled: Maildir moves it to ``cur/`` with the ``S`` flag; IMAP moves it
to ``done_folder`` when one is configured, else sets the ``\\Seen`` flag.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from inbox.settings import ImapSettings


@dataclass
class Item:
    handle: Any  # a path (Maildir) or a UID (IMAP)
    raw: bytes


class Source(Protocol):
    name: str

    def items(self, limit: int) -> Iterator[Item]: ...

    def mark_done(self, handle: Any) -> None: ...

    def close(self) -> None: ...


class SourceError(RuntimeError):
    """The mailbox cannot be read; the message (Indonesian) says why."""


# --------------------------------------------------------------------------- Maildir


class MaildirSource:
    """A Maildir (``new/``, ``cur/``, ``tmp/``); unhandled = in ``new/`` or without ``S``."""

    name = "maildir"

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = Path(path)
        if create:
            for sub in ("new", "cur", "tmp"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
        elif not (self.path / "new").is_dir():
            raise SourceError(f"folder Maildir {self.path} tidak ada (tidak memuat new/)")

    @staticmethod
    def _flags(name: str) -> str:
        return name.split(":2,", 1)[1] if ":2," in name else ""

    def pending(self) -> list[Path]:
        found = []
        for sub in ("new", "cur"):
            folder = self.path / sub
            for entry in os.scandir(folder):
                if entry.name.startswith(".") or (sub == "cur" and "S" in self._flags(entry.name)):
                    continue
                try:  # another reader may move the file away meanwhile
                    if entry.is_file():
                        found.append((entry.stat().st_mtime_ns, entry.name, Path(entry.path)))
                except FileNotFoundError:
                    continue
        return [path for _, _, path in sorted(found)]

    def items(self, limit: int) -> Iterator[Item]:
        for path in self.pending()[:limit]:
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # handled by a concurrent reader meanwhile
                continue
            yield Item(path, raw)

    def mark_done(self, handle: Path) -> None:
        path = Path(handle)
        base = path.name.split(":2,", 1)[0]
        flags = "".join(sorted(set(self._flags(path.name)) | {"S"}))
        target = self.path / "cur" / f"{base}:2,{flags}"
        try:
            os.replace(path, target)
        except FileNotFoundError:
            if not target.exists():
                raise

    def close(self) -> None:
        return None


# --------------------------------------------------------------------------- IMAP


class _LoopThread:
    """A private event loop on a thread: the IMAP client is async, the reader is not."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="pemantik-imap", daemon=True
        )
        self.thread.start()

    def run(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def _ok(response: Any, what: str) -> Any:
    if getattr(response, "result", "") != "OK":
        lines = b" ".join(
            bytes(x) for x in getattr(response, "lines", []) if isinstance(x, bytes | bytearray)
        )
        raise SourceError(f"IMAP {what} gagal: {lines.decode('utf-8', 'replace')[:300]}")
    return response


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSource:
    """An IMAP mailbox over implicit TLS (aioimaplib), certificate verified."""

    name = "imap"

    def __init__(self, cfg: ImapSettings) -> None:
        if not cfg.host or not cfg.user:
            raise SourceError("PEMANTIK_IMAP_HOST dan PEMANTIK_IMAP_USER wajib diisi")
        self.cfg = cfg
        self._loop = _LoopThread()
        self._client: Any = None
        try:
            self._loop.run(self._connect(), cfg.timeout_seconds * 2)
        except SourceError:
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - network/TLS errors, in Indonesian
            self.close()
            raise SourceError(
                f"kotak surel IMAP {cfg.host}:{cfg.port} tidak dapat dibuka: "
                f"{type(exc).__name__}: {exc}"
            ) from None

    def _tls(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.cfg.ca_file:
            ctx.load_verify_locations(cafile=str(self.cfg.ca_file))
        return ctx

    async def _connect(self) -> None:
        import aioimaplib

        client = aioimaplib.IMAP4_SSL(
            host=self.cfg.host,
            port=self.cfg.port,
            timeout=self.cfg.timeout_seconds,
            ssl_context=self._tls(),
        )
        self._client = client
        await client.wait_hello_from_server()
        _ok(await client.login(self.cfg.user, self.cfg.password.get_secret_value()), "LOGIN")
        _ok(await client.select(_quote(self.cfg.folder)), f"SELECT {self.cfg.folder}")
        if self.cfg.done_folder:
            # CREATE fails harmlessly when the folder exists.
            await client.create(_quote(self.cfg.done_folder))

    async def _uids(self) -> list[str]:
        criteria = "ALL" if self.cfg.done_folder else "UNSEEN"
        resp = _ok(await self._client.uid_search(criteria, "NOT", "DELETED"), "SEARCH")
        uids: list[str] = []
        for line in resp.lines:
            text = bytes(line).decode("ascii", "replace")
            if text.startswith("SEARCH"):
                text = text[len("SEARCH") :]
            if re.fullmatch(r"[\d ]*", text.strip()):
                uids.extend(text.split())
        return sorted(uids, key=int)

    async def _fetch(self, uid: str) -> bytes | None:
        resp = _ok(await self._client.uid("fetch", uid, "(UID BODY.PEEK[])"), "FETCH")
        literals = [x for x in resp.lines if isinstance(x, bytearray)]
        return bytes(literals[0]) if literals else None

    async def _done(self, uid: str) -> None:
        if self.cfg.done_folder:
            if "MOVE" in self._client.protocol.capabilities:
                _ok(await self._client.uid("move", uid, _quote(self.cfg.done_folder)), "MOVE")
                return
            _ok(await self._client.uid("copy", uid, _quote(self.cfg.done_folder)), "COPY")
            _ok(await self._client.uid("store", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
            await self._client.expunge()
            return
        _ok(await self._client.uid("store", uid, "+FLAGS.SILENT", r"(\Seen)"), "STORE")

    def items(self, limit: int) -> Iterator[Item]:
        timeout = self.cfg.timeout_seconds * 2
        for uid in self._loop.run(self._uids(), timeout)[:limit]:
            raw = self._loop.run(self._fetch(uid), timeout)
            if raw is not None:
                yield Item(uid, raw)

    def mark_done(self, handle: str) -> None:
        self._loop.run(self._done(handle), self.cfg.timeout_seconds * 2)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._loop.run(self._client.logout(), 10)
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self._client = None
        self._loop.stop()
