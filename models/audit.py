"""The audit trail's one writer: append-only step records (``StepRecord``), never updated.

Everything that leaves a trace of an SOP step calls :func:`record_step` (one row, in the
caller's transaction) or :func:`record_steps` (many rows at once, e.g. a day's reminders). The
caller always names the step number; nothing here guesses it. The actor comes from the SOP
table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from models import clock
from models.sop import step as sop_step
from models.tables import StepRecord

# Events that mark a step (or an attempt at it) as finished at the moment they are written.
COMPLETING_EVENTS = frozenset(
    {"done", "refused", "overridden", "reminder", "extended", "pengiriman_gagal"}
)


def _values(
    *,
    cycle_id: int,
    step_no: int,
    event: str,
    region_code: str | None = None,
    assessor_id: int | None = None,
    outcome: str = "",
    who: str = "",
    document_id: int | None = None,
    started_at: datetime | None = None,
    due_date: date | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    moment = at or clock.now()
    return {
        "cycle_id": cycle_id,
        "region_code": region_code,
        "assessor_id": assessor_id,
        "step_no": step_no,
        "actor": sop_step(step_no).actor,
        "event": event,
        "started_at": started_at,
        "due_date": due_date,
        "completed_at": moment if event in COMPLETING_EVENTS else None,
        "outcome": outcome[:500],
        "who": who,
        "document_id": document_id,
        "detail": detail,
        "recorded_at": moment,
    }


def record_step(session: Session, **fields: Any) -> StepRecord:
    """Append one step record in the caller's transaction and return it (flushed).

    Fields: ``cycle_id``, ``step_no`` and ``event`` (required), ``region_code``,
    ``assessor_id``, ``outcome``, ``who``, ``document_id``, ``started_at``, ``due_date``,
    ``detail``.
    """
    record = StepRecord(**_values(**fields))
    session.add(record)
    session.flush()
    return record


def record_steps(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Append many step records at once (each dict takes :func:`record_step`'s fields).

    On PostgreSQL the rows are streamed with COPY; on SQLite they go in one executemany.
    """
    if not rows:
        return 0
    now = clock.now()
    values = [_values(**{"at": now, **row}) for row in rows]
    if session.get_bind().dialect.name == "postgresql":
        from models.db import copy_rows

        columns = list(values[0])
        copy_rows(session, "steprecord", columns, ([v[c] for c in columns] for v in values))
    else:
        session.execute(insert(StepRecord.__table__), values)
    return len(values)
