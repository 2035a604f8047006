"""The outbox sweep delivers what a step could not send (SMTP was down), exactly once."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from models.db import session_scope
from models.tables import Dispatch

pytestmark = pytest.mark.slow


def test_sweep_sends_what_was_left_queued(prefect_server, session, monkeypatch, tmp_path):
    from deployments.prefect_server import free_port
    from flows.outbox_flow import outbox_flow
    from mail.outbox import deliver_pending_sync, enqueue
    from mail.sink import start_sink
    from models.settings import reset_settings

    port = free_port()  # nothing listens here yet: SMTP is "down"
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(port))
    monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("PEMANTIK_SMTP__TIMEOUT_SECONDS", "2")
    reset_settings()
    enqueue(
        session,
        key="uji/sapu/1",
        recipient="pic.samarinda@contoh.example",
        subject="Uji antrean",
        template="umum",
        context={"paragraf": ["Uji."]},
    )
    session.commit()
    first = deliver_pending_sync(keys=["uji/sapu/1"])
    assert not first.sent  # the server is down: the message stays queued for a retry
    with session_scope() as s:
        assert s.exec(select(Dispatch)).one().state == "queued"
    sink = start_sink(tmp_path / "mail", port=port)
    try:
        time.sleep(0.3)  # past the backoff
        result = outbox_flow()
        assert result["terkirim"] == 1
        again = outbox_flow()
        assert again["terkirim"] == 0  # nothing is sent twice
        assert len(sink.messages()) == 1
    finally:
        sink.stop()
    with session_scope() as s:
        row = s.exec(select(Dispatch)).one()
        assert row.state == "sent" and row.attempts == 2 and row.smtp_code == 250


def _outbox_runs() -> int:
    """``kirim-surel`` runs that ran. The scheduler adds (and on re-registration deletes) the cron's
    upcoming Scheduled runs; those are not runs made for a retry, so they are not counted."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    ran = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(not_any_=[StateType.SCHEDULED]))
    )
    with get_client(sync_client=True) as client:
        return len(
            client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=["kirim-surel"])),
                flow_run_filter=ran,
            )
        )


def test_serving_process_retries_the_outbox_without_flow_runs(
    prefect_server, session, monkeypatch, tmp_path
):
    """Under ``pemantik serve`` the retries run inside the process: the message goes out once
    SMTP is back, and no ``kirim-surel`` flow run is made for it (only a few a day, by cron)."""
    from deployments.prefect_server import free_port
    from deployments.serve import BackgroundServe
    from mail.outbox import deliver_pending_sync, enqueue
    from mail.sink import start_sink
    from models.settings import reset_settings

    port = free_port()
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(port))
    monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("PEMANTIK_SMTP__TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("PEMANTIK_OUTBOX_INTERVAL_SECONDS", "5")
    reset_settings()
    enqueue(
        session,
        key="uji/sapu/serve",
        recipient="pic.samarinda@contoh.example",
        subject="Uji antrean di proses layanan",
        template="umum",
        context={"paragraf": ["Uji."]},
    )
    session.commit()
    assert not deliver_pending_sync(keys=["uji/sapu/serve"]).sent  # SMTP is down
    before = _outbox_runs()
    sink = start_sink(tmp_path / "mail", port=port)
    try:
        with BackgroundServe(poll_seconds=0.5):
            from prefect.client.orchestration import get_client

            with get_client(sync_client=True) as client:
                deployment = client.read_deployment_by_name("kirim-surel/antrean")
            assert [s.schedule.cron for s in deployment.schedules] == ["0 7,12,16 * * 1-5"]
            deadline = time.monotonic() + 60
            while not sink.messages() and time.monotonic() < deadline:
                time.sleep(0.5)
        assert len(sink.messages()) == 1
    finally:
        sink.stop()
    assert _outbox_runs() == before
    with session_scope() as s:
        assert s.exec(select(Dispatch)).one().state == "sent"
