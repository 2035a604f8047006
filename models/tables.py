"""The app's own records (SQLModel). Shaped for the whole SOP in DOMAIN.md.

Times are stored as timezone-aware UTC datetimes; dates (due dates, session dates) are WITA
calendar dates. JSON columns hold snapshots and per-indicator maps.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from models.clock import as_utc, now


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware UTC, on both databases.

    PostgreSQL keeps ``timestamptz``; SQLite has no zone, so the value is converted to UTC
    before it is written (SQLAlchemy would otherwise drop the offset of a WITA time) and
    marked UTC when it is read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("waktu tanpa zona tidak boleh disimpan; gunakan models.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


def _ts(nullable: bool = True, **kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable), **kw)


def _json(**kw: Any) -> Any:
    return Field(sa_column=Column(JSON, nullable=True), **kw)


class CycleState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    CLOSING = "closing"
    REPORTED = "reported"
    CANCELLED = "cancelled"  # its run was cancelled; it accepts nothing, and the year is free


class ProcessState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    DONE = "done"
    UNFINISHED = "unfinished"
    FAILED = "failed"


class DispatchState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"  # a letter's email waiting for the admin's sign-off (not sent until released)


class AssignmentState(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REPLACED = "replaced"


class Region(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=16)  # Kemendagri code, e.g. 64.72
    name: str
    kind: str = "Kabupaten"  # Kabupaten / Kota
    province: str = ""
    pic_name: str
    pic_email: str
    head_title: str = ""  # e.g. Kepala Dinas Komunikasi dan Informatika Kota Samarinda
    head_email: str = ""
    leader_email: str = ""  # the Bupati/Wali Kota (the SK Penetapan is sent to them)
    address: str = ""
    active: bool = True


class Assessor(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(index=True, unique=True)
    institution: str = ""
    jabatan: str = ""
    nip: str = ""
    home_region_code: str | None = Field(default=None, foreign_key="region.code")
    active: bool = True


class Cycle(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    name: str = ""
    instrument_code: str
    instrument_version: str = ""
    start_date: date
    state: str = CycleState.DRAFT
    params: dict | None = _json(default=None)  # the cycle flow's parameters, as given
    flow_run_id: str | None = None
    created_at: datetime = _ts(nullable=False, default_factory=now)
    closed_at: datetime | None = _ts()
    close_reason: str = ""


class RegionProcess(SQLModel, table=True):
    """One region's run through steps 1–13 within a cycle."""

    __table_args__ = (UniqueConstraint("cycle_id", "region_code"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str = Field(foreign_key="region.code")
    current_step: int = 0
    state: str = ProcessState.PENDING
    due_date: date | None = None
    waiting_for: str = ""  # what the open wait expects, in Indonesian
    session_date: date | None = None  # overrides the cycle's date (rescheduled region)
    flow_run_id: str | None = None
    updated_at: datetime = _ts(nullable=False, default_factory=now)


class StepRecord(SQLModel, table=True):
    """Append-only audit trail: one row per step event; rows are never updated."""

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str | None = Field(default=None, foreign_key="region.code")
    assessor_id: int | None = Field(default=None, foreign_key="assessor.id")
    step_no: int
    actor: str
    event: str = "done"  # started / done / waiting / refused / extended / overridden / unlocked …
    started_at: datetime | None = _ts()
    due_date: date | None = None
    completed_at: datetime | None = _ts()
    outcome: str = ""
    who: str = ""
    document_id: int | None = Field(default=None, foreign_key="letter.id")
    detail: dict | None = _json(default=None)
    recorded_at: datetime = _ts(nullable=False, default_factory=now)


class RegisterCounter(SQLModel, table=True):
    """A number register: one row per (family, unit, year) — a register per document
    family (Surat, Keputusan, Berita Acara; ``letters/data/registers.yaml``) — with the last
    number taken and its date (a later number never carries an earlier date)."""

    family: str = Field(primary_key=True)
    unit: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    last_seq: int = 0
    last_date: date | None = None


class Letter(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(index=True, unique=True)
    seq: int
    family: str = "surat"  # the document family (register) whose sequence gave the number
    unit: str
    klasifikasi: str
    year: int
    kind: str = Field(index=True)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    region_code: str | None = Field(default=None, foreign_key="region.code")
    assessor_id: int | None = Field(default=None, foreign_key="assessor.id")
    addressee: str = ""
    subject: str = ""
    letter_date: date
    file_path: str = ""
    sha256: str = ""
    pdf_path: str = ""
    pdf_sha256: str = ""
    # Sign-off (PEMANTIK_SIGNOFF): who approved it, and the PDF signed with an electronic
    # certificate when one was uploaded (then that file is what is sent).
    approved_at: datetime | None = _ts()
    approved_by: str = ""
    signed_pdf_path: str = ""
    signed_pdf_sha256: str = ""
    template_version: str = ""
    snapshot: dict | None = _json(default=None)
    idempotency_key: str | None = Field(default=None, unique=True)
    created_at: datetime = _ts(nullable=False, default_factory=now)


class Document(SQLModel, table=True):
    """Unnumbered generated files (workbooks, formulir, Laporan) stored once with their hash."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    region_code: str | None = Field(default=None, foreign_key="region.code")
    file_path: str
    sha256: str
    pdf_path: str = ""  # the PDF made beside the .docx (what leaves and is archived)
    pdf_sha256: str = ""
    created_at: datetime = _ts(nullable=False, default_factory=now)


class Dispatch(SQLModel, table=True):
    """The outbox: a row exists (with its idempotency key) before any network call."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, index=True)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    region_code: str | None = Field(default=None, foreign_key="region.code")
    assessor_id: int | None = Field(default=None, foreign_key="assessor.id")
    step_no: int | None = None  # the SOP step the message belongs to (audit of failures)
    kind: str = ""
    recipient: str
    recipient_name: str = ""
    cc: list | None = _json(default=None)
    subject: str
    body_text: str = ""
    body_html: str = ""
    attachments: list | None = _json(default=None)  # [{"path", "filename", "sha256", "size"}]
    letter_id: int | None = Field(default=None, foreign_key="letter.id")
    message_id: str
    in_reply_to: str = ""
    references: str = ""
    state: str = Field(default=DispatchState.QUEUED, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = _ts()
    smtp_code: int | None = None
    smtp_reply: str = ""
    sent_at: datetime | None = _ts()
    error: str = ""
    created_at: datetime = _ts(nullable=False, default_factory=now)


class AnswerSet(SQLModel, table=True):
    """A region's questionnaire answers; every valid import is a new version."""

    __table_args__ = (UniqueConstraint("cycle_id", "region_code", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str = Field(foreign_key="region.code")
    version: int
    instrument_code: str
    instrument_version: str
    source: str = "json"  # xlsx / json / form / email
    file_path: str = ""
    sha256: str = ""
    answers: dict | None = _json(default=None)  # {indicator: {"level": int, "evidence": str}}
    submitted_by: str = ""
    identity: dict | None = _json(default=None)  # the workbook's Identitas sheet
    submitted_at: datetime = _ts(nullable=False, default_factory=now)


class Assignment(SQLModel, table=True):
    """An assessor asked to assess a region (step 6), and their answer (step 8)."""

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str = Field(foreign_key="region.code")
    assessor_id: int = Field(foreign_key="assessor.id")
    state: str = AssignmentState.REQUESTED
    coi_statement: str = ""
    reason: str = ""
    responded_at: datetime | None = _ts()
    replaced_by_id: int | None = Field(default=None, foreign_key="assignment.id")
    letter_id: int | None = Field(default=None, foreign_key="letter.id")
    created_at: datetime = _ts(nullable=False, default_factory=now)


class Confirmation(SQLModel, table=True):
    """A region's attendance confirmation for the session (step 8)."""

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str = Field(foreign_key="region.code")
    attend: bool
    delegates: list | None = _json(default=None)  # [{"nama", "jabatan"}]
    note: str = ""
    session_date: date | None = None
    responded_at: datetime = _ts(nullable=False, default_factory=now)


class Acknowledgement(SQLModel, table=True):
    """A receipt acknowledgement (Disposisi) for steps 2 and 7; recorded, never blocking."""

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str | None = Field(default=None, foreign_key="region.code")
    assessor_id: int | None = Field(default=None, foreign_key="assessor.id")
    step_no: int
    received_by: str = ""
    agenda_number: str = ""
    received_date: date | None = None
    source: str = ""
    recorded_at: datetime = _ts(nullable=False, default_factory=now)


class Attendance(SQLModel, table=True):
    """The daftar hadir of the assessment session (step 10)."""

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str = Field(foreign_key="region.code")
    session_date: date
    present: list | None = _json(default=None)  # [{"nama", "jabatan", "instansi"}]
    recorded_by: str = ""
    recorded_at: datetime = _ts(nullable=False, default_factory=now)


class Score(SQLModel, table=True):
    """One assessor's verified level for one indicator (steps 11–12)."""

    __table_args__ = (UniqueConstraint("cycle_id", "region_code", "assessor_id", "indicator_code"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str = Field(foreign_key="region.code")
    assessor_id: int = Field(foreign_key="assessor.id")
    indicator_code: str
    level: int
    note: str = ""
    submitted_at: datetime = _ts(nullable=False, default_factory=now)


class Result(SQLModel, table=True):
    """A region's final result (steps 12–13); locked at step 13."""

    __table_args__ = (UniqueConstraint("cycle_id", "region_code"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str = Field(foreign_key="region.code")
    final_levels: dict | None = _json(default=None)
    consensus: dict | None = _json(default=None)  # {indicator: {"level", "note"}}
    dimension_scores: dict | None = _json(default=None)
    total: float = 0.0
    predicate: str = ""
    rank: int | None = None
    locked: bool = False
    locked_at: datetime | None = _ts()
    updated_at: datetime = _ts(nullable=False, default_factory=now)


class Extension(SQLModel, table=True):
    """More time granted to a region for a step (issue: deadlines)."""

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str | None = Field(default=None, foreign_key="region.code")
    assessor_id: int | None = Field(default=None, foreign_key="assessor.id")
    step_no: int
    old_due: date | None = None
    new_due: date
    reason: str
    granted_by: str = ""
    granted_at: datetime = _ts(nullable=False, default_factory=now)


class NonWorkingDay(SQLModel, table=True):
    """Extra days off an admin adds (local leave, a regional holiday)."""

    day: date = Field(primary_key=True)
    description: str = ""


class InboundMessage(SQLModel, table=True):
    """A received email (replies from officers and assessors), processed exactly once."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True, index=True)
    raw_path: str
    sender: str = ""
    subject: str = ""
    in_reply_to: str = ""
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id")
    region_code: str | None = Field(default=None, foreign_key="region.code")
    assessor_id: int | None = Field(default=None, foreign_key="assessor.id")
    state: str = "received"  # received / processed / quarantined / unreadable / error
    action: str = ""
    error: str = ""
    attempts: int = 0
    received_at: datetime = _ts(nullable=False, default_factory=now)
    processed_at: datetime | None = _ts()
    # A quarantined message the admin released: who did, when, and as whom it was handled
    # (the region's PIC or the assessor the thread was addressed to).
    released_by: str = ""
    released_at: datetime | None = _ts()
    released_as: str = ""


class WaitState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


class Wait(SQLModel, table=True):
    """One open wait on people (the general mechanism behind every pause in the SOP).

    A flow opens a Wait when it suspends for a stage's input and closes it when the stage is
    complete. Everything else about the wait (who owes it, how it is described) belongs to the
    stage named by ``kind`` (services/stage.py). Reminders, the status grid and the doors read
    this table; the Prefect run and its input key say which suspended run to resume.
    """

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    region_code: str = Field(foreign_key="region.code")
    step_no: int
    kind: str  # the stage: jawaban / konfirmasi / kehadiran / nilai / penerimaan
    flow_run_id: str = ""
    input_key: str = ""
    started_on: date
    due_date: date
    extended: bool = False
    state: str = Field(default=WaitState.OPEN, index=True)
    opened_at: datetime = _ts(nullable=False, default_factory=now)
    closed_at: datetime | None = _ts()


class ServingProcess(SQLModel, table=True):
    """A running ``pemantik serve`` process and the flow runs it owns (its lease).

    The process renews ``expires_at`` every few seconds and lists, before it claims them, the
    Prefect flow runs it executes. Another serving process treats a Running or Pending run as
    orphaned (and sets it back to Scheduled) only when no live lease lists it, so two processes
    against one server never take each other's runs. Real time, never the simulated calendar.
    """

    id: str = Field(primary_key=True)  # random, one per process start
    host: str = ""
    pid: int = 0
    started_at: datetime = _ts(nullable=False)
    renewed_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    stopped_at: datetime | None = _ts()
    runs: list | None = _json(default=None)  # flow run ids this process owns
