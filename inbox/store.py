"""Intake: the raw message on disk first, then its ``InboundMessage`` row (once per Message-ID)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from sqlmodel import Session, select

from models import clock
from models.tables import InboundMessage

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def _fsync_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def raw_name(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32]


def store_raw(raw: bytes, message_id: str, directory: Path) -> Path:
    """Keep the message as ``<directory>/<sha256(Message-ID)>.eml``; the first copy wins."""
    path = directory / f"{raw_name(message_id)}.eml"
    if not path.is_file():
        _fsync_write(path, raw)
    return path.resolve()


def safe_filename(name: str, default: str = "lampiran") -> str:
    base = Path(name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip(" .")
    return cleaned[:120] or default


def store_attachment(directory: Path, message_id: str, filename: str, data: bytes) -> Path:
    """An attachment of a stored message, in a folder of its own (named after the message)."""
    path = directory / "lampiran" / raw_name(message_id) / safe_filename(filename)
    if not path.is_file() or path.read_bytes() != data:
        _fsync_write(path, data)
    return path.resolve()


def admin_copy(raw_path: Path) -> Path:
    """A copy of the raw message for the admin, named ``.eml.txt``.

    The outbox types attachments by suffix, and ``.eml`` becomes ``message/rfc822`` sent in
    base64, which mail readers (and Python's parser) read as a nested message and garble; as
    ``text/plain`` it arrives byte for byte (rename to ``.eml`` to open it in a mail client).
    """
    copy = raw_path.with_name(raw_path.stem + ".eml.txt")
    if not copy.is_file():
        _fsync_write(copy, raw_path.read_bytes())
    return copy


def record(
    session: Session,
    *,
    message_id: str,
    raw_path: Path,
    sender: str,
    subject: str,
    in_reply_to: str,
) -> bool:
    """Insert the row unless the Message-ID is known; True when it is new.

    ``INSERT … ON CONFLICT DO NOTHING``: two readers storing the same message at once cannot
    fail each other's transaction.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = {
        "message_id": message_id,
        "raw_path": str(raw_path),
        "sender": sender[:320],
        "subject": subject[:1000],
        "in_reply_to": in_reply_to[:1000],
        "cycle_id": None,
        "region_code": None,
        "assessor_id": None,
        "state": "received",
        "action": "",
        "error": "",
        "attempts": 0,
        "received_at": clock.now(),
        "processed_at": None,
    }
    stmt = (
        insert(InboundMessage.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["message_id"])
        .returning(InboundMessage.__table__.c.id)
    )
    # RETURNING, not rowcount: the driver's rowcount is not reliable for ON CONFLICT.
    return session.execute(stmt).first() is not None


def known(session: Session, message_id: str) -> bool:
    return (
        session.exec(
            select(InboundMessage.id).where(InboundMessage.message_id == message_id)
        ).first()
        is not None
    )
