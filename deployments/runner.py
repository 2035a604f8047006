"""An in-process runner for the product's deployments (what ``pemantik serve`` runs).

Prefect's own Runner (``flow.serve``) and process workers start a fresh interpreter for every
flow run, and every resume of a suspended run is a new run start: ≈3.5 CPU-s each (see
PREFECT-NOTES.md). A region flow waits on people five times or more, so this runner keeps one
long-lived process instead and runs each flow with ``prefect.flow_engine.run_flow`` on a thread
of its own. It works with Prefect the way a worker does:

- **Polling.** Scheduled runs are fetched through ``POST /deployments/get_scheduled_flow_runs``
  — the endpoint Prefect's Runner uses — on every poll, also when the runner is at its limit,
  so the server's foreman keeps every deployment *Ready* while the process is up.
- **Claiming.** A run is claimed by proposing Pending; the server refuses a second claim, so two
  serving processes never execute one run twice. Candidates are shuffled, so two processes
  polling at once split a burst instead of racing for the same runs.
- **Ownership.** Each process holds a lease in our database (``deployments/lease.py``) that
  lists its runs before it claims them. Clean-up — at start and then periodically — sets a
  Running/Pending run back to Scheduled (and finishes a Cancelling one) only when no live lease
  owns it, so neither process takes a run the other is still running. Re-running a flow from
  the top is safe: tasks persist their results and letters/emails carry idempotency keys.
- **Cancellation.** A run the UI marks Cancelling is stopped even mid-run. A thread cannot be
  killed, so the runner raises :class:`RunCancelled` inside the run's thread — the mechanism
  Prefect itself uses for timeouts of sync code in worker threads
  (``PyThreadState_SetAsyncExc``). It subclasses Prefect's ``Abort``, which both engines let
  pass without recording a state of their own; the runner then records Cancelled for the run
  and for the task it interrupted. (A blocking system call — a socket read, a sleep — finishes
  first; every network call of the product has a timeout.)
- **Housekeeping.** Periodic jobs that need no flow run of their own (the outbox's retries)
  run on one background thread of this process.
- A concurrency limit, and draining on stop (no new claims; running flows reach their next
  wait or their end; the lease is released).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
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
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import Abort, Pause
from prefect.flow_engine import run_flow
from prefect.states import Cancelled, Pending, Scheduled
from prefect.utilities.engine import propose_state

from deployments.lease import Lease, owners, reclaim_lock
from deployments.suspension import share_suspension_observer

log = logging.getLogger("pemantik.runner")

ACTIVE = [StateType.RUNNING, StateType.PENDING, StateType.CANCELLING]
CANCEL_MESSAGE = "Dibatalkan oleh admin"


async def off_loop(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` on a daemon thread of its own, awaited without blocking the loop.

    Not ``asyncio.to_thread``: its pool's threads are joined when the process exits, and one
    held by the Prefect client's retries against a server that is gone (minutes) would keep a
    stopped ``pemantik serve`` alive. Cancelling the await leaves the thread to finish alone."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the await was cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def target() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (fn(*args), None)
        except BaseException as exc:  # handed to the awaiting coroutine
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop has closed: nobody waits any more
            pass

    threading.Thread(target=target, name="pemantik-panggilan", daemon=True).start()
    return await future


class RunCancelled(Abort):
    """Raised inside a run's thread when the run is cancelled (see the module docstring)."""


def raise_in_thread(ident: int, exc_type: type[BaseException]) -> bool:
    """Make ``exc_type`` raise in the thread ``ident`` at its next Python instruction."""
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exc_type)
    )
    return done == 1


def _clear_pending_exception(ident: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)


@dataclass
class Execution:
    """One flow run executing on its own thread."""

    flow_run: Any
    done: asyncio.Future
    lock: threading.Lock = field(default_factory=threading.Lock)
    ident: int | None = None
    finished: bool = False
    cancel_requested: float | None = None  # monotonic time of the first interrupt
    last_interrupt: float = 0.0

    def interrupt(self) -> bool:
        """Raise RunCancelled in the run's thread (again, if it is still running)."""
        with self.lock:
            if self.finished or self.ident is None:
                return False
            self.cancel_requested = self.cancel_requested or time.monotonic()
            self.last_interrupt = time.monotonic()
            return raise_in_thread(self.ident, RunCancelled)


@dataclass
class Job:
    """A periodic job of the serving process that needs no flow run (e.g. outbox retries)."""

    name: str
    every_seconds: float
    run: Callable[[], Any]
    next_at: float = 0.0


class Housekeeper:
    """Runs the serving process's periodic jobs, one at a time, on one background thread."""

    def __init__(self, jobs: Iterable[Job]) -> None:
        self.jobs = list(jobs)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="pemantik-rumah", daemon=True)

    def start(self) -> None:
        if self.jobs:
            self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if self.stop_event.is_set():
                    break
                if now >= job.next_at:
                    job.next_at = now + job.every_seconds
                    try:
                        job.run()
                    except Exception:  # a job's failure is logged; the next round tries again
                        log.exception("Tugas berkala %s gagal", job.name)
            self.stop_event.wait(0.5)


@dataclass
class InProcessRunner:
    pairs: list[tuple[Flow, RunnerDeployment]]  # each deployment with the flow it runs
    poll_seconds: float = 1.0
    limit: int = 32
    lease_seconds: float = 60.0
    drain_seconds: float = 60.0
    jobs: list[Job] = field(default_factory=list)
    deployment_ids: dict[UUID, Flow] = field(default_factory=dict)
    executions: dict[UUID, Execution] = field(default_factory=dict)
    lease: Lease | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    async def register(self) -> dict[str, UUID]:
        """Create or update every deployment on the server; returns "flow/deployment" → id."""
        from tasks.fanout import retryable

        ids: dict[str, UUID] = {}
        for flow, deployment in self.pairs:
            delay = 1.0
            while True:  # a busy server (503) at start-up is waited for, not fatal
                try:
                    deployment_id = await deployment.apply()
                    break
                except Exception as exc:
                    cause = exc.__cause__ or exc
                    if not retryable(cause) or delay > 60:
                        raise
                    log.warning("Mendaftarkan %s gagal; dicoba lagi", deployment.name)
                    await asyncio.sleep(delay)
                    delay *= 2
            ids[f"{flow.name}/{deployment.name}"] = deployment_id
            self.deployment_ids[deployment_id] = flow
        return ids

    # -- the loop ------------------------------------------------------------------------------

    async def run(
        self, stop: threading.Event | None = None, ready: threading.Event | None = None
    ) -> None:
        """Poll and execute until ``stop`` is set; then drain running flows."""
        stop = stop or self._stop
        share_suspension_observer()  # one events subscription for all runs, not one per run
        if not self.deployment_ids:
            await self.register()
        self.lease = await off_loop(Lease(self.lease_seconds).acquire)
        housekeeper = Housekeeper(self.jobs)
        renew_every = max(1.0, self.lease_seconds / 6)
        drain_until = time.monotonic() + self.drain_seconds  # set again when the stop comes
        reclaim_every = max(2.0, self.lease_seconds / 2)
        try:
            await off_loop(self.reclaim_orphans)  # the start-up clean-up
            if ready is not None:
                ready.set()
            housekeeper.start()
            next_renew = next_reclaim = time.monotonic()
            next_reclaim += reclaim_every
            async with get_client() as client:
                while not stop.is_set():
                    # Each step gives way to a stop: against a server that is gone, the
                    # client's own retries hold one request for about a minute.
                    await self._guarded(self._poll_once(client), stop.is_set)
                    await self._guarded(self._watch_cancellations(client), stop.is_set)
                    now = time.monotonic()
                    if now >= next_renew:
                        next_renew = now + renew_every
                        await self._guarded(self._renew(), stop.is_set)
                    if now >= next_reclaim:
                        next_reclaim = now + reclaim_every
                        await self._guarded(off_loop(self.reclaim_orphans), stop.is_set)
                    await asyncio.sleep(self.poll_seconds)
                # Draining: no new claims; keep the lease and the Cancel button alive, for
                # at most drain_seconds (a run stuck on a server that is gone must not hold the
                # process: the lease release below lists it, and the next process re-runs it).
                drain_until = time.monotonic() + self.drain_seconds

                def drained() -> bool:
                    return time.monotonic() >= drain_until

                while self.executions and not drained():
                    await self._guarded(self._watch_cancellations(client), drained)
                    if time.monotonic() >= next_renew:
                        next_renew = time.monotonic() + renew_every
                        await self._guarded(self._renew(), drained)
                    # The cancel watch may have ended the last execution meanwhile.
                    pending = [e.done for e in self.executions.values()]
                    if pending:
                        await asyncio.wait(pending, timeout=self.poll_seconds)
        finally:
            housekeeper.stop(timeout=max(1.0, drain_until - time.monotonic()))
            unfinished = [str(i) for i in self.executions]
            if unfinished:
                log.warning(
                    "Berhenti dengan %d run yang belum mencapai penantian berikutnya; run itu "
                    "dijalankan ulang oleh proses pelayan berikutnya.",
                    len(unfinished),
                )
            await off_loop(self.lease.release, unfinished)

    async def _guarded(self, work: Any, give_up: Callable[[], bool] | None = None) -> None:
        """One step of the loop; a failure (the server away for a moment) is logged, not fatal.
        With ``give_up``: the step is abandoned as soon as it answers True."""
        step = asyncio.ensure_future(work)
        try:
            while give_up is not None and not step.done():
                if give_up():
                    step.cancel()
                    await asyncio.gather(step, return_exceptions=True)
                    return
                await asyncio.wait([step], timeout=0.2)
            await step
        except Exception:
            log.warning("Langkah runner gagal; dicoba lagi", exc_info=True)

    async def _renew(self) -> None:
        runs = {str(i) for i in self.executions}
        await off_loop(self.lease.renew, runs)

    # -- claiming and executing ----------------------------------------------------------------

    async def _poll_once(self, client: Any) -> None:
        free = self.limit - len(self.executions)
        # Poll even when full: the poll is what keeps the deployments Ready in the UI.
        runs = await client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=list(self.deployment_ids),
            # Prefect schedules on real time, not on our (possibly simulated) clock.
            scheduled_before=datetime.now(UTC) + timedelta(seconds=1),
            limit=max(free, 1),
        )
        candidates = [r for r in runs if r.id not in self.executions]
        if free <= 0 or not candidates:
            return
        random.shuffle(candidates)
        candidates = candidates[:free]
        # Write our ownership first: a run is never Pending/Running without a lease naming it.
        owned = {str(i) for i in self.executions} | {str(r.id) for r in candidates}
        await off_loop(self.lease.renew, owned)
        loop = asyncio.get_running_loop()
        for flow_run in candidates:
            try:
                state = await propose_state(client, Pending(), flow_run_id=flow_run.id)
            except Abort:  # another process claimed it first
                continue
            if not state.is_pending():
                continue
            self._start(loop, flow_run)

    def _start(self, loop: asyncio.AbstractEventLoop, flow_run: Any) -> None:
        flow = self.deployment_ids[flow_run.deployment_id]
        execution = Execution(flow_run=flow_run, done=loop.create_future())
        self.executions[flow_run.id] = execution

        def finished(outcome: str) -> None:
            self.executions.pop(flow_run.id, None)
            if not execution.done.done():
                execution.done.set_result(outcome)
            if execution.cancel_requested is not None:
                loop.create_task(self._guarded(self._finish_cancelled(flow_run.id)))

        def main() -> None:
            with execution.lock:
                execution.ident = threading.get_ident()
            outcome = "selesai"
            try:
                run_flow(flow, flow_run=flow_run, return_type="state")
            except Pause:  # the run suspended itself: its state is already Suspended
                outcome = "menunggu"
            except RunCancelled:
                outcome = "dibatalkan"
            except Abort:  # the server refused a transition: the run was stopped elsewhere
                outcome = "dihentikan"
            except BaseException:  # the engine has recorded the failure on the run
                log.exception("Run %s berakhir dengan galat", flow_run.id)
                outcome = "galat"
            finally:
                with execution.lock:
                    execution.finished = True
                    # A cancel that raced the run's end must not fire in thread clean-up.
                    _clear_pending_exception(threading.get_ident())
                loop.call_soon_threadsafe(finished, outcome)

        threading.Thread(target=main, name=f"pemantik-run-{flow_run.id}", daemon=True).start()

    # -- cancellation --------------------------------------------------------------------------

    async def _watch_cancellations(self, client: Any) -> None:
        cancelling = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=list(self.deployment_ids))
            ),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLING]))
            ),
        )
        stopped = []
        if self.executions:
            # Runs of ours that someone forced to a final state (e.g. Cancelled) must stop too.
            stopped = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=list(self.executions)),
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(
                            any_=[StateType.CANCELLED, StateType.CRASHED, StateType.FAILED]
                        )
                    ),
                )
            )
        others = []
        for run in [*cancelling, *stopped]:
            execution = self.executions.get(run.id)
            if execution is None:
                others.append(run)
                continue
            if execution.cancel_requested is None:
                log.warning("Menghentikan run %s (%s) atas permintaan admin", run.name, run.id)
                execution.interrupt()
            elif time.monotonic() - execution.last_interrupt > 5:
                execution.interrupt()  # still running (a blocking call finished?): again
        if others:
            await off_loop(self._finish_unowned_cancellations, others)

    def _finish_unowned_cancellations(self, runs: list[Any]) -> None:
        """A Cancelling run that no live process executes has nothing to stop: finish it."""
        current = owners()
        for run in runs:
            if run.state is None or not run.state.is_cancelling():
                continue
            if current.owner_of(str(run.id)) is not None:
                continue  # its process stops it
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(run.id, Cancelled(message=CANCEL_MESSAGE), force=True)

    async def _finish_cancelled(self, flow_run_id: UUID) -> None:
        async with get_client() as client:
            run = await client.read_flow_run(flow_run_id)
            if run.state is not None and not run.state.is_final():
                await client.set_flow_run_state(
                    flow_run_id, Cancelled(message=CANCEL_MESSAGE), force=True
                )
            # The task that was interrupted never reached a final state of its own.
            tasks = await client.read_task_runs(
                task_run_filter=TaskRunFilter(
                    flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]),
                    state=TaskRunFilterState(
                        type=TaskRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])
                    ),
                )
            )
            for task_run in tasks:
                await client.set_task_run_state(
                    task_run.id, Cancelled(message=CANCEL_MESSAGE), force=True
                )
        log.warning("Run %s dibatalkan", flow_run_id)

    # -- orphans -------------------------------------------------------------------------------

    def reclaim_orphans(self) -> int:
        """Runs of our deployments whose process died: Running/Pending back to Scheduled,
        Cancelling to Cancelled. Returns how many were taken back."""
        mine = {str(i) for i in self.executions}
        with get_client(sync_client=True) as client:
            active = client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    id=DeploymentFilterId(any_=list(self.deployment_ids))
                ),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=ACTIVE))
                ),
            )
            snapshot = owners()
            candidates = [
                r
                for r in active
                if str(r.id) not in mine
                and snapshot.orphaned(str(r.id), _since(r), self.lease_seconds)
            ]
            if not candidates:
                return 0
            taken = 0
            # Decide again under the lock, with fresh states: another process may be
            # reclaiming (and re-claiming) the same runs right now.
            with reclaim_lock(self.lease.id) as session:
                fresh = owners(session)
                for candidate in candidates:
                    run = client.read_flow_run(candidate.id)
                    if run.state is None or run.state.type not in ACTIVE:
                        continue
                    if not fresh.orphaned(str(run.id), _since(run), self.lease_seconds):
                        continue
                    if run.state.type == StateType.CANCELLING:
                        new_state = Cancelled(message=CANCEL_MESSAGE)
                    else:
                        log.warning("Menjadwalkan ulang run yatim %s (%s)", run.name, run.id)
                        new_state = Scheduled(
                            message="Dijadwalkan ulang: proses yang menjalankannya berhenti"
                        )
                    client.set_flow_run_state(run.id, new_state, force=True)
                    taken += 1
            return taken

    def stop(self) -> None:
        self._stop.set()


def _since(run: Any) -> datetime | None:
    return run.state.timestamp if run.state is not None else None


def exit_within(seconds: float) -> None:
    """Make this process end at most ``seconds`` from now (for a serving process that was told
    to stop and has drained). At exit Prefect drains its log and event queues without a limit;
    with the server gone, the client's retries would hold the process for minutes, and what
    they hold cannot be delivered anyway."""
    import os

    watchdog = threading.Timer(max(1.0, seconds), os._exit, args=(0,))
    watchdog.daemon = True  # does not itself hold the exit; still runs while Prefect drains
    watchdog.start()


def serve_in_process(
    pairs: Iterable[tuple[Flow, RunnerDeployment]],
    poll_seconds: float = 1.0,
    limit: int = 32,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
    lease_seconds: float = 60.0,
    jobs: Iterable[Job] = (),
    drain_seconds: float = 60.0,
) -> None:
    """Register the deployments and run them in this process until ``stop`` is set."""
    runner = InProcessRunner(
        pairs=list(pairs),
        poll_seconds=poll_seconds,
        limit=limit,
        lease_seconds=lease_seconds,
        drain_seconds=drain_seconds,
        jobs=list(jobs),
    )
    asyncio.run(runner.run(stop=stop, ready=ready))
