"""Writing a reply as a person's mail client would: for the demo's simulated officers and
assessors, and for the tests. ``reply_to`` builds the bytes; ``drop_into_maildir`` delivers them
into the inbox Maildir the reader takes in (the embedded default).
"""

from __future__ import annotations

import mimetypes
import os
import socket
import time
import uuid
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from inbox.parse import message_ids
from models import clock


def _as_message(original: EmailMessage | bytes) -> EmailMessage:
    if isinstance(original, bytes | bytearray):
        return message_from_bytes(bytes(original), policy=default)  # type: ignore[return-value]
    return original


def reply_to(
    original: EmailMessage | bytes,
    sender: str,
    body: str,
    attachments: list[Path | tuple[str, bytes]] | None = None,
    *,
    sender_name: str = "",
    subject: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """A reply to ``original`` from ``sender``: ``Re:`` subject (keeps the reference token),
    In-Reply-To and References set, the original quoted below ``body``, files attached."""
    orig = _as_message(original)
    orig_id = (message_ids(orig.get("Message-ID", "")) or [""])[0]
    refs = message_ids(orig.get("References", ""))
    if orig_id:
        refs.append(orig_id)
    orig_subject = str(orig.get("Subject", "") or "")
    to = str(orig.get("Reply-To") or orig.get("From") or "")
    msg = EmailMessage()
    msg["From"] = formataddr((sender_name, sender)) if sender_name else sender
    msg["To"] = to
    msg["Subject"] = (
        subject
        if subject is not None
        else (orig_subject if orig_subject.lower().startswith("re:") else f"Re: {orig_subject}")
    )
    msg["Date"] = format_datetime(time_now())
    msg["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2] or None)
    if orig_id:
        msg["In-Reply-To"] = orig_id
        msg["References"] = " ".join(refs[-10:])
    quoted = ""
    orig_body = orig.get_body(preferencelist=("plain",))
    if orig_body is not None:
        try:
            text = orig_body.get_content()
        except Exception:  # noqa: BLE001 - quoting is a courtesy
            text = ""
        who = str(orig.get("From", "") or "")
        quoted = f"\n\nPada {orig.get('Date', '')}, {who} menulis:\n" + "\n".join(
            f"> {line}" for line in text.splitlines()
        )
    msg.set_content(body + quoted)
    for item in attachments or []:
        if isinstance(item, tuple):
            name, data = item
        else:
            name, data = Path(item).name, Path(item).read_bytes()
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if name.lower().endswith(".xlsx"):
            ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=SMTP)


def time_now():  # noqa: ANN201 - a datetime; separate so tests may pin it
    return clock.now()


def drop_into_maildir(maildir: Path, raw: bytes) -> Path:
    """Deliver ``raw`` into ``maildir/new`` (write to ``tmp/``, then rename: Maildir rules)."""
    root = Path(maildir)
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}.{uuid.uuid4().hex[:12]}.{socket.gethostname().replace('/', '_')}"
    tmp = root / "tmp" / name
    with open(tmp, "wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    target = root / "new" / name
    os.replace(tmp, target)
    return target
