"""The transactional outbox: every outgoing email is a ``Dispatch`` row before it is a network call.

Flows never talk SMTP. They call :func:`enqueue` (inside their own database transaction) and then
:func:`deliver_pending` (or :func:`deliver_pending_sync`), which sends what is due and writes the
delivery receipt (the SOP's "Resi Pos / Surat Elektronik"): Message-ID, the server's reply code
and text, the time, and the sha256 of every attachment (computed when the row was queued; the
file is checked against it again before each attempt).

Idempotency
    Each row has an idempotency key (:func:`dispatch_key`: cycle, party, kind, recipient, round).
    Enqueueing an existing key returns the existing row unchanged, so a task that is retried or
    re-run after a resume never queues, and therefore never sends, the same message twice. A new
    round number is the explicit way to send a message again.

States
    ``queued`` → (claimed) ``sending`` → ``sent`` | ``queued`` (temporary failure, with
    ``next_attempt_at`` = now + ``retry_base_seconds`` × 2^attempts) | ``failed`` (permanent
    failure, or temporary ones until ``max_attempts`` is reached).

Claiming
    A deliverer claims rows in its own committed transaction before any network call: state
    ``sending``, ``attempts`` + 1 and a lease (stored in ``next_attempt_at`` while the row is
    ``sending``). PostgreSQL uses ``SELECT … FOR UPDATE SKIP LOCKED``; SQLite (one writer at a
    time) uses a conditional ``UPDATE … WHERE state = 'queued' … RETURNING``. Two deliverers
    running at once therefore never send the same row. The receipt is written with the claim's
    attempt number as a fence, so a deliverer whose lease ran out cannot overwrite a newer claim.
    When the server cannot be reached (refused, timed out, TLS or AUTH refused), only the row
    being attempted is charged; the other rows of the claim are released (back to ``queued``,
    attempt count restored, listed in ``DeliveryReport.deferred``) and the run stops. A row in
    ``sending`` without a lease is treated as expired.

Sessions
    Up to ``settings.smtp.concurrency`` SMTP sessions run at once, each reused for many
    messages; claims and receipts run in worker threads so one session's database commit does
    not stall the others.

The window between "server accepted" and "receipt written"
    If the process dies after the SMTP server answered 250 but before the receipt was committed,
    the row stays ``sending``. Once its lease has expired, the next :func:`deliver_pending` claims
    it again and re-sends it **with the same Message-ID**, because the Message-ID is derived from
    the idempotency key (``<sha256(key)[:32]@message_id_domain>``) and stored on the row when it is
    queued. The message is therefore delivered at least once and a duplicate is recognisable: the
    embedded sink (:mod:`mail.sink`) stores a Message-ID only once, and mail clients thread or drop
    duplicates by Message-ID. Receipts are written per claimed chunk (``chunk_size`` rows), so the
    window covers at most one chunk per SMTP session; the lease (``lease_seconds``) must be longer
    than the time a chunk can take, and defaults to a generous multiple of the SMTP timeout.

Permanent failures
    The row is marked ``failed`` with the server's reply; the admin gets a ``notifikasi_admin``
    message (never for a failed notification itself: no loops) and a ``StepRecord`` (event
    ``pengiriman_gagal``) is appended when the row belongs to a cycle, so the cycle's status can
    show it. The report lists it; nothing raises, and the flow keeps waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiosmtplib
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mail.message import AttachmentChanged, content_type_for, envelope_recipients, message_bytes
from mail.render import TemplateContextError, render_bodies
from mail.smtp import SmtpFailure, classify, make_client, send_prepared
from models import clock
from models.audit import record_step
from models.db import get_engine
from models.settings import Settings, get_settings
from models.tables import (
    Assessor,
    Cycle,
    Dispatch,
    DispatchState,
    Letter,
    Region,
)

log = logging.getLogger("pemantik.mail")

NOTICE_KIND = "notifikasi_admin"
FAILED_EVENT = "pengiriman_gagal"
_CRLF = re.compile(r"[\r\n]")


class OutboxError(ValueError):
    """A message was refused before queuing; the message (Indonesian) names what is wrong."""


# --------------------------------------------------------------------------- keys and tokens


def dispatch_key(
    cycle_id: int | None, party: str | int, kind: str, recipient: str, round: int = 1
) -> str:
    """The idempotency key: one message per cycle, party, kind, recipient and round."""
    return f"c{cycle_id if cycle_id is not None else '-'}:{party}:{kind}:{recipient.strip().lower()}:r{round}"


def reference_token(year: int, region_code_or_assessor: str | int | None = None) -> str:
    """``[PEMANTIK-2026-64.72]`` for a region, ``[PEMANTIK-2026-A7]`` for assessor 7."""
    party = region_code_or_assessor
    if isinstance(party, int):
        party = f"A{party}"
    return f"[PEMANTIK-{year}-{party}]" if party else f"[PEMANTIK-{year}]"


def message_id_for(key: str, domain: str) -> str:
    """The Message-ID derived from the idempotency key (the same on every re-send)."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{domain}>"


# --------------------------------------------------------------------------- enqueue


@dataclass
class OutboxMessage:
    """One message to queue: everything :func:`enqueue` and :func:`enqueue_many` take.

    ``step_no`` is the SOP step the message belongs to (the audit record of a failed delivery
    is filed under it); None for messages that belong to no step (admin notices, digests).
    """

    key: str
    recipient: str
    subject: str
    template: str
    context: dict
    step_no: int | None = None
    recipient_name: str = ""
    cc: Sequence[str] = ()
    attachments: Sequence[Path] = ()
    kind: str = ""
    cycle_id: int | None = None
    region_code: str | None = None
    assessor_id: int | None = None
    letter_id: int | None = None
    in_reply_to: str = ""
    references: Sequence[str] = ()


def check_address(value: str, what: str) -> str:
    """The normalised address, or :class:`OutboxError` naming ``what`` is wrong with it."""
    if _CRLF.search(value or ""):
        raise OutboxError(f"{what} '{value.strip()}' memuat baris baru (CR/LF); ditolak")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise OutboxError(f"{what} '{value}' bukan alamat surel yang sah") from None


def _check_header(value: str, what: str) -> None:
    if _CRLF.search(value):
        raise OutboxError(f"{what} memuat baris baru (CR/LF), yang tidak boleh ada di header surel")


class _RowBuilder:
    """Turns an :class:`OutboxMessage` into the values of one outbox row, or refuses it.

    The one place where a message is checked (addresses, headers, attachments, the region,
    assessor, letter and cycle it names) and rendered; single and bulk enqueue both use it.
    Checks of repeated values are remembered for the builder's lifetime (one batch).
    """

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self._addresses: dict[tuple[str, str], str | OutboxError] = {}
        self._known: dict[tuple[Any, Any], Any] = {}

    def address(self, value: str, what: str) -> str:
        cached = self._addresses.get((value, what))
        if cached is None:
            try:
                cached = check_address(value, what)
            except OutboxError as exc:
                cached = exc
            self._addresses[(value, what)] = cached
        if isinstance(cached, OutboxError):
            raise cached
        return cached

    def reference(self, model: Any, key: Any, message: str) -> Any:
        """Refuse an unknown region/assessor/letter/cycle; returns a cycle's year."""
        if key is None:
            return None
        if (model, key) not in self._known:
            obj = self.session.get(model, key)
            if obj is None:
                raise OutboxError(message)
            self._known[(model, key)] = obj.year if model is Cycle else True
        return self._known[(model, key)]

    def attachments(self, paths: Sequence[Path]) -> list[dict[str, Any]]:
        records = []
        limit = self.settings.smtp.max_attachment_mb * 1024 * 1024
        total = 0
        for raw in paths:
            path = Path(raw)
            if not path.is_file():
                raise OutboxError(f"lampiran {path.name} tidak ditemukan")
            _check_header(path.name, f"nama berkas lampiran {path.name!r}")
            data = path.read_bytes()
            total += len(data)
            if total > limit:
                raise OutboxError(
                    f"lampiran {path.name} membuat ukuran lampiran {total / 1048576:.1f} MB, "
                    f"melebihi batas {self.settings.smtp.max_attachment_mb:g} MB "
                    "(PEMANTIK_SMTP__MAX_ATTACHMENT_MB)"
                )
            records.append(
                {
                    "path": str(path.resolve()),
                    "filename": path.name,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "content_type": content_type_for(path),
                }
            )
        return records

    def row(self, msg: OutboxMessage, now: datetime) -> dict[str, Any]:
        if not msg.key or not msg.key.strip():
            raise OutboxError("kunci idempotensi surel kosong")
        recipient = self.address(msg.recipient, "alamat penerima")
        _check_header(msg.recipient_name, f"nama penerima {msg.recipient_name!r}")
        cc = [self.address(a, "alamat tembusan (Cc)") for a in msg.cc]
        if not msg.subject or not msg.subject.strip():
            raise OutboxError("subjek surel kosong")
        _check_header(msg.subject, f"subjek {msg.subject!r}")
        _check_header(msg.in_reply_to, "In-Reply-To")
        for ref in msg.references:
            _check_header(ref, "References")
        files = self.attachments(msg.attachments)
        self.reference(
            Region, msg.region_code, f"wilayah dengan kode {msg.region_code} tidak terdaftar"
        )
        self.reference(Assessor, msg.assessor_id, "asesor yang dituju tidak terdaftar")
        self.reference(Letter, msg.letter_id, "surat yang dilampirkan tidak ditemukan")
        year = self.reference(Cycle, msg.cycle_id, "siklus yang dituju tidak ditemukan")
        token = reference_token(year or clock.today().year, msg.region_code or msg.assessor_id)
        subject = msg.subject.strip()
        subject = subject if token in subject else f"{token} {subject}"
        values = {
            **msg.context,
            "subject": subject,
            "reference": token,
            "recipient_name": msg.recipient_name,
            "sender_name": self.settings.sender_name,
            "org": self.settings.organisation,
            "contact": self.settings.contact,  # the named person to call, in every footer
            "reply_to": str(self.settings.reply_to),
            "zone": clock.zone_label(),
            "lampiran": [f["filename"] for f in files],
        }
        try:
            text, html = render_bodies(msg.template, values)
        except TemplateContextError as exc:
            raise OutboxError(str(exc)) from None
        # Every column is given: a Core INSERT does not run the model's Python defaults.
        return {
            "idempotency_key": msg.key,
            "cycle_id": msg.cycle_id,
            "region_code": msg.region_code,
            "assessor_id": msg.assessor_id,
            "step_no": msg.step_no,
            "kind": msg.kind or msg.template.rsplit("/", 1)[-1],
            "recipient": recipient,
            "recipient_name": msg.recipient_name,
            "cc": cc or None,
            "subject": subject,
            "body_text": text,
            "body_html": html,
            "attachments": files or None,
            "letter_id": msg.letter_id,
            "message_id": message_id_for(msg.key, self.settings.smtp.message_id_domain),
            "in_reply_to": msg.in_reply_to,
            "references": " ".join(msg.references),
            "state": DispatchState.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": None,
            "smtp_code": None,
            "smtp_reply": "",
            "sent_at": None,
            "error": "",
            "created_at": now,
        }


def enqueue(
    session: Session,
    message: OutboxMessage | None = None,
    *,
    settings: Settings | None = None,
    **fields: Any,
) -> Dispatch:
    """Queue one message (an :class:`OutboxMessage`, or its fields as keywords) under its key;
    an existing key returns its row unchanged.

    Everything is validated and rendered before the row is added, so a refused message leaves
    nothing behind. The row is flushed in the caller's transaction (committed with it).
    """
    msg = message or OutboxMessage(**fields)
    if msg.key:
        t = Dispatch.__table__.c
        if session.execute(sa_select(t.id).where(t.idempotency_key == msg.key)).first():
            return session.exec(select(Dispatch).where(Dispatch.idempotency_key == msg.key)).one()
    row = _RowBuilder(session, settings or get_settings()).row(msg, clock.now())
    dialect = session.get_bind().dialect.name
    inserted = session.scalars(_insert_ignore(dialect, orm=True), [row]).first()
    if inserted is not None:
        return inserted
    # Lost a race with another transaction that queued the same key: that row wins.
    return session.exec(select(Dispatch).where(Dispatch.idempotency_key == msg.key)).one()


@dataclass
class BulkResult:
    inserted: dict[str, int] = field(default_factory=dict)  # key -> Dispatch id
    existing: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)  # key -> Indonesian reason


CHUNK = 2000  # rows per statement (well under the bind-parameter limits of both databases)


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """The keys among ``keys`` that already have an outbox row (one query per chunk)."""
    keys = list(keys)
    found: set[str] = set()
    column = Dispatch.__table__.c.idempotency_key
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        found.update(session.execute(sa_select(column).where(column.in_(chunk))).scalars())
    return found


def enqueue_many(
    session: Session, messages: Sequence[OutboxMessage], settings: Settings | None = None
) -> BulkResult:
    """Queue many messages in the caller's transaction, with exactly :func:`enqueue`'s checks
    and rendering; keys already queued are left alone, refused messages are listed."""
    result = BulkResult()
    if not messages:
        return result
    result.existing = existing_keys(session, (m.key for m in messages))
    builder = _RowBuilder(session, settings or get_settings())
    now = clock.now()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for msg in messages:
        if msg.key in result.existing or msg.key in seen:
            continue
        seen.add(msg.key)
        try:
            rows.append(builder.row(msg, now))
        except OutboxError as exc:
            result.refused[msg.key] = str(exc)
    result.inserted = _insert_rows(session, rows)
    # A key inserted by a concurrent run between our lookup and our insert counts as existing.
    result.existing.update(
        r["idempotency_key"] for r in rows if r["idempotency_key"] not in result.inserted
    )
    return result


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING, on both databases: a concurrent
    enqueue of the same key cannot fail the caller's transaction. Many rows on PostgreSQL go
    through COPY into a temporary table first (psycopg re-parses big multi-row INSERTs)."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) > 50:
        return _insert_copy(session, rows)
    inserted: dict[str, int] = {}
    for start in range(0, len(rows), CHUNK):
        result = session.execute(_insert_ignore(dialect, orm=False), rows[start : start + CHUNK])
        inserted.update({key: row_id for row_id, key in result})
    return inserted


@lru_cache(maxsize=4)
def _insert_ignore(dialect: str, orm: bool) -> Any:
    """The cached INSERT … ON CONFLICT DO NOTHING statement (parameters are passed apart so
    the compiled statement is reused); ``orm`` returns the whole row as a ``Dispatch``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        raise OutboxError(f"basis data {dialect} tidak didukung")
    table = Dispatch.__table__
    statement = insert(Dispatch if orm else table).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    )
    return statement.returning(*([Dispatch] if orm else [table.c.id, table.c.idempotency_key]))


def _insert_copy(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING."""
    from sqlalchemy import text

    from models.db import copy_rows

    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    # Same column types as the outbox table, no constraints; dropped at the end (or with the
    # transaction when anything fails, since DDL is transactional in PostgreSQL).
    session.execute(
        text(
            "CREATE TEMP TABLE dispatch_in ON COMMIT DROP AS "
            f'SELECT {names} FROM "dispatch" WITH NO DATA'
        )
    )
    copy_rows(session, "dispatch_in", columns, ([r[c] for c in columns] for r in rows))
    inserted = session.execute(
        text(
            f'INSERT INTO "dispatch" ({names}) SELECT {names} FROM dispatch_in '
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key"
        )
    )
    result = {key: row_id for row_id, key in inserted}
    session.execute(text("DROP TABLE dispatch_in"))
    return result


def find_by_message_id(session: Session, message_id: str) -> Dispatch | None:
    """The outbox row that produced ``message_id`` (angle brackets optional)."""
    value = message_id.strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    return session.exec(select(Dispatch).where(Dispatch.message_id == value)).first()


# --------------------------------------------------------------------------- delivery


@dataclass
class DispatchOutcome:
    """What one attempt did to one row (as listed in the report)."""

    id: int
    key: str
    recipient: str
    kind: str
    message_id: str
    state: str
    attempts: int
    smtp_code: int | None = None
    smtp_reply: str = ""
    error: str = ""
    next_attempt_at: datetime | None = None


@dataclass
class DeliveryReport:
    sent: list[DispatchOutcome] = field(default_factory=list)
    failed: list[DispatchOutcome] = field(default_factory=list)
    retrying: list[DispatchOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # keys of admin notices queued
    step_records: list[int] = field(default_factory=list)  # StepRecord ids appended
    lost_fence: list[int] = field(default_factory=list)  # receipts skipped: row re-claimed
    # Left queued without an attempt because the server could not be reached (or refused the
    # session) for an earlier message of the same run; the next run picks them up.
    deferred: list[int] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.failed) + len(self.retrying)

    def summary(self) -> str:
        text = (
            f"{len(self.sent)} terkirim, {len(self.retrying)} dijadwalkan ulang, "
            f"{len(self.failed)} gagal"
        )
        if self.deferred:
            text += f", {len(self.deferred)} ditunda (server tidak dapat dihubungi)"
        return text


def _due_clause(now: datetime) -> Any:
    t = Dispatch.__table__.c
    return or_(
        and_(
            t.state == DispatchState.QUEUED.value,
            or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now),
        ),
        and_(
            t.state == DispatchState.SENDING.value,
            or_(t.next_attempt_at.is_(None), t.next_attempt_at < now),
        ),
    )


def _due_ids(engine: Engine, keys: list[str] | None, now: datetime) -> list[int]:
    t = Dispatch.__table__.c
    query = sa_select(t.id).where(_due_clause(now)).order_by(t.id)
    if keys is not None:
        if not keys:
            return []
        query = query.where(t.idempotency_key.in_(keys))
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(query)]


def claim_due_rows(engine: Engine, ids: list[int], lease_until: datetime) -> list[Dispatch]:
    """Claim the still-due rows among ``ids`` in one committed transaction."""
    now = clock.now()
    table = Dispatch.__table__
    t = table.c
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "postgresql":
            locked = (
                session.execute(
                    sa_select(t.id)
                    .where(t.id.in_(ids), _due_clause(now))
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            claimed = list(locked)
            if claimed:
                session.execute(
                    update(table)
                    .where(t.id.in_(claimed))
                    .values(
                        state=DispatchState.SENDING.value,
                        attempts=t.attempts + 1,
                        next_attempt_at=lease_until,
                    )
                )
        else:
            # SQLite has one writer at a time: the condition is re-checked under its lock.
            claimed = list(
                session.execute(
                    update(table)
                    .where(t.id.in_(ids), _due_clause(now))
                    .values(
                        state=DispatchState.SENDING.value,
                        attempts=t.attempts + 1,
                        next_attempt_at=lease_until,
                    )
                    .returning(t.id)
                )
                .scalars()
                .all()
            )
        rows = []
        if claimed:
            rows = list(
                session.exec(select(Dispatch).where(Dispatch.id.in_(claimed)).order_by(Dispatch.id))
            )
        session.commit()
    return rows


@dataclass
class _Result:
    row: Dispatch
    ok: bool
    failure: SmtpFailure | None = None
    reply: str = ""
    released: bool = False  # claimed but never attempted (the server went away first)


def _notify_admin(session: Session, row: Dispatch, error: str, settings: Settings) -> str | None:
    if row.kind == NOTICE_KIND:
        log.error("notifikasi admin %s gagal dikirim; tidak dibuat notifikasi baru", row.message_id)
        return None
    key = f"notifikasi-admin:{row.idempotency_key}"
    try:
        enqueue(
            session,
            key=key,
            recipient=str(settings.admin_email),
            recipient_name="Admin PeManTIK",
            subject=f"Pengiriman surel gagal: {row.kind or 'surel'} kepada {row.recipient}",
            template="notifikasi_admin",
            context={
                "judul": "Sebuah surel tidak dapat dikirim dan tidak akan dicoba lagi.",
                "paragraf": [
                    "Mohon periksa alamat penerima atau hubungi penerima melalui saluran lain, "
                    "lalu kirim ulang surat tersebut dengan aksi admin Kirim Ulang Surat bila "
                    "perlu."
                ],
                "rincian": {
                    "Penerima": row.recipient,
                    "Jenis": row.kind,
                    "Subjek": row.subject,
                    "Percobaan": row.attempts,
                    "Galat": error,
                },
            },
            kind=NOTICE_KIND,
            cycle_id=row.cycle_id,
            region_code=row.region_code,
            assessor_id=row.assessor_id,
            settings=settings,
        )
    except OutboxError as exc:
        log.error("notifikasi admin tidak dapat diantrekan: %s", exc)
        return None
    return key


def _record(
    engine: Engine, results: list[_Result], settings: Settings, report: DeliveryReport
) -> None:
    """Write the receipts of one chunk in one transaction (fenced by the claim's attempt)."""
    if not results:
        return
    now = clock.now()
    table = Dispatch.__table__
    t = table.c
    with Session(engine, expire_on_commit=False) as session:
        for res in results:
            row = res.row
            fence = and_(
                t.id == row.id,
                t.state == DispatchState.SENDING.value,
                t.attempts == row.attempts,
            )
            values: dict[str, Any]
            bucket: list[DispatchOutcome]
            if res.released:
                session.execute(
                    update(table)
                    .where(fence)
                    .values(
                        state=DispatchState.QUEUED.value,
                        attempts=t.attempts - 1,
                        next_attempt_at=None,
                    )
                )
                report.deferred.append(row.id)
                continue
            if res.ok:
                values = {
                    "state": DispatchState.SENT.value,
                    "smtp_code": 250,
                    "smtp_reply": res.reply,
                    "sent_at": now,
                    "next_attempt_at": None,
                    "error": "",
                }
                bucket = report.sent
            else:
                f = res.failure
                assert f is not None
                exhausted = f.temporary and row.attempts >= settings.smtp.max_attempts
                if f.temporary and not exhausted:
                    delay = settings.smtp.retry_base_seconds * (2**row.attempts)
                    values = {
                        "state": DispatchState.QUEUED.value,
                        "next_attempt_at": now + timedelta(seconds=delay),
                        "smtp_code": f.code,
                        "smtp_reply": f.reply,
                        "error": f.describe,
                    }
                    bucket = report.retrying
                else:
                    error = f.describe
                    if exhausted:
                        error += f" (menyerah setelah {row.attempts} percobaan)"
                    values = {
                        "state": DispatchState.FAILED.value,
                        "next_attempt_at": None,
                        "smtp_code": f.code,
                        "smtp_reply": f.reply,
                        "error": error,
                    }
                    bucket = report.failed
            done = session.execute(update(table).where(fence).values(**values))
            if done.rowcount != 1:
                log.warning(
                    "tanda terima %s dilewati: baris sudah diklaim ulang oleh pengirim lain",
                    row.message_id,
                )
                report.lost_fence.append(row.id)
                continue
            outcome = DispatchOutcome(
                id=row.id,
                key=row.idempotency_key,
                recipient=row.recipient,
                kind=row.kind,
                message_id=row.message_id,
                state=values["state"],
                attempts=row.attempts,
                smtp_code=values.get("smtp_code"),
                smtp_reply=values.get("smtp_reply", ""),
                error=values.get("error", ""),
                next_attempt_at=values.get("next_attempt_at"),
            )
            bucket.append(outcome)
            if values["state"] == DispatchState.FAILED.value:
                log.error(
                    "surel %s kepada %s gagal: %s", row.message_id, row.recipient, values["error"]
                )
                notice = _notify_admin(session, row, values["error"], settings)
                if notice:
                    report.notices.append(notice)
                if row.cycle_id is not None and row.step_no is not None:
                    record = record_step(
                        session,
                        cycle_id=row.cycle_id,
                        region_code=row.region_code,
                        assessor_id=row.assessor_id,
                        step_no=row.step_no,
                        event=FAILED_EVENT,
                        outcome=f"Surel {row.kind} kepada {row.recipient} gagal dikirim",
                        who="sistem",
                        document_id=row.letter_id,
                        detail={
                            "dispatch_id": row.id,
                            "key": row.idempotency_key,
                            "message_id": row.message_id,
                            "smtp_code": values.get("smtp_code"),
                            "error": values["error"],
                        },
                    )
                    report.step_records.append(record.id)
        session.commit()


class _SmtpSession:
    """One worker's SMTP session: opened on first use, reused for every message it sends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sender = str(settings.sender)
        self.client: aiosmtplib.SMTP | None = None
        self.unreachable = False  # connecting failed: the server is down or refuses us

    async def send(self, row: Dispatch, cache: dict[tuple, bytes]) -> _Result:
        try:
            payload = message_bytes(row, self.settings, cache=cache)
        except AttachmentChanged as exc:
            return _Result(row, False, SmtpFailure(False, None, str(exc)))
        connecting = self.client is None
        try:
            if self.client is None:
                self.client = make_client(self.settings)
                await self.client.connect()
            errors, reply = await send_prepared(
                self.client, self.sender, envelope_recipients(row), payload
            )
        except Exception as exc:  # noqa: BLE001 - classified; unknown ones re-raise
            failure = classify(exc)
            if failure.connection_lost:
                self._drop()
                # A session that dropped after working is retried on a fresh connection by the
                # next row; a connect that fails means the server is down: stop this run.
                self.unreachable = connecting or not isinstance(
                    exc, aiosmtplib.SMTPServerDisconnected
                )
            return _Result(row, False, failure)
        if errors:
            refused = "; ".join(f"{rcpt}: {r.code} {r.message}" for rcpt, r in errors.items())
            reply = f"{reply} (sebagian ditolak: {refused})"
        return _Result(row, True, reply=reply)

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    async def close(self) -> None:
        if self.client is not None:
            try:
                await self.client.quit()
            except Exception:  # noqa: BLE001 - closing a session that is already gone
                self._drop()
            self.client = None


async def _run_round(
    engine: Engine,
    keys: list[str] | None,
    settings: Settings,
    report: DeliveryReport,
    *,
    lease_seconds: float,
    chunk_size: int,
) -> None:
    ids = _due_ids(engine, keys, clock.now())
    if not ids:
        return
    pending = deque(ids)
    server_down = asyncio.Event()
    workers = max(1, min(settings.smtp.concurrency, -(-len(ids) // chunk_size)))
    # Encoded attachment parts, shared by the workers of this round (checked against the hash
    # once per round; the same questionnaire is attached to every region's letter).
    cache: dict[tuple, bytes] = {}

    async def worker() -> None:
        session = _SmtpSession(settings)
        try:
            while pending and not server_down.is_set():
                chunk = [pending.popleft() for _ in range(min(chunk_size, len(pending)))]
                lease = clock.now() + timedelta(seconds=lease_seconds)
                # Database work runs in a thread so the other sessions keep sending meanwhile.
                rows = await asyncio.to_thread(claim_due_rows, engine, chunk, lease)
                results: list[_Result] = []
                try:
                    for row in rows:
                        if server_down.is_set():
                            # Not this message's fault: give the claim back untouched.
                            results.append(_Result(row, False, released=True))
                            continue
                        result = await session.send(row, cache)
                        results.append(result)
                        if session.unreachable:
                            server_down.set()
                except BaseException:
                    # A bug or a cancellation: keep the receipts of what was sent and give
                    # back the rest (a row in flight is re-sent later with its Message-ID).
                    seen = {r.row.id for r in results}
                    results += [_Result(r, False, released=True) for r in rows if r.id not in seen]
                    _record(engine, results, settings, report)
                    raise
                await asyncio.to_thread(_record, engine, results, settings, report)
        finally:
            await session.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def deliver_pending(
    url: str | None = None,
    *,
    keys: list[str] | None = None,
    settings: Settings | None = None,
    lease_seconds: float | None = None,
    chunk_size: int = 20,
) -> DeliveryReport:
    """Send every due row (or only ``keys``) and write the receipts; never raises for SMTP.

    Sessions: up to ``settings.smtp.concurrency`` SMTP sessions run in parallel, each reused for
    many messages. Admin notices queued for permanent failures are delivered in the same call.
    """
    settings = settings or get_settings()
    engine = get_engine(url or settings.db_url)
    if lease_seconds is None:
        lease_seconds = max(300.0, settings.smtp.timeout_seconds * (chunk_size + 2))
    report = DeliveryReport()
    await _run_round(
        engine, keys, settings, report, lease_seconds=lease_seconds, chunk_size=chunk_size
    )
    # Notices queued by this call go out now. A notice never triggers another notice, so this
    # ends after one more round; the loop only guards against that rule ever changing.
    done: set[str] = set()
    while fresh := [k for k in report.notices if k not in done]:
        done.update(fresh)
        await _run_round(
            engine, fresh, settings, report, lease_seconds=lease_seconds, chunk_size=chunk_size
        )
    return report


def deliver_pending_sync(
    url: str | None = None,
    *,
    keys: list[str] | None = None,
    settings: Settings | None = None,
    lease_seconds: float | None = None,
    chunk_size: int = 20,
) -> DeliveryReport:
    """:func:`deliver_pending` for synchronous callers (also safe inside a running loop)."""
    coro_kwargs = {
        "keys": keys,
        "settings": settings,
        "lease_seconds": lease_seconds,
        "chunk_size": chunk_size,
    }
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(deliver_pending(url, **coro_kwargs))
    # Called from async code (e.g. an async Prefect task): run on a private loop in a thread.
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["report"] = asyncio.run(deliver_pending(url, **coro_kwargs))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=runner, name="pemantik-mail-deliver")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["report"]
