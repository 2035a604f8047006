"""Nothing lost at the fan-out or at a resume: the server answers 503 for longer than Prefect's
own retries, gives up entirely (the admin is told, a retry carries on), the serving process is
killed in the middle of the fan-out, a resume call fails (the sweep resumes the complete stage,
and tells the admin while it cannot) — then regions, runs, letters and emails are counted."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlmodel import select

from models.db import session_scope
from models.tables import Cycle, Dispatch, Letter, RegionProcess
from tests.fault_proxy import FaultProxy, Rule
from tests.flow_helpers import flow_state, levels, open_wait, wait_until

pytestmark = pytest.mark.slow

REGIONS = ["64.01", "64.02", "64.03", "64.07", "64.08"]
BULK = r"/create_flow_run/bulk$"


@pytest.fixture
def product(prefect_server, isolated_settings, monkeypatch, tmp_path):
    from mail.sink import start_sink
    from models.db import migrate
    from models.settings import reset_settings

    sink = start_sink(tmp_path / "mail", port=0)
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
    monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0.2")
    monkeypatch.setenv("PEMANTIK_DATABASE_URL", f"sqlite:///{tmp_path / 'fanout.db'}")
    monkeypatch.setenv("PEMANTIK_RUNNER__FANOUT_BATCH", "2")
    monkeypatch.setenv("PEMANTIK_RUNNER__LEASE_SECONDS", "6")
    reset_settings()
    migrate()
    proxy = FaultProxy(upstream=prefect_server.removesuffix("/api")).start()
    yield {"sink": sink, "proxy": proxy, "tmp": tmp_path}
    proxy.stop()
    sink.stop()


def _serve(tmp_path, name: str, api_url: str | None = None, **env: str):
    from deployments.serve import ServeProcess

    child_env = dict(os.environ, **env)
    if api_url:
        child_env["PREFECT_API_URL"] = api_url
    return ServeProcess(tmp_path / f"{name}.log", env=child_env).start(
        wait_for="siklus-pemantik/siklus"
    )


def _start_cycle() -> str:
    from prefect.deployments import run_deployment

    run = run_deployment(
        "siklus-pemantik/siklus",
        timeout=0,
        parameters={"year": 2026, "regions": REGIONS, "start_date": "2026-07-01"},
    )
    return str(run.id)


def _region_runs(cycle_run: str) -> list:
    """Every region run Prefect holds for this cycle (by its idempotency keys)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    from tasks.fanout import region_run_key

    prefix = region_run_key(cycle_run, "")
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["wilayah-pemantik"])), limit=200
        )
    return [r for r in runs if (r.idempotency_key or "").startswith(prefix)]


def _all_waiting() -> bool:
    return all(open_wait(code, "jawaban") for code in REGIONS)


def _assert_each_region_once(cycle_run: str, sink) -> None:
    runs = _region_runs(cycle_run)
    assert sorted(r.parameters["region_code"] for r in runs) == REGIONS  # one run per region
    with session_scope() as s:
        rows = s.exec(select(RegionProcess)).all()
        assert sorted(r.flow_run_id for r in rows) == sorted(str(r.id) for r in runs)
        letters = s.exec(select(Letter).where(Letter.kind == "pemberitahuan")).all()
        assert sorted(lt.region_code for lt in letters) == REGIONS
        sent = s.exec(select(Dispatch).where(Dispatch.kind == "pemberitahuan")).all()
        assert sorted(d.region_code for d in sent) == REGIONS
    ids = [m["Message-ID"] for m in sink.messages()]
    assert len(ids) == len(set(ids))
    notices = [m for m in sink.messages() if "Pemberitahuan" in str(m["Subject"])]
    assert len(notices) == len(REGIONS)


def test_fanout_outlasts_the_servers_503s(product):
    """503 for 20 s on every bulk creation; the Prefect client itself gives up after ~3 s
    (2 retries here): the fan-out keeps trying and every region starts, once."""
    proxy = product["proxy"]
    rule = Rule("POST", BULK, status=503, seconds=20)
    proxy.rules.append(rule)
    server = _serve(product["tmp"], "serve", proxy.api_url, PREFECT_CLIENT_MAX_RETRIES="1")
    try:
        cycle_run = _start_cycle()
        wait_until(_all_waiting, 240)
    finally:
        server.stop()
    assert rule.matched >= 4  # the server really said 503 several times, past the client's own
    assert time.monotonic() - rule.first_match > 20
    _assert_each_region_once(cycle_run, product["sink"])


def test_fanout_that_gives_up_tells_the_admin_and_a_retry_carries_on(product, monkeypatch):
    """The server refuses creations longer than the fan-out's patience: the cycle run fails
    naming the regions, the admin gets an email; after the server recovers the admin retries the
    run (as the UI's Retry does) and every region starts once."""
    from prefect.client.orchestration import get_client

    proxy = product["proxy"]
    proxy.rules.append(Rule("POST", BULK, status=503))
    server = _serve(
        product["tmp"],
        "serve",
        proxy.api_url,
        PREFECT_CLIENT_MAX_RETRIES="1",
        PEMANTIK_RUNNER__FANOUT_RETRY_SECONDS="4",
    )
    try:
        cycle_run = _start_cycle()
        wait_until(lambda: flow_state(cycle_run) == "Failed", 120)
        with get_client(sync_client=True) as client:
            message = client.read_flow_run(cycle_run).state.message or ""
        assert "belum dapat dimulai" in message and "Kabupaten Paser" in message
        notices = [
            m for m in product["sink"].messages() if "belum dapat dimulai" in str(m["Subject"])
        ]
        assert len(notices) == 1 and "admin.pemantik@" in str(notices[0]["To"])
        body = notices[0].get_body(("plain",)).get_content()
        assert all(code in body for code in REGIONS)
        assert _region_runs(cycle_run) == []

        proxy.rules.clear()  # the server recovers; the admin presses Retry
        with get_client(sync_client=True) as client:
            response = client.request(
                "POST",
                "/flow_runs/{id}/set_state",
                path_params={"id": cycle_run},
                json={
                    "state": {"type": "SCHEDULED", "name": "AwaitingRetry", "message": "Retry"},
                    "force": True,
                },
            )
            assert response.status_code in (200, 201)
        wait_until(_all_waiting, 240)
        wait_until(lambda: flow_state(cycle_run) == "Suspended", 120)
    finally:
        server.stop()
    _assert_each_region_once(cycle_run, product["sink"])
    with session_scope() as s:
        assert len(s.exec(select(Cycle)).all()) == 1


def test_serving_process_killed_in_the_middle_of_the_fanout(product):
    """Each bulk creation takes 3 s (two regions each); the serving process is killed once some
    regions have runs and others not. Started again, it re-runs the cycle from the top: the
    missing regions start, the started ones are not started twice."""
    proxy = product["proxy"]
    proxy.rules.append(Rule("POST", BULK, status=None, delay=3.0))
    server = _serve(product["tmp"], "serve-1", proxy.api_url)
    try:
        cycle_run = _start_cycle()

        def some_started() -> bool:
            with session_scope() as s:
                rows = s.exec(select(RegionProcess)).all()
                started = [r for r in rows if r.flow_run_id]
                return 0 < len(started) < len(REGIONS)

        wait_until(some_started, 180, every=0.1)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(30)
        with session_scope() as s:
            before = {r.region_code for r in s.exec(select(RegionProcess)) if r.flow_run_id}
        assert 0 < len(before) < len(REGIONS)
        server = _serve(product["tmp"], "serve-2")
        wait_until(_all_waiting, 240)
    finally:
        server.stop()
    _assert_each_region_once(cycle_run, product["sink"])


def test_a_failed_resume_is_swept_and_the_admin_told_while_it_fails(product):
    """The door's resume answers 503: the answer is stored, the run stays suspended. The serving
    process's sweep finds the complete stage; while resuming still fails it tells the admin
    once; when the server recovers the sweep resumes the run and the region moves on."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    from services import waits

    proxy = product["proxy"]
    rule = Rule("POST", r"/flow_runs/[^/]+/resume$", status=503)
    proxy.rules.append(rule)
    server = _serve(
        product["tmp"],
        "serve",
        proxy.api_url,
        PREFECT_CLIENT_MAX_RETRIES="1",
        PEMANTIK_RUNNER__SWEEP_SECONDS="2",
    )
    region = REGIONS[0]
    try:
        from prefect.deployments import run_deployment

        run_deployment(
            "siklus-pemantik/siklus",
            timeout=0,
            parameters={"year": 2026, "regions": [region], "start_date": "2026-07-01"},
        )
        wait = wait_until(lambda: open_wait(region, "jawaban"), 180)
        wait_until(lambda: flow_state(wait.flow_run_id) == "Suspended", 60)
        with temporary_settings(
            updates={PREFECT_API_URL: proxy.api_url, PREFECT_CLIENT_MAX_RETRIES: 1}
        ):
            out = waits.submit(
                "jawaban",
                year=2026,
                region=region,
                payload={"data": levels()},
                via="api",
                who="PIC",
                resume_timeout=3,
            )
        assert out.complete and not out.resumed  # stored; the resume failed
        assert flow_state(wait.flow_run_id) == "Suspended"

        def admin_told() -> list:
            return [
                m
                for m in product["sink"].messages()
                if "belum dapat dilanjutkan" in str(m["Subject"])
            ]

        wait_until(admin_told, 120)
        proxy.rules.remove(rule)  # the server recovers: the next sweep resumes the run
        wait_until(lambda: open_wait(region, "konfirmasi"), 180)
    finally:
        server.stop()
    assert len(admin_told()) == 1  # told once, not at every sweep
    with session_scope() as s:
        kinds = [lt.kind for lt in s.exec(select(Letter).where(Letter.region_code == region))]
    assert kinds.count("tanda_terima") == 1 and kinds.count("pemberitahuan") == 1
    ids = [m["Message-ID"] for m in product["sink"].messages()]
    assert len(ids) == len(set(ids))
