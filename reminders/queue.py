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
from datetime import date
from functools import lru_cache
from typing import Any

import jinja2
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from mail import outbox, render
from models import clock
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


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """The outbox's template environment with its date filters memoised.

    ``mail.render.render_bodies`` lists the template folder and formats dates with babel on every
    call; for thousands of messages a day that dominates. This overlay shares the outbox's
    loader, undefined-handling and filters, and only caches the (pure) date formatting.
    """
    base = render.environment()
    env = base.overlay()
    env.filters = dict(base.filters)
    for name in ("tanggal", "tanggal_hari"):
        env.filters[name] = _memoised_date_filter(base.filters[name])
    return env


def _memoised_date_filter(original: Any) -> Any:
    cached = lru_cache(maxsize=4096)(original)

    def apply(value: Any) -> str:
        if isinstance(value, date):  # hashable, and the common case
            return cached(value)
        return original(value)

    return apply


def render_fast(template: str, values: dict[str, Any]) -> tuple[str, str]:
    """(text, html) exactly as :func:`mail.render.render_bodies` renders them, with its errors."""
    if template not in _known_templates():
        try:
            return render.render_bodies(template, values)  # the outbox's own error, or a new file
        except render.TemplateContextError as exc:
            raise outbox.OutboxError(str(exc)) from None
    try:
        text = _template(f"{template}.txt.j2").render(values)
        html = _template(f"{template}.html.j2").render(values)
    except jinja2.UndefinedError as exc:
        raise outbox.OutboxError(
            f"templat surel '{template}': nilai konteks tidak lengkap ({exc.message})"
        ) from None
    except (TypeError, ValueError) as exc:
        raise outbox.OutboxError(f"templat surel '{template}': {exc}") from None
    return text, html


@lru_cache(maxsize=64)
def _template(name: str) -> jinja2.Template:
    # Loaded once per process: no file-system check per message (templates change on deploy).
    return _environment().get_template(name)


@lru_cache(maxsize=1)
def _known_templates() -> frozenset[str]:
    return frozenset(render.available_templates())


def _row_values(item: Outgoing, settings: Settings, checks: _Checks) -> dict[str, Any]:
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
    bodies = render_fast(item.template, values)
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
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if item.key in result.existing or item.key in seen:
            continue
        seen.add(item.key)
        try:
            rows.append(_row_values(item, settings, checks))
        except outbox.OutboxError as exc:
            result.refused[item.key] = str(exc)
    if not rows:
        return result
    now = clock.now()
    for row in rows:
        row["created_at"] = now
    if session.get_bind().dialect.name == "postgresql":
        result.inserted.update(_insert_postgresql(session, rows))
    else:
        table = Dispatch.__table__
        for start in range(0, len(rows), CHUNK):
            stmt = (
                sqlite.insert(table)
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


def copy_rows(session: Session, table: str, columns: list[str], rows: Iterable[Sequence]) -> None:
    """PostgreSQL ``COPY table (columns) FROM STDIN`` on the session's own connection.

    psycopg re-parses every multi-row ``INSERT … VALUES`` statement (thousands of parameters);
    COPY streams the rows instead, in the same transaction.
    """
    from psycopg.types.json import Json

    raw = session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([Json(v) if isinstance(v, dict | list) else v for v in row])


def _insert_postgresql(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING."""
    from sqlalchemy import text

    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    # Same column types as the outbox table, no constraints; dropped at the end (or with the
    # transaction when anything fails, since DDL is transactional in PostgreSQL).
    session.execute(
        text(
            f"CREATE TEMP TABLE reminder_dispatch_in ON COMMIT DROP AS "
            f'SELECT {names} FROM "dispatch" WITH NO DATA'
        )
    )
    copy_rows(session, "reminder_dispatch_in", columns, ([r[c] for c in columns] for r in rows))
    inserted = session.execute(
        text(
            f'INSERT INTO "dispatch" ({names}) SELECT {names} FROM reminder_dispatch_in '
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key"
        )
    )
    result = {key: row_id for row_id, key in inserted}
    session.execute(text("DROP TABLE reminder_dispatch_in"))
    return result
