"""A cycle's life, enforced here for every door: one cycle per year and instrument; created
running; closed (step 14 then names the unfinished regions; their runs are cancelled and their
waits closed); marked reported; or cancelled (its run was cancelled in the UI). A cycle that is
not running accepts no input (:func:`ensure_accepting`, called by ``services/waits.py``)."""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlmodel import Session, select

from models import clock
from models.audit import record_step
from models.db import session_scope
from models.lookups import open_waits
from models.registry import ensure_reference_data
from models.tables import Cycle, CycleState, ProcessState, Region, RegionProcess, WaitState
from services.params import CycleParams
from services.progress import process_row
from services.stage import NotWaiting

log = logging.getLogger("pemantik.cycle")

# What a person reads about a cycle's state.
STATE_WORDS = {
    CycleState.DRAFT: "belum dimulai",
    CycleState.RUNNING: "sedang berjalan",
    CycleState.CLOSING: "sudah ditutup",
    CycleState.REPORTED: "sudah ditutup dan dilaporkan",
    CycleState.CANCELLED: "dibatalkan",
}
ENDED = (CycleState.CLOSING, CycleState.REPORTED, CycleState.CANCELLED)


class CycleRefused(ValueError):
    """A cycle that may not be created (the message is one Indonesian sentence)."""


class CycleClosed(NotWaiting):
    """Input for a cycle that has been closed or cancelled: nothing is stored or sent."""


def state_words(state: str) -> str:
    return STATE_WORDS.get(state, state)


def ensure_accepting(cycle: Cycle) -> None:
    """Raise :class:`CycleClosed` unless the cycle still takes input (every door calls this)."""
    if cycle.state in ENDED:
        raise CycleClosed(
            f"{cycle.name or f'Siklus {cycle.year}'} {state_words(cycle.state)}; masukan tidak "
            "dapat diterima lagi dan tidak ada yang disimpan atau dikirim."
        )


def accepts_input(cycle_id: int) -> bool:
    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        return cycle is not None and cycle.state not in ENDED


def ended(cycle_id: int) -> tuple[str, str] | None:
    """(state, reason) of a closed or cancelled cycle; None while it runs."""
    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        if cycle is None or cycle.state not in ENDED:
            return None
        return cycle.state, cycle.close_reason or state_words(cycle.state)


def cycle_of_run(flow_run_id: str) -> int | None:
    with session_scope() as session:
        cycle = session.exec(select(Cycle).where(Cycle.flow_run_id == flow_run_id)).first()
        return cycle.id if cycle else None


def ensure_no_other_cycle(session: Session, year: int, instrument_code: str, name: str) -> None:
    """One cycle per year and instrument; a cancelled cycle does not count."""
    other = session.exec(
        select(Cycle).where(
            Cycle.year == year,
            Cycle.instrument_code == instrument_code,
            Cycle.state != CycleState.CANCELLED,
        )
    ).first()
    if other is not None:
        raise CycleRefused(
            f"Siklus PeManTIK {year} dengan instrumen {name} sudah ada dan "
            f"{state_words(other.state)}, sehingga siklus kedua untuk tahun dan instrumen yang "
            "sama tidak dibuat dan tidak ada surat yang dikirim."
        )


def region_run_name(session: Session, cycle_id: int, region_code: str) -> str:
    """``wilayah-<code>-<short name>-<year>``, e.g. ``wilayah-64.72-samarinda-2026``."""
    cycle = session.get(Cycle, cycle_id)
    region = session.get(Region, region_code)
    name = region.name if region else region_code
    short = re.sub(r"^(kabupaten|kab\.|kota)\s+", "", name.strip(), flags=re.I)
    slug = re.sub(r"[^a-z0-9]+", "-", short.lower()).strip("-")
    return f"wilayah-{region_code}-{slug}-{cycle.year if cycle else ''}".rstrip("-")


def region_run_tags(cycle: Cycle, region_code: str) -> list[str]:
    """Tags that tie a region run to its cycle in the UI's filters (the cycle run has them)."""
    return [f"siklus-{cycle.year}", f"wilayah-{region_code}"]


def create_cycle(params: dict[str, Any], flow_run_id: str) -> dict[str, Any]:
    """Create the cycle row once per cycle run; check regions and instrument first.

    Raises :class:`CycleRefused` when the year and instrument already have a cycle."""
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
        ensure_no_other_cycle(session, p.year, instrument.code, instrument.name)
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


def _end(
    session: Session, cycle: Cycle, state: str, reason: str, who: str, event: str, listed: str
) -> tuple[list[str], list[str]]:
    """Mark the cycle ended (every door refuses from here on), its unfinished regions
    unfinished and their open waits cancelled, and record it (step 14, ``event``, the regions
    under ``listed``). Returns the unfinished regions' codes and their runs' ids."""
    cycle.state = state
    if cycle.closed_at is None:
        cycle.closed_at = clock.now()
        cycle.close_reason = reason
    session.add(cycle)
    rows = session.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle.id)).all()
    unfinished = [r for r in rows if r.state != ProcessState.DONE]
    for row in unfinished:
        row.state = ProcessState.UNFINISHED
        row.waiting_for = ""
        session.add(row)
    for wait in open_waits(session, cycle.id):
        wait.state = WaitState.CANCELLED
        wait.closed_at = clock.now()
        session.add(wait)
    codes = sorted(r.region_code for r in unfinished)
    record_step(
        session,
        cycle_id=cycle.id,
        step_no=14,
        event=event,
        who=who,
        outcome=reason,
        detail={listed: codes},
    )
    return codes, [r.flow_run_id for r in unfinished if r.flow_run_id]


def close(cycle_id: int, reason: str, who: str) -> list[str]:
    """Close the cycle for step 14: unfinished regions are marked so, their waits closed and
    their runs cancelled; returns their codes. Closing twice is closing once."""
    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        if cycle.state in ENDED:
            rows = session.exec(
                select(RegionProcess).where(RegionProcess.cycle_id == cycle_id)
            ).all()
            return sorted(r.region_code for r in rows if r.state == ProcessState.UNFINISHED)
        reason = reason or "semua wilayah selesai"
        unfinished, runs = _end(
            session, cycle, CycleState.CLOSING, reason, who, "closed", "belum_selesai"
        )
    cancel_runs(runs, "Siklus ditutup oleh admin")
    return unfinished


def current_cycle_year(session: Session | None = None) -> int:
    """The year a person means when they name none: the running cycle's (the latest started,
    if several), else this year."""
    if session is None:
        with session_scope() as own:
            return current_cycle_year(own)
    year = session.exec(
        select(Cycle.year)
        .where(Cycle.state.in_([CycleState.RUNNING, CycleState.CLOSING]))
        .order_by(Cycle.id.desc())
    ).first()
    return int(year) if year else clock.today().year


def cancel_cycle(cycle_id: int, who: str, reason: str = "run siklus dibatalkan") -> list[str]:
    """The cycle's run was cancelled: the cycle is cancelled, its unfinished regions' runs too
    and their waits closed. Returns the regions cancelled; a second call does nothing."""
    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        if cycle is None or cycle.state in (CycleState.CANCELLED, CycleState.REPORTED):
            return []
        codes, runs = _end(
            session, cycle, CycleState.CANCELLED, reason, who, "cancelled", "dibatalkan"
        )
    cancel_runs(runs, "Siklus dibatalkan")
    log.warning("Siklus %s dibatalkan; alur wilayah dihentikan: %s", cycle_id, ", ".join(codes))
    return codes


def cancel_runs(flow_run_ids: list[str], message: str) -> dict[str, str]:
    """Stop these Prefect runs: a waiting (suspended) or not yet started run is Cancelled at
    once (no process holds it); a running one is set Cancelling, and the serving process that
    runs it stops it. Best effort per run; returns run id → the state it was given."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled, Cancelling

    done: dict[str, str] = {}
    if not flow_run_ids:
        return done
    with get_client(sync_client=True) as client:
        for run_id in flow_run_ids:
            try:
                state = client.read_flow_run(run_id).state
                if state is None or state.is_final() or state.is_cancelling():
                    continue
                running = state.is_running() or state.is_pending()
                new = Cancelling(message=message) if running else Cancelled(message=message)
                client.set_flow_run_state(run_id, new, force=True)
                done[run_id] = new.name
            except Exception:  # one run that cannot be reached must not stop the others
                log.warning("Run wilayah %s tidak dapat dihentikan", run_id, exc_info=True)
    return done


def follow_cancelled_cycle_runs() -> list[int]:
    """Cancel every running cycle whose Prefect run was cancelled (the UI's Cancel on a
    suspended cycle run runs no code of ours: the serving process's sweep calls this)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with session_scope() as session:
        live = {
            c.flow_run_id: c.id
            for c in session.exec(
                select(Cycle).where(Cycle.state.in_([CycleState.RUNNING, CycleState.CLOSING]))
            )
            if c.flow_run_id
        }
    if not live:
        return []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=list(live)),
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.CANCELLED, StateType.CANCELLING])
                ),
            )
        )
    cancelled = []
    for run in runs:
        cycle_id = live[str(run.id)]
        cancel_cycle(cycle_id, who="admin (Prefect UI)")
        cancelled.append(cycle_id)
    return cancelled


def mark_cycle(cycle_id: int, state: CycleState, reason: str = "") -> None:
    with session_scope() as session:
        cycle = session.get(Cycle, cycle_id)
        if cycle.state == CycleState.CANCELLED:
            return  # a cancelled cycle stays cancelled
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
