"""An embedded SMTP server (aiosmtpd) that stores every message in a Maildir.

Used by the demo (``pemantik smtp-sink --maildir DIR --port 8025``) and by the tests, which need
real SMTP failures without mocks:

* ``reject``: recipient addresses answered with ``550`` at RCPT (a permanent failure);
* ``temp_failures``: a counter; while it is above zero, DATA is answered with ``451`` and the
  message is not stored (a temporary failure);
* STARTTLS, implicit TLS and AUTH, through aiosmtpd's own options.

Deduplication: a message whose Message-ID is already stored (also from an earlier run: the
Maildir is scanned on start) is accepted with ``250`` but not stored again, and logged. This is
the sink's half of the outbox's "accepted but no receipt yet" rule (see :mod:`mail.outbox`):
a re-send carries the same Message-ID, so it is delivered once.

The Maildir is the stdlib format: ``mailbox.Maildir(DIR)`` reads it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import mailbox
import os
import re
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import message_from_binary_file
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

log = logging.getLogger("pemantik.mail.sink")

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]+>)", re.I | re.M)
DATA_SIZE_LIMIT = 64 * 1024 * 1024


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID header of a raw message (headers only are searched)."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[:end]
    match = _MESSAGE_ID.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


@dataclass
class MaildirHandler:
    """aiosmtpd handler: store into a Maildir, deduplicating by Message-ID."""

    maildir: Path
    reject: set[str] = field(default_factory=set)
    temp_failures: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    sessions: int = 0  # EHLO/HELO greetings seen: how many SMTP sessions clients opened

    def __post_init__(self) -> None:
        self.maildir = Path(self.maildir)
        self.box = mailbox.Maildir(str(self.maildir), create=True)
        self.reject = {a.lower() for a in self.reject}
        self._lock = threading.Lock()
        # (file name in new/, Message-ID) of every message stored since start, in order: a
        # reader in this process can follow the Maildir without listing it again.
        self.delivered: list[tuple[str, str | None]] = []
        self.seen: set[str] = set()
        for sub in ("new", "cur"):
            for path in (self.maildir / sub).iterdir():
                with path.open("rb") as fh:
                    mid = message_id_of(fh.read(65536))
                if mid:
                    self.seen.add(mid)

    def _store(self, data: bytes) -> str:
        """Write one message the Maildir way: tmp/, fsync, then rename into new/."""
        host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
        now = time.time_ns()
        name = f"{now // 10**9}.M{now // 1000 % 10**6}P{os.getpid()}Q{uuid.uuid4().hex}.{host}"
        tmp = self.maildir / "tmp" / name
        with tmp.open("xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, self.maildir / "new" / name)
        return name

    async def handle_EHLO(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        # A STARTTLS client greets twice in one session; count the first greeting only.
        if not getattr(session, "pemantik_counted", False):
            session.pemantik_counted = True
            with self._lock:
                self.sessions += 1
        # With this (5-argument) hook aiosmtpd leaves host_name to us.
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.reject:
            self.refused += 1
            return f"550 5.1.1 <{address}>: penerima ditolak (alamat tidak dikenal)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            if self.temp_failures > 0:
                self.temp_failures -= 1
                return "451 4.3.0 Gangguan sementara pada server; silakan coba lagi nanti"
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        mid = message_id_of(raw)
        with self._lock:
            if mid and mid in self.seen:
                self.duplicates += 1
                log.info("Message-ID %s sudah tersimpan; duplikat diterima tanpa disimpan", mid)
                return f"250 2.0.0 OK: {mid} sudah diterima sebelumnya (duplikat, tidak disimpan ulang)"
            if mid:
                self.seen.add(mid)
        trace = (
            f"Return-Path: <{envelope.mail_from}>\r\n"
            f"X-Pemantik-Sink-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        try:
            # Off the event loop: the fsync of one message must not stall the other sessions.
            key = await asyncio.to_thread(self._store, trace + raw)
        except OSError:
            with self._lock:
                self.seen.discard(mid or "")
            raise
        with self._lock:
            self.stored += 1
            self.delivered.append((key, mid))
        log.info("disimpan %s (%s) untuk %s", key, mid, ", ".join(envelope.rcpt_tos))
        return f"250 2.0.0 OK: disimpan sebagai {key}"


def read_maildir(maildir: Path) -> list[EmailMessage]:
    """The messages of a Maildir as modern ``EmailMessage`` objects, in delivery order."""
    box = mailbox.Maildir(str(maildir), create=False)  # the stdlib reader, as any client would
    paths = sorted(
        (
            Path(maildir) / sub / name
            for sub in ("new", "cur")
            for name in os.listdir(Path(maildir) / sub)
        ),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )
    out = []
    for path in paths:
        key = path.name.split(":", 1)[0]
        with box.get_file(key) as fh:
            out.append(message_from_binary_file(fh, policy=default))
    return out


def password_authenticator(users: dict[str, str]) -> Callable[..., AuthResult]:
    """An aiosmtpd authenticator accepting the given user → password pairs (PLAIN/LOGIN)."""

    def authenticate(
        server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        expected = users.get(user)
        ok = expected is not None and hmac.compare_digest(
            expected.encode("utf-8"), auth_data.password
        )
        return AuthResult(success=ok, handled=False)

    return authenticate


class SinkHandle:
    """A running sink on its own thread and event loop; stop it with :meth:`stop` or ``with``."""

    def __init__(
        self,
        handler: MaildirHandler,
        host: str,
        port: int,
        smtp_kwargs: dict[str, Any],
        server_ssl: ssl.SSLContext | None,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self._smtp_kwargs = smtp_kwargs
        self._server_ssl = server_ssl
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pemantik-smtp-sink", daemon=True)

    @property
    def maildir(self) -> Path:
        return self.handler.maildir

    def _factory(self) -> SMTP:
        return SMTP(self.handler, loop=self._loop, **self._smtp_kwargs)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                self._loop.create_server(
                    self._factory, self.host, self.port, ssl=self._server_ssl, reuse_address=True
                )
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

    def start(self) -> SinkHandle:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    def messages(self) -> list[EmailMessage]:
        """Every stored message, read back with the stdlib ``mailbox`` module (oldest first)."""
        return read_maildir(self.maildir)

    def __enter__(self) -> SinkHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sink(
    maildir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    reject: Iterable[str] = (),
    temp_failures: int = 0,
    starttls_context: ssl.SSLContext | None = None,
    require_starttls: bool = False,
    implicit_tls_context: ssl.SSLContext | None = None,
    authenticator: Callable[..., AuthResult] | None = None,
    auth_required: bool = False,
) -> SinkHandle:
    """Start a sink in this process (port 0 picks a free port: read ``handle.port``)."""
    handler = MaildirHandler(Path(maildir), reject=set(reject), temp_failures=temp_failures)
    smtp_kwargs: dict[str, Any] = {
        "hostname": "pemantik-sink",
        "ident": "PeManTIK SMTP sink",
        "data_size_limit": DATA_SIZE_LIMIT,
        "tls_context": starttls_context,
        "require_starttls": require_starttls,
        "authenticator": authenticator,
        "auth_required": auth_required,
        # AUTH over plain text only when no TLS is configured at all (local tests/demo).
        "auth_require_tls": bool(starttls_context or implicit_tls_context),
    }
    if authenticator is not None and implicit_tls_context is None and starttls_context is None:
        smtp_kwargs["auth_require_tls"] = False
    return SinkHandle(handler, host, port, smtp_kwargs, implicit_tls_context).start()


def run_sink(
    maildir: Path,
    host: str = "127.0.0.1",
    port: int = 8025,
    *,
    reject: Iterable[str] = (),
    on_ready: Callable[[SinkHandle], None] | None = None,
) -> None:
    """Run a sink until interrupted (Ctrl+C); the CLI's ``smtp-sink`` command."""
    handle = start_sink(maildir, host, port, reject=reject)
    if on_ready:
        on_ready(handle)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m mail.sink --maildir DIR --port N`` (the benchmark runs the sink this way)."""
    import argparse

    parser = argparse.ArgumentParser(description="PeManTIK SMTP sink (Maildir)")
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    run_sink(args.maildir, args.host, args.port)


if __name__ == "__main__":
    main()
