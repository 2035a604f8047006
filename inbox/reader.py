"""One reading pass: take in every new message, then act on every message not yet handled.

Intake, per message: the raw bytes are written to ``<data_dir>/inbox-raw/<sha256>.eml``
(fsync + rename) FIRST, then the ``InboundMessage`` row is committed (``INSERT … ON CONFLICT
DO NOTHING`` on the Message-ID; a message without one gets ``<sha256-…@pemantik.inbox.invalid>``
derived from its bytes; rows are committed in chunks of :data:`INTAKE_CHUNK`), and only after
that commit is the message marked handled in its source. A reader
killed anywhere in between finds the message again on the next pass, stores nothing twice
(same file name, same row) and marks it then.

Acting (see :mod:`inbox.act`) runs over the rows still ``received`` or ``error`` (fewer than
``max_attempts`` tries), oldest first; it is independent of the source, so a message taken in
by a killed run is acted on by the next one. The automatic replies and admin notices queued
meanwhile are delivered at the end of the pass (and any still queued from an earlier pass).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parseaddr
from pathlib import Path

from sqlmodel import select

from inbox.act import STATE_LABELS, Outcome, pending_ids, process_one
from inbox.parse import message_ids, synthetic_message_id
from inbox.settings import (
    InboxSettings,
    inbox_maildir,
    load_imap_settings,
    load_inbox_settings,
    raw_dir,
)
from inbox.sources import ImapSource, MaildirSource, Source, SourceError
from inbox.store import record, store_raw
from models.db import session_scope
from models.settings import Settings, get_settings
from models.tables import Dispatch, DispatchState

log = logging.getLogger("pemantik.inbox")


@dataclass
class ReadReport:
    source: str
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    sent: int = 0
    not_sent: int = 0
    errors: list[str] = field(default_factory=list)
    source_error: str = ""  # why the mailbox could not be read this pass

    def counts(self) -> dict[str, int]:
        return dict(Counter(o.state for o in self.outcomes))

    def summary(self) -> str:
        states = ", ".join(
            f"{STATE_LABELS.get(k, k)} {v}" for k, v in sorted(self.counts().items())
        )
        text = (
            f"Kotak masuk ({self.source}): {self.fetched} surel dibaca, {self.new} baru, "
            f"{self.duplicates} sudah dikenal; {len(self.outcomes)} ditindaklanjuti"
            + (f" ({states})" if states else "")
            + f"; {self.sent} balasan/notifikasi terkirim"
        )
        if self.not_sent:
            text += f", {self.not_sent} menunggu pengiriman berikutnya"
        return text + "."


def default_source(settings: InboxSettings | None = None) -> Source:
    """IMAP when ``PEMANTIK_IMAP_ENABLED`` is true, else the embedded Maildir."""
    imap = load_imap_settings()
    if imap.enabled:
        return ImapSource(imap)
    return MaildirSource((settings or load_inbox_settings()).maildir or inbox_maildir())


def _headers(raw: bytes) -> tuple[str, str, str, str]:
    """Message-ID, sender, subject and In-Reply-To, from the header block only (fast path)."""
    try:
        head = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
        message_id = message_ids(head.get("Message-ID", ""))
        _, sender = parseaddr(_text(head.get("From", "")))
        return (
            message_id[0][:900] if message_id else synthetic_message_id(raw),
            sender.strip().lower(),
            " ".join(_text(head.get("Subject", "")).split()),
            " ".join(message_ids(head.get("In-Reply-To", ""))),
        )
    except Exception:  # noqa: BLE001 - an unparseable message is still kept
        return synthetic_message_id(raw), "", "", ""


def _text(value: object) -> str:
    try:
        return str(make_header(decode_header(str(value or ""))))
    except Exception:  # noqa: BLE001 - a malformed encoded word: keep it as it is
        return str(value or "")


INTAKE_CHUNK = 50  # rows committed per transaction; the source is marked after each commit


def intake(source: Source, report: ReadReport, limit: int) -> None:
    """Store every message of ``source`` (raw file, then row), then mark it handled there."""
    directory = raw_dir()
    chunk: list[tuple[object, tuple[str, str, str, str], Path]] = []

    def commit_chunk() -> None:
        with session_scope() as session:
            created = [
                record(
                    session,
                    message_id=head[0],
                    raw_path=path,
                    sender=head[1],
                    subject=head[2],
                    in_reply_to=head[3],
                )
                for _, head, path in chunk
            ]
        report.new += sum(created)
        report.duplicates += len(created) - sum(created)
        for handle, _, _ in chunk:
            source.mark_done(handle)
        chunk.clear()

    for item in source.items(limit):
        report.fetched += 1
        head = _headers(item.raw)
        chunk.append((item.handle, head, store_raw(item.raw, head[0], directory)))
        if len(chunk) >= INTAKE_CHUNK:
            commit_chunk()
    if chunk:
        commit_chunk()


def act_on_pending(
    report: ReadReport, settings: Settings, inbox_settings: InboxSettings
) -> list[str]:
    with session_scope() as session:
        ids = pending_ids(session, inbox_settings.max_attempts)
    keys: list[str] = []
    for row_id in ids:
        outcome = process_one(row_id, settings=settings, inbox_settings=inbox_settings)
        if outcome is None:
            continue
        report.outcomes.append(outcome)
        keys.extend(outcome.keys)
        if outcome.state == "error":
            report.errors.append(f"{outcome.message_id}: {outcome.action}")
    return keys


def deliver(report: ReadReport, keys: list[str], settings: Settings) -> None:
    from mail.outbox import deliver_pending_sync

    with session_scope() as session:
        queued = session.exec(
            select(Dispatch.idempotency_key).where(
                Dispatch.idempotency_key.like("inbox:%"),  # type: ignore[attr-defined]
                Dispatch.state == DispatchState.QUEUED,
            )
        ).all()
    wanted = list(dict.fromkeys([*keys, *queued]))
    if not wanted:
        return
    try:
        deliver_pending_sync(keys=wanted, settings=settings)
    except Exception as exc:  # noqa: BLE001 - the replies stay queued for the next pass
        report.errors.append(f"pengiriman balasan gagal: {exc}")
        report.not_sent += len(wanted)
        return
    with session_scope() as session:
        states = session.exec(
            select(Dispatch.state).where(Dispatch.idempotency_key.in_(wanted))  # type: ignore[attr-defined]
        ).all()
    report.sent = sum(1 for s in states if s == DispatchState.SENT)
    report.not_sent = len(states) - report.sent


def read_once(
    source: Source | None = None,
    *,
    deliver_replies: bool = True,
    settings: Settings | None = None,
    inbox_settings: InboxSettings | None = None,
) -> ReadReport:
    """One pass: intake from ``source`` (default: :func:`default_source`), act, deliver.

    When the mailbox cannot be read (server down, login refused), the messages already stored
    are still acted on and their replies delivered; ``report.source_error`` says why.
    """
    settings = settings or get_settings()
    inbox_settings = inbox_settings or load_inbox_settings()
    own = source is None
    report = ReadReport(source.name if source is not None else "")
    try:
        source = source or default_source(inbox_settings)
        report.source = source.name
        try:
            intake(source, report, inbox_settings.batch_size)
        finally:
            if own:
                source.close()
    except (SourceError, OSError, TimeoutError) as exc:
        report.source_error = str(exc) or type(exc).__name__
        report.errors.append(f"kotak surel tidak dapat dibaca: {report.source_error}")
        log.error(report.errors[-1])
    keys = act_on_pending(report, settings, inbox_settings)
    if deliver_replies:
        deliver(report, keys, settings)
    log.info(report.summary())
    return report
