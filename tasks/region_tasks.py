"""The region flow's tasks (steps 1–13): each SOP step's phase function as a Prefect task, and
the two tasks of a wait (the stage found complete, a form handed over)."""

from __future__ import annotations

from typing import Any

from models.audit import record_step
from models.db import session_scope
from models.tables import ProcessState
from services import invitation, questionnaire, scoring, waits
from services.progress import set_progress
from tasks.sop import sop_task

# --- the steps ------------------------------------------------------------------------------

kirim_pemberitahuan = sop_task(1, progress=True)(questionnaire.send_notification)
terima_pemberitahuan = sop_task(2)(questionnaire.receipt_completes_delivery)
terima_jawaban = sop_task(5, progress=True)(questionnaire.send_receipt)
kirim_undangan = sop_task(6, progress=True)(invitation.send_letters)
terima_undangan = sop_task(7)(invitation.receipts_complete_delivery)
terima_konfirmasi = sop_task(9)(invitation.settle_confirmations)
hasil_akhir = sop_task(12, progress=True)(scoring.preview_result)
kirim_hasil = sop_task(13)(scoring.send_result)


# --- a wait ---------------------------------------------------------------------------------
# Checking a stage and opening its wait are plain calls (each is idempotent on its own keys): a
# task run per check would be two thirds of a region's task runs, and each costs the Prefect
# server about 0.2 CPU-s. The wait's SOP step is a task once, when the stage is found complete.


def close_if_complete(cycle_id: int, region_code: str, kind: str) -> waits.StageStatus:
    """What the stage still lacks (asked again on every execution, no task); once it lacks
    nothing, its waits are closed and its SOP step recorded, by the task "… — lengkap"."""
    status = waits.check(kind, cycle_id, region_code)
    if status.complete:
        STAGE_TASKS[kind][0](cycle_id, region_code, kind)
    return status


def open_stage_wait(cycle_id: int, region_code: str, kind: str, flow_run_id: str, key: str) -> dict:
    """Open (or find, on a re-execution) this run's wait; the region shows as waiting."""
    wait = waits.open_wait(
        kind=kind, cycle_id=cycle_id, region=region_code, flow_run_id=flow_run_id, key=key
    )
    with session_scope() as session:
        set_progress(
            session,
            cycle_id,
            region_code,
            step_no=wait.step_no,
            state=ProcessState.WAITING,
            due=wait.due_date,
            waiting_for=waits.stage(kind).title,
            flow_run_id=flow_run_id,
        )
    return {"wait_id": wait.id, "due": wait.due_date.isoformat(), "key": key}


def _complete(cycle_id: int, region_code: str, kind: str) -> int:
    """The stage is complete: close its waits and record its SOP steps as done (once)."""
    return waits.close_waits(kind, cycle_id, region_code)


def _accept(cycle_id: int, region_code: str, kind: str, form: dict, key: str) -> list[str]:
    """Hand a UI form to the one validation path; invalid input is answered, never a failure.

    The form is the admin's: what is wrong is shown to the admin in the form asked again, not
    emailed to the region (the region is told only about what it sent itself, by the inbox).
    A task with a persisted result: a re-execution meets the same form again and must not
    take it twice."""
    via = form.get("melalui") or "ui"
    try:
        waits.accept(
            kind,
            cycle_id,
            region_code,
            form,
            via=via,
            who="admin (Prefect UI)" if via == "ui" else via,
        )
        return []
    except waits.InputRefused as exc:
        with session_scope() as session:
            record_step(
                session,
                cycle_id=cycle_id,
                region_code=region_code,
                step_no=waits.stage(kind).step_no,
                event="refused",
                outcome="masukan ditolak",
                detail={"kesalahan": exc.errors, "key": key},
            )
        return exc.errors  # the re-asked form names them, to the admin who filled it


def _stage_tasks(kind: str) -> tuple[Any, Any]:
    step_no = waits.stage(kind).step_no
    return (
        sop_task(step_no, "lengkap", record=False, cache=False)(_complete),
        sop_task(step_no, "terima masukan", record=False)(_accept),
    )


# (complete, accept) per stage, named after the stage's SOP step ("08 … — lengkap").
STAGE_TASKS: dict[str, tuple[Any, Any]] = {kind: _stage_tasks(kind) for kind in waits.STAGES}
