"""The wait: one way to wait on a person, used by every step that needs an answer.

A *stage* is what a region flow waits for (answers, confirmations, attendance, scores,
acceptance). Each stage has one ``accept`` (validate + store, the same for every door) and one
``check`` (is the stage complete, and what is still missing). The doors — the Prefect UI's
resume form, the CLI, the Python/REST call and, later, email replies — only hand a payload to
:func:`submit` (or the flow hands the UI form to ``accept``); a bad payload is refused the same
way whichever door it came through, and nothing is stored.

The flow suspends once per stage and is resumed only when the stage is complete, so partial
inputs (one assessor of two) cost no process start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, delete, select

from models import clock
from models.db import session_scope
from models.tables import (
    AnswerSet,
    Assessor,
    Assignment,
    AssignmentState,
    Attendance,
    Confirmation,
    Result,
    Score,
    StepRecord,
    Wait,
    WaitState,
)
from services.audit import record_step
from services.context import cycle_by_year, get_assessor_by_email, get_region, load_cycle
from services.steps import active_assessor_ids

YES = {"ya", "hadir", "bersedia", "yes", "true", "1"}
NO = {"tidak", "tidak hadir", "tidak bersedia", "no", "false", "0"}


class InputRefused(ValueError):
    """A payload refused with every reason (Indonesian), nothing stored."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


class NotWaiting(LookupError):
    """The region (or assessor) is not waiting for this input."""


@dataclass
class StageStatus:
    complete: bool
    missing: list[str] = field(default_factory=list)


@dataclass
class Stage:
    kind: str
    step_no: int
    party: str
    title: str
    accept: Callable[[Session, int, str, dict[str, Any], str, str], str]
    check: Callable[[Session, int, str], StageStatus]
    done_steps: tuple[int, ...] = ()  # SOP steps the stage completes when it is answered


def levels_from_form(items: list[dict], evidence: bool = False) -> dict[str, dict[str, Any]]:
    """Form rows ``[{kode, tingkat, catatan[, bukti]}]`` as ``{code: {level, note[, evidence]}}``
    (the shape the assessment checks take); rows without a code are ignored."""
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        code = str(item.get("kode", "")).strip()
        if code:
            result[code] = {"level": item.get("tingkat"), "note": item.get("catatan", "")}
            if evidence:
                result[code]["evidence"] = item.get("bukti", "")
    return result


# --- jawaban (steps 3–5) --------------------------------------------------------------------


def _accept_answers(
    session: Session, cycle_id: int, region: str, payload: dict, via: str, who: str
) -> str:
    from assessment.answers import AnswerValidationError, validate_and_store
    from assessment.instruments import load_instrument

    ctx = load_cycle(session, cycle_id)
    instrument = load_instrument(ctx.cycle.instrument_code)
    path = (payload.get("berkas") or "").strip()
    items = payload.get("jawaban") or []
    try:
        if path:
            if not Path(path).is_file():
                raise InputRefused([f"Berkas '{path}' tidak ditemukan"])
            row = validate_and_store(
                session,
                instrument,
                cycle_id=cycle_id,
                region_code=region,
                source=via,
                submitted_by=who,
                path=Path(path),
            )
        else:
            data = payload.get("data")
            if data is None:
                data = levels_from_form(items, evidence=True)
            if not data:
                return ""  # an empty form: nothing handed over
            row = validate_and_store(
                session,
                instrument,
                cycle_id=cycle_id,
                region_code=region,
                source=via,
                submitted_by=who,
                data=data,
            )
    except AnswerValidationError as exc:
        raise InputRefused(list(exc.errors)) from None
    return f"jawaban versi {row.version} diterima"


def _check_answers(session: Session, cycle_id: int, region: str) -> StageStatus:
    row = session.exec(
        select(AnswerSet.id).where(AnswerSet.cycle_id == cycle_id, AnswerSet.region_code == region)
    ).first()
    return StageStatus(row is not None, [] if row else ["jawaban kuesioner dari Kab/Kota"])


# --- konfirmasi (steps 8–9) -----------------------------------------------------------------


def _yes_no(value: Any, place: str) -> bool:
    text = str(value or "").strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise InputRefused([f"{place}: isi 'ya' atau 'tidak', bukan '{value}'"])


def _accept_confirmation(
    session: Session, cycle_id: int, region: str, payload: dict, via: str, who: str
) -> str:
    party = str(payload.get("pihak") or "").strip().lower()
    answer = payload.get("jawaban")
    if not party and answer in (None, ""):
        return ""
    if not party:
        raise InputRefused(["pihak wajib diisi: 'wilayah' atau email asesor"])
    ctx = load_cycle(session, cycle_id)
    if party in ("wilayah", region):
        attend = _yes_no(answer, "Konfirmasi kehadiran")
        delegates = []
        for i, d in enumerate(payload.get("delegasi") or [], start=1):
            if not str(d.get("nama", "")).strip():
                raise InputRefused([f"Delegasi ke-{i}: nama wajib diisi"])
            delegates.append(
                {"nama": d["nama"].strip(), "jabatan": str(d.get("jabatan", "")).strip()}
            )
        if attend and not delegates:
            raise InputRefused(
                ["Konfirmasi hadir: sebutkan minimal satu delegasi (nama dan jabatan)"]
            )
        session.add(
            Confirmation(
                cycle_id=cycle_id,
                region_code=region,
                attend=attend,
                delegates=delegates,
                note=str(payload.get("alasan", "")),
                session_date=ctx.session_date_for(session, region),
            )
        )
        return "Kab/Kota " + ("hadir" if attend else "tidak dapat hadir")
    try:
        assessor = get_assessor_by_email(session, party)
    except LookupError as exc:
        raise InputRefused([str(exc)]) from None
    row = session.exec(
        select(Assignment).where(
            Assignment.cycle_id == cycle_id,
            Assignment.region_code == region,
            Assignment.assessor_id == assessor.id,
            Assignment.state == AssignmentState.REQUESTED,
        )
    ).first()
    if row is None:
        raise InputRefused(
            [f"Asesor {assessor.email} tidak sedang diminta menilai wilayah {region}"]
        )
    willing = _yes_no(answer, "Konfirmasi kesediaan")
    statement = str(payload.get("pernyataan_benturan_kepentingan", "")).strip()
    if willing and not statement:
        raise InputRefused(
            ["Konfirmasi bersedia: pernyataan bebas benturan kepentingan wajib diisi"]
        )
    row.state = AssignmentState.ACCEPTED if willing else AssignmentState.DECLINED
    row.coi_statement = statement
    row.reason = str(payload.get("alasan", ""))
    row.responded_at = clock.now()
    session.add(row)
    return f"asesor {assessor.name} " + ("bersedia" if willing else "tidak bersedia")


def _check_confirmations(session: Session, cycle_id: int, region: str) -> StageStatus:
    ctx = load_cycle(session, cycle_id)
    missing = []
    when = ctx.session_date_for(session, region)
    confirmed = session.exec(
        select(Confirmation.id).where(
            Confirmation.cycle_id == cycle_id,
            Confirmation.region_code == region,
            Confirmation.session_date == when,
        )
    ).first()
    if confirmed is None:
        missing.append("konfirmasi kehadiran Kab/Kota")
    for row in session.exec(
        select(Assignment).where(
            Assignment.cycle_id == cycle_id,
            Assignment.region_code == region,
            Assignment.state == AssignmentState.REQUESTED,
        )
    ):
        assessor = session.get(Assessor, row.assessor_id)
        missing.append(f"konfirmasi kesediaan asesor {assessor.name} ({assessor.email})")
    return StageStatus(not missing, missing)


# --- kehadiran (step 10) --------------------------------------------------------------------


def _accept_attendance(
    session: Session, cycle_id: int, region: str, payload: dict, via: str, who: str
) -> str:
    people = [p for p in payload.get("peserta") or [] if str(p.get("nama", "")).strip()]
    if not people:
        return ""
    ctx = load_cycle(session, cycle_id)
    raw = payload.get("tanggal") or ctx.session_date_for(session, region)
    day = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    session.add(
        Attendance(
            cycle_id=cycle_id,
            region_code=region,
            session_date=day,
            present=[{k: str(v) for k, v in p.items()} for p in people],
            recorded_by=who,
        )
    )
    return f"{len(people)} peserta hadir"


def _check_attendance(session: Session, cycle_id: int, region: str) -> StageStatus:
    row = session.exec(
        select(Attendance.id).where(
            Attendance.cycle_id == cycle_id, Attendance.region_code == region
        )
    ).first()
    return StageStatus(
        row is not None, [] if row else ["daftar hadir pelaksanaan penilaian (admin)"]
    )


# --- nilai (steps 11–12) --------------------------------------------------------------------


def _accept_scores(
    session: Session, cycle_id: int, region: str, payload: dict, via: str, who: str
) -> str:
    from assessment.instruments import load_instrument
    from assessment.results import ResultLockedError, submit_scores
    from assessment.scoring import ScoringError

    if payload.get("lanjut_tanpa_lengkap"):
        reason = str(payload.get("alasan", "")).strip()
        if not reason:
            raise InputRefused(["Melanjutkan tanpa nilai lengkap memerlukan alasan"])
        record_step(
            session,
            cycle_id=cycle_id,
            region_code=region,
            step_no=11,
            event="overridden",
            outcome="dilanjutkan tanpa nilai lengkap",
            who=who,
            detail={"alasan": reason},
        )
        return "admin melanjutkan tanpa nilai lengkap"
    email = str(payload.get("asesor") or "").strip()
    items = payload.get("nilai") or []
    if not email and not items:
        return ""
    try:
        assessor = get_assessor_by_email(session, email)
    except LookupError as exc:
        raise InputRefused([str(exc) if email else "email asesor wajib diisi"]) from None
    if assessor.id not in active_assessor_ids(session, cycle_id, region):
        raise InputRefused([f"Asesor {assessor.email} tidak ditugaskan menilai wilayah {region}"])
    scores = payload.get("data")
    if scores is None:
        scores = levels_from_form(items)
    ctx = load_cycle(session, cycle_id)
    try:
        submit_scores(
            session,
            cycle_id=cycle_id,
            region_code=region,
            assessor_id=assessor.id,
            scores=scores,
            instrument=load_instrument(ctx.cycle.instrument_code),
        )
    except ScoringError as exc:
        raise InputRefused(list(exc.errors) or [str(exc)]) from None
    except ResultLockedError as exc:
        raise InputRefused([str(exc)]) from None
    return f"nilai asesor {assessor.name} diterima"


def _check_scores(session: Session, cycle_id: int, region: str) -> StageStatus:
    from assessment.results import missing_assessors

    overridden = session.exec(
        select(StepRecord.id).where(
            StepRecord.cycle_id == cycle_id,
            StepRecord.region_code == region,
            StepRecord.step_no == 11,
            StepRecord.event == "overridden",
        )
    ).first()
    ids = active_assessor_ids(session, cycle_id, region)
    missing = missing_assessors(session, cycle_id, region, ids)
    if overridden and len(missing) < len(ids):
        return StageStatus(True)
    names = [f"nilai asesor {session.get(Assessor, i).name}" for i in missing]
    return StageStatus(not missing, names)


# --- penerimaan (step 13) -------------------------------------------------------------------


def _accept_acceptance(
    session: Session, cycle_id: int, region: str, payload: dict, via: str, who: str
) -> str:
    from assessment.instruments import load_instrument
    from assessment.results import finalize_result, lock_result
    from assessment.scoring import ScoringError

    decision = str(payload.get("keputusan") or "").strip().lower()
    if not decision:
        return ""
    note = str(payload.get("catatan", "")).strip()
    if decision == "kembalikan":
        if not note:
            raise InputRefused(["Mengembalikan hasil kepada asesor memerlukan catatan"])
        session.exec(delete(Score).where(Score.cycle_id == cycle_id, Score.region_code == region))
        record_step(
            session,
            cycle_id=cycle_id,
            region_code=region,
            step_no=13,
            event="returned",
            outcome="dikembalikan kepada asesor",
            who=who,
            detail={"catatan": note},
        )
        return "dikembalikan kepada asesor"
    if decision != "terima":
        raise InputRefused([f"keputusan harus 'terima' atau 'kembalikan', bukan '{decision}'"])
    consensus = levels_from_form(payload.get("konsensus") or [])
    ctx = load_cycle(session, cycle_id)
    try:
        finalize_result(
            session,
            cycle_id,
            region,
            load_instrument(ctx.cycle.instrument_code),
            consensus=consensus or None,
        )
    except ScoringError as exc:
        raise InputRefused(list(exc.errors) or [str(exc)]) from None
    lock_result(session, cycle_id, region, who)
    return "hasil diterima dan dikunci"


def _check_acceptance(session: Session, cycle_id: int, region: str) -> StageStatus:
    result = session.exec(
        select(Result).where(Result.cycle_id == cycle_id, Result.region_code == region)
    ).first()
    if result is not None and result.locked:
        return StageStatus(True)
    returned = session.exec(
        select(StepRecord.id).where(
            StepRecord.cycle_id == cycle_id,
            StepRecord.region_code == region,
            StepRecord.step_no == 13,
            StepRecord.event == "returned",
        )
    ).first()
    missing = ["penerimaan hasil oleh admin (terima / kembalikan)"]
    # A return hands the region back to the assessors: the stage is "complete" for the flow,
    # which then waits for new scores.
    return StageStatus(
        returned is not None and not _scores_present(session, cycle_id, region), missing
    )


def _scores_present(session: Session, cycle_id: int, region: str) -> bool:
    return (
        session.exec(
            select(Score.id).where(Score.cycle_id == cycle_id, Score.region_code == region)
        ).first()
        is not None
    )


STAGES: dict[str, Stage] = {
    s.kind: s
    for s in (
        Stage(
            "jawaban", 4, "wilayah", "Jawaban kuesioner", _accept_answers, _check_answers, (3, 4)
        ),
        Stage(
            "konfirmasi",
            8,
            "wilayah, asesor",
            "Konfirmasi kehadiran dan kesediaan",
            _accept_confirmation,
            _check_confirmations,
            (8,),
        ),
        Stage(
            "kehadiran",
            10,
            "admin",
            "Daftar hadir penilaian",
            _accept_attendance,
            _check_attendance,
            (10,),
        ),
        Stage("nilai", 11, "asesor", "Nilai asesor", _accept_scores, _check_scores, (11,)),
        Stage(
            "penerimaan",
            13,
            "admin",
            "Penerimaan hasil akhir",
            _accept_acceptance,
            _check_acceptance,
        ),
    )
}


def stage(kind: str) -> Stage:
    try:
        return STAGES[kind]
    except KeyError:
        raise NotWaiting(f"jenis masukan '{kind}' tidak dikenal") from None


def accept(kind: str, cycle_id: int, region: str, payload: dict, via: str, who: str) -> str:
    """Validate and store one input (all or nothing). Raises InputRefused; returns a summary."""
    st = stage(kind)
    with session_scope() as session:
        summary = st.accept(session, cycle_id, region, payload, via, who)
        if summary:
            record_step(
                session,
                cycle_id=cycle_id,
                region_code=region,
                step_no=st.step_no,
                event="received",
                outcome=summary,
                who=who,
                detail={"melalui": via},
            )
    return summary


def check(kind: str, cycle_id: int, region: str) -> StageStatus:
    with session_scope() as session:
        return stage(kind).check(session, cycle_id, region)


# --- Wait rows ------------------------------------------------------------------------------


def open_wait(
    *,
    kind: str,
    cycle_id: int,
    region: str,
    flow_run_id: str,
    key: str,
    started_on: date,
    due: date,
    description: str,
) -> Wait:
    """Open (or find) the Wait row of this run and key; idempotent across re-executions."""
    st = stage(kind)
    with session_scope() as session:
        row = session.exec(
            select(Wait).where(Wait.flow_run_id == flow_run_id, Wait.input_key == key)
        ).first()
        if row is None:
            previous = session.exec(
                select(Wait).where(
                    Wait.cycle_id == cycle_id,
                    Wait.region_code == region,
                    Wait.kind == kind,
                    Wait.state == WaitState.OPEN,
                )
            ).all()
            for old in previous:  # a re-ask replaces the earlier open wait, keeping its due date
                old.state = WaitState.CANCELLED
                old.closed_at = clock.now()
                due = old.due_date if old.extended else due
                session.add(old)
            row = Wait(
                cycle_id=cycle_id,
                region_code=region,
                step_no=st.step_no,
                party=st.party,
                kind=kind,
                description=description,
                flow_run_id=flow_run_id,
                input_key=key,
                started_on=started_on,
                due_date=due,
                extended=any(o.extended for o in previous),
            )
            session.add(row)
            session.flush()
        return row


def close_waits(kind: str, cycle_id: int, region: str) -> int:
    """Close the open waits of a completed stage; record its SOP steps as done (once)."""
    st = stage(kind)
    with session_scope() as session:
        rows = session.exec(
            select(Wait).where(
                Wait.cycle_id == cycle_id,
                Wait.region_code == region,
                Wait.kind == kind,
                Wait.state == WaitState.OPEN,
            )
        ).all()
        for row in rows:
            row.state = WaitState.ANSWERED
            row.closed_at = clock.now()
            session.add(row)
        if rows:
            first = min(rows, key=lambda r: r.opened_at)
            for step_no in st.done_steps:
                record_step(
                    session,
                    cycle_id=cycle_id,
                    region_code=region,
                    step_no=step_no,
                    event="done",
                    started_at=first.opened_at,
                    due_date=rows[-1].due_date,
                    outcome=f"{st.title} lengkap",
                )
        return len(rows)


def open_wait_for(session: Session, cycle_id: int, region: str, kind: str) -> Wait | None:
    return session.exec(
        select(Wait)
        .where(
            Wait.cycle_id == cycle_id,
            Wait.region_code == region,
            Wait.kind == kind,
            Wait.state == WaitState.OPEN,
        )
        .order_by(Wait.id.desc())
    ).first()


# --- the doors ------------------------------------------------------------------------------


@dataclass
class SubmitOutcome:
    summary: str
    complete: bool
    resumed: bool
    missing: list[str]


def submit(
    kind: str,
    *,
    region: str,
    payload: dict,
    via: str,
    who: str,
    year: int | None = None,
    cycle_id: int | None = None,
    resume_timeout: float = 60.0,
) -> SubmitOutcome:
    """The door for the CLI, the API and email: validate + store, resume when complete.

    Raises NotWaiting when the region does not wait for this input, InputRefused (with every
    reason) when the payload is invalid — in both cases nothing is stored.
    """
    with session_scope() as session:
        if cycle_id is None:
            if year is None:
                raise NotWaiting("sebutkan siklus (tahun)")
            cycle_id = cycle_by_year(session, year).id
        region_row = get_region(session, region)
        wait = open_wait_for(session, cycle_id, region, kind)
        if wait is None:
            raise NotWaiting(
                f"{region_row.name} ({region}) tidak sedang menunggu {stage(kind).title.lower()}"
            )
        flow_run_id = wait.flow_run_id
    summary = accept(kind, cycle_id, region, payload, via, who)
    status = check(kind, cycle_id, region)
    resumed = False
    if status.complete and flow_run_id:
        resumed = resume_when_suspended(flow_run_id, {"melalui": via}, resume_timeout)
    return SubmitOutcome(summary, status.complete, resumed, status.missing)


def resume_when_suspended(flow_run_id: str, run_input: dict, timeout: float = 60.0) -> bool:
    """Resume the run once it is suspended (it may still be on its way to the suspend)."""
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            state = client.read_flow_run(flow_run_id).state
            if state is not None and state.is_paused():
                try:
                    resume_flow_run(flow_run_id, run_input=run_input)
                    return True
                except Exception:  # another door resumed it first
                    return False
            if state is not None and state.is_final():
                return False
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
