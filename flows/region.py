"""The region flow: SOP steps 1–13 for one Kab/Kota; only the order of steps and the waits.

Every wait suspends the run (the process ends; a resume starts it again from the top). Tasks
persist their results, letters and emails carry idempotency keys, so nothing before a wait
happens twice. A wait is resumed once its stage is complete (see services/waits.py), and the
stage is checked before suspending, so an input that arrived early costs no suspend.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.context import get_run_context
from prefect.flow_runs import suspend_flow_run
from prefect.states import Cancelled

from flows.forms import FORMS
from flows.runlog import run_logger
from flows.status import publish_status, tell_cycle_if_all_done
from services import waits
from services.cycle import accepts_input
from services.progress import region_progress
from services.scoring import result_is_locked
from tasks import region_tasks as t


class CycleEnded(Exception):
    """The cycle was closed or cancelled while this region waited: stop, send nothing."""


def run_name() -> str:
    """``wilayah-<code>-<short name>-<year>`` (the fan-out gives the same name at creation)."""
    from prefect.runtime import flow_run

    from models.db import session_scope
    from services.cycle import region_run_name

    params = flow_run.parameters
    with session_scope() as session:
        return region_run_name(session, params["cycle_id"], params["region_code"])


def wait_for_stage(kind: str, cycle_id: int, region_code: str, round_no: int = 1) -> None:
    """Suspend until the stage is complete; re-ask (never fail) on invalid input."""
    run_id = str(get_run_context().flow_run.id)
    accept = t.STAGE_TASKS[kind][1]
    errors: list[str] = []
    attempt = 0
    while True:
        if not accepts_input(cycle_id):
            raise CycleEnded
        status = t.close_if_complete(cycle_id, region_code, kind)
        if status.complete:
            return
        key = f"{kind}-r{round_no}-{attempt}"
        opened = t.open_stage_wait(cycle_id, region_code, kind, run_id, key)
        publish_status(cycle_id)
        run_logger().info(
            "Menunggu %s (tenggat %s): %s.",
            waits.stage(kind).title.lower(),
            opened["due"],
            "; ".join(status.missing) or "-",
        )
        form = suspend_flow_run(
            wait_for_input=FORMS[kind].with_initial_data(
                description=waits.form_text(
                    kind, cycle_id, region_code, opened["due"], status.missing, errors
                )
            ),
            key=key,
            timeout=None,
        )
        if not accepts_input(cycle_id):  # closed while suspended: the form is not taken
            raise CycleEnded
        errors = accept(cycle_id, region_code, kind, form.model_dump(mode="json"), key)
        attempt += 1


def mark_failed(flow: Any, flow_run: Any, state: Any) -> None:  # noqa: ARG001
    """on_failure: the region shows as failed on the status grid and the board (instead of
    working on its step for ever), and the run's log says how to go on."""
    from prefect.logging.loggers import flow_run_logger

    from models.db import session_scope
    from models.tables import ProcessState
    from services.progress import process_row, set_progress

    cycle_id, region_code = flow_run.parameters["cycle_id"], flow_run.parameters["region_code"]
    with session_scope() as session:
        step_no = process_row(session, cycle_id, region_code).current_step
        set_progress(session, cycle_id, region_code, step_no=step_no, state=ProcessState.FAILED)
    publish_status(cycle_id)
    flow_run_logger(flow_run, flow).error(
        "Alur %s berhenti karena galat: %s. Setelah penyebabnya diperbaiki, jalankan ulang "
        "run ini (tombol Retry di Prefect UI): langkah yang sudah selesai tidak diulang.",
        region_code,
        # "Flow run encountered an exception: RuntimeError: <ours>" → ours, without the stop.
        (state.message or "").split(": ", 2)[-1].rstrip("."),
    )


def clear_failed(cycle_id: int, region_code: str) -> None:
    """A retried run: the region is working on its step again, no longer shown as stopped."""
    from models.db import session_scope
    from models.tables import ProcessState
    from services.progress import process_row, set_progress

    with session_scope() as session:
        row = process_row(session, cycle_id, region_code)
        if row.state == ProcessState.FAILED:
            set_progress(session, cycle_id, region_code, step_no=row.current_step)


@flow(
    name="wilayah-pemantik",
    flow_run_name=run_name,
    persist_result=True,
    log_prints=True,
    on_failure=[mark_failed],
)
def region_flow(cycle_id: int, region_code: str) -> Any:
    """Langkah 1–13 SOP PeManTIK untuk satu Kab/Kota."""
    logger = run_logger()
    clear_failed(cycle_id, region_code)
    try:
        return region_steps(cycle_id, region_code, logger)
    except CycleEnded:
        logger.warning("Siklus sudah ditutup atau dibatalkan; alur %s dihentikan.", region_code)
        return Cancelled(message="Siklus sudah ditutup atau dibatalkan")


def region_steps(cycle_id: int, region_code: str, logger: Any) -> dict[str, Any]:
    """Steps 1–13 in SOP order, with the waits between them."""
    if not accepts_input(cycle_id):
        raise CycleEnded
    # A resume re-runs the flow from the top. Every step is idempotent and its effects are in
    # our database, so the stages already passed are skipped instead of replayed task by task
    # (each replayed task is still an API round trip); a stage not yet passed runs as usual.
    passed = region_progress(cycle_id, region_code)
    if 5 not in passed.steps:
        sent = t.kirim_pemberitahuan(cycle_id, region_code)
        t.terima_pemberitahuan(cycle_id, region_code, sent)
        publish_status(cycle_id)
        wait_for_stage("jawaban", cycle_id, region_code)
        t.terima_jawaban(cycle_id, region_code)

    round_no, region_too = 1, True
    while not passed.confirmed:
        letters = t.kirim_undangan(cycle_id, region_code, round_no, region_too)
        t.terima_undangan(cycle_id, region_code, letters)
        wait_for_stage("konfirmasi", cycle_id, region_code, round_no)
        changes = t.terima_konfirmasi(cycle_id, region_code, round_no)
        if not changes["replaced"] and not changes["rescheduled"]:
            break
        round_no += 1
        region_too = bool(changes["rescheduled"])

    if 10 not in passed.steps:
        wait_for_stage("kehadiran", cycle_id, region_code)

    score_round = 1
    while not result_is_locked(cycle_id, region_code):
        wait_for_stage("nilai", cycle_id, region_code, score_round)
        t.hasil_akhir(cycle_id, region_code, score_round)
        wait_for_stage("penerimaan", cycle_id, region_code, score_round)
        score_round += 1
    t.close_if_complete(cycle_id, region_code, "penerimaan")  # its wait closes (once)
    outcome = t.kirim_hasil(cycle_id, region_code)
    publish_status(cycle_id)
    logger.info("Wilayah %s selesai: %s", region_code, outcome["outcome"])
    tell_cycle_if_all_done(cycle_id)
    return outcome
