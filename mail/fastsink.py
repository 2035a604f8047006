"""A fast SMTP sink for benchmarks: the same Maildir storage and Message-ID deduplication as
:mod:`mail.sink` (it calls the same :class:`~mail.sink.MaildirHandler`), but a minimal SMTP
protocol that reads the DATA section in bulk (one ``readuntil`` for ``CRLF.CRLF``) instead of
line by line, and advertises PIPELINING. It serves the commands a mail client needs (EHLO/HELO,
MAIL, RCPT, DATA, RSET, NOOP, QUIT); no TLS, no AUTH. Use :mod:`mail.sink` for anything else.

    python -m mail.fastsink --maildir DIR --port 8025
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mail.sink import DATA_SIZE_LIMIT, MaildirHandler

_PATH = re.compile(rb"<([^>]*)>")


@dataclass
class _Envelope:
    mail_from: str = ""
    rcpt_tos: list[str] = field(default_factory=list)
    original_content: bytes = b""
    content: bytes = b""


def _address(arg: bytes) -> str:
    match = _PATH.search(arg)
    return (match.group(1) if match else arg.split(b":", 1)[-1].strip()).decode("utf-8", "replace")


async def _session(
    handler: MaildirHandler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    env = _Envelope()
    writer.write(b"220 pemantik-fastsink ESMTP\r\n")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            verb, _, arg = line.rstrip(b"\r\n").partition(b" ")
            verb = verb.upper()
            if verb == b"EHLO":
                handler.sessions += 1
                writer.write(
                    b"250-pemantik-fastsink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                    + f"250-SIZE {DATA_SIZE_LIMIT}\r\n".encode()
                    + b"250 SMTPUTF8\r\n"
                )
            elif verb == b"HELO":
                writer.write(b"250 pemantik-fastsink\r\n")
            elif verb == b"MAIL":
                env = _Envelope(mail_from=_address(arg))
                writer.write(b"250 OK\r\n")
            elif verb == b"RCPT":
                reply = await handler.handle_RCPT(None, None, env, _address(arg), [])
                writer.write(reply.encode() + b"\r\n")
            elif verb == b"DATA":
                if not env.rcpt_tos:
                    writer.write(b"503 5.5.1 Error: need RCPT command\r\n")
                    continue
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                raw = await reader.readuntil(b"\r\n.\r\n")
                body = raw[:-3]
                if body.startswith(b"."):
                    body = body[1:]
                env.original_content = body.replace(b"\r\n..", b"\r\n.")
                env.content = env.original_content
                reply = await handler.handle_DATA(None, None, env)
                writer.write(reply.encode() + b"\r\n")
                env = _Envelope()
            elif verb == b"RSET":
                env = _Envelope()
                writer.write(b"250 OK\r\n")
            elif verb == b"NOOP":
                writer.write(b"250 OK\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 Bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"502 5.5.2 Command not implemented\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


@dataclass
class FastSinkInfo:
    host: str
    port: int
    maildir: Path
    handler: MaildirHandler


async def serve(
    maildir: Path,
    host: str = "127.0.0.1",
    port: int = 8025,
    *,
    reject: Iterable[str] = (),
    on_ready: Callable[[FastSinkInfo], None] | None = None,
) -> None:
    handler = MaildirHandler(Path(maildir), reject=set(reject))
    server = await asyncio.start_server(
        lambda r, w: _session(handler, r, w), host, port, limit=DATA_SIZE_LIMIT
    )
    if on_ready:
        bound = server.sockets[0].getsockname()[1]
        on_ready(FastSinkInfo(host, bound, Path(maildir), handler))
    async with server:
        await server.serve_forever()


def run_fast_sink(
    maildir: Path,
    host: str = "127.0.0.1",
    port: int = 8025,
    *,
    reject: Iterable[str] = (),
    on_ready: Callable[[FastSinkInfo], None] | None = None,
) -> None:
    """Run the fast sink until interrupted (``pemantik smtp-sink --cepat``)."""
    try:
        asyncio.run(serve(maildir, host, port, reject=reject, on_ready=on_ready))
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="PeManTIK fast SMTP sink (Maildir)")
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    run_fast_sink(args.maildir, args.host, args.port)


if __name__ == "__main__":
    main()
