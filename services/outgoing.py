"""Letters plus email: "this document goes to this person". Flows never talk SMTP.

A step first writes its letters and outbox rows in one transaction (each with an idempotency
key), commits, and only then delivers; a re-run finds the same keys and sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from models.db import session_scope
from models.tables import Dispatch, DispatchState, Letter


@dataclass
class Outgoing:
    """What a step queued: outbox keys and the letters it issued."""

    keys: list[str] = field(default_factory=list)
    letter_ids: list[int] = field(default_factory=list)


def letter_attachment(letter: Letter) -> Path:
    """The file that goes out: the PDF when LibreOffice made one, else the .docx."""
    return Path(letter.pdf_path or letter.file_path)


def issue_and_mail(
    session: Session,
    out: Outgoing,
    *,
    kind: str,
    data: Any,
    key: str,
    recipient: str,
    recipient_name: str,
    template: str,
    context: dict[str, Any],
    cycle_id: int,
    region_code: str | None = None,
    assessor_id: int | None = None,
    extra_attachments: list[Path] | None = None,
    cc: list[str] | None = None,
    letter_date: date | None = None,
) -> Letter:
    """Issue a numbered letter (idempotent by ``key``) and queue it by email."""
    from letters.service import issue_letter

    from mail.outbox import enqueue

    letter = issue_letter(
        session,
        kind,
        data,
        idempotency_key=key,
        cycle_id=cycle_id,
        region_code=region_code,
        assessor_id=assessor_id,
        letter_date=letter_date,
    )
    attachments = [letter_attachment(letter), *(extra_attachments or [])]
    dispatch = enqueue(
        session,
        key=f"{key}/email",
        recipient=recipient,
        recipient_name=recipient_name,
        subject=f"{letter.subject} — Nomor {letter.number}",
        template=template,
        context={**context, "nomor_surat": letter.number, "hal": letter.subject},
        attachments=attachments,
        kind=kind,
        cycle_id=cycle_id,
        region_code=region_code,
        assessor_id=assessor_id,
        letter_id=letter.id,
        cc=cc,
    )
    out.keys.append(dispatch.idempotency_key)
    out.letter_ids.append(letter.id)  # type: ignore[arg-type]
    return letter


def mail_only(
    session: Session,
    out: Outgoing,
    *,
    key: str,
    recipient: str,
    recipient_name: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    cycle_id: int,
    region_code: str | None = None,
    assessor_id: int | None = None,
    attachments: list[Path] | None = None,
    kind: str = "",
) -> Dispatch:
    from mail.outbox import enqueue

    dispatch = enqueue(
        session,
        key=key,
        recipient=recipient,
        recipient_name=recipient_name,
        subject=subject,
        template=template,
        context=context,
        attachments=attachments,
        kind=kind or template,
        cycle_id=cycle_id,
        region_code=region_code,
        assessor_id=assessor_id,
    )
    out.keys.append(dispatch.idempotency_key)
    return dispatch


def queue_then_deliver(build: Callable[[Session, Outgoing], Any]) -> tuple[Any, list[dict]]:
    """Run ``build`` in one committed transaction, then deliver what it queued.

    Returns ``build``'s result and a receipt per message (key, recipient, state, Message-ID,
    SMTP reply, sent time). A message that could not be delivered yet stays queued for the
    next delivery (its state says so); the step does not fail for it.
    """
    from mail.outbox import deliver_pending_sync

    out = Outgoing()
    with session_scope() as session:
        result = build(session, out)
    if out.keys:
        deliver_pending_sync(keys=out.keys)
    return result, receipts(out.keys)


def receipts(keys: list[str]) -> list[dict]:
    if not keys:
        return []
    with session_scope() as session:
        rows = session.exec(select(Dispatch).where(Dispatch.idempotency_key.in_(keys))).all()
        return [
            {
                "key": r.idempotency_key,
                "recipient": r.recipient,
                "kind": r.kind,
                "state": r.state,
                "message_id": r.message_id,
                "smtp": f"{r.smtp_code or ''} {r.smtp_reply}".strip(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else "",
                "attachments": [a.get("sha256", "") for a in (r.attachments or [])],
            }
            for r in rows
        ]


def all_sent(items: list[dict]) -> bool:
    return all(r["state"] == DispatchState.SENT for r in items)
