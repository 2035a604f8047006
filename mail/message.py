"""Build the MIME message for one outbox row: multipart/alternative text + HTML, attachments.

Headers: Message-ID (derived from the idempotency key, stored on the row), Date (WITA, taken
when the attempt is made), From, Reply-To, To, Cc, Subject, In-Reply-To and References.
"""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

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


class AttachmentChanged(RuntimeError):
    """An attachment on disk no longer matches the hash stored when the message was queued."""


def content_type_for(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in MIME_TYPES:
        return MIME_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def address(display_name: str, addr_spec: str) -> Address:
    return Address(display_name=display_name or "", addr_spec=addr_spec)


def read_attachment(item: dict, cache: dict[str, bytes] | None = None) -> bytes:
    """The attachment's bytes, checked against the sha256 stored at enqueue time."""
    sha = item["sha256"]
    if cache is not None and sha in cache:
        return cache[sha]
    path = Path(item["path"])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AttachmentChanged(f"lampiran {path} tidak dapat dibaca: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise AttachmentChanged(
            f"lampiran {path} telah berubah sejak surel diantrekan (sha256 tidak cocok)"
        )
    if cache is not None:
        cache[sha] = data
    return data


def build_message(
    row: Dispatch,
    settings: Settings,
    *,
    now: datetime | None = None,
    cache: dict[str, bytes] | None = None,
) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["Message-ID"] = row.message_id
    msg["Date"] = format_datetime((now or datetime.now(settings.tz)).astimezone(settings.tz))
    msg["From"] = address(settings.sender_name, str(settings.sender))
    msg["Reply-To"] = address("", str(settings.reply_to))
    msg["To"] = address(row.recipient_name, row.recipient)
    if row.cc:
        msg["Cc"] = [address("", cc) for cc in row.cc]
    msg["Subject"] = row.subject
    if row.in_reply_to:
        msg["In-Reply-To"] = row.in_reply_to
    if row.references:
        msg["References"] = row.references
    msg.set_content(row.body_text)
    msg.add_alternative(row.body_html, subtype="html")
    for item in row.attachments or []:
        data = read_attachment(item, cache)
        maintype, _, subtype = item["content_type"].partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=item["filename"])
    return msg


def envelope_recipients(row: Dispatch) -> list[str]:
    return [row.recipient, *(row.cc or [])]
