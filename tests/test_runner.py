"""The in-process runner with Prefect: Ready while serving, Cancel mid-run, two serving processes
sharing one server, and the leases that keep them off each other's runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.flow_helpers import wait_until
from tests.runner_probe import PROBE_DEPLOYMENT

ROOT = Path(__file__).resolve().parents[1]


class ProbeServer:
    """``python -m tests.runner_probe``: a serving process for the probe flow."""

    def __init__(self, tmp_path: Path, name: str, env: dict[str, str], batas: int = 4) -> None:
        self.log = tmp_path / f"{name}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.runner_probe",
                "--interval",
                "0.3",
                "--batas",
                str(batas),
            ],
            env=env,
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, 120, every=0.2)

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(self.log.read_text()[-3000:])
        return "SIAP" in self.log.read_text()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


@pytest.fixture
def probe_env(prefect_server, isolated_settings, tmp_path) -> dict[str, str]:
    from models.db import migrate
    from models.settings import reset_settings

    env = {k: v for k, v in os.environ.items() if not k.startswith("PEMANTIK_")}
    env.update(
        PEMANTIK_DATA_DIR=str(isolated_settings),
        PEMANTIK_DATABASE_URL=f"sqlite:///{tmp_path / 'runner.db'}",
        PEMANTIK_RUNNER__LEASE_SECONDS="5",
        PYTHONPATH=str(ROOT),
    )
    os.environ["PEMANTIK_DATABASE_URL"] = env["PEMANTIK_DATABASE_URL"]
    reset_settings()
    migrate()
    (tmp_path / "marks").mkdir()
    yield env
    os.environ.pop("PEMANTIK_DATABASE_URL", None)
    reset_settings()


def _start(folder: Path, seconds: float, token: str | None = None) -> tuple[str, str]:
    from prefect.deployments import run_deployment

    token = token or uuid.uuid4().hex[:8]
    run = run_deployment(
        PROBE_DEPLOYMENT,
        parameters={"token": token, "seconds": seconds, "folder": str(folder)},
        timeout=0,
    )
    return token, str(run.id)


def _state(run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state


def _executions(folder: Path, token: str) -> list[int]:
    path = folder / f"{token}.runs"
    if not path.exists():
        return []
    return [int(line.split()[0]) for line in path.read_text().splitlines()]


def _cancel_as_the_ui_does(run_id: str) -> None:
    """The UI's Cancel: POST /flow_runs/{id}/set_state, Cancelling, force."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/flow_runs/{id}/set_state",
            path_params={"id": run_id},
            json={"state": {"type": "CANCELLING", "name": "Cancelling"}, "force": True},
        )
        assert response.status_code in (200, 201), response.text


pytestmark = pytest.mark.slow


def test_ready_while_full_and_cancel_stops_a_run_mid_task(probe_env, tmp_path):
    """With its only slot taken the runner still polls (the deployment stays Ready); the UI's
    Cancel stops the running probe in the middle of its task; the slot then serves the next run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from models.db import session_scope
    from models.tables import ServingProcess

    marks = tmp_path / "marks"
    server = ProbeServer(tmp_path, "probe", probe_env, batas=1)
    try:
        long_token, long_run = _start(marks, seconds=120)
        wait_until(lambda: _state(long_run).is_running(), 60)
        wait_until(lambda: (marks / f"{long_token}.beat").exists(), 30)
        full_since = time.time()
        short_token, short_run = _start(marks, seconds=0)
        time.sleep(3)
        assert _state(short_run).is_scheduled()  # no free slot: not claimed
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(PROBE_DEPLOYMENT)
        assert deployment.status.value == "READY"
        assert deployment.last_polled.timestamp() > full_since + 1  # polled while full

        _cancel_as_the_ui_does(long_run)
        wait_until(lambda: _state(long_run).is_cancelled(), 30)
        beat = (marks / f"{long_token}.beat").read_text()
        time.sleep(1)
        assert (marks / f"{long_token}.beat").read_text() == beat  # the task really stopped
        with get_client(sync_client=True) as client:
            tasks = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[long_run]))
            )
        assert [t.state.type.value for t in tasks] == ["CANCELLED"]
        assert _executions(marks, long_token) == [server.pid]

        wait_until(lambda: _state(short_run).is_completed(), 60)  # the freed slot is used
        assert _executions(marks, short_token) == [server.pid]
    finally:
        assert server.stop() == 0
    with session_scope() as session:
        lease = session.exec(
            __import__("sqlmodel").select(ServingProcess).where(ServingProcess.pid == server.pid)
        ).one()
        assert lease.stopped_at is not None and lease.runs == []


def test_cancel_of_a_run_nobody_executes(probe_env, tmp_path):
    """A scheduled run cancelled from the UI (Cancelling, forced) is finished as Cancelled."""
    marks = tmp_path / "marks"
    server = ProbeServer(tmp_path, "probe", probe_env, batas=1)
    try:
        _, busy = _start(marks, seconds=60)
        wait_until(lambda: _state(busy).is_running(), 60)
        token, waiting = _start(marks, seconds=0)
        _cancel_as_the_ui_does(waiting)
        wait_until(lambda: _state(waiting).is_cancelled(), 30)
        assert _executions(marks, token) == []
        _cancel_as_the_ui_does(busy)
        wait_until(lambda: _state(busy).is_cancelled(), 30)
    finally:
        server.stop()


def test_two_serving_processes_share_one_server(probe_env, tmp_path):
    """Two processes: every run is executed once and both do work; a process that starts while
    the other runs long runs does not take them; a killed process's runs are taken over."""
    marks = tmp_path / "marks"
    a = ProbeServer(tmp_path, "a", probe_env)
    b = ProbeServer(tmp_path, "b", probe_env)
    started = [a, b]
    try:
        burst = [_start(marks, seconds=0.6) for _ in range(16)]
        for _, run_id in burst:
            wait_until(lambda run_id=run_id: _state(run_id).is_completed(), 120)
        executed_by = [_executions(marks, token) for token, _ in burst]
        assert all(len(pids) == 1 for pids in executed_by)  # no run executed twice
        assert {pids[0] for pids in executed_by} == {a.pid, b.pid}  # the work was shared

        # B stops; A runs three long runs; a new process starts meanwhile.
        assert b.stop() == 0
        long_runs = [_start(marks, seconds=300) for _ in range(3)]
        for _, run_id in long_runs:
            wait_until(lambda run_id=run_id: _state(run_id).is_running(), 60)
        c = ProbeServer(tmp_path, "c", probe_env)  # its start-up clean-up has run
        started.append(c)
        time.sleep(6)  # longer than a lease: A renews; C's periodic clean-up runs too
        for token, run_id in long_runs:
            assert _state(run_id).is_running()
            assert _executions(marks, token) == [a.pid]
        for token, run_id in long_runs:
            (marks / f"{token}.stop").touch()
            wait_until(lambda run_id=run_id: _state(run_id).is_completed(), 60)
            assert _executions(marks, token) == [a.pid]

        # A is killed in the middle of two runs: C takes them over and finishes them.
        c.stop()
        orphans = [_start(marks, seconds=300) for _ in range(2)]
        for token, _ in orphans:
            wait_until(lambda token=token: _executions(marks, token) == [a.pid], 60)
        c = ProbeServer(tmp_path, "c2", probe_env)
        started.append(c)
        a.kill()
        for token, _ in orphans:
            wait_until(lambda token=token: len(_executions(marks, token)) == 2, 60)
            (marks / f"{token}.stop").touch()
        for token, run_id in orphans:
            wait_until(lambda run_id=run_id: _state(run_id).is_completed(), 60)
            assert _executions(marks, token) == [a.pid, c.pid]
        c.stop()
    finally:
        for server in started:
            if server.proc.poll() is None:
                server.stop()


def test_stop_while_the_server_is_gone(probe_env, tmp_path, prefect_server):
    """SIGTERM stops a serving process whose Prefect server answers nothing but 503 (the
    client's own retries would hold each request for minutes), within the drain limit even
    with a run in the middle of its task; that run is listed as unfinished and the next
    process runs it again from the top."""
    from sqlmodel import select

    from models.db import session_scope
    from models.tables import ServingProcess
    from tests.fault_proxy import FaultProxy, Rule

    marks = tmp_path / "marks"
    proxy = FaultProxy(upstream=prefect_server.removesuffix("/api")).start()
    env = dict(
        probe_env,
        PREFECT_API_URL=proxy.api_url,
        PREFECT_CLIENT_MAX_RETRIES="8",  # 2+4+…+256 s per request with the server away
        PEMANTIK_RUNNER__DRAIN_SECONDS="3",
    )
    server = ProbeServer(tmp_path, "probe", env, batas=2)
    try:
        token, run_id = _start(marks, seconds=300)
        wait_until(lambda: (marks / f"{token}.beat").exists(), 60)
        proxy.rules += [Rule(method, ".*", status=503) for method in ("GET", "POST", "PATCH")]
        time.sleep(2)  # the loop is now inside a request the client keeps retrying
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(45) == 0
        assert "BERHENTI" in server.log.read_text()
    finally:
        if server.proc.poll() is None:
            server.kill()
        proxy.stop()
    with session_scope() as session:
        lease = session.exec(select(ServingProcess).where(ServingProcess.pid == server.pid)).one()
    assert lease.stopped_at is not None and lease.runs == [run_id]

    again = ProbeServer(tmp_path, "again", probe_env, batas=2)  # the server is back
    try:
        wait_until(lambda: len(_executions(marks, token)) == 2, 60)
        (marks / f"{token}.stop").touch()
        wait_until(lambda: _state(run_id).is_completed(), 60)
        assert _executions(marks, token) == [server.pid, again.pid]
    finally:
        again.stop()


def test_suspend_from_outside_and_one_subscription(probe_env, tmp_path, prefect_server):
    """Many executions share one events subscription for suspensions from outside (Prefect's
    engine opens one per execution), and a run suspended from outside while its task runs still
    stops as Suspended at its next boundary instead of completing; resumed, it completes."""
    from prefect.flow_runs import resume_flow_run, suspend_flow_run

    from tests.fault_proxy import FaultProxy

    marks = tmp_path / "marks"
    proxy = FaultProxy(upstream=prefect_server.removesuffix("/api")).start()
    server = ProbeServer(tmp_path, "probe", dict(probe_env, PREFECT_API_URL=proxy.api_url), batas=4)
    try:
        short = [_start(marks, seconds=0.2) for _ in range(6)]
        for _, run_id in short:
            wait_until(lambda run_id=run_id: _state(run_id).is_completed(), 60)
        assert proxy.websockets_opened["/api/events/out"] == 1

        token, run_id = _start(marks, seconds=300)
        wait_until(lambda: (marks / f"{token}.beat").exists(), 60)
        suspend_flow_run(flow_run_id=run_id, timeout=None)
        time.sleep(2)  # the observer has had the event
        (marks / f"{token}.stop").touch()  # the task ends: the run must not complete
        wait_until(lambda: _task_states(run_id) == ["COMPLETED"], 30, every=0.5)
        time.sleep(2)  # the engine's next boundary comes right after its task
        state = _state(run_id)
        assert state.is_paused() and state.name == "Suspended", state
        assert _executions(marks, token) == [server.pid]
        resume_flow_run(run_id)
        wait_until(lambda: _state(run_id).is_completed(), 60)
        assert _executions(marks, token) == [server.pid, server.pid]
        assert proxy.websockets_opened["/api/events/out"] == 1
    finally:
        server.stop()
        proxy.stop()


def _task_states(run_id: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        )
    return [t.state.type.value for t in tasks if t.state is not None]
