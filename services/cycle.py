"""A cycle's life: created from its parameters, closed (step 14 then names the unfinished
regions), marked reported."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import select

from models import clock
from models.audit import record_step
from models.db import session_scope
from models.registry import ensure_reference_data
from models.tables import Cycle, CycleState, ProcessState, Region, RegionProcess
from services.params import CycleParams
from services.progress import process_row

log = logging.getLogger("pemantik.cycle")


def create_cycle(params: dict[str, Any], flow_run_id: str) -> dict[str, Any]:
    """Create the cycle row once per cycle run; check regions and instrument first."""
    from assessment.instruments import load_instrument
    from letters.readiness import CycleNotReady, start_problems
    from models.settings import get_settings

    problems = start_problems(get_settings())
    if problems:
        raise CycleNotReady(problems)
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
            params={**p.model_dump(mode="json"), "regions": regions},
            state=CycleState.RUNNING,
            flow_run_id=flow_run_id,
        )
        session.add(cycle)
        session.flush()
        for code in regions:
            process_row(session, cycle.id, code)
        return {"cycle_id": cycle.id, "regions": regions}


def regions_unfinished(cycle_id: int) -> list[str]:
    with session_scope() as session:
        rows = session.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle_id)).all()
        return [r.region_code for r in rows if r.state != ProcessState.DONE]


def close(cycle_id: int, reason: str, who: str) -> list[str]:
    """Close the cycle for step 14: unfinished regions are marked so; returns their codes."""
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


def mark_cycle(cycle_id: int, state: CycleState, reason: str = "") -> None:
    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        cycle.state = state
        if state in (CycleState.CLOSING, CycleState.REPORTED) and cycle.closed_at is None:
            cycle.closed_at = clock.now()
            cycle.close_reason = reason
        session.add(cycle)


def tell_admin_regions_not_started(cycle_id: int, failed: dict[str, str]) -> str:
    """Email the admin which regions were not started and why; returns their names."""
    import hashlib

    from services.outgoing import notify_admin

    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        names = {r.code: r.name for r in session.exec(select(Region))}
    listed = [f"{names.get(code, code)} ({code})" for code in sorted(failed)]
    digest = hashlib.sha256(",".join(sorted(failed)).encode()).hexdigest()[:12]
    notify_admin(
        key=f"c{cycle_id}/alur-belum-dimulai/{digest}",
        subject=f"{cycle.name}: {len(failed)} alur wilayah belum dapat dimulai",
        title="Sebagian alur wilayah belum dapat dimulai.",
        paragraphs=[
            "Server Prefect tidak dapat memulai alur untuk wilayah di bawah ini, walaupun sudah "
            "dicoba berulang kali. Wilayah lain berjalan seperti biasa.",
            "Setelah server Prefect pulih, jalankan ulang run siklus di Prefect UI (tombol "
            "Retry pada run siklus). Siklus dilanjutkan dari wilayah yang belum dimulai; tidak "
            "ada wilayah yang dimulai dua kali.",
        ],
        details={
            "Siklus": cycle.name,
            "Belum dimulai": ", ".join(listed),
            "Penyebab": "; ".join(sorted(set(failed.values()))),
        },
        cycle_id=cycle_id,
    )
    log.error("Alur wilayah belum dimulai: %s", ", ".join(listed))
    return ", ".join(listed)
