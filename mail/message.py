"""Build the wire bytes of one outbox row: multipart/mixed (multipart/alternative text + HTML,
then the attachments).

Headers: Message-ID (derived from the idempotency key, stored on the row), Date (WITA, taken
when the attempt is made), From, Reply-To, To, Cc, Subject, In-Reply-To and References,
MIME-Version, and the product's own headers (:func:`product_headers`).

Markers: every message says it is ours twice, so that a reply's quoted copy of it is never read
as the person's answer (:mod:`inbox.quotes`): the :func:`product_headers` (seen on a forwarded
``message/rfc822`` copy) and :data:`REPLY_MARKER`, the first line of both bodies, where the
product's text starts (seen in every quoted copy, whatever the client's quote header).

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
import re
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

# The first line of every body we send. Short, so a quoting client never wraps it; the reader
# recognises it by MARKER_PATTERN (its "##-" ... "PeManTIK" ... "-##" frame), quoted or not.
REPLY_MARKER = "##- Mohon tulis balasan di atas baris ini (PeManTIK) -##"
MARKER_PATTERN = re.compile(r"##-[^\n]{0,80}?PeManTIK[^\n]{0,10}?-##", re.I)
# The header that names a message as the product's (its value: the message's kind).
PRODUCT_HEADER = "X-PeManTIK-Kind"
_BODY_TAG = re.compile(r"<body[^>]*>", re.I)


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


# Kinds that only ever answer a message someone sent us (RFC 3834 "auto-replied"); every
# other message of the product is "auto-generated". Both keep out-of-office responders quiet.
AUTO_REPLY_KINDS = frozenset({"balasan_otomatis"})


def product_headers(row: Dispatch) -> list[tuple[str, str]]:
    """The headers that mark a message as the product's own; add further ones here.

    ``Auto-Submitted`` (RFC 3834) and ``X-Auto-Response-Suppress`` (Exchange/Outlook) tell
    automatic responders not to answer, so no out-of-office reply ping-pongs with the inbox."""
    auto = "auto-replied" if row.kind in AUTO_REPLY_KINDS else "auto-generated"
    return [
        (PRODUCT_HEADER, row.kind or "surel"),
        ("Auto-Submitted", auto),
        ("X-Auto-Response-Suppress", "All"),
    ]


def marked_text(body: str) -> str:
    """The text body with :data:`REPLY_MARKER` as its first line."""
    return f"{REPLY_MARKER}\n\n{body}"


def marked_html(body: str) -> str:
    """The HTML body with :data:`REPLY_MARKER` first inside ``<body>`` (or first of all)."""
    marker = f'<div style="color:#888888;font-size:11px;">{REPLY_MARKER}</div>\n'
    found = _BODY_TAG.search(body)
    if found is None:
        return marker + body
    return body[: found.end()] + "\n" + marker + body[found.end() :]


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
    for name, value in product_headers(row):
        head.append(_header(name, value))
    head.append(b"MIME-Version: 1.0\r\n")
    head.append(f'Content-Type: multipart/mixed; boundary="{mixed}"\r\n\r\n'.encode())

    body = [
        f"--{mixed}\r\n".encode(),
        f'Content-Type: multipart/alternative; boundary="{alternative}"\r\n\r\n'.encode(),
        f"--{alternative}\r\n".encode(),
        _text_part("text/plain", marked_text(row.body_text)),
        f"\r\n--{alternative}\r\n".encode(),
        _text_part("text/html", marked_html(row.body_html)),
        f"\r\n--{alternative}--\r\n".encode(),
    ]
    for item in row.attachments or []:
        body.append(f"\r\n--{mixed}\r\n".encode())
        body.append(attachment_part(item, cache))
    body.append(f"\r\n--{mixed}--\r\n".encode())
    return b"".join(head) + b"".join(body)


def envelope_recipients(row: Dispatch) -> list[str]:
    return [row.recipient, *(row.cc or [])]
