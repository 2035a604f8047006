"""The cycle flow's tasks: create the cycle, assign assessors, start region runs, step 14."""

from __future__ import annotations

from typing import Any

from prefect import task

from models.db import session_scope
from models.tables import CycleState, ProcessState
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


@task(name="00 Mulai Alur Wilayah", persist_result=True)
def start_region_runs(cycle_id: int, regions: list[str]) -> dict[str, str]:
    """One deployment run per region (not a subflow: a suspended region must outlive us)."""
    from prefect.deployments import run_deployment

    started: dict[str, str] = {}
    for code in regions:
        with session_scope() as session:
            row = process_row(session, cycle_id, code)
            existing = row.flow_run_id
        if existing:
            started[code] = existing
            continue
        run = run_deployment(
            REGION_DEPLOYMENT,
            parameters={"cycle_id": cycle_id, "region_code": code},
            timeout=0,
            as_subflow=False,
        )
        with session_scope() as session:
            row = process_row(session, cycle_id, code)
            row.flow_run_id = str(run.id)
            row.state = ProcessState.RUNNING
            session.add(row)
        started[code] = str(run.id)
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
        from pathlib import Path

        from prefect.artifacts import create_link_artifact

        create_link_artifact(
            link=Path(issued["laporan"]["file"]).resolve().as_uri(),
            link_text="Laporan Hasil Kegiatan PeManTIK",
            key=f"laporan-siklus-{cycle_id}",
            description=f"sha256 {issued['laporan']['sha256'][:12]}…",
        )
    sk = issued.get("sk_penetapan", {}).get("number", "-")
    return {**issued, "outcome": f"{len(issued['berita_acara'])} Berita Acara, SK {sk}, Laporan"}
