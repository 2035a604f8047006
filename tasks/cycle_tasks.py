"""The cycle flow's tasks: create the cycle, assign assessors, start region runs, step 14."""

from __future__ import annotations

from typing import Any

from prefect import task
from sqlmodel import select

from models.db import session_scope
from models.registry import ensure_reference_data
from models.tables import Cycle, CycleState, ProcessState, Region, RegionProcess
from services.audit import process_row, record_step
from services.params import CycleParams
from tasks.sop import sop_task

REGION_DEPLOYMENT = "wilayah-pemantik/wilayah"


@task(name="00 Siapkan Siklus", persist_result=True)
def prepare_cycle(params: dict[str, Any], flow_run_id: str) -> dict[str, Any]:
    """Create the cycle row once per cycle run; check regions and instrument first."""
    from assessment.instruments import load_instrument

    p = CycleParams.model_validate(params)
    instrument = load_instrument(p.instrument)
    with session_scope() as session:
        ensure_reference_data(session)
        existing = session.exec(select(Cycle).where(Cycle.flow_run_id == flow_run_id)).first()
        if existing:
            return {"cycle_id": existing.id, "regions": existing.params["regions"]}
        known = {r.code for r in session.exec(select(Region).where(Region.active == True))}  # noqa: E712
        regions = p.regions or sorted(known)
        unknown = [c for c in regions if c not in known]
        if unknown:
            raise ValueError(f"Wilayah tidak dikenal: {', '.join(unknown)}")
        cycle = Cycle(
            year=p.year,
            name=f"PeManTIK {p.year}",
            instrument_code=instrument.code,
            instrument_version=instrument.version,
            start_date=p.start_date,
            session_date=p.session_date,
            venue=p.venue,
            params={**p.model_dump(mode="json"), "regions": regions},
            step_overrides=p.step_overrides or None,
            state=CycleState.RUNNING,
            flow_run_id=flow_run_id,
        )
        session.add(cycle)
        session.flush()
        for code in regions:
            process_row(session, cycle.id, code)
        return {"cycle_id": cycle.id, "regions": regions}


@task(name="00 Tugaskan Asesor", persist_result=True)
def assign(cycle_id: int, regions: list[str]) -> dict[str, list[int]]:
    from services.steps import assign_for_cycle

    return assign_for_cycle(cycle_id, regions)


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
    from services.steps import mark_cycle

    with session_scope() as session:
        rows = session.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle_id)).all()
        unfinished = [r.region_code for r in rows if r.state != ProcessState.DONE]
        for row in rows:
            if row.state != ProcessState.DONE:
                row.state = ProcessState.UNFINISHED
                session.add(row)
        record_step(
            session,
            cycle_id=cycle_id,
            step_no=14,
            event="closed",
            who=who,
            outcome=reason or "semua wilayah selesai",
            detail={"belum_selesai": unfinished},
        )
    mark_cycle(cycle_id, CycleState.CLOSING, reason)
    return unfinished


@sop_task(14)
def buat_laporan(cycle_id: int, region_code: None, unfinished: list[str]) -> dict[str, Any]:
    from services.report import write_report
    from services.steps import mark_cycle

    issued = write_report(cycle_id, unfinished)
    mark_cycle(cycle_id, CycleState.REPORTED)
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
