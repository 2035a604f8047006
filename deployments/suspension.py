"""One watch for suspensions from outside a run (the UI's Suspend), shared by every flow run
that ``pemantik serve`` executes.

For every execution of a deployment's run, Prefect 3.9's engine starts a thread with an event
loop, an API client and an events subscription of its own (``observe_flow_run_suspension``),
so that a run suspended from outside stops at its next task. Each new subscription is sent the
last minute's suspensions of *every* run (the server's backfill), and from then on the server
matches each of its events against every open subscription. A region waits on people five
times or more, and a national cycle executes thousands of region runs, so that is thousands
of subscriptions and clients (each client also loads the CA bundle) for what one subscription
per process does: the in-process runner executes every run in one process, so one observer
watches them all, as Prefect's own Runner does for cancellations. The engine's behaviour is
kept: a run suspended from outside stops at its next task
(``tests/test_runner.py::test_suspend_from_outside_and_one_subscription``).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

log = logging.getLogger("pemantik.runner")


class SharedSuspensionObserver:
    """Prefect's ``FlowRunSuspendingObserver``, entered once, on a loop thread of its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._observer: Any = None
        self._requests: dict[UUID, Any] = {}  # run → its engine's suspension request
        # Prefect's settings as the serving process has them (not as a run's thread has them).
        self.context = contextvars.copy_context()

    def _suspended(self, flow_run_id: UUID, state: Any) -> None:
        """The observer confirmed that a watched run was suspended: tell its engine."""
        from prefect._flow_run_suspension import mark_flow_run_suspension_requested

        if not mark_flow_run_suspension_requested(flow_run_id, state):
            request = self._requests.get(flow_run_id)
            if request is not None:
                request.mark_requested(state)

    def _started(self) -> Any:
        """The observer, started on first use (again after a failed start); None if it cannot
        start now (the server away): the run then goes on unwatched, as Prefect's does."""
        with self._lock:
            if self._observer is not None:
                return self._observer
            from prefect._internal.observers import FlowRunSuspendingObserver

            loop = asyncio.new_event_loop()
            observer = FlowRunSuspendingObserver(on_suspended=self._suspended)
            try:
                asyncio.run_coroutine_threadsafe(observer.__aenter__(), self._running(loop)).result(
                    60
                )
            except Exception:
                log.warning("Pengamat penangguhan run tidak dapat dimulai", exc_info=True)
                loop.call_soon_threadsafe(loop.stop)
                return None
            self._loop, self._observer = loop, observer
            return observer

    def _running(self, loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
        threading.Thread(
            target=self.context.run, args=(loop.run_forever,), name="pemantik-pengamat", daemon=True
        ).start()
        return loop

    @contextmanager
    def observe(
        self,
        flow_run_id: UUID,
        suspension_request: Any,
        polling_interval: float = 10,  # noqa: ARG002 - the engine's signature; the observer's own
    ) -> Iterator[None]:
        """Stands in for ``prefect._flow_run_suspension.observe_flow_run_suspension``."""
        observer = self._started()
        if observer is None or self._loop is None:
            yield
            return
        loop = self._loop
        self._requests[flow_run_id] = suspension_request
        try:
            # Reads the run's state first, so a run suspended before it started is caught.
            asyncio.run_coroutine_threadsafe(observer.watch_flow_run_id(flow_run_id), loop).result(
                60
            )
        except Exception:
            log.warning("Run %s tidak dapat diamati untuk penangguhan", flow_run_id, exc_info=True)
        try:
            yield
        finally:
            loop.call_soon_threadsafe(observer.remove_in_flight_flow_run_id, flow_run_id)
            self._requests.pop(flow_run_id, None)


_shared: dict[str, SharedSuspensionObserver] = {}  # by the Prefect API it watches


def share_suspension_observer() -> bool:
    """Make the flow engine of this process use one shared observer (one per Prefect API: a
    test process may serve two servers in turn); False when this Prefect has no such hook
    (the engine then keeps its own, per execution)."""
    import prefect.flow_engine as engine
    from prefect.settings import PREFECT_API_URL

    if getattr(engine, "observe_flow_run_suspension", None) is None:
        log.warning("Prefect ini tidak memiliki pengamat penangguhan per run; tidak diganti")
        return False
    shared = _shared.setdefault(PREFECT_API_URL.value() or "", SharedSuspensionObserver())
    engine.observe_flow_run_suspension = shared.observe
    return True
