"""Every deployment of the product, served from one process (see deployments/runner.py)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from models.settings import get_settings


def prefect_environment(data_dir: Path | None = None) -> dict[str, str]:
    """Prefect settings the product needs: persisted task results in shared storage."""
    data_dir = (data_dir or get_settings().data_dir).resolve()
    return {
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOCAL_STORAGE_PATH": str(data_dir / "prefect-results"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
    }


def deployment_pairs() -> list:
    """Every (flow, deployment) ``pemantik serve`` registers; ``deployments/prefect.yaml``
    lists the same ones for process workers (a test compares them)."""
    from flows.cycle import cycle_flow
    from flows.region import region_flow

    pairs = [
        (cycle_flow, cycle_deployment()),
        (region_flow, region_flow.to_deployment(name="wilayah", tags=["pemantik"])),
    ]
    from flows.admin import admin_pairs
    from flows.inbox_admin import release_deployment, release_flow
    from flows.inbox_flow import inbox_deployment, inbox_flow
    from flows.outbox_flow import outbox_deployment, outbox_flow
    from flows.reminder_flow import (
        extension_deployment,
        extension_flow,
        reminder_deployment,
        reminder_flow,
    )

    pairs.append((reminder_flow, reminder_deployment()))
    pairs.append((extension_flow, extension_deployment()))
    pairs.append((outbox_flow, outbox_deployment()))
    pairs.extend(admin_pairs())
    pairs.append((inbox_flow, inbox_deployment()))
    pairs.append((release_flow, release_deployment()))
    for _, deployment in pairs:  # every deployment of the product carries the product's tag
        deployment.tags = sorted({*deployment.tags, "pemantik"})
    return pairs


def cycle_deployment() -> Any:
    """The cycle's deployment, whose Custom run form is ``services.params.form_schema``: fields
    at the top, pick lists from the data (read when serving starts), named step durations."""
    from prefect.utilities.callables import ParameterSchema

    from flows.cycle import cycle_flow
    from services.params import form_schema

    deployment = cycle_flow.to_deployment(name="siklus", tags=["pemantik"])
    # RunnerDeployment has no public setter: Prefect itself fills this attribute from the
    # signature in from_flow, and sends it as the deployment's parameter_openapi_schema.
    deployment._parameter_openapi_schema = ParameterSchema(**form_schema())
    # The pick lists show labels ("64.72 Kota Samarinda"); the CLI, the demo and Python pass
    # codes. Both are valid (services.params.CycleParams reads either), so the server does not
    # hold runs to the labels; the flow validates its parameters itself.
    deployment.enforce_parameter_schema = False
    return deployment


def housekeeping_jobs() -> list:
    """The serving process's periodic jobs: work that needs no flow run of its own."""
    from deployments.runner import Job
    from flows.outbox_flow import retry_outbox
    from services.cycle import follow_cancelled_cycle_runs
    from services.waits import StageSweeper

    settings = get_settings()
    return [
        # Named for the log line "Tugas berkala <name> gagal".
        Job("pengiriman ulang surel tertunda", settings.outbox_interval_seconds, retry_outbox),
        Job(
            "pelanjutan penantian yang sudah lengkap",
            settings.runner.sweep_seconds,
            StageSweeper().sweep,
        ),
        Job(
            "pemantauan siklus yang dibatalkan",
            settings.runner.cancel_watch_seconds,
            follow_cancelled_cycle_runs,
        ),
    ]


def serve_all(
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
    poll_seconds: float = 1.0,
    limit: int = 32,
) -> None:
    from deployments.runner import serve_in_process
    from letters import kept_office

    if get_settings().keep_office_running:
        # The PDFs of the served flows, once it listens; its profile under the data folder.
        kept_office.keep_running(get_settings().data_dir / "libreoffice")
    try:
        serve_in_process(
            deployment_pairs(),
            poll_seconds=poll_seconds,
            limit=limit,
            stop=stop,
            ready=ready,
            lease_seconds=get_settings().runner.lease_seconds,
            drain_seconds=get_settings().runner.drain_seconds,
            jobs=housekeeping_jobs(),
        )
    finally:
        kept_office.stop_kept()


class BackgroundServe:
    """``serve_all`` on a background thread of this process (the demo and the tests)."""

    def __init__(self, poll_seconds: float = 0.5) -> None:
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.poll_seconds = poll_seconds
        self.thread: threading.Thread | None = None

    def __enter__(self) -> BackgroundServe:
        self.thread = threading.Thread(
            target=serve_all,
            kwargs={
                "stop": self.stop_event,
                "ready": self.ready,
                "poll_seconds": self.poll_seconds,
            },
            daemon=True,
        )
        self.thread.start()
        if not self.ready.wait(90):
            raise RuntimeError("Runner tidak siap dalam 90 detik")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        if self.thread:
            self.thread.join(90)


class ServeProcess:
    """``pemantik serve`` as a child process (the demo: people and product apart, as in life)."""

    def __init__(
        self,
        log_path: Path,
        poll_seconds: float = 0.5,
        runner: str = "dalam-proses",
        env: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.log_path = log_path
        self.extra_args = extra_args or []
        self.poll_seconds = poll_seconds
        self.runner = runner
        self.env = env  # None: this process's environment
        self.proc = None

    def start(
        self, wait_for: str = "wilayah-pemantik/wilayah", timeout: float = 120.0
    ) -> ServeProcess:
        import subprocess
        import sys
        import time

        from prefect.client.orchestration import get_client

        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deployments.cli",
                "serve",
                "--interval",
                str(self.poll_seconds),
                "--pelaksana",
                self.runner,
                *self.extra_args,
            ],
            stdout=self.log_path.open("a"),
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        deadline = time.monotonic() + timeout
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"pemantik serve berhenti; lihat {self.log_path}")
                try:
                    client.read_deployment_by_name(wait_for)
                    return self
                except Exception:
                    time.sleep(0.5)
        raise RuntimeError("pemantik serve tidak siap dalam batas waktu")

    def stop(self) -> None:
        import signal

        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except Exception:
                self.proc.kill()

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
