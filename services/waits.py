"""The waits: the registry of stages, the Wait rows, and the one door every input goes through.

A region flow suspends once per stage and is resumed only when the stage is complete, so
partial inputs (one assessor of two) cost no process start. Every door — the Prefect UI's
resume form, the CLI, email replies, the Python API — hands its payload to :func:`accept`
(through :func:`submit`, or the flow with the form), so a bad payload is refused the same way
whichever door it came through, and nothing is stored. The rules of each stage live in its
phase module (``services/questionnaire.py``, ``invitation.py``, ``scoring.py``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from models import clock
from models.audit import record_step
from models.db import session_scope
from models.lookups import open_waits
from models.tables import Wait, WaitState
from services import invitation, questionnaire, scoring, signoff
from services.context import cycle_by_year, get_region, load_cycle
from services.cycle import CycleClosed, ensure_accepting
from services.stage import (  # re-exported: the doors import them from here
    InputRefused,
    NotWaiting,
    Party,
    Stage,
    StageStatus,
)

__all__ = [
    "CycleClosed",
    "InputRefused",
    "NotWaiting",
    "Party",
    "Stage",
    "StageStatus",
    "STAGES",
    "stage",
    "accept",
    "check",
    "open_wait",
    "close_waits",
    "current_wait",
    "due_of",
    "form_text",
    "refresh_form_text",
    "submit",
    "SubmitOutcome",
    "resume_when_suspended",
    "StageSweeper",
    "SweepReport",
]

log = logging.getLogger("pemantik.waits")

STAGES: dict[str, Stage] = {
    s.kind: s for s in (*questionnaire.STAGES, *invitation.STAGES, *scoring.STAGES, *signoff.STAGES)
}


def stage(kind: str) -> Stage:
    try:
        return STAGES[kind]
    except KeyError:
        raise NotWaiting(f"jenis masukan '{kind}' tidak dikenal") from None


def accept(
    kind: str,
    cycle_id: int,
    region: str,
    payload: dict,
    via: str,
    who: str,
    audit: dict | None = None,
) -> str:
    """Validate and store one input (all or nothing). Raises InputRefused, or CycleClosed when
    the cycle is closed or cancelled; returns a summary. ``audit`` adds to the step record's
    detail (the portal gives the caller's address)."""
    st = stage(kind)
    with session_scope() as session:
        ctx = load_cycle(session, cycle_id)
        ensure_accepting(ctx.cycle)  # the cycle's state is checked here, for every door
        summary = st.accept(session, ctx, region, payload, via, who)
        if summary:
            record_step(
                session,
                cycle_id=cycle_id,
                region_code=region,
                step_no=st.step_of(session, ctx, region, payload),
                event="received",
                outcome=summary,
                who=who,
                detail={"melalui": via, **(audit or {})},
            )
    return summary


def check(kind: str, cycle_id: int, region: str) -> StageStatus:
    with session_scope() as session:
        return stage(kind).check(session, load_cycle(session, cycle_id), region)


# --- Wait rows ------------------------------------------------------------------------------


def current_wait(session: Session, cycle_id: int, region: str, kind: str) -> Wait | None:
    """The open wait of a stage for a region (the newest, should a re-ask have left two)."""
    rows = open_waits(session, cycle_id, region, kind=kind)
    return rows[-1] if rows else None


def due_of(session: Session, cycle_id: int, region: str, kind: str) -> date:
    """The stage's deadline as people were told it: the open wait's (extensions included), or
    the stage's own rule when nothing is open yet."""
    return stage(kind).current_due(session, load_cycle(session, cycle_id), region)


def open_wait(*, kind: str, cycle_id: int, region: str, flow_run_id: str, key: str) -> Wait:
    """Open (or find) the Wait row of this run and key; idempotent across re-executions.

    The due date comes from the stage. A re-ask (a new key after an invalid input) replaces
    the earlier open wait of the stage and keeps its due date, extended or not.
    """
    st = stage(kind)
    with session_scope() as session:
        row = session.exec(
            select(Wait).where(
                Wait.cycle_id == cycle_id,
                Wait.region_code == region,
                Wait.flow_run_id == flow_run_id,
                Wait.input_key == key,
            )
        ).first()
        if row is not None:
            return row
        previous = open_waits(session, cycle_id, region, kind=kind)
        if previous:
            due, extended = previous[-1].due_date, any(o.extended for o in previous)
        else:
            due, extended = st.due(session, load_cycle(session, cycle_id), region), False
        for old in previous:
            old.state = WaitState.CANCELLED
            old.closed_at = clock.now()
            session.add(old)
        row = Wait(
            cycle_id=cycle_id,
            region_code=region,
            step_no=st.step_no,
            kind=kind,
            flow_run_id=flow_run_id,
            input_key=key,
            started_on=clock.today(),
            due_date=due,
            extended=extended,
        )
        session.add(row)
        session.flush()
        return row


def close_waits(kind: str, cycle_id: int, region: str) -> int:
    """Close the open waits of a completed stage; record its SOP steps as done (once)."""
    st = stage(kind)
    with session_scope() as session:
        rows = open_waits(session, cycle_id, region, kind=kind)
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


def form_text(
    kind: str, cycle_id: int, region: str, due: date | str, missing: list[str], errors: list[str]
) -> str:
    """The Prefect UI form's description for a region's wait on ``kind``."""
    st = stage(kind)
    with session_scope() as session:
        name = get_region(session, region).name
        facts = st.form_facts(session, load_cycle(session, cycle_id), region)
    day = due if isinstance(due, date) else date.fromisoformat(due)
    return st.form_description(name, day, missing, errors, facts)


def refresh_form_text(wait: Wait, due: date) -> bool:
    """Rewrite the open form's description of a suspended run after its deadline moved (an
    extension), so the Resume dialog shows the new date. False when the run waits no more."""
    import json

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    if not wait.flow_run_id or not PREFECT_API_URL.value():  # no engine: no form to refresh
        return False
    status = check(wait.kind, wait.cycle_id, wait.region_code)
    text = form_text(wait.kind, wait.cycle_id, wait.region_code, due, status.missing, [])
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(wait.flow_run_id).state
        keyset = state.state_details.run_input_keyset if state is not None else None
        if not keyset or not state.is_paused() or state.state_details.pause_key != wait.input_key:
            return False
        key = keyset["description"]
        try:
            client.delete_flow_run_input(wait.flow_run_id, key)
        except Exception:  # noqa: BLE001 - none stored yet: create it below
            log.debug("no form description stored for %s/%s", wait.flow_run_id, key)
        client.create_flow_run_input(
            wait.flow_run_id, key, json.dumps(text)
        )  # as Prefect stores it
    return True


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
    audit: dict | None = None,
) -> SubmitOutcome:
    """The door for the CLI, the API and email: validate + store, resume when complete.

    Raises CycleClosed when the cycle is closed or cancelled, NotWaiting when the region does
    not wait for this input, InputRefused (with every reason) when the payload is invalid — in
    each case nothing is stored.
    """
    with session_scope() as session:
        if cycle_id is None:
            if year is None:
                raise NotWaiting("sebutkan siklus (tahun)")
            cycle_id = cycle_by_year(session, year).id
        ensure_accepting(load_cycle(session, cycle_id).cycle)
        region_row = get_region(session, region)
        wait = current_wait(session, cycle_id, region, kind)
        if wait is None:
            raise NotWaiting(f"{region_row.name} tidak sedang menunggu {stage(kind).title.lower()}")
        flow_run_id = wait.flow_run_id
    summary = accept(kind, cycle_id, region, payload, via, who, audit)
    status = check(kind, cycle_id, region)
    resumed = False
    if status.complete and flow_run_id:
        resumed = resume_when_suspended(flow_run_id, {"melalui": via}, resume_timeout)
    return SubmitOutcome(summary, status.complete, resumed, status.missing)


def resume_when_suspended(flow_run_id: str, run_input: dict, timeout: float = 60.0) -> bool:
    """Resume the run once it is suspended (it may still be on its way to the suspend).

    True when this call resumed it. False when the run did not suspend within ``timeout``, has
    ended, or another door resumed it first — the one expected race, recognised by the run no
    longer being suspended. Any other failure (the server away, a 5xx, a refused resume) is
    logged and retried until ``timeout``; a stage left complete with its run still suspended
    is resumed later by :func:`sweep_complete_stages`.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus

    deadline = time.monotonic() + timeout
    delay = 0.5
    with get_client(sync_client=True) as client:
        while True:
            try:
                state = client.read_flow_run(flow_run_id).state
                if state is not None and state.is_final():
                    return False
                if state is not None and state.is_paused():
                    response = client.resume_flow_run(flow_run_id, run_input=run_input)
                    if response.status == SetStateStatus.ACCEPT:
                        return True
                    after = client.read_flow_run(flow_run_id).state
                    if after is None or not after.is_paused():
                        return False  # another door resumed it first
                    if response.state is not None and response.state.type == StateType.FAILED:
                        log.error(
                            "Run %s tidak dapat dilanjutkan lagi (jeda kedaluwarsa)", flow_run_id
                        )
                        return False
                    reason = response.details.reason if response.details else response.status
                    raise RuntimeError(f"server menolak melanjutkan: {reason}")
            except Exception as exc:
                log.warning("Melanjutkan run %s gagal (%s); dicoba lagi", flow_run_id, exc)
            if time.monotonic() + delay > deadline:
                log.warning("Run %s belum dilanjutkan; penyapu penantian mencoba lagi", flow_run_id)
                return False
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


@dataclass
class SweepReport:
    resumed: list[str]  # "region/stage" resumed by the sweep
    failing: list[str]  # complete, still suspended, could not be resumed
    told_admin: list[str]


class StageSweeper:
    """Finds every stage that is complete while its run is still suspended and resumes it
    (a resume that failed, or a door whose process died in between). A stage it cannot resume
    ``notify_after`` sweeps in a row is reported to the admin, once. ``pemantik serve`` runs it
    every ``PEMANTIK_RUNNER__SWEEP_SECONDS``."""

    def __init__(self, notify_after: int = 3) -> None:
        self.notify_after = notify_after
        self.failures: dict[int, int] = {}  # wait id → sweeps in a row that could not resume it

    def sweep(self) -> SweepReport:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterId,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType

        report = SweepReport([], [], [])
        self._finished_cycles(report)
        with session_scope() as session:
            waits = [
                w
                for w in session.exec(select(Wait).where(Wait.state == WaitState.OPEN))
                if w.flow_run_id
            ]
        if not waits:
            return report
        suspended: set[str] = set()
        ids = sorted({w.flow_run_id for w in waits})
        with get_client(sync_client=True) as client:
            for i in range(0, len(ids), 200):
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        id=FlowRunFilterId(any_=ids[i : i + 200]),
                        state=FlowRunFilterState(
                            type=FlowRunFilterStateType(any_=[StateType.PAUSED])
                        ),
                    ),
                    limit=200,
                )
                suspended |= {str(r.id) for r in runs}
        for wait in waits:
            if wait.flow_run_id not in suspended:
                continue
            if not check(wait.kind, wait.cycle_id, wait.region_code).complete:
                continue
            label = f"{wait.region_code}/{wait.kind}"
            if resume_when_suspended(wait.flow_run_id, {"melalui": "otomatis"}, timeout=5):
                report.resumed.append(label)
                self.failures.pop(wait.id, None)
                log.warning(
                    "Penantian %s lengkap tetapi run-nya masih berhenti: dilanjutkan", label
                )
                continue
            report.failing.append(label)
            self.failures[wait.id] = self.failures.get(wait.id, 0) + 1
            if self.failures[wait.id] == self.notify_after:
                self._tell_admin(wait)
                report.told_admin.append(label)
        return report

    def _finished_cycles(self, report: SweepReport) -> None:
        """A running cycle whose regions are all done, or a closed one, waits for nothing:
        resume it to step 14 (the last region's nudge, or the close's resume, may have failed)."""
        from models.tables import Cycle, CycleState
        from services.cycle import regions_unfinished

        with session_scope() as session:
            cycles = session.exec(
                select(Cycle).where(Cycle.state.in_([CycleState.RUNNING, CycleState.CLOSING]))
            ).all()
        for cycle in cycles:
            running = cycle.state == CycleState.RUNNING
            if not cycle.flow_run_id or (running and regions_unfinished(cycle.id)):
                continue
            if resume_when_suspended(
                cycle.flow_run_id, {"melalui": "otomatis", "tutup": False}, timeout=1
            ):
                report.resumed.append(f"siklus {cycle.year}")

    def _tell_admin(self, wait: Wait) -> None:
        from services.outgoing import notify_admin

        with session_scope() as session:
            ctx = load_cycle(session, wait.cycle_id)
            region = get_region(session, wait.region_code)
            name = ctx.cycle.name
        notify_admin(
            key=f"c{wait.cycle_id}/penantian-tertahan/{wait.id}",
            subject=f"{name}: {region.name} belum dapat dilanjutkan",
            title="Sebuah tahap sudah lengkap, tetapi alurnya belum dapat dilanjutkan.",
            paragraphs=[
                f"Semua masukan untuk {stage(wait.kind).title.lower()} {region.name} sudah "
                "diterima, tetapi server Prefect belum dapat melanjutkan alurnya walaupun sudah "
                "dicoba berulang kali.",
                "Sistem terus mencoba. Bila masalah berlanjut, periksa server Prefect, lalu "
                "lanjutkan run wilayah ini dari Prefect UI (tombol Resume).",
            ],
            details={"Siklus": name, "Wilayah": region.name, "Tahap": stage(wait.kind).title},
            cycle_id=wait.cycle_id,
            region_code=wait.region_code,
        )
