"""The cycle flow: fan out one region run per Kab/Kota, follow them, then step 14."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.context import get_run_context
from prefect.flow_runs import suspend_flow_run
from prefect.states import Cancelled, Failed

from flows.forms import TutupSiklusForm
from flows.runlog import run_logger
from flows.status import publish_status
from models.tables import CycleState
from services.cycle import ended, regions_unfinished
from services.params import form_signature, from_form
from tasks import cycle_tasks as t

NO_REASON = "Alasan penutupan wajib diisi; siklus belum ditutup."


def cancel_regions_too(flow: Any, flow_run: Any, state: Any) -> None:  # noqa: ARG001
    """on_cancellation: the cycle and its region runs are cancelled with the cycle run (a
    suspended cycle run cancelled in the UI runs no hook: the serving process's cancel watch,
    services.cycle.follow_cancelled_cycle_runs, does it)."""
    from services.cycle import cancel_cycle, cycle_of_run

    cycle_id = cycle_of_run(str(flow_run.id))
    if cycle_id is not None:
        cancel_cycle(cycle_id, who="admin (Prefect UI)")


def cycle_flow(**form: Any) -> Any:
    """Siklus PeManTIK: langkah 1–13 per Kab/Kota, lalu langkah 14 (BA, SK, Laporan)."""
    params = from_form(form)  # an empty start date is today, as the run starts
    logger = run_logger()
    run_id = str(get_run_context().flow_run.id)
    prepared = t.prepare_cycle(params.model_dump(mode="json"), run_id)
    if "refused" in prepared:  # a second cycle for the year: nothing was created or sent
        logger.error(prepared["refused"])
        return Failed(message=prepared["refused"])
    cycle_id, regions = prepared["cycle_id"], prepared["regions"]
    t.assign(cycle_id, regions)
    publish_status(cycle_id, create=True)  # the progress artifact, before any region runs
    started = t.start_region_runs(cycle_id, regions)
    t.link_regions(cycle_id, started)
    publish_status(cycle_id, table=True)

    attempt, reason, who, errors = 0, "", "otomatis", ""
    while True:
        closed = ended(cycle_id)
        if closed is not None and closed[0] == CycleState.CANCELLED:
            logger.warning("Siklus %s dibatalkan: %s", params.year, closed[1])
            return Cancelled(message=f"Siklus dibatalkan: {closed[1]}")
        if closed is not None:  # closed by the admin action (services/admin.py)
            reason, who = closed[1], "admin"
            break
        waiting = regions_unfinished(cycle_id)
        if not waiting:
            break
        form = suspend_flow_run(
            wait_for_input=TutupSiklusForm.with_initial_data(
                description=(
                    (f"**{errors}**\n\n" if errors else "")
                    + f"**Siklus PeManTIK {params.year}** berjalan.\n\n"
                    f"Belum selesai: {', '.join(waiting)}.\n\n"
                    "Siklus dilanjutkan ke langkah 14 secara otomatis bila semua wilayah selesai. "
                    "Untuk menutup lebih awal, centang *Tutup siklus sekarang*, isi alasannya, "
                    "lalu kirimkan."
                )
            ),
            key=f"tutup-{attempt}",
            timeout=None,
        )
        attempt += 1
        errors = ""
        if form.tutup and form.alasan.strip():
            reason, who = form.alasan.strip(), "admin (Prefect UI)"
            break
        if form.tutup:
            errors = NO_REASON
            logger.warning(NO_REASON)
    unfinished = t.close_cycle(cycle_id, reason, who)
    report = t.buat_laporan(cycle_id, None, unfinished)
    publish_status(cycle_id, table=True)
    logger.info("Siklus %s selesai: %s", params.year, report["outcome"])
    return report


# The Custom run form's fields are the flow's keyword parameters, at the top of the form (not
# nested under one model parameter); services/params.py owns them.
# The function keeps the flow's name, so its entrypoint (flows/cycle.py:cycle_flow) is the flow.
cycle_flow.__signature__ = form_signature()
cycle_flow = flow(
    name="siklus-pemantik",
    flow_run_name="siklus-{year}",
    persist_result=True,
    on_cancellation=[cancel_regions_too],
)(cycle_flow)
