"""The SMTP client side (aiosmtplib): connection set-up from settings and error classification.

Security modes (``settings.smtp.security``): ``plain`` (no TLS), ``starttls`` (upgrade required,
the send fails if the server does not offer it) and ``tls`` (implicit TLS, usually port 465).
``settings.smtp.ca_file`` adds a CA bundle to trust (a private CA, or the test's own CA). AUTH
runs on connect when ``settings.smtp.user`` is set; the password is a SecretStr and is never
logged or put in an error message.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from models.settings import Settings

log = logging.getLogger("pemantik.mail")


def tls_context(settings: Settings) -> ssl.SSLContext:
    ca = settings.smtp.ca_file
    return ssl.create_default_context(cafile=str(ca) if ca else None)


def make_client(settings: Settings) -> aiosmtplib.SMTP:
    smtp = settings.smtp
    security = smtp.security
    kwargs: dict = {
        "hostname": smtp.host,
        "port": smtp.port,
        "timeout": smtp.timeout_seconds,
        "use_tls": security == "tls",
        "start_tls": True if security == "starttls" else False,
    }
    if security != "plain":
        kwargs["tls_context"] = tls_context(settings)
    if smtp.user:
        kwargs["username"] = smtp.user
        kwargs["password"] = smtp.password.get_secret_value()
    return aiosmtplib.SMTP(**kwargs)


@dataclass(frozen=True)
class SmtpFailure:
    """A failed attempt: temporary ones are retried, permanent ones are not."""

    temporary: bool
    code: int | None
    reply: str
    # The connection itself is unusable (refused, timed out, dropped): stop using it.
    connection_lost: bool = False

    @property
    def describe(self) -> str:
        kind = "sementara" if self.temporary else "permanen"
        code = f"{self.code} " if self.code else ""
        return f"kegagalan {kind}: {code}{self.reply}".strip()


def classify(exc: BaseException) -> SmtpFailure:
    """Map an exception from connect/send to a temporary or permanent failure."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {r.message}" for r in exc.recipients)
        temporary = all(400 <= c < 500 for c in codes)
        return SmtpFailure(temporary, codes[0] if codes else None, text)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Wrong credentials will not fix themselves; the admin must act.
        return SmtpFailure(False, exc.code, f"autentikasi SMTP ditolak: {exc.message}", True)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError):
        return SmtpFailure(True, None, f"koneksi SMTP terputus/gagal: {exc}", True)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | asyncio.TimeoutError | TimeoutError):
        return SmtpFailure(True, None, "batas waktu SMTP terlampaui", True)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SmtpFailure(400 <= exc.code < 500, exc.code, exc.message)
    if isinstance(exc, ssl.SSLError):
        return SmtpFailure(False, None, f"TLS gagal: {exc.reason or exc}", True)
    if isinstance(exc, aiosmtplib.SMTPException):
        return SmtpFailure(False, None, str(exc), True)
    if isinstance(exc, OSError):
        return SmtpFailure(True, None, f"koneksi SMTP gagal: {exc.strerror or exc}", True)
    raise exc


async def send_prepared(
    client: aiosmtplib.SMTP, sender: str, recipients: list[str], payload: bytes
) -> tuple[dict[str, SMTPResponse], str]:
    """Send a message that is already in wire form (CRLF line endings, see mail.message).

    Same contract as ``aiosmtplib.SMTP.sendmail`` (returns the refused recipients and the final
    reply; raises ``SMTPRecipientsRefused`` when every recipient is refused, and resets the
    envelope after an error), but without re-normalising line endings with a regular expression
    twice per message: for a 140 KB message that was most of the client's CPU time. Dot-stuffing
    is a plain ``bytes.replace``.
    """
    options = [f"SIZE={len(payload)}"] if client.supports_extension("size") else []
    refused: list[aiosmtplib.SMTPRecipientRefused] = []
    try:
        await client.mail(sender, options=options)
        for rcpt in recipients:
            try:
                await client.rcpt(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused.append(exc)
        if len(refused) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(refused)
        response = await _data(client, payload)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        try:
            await client.rset()
        except (ConnectionError, aiosmtplib.SMTPResponseException):
            pass
        raise
    errors = {exc.recipient: SMTPResponse(exc.code, exc.message) for exc in refused}
    return errors, response.message


async def _data(client: aiosmtplib.SMTP, payload: bytes) -> SMTPResponse:
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    stuffed = payload.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    start = await client.execute_command(b"DATA")
    if start.code != 354:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    try:
        # No await between the write and read_response: the reply cannot be missed.
        protocol.write(stuffed + b".\r\n")
        response = await protocol.read_response(timeout=client.timeout)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        client.close()
        raise
    if response.code != 250:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response
