"""Build the wire bytes of one outbox row: multipart/mixed (multipart/alternative text + HTML,
then the attachments).

Headers: Message-ID (derived from the idempotency key, stored on the row), Date (WITA, taken
when the attempt is made), From, Reply-To, To, Cc, Subject, In-Reply-To and References,
MIME-Version.

The MIME is assembled directly rather than through ``email.message.EmailMessage``: the stdlib
generator re-encodes and re-wraps a 100 KB attachment line by line in Python for every message,
which made message building the most expensive part of sending. Here the text and HTML bodies
are quoted-printable (``binascii``, C), an attachment is base64-encoded once per batch and its
encoded part reused for every message carrying the same file (the questionnaire goes to every
region), and headers are encoded with the stdlib's RFC 2047 / RFC 2231 helpers. Boundaries begin
with ``=_``, which can occur neither in base64 nor in quoted-printable text. The tests parse the
result back with the stdlib (``mailbox`` + ``email``) and compare the attachment hashes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
import secrets
from datetime import datetime
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr
from pathlib import Path

from models import clock
from models.settings import Settings
from models.tables import Dispatch

# Office formats are not in every platform's mime.types; name them explicitly.
MIME_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".csv": "text/csv",
    ".zip": "application/zip",
}
CRLF = b"\r\n"


class AttachmentChanged(RuntimeError):
    """An attachment on disk no longer matches the hash stored when the message was queued."""


def content_type_for(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in MIME_TYPES:
        return MIME_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def read_attachment(item: dict) -> bytes:
    """The attachment's bytes, checked against the sha256 stored at enqueue time."""
    path = Path(item["path"])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AttachmentChanged(f"lampiran {path} tidak dapat dibaca: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != item["sha256"]:
        raise AttachmentChanged(
            f"lampiran {path} telah berubah sejak surel diantrekan (sha256 tidak cocok)"
        )
    return data


def _header(name: str, value: str) -> bytes:
    """One header line, RFC 2047-encoded when not ASCII, folded at 78 columns."""
    if value.isascii() and len(name) + len(value) < 76 and "\r" not in value and "\n" not in value:
        return f"{name}: {value}\r\n".encode("ascii")  # the common case, without Header()
    try:
        value.encode("ascii")
        charset = "us-ascii"
    except UnicodeEncodeError:
        charset = "utf-8"
    folded = Header(value, charset, maxlinelen=78, header_name=name).encode(linesep="\r\n")
    return f"{name}: {folded}".encode("ascii") + CRLF


def _address(name: str, addr: str) -> str:
    return formataddr((name, addr), charset="utf-8")


def _param(key: str, value: str) -> str:
    """A MIME parameter, RFC 2231-encoded when not plain ASCII."""
    if value.isascii() and '"' not in value and "\\" not in value:
        return f'{key}="{value}"'
    return f"{key}*={encode_rfc2231(value, 'utf-8')}"


def _text_part(content_type: str, body: str) -> bytes:
    data = body.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n").encode("utf-8")
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'.encode()
        + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + binascii.b2a_qp(data, istext=True)
    )


def attachment_part(item: dict, cache: dict[tuple, bytes] | None = None) -> bytes:
    """The encoded MIME part of one attachment (cached by hash, name and type)."""
    key = (item["sha256"], item["filename"], item["content_type"])
    if cache is not None and key in cache:
        return cache[key]
    data = read_attachment(item)
    part = (
        f"Content-Type: {item['content_type']}; {_param('name', item['filename'])}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; {_param('filename', item['filename'])}\r\n\r\n"
    ).encode("ascii") + base64.encodebytes(data).replace(b"\n", CRLF)
    if cache is not None:
        cache[key] = part
    return part


def message_bytes(
    row: Dispatch,
    settings: Settings,
    *,
    now: datetime | None = None,
    cache: dict[tuple, bytes] | None = None,
) -> bytes:
    """The complete message (headers + MIME body, CRLF line endings) for ``row``."""
    mixed = f"=_pemantik_m_{secrets.token_hex(12)}"
    alternative = f"=_pemantik_a_{secrets.token_hex(12)}"
    date = format_datetime(clock.local(now or clock.now()))
    head = [
        _header("Message-ID", row.message_id),
        _header("Date", date),
        _header("From", _address(settings.sender_name, str(settings.sender))),
        _header("Reply-To", str(settings.reply_to)),
        _header("To", _address(row.recipient_name, row.recipient)),
    ]
    if row.cc:
        head.append(_header("Cc", ", ".join(row.cc)))
    head.append(_header("Subject", row.subject))
    if row.in_reply_to:
        head.append(_header("In-Reply-To", row.in_reply_to))
    if row.references:
        head.append(b"References: " + "\r\n ".join(row.references.split()).encode() + CRLF)
    head.append(b"MIME-Version: 1.0\r\n")
    head.append(f'Content-Type: multipart/mixed; boundary="{mixed}"\r\n\r\n'.encode())

    body = [
        f"--{mixed}\r\n".encode(),
        f'Content-Type: multipart/alternative; boundary="{alternative}"\r\n\r\n'.encode(),
        f"--{alternative}\r\n".encode(),
        _text_part("text/plain", row.body_text),
        f"\r\n--{alternative}\r\n".encode(),
        _text_part("text/html", row.body_html),
        f"\r\n--{alternative}--\r\n".encode(),
    ]
    for item in row.attachments or []:
        body.append(f"\r\n--{mixed}\r\n".encode())
        body.append(attachment_part(item, cache))
    body.append(f"\r\n--{mixed}--\r\n".encode())
    return b"".join(head) + b"".join(body)


def envelope_recipients(row: Dispatch) -> list[str]:
    return [row.recipient, *(row.cc or [])]
