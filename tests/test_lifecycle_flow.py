"""A cycle's life on a real Prefect server and the served product (issue 15): closing cancels
the unfinished region runs, a cancelled cycle run cancels its cycle and regions, a second cycle
for the year is refused, and what the UI shows (names, tags, one progress artifact)."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from models.db import session_scope
from models.tables import Cycle, CycleState, Dispatch, RegionProcess, Wait, WaitState
from tests.flow_helpers import ServedProduct, flow_state, open_wait, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def product(prefect_server, isolated_settings, monkeypatch, tmp_path):
    from mail.sink import start_sink
    from models.db import migrate
    from models.settings import reset_settings

    sink = start_sink(tmp_path / "mail", port=0)
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
    monkeypatch.setenv("PEMANTIK_RUNNER__SWEEP_SECONDS", "2")
    monkeypatch.setenv("PEMANTIK_RUNNER__CANCEL_WATCH_SECONDS", "2")
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "WARNING")  # our run logs must still show
    reset_settings()
    migrate()
    with ServedProduct() as served:
        yield {"sink": sink, "served": served}
    sink.stop()


def _region_runs(cycle_id: int) -> dict[str, str]:
    with session_scope() as s:
        rows = s.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle_id)).all()
        return {r.region_code: r.flow_run_id for r in rows if r.flow_run_id}


def _cycle(year: int) -> Cycle | None:
    with session_scope() as s:
        return s.exec(select(Cycle).where(Cycle.year == year)).first()


def test_close_cancel_and_duplicate_on_a_real_server(product) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
        LogFilter,
    )
    from prefect.deployments import run_deployment
    from prefect.states import Cancelling

    from services import admin, waits

    regions = ["64.72", "64.74"]
    run = run_deployment(
        "siklus-pemantik/siklus",
        parameters={"year": 2026, "regions": regions, "start_date": "2026-07-01"},
        timeout=0,
    )
    for code in regions:
        wait_until(lambda code=code: open_wait(code, "jawaban"), 180)
    cycle_id = _cycle(2026).id
    runs = _region_runs(cycle_id)
    wait_until(lambda: all(flow_state(r) == "Suspended" for r in runs.values()), 60)
    with get_client(sync_client=True) as client:
        region_run = client.read_flow_run(runs["64.72"])
        assert region_run.name == "wilayah-64.72-samarinda-2026"
        assert "siklus-2026" in region_run.tags
        # This cycle run's own (other test files on this worker run 2026 cycles on this server).
        progress = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["kemajuan-siklus-2026"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]),
            )
        )
        assert len(progress) == 1 and "Kota Samarinda" in progress[0].description

    def our_log() -> bool:  # logs reach the API in batches (every 2 s)
        with get_client(sync_client=True) as client:
            logs = client.read_logs(LogFilter(flow_run_id={"any_": [runs["64.72"]]}))
        return any("Menunggu jawaban kuesioner" in log.message for log in logs)

    wait_until(our_log, 20)

    # A second cycle for 2026: its run fails with one sentence; nothing is sent.
    with session_scope() as s:
        sent = s.exec(select(func.count()).select_from(Dispatch)).one()
    second = run_deployment(
        "siklus-pemantik/siklus",
        parameters={"year": 2026, "regions": ["64.72"], "start_date": "2026-07-01"},
        timeout=120,
    )
    assert second.state.is_failed() and "sudah ada" in second.state.message
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(Cycle)).one() == 1
        assert s.exec(select(func.count()).select_from(Dispatch)).one() == sent

    # "Tutup siklus sekarang" without a reason is refused clearly; the cycle keeps running.
    from flows.cycle import NO_REASON

    wait_until(lambda: flow_state(str(run.id)) == "Suspended", 60)
    assert waits.resume_when_suspended(str(run.id), {"tutup": True, "alasan": " "}, timeout=30)

    def refused_in_log() -> bool:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(LogFilter(flow_run_id={"any_": [run.id]}))
        return any(NO_REASON in log.message for log in logs)

    wait_until(refused_in_log, 60)
    wait_until(lambda: flow_state(str(run.id)) == "Suspended", 60)
    assert _cycle(2026).state == CycleState.RUNNING

    # Close: the regions' runs are cancelled, their waits closed, step 14 runs; no door works.
    admin.close_cycle(2026, "batas waktu kegiatan tahun anggaran")
    wait_until(lambda: all(flow_state(r) == "Cancelled" for r in runs.values()), 60)
    wait_until(lambda: flow_state(str(run.id)) == "Completed", 240)
    with session_scope() as s:
        assert not s.exec(select(Wait).where(Wait.state == WaitState.OPEN)).all()
    with pytest.raises(waits.CycleClosed, match="sudah ditutup"):
        waits.submit("jawaban", year=2026, region="64.72", payload={}, via="api", who="PIC")

    # Cancel in the UI (Cancelling on the suspended cycle run): cycle and regions cancelled.
    run_2027 = run_deployment(
        "siklus-pemantik/siklus",
        parameters={"year": 2027, "regions": ["64.72"], "start_date": "2027-07-01"},
        timeout=0,
    )
    wait_until(lambda: _cycle(2027) and _region_runs(_cycle(2027).id), 180)
    cycle_2027 = _cycle(2027).id
    wait_until(lambda: flow_state(str(run_2027.id)) == "Suspended", 120)
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_2027.id, Cancelling(), force=True)
    wait_until(lambda: _cycle(2027).state == CycleState.CANCELLED, 60)
    (region_2027,) = _region_runs(cycle_2027).values()
    wait_until(lambda: flow_state(region_2027) == "Cancelled", 60)
    with pytest.raises(waits.CycleClosed, match="dibatalkan"):
        waits.submit("jawaban", year=2027, region="64.72", payload={}, via="api", who="PIC")
