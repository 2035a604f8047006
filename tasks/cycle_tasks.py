"""The cycle flow's tasks: create the cycle, assign assessors, start region runs, step 14."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

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

log = logging.getLogger("pemantik.cycle")


@task(name="00 Siapkan Siklus", persist_result=True, cache_policy=NO_CACHE)
def prepare_cycle(params: dict[str, Any], flow_run_id: str) -> dict[str, Any]:
    """Create the cycle row once per cycle run (idempotent); check regions and instrument
    first. A second cycle for the year and instrument comes back as ``{"refused": why}``."""
    try:
        return cycle.create_cycle(params, flow_run_id)
    except cycle.CycleRefused as exc:
        return {"refused": str(exc)}


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
        labels = {
            code: (cycle.region_run_name(session, cycle_id, code), cycle.region_run_tags(row, code))
            for code in todo
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
        labels=labels,
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


def run_url(flow_run_id: str) -> str:
    """The Prefect UI's page of a flow run."""
    from prefect.settings import PREFECT_UI_URL

    base = (PREFECT_UI_URL.value() or "").rstrip("/")
    return f"{base}/runs/flow-run/{flow_run_id}"


@task(name="00 Tautkan Siklus dan Alur Wilayah", persist_result=True)
def link_regions(cycle_id: int, started: dict[str, str]) -> None:
    """Make the family visible: a markdown artifact on the cycle run linking each region run,
    a link artifact on each region run back to the cycle run, and the cycle's tag on the
    cycle run (region runs carry it from their creation). Best effort."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate

    from models.tables import Region

    try:
        with session_scope() as session:
            row = session.get(Cycle, cycle_id)
            year, cycle_run = row.year, row.flow_run_id
            names = {r.code: r.name for r in session.exec(select(Region))}
            run_names = {c: cycle.region_run_name(session, cycle_id, c) for c in started}
        if not cycle_run:
            return
        lines = [
            f"- [{names.get(code, code)} ({code})]({run_url(run)}) — `{run_names[code]}`"
            for code, run in sorted(started.items())
        ]
        with get_client(sync_client=True) as client:
            current = client.read_flow_run(cycle_run)
            tags = sorted({*current.tags, f"siklus-{year}"})
            if tags != sorted(current.tags):
                client.update_flow_run(cycle_run, tags=tags)
            client.create_artifact(
                ArtifactCreate(
                    key=f"alur-wilayah-siklus-{year}",
                    type="markdown",
                    data=f"**Alur wilayah siklus PeManTIK {year}**\n\n" + "\n".join(lines),
                    description=f"Run Prefect tiap Kab/Kota dalam siklus {year}",
                    flow_run_id=UUID(cycle_run),
                )
            )
            for code, run in started.items():
                client.create_artifact(
                    ArtifactCreate(
                        key=f"siklus-{year}-induk-{code.replace('.', '-')}",
                        type="markdown",  # what Prefect's own link artifacts are
                        data=f"[Run siklus PeManTIK {year}]({run_url(cycle_run)})",
                        description=f"Run siklus yang memulai alur {names.get(code, code)}",
                        flow_run_id=UUID(run),
                    )
                )
    except Exception:
        log.warning("Tautan siklus %s dan alur wilayah tidak dibuat", cycle_id, exc_info=True)


@task(name="00 Tutup Siklus", persist_result=True)
def close_cycle(cycle_id: int, reason: str, who: str) -> list[str]:
    return cycle.close(cycle_id, reason, who)


@sop_task(14)
def buat_laporan(cycle_id: int, region_code: None, unfinished: list[str]) -> dict[str, Any]:
    from services.report import write_report

    issued = write_report(cycle_id, unfinished)
    cycle.mark_cycle(cycle_id, CycleState.REPORTED)
    with session_scope() as session:
        year = session.get(Cycle, cycle_id).year
    if "laporan" in issued:
        from pathlib import Path

        from prefect.artifacts import create_link_artifact

        create_link_artifact(
            link=Path(issued["laporan"]["file"]).resolve().as_uri(),
            link_text="Laporan Hasil Kegiatan PeManTIK",
            key=f"laporan-siklus-{year}",
            description=f"sha256 {issued['laporan']['sha256'][:12]}…",
        )
    sk = issued.get("sk_penetapan", {}).get("number", "-")
    return {**issued, "outcome": f"{len(issued['berita_acara'])} Berita Acara, SK {sk}, Laporan"}
