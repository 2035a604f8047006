"""An in-process runner for the product's deployments.

Prefect's own Runner (``flow.serve``) and process workers start a fresh interpreter for every
flow run, and every resume of a suspended run is a new run start: ≈3.5 CPU-s each (see
PREFECT-NOTES.md). A region flow waits on people five times or more, so this runner keeps one
long-lived process instead: it polls the server for scheduled runs of our deployments, claims
each by proposing Pending (the server refuses a second claim), and runs the flow with
``prefect.flow_engine.run_flow`` on a worker thread.

What Prefect's runner would otherwise do for us, and this module does itself:
- crash clean-up at start: runs of our deployments left Running/Pending by a dead process are
  set back to Scheduled; every task persists its result and letters/emails carry idempotency
  keys, so re-running them from the top repeats nothing;
- cancellation: runs the UI marks Cancelling are set Cancelled (a thread cannot be killed; the
  flow stops at its next task boundary because its state is no longer Running);
- a concurrency limit, and draining on shutdown (no new claims, running flows finish).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import Abort, Pause
from prefect.flow_engine import run_flow
from prefect.states import Cancelled, Pending, Scheduled
from prefect.utilities.engine import propose_state

log = logging.getLogger("pemantik.runner")


@dataclass
class InProcessRunner:
    deployments: list[RunnerDeployment]
    flows: dict[str, Flow]  # deployment name → flow object
    poll_seconds: float = 1.0
    limit: int = 32
    deployment_ids: dict[UUID, Flow] = field(default_factory=dict)
    _running: dict[UUID, asyncio.Future] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    async def register(self) -> dict[str, UUID]:
        """Create or update every deployment on the server; returns name → id."""
        ids: dict[str, UUID] = {}
        for deployment in self.deployments:
            deployment_id = await deployment.apply()
            ids[deployment.name] = deployment_id
            self.deployment_ids[deployment_id] = self.flows[deployment.name]
        return ids

    async def _reschedule_orphans(self) -> None:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    id=DeploymentFilterId(any_=list(self.deployment_ids))
                ),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])
                    )
                ),
            )
            for run in runs:
                log.warning("Menjadwalkan ulang run yatim %s (%s)", run.name, run.id)
                await client.set_flow_run_state(run.id, Scheduled(), force=True)

    async def _cancel_requested(self, client: Any) -> None:
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=list(self.deployment_ids))
            ),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLING]))
            ),
        )
        for run in runs:
            await client.set_flow_run_state(
                run.id, Cancelled(message="Dibatalkan oleh admin"), force=True
            )

    def _execute(self, flow: Flow, flow_run: Any) -> Any:
        try:
            return run_flow(flow, flow_run=flow_run, return_type="state")
        except Pause:  # the run suspended itself: its state is already Suspended
            return None
        except Exception:  # the engine has recorded the failure on the run
            log.exception("Run %s berakhir dengan galat", flow_run.id)
            return None

    async def run(
        self, stop: threading.Event | None = None, ready: threading.Event | None = None
    ) -> None:
        """Poll and execute until ``stop`` is set; then drain running flows."""
        stop = stop or self._stop
        if not self.deployment_ids:
            await self.register()
        await self._reschedule_orphans()
        if ready is not None:
            ready.set()
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix="pemantik-run")
        try:
            async with get_client() as client:
                while not stop.is_set():
                    await self._poll_once(client, loop, executor)
                    await self._cancel_requested(client)
                    await asyncio.sleep(self.poll_seconds)
            if self._running:
                await asyncio.gather(*self._running.values(), return_exceptions=True)
        finally:
            executor.shutdown(wait=True)

    async def _poll_once(
        self, client: Any, loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor
    ) -> None:
        free = self.limit - len(self._running)
        if free <= 0:
            return
        runs = await client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=list(self.deployment_ids),
            # Prefect schedules on real time, not on our (possibly simulated) clock.
            scheduled_before=datetime.now(UTC) + timedelta(seconds=1),
            limit=free,
        )
        for flow_run in runs:
            if flow_run.id in self._running:
                continue
            try:
                state = await propose_state(client, Pending(), flow_run_id=flow_run.id)
            except Abort:
                continue
            if not state.is_pending():
                continue
            flow = self.deployment_ids[flow_run.deployment_id]
            future = loop.run_in_executor(executor, self._execute, flow, flow_run)
            self._running[flow_run.id] = future
            future.add_done_callback(lambda _f, run_id=flow_run.id: self._running.pop(run_id, None))

    def stop(self) -> None:
        self._stop.set()


def serve_in_process(
    pairs: Iterable[tuple[Flow, RunnerDeployment]],
    poll_seconds: float = 1.0,
    limit: int = 32,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
) -> None:
    """Register the deployments and run them in this process until ``stop`` is set."""
    pairs = list(pairs)
    runner = InProcessRunner(
        deployments=[d for _, d in pairs],
        flows={d.name: f for f, d in pairs},
        poll_seconds=poll_seconds,
        limit=limit,
    )
    asyncio.run(runner.run(stop=stop, ready=ready))
