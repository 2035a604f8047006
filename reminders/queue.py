"""Queue many reminders at once through the outbox's own rules.

``mail.outbox.enqueue`` handles one message per call (a key lookup, rendering and a savepoint per
row): right for a flow, slow for thousands of reminders. This module does the same work in bulk
with the outbox's own pieces — the same address and header checks, the same subject token and
Message-ID (derived from the key), the same template rendering — and inserts the rows in one
statement that skips keys already queued (``ON CONFLICT DO NOTHING``, on PostgreSQL and SQLite).
The key's uniqueness is therefore still enforced by the database, also against a concurrent run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from mail import outbox
from mail.render import TemplateContextError, render_bodies
from models.settings import Settings
from models.tables import Dispatch, DispatchState

CHUNK = 2000  # rows per statement (well under the bind-parameter limits of both databases)


@dataclass
class Outgoing:
    """One message to queue: what ``outbox.enqueue`` takes, minus attachments."""

    key: str
    recipient: str
    subject: str
    template: str
    context: dict
    year: int
    recipient_name: str = ""
    cc: Sequence[str] = ()
    kind: str = ""
    cycle_id: int | None = None
    region_code: str | None = None
    assessor_id: int | None = None
    letter_id: int | None = None


@dataclass
class BulkResult:
    inserted: dict[str, int] = field(default_factory=dict)  # key -> Dispatch id
    existing: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)  # key -> Indonesian reason


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """The keys among ``keys`` that already have an outbox row (one query per chunk)."""
    keys = list(keys)
    found: set[str] = set()
    column = Dispatch.__table__.c.idempotency_key
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        found.update(session.execute(sa_select(column).where(column.in_(chunk))).scalars())
    return found


class _Checks:
    """The outbox's address and header checks, remembered per distinct value."""

    def __init__(self) -> None:
        self._addresses: dict[tuple[str, str], str | outbox.OutboxError] = {}

    def address(self, value: str, what: str) -> str:
        cached = self._addresses.get((value, what))
        if cached is None:
            try:
                cached = outbox._check_address(value, what)
            except outbox.OutboxError as exc:
                cached = exc
            self._addresses[(value, what)] = cached
        if isinstance(cached, outbox.OutboxError):
            raise cached
        return cached


def _row_values(
    item: Outgoing, settings: Settings, checks: _Checks, renders: dict
) -> dict[str, Any]:
    recipient = checks.address(item.recipient, "alamat penerima")
    outbox._check_header(item.recipient_name, f"nama penerima {item.recipient_name!r}")
    cc = [checks.address(a, "alamat tembusan (Cc)") for a in item.cc]
    if not item.subject.strip():
        raise outbox.OutboxError("subjek surel kosong")
    outbox._check_header(item.subject, f"subjek {item.subject!r}")
    token = outbox.reference_token(item.year, item.region_code or item.assessor_id)
    subject = item.subject.strip() if token in item.subject else f"{token} {item.subject.strip()}"
    values = {
        **item.context,
        "subject": subject,
        "reference": token,
        "recipient_name": item.recipient_name,
        "sender_name": settings.sender_name,
        "org": settings.organisation,
        "lampiran": [],
    }
    # Identical messages (same template and values) are rendered once.
    fingerprint = (item.template, repr(sorted(values.items(), key=lambda kv: kv[0])))
    bodies = renders.get(fingerprint)
    if bodies is None:
        try:
            bodies = renders[fingerprint] = render_bodies(item.template, values)
        except TemplateContextError as exc:
            raise outbox.OutboxError(str(exc)) from None
    return {
        "idempotency_key": item.key,
        "cycle_id": item.cycle_id,
        "region_code": item.region_code,
        "assessor_id": item.assessor_id,
        "kind": item.kind or item.template,
        "recipient": recipient,
        "recipient_name": item.recipient_name,
        "cc": cc or None,
        "subject": subject,
        "body_text": bodies[0],
        "body_html": bodies[1],
        "attachments": None,
        "letter_id": item.letter_id,
        "message_id": outbox.message_id_for(item.key, settings.smtp.message_id_domain),
        "in_reply_to": "",
        "references": "",
        "state": DispatchState.QUEUED.value,
        "attempts": 0,
        "smtp_reply": "",
        "error": "",
    }


def enqueue_many(session: Session, items: Sequence[Outgoing], settings: Settings) -> BulkResult:
    """Queue ``items`` in the caller's transaction; keys already queued are left alone."""
    result = BulkResult()
    if not items:
        return result
    result.existing = existing_keys(session, (i.key for i in items))
    checks = _Checks()
    renders: dict = {}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if item.key in result.existing or item.key in seen:
            continue
        seen.add(item.key)
        try:
            rows.append(_row_values(item, settings, checks, renders))
        except outbox.OutboxError as exc:
            result.refused[item.key] = str(exc)
    if not rows:
        return result
    table = Dispatch.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = datetime.now(UTC)
    for row in rows:
        row["created_at"] = now
    for start in range(0, len(rows), CHUNK):
        stmt = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.id, table.c.idempotency_key)
        )
        for row_id, key in session.execute(stmt, rows[start : start + CHUNK]):
            result.inserted[key] = row_id
    # A key inserted by a concurrent run between our lookup and our insert counts as existing.
    result.existing.update(
        r["idempotency_key"] for r in rows if r["idempotency_key"] not in result.inserted
    )
    return result
