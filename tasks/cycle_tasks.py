"""The cycle flow's tasks: create the cycle, assign assessors, start region runs, step 14."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlmodel import select

from models.db import session_scope
from models.settings import get_settings
from models.tables import Cycle, CycleState, ProcessState, RegionProcess
from services import cycle, invitation
from services.progress import process_row
from tasks.sop import sop_task

REGION_DEPLOYMENT = "wilayah-pemantik/wilayah"


@task(name="00 Siapkan Siklus", persist_result=True)
def prepare_cycle(params: dict[str, Any], flow_run_id: str) -> dict[str, Any]:
    """Create the cycle row once per cycle run; check regions and instrument first."""
    return cycle.create_cycle(params, flow_run_id)


@task(name="00 Tugaskan Asesor", persist_result=True)
def assign(cycle_id: int, regions: list[str]) -> dict[str, list[int]]:
    return invitation.assign_for_cycle(cycle_id, regions)


class FanOutIncomplete(RuntimeError):
    """Some regions' runs could not be started; the admin has been told (see the message)."""


@task(name="00 Mulai Alur Wilayah", cache_policy=NO_CACHE, persist_result=False)
def start_region_runs(cycle_id: int, regions: list[str]) -> dict[str, str]:
    """One deployment run per region (not a subflow: a suspended region must outlive us).

    Runs on every execution of the cycle run (first run, retry, re-run after a dead serving
    process) and starts only the regions that have no run yet; idempotency keys make a
    repeated creation return the same run (see tasks/fanout.py). Regions that still cannot be
    started are named to the admin by email and the cycle run fails with their names; running
    it again carries on from there."""
    from tasks.fanout import region_run_key, start_runs

    settings = get_settings()
    with session_scope() as session:
        row = session.get(Cycle, cycle_id)
        cycle_run = row.flow_run_id or f"siklus-{row.id}"
        rows = {
            r.region_code: r
            for r in session.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle_id))
        }
        started = {c: rows[c].flow_run_id for c in regions if c in rows and rows[c].flow_run_id}
    todo = {
        code: ({"cycle_id": cycle_id, "region_code": code}, region_run_key(cycle_run, code))
        for code in regions
        if code not in started
    }
    if not todo:
        return started

    def record(created: dict[str, str]) -> None:
        with session_scope() as session:
            for code, run_id in created.items():
                row = process_row(session, cycle_id, code)
                row.flow_run_id = run_id
                row.state = ProcessState.RUNNING
                session.add(row)

    outcome = start_runs(
        REGION_DEPLOYMENT,
        todo,
        batch=settings.runner.fanout_batch,
        retry_seconds=settings.runner.fanout_retry_seconds,
        on_started=record,
    )
    started.update(outcome.started)
    if outcome.failed:
        names = cycle.tell_admin_regions_not_started(cycle_id, outcome.failed)
        raise FanOutIncomplete(
            f"{len(outcome.failed)} alur wilayah belum dapat dimulai ({names}). Admin telah "
            "diberi tahu melalui surel. Jalankan ulang run siklus ini (Retry) setelah server "
            "Prefect pulih; wilayah yang sudah dimulai tidak dimulai dua kali."
        )
    return started


@task(name="00 Tutup Siklus", persist_result=True)
def close_cycle(cycle_id: int, reason: str, who: str) -> list[str]:
    return cycle.close(cycle_id, reason, who)


@sop_task(14)
def buat_laporan(cycle_id: int, region_code: None, unfinished: list[str]) -> dict[str, Any]:
    from services.report import write_report

    issued = write_report(cycle_id, unfinished)
    cycle.mark_cycle(cycle_id, CycleState.REPORTED)
    if "laporan" in issued:
        from prefect.artifacts import create_link_artifact

        from models.tables import Document
        from services.links import document_url

        with session_scope() as session:
            doc_id = session.exec(
                select(Document.id).where(
                    Document.kind == "laporan", Document.file_path == issued["laporan"]["file"]
                )
            ).first()
            year = session.get(Cycle, cycle_id).year
        create_link_artifact(
            link=document_url(doc_id),  # served by the portal behind the admin's credentials
            link_text=f"Laporan Hasil Kegiatan PeManTIK Tahun {year} — seluruh Kab/Kota",
            key=f"laporan-siklus-{cycle_id}",
            description=f"sha256 {issued['laporan']['sha256'][:12]}…",
        )
    sk = issued.get("sk_penetapan", {}).get("number", "-")
    return {**issued, "outcome": f"{len(issued['berita_acara'])} Berita Acara, SK {sk}, Laporan"}
