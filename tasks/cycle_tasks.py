"""The cycle flow's tasks: create the cycle, assign assessors, start region runs, step 14."""

from __future__ import annotations

import logging
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlmodel import select

from models.db import session_scope
from models.registry import ensure_reference_data
from models.settings import get_settings
from models.tables import Cycle, CycleState, ProcessState, Region, RegionProcess
from services.audit import process_row, record_step
from services.params import CycleParams
from tasks.sop import sop_task

REGION_DEPLOYMENT = "wilayah-pemantik/wilayah"
log = logging.getLogger("pemantik.cycle")


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
        cycle = session.get(Cycle, cycle_id)
        cycle_run = cycle.flow_run_id or f"siklus-{cycle.id}"
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
        names = tell_admin_not_started(cycle_id, outcome.failed)
        raise FanOutIncomplete(
            f"{len(outcome.failed)} alur wilayah belum dapat dimulai ({names}). Admin telah "
            "diberi tahu melalui surel. Jalankan ulang run siklus ini (Retry) setelah server "
            "Prefect pulih; wilayah yang sudah dimulai tidak dimulai dua kali."
        )
    return started


def tell_admin_not_started(cycle_id: int, failed: dict[str, str]) -> str:
    """Email the admin which regions were not started and why; returns their names."""
    import hashlib

    from mail.outbox import NOTICE_KIND, deliver_pending_sync, enqueue

    settings = get_settings()
    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        regions = {r.code: r.name for r in session.exec(select(Region))}
        listed = [f"{regions.get(code, code)} ({code})" for code in sorted(failed)]
        reasons = sorted(set(failed.values()))
        digest = hashlib.sha256(",".join(sorted(failed)).encode()).hexdigest()[:12]
        key = f"c{cycle_id}/alur-belum-dimulai/{digest}"
        enqueue(
            session,
            key=key,
            recipient=str(settings.admin_email),
            recipient_name="Admin PeManTIK",
            subject=f"{cycle.name}: {len(failed)} alur wilayah belum dapat dimulai",
            template=NOTICE_KIND,
            context={
                "judul": "Sebagian alur wilayah belum dapat dimulai.",
                "paragraf": [
                    "Server Prefect tidak dapat memulai alur untuk wilayah di bawah ini, "
                    "walaupun sudah dicoba berulang kali. Wilayah lain berjalan seperti biasa.",
                    "Setelah server Prefect pulih, jalankan ulang run siklus di Prefect UI "
                    "(tombol Retry pada run siklus). Siklus dilanjutkan dari wilayah yang belum "
                    "dimulai; tidak ada wilayah yang dimulai dua kali.",
                ],
                "rincian": {
                    "Siklus": cycle.name,
                    "Belum dimulai": ", ".join(listed),
                    "Penyebab": "; ".join(reasons),
                },
            },
            kind=NOTICE_KIND,
            cycle_id=cycle_id,
            settings=settings,
        )
    log.error("Alur wilayah belum dimulai: %s", ", ".join(listed))
    deliver_pending_sync(keys=[key])
    return ", ".join(listed)


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
