"""The region flow's tasks (steps 1–13): thin wrappers over services."""

from __future__ import annotations

from typing import Any

from models import clock
from models.db import session_scope
from models.tables import ProcessState
from services import steps, waits
from services.audit import record_step, set_progress
from services.context import load_cycle
from tasks.sop import sop_task


@sop_task(1)
def kirim_pemberitahuan(cycle_id: int, region_code: str) -> dict[str, Any]:
    with session_scope() as session:
        set_progress(session, cycle_id, region_code, step_no=1)
    return steps.send_pemberitahuan(cycle_id, region_code, clock.today())


@sop_task(2)
def terima_pemberitahuan(cycle_id: int, region_code: str, sent: dict[str, Any]) -> dict[str, Any]:
    """The delivery receipt completes step 2; an acknowledgement (disposisi) is recorded when it
    comes, without blocking."""
    delivered = [r for r in sent["receipts"] if r["state"] == "sent"]
    return {"outcome": f"{len(delivered)} surat elektronik terkirim", "receipts": sent["receipts"]}


def _wait_due(kind: str, cycle_id: int, region_code: str, context: dict[str, Any]) -> tuple:
    from datetime import date

    today = clock.today()
    with session_scope() as session:
        ctx = load_cycle(session, cycle_id)
        if kind == "jawaban" and context.get("deadline"):
            due = date.fromisoformat(context["deadline"])
        elif kind == "konfirmasi":
            due = ctx.calendar.add_working_days(today, ctx.duration(7) + ctx.duration(8))
        elif kind == "kehadiran":
            due = ctx.session_date_for(session, region_code)
        elif kind == "nilai":
            start = max(today, ctx.session_date_for(session, region_code))
            due = ctx.calendar.add_working_days(start, ctx.duration(11) + ctx.duration(12))
        else:
            due = ctx.calendar.add_working_days(today, ctx.duration(13))
    return today, due


def _open(
    kind: str,
    cycle_id: int,
    region_code: str,
    flow_run_id: str,
    key: str,
    description: str,
    context: dict[str, Any],
) -> dict[str, Any]:
    started, due = _wait_due(kind, cycle_id, region_code, context)
    wait = waits.open_wait(
        kind=kind,
        cycle_id=cycle_id,
        region=region_code,
        flow_run_id=flow_run_id,
        key=key,
        started_on=started,
        due=due,
        description=description,
    )
    with session_scope() as session:
        set_progress(
            session,
            cycle_id,
            region_code,
            step_no=wait.step_no,
            state=ProcessState.WAITING,
            due=wait.due_date,
            waiting_for=waits.stage(kind).title,
            flow_run_id=flow_run_id,
        )
    return {"wait_id": wait.id, "due": wait.due_date.isoformat(), "key": key}


@sop_task(3, "tunggu", record=False)
def open_wait(
    cycle_id: int,
    region_code: str,
    kind: str,
    flow_run_id: str,
    key: str,
    description: str,
    context: dict[str, Any],
) -> dict[str, Any]:
    return _open(kind, cycle_id, region_code, flow_run_id, key, description, context)


def _accept_form(
    kind: str, cycle_id: int, region_code: str, form: dict[str, Any], key: str
) -> list[str]:
    """Hand a UI form to the one validation path; invalid input is answered, never a failure."""
    via = form.get("melalui") or "ui"
    try:
        waits.accept(
            kind,
            cycle_id,
            region_code,
            form,
            via=via,
            who="admin (Prefect UI)" if via == "ui" else via,
        )
        return []
    except waits.InputRefused as exc:
        with session_scope() as session:
            record_step(
                session,
                cycle_id=cycle_id,
                region_code=region_code,
                step_no=waits.stage(kind).step_no,
                event="refused",
                outcome="masukan ditolak",
                detail={"kesalahan": exc.errors, "key": key},
            )
        if kind == "jawaban":
            steps.send_refusal(cycle_id, region_code, exc.errors, key)
        return exc.errors


@sop_task(4, "terima masukan", record=False)
def accept_form(
    cycle_id: int, region_code: str, kind: str, form: dict[str, Any], key: str
) -> list[str]:
    return _accept_form(kind, cycle_id, region_code, form, key)


def for_stage(task_obj: Any, kind: str, suffix: str) -> Any:
    """The same task, named after the SOP step of the stage (e.g. "08 … — tunggu")."""
    from models.sop import step as sop_step

    return task_obj.with_options(name=f"{sop_step(waits.stage(kind).step_no).task_name} — {suffix}")


@sop_task(3, "periksa kelengkapan", record=False, cache=False)
def check_stage(cycle_id: int, region_code: str, kind: str) -> dict[str, Any]:
    status = waits.check(kind, cycle_id, region_code)
    if status.complete:
        waits.close_waits(kind, cycle_id, region_code)
    return {"complete": status.complete, "missing": status.missing}


@sop_task(5)
def terima_jawaban(cycle_id: int, region_code: str) -> dict[str, Any]:
    with session_scope() as session:
        set_progress(session, cycle_id, region_code, step_no=5)
    return steps.send_tanda_terima(cycle_id, region_code)


@sop_task(6)
def kirim_undangan(
    cycle_id: int, region_code: str, round_no: int, region_too: bool
) -> dict[str, Any]:
    with session_scope() as session:
        set_progress(session, cycle_id, region_code, step_no=6)
    result: dict[str, Any] = {"round": round_no}
    if region_too:
        result["undangan"] = steps.send_undangan(cycle_id, region_code, round_no)
    result["permohonan"] = steps.send_permohonan(cycle_id, region_code)
    numbers = [result["undangan"]["number"]] if region_too else []
    numbers += [p["number"] for p in result["permohonan"]["letters"]]
    result["outcome"] = (
        "surat terkirim: " + ", ".join(numbers) if numbers else "tidak ada surat baru"
    )
    return result


@sop_task(7)
def terima_undangan(cycle_id: int, region_code: str, sent: dict[str, Any]) -> dict[str, Any]:
    receipts = sent.get("undangan", {}).get("receipts", []) + sent["permohonan"]["receipts"]
    delivered = [r for r in receipts if r["state"] == "sent"]
    return {"outcome": f"{len(delivered)} dari {len(receipts)} surat elektronik terkirim"}


@sop_task(9)
def terima_konfirmasi(cycle_id: int, region_code: str, round_no: int) -> dict[str, Any]:
    changes = steps.settle_confirmations(cycle_id, region_code)
    parts = []
    if changes["replaced"]:
        parts.append(f"{len(changes['replaced'])} asesor diganti")
    if changes["rescheduled"]:
        parts.append(f"dijadwalkan ulang ke {changes['rescheduled']}")
    return {
        **changes,
        "round": round_no,
        "outcome": "; ".join(parts) or "semua pihak terkonfirmasi",
    }


@sop_task(12)
def hasil_akhir(cycle_id: int, region_code: str, round_no: int) -> dict[str, Any]:
    from services.results import preview_result

    return preview_result(cycle_id, region_code, round_no)


@sop_task(13)
def kirim_hasil(cycle_id: int, region_code: str) -> dict[str, Any]:
    result = steps.send_result_to_region(cycle_id, region_code)
    with session_scope() as session:
        set_progress(session, cycle_id, region_code, step_no=13, state=ProcessState.DONE)
    return {
        **result,
        "outcome": f"hasil {result['total']:.2f} ({result['predicate']}) dikunci dan dikirim",
    }
