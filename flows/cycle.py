"""The cycle flow: fan out one region run per Kab/Kota, follow them, then step 14."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.flow_runs import suspend_flow_run

from flows.forms import TutupSiklusForm
from flows.status import publish_status
from services.cycle import regions_unfinished
from services.params import form_signature, from_form
from tasks import cycle_tasks as t


def cycle_flow(**form: Any) -> dict[str, Any]:
    """Siklus PeManTIK: langkah 1–13 per Kab/Kota, lalu langkah 14 (BA, SK, Laporan)."""
    params = from_form(form)  # an empty start date is today, as the run starts
    logger = get_run_logger()
    run_id = str(get_run_context().flow_run.id)
    prepared = t.prepare_cycle(params.model_dump(mode="json"), run_id)
    cycle_id, regions = prepared["cycle_id"], prepared["regions"]
    t.assign(cycle_id, regions)
    t.start_region_runs(cycle_id, regions)
    publish_status(cycle_id)

    attempt, reason, who, refused = 0, "", "otomatis", ""
    while True:
        waiting = regions_unfinished(cycle_id)
        if not waiting:
            break
        form = suspend_flow_run(
            wait_for_input=TutupSiklusForm.with_initial_data(
                description=(
                    refused + f"**Siklus PeManTIK {params.year}** berjalan.\n\n"
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
        if form.tutup and form.alasan.strip():
            reason, who = form.alasan.strip(), "admin (Prefect UI)"
            break
        # Closing without a reason is refused in the form asked again (never silently).
        refused = "**Siklus tidak ditutup: isi alasan penutupan.**\n\n" if form.tutup else ""
    unfinished = t.close_cycle(cycle_id, reason, who)
    report = t.buat_laporan(cycle_id, None, unfinished)
    publish_status(cycle_id)
    logger.info("Siklus %s selesai: %s", params.year, report["outcome"])
    return report


# The Custom run form's fields are the flow's keyword parameters, at the top of the form (not
# nested under one model parameter); services/params.py owns them.
# The function keeps the flow's name, so its entrypoint (flows/cycle.py:cycle_flow) is the flow.
cycle_flow.__signature__ = form_signature()
cycle_flow = flow(name="siklus-pemantik", flow_run_name="siklus-{year}", persist_result=True)(
    cycle_flow
)
