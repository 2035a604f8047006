"""Letters plus email: "this document goes to this person". Flows never talk SMTP.

A step first writes its letters and outbox rows in one transaction (each with an idempotency
key), commits, and only then delivers; a re-run finds the same keys and sends nothing twice.
The email of a letter renders the letter's own data dict (plus ``letter``: its number, subject
and date), so a value has one name in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mail.outbox import OutboxMessage
from models.db import session_scope
from models.settings import get_settings
from models.tables import Dispatch, Letter


@dataclass
class StepOutput:
    """What a step produced: the letters it issued and the emails to queue after them."""

    mails: list[OutboxMessage] = field(default_factory=list)
    letter_ids: list[int] = field(default_factory=list)
    extra_keys: list[str] = field(default_factory=list)  # rows a step queued itself

    @property
    def keys(self) -> list[str]:
        return [m.key for m in self.mails] + self.extra_keys


def letter_attachment(letter: Letter) -> Path:
    """The file that goes out (see :func:`letters.service.outgoing_file`)."""
    from letters.service import outgoing_file

    return outgoing_file(letter)


def issue_and_mail(
    session: Session,
    out: StepOutput,
    *,
    kind: str,
    step_no: int,
    data: dict[str, Any],
    key: str,
    recipient: str,
    recipient_name: str,
    template: str,
    cycle_id: int,
    region_code: str | None = None,
    assessor_id: int | None = None,
    extra_attachments: list[Path] | None = None,
    cc: list[str] | None = None,
    letter_date: date | None = None,
) -> Letter:
    """Issue a numbered letter (idempotent by ``key``) and plan its email, which renders the
    same ``data`` (plus ``letter``).

    The PDF is made after the transaction (LibreOffice takes about a second per call, too long
    to hold the number register's lock), in one batch for the step.
    """
    from letters.service import issue_letter

    letter = issue_letter(
        session,
        kind,
        data,
        idempotency_key=key,
        cycle_id=cycle_id,
        region_code=region_code,
        assessor_id=assessor_id,
        letter_date=letter_date,
        pdf=False,
    )
    out.letter_ids.append(letter.id)  # type: ignore[arg-type]
    out.mails.append(
        OutboxMessage(
            key=f"{key}/email",
            step_no=step_no,
            recipient=recipient,
            recipient_name=recipient_name,
            subject=f"{letter.subject} — Nomor {letter.number}",
            template=template,
            context={
                **data,
                "letter": {
                    "number": letter.number,
                    "subject": letter.subject,
                    "date": letter.letter_date,
                },
            },
            kind=kind,
            cycle_id=cycle_id,
            region_code=region_code,
            assessor_id=assessor_id,
            letter_id=letter.id,
            attachments=list(extra_attachments or []),
            cc=list(cc or []),
        )
    )
    return letter


def mail_only(session: Session, out: StepOutput, **fields: Any) -> None:
    """Plan an email without a letter (the fields of :class:`mail.outbox.OutboxMessage`)."""
    out.mails.append(OutboxMessage(**fields))


def queue_then_deliver(build: Callable[[Session, StepOutput], Any]) -> tuple[Any, list[dict]]:
    """Run ``build`` in one committed transaction, add PDFs, queue the emails, deliver.

    Returns ``build``'s result and a receipt per message (key, recipient, state, Message-ID,
    SMTP reply, sent time). A message that could not be delivered yet stays queued for the
    next delivery (its state says so); the step does not fail for it. Every phase is
    idempotent, so a crash between two of them is repaired by running the step again.
    """
    from letters.pdf import pdf_available
    from letters.service import make_pdfs
    from mail.outbox import deliver_pending_sync, enqueue_many

    out = StepOutput()
    with session_scope() as session:
        result = build(session, out)
    if out.letter_ids and pdf_available():
        with session_scope() as session:
            make_pdfs(session, [session.get(Letter, i) for i in out.letter_ids])
    if out.mails or out.extra_keys:
        with session_scope() as session:
            messages = []
            for m in out.mails:
                if m.letter_id is not None:
                    letter = session.get(Letter, m.letter_id)
                    m = replace(m, attachments=[letter_attachment(letter), *m.attachments])
                messages.append(m)
            queued = enqueue_many(session, messages)
            if queued.refused:
                from mail.outbox import OutboxError

                raise OutboxError("; ".join(queued.refused.values()))
            held = []
            if get_settings().signoff:
                from services.signoff import hold_for_signoff

                # Every row of the step (a re-run finds them existing): its waits reopen too.
                ids = session.exec(
                    select(Dispatch.id).where(Dispatch.idempotency_key.in_(out.keys))
                ).all()
                held = hold_for_signoff(session, ids)
        if held:
            from services.signoff import open_signoff_waits

            open_signoff_waits(held)
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


def notify_admin(
    *,
    key: str,
    subject: str,
    title: str,
    paragraphs: list[str],
    details: dict[str, str],
    cycle_id: int | None = None,
    region_code: str | None = None,
) -> str:
    """Email the admin about something only a person can settle; sent at once, once per
    ``key`` (a repeated notice with the same key is the same outbox row). Returns the key."""
    from mail.outbox import NOTICE_KIND, deliver_pending_sync, enqueue

    settings = get_settings()
    with session_scope() as session:
        enqueue(
            session,
            key=key,
            recipient=str(settings.admin_email),
            recipient_name="Admin PeManTIK",
            subject=subject,
            template=NOTICE_KIND,
            context={"judul": title, "paragraf": paragraphs, "rincian": details},
            kind=NOTICE_KIND,
            cycle_id=cycle_id,
            region_code=region_code,
            settings=settings,
        )
    deliver_pending_sync(keys=[key])
    return key
